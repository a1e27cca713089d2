"""Feature records shaped exactly as ksqlDB writes `transactions.features`.

Each choice is ksqlDB's documented behaviour:
- key: `ID BIGINT` with KEY_FORMAT='KAFKA' is serialised as an 8-byte big-endian long
  (ksqlDB docs, "Serialization formats > KAFKA": BIGINT -> 64-bit big-endian Long).
- value: VALUE_FORMAT='JSON' writes a JSON object whose field names are the column names,
  upper-cased for unquoted identifiers; key columns are not repeated in the value
  (ksqlDB docs, "Serialization formats > JSON"; "Data types": ARRAY<DOUBLE> -> JSON array).
- DOUBLE values are JSON numbers; a NULL column is JSON null.
"""

from __future__ import annotations

import numpy as np
import orjson

from core.contract import encode_bigint_key
from core.kafka import produce_waiting


def feature_rows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, 30))
    rows[:, 0] = rng.uniform(0, 172_800, size=n)
    rows[:, 29] = rng.lognormal(3, 1.2, size=n)
    return rows


def feature_record(row_id: int, features, user: str = "Xxi",
                   user_key: str | None = "d41d8cd98f00b204e9800998ecf8427e",
                   ts: str = "2018-12-18T12:00:00Z") -> tuple[bytes, bytes]:
    value = {"USER_KEY": user_key, "USER_MASKED": user, "TS": ts, "AMOUNT": float(features[29]),
             "FEATURES": [float(x) for x in features]}
    return encode_bigint_key(row_id), orjson.dumps(value)


def produce_features(producer, topic: str, rows: np.ndarray, first_id: int = 1) -> dict:
    """Produce one record per row; returns {key bytes: row}."""
    sent = {}
    for i, row in enumerate(rows):
        key, value = feature_record(first_id + i, row)
        produce_waiting(producer, topic, value, key, wait=0.1)
        sent[key] = row
    return sent
