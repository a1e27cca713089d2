-- Monitoring events of a challenger, part 1 of 2: each payment it scored in shadow mode, as a
-- monitoring event of its own version (its score, and its verdict against its own threshold),
-- so every monitoring table shows the challenger beside the champion (its events carry no
-- SHADOW_* fields: they read as null).
-- {{ depends_on('monitor_events_from_scored') }} (that query creates the shared topic)
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.monitor_events'), retention=true) }} AS SELECT
  SHADOW_MODEL_VERSION AS MODEL_VERSION,
  ID,
  SHADOW_IS_ANOMALY AS IS_ANOMALY,
  SHADOW_SCORE AS SCORE,
  SCORED_AT,
  CAST(NULL AS VARCHAR) AS LABEL,
  CAST(NULL AS VARCHAR) AS LABEL_SOURCE,
  CAST(NULL AS BIGINT) AS LABEL_DELAY_MS,
  ROWTIME AS PAYMENT_TIME
FROM {{ ref('transactions_scored_shadowed') }}
PARTITION BY SHADOW_MODEL_VERSION
EMIT CHANGES;
