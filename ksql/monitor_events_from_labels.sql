-- Monitoring events, part 2 of 2: each label joined with the scored payment it is about
-- (stream-stream join on the payment ID; both sides keyed by ID with the same partition count).
-- A label counts if it arrives at most windows.label_join after the payment (or up to an hour
-- before it, for clocks that disagree). Written, keyed by model version, to the same topic as
-- monitor_events_from_scored. {{ depends_on('monitor_events_from_scored') }} (that query
-- creates the shared topic)
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.monitor_events'), retention=true) }} AS SELECT
  S.MODEL_VERSION AS MODEL_VERSION,
  S.ID AS ID,
  S.IS_ANOMALY AS IS_ANOMALY,
  S.SCORE AS SCORE,
  S.SCORED_AT AS SCORED_AT,
  S.SHADOW_SCORE AS SHADOW_SCORE,
  S.SHADOW_MODEL_VERSION AS SHADOW_MODEL_VERSION,
  L.LABEL AS LABEL,
  L.LABEL_SOURCE AS LABEL_SOURCE,
  L.ROWTIME - S.ROWTIME AS LABEL_DELAY_MS,
  S.ROWTIME AS PAYMENT_TIME
FROM {{ ref('transactions_scored') }} S
  JOIN {{ ref('transactions_labels') }} L
  WITHIN (1 HOUR, {{ var("windows.label_join") }}) GRACE PERIOD {{ var("windows.label_grace") }}
  ON S.ID = L.ID
PARTITION BY S.MODEL_VERSION
EMIT CHANGES;
