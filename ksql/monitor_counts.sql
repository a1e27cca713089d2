-- The sidecar's monitoring counts as one stream, keyed by model version (contract:
-- monitor.counts): one row per micro-batch, model version and second of payment time, written
-- in the batch's transaction: EVENTS, ALERTS (ALERTS_SUPPRESSED: held back by an alert storm),
-- score sums and extremes, latency sums, extremes and buckets (LATENCY_GE_<edge>MS: raw record
-- time to SCORED_AT), and beside the champion's counts the challenger's score sums. The alert
-- rate, score drift and latency tables add these rows up; monitor_accuracy_counts carries
-- their EVENTS to the accuracy tables, beside the labels.
-- Its time is the payment's time. The tables grouping by MODEL_VERSION keep this KAFKA key
-- format: without a repartition, a pull query finds a version only where its key, serialised
-- in the table's format, hashes to its partition. {{ depends_on('transactions_features') }}
{% from 'ksql/macros/counts_columns.sql' import counts_declaration -%}
{% from 'ksql/macros/with_clause.sql' import with_clause with context -%}
CREATE STREAM {{ this }} (
  MODEL_VERSION VARCHAR KEY,
{{- counts_declaration() }}
) {{ with_clause(topic=var('topics.monitor_counts'), retention=true,
                timestamp='PAYMENT_TIME') }};
