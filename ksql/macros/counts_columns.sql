{#- The value columns of monitor.counts, in order (contract: monitor.counts; core/contract.py
    C_*). Three writers share the topic and its one registered schema: the sidecar (a framed
    JSON object per batch, version and second, with the columns it counts) and ksqlDB's two
    label projections, which write every column, in this order and with these types (the
    ones they do not count as typed nulls), so that their queries derive the very schema the
    MONITOR_COUNTS stream registered and the subject keeps one version. Import:
      {% from 'ksql/macros/counts_columns.sql' import counts_declaration, counts_select %} -#}
{% from 'ksql/macros/latency_buckets.sql' import latency_buckets_ms -%}
{% set ns = namespace(columns=[
  ("EVENTS", "BIGINT"), ("ALERTS", "BIGINT"), ("ALERTS_SUPPRESSED", "BIGINT"),
  ("SCORE_SUM", "DOUBLE"), ("SCORE_SUM_SQUARES", "DOUBLE"), ("SCORE_MIN", "DOUBLE"),
  ("SCORE_MAX", "DOUBLE"), ("SHADOW_EVENTS", "BIGINT"), ("SHADOW_SCORE_SUM", "DOUBLE"),
  ("SHADOW_MODEL_VERSION", "VARCHAR"), ("LATENCY_MS_SUM", "BIGINT"),
  ("LATENCY_MS_MIN", "BIGINT"), ("LATENCY_MS_MAX", "BIGINT")]) -%}
{% for edge in latency_buckets_ms -%}
{% set ns.columns = ns.columns + [("LATENCY_GE_" ~ edge ~ "MS", "BIGINT")] -%}
{% endfor -%}
{% set ns.columns = ns.columns + [
  ("LABELLED", "BIGINT"), ("TP", "BIGINT"), ("FP", "BIGINT"), ("FN", "BIGINT"), ("TN", "BIGINT"),
  ("LABEL_DELAY_MS_MAX", "BIGINT"), ("PAYMENT_TIME", "BIGINT")] -%}

{#- `  NAME TYPE,` per column, for the stream's declaration (no comma after the last) -#}
{% macro counts_declaration() -%}
{%- for name, type in ns.columns %}
  {{ name }} {{ type }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}

{#- `  <expression> AS NAME,` per column for a query writing counts rows: `values` maps a
    column to its expression; every other column is a typed null -#}
{% macro counts_select(values) -%}
{%- for name, type in ns.columns %}
  {{ values.get(name, "CAST(NULL AS " ~ type ~ ")") }} AS {{ name }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}
