{#- Shared WITH clause of the objects that create their own topics (and of the CSV streams
    Connect writes, with format='DELIMITED' and no key; `timestamp` names the column that is
    the records' time). The value format is the environment's `value_format` (JSON_SR: a
    schema registered for the topic) unless `format` names another. Import it with context
    so var() and value_format resolve in the caller's environment:
      {% from 'ksql/macros/with_clause.sql' import with_clause with context %} -#}
{% macro with_clause(topic=none, key_format='KAFKA', retention=false, format=none,
                     timestamp=none) -%}
WITH (
{%- if topic %}
  KAFKA_TOPIC = '{{ topic }}',
{%- endif %}
{%- if key_format %}
  KEY_FORMAT = '{{ key_format }}',
{%- endif %}
  VALUE_FORMAT = '{{ format or value_format }}',
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
