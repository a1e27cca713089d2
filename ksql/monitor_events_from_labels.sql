-- Monitoring events, part 2 of 2: each label joined with the scored payment it is about
-- (stream-stream join on the payment ID; both sides keyed by ID with the same partition count).
-- A label counts if it arrives at most windows.label_join after the payment (or up to an hour
-- before it, for clocks that disagree). Written, keyed by model version, to the same topic as
-- monitor_events_from_scored. {{ depends_on('monitor_events_from_scored') }} (that query
-- creates the shared topic)
{% from 'ksql/macros/monitor_events.sql' import scored_events, label_events with context -%}
{{ label_events(ref('transactions_scored'), ref('transactions_labels')) }}
