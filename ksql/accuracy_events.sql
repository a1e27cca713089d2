-- The accuracy events topic as one stream: a row per scored payment (LABEL null) and a row per
-- label that found its payment. Its time is the payment's time, so a label that comes days
-- later counts in the window its payment was scored in.
-- {{ depends_on('accuracy_events_from_scored') }} {{ depends_on('accuracy_events_from_labels') }}
CREATE STREAM {{ this }} (
  ID BIGINT KEY,
  MODEL_VERSION VARCHAR,
  IS_ANOMALY BOOLEAN,
  SCORE DOUBLE,
  LABEL VARCHAR,
  LABEL_SOURCE VARCHAR,
  LABEL_DELAY_MS BIGINT,
  PAYMENT_TIME BIGINT
) WITH (
  KAFKA_TOPIC = '{{ var("topics.accuracy_events") }}',
  KEY_FORMAT = 'KAFKA',
  VALUE_FORMAT = 'JSON',
  TIMESTAMP = 'PAYMENT_TIME'
);
