-- Step 6: the champion's alerts (transactions_flagged: scored payments above its threshold). PAYMENT_ID repeats the key in the
-- value: the alerts file sink writes values only and cannot be exactly once (a Connect restart
-- may write an alert twice), so each line names its payment and a reader drops repeats by it.
-- Plain JSON, not the environment's registered format: FileStreamSink writes each value as
-- text, so Schema Registry's framing would land in the file as five binary bytes per line.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{%- from 'ksql/macros/commit_interval.sql' import commit_interval with context %}
{#- the end of the alert path: alerts are visible once this query commits -#}
{{ commit_interval("alert") }}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.alerts'), retention=true,
                                format='JSON') }} AS SELECT
  ID,
  AS_VALUE(ID) AS PAYMENT_ID,
  USER_KEY,
  USER_MASKED,
  TS,
  AMOUNT,
  SCORE,
  THRESHOLD,
  MODEL_VERSION,
  SCORED_AT
FROM {{ ref('transactions_flagged') }}
WHERE IS_ANOMALY = TRUE
EMIT CHANGES;
