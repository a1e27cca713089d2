-- The scored topic read narrowly: what the label join needs of each payment (both models'
-- verdicts), so its window store keeps a few fields per payment instead of the whole record.
-- The same topic as transactions_scored. {{ depends_on('transactions_scored') }} (that stream
-- creates the topic)
CREATE STREAM {{ this }} (
  ID BIGINT KEY,
  IS_ANOMALY BOOLEAN,
  MODEL_VERSION VARCHAR,
  SHADOW_MODEL_VERSION VARCHAR,
  SHADOW_IS_ANOMALY BOOLEAN
) WITH (
  KAFKA_TOPIC = '{{ var("topics.scored") }}',
  KEY_FORMAT = 'KAFKA',
  VALUE_FORMAT = '{{ value_format }}'
);
