{#- The accuracy tables (monitor_accuracy per window, monitor_accuracy_totals without), over
    monitor_accuracy_counts (rows of scored payments count them in EVENTS, the label rows one
    label each in LABELLED and TP/FP/FN/TN). Import it with context, as it calls this, ref()
    and var():
      {% from 'ksql/macros/accuracy.sql' import accuracy_table with context %} -#}
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{%- from 'ksql/macros/commit_interval.sql' import commit_interval with context %}
{% macro accuracy_table(window=none) -%}
{#- the last hop of the label path: a label is counted once this query commits -#}
{{ commit_interval("label") }}
CREATE TABLE {{ this }} {{ with_clause() }} AS SELECT
  MODEL_VERSION,
  SUM(EVENTS) AS EVENTS,
  SUM(LABELLED) AS LABELLED,
  SUM(TP) AS TP,
  SUM(FP) AS FP,
  SUM(FN) AS FN,
  SUM(TN) AS TN,
  CAST(SUM(TP) AS DOUBLE) / NULLIF(SUM(TP) + SUM(FP), CAST(0 AS BIGINT)) AS `PRECISION`,
  CAST(SUM(TP) AS DOUBLE) / NULLIF(SUM(TP) + SUM(FN), CAST(0 AS BIGINT)) AS RECALL,
  CAST(SUM(LABELLED) AS DOUBLE) / NULLIF(SUM(EVENTS), CAST(0 AS BIGINT)) AS LABELLED_SHARE,
  MAX(LABEL_DELAY_MS_MAX) AS LABEL_DELAY_MS_MAX
FROM {{ ref('monitor_accuracy_counts') }}
{%- if window %}
{{ window }}
{%- endif %}
GROUP BY MODEL_VERSION
EMIT CHANGES;
{%- endmacro %}
