-- Accuracy counts from labels, the champion's: one row per label that found its payment, in
-- the topic of monitor_accuracy_counts, beside the counts of scored payments.
-- {{ depends_on('monitor_accuracy_counts') }} (that stream creates the shared topic)
{% from 'ksql/macros/label_counts.sql' import label_counts with context -%}
{{ label_counts() }}
