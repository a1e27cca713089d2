-- Monitoring: confusion matrix, precision and recall per model version and window, from the
-- events that carry a label (CLASS '0' or '1').
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE TABLE {{ this }} {{ with_clause(key_format='JSON') }} AS SELECT
  MODEL_VERSION,
  COUNT(*) AS LABELLED,
  SUM(CASE WHEN IS_ANOMALY AND CLASS = '1' THEN 1 ELSE 0 END) AS TP,
  SUM(CASE WHEN IS_ANOMALY AND CLASS = '0' THEN 1 ELSE 0 END) AS FP,
  SUM(CASE WHEN NOT IS_ANOMALY AND CLASS = '1' THEN 1 ELSE 0 END) AS FN,
  SUM(CASE WHEN NOT IS_ANOMALY AND CLASS = '0' THEN 1 ELSE 0 END) AS TN,
  CAST(SUM(CASE WHEN IS_ANOMALY AND CLASS = '1' THEN 1 ELSE 0 END) AS DOUBLE)
    / NULLIF(SUM(CASE WHEN IS_ANOMALY THEN 1 ELSE 0 END), 0) AS `PRECISION`,
  CAST(SUM(CASE WHEN IS_ANOMALY AND CLASS = '1' THEN 1 ELSE 0 END) AS DOUBLE)
    / NULLIF(SUM(CASE WHEN CLASS = '1' THEN 1 ELSE 0 END), 0) AS RECALL
FROM {{ ref('transactions_scored') }}
WINDOW TUMBLING (SIZE {{ var("windows.monitoring") }})
WHERE CLASS = '0' OR CLASS = '1'
GROUP BY MODEL_VERSION
EMIT CHANGES;
