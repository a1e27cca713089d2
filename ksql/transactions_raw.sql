-- Step 1 -> 2: raw payments as Kafka Connect writes them, one CSV line per record, no header:
-- ID,TS,USER_ID,TIME,V1..V28,AMOUNT,CLASS (CLASS "0"/"1", empty when unknown).
-- TIME is a type name in ksqlDB, so the column is quoted.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} (
  ID BIGINT,
  TS VARCHAR,
  USER_ID VARCHAR,
  `TIME` DOUBLE,
{%- for i in range(1, 29) %}
  V{{ i }} DOUBLE,
{%- endfor %}
  AMOUNT DOUBLE,
  CLASS VARCHAR
) {{ with_clause(topic=var('topics.raw'), key_format=none, format='DELIMITED') }};
