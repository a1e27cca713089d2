-- Monitoring: scoring latency per model version and window: from the time a payment's raw line
-- entered Kafka (the sidecar keeps the input timestamp) to SCORED_AT, when the sidecar scored
-- it, i.e. the pipeline's latency through ksqlDB and the sidecar. LATENCY_MS_BUCKETS counts
-- payments per latency bucket (the key is the bucket's lower edge in ms, the buckets are
-- ksql/macros/latency_buckets.sql), so percentiles (p50, p99) follow from the table without
-- keeping every payment.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{% from 'ksql/macros/latency_buckets.sql' import latency_buckets_ms -%}
CREATE TABLE {{ this }} {{ with_clause() }} AS SELECT
  MODEL_VERSION,
  SUM(EVENTS) AS EVENTS,
  CAST(SUM(LATENCY_MS_SUM) AS DOUBLE) / SUM(EVENTS) AS LATENCY_MS_MEAN,
  MAX(LATENCY_MS_MAX) AS LATENCY_MS_MAX,
  MIN(LATENCY_MS_MIN) AS LATENCY_MS_MIN,
  MAP(
{%- for edge in latency_buckets_ms %}
    '{{ edge }}' := SUM(LATENCY_GE_{{ edge }}MS){{ "," if not loop.last }}
{%- endfor %}
  ) AS LATENCY_MS_BUCKETS
FROM {{ ref('monitor_counts') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }})
GROUP BY MODEL_VERSION
EMIT CHANGES;
