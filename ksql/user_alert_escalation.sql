-- Escalation: users with repeated alerts in a hopping window, grouped by the pseudonymous
-- USER_KEY (one per user); USER_MASKED is carried along for display only.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{%- from 'ksql/macros/commit_interval.sql' import commit_interval with context %}
{#- repeated alerts are escalated once this query commits: at the label path's interval -#}
{{ commit_interval("label") }}
CREATE TABLE {{ this }} {{ with_clause(key_format='JSON') }} AS SELECT
  USER_KEY,
  LATEST_BY_OFFSET(USER_MASKED) AS USER_MASKED,
  COUNT(*) AS ALERTS,
  MAX(SCORE) AS MAX_SCORE,
  SUM(AMOUNT) AS AMOUNT_TOTAL
FROM {{ ref('alerts') }}
WINDOW HOPPING (SIZE {{ var("windows.escalation_size") }}, ADVANCE BY {{ var("windows.escalation_advance") }})
GROUP BY USER_KEY
HAVING COUNT(*) >= {{ var("escalation_min_alerts") }}
EMIT CHANGES;
