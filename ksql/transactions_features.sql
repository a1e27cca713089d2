-- Step 2: preprocessing. Drops incomplete or invalid rows, keys by ID and builds FEATURES in the
-- model's order: TIME, V1..V28, AMOUNT (contract: transactions.features). USER_KEY is a stable
-- pseudonym of the user (MD5 of a secret salt and the user ID: one key per user, unreadable
-- without the salt); USER_MASKED is for display only, as different users may share a mask.
-- The label (CLASS) stays out: labels arrive later on their own topic (transactions_labels).
-- Rows the DELIMITED format cannot read at all go to ksqlDB's processing log.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{%- from 'ksql/macros/commit_interval.sql' import commit_interval with context %}
{#- on the alert path: under exactly-once the sidecar sees features once this query commits -#}
{{ commit_interval("alert") }}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.features'), retention=true) }} AS SELECT
  ID,
  CASE WHEN USER_ID IS NULL THEN CAST(NULL AS VARCHAR)
    ELSE MD5(CONCAT('{{ secret("FRAUD_USER_KEY_SALT") }}', USER_ID)) END AS USER_KEY,
  MASK_KEEP_RIGHT(USER_ID, {{ var("mask_keep_chars") }}) AS USER_MASKED,
  TS,
  AMOUNT,
  ARRAY[`TIME`,{% for i in range(1, 29) %} V{{ i }},{% endfor %} AMOUNT] AS FEATURES
FROM {{ ref('transactions_raw') }}
WHERE ID IS NOT NULL
  AND TS IS NOT NULL
  AND `TIME` IS NOT NULL AND `TIME` >= 0
{%- for i in range(1, 29) %}
  AND V{{ i }} IS NOT NULL
{%- endfor %}
  AND AMOUNT IS NOT NULL AND AMOUNT >= 0
PARTITION BY ID
EMIT CHANGES;
