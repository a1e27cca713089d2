-- The champion's alerts as the sidecar writes them (contract: transactions.flagged): the scored
-- records with IS_ANOMALY true, in the same transaction as the scored ones, so the alert path
-- reads about 1% of the payments instead of all of them. During an alert storm (a model that
-- suddenly flags a large share) the sidecar holds them back: see docs/OPERATIONS.md.
-- {{ depends_on('transactions_features') }}
{{ value_schema('ksql/schemas/scored_record.schema.json') }}
{%- from 'ksql/macros/scored_columns.sql' import scored_columns -%}
{% from 'ksql/macros/with_clause.sql' import with_clause with context -%}
CREATE STREAM {{ this }} (
{{ scored_columns() }}
) {{ with_clause(topic=var('topics.flagged'), retention=true) }};
