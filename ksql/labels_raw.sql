-- Labels as they arrive, one CSV line per label, no header (contract: labels.raw):
-- ID,LABEL,LABELLED_AT,SOURCE. ID is the payment's ID, LABEL "1" (fraud) or "0" (genuine),
-- LABELLED_AT when it was decided (ISO-8601), SOURCE who decided (chargeback, analyst, customer,
-- replay). Written by Kafka Connect from a file (connect/labels_source.json) or by
-- `fraudctl replay`, days after the payment in production.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} (
  ID BIGINT,
  LABEL VARCHAR,
  LABELLED_AT VARCHAR,
  SOURCE VARCHAR
) {{ with_clause(topic=var('topics.labels_raw'), key_format=none, format='DELIMITED') }};
