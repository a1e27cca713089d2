{#- How often the queries that someone waits on commit, whatever the environment's
    ksql.streams.commit.interval.ms. Under exactly-once a query's output is visible only at its
    commit, so each hop of these paths adds up to its interval:
    - "alert": a payment's way to its alert (the features query, the alerts);
    - "label": a label's way to the accuracy tables (the labels query, the join, the label
      counts, the accuracy tables) and repeated alerts' way to escalation.
    Import it with context, as it calls query_properties():
      {% from 'ksql/macros/commit_interval.sql' import commit_interval with context %} -#}
{%- set COMMIT_INTERVAL_MS = {"alert": 100, "label": 250} -%}
{% macro commit_interval(path) -%}
{{ query_properties({"ksql.streams.commit.interval.ms": COMMIT_INTERVAL_MS[path]}) }}
{%- endmacro %}
