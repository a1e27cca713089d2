-- Monitoring events of a challenger, part 1 of 2: each payment it scored in shadow mode, as a
-- monitoring event of its own version (its score, and its verdict against its own threshold),
-- so every monitoring table shows the challenger beside the champion (its events carry no
-- SHADOW_* fields: they read as null).
-- {{ depends_on('monitor_events_from_scored') }} (that query creates the shared topic)
{% from 'ksql/macros/monitor_events.sql' import scored_events, label_events with context -%}
{{ scored_events(ref('transactions_scored_shadowed'), shadow=true) }}
