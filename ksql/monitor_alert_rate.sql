-- Monitoring: alerts and alert rate per model version and window, from the sidecar's counts.
-- ALERTS_SUPPRESSED are the alerts an alert storm kept off the alert path (in ALERTS too, and
-- marked in the scored records).
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE TABLE {{ this }} {{ with_clause() }} AS SELECT
  MODEL_VERSION,
  SUM(EVENTS) AS EVENTS,
  SUM(ALERTS) AS ALERTS,
  CAST(SUM(ALERTS) AS DOUBLE) / SUM(EVENTS) AS ALERT_RATE,
  SUM(ALERTS_SUPPRESSED) AS ALERTS_SUPPRESSED
FROM {{ ref('monitor_counts') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }})
GROUP BY MODEL_VERSION
EMIT CHANGES;
