{#- Shared WITH clause of the objects that create their own topics. Import it with context so
    var() resolves in the caller's environment:
      {% from 'ksql/macros/with_clause.sql' import with_clause with context %} -#}
{% macro with_clause(topic=none, key_format='KAFKA', retention=false) -%}
WITH (
{%- if topic %}
  KAFKA_TOPIC = '{{ topic }}',
{%- endif %}
  KEY_FORMAT = '{{ key_format }}',
  VALUE_FORMAT = 'JSON',
  PARTITIONS = {{ var("partitions") }},
  REPLICAS = {{ var("replicas") }}
{%- if retention %},
  RETENTION_MS = {{ var("retention_ms") }}
{%- endif %}
)
{%- endmacro %}
