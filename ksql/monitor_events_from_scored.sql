-- Monitoring events, part 1 of 2: one event per scored payment (LABEL null), keyed by model
-- version. monitor_events_from_labels writes to the same topic (a union of two queries; read
-- both through monitor_events). Keyed by MODEL_VERSION here, once, every monitoring table
-- groups without a repartition topic of its own. PAYMENT_TIME is when the raw payment entered
-- Kafka (the scored record's time).
{% from 'ksql/macros/monitor_events.sql' import scored_events, label_events with context -%}
{{ scored_events(ref('transactions_scored')) }}
