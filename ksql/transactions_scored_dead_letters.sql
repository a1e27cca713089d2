-- Step 5's dead letters: feature records the sidecar could not score (contract:
-- transactions.scored.dlq), each with the original value as it came and the reason in its
-- headers. This stream creates the topic with the environment's partitions, replicas and
-- retention (a cluster that does not create topics on first use needs it before the sidecar
-- writes), and lets an operator read the dead letters in KSQL:
--   SELECT REASON, DETAIL, SOURCE_OFFSET FROM <this> EMIT CHANGES;
-- The sidecar writes it, so the features stream comes first: {{ depends_on('transactions_features') }}
CREATE STREAM {{ this }} (
  ORIGINAL VARCHAR,
  REASON BYTES HEADER('fraud.error.reason'),
  DETAIL BYTES HEADER('fraud.error.detail'),
  SOURCE_TOPIC BYTES HEADER('fraud.source.topic'),
  SOURCE_PARTITION BYTES HEADER('fraud.source.partition'),
  SOURCE_OFFSET BYTES HEADER('fraud.source.offset'),
  SIDECAR_INSTANCE BYTES HEADER('fraud.sidecar.instance')
) WITH (
  KAFKA_TOPIC = '{{ var("topics.scored") }}.dlq',
  KEY_FORMAT = 'NONE',
  VALUE_FORMAT = 'KAFKA',
  PARTITIONS = {{ var("partitions") }},
  REPLICAS = {{ var("replicas") }},
  RETENTION_MS = {{ var("retention_ms") }}
);
