-- Accuracy, part 1 of 2: one event per scored payment (LABEL null), written to the accuracy
-- events topic, which accuracy_events_from_labels writes to as well (a union of two queries;
-- read both through accuracy_events). PAYMENT_TIME is when the raw payment entered Kafka.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.accuracy_events'), retention=true) }} AS SELECT
  ID,
  MODEL_VERSION,
  IS_ANOMALY,
  SCORE,
  CAST(NULL AS VARCHAR) AS LABEL,
  CAST(NULL AS VARCHAR) AS LABEL_SOURCE,
  CAST(NULL AS BIGINT) AS LABEL_DELAY_MS,
  ROWTIME AS PAYMENT_TIME
FROM {{ ref('transactions_scored') }}
EMIT CHANGES;
