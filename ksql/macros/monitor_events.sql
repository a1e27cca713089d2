{#- The queries that write monitoring events (topic vars.topics.monitor_events, keyed by model
    version), for the champion and, with `shadow=true`, for a challenger in shadow mode: its
    version, its score and its own verdict. Import it with context:
      {% from 'ksql/macros/monitor_events.sql' import scored_events, label_events with context %}
-#}
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}

{#- One event per scored payment (LABEL null). -#}
{% macro scored_events(source, shadow=false) -%}
{%- set p = "SHADOW_" if shadow else "" -%}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.monitor_events'), retention=true) }} AS SELECT
  {{ p }}MODEL_VERSION{{ " AS MODEL_VERSION" if shadow else "" }},
  ID,
  {{ p }}IS_ANOMALY{{ " AS IS_ANOMALY" if shadow else "" }},
  {{ p }}SCORE{{ " AS SCORE" if shadow else "" }},
  SCORED_AT,
{%- if not shadow %}
  SHADOW_SCORE,
  SHADOW_MODEL_VERSION,
{%- endif %}
  CAST(NULL AS VARCHAR) AS LABEL,
  CAST(NULL AS VARCHAR) AS LABEL_SOURCE,
  CAST(NULL AS BIGINT) AS LABEL_DELAY_MS,
  ROWTIME AS PAYMENT_TIME
FROM {{ source }}
PARTITION BY {{ p }}MODEL_VERSION
EMIT CHANGES;
{%- endmacro %}

{#- One event per label that found its payment (stream-stream join on the payment ID). -#}
{% macro label_events(scored, labels, shadow=false) -%}
{%- set p = "SHADOW_" if shadow else "" -%}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.monitor_events'), retention=true) }} AS SELECT
  S.{{ p }}MODEL_VERSION AS MODEL_VERSION,
  S.ID AS ID,
  S.{{ p }}IS_ANOMALY AS IS_ANOMALY,
  S.{{ p }}SCORE AS SCORE,
  S.SCORED_AT AS SCORED_AT,
{%- if not shadow %}
  S.SHADOW_SCORE AS SHADOW_SCORE,
  S.SHADOW_MODEL_VERSION AS SHADOW_MODEL_VERSION,
{%- endif %}
  L.LABEL AS LABEL,
  L.LABEL_SOURCE AS LABEL_SOURCE,
  L.ROWTIME - S.ROWTIME AS LABEL_DELAY_MS,
  S.ROWTIME AS PAYMENT_TIME
FROM {{ scored }} S
  JOIN {{ labels }} L
  WITHIN (1 HOUR, {{ var("windows.label_join") }}) GRACE PERIOD {{ var("windows.label_grace") }}
  ON S.ID = L.ID
PARTITION BY S.{{ p }}MODEL_VERSION
EMIT CHANGES;
{%- endmacro %}
