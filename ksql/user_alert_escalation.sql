-- Escalation: masked users with repeated alerts in a hopping window.
CREATE TABLE {{ this }} WITH (
  KEY_FORMAT = 'JSON',
  VALUE_FORMAT = 'JSON',
  PARTITIONS = {{ var("partitions") }},
  REPLICAS = {{ var("replicas") }}
) AS SELECT
  USER_MASKED,
  COUNT(*) AS ALERTS,
  MAX(SCORE) AS MAX_SCORE,
  SUM(AMOUNT) AS AMOUNT_TOTAL
FROM {{ ref('alerts') }}
WINDOW HOPPING (SIZE {{ var("windows.escalation_size") }}, ADVANCE BY {{ var("windows.escalation_advance") }})
GROUP BY USER_MASKED
HAVING COUNT(*) >= {{ var("escalation_min_alerts") }}
EMIT CHANGES;
