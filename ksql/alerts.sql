-- Step 6: every scored payment above its model's threshold.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.alerts'), retention=true) }} AS SELECT
  ID,
  USER_KEY,
  USER_MASKED,
  TS,
  AMOUNT,
  SCORE,
  THRESHOLD,
  MODEL_VERSION,
  SCORED_AT
FROM {{ ref('transactions_scored') }}
WHERE IS_ANOMALY = TRUE
EMIT CHANGES;
