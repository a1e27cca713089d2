-- Step 2: preprocessing. Drops incomplete or invalid rows, masks the user, keys by ID and
-- builds FEATURES in the model's order: TIME, V1..V28, AMOUNT (contract: transactions.features).
-- Rows the DELIMITED format cannot read at all go to ksqlDB's processing log.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.features'), retention=true) }} AS SELECT
  ID,
  MASK_KEEP_RIGHT(USER_ID, {{ var("mask_keep_chars") }}) AS USER_MASKED,
  TS,
  AMOUNT,
  CASE WHEN CLASS = '0' OR CLASS = '1' THEN CLASS ELSE CAST(NULL AS VARCHAR) END AS CLASS,
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
