-- Escalation: masked users with repeated alerts in a hopping window.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE TABLE {{ this }} {{ with_clause(key_format='JSON') }} AS SELECT
  USER_MASKED,
  COUNT(*) AS ALERTS,
  MAX(SCORE) AS MAX_SCORE,
  SUM(AMOUNT) AS AMOUNT_TOTAL
FROM {{ ref('alerts') }}
WINDOW HOPPING (SIZE {{ var("windows.escalation_size") }}, ADVANCE BY {{ var("windows.escalation_advance") }})
GROUP BY USER_MASKED
HAVING COUNT(*) >= {{ var("escalation_min_alerts") }}
EMIT CHANGES;
