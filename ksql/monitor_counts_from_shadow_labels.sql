-- Accuracy counts from labels, the challenger's (shadow mode): the same label counted under
-- the challenger's version with its own verdict. {{ depends_on('monitor_accuracy_counts') }}
{% from 'ksql/macros/label_counts.sql' import label_counts with context -%}
{{ label_counts(shadow=true) }}
