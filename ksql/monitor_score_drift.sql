-- Monitoring: score statistics per model version and window, the drift signal. Mean and
-- variance follow from SCORE_SUM, SCORE_SUM_SQUARES and EVENTS; the shadow (challenger) model's
-- mean sits beside the champion's when one runs.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE TABLE {{ this }} {{ with_clause() }} AS SELECT
  MODEL_VERSION,
  SUM(EVENTS) AS EVENTS,
  SUM(SCORE_SUM) / SUM(EVENTS) AS SCORE_MEAN,
  MIN(SCORE_MIN) AS SCORE_MIN,
  MAX(SCORE_MAX) AS SCORE_MAX,
  SUM(SCORE_SUM) AS SCORE_SUM,
  SUM(SCORE_SUM_SQUARES) AS SCORE_SUM_SQUARES,
  SUM(SHADOW_EVENTS) AS SHADOW_EVENTS,
  SUM(SHADOW_SCORE_SUM) AS SHADOW_SCORE_SUM,
  LATEST_BY_OFFSET(SHADOW_MODEL_VERSION) AS SHADOW_MODEL_VERSION
FROM {{ ref('monitor_counts') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }})
GROUP BY MODEL_VERSION
EMIT CHANGES;
