{#- The accuracy tables (monitor_accuracy per window, monitor_accuracy_totals without), over
    monitor_events (a row per scored payment with LABEL null, a row per label that found its
    payment). Import it with context, as it calls this, ref() and var():
      {% from 'ksql/macros/accuracy.sql' import accuracy_table with context %} -#}
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{% macro accuracy_table(window=none) -%}
{%- set tp = "SUM(CASE WHEN LABEL = '1' AND IS_ANOMALY THEN 1 ELSE 0 END)" %}
{%- set fp = "SUM(CASE WHEN LABEL = '0' AND IS_ANOMALY THEN 1 ELSE 0 END)" %}
{%- set fn = "SUM(CASE WHEN LABEL = '1' AND NOT IS_ANOMALY THEN 1 ELSE 0 END)" %}
{%- set events = "SUM(CASE WHEN LABEL IS NULL THEN 1 ELSE 0 END)" -%}
CREATE TABLE {{ this }} {{ with_clause() }} AS SELECT
  MODEL_VERSION,
  {{ events }} AS EVENTS,
  COUNT(LABEL) AS LABELLED,
  {{ tp }} AS TP,
  {{ fp }} AS FP,
  {{ fn }} AS FN,
  SUM(CASE WHEN LABEL = '0' AND NOT IS_ANOMALY THEN 1 ELSE 0 END) AS TN,
  CAST({{ tp }} AS DOUBLE) / NULLIF({{ tp }} + {{ fp }}, 0) AS `PRECISION`,
  CAST({{ tp }} AS DOUBLE) / NULLIF({{ tp }} + {{ fn }}, 0) AS RECALL,
  CAST(COUNT(LABEL) AS DOUBLE) / NULLIF({{ events }}, 0) AS LABELLED_SHARE,
  MAX(LABEL_DELAY_MS) AS LABEL_DELAY_MS_MAX
FROM {{ ref('monitor_events') }}
{%- if window %}
{{ window }}
{%- endif %}
GROUP BY MODEL_VERSION
EMIT CHANGES;
{%- endmacro %}
