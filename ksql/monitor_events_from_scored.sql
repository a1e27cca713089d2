-- Monitoring events, part 1 of 2: one event per scored payment (LABEL null), keyed by model
-- version. monitor_events_from_labels writes to the same topic (a union of two queries; read
-- both through monitor_events). Keyed by MODEL_VERSION here, once, every monitoring table
-- groups without a repartition topic of its own. PAYMENT_TIME is when the raw payment entered
-- Kafka (the scored record's time).
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.monitor_events'), retention=true) }} AS SELECT
  MODEL_VERSION,
  ID,
  IS_ANOMALY,
  SCORE,
  SCORED_AT,
  SHADOW_SCORE,
  SHADOW_MODEL_VERSION,
  CAST(NULL AS VARCHAR) AS LABEL,
  CAST(NULL AS VARCHAR) AS LABEL_SOURCE,
  CAST(NULL AS BIGINT) AS LABEL_DELAY_MS,
  ROWTIME AS PAYMENT_TIME
FROM {{ ref('transactions_scored') }}
PARTITION BY MODEL_VERSION
EMIT CHANGES;
