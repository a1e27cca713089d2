-- The monitoring counts topic as one stream, keyed by model version (contract: monitor.counts).
-- Two kinds of rows, both partial counts the monitoring tables add up:
-- - the sidecar's, one per micro-batch, model version and second of payment time, written in
--   the batch's transaction: EVENTS, ALERTS (ALERTS_SUPPRESSED: held back by an alert storm),
--   score sums and extremes, latency sums, extremes and buckets (LATENCY_GE_<edge>MS: raw
--   record time to SCORED_AT), and beside the champion's counts the challenger's score sums;
-- - ksqlDB's, one per label that found its payment (monitor_counts_from_*labels): LABELLED 1,
--   one of TP/FP/FN/TN 1, EVENTS 0.
-- Its time is the payment's time, so a label that comes days later counts in the window its
-- payment was scored in. The tables grouping by MODEL_VERSION keep this KAFKA key format:
-- without a repartition, a pull query finds a version only where its key, serialised in the
-- table's format, hashes to its partition. {{ depends_on('transactions_features') }}
{% from 'ksql/macros/latency_buckets.sql' import latency_buckets_ms -%}
{% from 'ksql/macros/with_clause.sql' import with_clause with context -%}
CREATE STREAM {{ this }} (
  MODEL_VERSION VARCHAR KEY,
  EVENTS BIGINT,
  ALERTS BIGINT,
  ALERTS_SUPPRESSED BIGINT,
  SCORE_SUM DOUBLE,
  SCORE_SUM_SQUARES DOUBLE,
  SCORE_MIN DOUBLE,
  SCORE_MAX DOUBLE,
  SHADOW_EVENTS BIGINT,
  SHADOW_SCORE_SUM DOUBLE,
  SHADOW_MODEL_VERSION VARCHAR,
  LATENCY_MS_SUM BIGINT,
  LATENCY_MS_MIN BIGINT,
  LATENCY_MS_MAX BIGINT,
{%- for edge in latency_buckets_ms %}
  LATENCY_GE_{{ edge }}MS BIGINT,
{%- endfor %}
  LABELLED BIGINT,
  TP BIGINT,
  FP BIGINT,
  FN BIGINT,
  TN BIGINT,
  LABEL_DELAY_MS_MAX BIGINT,
  PAYMENT_TIME BIGINT
) {{ with_clause(topic=var('topics.monitor_counts'), retention=true,
                timestamp='PAYMENT_TIME') }};
