-- Monitoring: scoring latency per model version and window. ROWTIME of a scored record is the
-- time its raw line entered Kafka (the sidecar keeps the input timestamp), SCORED_AT is when the
-- sidecar scored it: the difference is the pipeline's latency through ksqlDB and the sidecar.
-- LATENCY_MS_BUCKETS counts events per latency bucket (1 ms steps below 100 ms, 10 ms below
-- 1 s, 100 ms below 10 s, then whole seconds; the key is the bucket's lower bound in ms), so
-- percentiles (p50, p99) follow from the table without keeping every event.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE TABLE {{ this }} {{ with_clause() }} AS SELECT
  MODEL_VERSION,
  COUNT(*) AS EVENTS,
  CAST(SUM(SCORED_AT - ROWTIME) AS DOUBLE) / COUNT(*) AS LATENCY_MS_MEAN,
  MAX(SCORED_AT - ROWTIME) AS LATENCY_MS_MAX,
  MIN(SCORED_AT - ROWTIME) AS LATENCY_MS_MIN,
  HISTOGRAM(CAST(CASE
    WHEN SCORED_AT - ROWTIME < 100 THEN SCORED_AT - ROWTIME
    WHEN SCORED_AT - ROWTIME < 1000 THEN (SCORED_AT - ROWTIME) / 10 * 10
    WHEN SCORED_AT - ROWTIME < 10000 THEN (SCORED_AT - ROWTIME) / 100 * 100
    ELSE (SCORED_AT - ROWTIME) / 1000 * 1000 END AS VARCHAR)) AS LATENCY_MS_BUCKETS
FROM {{ ref('monitor_events') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }})
WHERE LABEL IS NULL
GROUP BY MODEL_VERSION
EMIT CHANGES;
