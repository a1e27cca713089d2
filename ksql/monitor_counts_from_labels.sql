-- Monitoring counts from labels, the champion's: one row per label that found its payment, in
-- the topic the sidecar writes its per-batch counts to. {{ depends_on('monitor_counts') }}
-- (that stream creates the shared topic)
{% from 'ksql/macros/label_counts.sql' import label_counts with context -%}
{{ label_counts() }}
