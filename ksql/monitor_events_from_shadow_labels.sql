-- Monitoring events of a challenger, part 2 of 2: each label joined with the payment the
-- challenger scored in shadow mode, as an event of the challenger's version with its own
-- verdict, so the accuracy tables give its precision and recall from the same late labels as
-- the champion's (the join of monitor_events_from_labels, over the shadowed payments only).
-- {{ depends_on('monitor_events_from_scored') }} (that query creates the shared topic)
{% from 'ksql/macros/monitor_events.sql' import scored_events, label_events with context -%}
{{ label_events(ref('transactions_scored_shadowed'), ref('transactions_labels'), shadow=true) }}
