-- Monitoring: alerts and alert rate per model version and window.
CREATE TABLE {{ this }} WITH (
  KEY_FORMAT = 'JSON',
  VALUE_FORMAT = 'JSON',
  PARTITIONS = {{ var("partitions") }},
  REPLICAS = {{ var("replicas") }}
) AS SELECT
  MODEL_VERSION,
  COUNT(*) AS EVENTS,
  SUM(CASE WHEN IS_ANOMALY THEN 1 ELSE 0 END) AS ALERTS,
  CAST(SUM(CASE WHEN IS_ANOMALY THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*) AS ALERT_RATE
FROM {{ ref('transactions_scored') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }})
GROUP BY MODEL_VERSION
EMIT CHANGES;
