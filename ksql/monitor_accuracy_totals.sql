-- Monitoring for dashboards: accuracy per model version over its whole life, one row per
-- version (pull it by key: SELECT * FROM <this> WHERE MODEL_VERSION = '...'). The columns of
-- monitor_accuracy, without windows.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{%- from 'ksql/macros/accuracy.sql' import accuracy_columns %}
CREATE TABLE {{ this }} {{ with_clause(key_format='JSON') }} AS SELECT
  MODEL_VERSION,
{{ accuracy_columns() }}
FROM {{ ref('monitor_events') }}
GROUP BY MODEL_VERSION
EMIT CHANGES;
