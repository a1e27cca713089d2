-- What the accuracy tables add up, per model version (contract: monitor.accuracy_counts): the
-- scored payments of each of the sidecar's count rows (EVENTS, from monitor_counts), and one
-- row per label that found its payment (LABELLED 1 and one of TP/FP/FN/TN 1), which
-- monitor_counts_from_labels and monitor_counts_from_shadow_labels write into this stream's
-- topic with the same columns. Its time is the payment's time (PAYMENT_TIME), so a label that
-- comes days later counts in the window its payment was scored in.
{% from 'ksql/macros/counts_columns.sql' import accuracy_select -%}
{% from 'ksql/macros/with_clause.sql' import with_clause with context -%}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.accuracy_counts'), retention=true,
                                timestamp='PAYMENT_TIME') }} AS SELECT
  MODEL_VERSION,
{{- accuracy_select({"EVENTS": "EVENTS", "LABELLED": "0", "TP": "0", "FP": "0", "FN": "0",
                     "TN": "0", "PAYMENT_TIME": "PAYMENT_TIME"}) }}
FROM {{ ref('monitor_counts') }}
EMIT CHANGES;
