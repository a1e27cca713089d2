{#- The query that turns each joined label (transactions_labelled) into a row of
    monitor.accuracy_counts for the champion's version or, with `shadow=true`, the
    challenger's: LABELLED 1 and one of TP/FP/FN/TN 1, EVENTS 0, keyed by model version like
    the rows of scored payments beside them. Import it with context:
      {% from 'ksql/macros/label_counts.sql' import label_counts with context %} -#}
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{%- from 'ksql/macros/commit_interval.sql' import commit_interval with context %}
{% from 'ksql/macros/counts_columns.sql' import accuracy_select %}
{% macro label_counts(shadow=false) -%}
{%- set p = "SHADOW_" if shadow else "" -%}
{%- set verdict = p ~ "IS_ANOMALY" -%}
{{ commit_interval("label") }}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.accuracy_counts'), retention=true) }} AS SELECT
  {{ p }}MODEL_VERSION AS MODEL_VERSION,
{{- accuracy_select({
  "EVENTS": "0",
  "LABELLED": "1",
  "TP": "CASE WHEN LABEL = '1' AND " ~ verdict ~ " THEN 1 ELSE 0 END",
  "FP": "CASE WHEN LABEL = '0' AND " ~ verdict ~ " THEN 1 ELSE 0 END",
  "FN": "CASE WHEN LABEL = '1' AND NOT " ~ verdict ~ " THEN 1 ELSE 0 END",
  "TN": "CASE WHEN LABEL = '0' AND NOT " ~ verdict ~ " THEN 1 ELSE 0 END",
  "LABEL_DELAY_MS_MAX": "LABEL_DELAY_MS",
  "PAYMENT_TIME": "PAYMENT_TIME"}) }}
FROM {{ ref('transactions_labelled') }}
{%- if shadow %}
WHERE SHADOW_MODEL_VERSION IS NOT NULL
{%- endif %}
PARTITION BY {{ p }}MODEL_VERSION
EMIT CHANGES;
{%- endmacro %}
