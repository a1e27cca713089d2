-- Monitoring: accuracy from labels as they arrive, per model version and window of payment
-- time. EVENTS counts scored payments, LABELLED the labels that found their payment so far
-- (LABELLED_SHARE = LABELLED / EVENTS), TP/FP/FN/TN the confusion counts among them. Windows
-- stay open for windows.label_join, so a chargeback weeks later still lands in its window.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{%- from 'ksql/macros/accuracy.sql' import accuracy_columns %}
CREATE TABLE {{ this }} {{ with_clause(key_format='JSON') }} AS SELECT
  MODEL_VERSION,
{{ accuracy_columns() }}
FROM {{ ref('monitor_events') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }}, RETENTION {{ var("windows.label_retention") }}, GRACE PERIOD {{ var("windows.label_join") }})
GROUP BY MODEL_VERSION
EMIT CHANGES;
