-- Monitoring: accuracy from labels as they arrive, per model version and window of payment
-- time. EVENTS counts scored payments, LABELLED the labels that found their payment so far
-- (LABELLED_SHARE = LABELLED / EVENTS), TP/FP/FN/TN the confusion counts among them. Windows
-- stay open for windows.label_join, so a chargeback weeks later still lands in its window.
{% from 'ksql/macros/accuracy.sql' import accuracy_table with context -%}
{{ accuracy_table(window="WINDOW TUMBLING (SIZE " ~ var("windows.monitoring") ~ ", RETENTION "
                  ~ var("windows.label_retention") ~ ", GRACE PERIOD " ~ var("windows.label_join")
                  ~ ")") }}
