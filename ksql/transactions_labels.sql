-- Labels keyed by payment ID and partitioned like the scored stream, so the two join without a
-- repartition. Lines without an ID or with a label other than "0"/"1" are dropped here.
{% from 'ksql/macros/with_clause.sql' import with_clause with context %}
{%- from 'ksql/macros/commit_interval.sql' import commit_interval with context %}
{#- on the label path: see transactions_labelled.sql -#}
{{ commit_interval("label") }}
CREATE STREAM {{ this }} {{ with_clause(topic=var('topics.labels'), retention=true) }} AS SELECT
  ID,
  LABEL,
  LABELLED_AT,
  SOURCE AS LABEL_SOURCE
FROM {{ ref('labels_raw') }}
WHERE ID IS NOT NULL AND (LABEL = '0' OR LABEL = '1')
PARTITION BY ID
EMIT CHANGES;
