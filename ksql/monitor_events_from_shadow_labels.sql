-- Monitoring events of a challenger, part 2 of 2: each label joined with the payment the
-- challenger scored in shadow mode, as an event of the challenger's version with its own
-- verdict, so the accuracy tables give its precision and recall from the same late labels as
-- the champion's (the join of monitor_events_from_labels, over the shadowed payments only).
-- {{ depends_on('monitor_events_from_scored') }} (that query creates the shared topic)
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.monitor_events'), retention=true) }} AS SELECT
  S.SHADOW_MODEL_VERSION AS MODEL_VERSION,
  S.ID AS ID,
  S.SHADOW_IS_ANOMALY AS IS_ANOMALY,
  S.SHADOW_SCORE AS SCORE,
  S.SCORED_AT AS SCORED_AT,
  L.LABEL AS LABEL,
  L.LABEL_SOURCE AS LABEL_SOURCE,
  L.ROWTIME - S.ROWTIME AS LABEL_DELAY_MS,
  S.ROWTIME AS PAYMENT_TIME
FROM {{ ref('transactions_scored_shadowed') }} S
  JOIN {{ ref('transactions_labels') }} L
  WITHIN (1 HOUR, {{ var("windows.label_join") }}) GRACE PERIOD {{ var("windows.label_grace") }}
  ON S.ID = L.ID
PARTITION BY S.SHADOW_MODEL_VERSION
EMIT CHANGES;
