"""What the sidecar's side of each value format costs per record in Python: decoding a feature
record and encoding a scored one, JSON inside Schema Registry's framing (JSON_SR: orjson after
five bytes) against Avro (fastavro, the library confluent-kafka's Avro serialisers use; skipped
where it is not installed: `pip install fastavro`).

    .venv/bin/python scripts/bench_wire_codec.py --records 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time

import orjson

from udf_server.wire import HEADER, prefix

FIELDS = [("USER_KEY", "string"), ("USER_MASKED", "string"), ("TS", "string"),
          ("AMOUNT", "double")]


def records(n: int) -> list[dict]:
    rng = random.Random(7)
    return [{"USER_KEY": "ab" * 16, "USER_MASKED": "xxxx12", "TS": "2026-12-01T10:00:00.000Z",
             "AMOUNT": round(rng.uniform(0, 500), 2),
             "FEATURES": [rng.gauss(0, 1) for _ in range(30)]} for _ in range(n)]


def per_record_us(work, items) -> float:
    started = time.perf_counter()
    for item in items:
        work(item)
    return (time.perf_counter() - started) / len(items) * 1e6


def json_sr(rows: list[dict]) -> tuple[float, float, float]:
    head = prefix(7)
    framed = [head + orjson.dumps(r) for r in rows]
    decode = per_record_us(lambda v: orjson.loads(memoryview(v)[HEADER:]), framed)
    encode = per_record_us(lambda r: head + orjson.dumps(r), rows)
    return decode, encode, sum(map(len, framed)) / len(framed)


def avro(rows: list[dict]) -> tuple[float, float, float] | None:
    try:
        import fastavro
    except ImportError:
        return None
    schema = fastavro.parse_schema({"type": "record", "name": "Features", "fields": [
        *({"name": n, "type": ["null", t]} for n, t in FIELDS),
        {"name": "FEATURES", "type": ["null", {"type": "array", "items": ["null", "double"]}]}]})
    head = prefix(7)

    def encode_one(row: dict) -> bytes:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, row)
        return head + out.getvalue()

    framed = [encode_one(r) for r in rows]
    decode = per_record_us(
        lambda v: fastavro.schemaless_reader(io.BytesIO(v[HEADER:]), schema, None), framed)
    encode = per_record_us(encode_one, rows)
    return decode, encode, sum(map(len, framed)) / len(framed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = records(args.records)
    for run in range(1, args.repeat + 1):
        for name, measure in (("JSON_SR", json_sr), ("AVRO", avro)):
            found = measure(rows)
            if found is None:
                print(f"run {run} {name}: skipped (fastavro is not installed)")
                continue
            decode, encode, size = found
            print(f"run {run} {name}: decode {decode:.1f} us, encode {encode:.1f} us per "
                  f"record, {size:.0f} bytes", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
