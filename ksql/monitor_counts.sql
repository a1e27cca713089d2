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
{% from 'ksql/macros/counts_columns.sql' import counts_declaration -%}
{% from 'ksql/macros/with_clause.sql' import with_clause with context -%}
CREATE STREAM {{ this }} (
  MODEL_VERSION VARCHAR KEY,
{{- counts_declaration() }}
) {{ with_clause(topic=var('topics.monitor_counts'), retention=true,
                timestamp='PAYMENT_TIME') }};
