{#- The columns of a scored record (contract: transactions.scored), for the streams over the
    topics the sidecar writes them to: transactions.scored and the champion's alerts on
    transactions.flagged. Import it:
      {% from 'ksql/macros/scored_columns.sql' import scored_columns %} -#}
{% macro scored_columns() -%}
  ID BIGINT KEY,
  USER_KEY VARCHAR,
  USER_MASKED VARCHAR,
  TS VARCHAR,
  AMOUNT DOUBLE,
  SCORE DOUBLE,
  THRESHOLD DOUBLE,
  IS_ANOMALY BOOLEAN,
  MODEL_VERSION VARCHAR,
  SCORED_AT BIGINT,
  SHADOW_SCORE DOUBLE,
  SHADOW_MODEL_VERSION VARCHAR,
  SHADOW_THRESHOLD DOUBLE,
  SHADOW_IS_ANOMALY BOOLEAN
{%- endmacro %}
