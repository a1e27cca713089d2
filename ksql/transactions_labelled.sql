-- Each label joined with the verdicts of the payment it is about (stream-stream join on the
-- payment ID; both sides keyed by ID with the same partition count): one row per label, with
-- the champion's and (where one ran) the challenger's verdict. A label counts if it arrives at
-- most windows.label_join after the payment (or up to an hour before it, for clocks that
-- disagree). This is the one query that reads every scored payment; its window store keeps
-- transactions_verdicts' few fields of each for windows.label_join plus the grace period.
-- PAYMENT_TIME is the payment's time: the monitoring tables count a label in its payment's window.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{%- from 'ksql/macros/commit_interval.sql' import commit_interval with context %}
{#- a label reaches the tables through the labels query, this one, the label counts and the
    accuracy tables: each commits at the label path's interval (macros/commit_interval.sql),
    whatever the environment's, so a label is counted about a second after it arrives
    (docs/BENCHMARKS.md "What the bench measured wrong, and commits each second") -#}
{{ commit_interval("label") }}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.labelled'), retention=true) }} AS SELECT
  V.ID AS ID,
  V.MODEL_VERSION AS MODEL_VERSION,
  V.IS_ANOMALY AS IS_ANOMALY,
  V.SHADOW_MODEL_VERSION AS SHADOW_MODEL_VERSION,
  V.SHADOW_IS_ANOMALY AS SHADOW_IS_ANOMALY,
  L.LABEL AS LABEL,
  L.LABEL_SOURCE AS LABEL_SOURCE,
  L.ROWTIME - V.ROWTIME AS LABEL_DELAY_MS,
  V.ROWTIME AS PAYMENT_TIME
FROM {{ ref('transactions_verdicts') }} V
  JOIN {{ ref('transactions_labels') }} L
  WITHIN (1 HOUR, {{ var("windows.label_join") }}) GRACE PERIOD {{ var("windows.label_grace") }}
  ON V.ID = L.ID
EMIT CHANGES;
