{#- The latency buckets of monitor.counts: lower edges in ms, each counted in a column
    LATENCY_GE_<edge>MS (core/contract.py C_LATENCY_BUCKETS_MS: a unit test keeps the two
    equal). Import: {% from 'ksql/macros/latency_buckets.sql' import latency_buckets_ms %} -#}
{% set latency_buckets_ms = [0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000] %}
