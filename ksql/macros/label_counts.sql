{#- The query that turns each joined label (transactions_labelled) into a monitor.counts row of
    the champion's version or, with `shadow=true`, of the challenger's: LABELLED 1 and one of
    TP/FP/FN/TN 1, everything the sidecar counts null (every column, typed, in the topic's
    order: its schema is the stream's). Keyed by model version like the sidecar's rows.
    Import it with context:
      {% from 'ksql/macros/label_counts.sql' import label_counts with context %} -#}
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{% from 'ksql/macros/counts_columns.sql' import counts_select %}
{% macro label_counts(shadow=false) -%}
{%- set p = "SHADOW_" if shadow else "" -%}
{%- set verdict = p ~ "IS_ANOMALY" -%}
{{ query_properties({"ksql.streams.commit.interval.ms": 1000}) }}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.monitor_counts'), retention=true) }} AS SELECT
  {{ p }}MODEL_VERSION AS MODEL_VERSION,
{{- counts_select({
  "EVENTS": "CAST(0 AS BIGINT)",
  "LABELLED": "CAST(1 AS BIGINT)",
  "TP": "CAST(CASE WHEN LABEL = '1' AND " ~ verdict ~ " THEN 1 ELSE 0 END AS BIGINT)",
  "FP": "CAST(CASE WHEN LABEL = '0' AND " ~ verdict ~ " THEN 1 ELSE 0 END AS BIGINT)",
  "FN": "CAST(CASE WHEN LABEL = '1' AND NOT " ~ verdict ~ " THEN 1 ELSE 0 END AS BIGINT)",
  "TN": "CAST(CASE WHEN LABEL = '0' AND NOT " ~ verdict ~ " THEN 1 ELSE 0 END AS BIGINT)",
  "LABEL_DELAY_MS_MAX": "LABEL_DELAY_MS",
  "PAYMENT_TIME": "PAYMENT_TIME"}) }}
FROM {{ ref('transactions_labelled') }}
{%- if shadow %}
WHERE SHADOW_MODEL_VERSION IS NOT NULL
{%- endif %}
PARTITION BY {{ p }}MODEL_VERSION
EMIT CHANGES;
{%- endmacro %}
