"""Message contracts between ksqlDB and the sidecar (the outline: docs/CONTRACTS.md).

`transactions.features` values are JSON objects written by ksqlDB with upper-case field names;
the key is the transaction ID as a BIGINT in ksqlDB's KAFKA key format (8-byte big-endian).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

#: the sidecar's default topics (environments may rename them: infra/environments/)
FEATURES_TOPIC = "transactions.features"
SCORED_TOPIC = "transactions.scored"
#: a topic's dead letters go to the topic of the same name with this suffix
DEAD_LETTER_SUFFIX = ".dlq"

V_COLUMNS = tuple(f"V{i}" for i in range(1, 29))
#: the model's input order: FEATURES[i] is FEATURE_NAMES[i]
FEATURE_NAMES: tuple[str, ...] = ("TIME", *V_COLUMNS, "AMOUNT")
FEATURE_COUNT = len(FEATURE_NAMES)

#: transactions.raw: one CSV line per payment, no header
RAW_COLUMNS: tuple[str, ...] = ("ID", "TS", "USER_ID", "TIME", *V_COLUMNS, "AMOUNT", "CLASS")
#: labels.raw: one CSV line per label, no header; LABEL "1" fraud, "0" genuine
LABEL_COLUMNS: tuple[str, ...] = ("ID", "LABEL", "LABELLED_AT", "SOURCE")
#: the Kaggle training file's header (lower/upper case as in the original)
KAGGLE_COLUMNS: tuple[str, ...] = ("Time", *V_COLUMNS, "Amount", "Class")

# transactions.features value fields (ksqlDB upper-cases unquoted identifiers)
F_FEATURES = "FEATURES"
F_USER_KEY = "USER_KEY"  # a salted hash of the user ID: one per user, for grouping
F_USER = "USER_MASKED"  # for display only: different users may share a mask
F_TS = "TS"
F_AMOUNT = "AMOUNT"
PASS_THROUGH_FIELDS = (F_USER_KEY, F_USER, F_TS, F_AMOUNT)

# transactions.scored value fields added by the sidecar
S_SCORE = "SCORE"
S_THRESHOLD = "THRESHOLD"
S_IS_ANOMALY = "IS_ANOMALY"
S_MODEL_VERSION = "MODEL_VERSION"
S_SCORED_AT = "SCORED_AT"
S_SHADOW_SCORE = "SHADOW_SCORE"
S_SHADOW_MODEL_VERSION = "SHADOW_MODEL_VERSION"
#: the challenger's own threshold and verdict (what it would have alerted): its precision and
#: recall per version come from these in the monitoring tables
S_SHADOW_THRESHOLD = "SHADOW_THRESHOLD"
S_SHADOW_IS_ANOMALY = "SHADOW_IS_ANOMALY"

# monitor.counts value fields: the sidecar writes one row per batch, model version and second
# of payment time (udf_server/monitor_counts.py); the monitoring tables add them up. ksqlDB
# carries EVENTS to monitor.accuracy_counts, beside one row per label that found its payment
# (LABELLED; ksql/monitor_counts_from_labels.sql), which the accuracy tables add up
C_EVENTS = "EVENTS"
C_ALERTS = "ALERTS"
#: alerts an alert storm kept off the alert path (still in ALERTS and in the scored records)
C_ALERTS_SUPPRESSED = "ALERTS_SUPPRESSED"
C_SCORE_SUM = "SCORE_SUM"
C_SCORE_SUM_SQUARES = "SCORE_SUM_SQUARES"
C_SCORE_MIN = "SCORE_MIN"
C_SCORE_MAX = "SCORE_MAX"
C_SHADOW_EVENTS = "SHADOW_EVENTS"
C_SHADOW_SCORE_SUM = "SHADOW_SCORE_SUM"
C_SHADOW_MODEL_VERSION = "SHADOW_MODEL_VERSION"
C_LATENCY_MS_SUM = "LATENCY_MS_SUM"
C_LATENCY_MS_MIN = "LATENCY_MS_MIN"
C_LATENCY_MS_MAX = "LATENCY_MS_MAX"
C_LABELLED = "LABELLED"
C_PAYMENT_TIME = "PAYMENT_TIME"
#: lower edges (ms) of the latency buckets, each counted in its own column
#: (latency_bucket_column): raw record time to SCORED_AT
C_LATENCY_BUCKETS_MS: tuple[int, ...] = (0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
                                         10_000, 30_000, 60_000)


def latency_bucket_column(low_ms: int) -> str:
    """The monitor.counts column counting latencies from `low_ms` up to the next edge."""
    return f"LATENCY_GE_{low_ms}MS"


_BIGINT = struct.Struct(">q")


#: the made-up users that demo and replayed Kaggle payments are attributed to
DEMO_USERS = ("Kai", "Hans", "Flo", "Dirk", "Ana", "Mia", "Lea", "Tom", "Ida", "Max", "Eva",
              "Jan")


def raw_line(payment_id: int | str, ts: str, user: str, numbers: Sequence[str],
             label: str = "") -> str:
    """One transactions.raw line: `ID,"TS","USER_ID",TIME,V1..V28,AMOUNT,"CLASS"`, TS, USER_ID
    and a non-empty CLASS quoted (as in the seed's sample); an empty CLASS means unlabelled."""
    cls = f'"{label}"' if label else ""
    return f'{payment_id},"{ts}","{user}",{",".join(numbers)},{cls}'


def label_line(payment_id: int, label: str, labelled_at: str, source: str) -> str:
    """One labels.raw line (strings quoted, as in the raw payment lines)."""
    return f'{payment_id},"{label}","{labelled_at}","{source}"'


def encode_bigint_key(value: int) -> bytes:
    """ksqlDB's KAFKA format for a BIGINT key: 8 bytes, big-endian two's complement."""
    return _BIGINT.pack(value)


def decode_bigint_key(data: bytes) -> int:
    return _BIGINT.unpack(data)[0]
