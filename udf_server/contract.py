"""Message contracts between ksqlDB and the sidecar (see shared DESIGN.md, "Message contracts").

`transactions.features` values are JSON objects written by ksqlDB with upper-case field names;
the key is the transaction ID as a BIGINT in ksqlDB's KAFKA key format (8-byte big-endian).
"""

from __future__ import annotations

import struct

V_COLUMNS = tuple(f"V{i}" for i in range(1, 29))
#: the model's input order: FEATURES[i] is FEATURE_NAMES[i]
FEATURE_NAMES: tuple[str, ...] = ("TIME", *V_COLUMNS, "AMOUNT")
FEATURE_COUNT = len(FEATURE_NAMES)

#: transactions.raw: one CSV line per payment, no header
RAW_COLUMNS: tuple[str, ...] = ("ID", "TS", "USER_ID", "TIME", *V_COLUMNS, "AMOUNT", "CLASS")
#: the Kaggle training file's header (lower/upper case as in the original)
KAGGLE_COLUMNS: tuple[str, ...] = ("Time", *V_COLUMNS, "Amount", "Class")

# transactions.features value fields (ksqlDB upper-cases unquoted identifiers)
F_FEATURES = "FEATURES"
F_USER = "USER_MASKED"
F_TS = "TS"
F_AMOUNT = "AMOUNT"
F_CLASS = "CLASS"
PASS_THROUGH_FIELDS = (F_USER, F_TS, F_AMOUNT, F_CLASS)

# transactions.scored value fields added by the sidecar
S_SCORE = "SCORE"
S_THRESHOLD = "THRESHOLD"
S_IS_ANOMALY = "IS_ANOMALY"
S_MODEL_VERSION = "MODEL_VERSION"
S_SCORED_AT = "SCORED_AT"
S_SHADOW_SCORE = "SHADOW_SCORE"
S_SHADOW_MODEL_VERSION = "SHADOW_MODEL_VERSION"

_BIGINT = struct.Struct(">q")


def encode_bigint_key(value: int) -> bytes:
    """ksqlDB's KAFKA format for a BIGINT key: 8 bytes, big-endian two's complement."""
    return _BIGINT.pack(value)


def decode_bigint_key(data: bytes) -> int:
    return _BIGINT.unpack(data)[0]
