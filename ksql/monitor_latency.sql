-- Monitoring: scoring latency per model version and window. ROWTIME of a scored record is the
-- time its raw line entered Kafka (the sidecar keeps the input timestamp), SCORED_AT is when the
-- sidecar scored it: the difference is the pipeline's latency through ksqlDB and the sidecar.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE TABLE {{ this }} {{ with_clause(key_format='JSON') }} AS SELECT
  MODEL_VERSION,
  COUNT(*) AS EVENTS,
  CAST(SUM(SCORED_AT - ROWTIME) AS DOUBLE) / COUNT(*) AS LATENCY_MS_MEAN,
  MAX(SCORED_AT - ROWTIME) AS LATENCY_MS_MAX,
  MIN(SCORED_AT - ROWTIME) AS LATENCY_MS_MIN
FROM {{ ref('transactions_scored') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }})
GROUP BY MODEL_VERSION
EMIT CHANGES;
