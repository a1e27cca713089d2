-- Step 5 output: what the scoring sidecar writes (contract: transactions.scored). The sidecar
-- reads the features stream, so that stream comes first: {{ depends_on('transactions_features') }}
-- No query reads every scored payment except the label join's narrow view of it
-- (transactions_verdicts): the alert path reads transactions_flagged, the monitoring tables
-- the sidecar's per-batch counts (monitor_counts).
{{ value_schema('ksql/schemas/scored_record.schema.json') }}
{%- from 'ksql/macros/scored_columns.sql' import scored_columns %}
CREATE STREAM {{ this }} (
{{ scored_columns() }}
) WITH (
  KAFKA_TOPIC = '{{ var("topics.scored") }}',
  KEY_FORMAT = 'KAFKA',
  VALUE_FORMAT = '{{ value_format }}',
  PARTITIONS = {{ var("partitions") }},
  REPLICAS = {{ var("replicas") }}
);
