{#- The value columns of the two count topics, in order (contracts: monitor.counts and
    monitor.accuracy_counts; core/contract.py C_*). Import:
      {% from 'ksql/macros/counts_columns.sql' import counts_declaration, accuracy_select %}

    monitor.counts has one writer, the sidecar (a framed JSON object per batch, model version
    and second of payment time). monitor.accuracy_counts has three, ksqlDB's queries: one per
    sidecar row (its EVENTS) and one per label that found its payment, the champion's and the
    challenger's. Each of them writes every accuracy column, in this order and with these
    types, so all three derive one schema and the subject keeps one version. The columns are
    few on purpose: a label's row is read by the two accuracy tables only, not by the tables
    that count what the sidecar scored. -#}
{% from 'ksql/macros/latency_buckets.sql' import latency_buckets_ms -%}
{% set ns = namespace(counts=[
  ("EVENTS", "BIGINT"), ("ALERTS", "BIGINT"), ("ALERTS_SUPPRESSED", "BIGINT"),
  ("SCORE_SUM", "DOUBLE"), ("SCORE_SUM_SQUARES", "DOUBLE"), ("SCORE_MIN", "DOUBLE"),
  ("SCORE_MAX", "DOUBLE"), ("SHADOW_EVENTS", "BIGINT"), ("SHADOW_SCORE_SUM", "DOUBLE"),
  ("SHADOW_MODEL_VERSION", "VARCHAR"), ("LATENCY_MS_SUM", "BIGINT"),
  ("LATENCY_MS_MIN", "BIGINT"), ("LATENCY_MS_MAX", "BIGINT")]) -%}
{% for edge in latency_buckets_ms -%}
{% set ns.counts = ns.counts + [("LATENCY_GE_" ~ edge ~ "MS", "BIGINT")] -%}
{% endfor -%}
{% set ns.counts = ns.counts + [("PAYMENT_TIME", "BIGINT")] -%}
{% set accuracy_columns = [
  ("EVENTS", "BIGINT"), ("LABELLED", "BIGINT"), ("TP", "BIGINT"), ("FP", "BIGINT"),
  ("FN", "BIGINT"), ("TN", "BIGINT"), ("LABEL_DELAY_MS_MAX", "BIGINT"),
  ("PAYMENT_TIME", "BIGINT")] -%}

{#- `  NAME TYPE,` per monitor.counts column, for its stream's declaration -#}
{% macro counts_declaration() -%}
{%- for name, type in ns.counts %}
  {{ name }} {{ type }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}

{#- `  CAST(<expression> AS <type>) AS NAME,` per accuracy column, for a query writing
    monitor.accuracy_counts (`values`: column -> expression; the others are typed nulls) -#}
{% macro accuracy_select(values) -%}
{%- for name, type in accuracy_columns %}
  CAST({{ values.get(name, "NULL") }} AS {{ type }}) AS {{ name }}{{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}
