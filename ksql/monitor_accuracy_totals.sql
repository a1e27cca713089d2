-- Monitoring for dashboards: accuracy per model version over its whole life, one row per
-- version (pull it by key: SELECT * FROM <this> WHERE MODEL_VERSION = '...'). The columns of
-- monitor_accuracy, without windows.
{% from 'ksql/macros/accuracy.sql' import accuracy_table with context -%}
{{ accuracy_table() }}
