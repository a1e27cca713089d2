-- Step 5 output: what the scoring sidecar writes (contract: transactions.scored). The sidecar
-- reads the features stream, so that stream comes first: {{ depends_on('transactions_features') }}
CREATE STREAM {{ this }} (
  ID BIGINT KEY,
  USER_KEY VARCHAR,
  USER_MASKED VARCHAR,
  TS VARCHAR,
  AMOUNT DOUBLE,
  SCORE DOUBLE,
  THRESHOLD DOUBLE,
  IS_ANOMALY BOOLEAN,
  MODEL_VERSION VARCHAR,
  SCORED_AT BIGINT,
  SHADOW_SCORE DOUBLE,
  SHADOW_MODEL_VERSION VARCHAR,
  SHADOW_THRESHOLD DOUBLE,
  SHADOW_IS_ANOMALY BOOLEAN
) WITH (
  KAFKA_TOPIC = '{{ var("topics.scored") }}',
  KEY_FORMAT = 'KAFKA',
  VALUE_FORMAT = 'JSON',
  PARTITIONS = {{ var("partitions") }},
  REPLICAS = {{ var("replicas") }}
);
