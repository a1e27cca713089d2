{#- Shared WITH clause of the objects that create their own topics (and of the CSV streams
    Connect writes, with value_format='DELIMITED' and no key; `timestamp` names the column
    that is the records' time). Import it with context so var()
    resolves in the caller's environment:
      {% from 'ksql/macros/with_clause.sql' import with_clause with context %} -#}
{% macro with_clause(topic=none, key_format='KAFKA', retention=false, value_format='JSON',
                     timestamp=none) -%}
WITH (
{%- if topic %}
  KAFKA_TOPIC = '{{ topic }}',
{%- endif %}
{%- if key_format %}
  KEY_FORMAT = '{{ key_format }}',
{%- endif %}
  VALUE_FORMAT = '{{ value_format }}',
  PARTITIONS = {{ var("partitions") }},
  REPLICAS = {{ var("replicas") }}
{%- if retention %},
  RETENTION_MS = {{ var("retention_ms") }}
{%- endif %}
{%- if timestamp %},
  TIMESTAMP = '{{ timestamp }}'
{%- endif %}
)
{%- endmacro %}
