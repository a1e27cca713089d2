-- The scored payments a challenger scored too (the sidecar's shadow mode): the input of the
-- challenger's own monitoring. While no challenger runs, this filter is all that monitoring
-- costs; the shadow join keeps only these payments in its window store.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
CREATE STREAM {{ this }} {{ with_clause(retention=true) }} AS SELECT *
FROM {{ ref('transactions_scored') }}
WHERE SHADOW_MODEL_VERSION IS NOT NULL
EMIT CHANGES;
