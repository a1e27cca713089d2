-- Monitoring: alerts and alert rate per model version and window.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE TABLE {{ this }} {{ with_clause() }} AS SELECT
  MODEL_VERSION,
  COUNT(*) AS EVENTS,
  SUM(CASE WHEN IS_ANOMALY THEN 1 ELSE 0 END) AS ALERTS,
  CAST(SUM(CASE WHEN IS_ANOMALY THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*) AS ALERT_RATE
FROM {{ ref('monitor_events') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }})
WHERE LABEL IS NULL
GROUP BY MODEL_VERSION
EMIT CHANGES;
