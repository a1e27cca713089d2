-- Monitoring: score statistics per model version and window, the drift signal. Mean and
-- variance follow from SCORE_SUM, SCORE_SUM_SQUARES and EVENTS; the shadow (challenger) model's
-- mean sits beside the champion's when one runs.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE TABLE {{ this }} {{ with_clause() }} AS SELECT
  MODEL_VERSION,
  COUNT(*) AS EVENTS,
  SUM(SCORE) / COUNT(*) AS SCORE_MEAN,
  MIN(SCORE) AS SCORE_MIN,
  MAX(SCORE) AS SCORE_MAX,
  SUM(SCORE) AS SCORE_SUM,
  SUM(SCORE * SCORE) AS SCORE_SUM_SQUARES,
  COUNT(SHADOW_SCORE) AS SHADOW_EVENTS,
  SUM(SHADOW_SCORE) AS SHADOW_SCORE_SUM,
  LATEST_BY_OFFSET(SHADOW_MODEL_VERSION) AS SHADOW_MODEL_VERSION
FROM {{ ref('monitor_events') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }})
WHERE LABEL IS NULL
GROUP BY MODEL_VERSION
EMIT CHANGES;
