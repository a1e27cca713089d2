-- The monitoring events topic as one stream, keyed by model version: a row per scored payment
-- (LABEL null) and a row per label that found its payment. Every monitoring table reads it
-- (the scoring ones with LABEL IS NULL). Its time is the payment's time, so a label that comes
-- days later counts in the window its payment was scored in. The tables grouping by
-- MODEL_VERSION keep this KAFKA key format: without a repartition, a pull query finds a
-- version only where its key, serialised in the table's format, hashes to its partition.
-- A challenger in shadow mode writes events of its own version too (monitor_events_from_shadow_*).
-- {{ depends_on('monitor_events_from_scored') }} {{ depends_on('monitor_events_from_labels') }}
-- {{ depends_on('monitor_events_from_shadow_scored') }}
-- {{ depends_on('monitor_events_from_shadow_labels') }}
CREATE STREAM {{ this }} (
  MODEL_VERSION VARCHAR KEY,
  ID BIGINT,
  IS_ANOMALY BOOLEAN,
  SCORE DOUBLE,
  SCORED_AT BIGINT,
  SHADOW_SCORE DOUBLE,
  SHADOW_MODEL_VERSION VARCHAR,
  LABEL VARCHAR,
  LABEL_SOURCE VARCHAR,
  LABEL_DELAY_MS BIGINT,
  PAYMENT_TIME BIGINT
) WITH (
  KAFKA_TOPIC = '{{ var("topics.monitor_events") }}',
  KEY_FORMAT = 'KAFKA',
  VALUE_FORMAT = 'JSON',
  TIMESTAMP = 'PAYMENT_TIME'
);
