-- Step 6: every scored payment above its model's threshold.
CREATE STREAM {{ this }} WITH (
  KAFKA_TOPIC = '{{ var("topics.alerts") }}',
  KEY_FORMAT = 'KAFKA',
  VALUE_FORMAT = 'JSON',
  PARTITIONS = {{ var("partitions") }},
  REPLICAS = {{ var("replicas") }},
  RETENTION_MS = {{ var("retention_ms") }}
) AS SELECT
  ID,
  USER_MASKED,
  TS,
  AMOUNT,
  CLASS,
  SCORE,
  THRESHOLD,
  MODEL_VERSION,
  SCORED_AT
FROM {{ ref('transactions_scored') }}
WHERE IS_ANOMALY = TRUE
EMIT CHANGES;
