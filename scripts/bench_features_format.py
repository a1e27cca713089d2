"""What the features query costs ksqlDB per payment by value format, on the local stack.

The same backlog of raw lines is read by a features query (the template's projection: user key,
mask, the 30-number array, keyed by ID; exactly once, one stream thread) writing each format in
turn, one after the other; ksqlDB's CPU seconds per query come from /proc. Everything it creates
is dropped at the end.

    .venv/bin/python scripts/bench_features_format.py --rows 60000 --formats JSON,PROTOBUF_NOSR,JSON
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

from core.contract import V_COLUMNS
from core.kafka import produce_waiting, producer
from fraudctl.tasks.bench_e2e import (
    EndOffsets,
    process_cpu_seconds,
    raw_payload,
    synthetic_file,
)
from infra.ksql_client import KsqlClient
from infra.local import LocalStack
from infra.rest import RestConfig

RAW_COLUMNS = ", ".join(["ID BIGINT", "TS VARCHAR", "USER_ID VARCHAR", "`TIME` DOUBLE",
                         *(f"{v} DOUBLE" for v in V_COLUMNS), "AMOUNT DOUBLE", "CLASS VARCHAR"])
FEATURES = "ARRAY[`TIME`, " + ", ".join(V_COLUMNS) + ", AMOUNT]"
PROPERTIES = {"ksql.streams.auto.offset.reset": "earliest",
              "ksql.streams.num.stream.threads": "1",
              "ksql.streams.processing.guarantee": "exactly_once_v2",
              "ksql.streams.commit.interval.ms": "100"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--formats", default="JSON,PROTOBUF_NOSR,JSON")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--ksqldb", default="http://127.0.0.1:8088")
    args = parser.parse_args()
    ksql = KsqlClient(RestConfig(args.ksqldb))
    pid = LocalStack().recorded_pids()["ksqldb"]
    tag = uuid.uuid4().hex[:6].upper()
    raw, created = f"FMT{tag}_RAW", []
    with tempfile.TemporaryDirectory() as tmp:
        lines = raw_payload(synthetic_file(args.rows, Path(tmp)), args.rows)
    try:
        ksql.execute(f"CREATE STREAM {raw} ({RAW_COLUMNS}) WITH (KAFKA_TOPIC='{raw.lower()}', "
                     "VALUE_FORMAT='DELIMITED', PARTITIONS=3);")
        created.append(raw)
        writer = producer(args.bootstrap_servers, {"linger.ms": 5,
                                                   "queue.buffering.max.messages": 500_000})
        for line in lines:
            produce_waiting(writer, raw.lower(), line)
        writer.flush(60)
        offsets = EndOffsets(args.bootstrap_servers)
        for i, fmt in enumerate(args.formats.split(",")):
            name = f"FMT{tag}_{i}_{fmt}"
            before, started = process_cpu_seconds(pid), time.monotonic()
            ksql.execute(
                f"CREATE STREAM {name} WITH (KAFKA_TOPIC='{name.lower()}', VALUE_FORMAT='{fmt}',"
                f" PARTITIONS=3) AS SELECT ID, MD5(CONCAT('salt', USER_ID)) AS USER_KEY, "
                f"MASK_KEEP_RIGHT(USER_ID, 2) AS USER_MASKED, TS, AMOUNT, {FEATURES} AS FEATURES "
                f"FROM {raw} WHERE ID IS NOT NULL PARTITION BY ID EMIT CHANGES;",
                properties=PROPERTIES)
            created.append(name)
            while offsets(name.lower()) < args.rows:  # end offsets: markers count too (~0.3%)
                time.sleep(0.2)
            seconds, cpu = time.monotonic() - started, process_cpu_seconds(pid) - before
            print(f"{fmt}: {args.rows / seconds:,.0f} payments/s ({seconds:.1f} s with the "
                  f"query's start), ksqlDB {cpu:.1f} CPU s = {cpu / args.rows * 1000:.3f} ms "
                  "per payment", flush=True)
        offsets.close()
    finally:
        for name in reversed(created):
            ksql.execute(f"DROP STREAM IF EXISTS {name} DELETE TOPIC;")
    return 0


if __name__ == "__main__":
    sys.exit(main())
