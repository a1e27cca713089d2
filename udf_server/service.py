"""The scoring loop: consume a micro-batch, validate, score in one onnxruntime call, produce,
commit.

Delivery modes:
- at-least-once (default): a batch's input offsets are committed only after every scored and
  dead-lettered record of that batch (and of every earlier batch) is acknowledged by the
  brokers. Batches stay in flight while the next ones are processed (at most MAX_IN_FLIGHT), so
  waiting for acknowledgements does not stall scoring. A delivery that fails for good ends the
  process without committing that batch: a restart re-reads it.
- exactly-once (the default): each batch is one Kafka transaction holding its output records,
  its dead letters and its input offsets (`send_offsets_to_transaction`), so a read_committed
  reader of the output sees every input once, even across crashes.

No call waits without bound. Every blocking Kafka call waits at most CALL_WAIT seconds at a time
and is retried only until the batch's TRANSACTION_DEADLINE or a stop: a transaction that cannot
complete is aborted (or, where even that fails, its producer is replaced, which fences the old
one) and the batch is re-read from the group's committed offsets. While the sidecar cannot make
progress its log says why every few seconds and /healthz answers 503 with the reason.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import deque
from typing import Any

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import ConfigResource

from core.contract import (
    S_MODEL_VERSION,
    S_SCORED_AT,
    S_SHADOW_MODEL_VERSION,
    S_SHADOW_THRESHOLD,
    S_THRESHOLD,
)
from core.errors import ServerError
from core.kafka import admin as kafka_admin
from core.kafka import consumer as kafka_consumer
from core.kafka import produce_waiting
from core.kafka import producer as kafka_producer
from udf_server import codec, monitor_counts, wire
from udf_server.config import SidecarConfig
from udf_server.metrics import Metrics
from udf_server.model_store import ModelSlot
from udf_server.storm import StormGuard

log = logging.getLogger("udf_server.service")
MAX_IN_FLIGHT = 4
_RDKAFKA_LOG = logging.getLogger("rdkafka")
#: longest single wait of a blocking Kafka call; loops around it check for a stop in between
CALL_WAIT = 2.0
#: a batch's transaction is given up (aborted, re-read) when it cannot commit within this
TRANSACTION_DEADLINE = 10.0
#: /healthz reports the sidecar stalled once it has made no progress for this long
STALL_AFTER = 15.0
#: how often a stalled sidecar repeats in its log why it waits
STALL_LOG_EVERY = 5.0
#: producers blocked for good (librdkafka #5456) that a process may leave behind before exiting
MAX_ABANDONED = 5
#: bytes a record batch needs beside a dead letter's key, headers and value (with room to spare)
DEAD_LETTER_FRAMING = 576


class FatalKafkaError(ServerError):
    """The Kafka client cannot go on (fenced, fatal idempotence error): exit and be restarted."""


class _Stopping(Exception):
    """A stop was asked for while waiting on Kafka: leave the loop, commit nothing more."""


class _TransactionStuck(Exception):
    """A transaction could not complete in time: abort it and re-read the batch."""


class Trouble:
    """Why the sidecar is not making progress, since when; None while all is well."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.since = 0.0
        self._logged = 0.0

    def report(self, reason: str) -> None:
        now = time.monotonic()
        if self.reason is None:
            self.since = now
        self.reason = reason
        if now - self._logged >= STALL_LOG_EVERY:
            self._logged = now
            log.warning("no progress for %.0f s: %s", now - self.since, reason)

    def clear(self) -> None:
        if self.reason is not None:
            log.info("progress again after %.0f s (was: %s)", time.monotonic() - self.since,
                     self.reason)
        self.reason, self._logged = None, 0.0

    def stalled_for(self) -> float:
        return time.monotonic() - self.since if self.reason is not None else 0.0


_PRODUCER_ONLY = ("linger.ms", "batch.", "compression.", "acks", "queue.buffering.",
                  "transaction.", "message.timeout.ms", "delivery.timeout.ms", "retries")


def _producer_only(key: str) -> bool:
    """librdkafka producer properties, which a consumer would reject or warn about."""
    return key.startswith(_PRODUCER_ONLY)


def producer_settings(cfg: SidecarConfig) -> dict[str, Any]:
    """Defaults, then the operator's librdkafka settings (-X / FRAUD_KAFKA_*), then the
    settings the delivery guarantees depend on, which nobody may override."""
    settings = {
        "bootstrap.servers": cfg.bootstrap_servers, "logger": _RDKAFKA_LOG,
        "acks": "all", "linger.ms": 5, "batch.num.messages": 10_000,
        # Java's partitioner (ksqlDB, Kafka Streams): a key's scored record lands on the same
        # partition number as its feature record, so scored and feature topics stay co-partitioned
        "partitioner": "murmur2_random",
        "queue.buffering.max.messages": 1_000_000, "compression.type": "lz4",
        "transaction.timeout.ms": 30_000,
        **cfg.kafka,
        "enable.idempotence": True,
    }
    if cfg.exactly_once:
        settings["transactional.id"] = f"fraud-scorer.{cfg.group}.{cfg.instance_id}"
    return settings


def consumer_settings(cfg: SidecarConfig) -> dict[str, Any]:
    """Like producer_settings, for the consumer (producer-only keys are left out)."""
    return {
        "bootstrap.servers": cfg.bootstrap_servers, "logger": _RDKAFKA_LOG,
        "session.timeout.ms": 10_000,  # a crashed sidecar's partitions move on in 10 s
        "auto.offset.reset": "earliest", "partition.assignment.strategy": "cooperative-sticky",
        "fetch.min.bytes": 1, "queued.max.messages.kbytes": 65536,
        **{k: v for k, v in cfg.kafka.items() if not _producer_only(k)},
        "group.id": cfg.group, "enable.auto.commit": False, "isolation.level": "read_committed",
    }


#: young-generation threshold for the scoring loop; CPython's default is 700 allocations
GC_YOUNG_THRESHOLD = 100_000


def tune_gc() -> None:
    """Keep the cyclic garbage collector out of the hot loop.

    A micro-batch allocates a few container objects per record (the parsed JSON object, its
    feature list, the pass-through dict); they are freed by reference counting when the batch
    is done and form no cycles. With the default threshold the collector ran every ~175
    records and rescanned the long-lived heap (onnxruntime, the Kafka client) on every full
    collection: about a sixth of the loop's time. Freezing the start-up heap and collecting
    less often keeps memory bounded (cycles are still collected) at a fraction of that cost.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


class InFlightBatch:
    """Offsets to commit once the batch's `pending` deliveries are all acknowledged."""

    __slots__ = ("errors", "offsets", "pending")

    def __init__(self, offsets: dict[tuple[str, int], int]) -> None:
        self.offsets = offsets
        self.pending = 0
        self.errors: list[str] = []

    def delivered(self, err, msg) -> None:
        self.pending -= 1
        if err is not None:
            self.errors.append(f"{msg.topic()}[{msg.partition()}]: {err}")


class Scorer:
    """One sidecar process. `run()` blocks until `stop()`; safe to call `stop()` from a signal."""

    def __init__(self, config: SidecarConfig, metrics: Metrics | None = None) -> None:
        config.validate()
        self.config = config
        self.metrics = metrics or Metrics()
        self._stop = threading.Event()
        self.assigned: set[tuple[str, int]] = set()
        self.champion = ModelSlot(config.model, "champion", config.model_check_interval,
                                  config.inference_threads, self._model_event)
        self.shadow = (ModelSlot(config.shadow_model, "shadow", config.model_check_interval,
                                 config.inference_threads, self._model_event)
                       if config.shadow_model else None)
        self.storm = StormGuard(config.alert_storm_share, config.alert_storm_window)
        auth = ((config.schema_registry_user, config.schema_registry_password or "")
                if config.schema_registry_user else None)
        self.framing = (wire.Framing(wire.Registry(config.schema_registry,
                                                   ca_bundle=config.schema_registry_ca,
                                                   auth=auth),
                                     config.input_topic,
                                     [t for t in (config.output_topic, config.flagged_topic,
                                                  config.counts_topic) if t])
                        if config.schema_registry else None)
        self._in_flight: deque[InFlightBatch] = deque()
        self.consumer: Any = None
        self.producer: Any = None
        self.trouble = Trouble()
        self._last_probe = 0.0
        self._transaction_open = False
        #: the offset committed for each assigned partition, as far as this process knows
        self._committed: dict[tuple[str, int], int] = {}
        self._dlq_limit: int | None = None  # the dead-letter topic's max.message.bytes
        #: producers left blocked in a call that never returned (see _call_watched)
        self.abandoned: list[Any] = []

    # ----- lifecycle ---------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.champion.current is not None and bool(self.assigned)

    def stop(self) -> None:
        self._stop.set()

    def health(self) -> dict[str, Any]:
        """`ok`, or `stalled` with the reason once no progress was made for STALL_AFTER s."""
        stalled = self.trouble.stalled_for()
        if stalled >= STALL_AFTER:
            return {"status": "stalled", "reason": self.trouble.reason,
                    "seconds": round(stalled, 1)}
        return {"status": "ok"}

    def run(self) -> None:
        while not self._stop.is_set() and not self.champion.try_initial():
            self._stop.wait(self.config.model_check_interval)
        if self.shadow is not None and not self._stop.is_set():
            self.shadow.try_initial()
        self._load_framing()
        if self._stop.is_set():
            return
        self._connect()
        tune_gc()
        log.info("scoring %s -> %s (dead letters: %s), group %s, %s, model %s",
                 self.config.input_topic, self.config.output_topic, self.config.dlq_topic,
                 self.config.group, "exactly-once" if self.config.exactly_once
                 else "at-least-once", self.champion.current.version)
        try:
            self._loop()
        except _Stopping:
            log.info("stop requested while waiting on Kafka; the open batch is not committed "
                     "and will be re-read")
        finally:
            self._close()

    def _load_framing(self) -> None:
        """The registry's ids before the first record (retried while it does not answer)."""
        while self.framing is not None and not self._stop.is_set():
            try:
                self.framing.load()
                return
            except wire.RegistryUnavailable as exc:
                log.warning("waiting for the schema registry: %s", exc)
                self.trouble.report(str(exc))
                self._stop.wait(self.config.model_check_interval)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.champion.maybe_reload()
            if self.shadow is not None:
                if self.shadow.current is None:
                    self.shadow.try_initial()
                else:
                    self.shadow.maybe_reload()
            messages = self.consumer.consume(self.config.batch_size,
                                             self.config.batch_wait_ms / 1000.0)
            if messages:
                self._process(messages)
            elif self._in_flight:  # idle: still deliver callbacks and commit what is done
                self._commit_completed(final=False)
            else:
                self._commit_past_markers()
                self._probe_brokers()

    def _commit_past_markers(self) -> None:
        """Idle, nothing in flight: commit the positions that moved past transaction markers.

        A batch commits the offset after its last record. On a transactional input (the
        features query writes in transactions) the marker that ends the last transaction sits
        after that record, so the group would show one record behind per partition until more
        records come, while everything has been scored. The consumer's position steps over the
        marker once a poll has found nothing after it; every record before it was scored and
        committed, so committing it adds nothing and makes the group's lag read 0 (Kafka
        Streams commits positions for the same reason)."""
        partitions = [TopicPartition(t, p) for (t, p) in sorted(self.assigned)]
        if not partitions:
            return
        try:
            unknown = [tp for tp in partitions if (tp.topic, tp.partition) not in self._committed]
            if unknown:  # assigned, nothing committed by this process yet: ask the group once
                for tp in self.consumer.committed(unknown, timeout=CALL_WAIT):
                    self._committed[(tp.topic, tp.partition)] = tp.offset  # < 0: none
            ahead = {(tp.topic, tp.partition): tp.offset
                     for tp in self.consumer.position(partitions)
                     if tp.offset > self._committed.get((tp.topic, tp.partition), tp.offset)}
            if ahead:
                self.consumer.commit(offsets=self._offsets(ahead), asynchronous=False)
                self._committed.update(ahead)
        except KafkaException as exc:  # not worth more: the next batch's commit covers it
            log.info("committing positions past transaction markers: %s", exc.args[0])

    def _probe_brokers(self) -> None:
        """Idle: one metadata round trip (at most every STALL_LOG_EVERY s) shows whether the
        brokers answer; while no records arrive nothing else would notice that they went
        away, or clear the trouble once they are back."""
        now = time.monotonic()
        if now - self._last_probe < STALL_LOG_EVERY:
            return
        self._last_probe = now
        try:
            self.consumer.list_topics(self.config.input_topic, timeout=CALL_WAIT)
        except Exception as exc:  # any failure: still in trouble
            self.trouble.report(f"brokers do not answer: {exc}")
            return
        self.trouble.clear()

    def _connect(self) -> None:
        cfg = self.config
        if cfg.exactly_once:
            self._new_transactional_producer()
        else:
            self.producer = kafka_producer(cfg.bootstrap_servers, producer_settings(cfg))
        self.consumer = kafka_consumer(cfg.bootstrap_servers, consumer_settings(cfg))
        self._dlq_limit = _topic_max_message_bytes(cfg)
        self.consumer.subscribe([cfg.input_topic], on_assign=self._on_assign,
                                on_revoke=self._on_revoke, on_lost=self._on_lost)

    def _close(self) -> None:
        if self.producer is not None and not self.config.exactly_once:
            self.producer.flush(10)
            try:
                self._commit_completed(final=True)
            except FatalKafkaError as exc:
                log.warning("not committed at stop: %s", exc)
        if self.producer is not None and self._transaction_open:  # stopped mid-batch
            _bounded(lambda: self.producer.abort_transaction(CALL_WAIT), "abort at stop",
                     CALL_WAIT + 1)
        if self.consumer is not None:
            _bounded(self.consumer.close, "consumer close", 10.0)
        if self.producer is not None:
            self.producer.flush(5)
        if self.abandoned:
            log.warning("%d abandoned producer(s) still blocked; the process exits without "
                        "waiting for them", len(self.abandoned))
        log.info("stopped: consumed %d, scored %d, dead-lettered %d",
                 self.metrics.value("consumed_total"), self.metrics.value("scored_total"),
                 self.metrics.value("dead_lettered_total"))

    # ----- callbacks ---------------------------------------------------------------------------
    def _on_assign(self, consumer, partitions) -> None:
        self.assigned |= {(p.topic, p.partition) for p in partitions}
        self.metrics.set("assigned_partitions", len(self.assigned))

    def _on_revoke(self, consumer, partitions) -> None:
        if self._in_flight:  # hand over cleanly: everything scored so far is acked and committed
            self.producer.flush(60)
            self._commit_completed(final=True)
        self._forget(partitions)

    def _on_lost(self, consumer, partitions) -> None:
        self._in_flight.clear()  # the group moved on: these offsets can no longer be committed
        self._forget(partitions)

    def _forget(self, partitions) -> None:
        gone = {(p.topic, p.partition) for p in partitions}
        self.assigned -= gone
        for tp in gone:
            self._committed.pop(tp, None)
        self.metrics.set("assigned_partitions", len(self.assigned))

    def _model_event(self, event: str, role: str, version: str, detail: str | None) -> None:
        if event in ("loaded", "swapped"):
            self.metrics.set_only("model_info", 1, "role", role=role, version=version)
        if event == "swapped":
            self.metrics.inc("model_swaps_total", role=role)
        if event == "rejected":
            self.metrics.inc("model_rejected_total", role=role)

    # ----- one micro-batch ---------------------------------------------------------------------
    def _process(self, messages: list) -> None:
        good_rows: list[list[float]] = []
        good: list[tuple[Any, dict]] = []
        bad: list[tuple[Any, codec.BadRecord]] = []
        first_by_partition: dict[int, int] = {}
        last_by_partition: dict[int, int] = {}
        decode, max_bytes = codec.decode, self.config.max_record_bytes
        unframe = self.framing.payload if self.framing is not None else None
        for msg in messages:  # the hot loop: one input topic, so partitions key the offsets
            err = msg.error()
            if err is not None:
                if err.fatal():
                    raise FatalKafkaError(f"consumer: {err}")
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer: %s", err)
                    self.trouble.report(f"consumer: {err}")
                continue
            partition, offset = msg.partition(), msg.offset()
            if partition not in first_by_partition:
                first_by_partition[partition] = offset
            last_by_partition[partition] = offset
            try:
                value = msg.value()
                decoded = decode(unframe(value) if unframe else value, max_bytes)
            except codec.BadRecord as exc:
                bad.append((msg, exc))
                continue
            good_rows.append(decoded.features)
            good.append((msg, decoded.passthrough))
        if not last_by_partition:
            return
        topic = self.config.input_topic
        first = {(topic, p): o for p, o in first_by_partition.items()}
        next_offsets = {(topic, p): o + 1 for p, o in last_by_partition.items()}
        self.metrics.inc("batches_total")
        self.metrics.inc("consumed_total", len(good) + len(bad))
        self.metrics.observe("batch_size", len(good) + len(bad))

        matrix = None
        if good:
            matrix, good = codec.split_out_of_range(codec.to_matrix(good_rows), good_rows, good,
                                                    bad)
        if self.config.exactly_once:
            self._in_transaction(matrix, good, bad, first, next_offsets)
        else:
            self._at_least_once(matrix, good, bad, next_offsets)

    def _emit(self, matrix: np.ndarray | None, good: list, bad: list,
              batch: InFlightBatch, deadline: float | None = None) -> None:
        """Score the batch and hand every output, alert, monitoring count and dead letter to
        the producer (while its queue is full, until `deadline`: _TransactionStuck)."""
        if good:
            self._emit_scored(matrix, good, batch, deadline)
        for msg, exc in bad:
            self._emit_dead_letter(msg, exc, batch, deadline)

    def _emit_scored(self, matrix: np.ndarray, good: list, batch: InFlightBatch,
                     deadline: float | None) -> None:
        """The scored records (and the champion's alerts on the flagged topic, unless an alert
        storm holds them back), then the batch's monitoring counts."""
        champion = self.champion.current
        shadow = self.shadow.current if self.shadow is not None else None
        started = time.perf_counter()
        scores = champion.score(matrix).tolist()
        shadow_scores = shadow.score(matrix).tolist() if shadow is not None else None
        self.metrics.observe("inference_seconds", time.perf_counter() - started)
        now_ms = int(time.time() * 1000)
        threshold = champion.threshold
        flags = [s > threshold for s in scores]
        alerts = sum(flags)
        # without a flagged topic there is no alert path to protect (a stand-alone scorer)
        suppressed = bool(self.config.flagged_topic) and self.storm.suppress(
            len(flags), alerts, champion.version)
        flagged = None if suppressed or not alerts else self.config.flagged_topic
        common = {S_THRESHOLD: threshold, S_MODEL_VERSION: champion.version,
                  S_SCORED_AT: now_ms}
        shadow_threshold = shadow.threshold if shadow is not None else 0.0
        if shadow is not None:
            common[S_SHADOW_MODEL_VERSION] = shadow.version
            common[S_SHADOW_THRESHOLD] = shadow_threshold
        output = self.config.output_topic
        encode, produce, delivered = codec.encode_scored, self.producer.produce, batch.delivered
        framed = self.framing.prefixes if self.framing is not None else {}
        head, flagged_head = framed.get(output, b""), framed.get(flagged, b"")
        times = [0] * len(good)
        batch.pending += len(good) + (alerts if flagged else 0)
        for i, (msg, record) in enumerate(good):  # the hot loop
            value = head + encode(record, scores[i], threshold, common,
                                  shadow_scores[i] if shadow_scores is not None else None,
                                  shadow_threshold)
            ts = msg.timestamp()[1]
            if ts > 0:
                times[i] = ts
            else:
                ts = 0
            key = msg.key()
            try:
                produce(output, value, key, timestamp=ts, on_delivery=delivered)
            except BufferError:  # local queue full: the slow path waits for deliveries
                self._produce(output, key, value, ts, None, delivered, deadline)
            if flagged and flags[i]:
                alert = value if flagged_head == head else flagged_head + value[len(head):]
                self._produce(flagged, key, alert, ts, None, delivered, deadline)
        payment_ms = np.asarray(times, dtype=np.int64)
        stamped = payment_ms[payment_ms > 0]
        if len(stamped):
            self.metrics.observe("end_to_end_lag_seconds",
                                 float(now_ms - stamped.mean()) / 1000.0, len(stamped))
        self.metrics.inc("scored_total", len(good))
        if suppressed:
            self.metrics.inc("alerts_suppressed_total", alerts)
        self.metrics.set("alert_storm", 1.0 if self.storm.active else 0.0)
        if self.config.counts_topic:
            verdicts = monitor_counts.Verdicts(champion.version, np.asarray(scores),
                                               np.asarray(flags), suppressed)
            challenger = None if shadow is None else monitor_counts.Verdicts(
                shadow.version, np.asarray(shadow_scores),
                np.asarray(shadow_scores) > shadow_threshold)
            self._emit_counts(monitor_counts.count_rows(payment_ms, now_ms, verdicts,
                                                        challenger), batch, deadline)

    def _emit_counts(self, rows: list, batch: InFlightBatch, deadline: float | None) -> None:
        topic = self.config.counts_topic
        head = self.framing.prefixes.get(topic, b"") if self.framing is not None else b""
        batch.pending += len(rows)
        for row in rows:
            self._produce(topic, row.key, head + row.value, row.timestamp, None,
                          batch.delivered, deadline)

    def _emit_dead_letter(self, msg, exc: codec.BadRecord, batch: InFlightBatch,
                          deadline: float | None) -> None:
        headers = codec.dead_letter_headers(exc.reason, exc.detail, msg.topic(),
                                            msg.partition(), msg.offset(),
                                            self.config.instance_id)
        value, headers = codec.fit_dead_letter(msg.value(), headers,
                                               self._dead_letter_room(msg.key(), headers))
        source = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
        try:
            self._produce(self.config.dlq_topic, msg.key(), value, 0, headers,
                          self._dead_letter_delivered(batch, source), deadline)
        except KafkaException as produce_error:  # refused before sending
            self._dead_letter_lost(source, len(value or b""), produce_error)
            return
        batch.pending += 1
        self.metrics.inc("dead_lettered_total", reason=exc.reason)
        log.warning("dead-lettered %s[%d]@%d: %s", msg.topic(), msg.partition(),
                    msg.offset(), exc)

    def _dead_letter_room(self, key: bytes | None, headers: list) -> int:
        """How much of the original value a dead letter may carry: the configured cap, and
        what the dead-letter topic's max.message.bytes leaves beside the key, the headers and
        a record batch's framing (a dead letter the brokers refuse would abort the whole
        batch's transaction, again on every try)."""
        if self._dlq_limit is None:
            return self.config.dlq_max_value_bytes
        framing = DEAD_LETTER_FRAMING + len(key or b"") + sum(len(k) + len(v) + 8
                                                              for k, v in headers)
        return max(0, min(self.config.dlq_max_value_bytes, self._dlq_limit - framing))

    def _dead_letter_delivered(self, batch: InFlightBatch, source: str):
        """The delivery callback of one dead letter: a dead letter too large for the brokers
        is given up (logged, counted); any other failure fails its batch like an output."""
        def delivered(err, msg) -> None:
            if err is not None and err.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                batch.pending -= 1
                self._dead_letter_lost(source, len(msg.value() or b""), err)
            else:
                batch.delivered(err, msg)
        return delivered

    def _dead_letter_lost(self, source: str, size: int, error) -> None:
        """A record whose dead letter cannot be written even as a prefix: logged with its
        coordinates and counted (fraud_sidecar_dead_letter_failures_total), then skipped, so
        one record can never stop the pipeline (docs/OPERATIONS.md, "Dead letters")."""
        self.metrics.inc("dead_letter_failures_total")
        log.error("could not dead-letter %s (%d bytes): %s; skipped, see the metric "
                  "dead_letter_failures_total", source, size, error)

    def _produce(self, topic, key, value, timestamp, headers, on_delivery,
                 deadline: float | None = None) -> None:
        """Produce, letting deliveries drain while the local queue is full (until `deadline`,
        or a stop)."""
        try:
            produce_waiting(self.producer, topic, value, key, wait=0.1, deadline=deadline,
                            stop=self._stop, timestamp=timestamp, headers=headers,
                            on_delivery=on_delivery)
        except TimeoutError as exc:
            self.trouble.report(str(exc))
            if self._stop.is_set():
                raise _Stopping() from None
            raise _TransactionStuck(str(exc)) from None

    def _offsets(self, next_offsets: dict[tuple[str, int], int]) -> list:
        return [TopicPartition(t, p, off) for (t, p), off in next_offsets.items()]

    def _at_least_once(self, matrix, good, bad, next_offsets) -> None:
        batch = InFlightBatch(next_offsets)
        self._emit(matrix, good, bad, batch)
        self._in_flight.append(batch)
        self._commit_completed(final=False)

    def _commit_completed(self, final: bool) -> None:
        """Commit the offsets of the leading batches whose deliveries are all acknowledged.

        Not final: wait only while more than MAX_IN_FLIGHT batches are open (back-pressure).
        Final (stop, revoke): the producer was flushed; commit synchronously.
        """
        while True:
            self.producer.poll(0)
            ready: dict[tuple[str, int], int] = {}
            while self._in_flight and self._in_flight[0].pending <= 0:
                done = self._in_flight.popleft()
                if done.errors:
                    raise FatalKafkaError(
                        f"{len(done.errors)} deliveries failed for good (first: "
                        f"{done.errors[0]}); that batch's offsets were not committed, so a "
                        "restart re-reads it")
                ready.update(done.offsets)
            if ready:
                self._commit(ready, asynchronous=not final)
                self.trouble.clear()
            if final or len(self._in_flight) <= MAX_IN_FLIGHT:
                return
            self.producer.poll(0.05)

    def _commit(self, next_offsets: dict[tuple[str, int], int], asynchronous: bool) -> None:
        try:
            self.consumer.commit(offsets=self._offsets(next_offsets), asynchronous=asynchronous)
            self._committed.update(next_offsets)
        except KafkaException as exc:
            self.metrics.inc("commit_failures_total")
            if exc.args[0].fatal():
                raise FatalKafkaError(f"offset commit: {exc.args[0]}") from None
            # not fatal: a later commit covers these offsets, or the partitions moved on and
            # their new owner re-reads from the last commit (at-least-once)
            log.warning("offset commit failed: %s", exc)

    def _in_transaction(self, matrix, good, bad, first, next_offsets) -> None:
        """One batch, one transaction; on any failure the batch is aborted and re-read."""
        deadline = time.monotonic() + TRANSACTION_DEADLINE
        try:
            self.producer.begin_transaction()
            self._transaction_open = True
            self._emit(matrix, good, bad, InFlightBatch({}), deadline)
            offsets = self._offsets(next_offsets)
            metadata = self.consumer.consumer_group_metadata()
            self._wait_on_kafka(lambda wait: self.producer.send_offsets_to_transaction(
                offsets, metadata, wait), deadline, "sending the batch's offsets",
                watched=True)
            self._wait_on_kafka(self.producer.commit_transaction, deadline,
                                "committing the batch's transaction")
            self._transaction_open = False
            self._committed.update(next_offsets)
            self.trouble.clear()
        except (KafkaException, _TransactionStuck) as exc:
            err = exc.args[0] if isinstance(exc, KafkaException) else None
            if err is not None and err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED):
                # another live process has this transactional id: fencing it back in turn
                # would make two processes fence each other for ever
                raise FatalKafkaError(f"fenced by another producer with transactional id "
                                      f"{producer_settings(self.config)['transactional.id']}: "
                                      "give each sidecar its own --instance-id") from None
            if err is not None and err.fatal():
                self.trouble.report(f"fatal transaction error: {err}")
            self.metrics.inc("commit_failures_total")
            self._recover(str(err or exc), first, abortable=err is not None
                          and not err.fatal() and err.txn_requires_abort())

    def _wait_on_kafka(self, call, deadline: float, what: str, watched: bool = False) -> None:
        """`call(wait)` until it succeeds; a retriable error or a time-out is tried again, in
        waits of CALL_WAIT s, until `deadline` (_TransactionStuck) or a stop (_Stopping).
        `watched`: the call may outlive its own timeout, so it runs in a watched thread
        (_call_watched); the others honour their timeouts and run here."""
        while True:
            wait = min(CALL_WAIT, max(0.1, deadline - time.monotonic()))
            try:
                if watched:
                    self._call_watched(call, wait, deadline, what)
                else:
                    call(wait)
                return
            except KafkaException as exc:
                err = exc.args[0]
                if not err.retriable() or err.fatal() or err.txn_requires_abort():
                    raise
                self.trouble.report(f"{what}: {err}")
            if self._stop.is_set():
                raise _Stopping()
            if time.monotonic() >= deadline:
                raise _TransactionStuck(f"{what} did not complete in {TRANSACTION_DEADLINE:.0f} s")

    def _call_watched(self, call, wait: float, deadline: float, what: str) -> None:
        """`call(wait)` in a helper thread, watched: librdkafka's send_offsets_to_transaction
        can outlive its own timeout while the group coordinator's connection is down
        (librdkafka issue #5456; seen here after a broker restart, blocked for minutes). While
        it does, a metadata request connects to the brokers again (which lets the call go on);
        past `deadline` or at a stop the producer is abandoned (replaced: a new one with the
        same transactional id fences it) and the batch is given up."""
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                call(wait)
                outcome.append(None)
            except BaseException as exc:  # handed to the caller's thread below
                outcome.append(exc)

        worker = threading.Thread(target=run, name=what, daemon=True)
        worker.start()
        while True:
            worker.join(wait + 1.0)
            if not worker.is_alive():
                break
            self.trouble.report(f"{what}: no answer {wait:.0f} s past its timeout")
            _bounded(lambda: self.producer.list_topics(timeout=CALL_WAIT / 2),
                     "metadata request", CALL_WAIT)
            if self._stop.is_set() or time.monotonic() >= deadline:
                self._abandon_producer(what)
                if self._stop.is_set():
                    raise _Stopping()
                raise _TransactionStuck(f"{what} blocked past its deadline")
        if outcome and outcome[0] is not None:
            raise outcome[0]

    def _abandon_producer(self, what: str) -> None:
        """Leave a producer whose call never returned (it cannot be used or destroyed while
        that call runs); FatalKafkaError once MAX_ABANDONED have piled up."""
        self.abandoned.append(self.producer)
        self.producer = None
        self._transaction_open = False
        self.metrics.inc("producers_abandoned_total")
        log.error("%s never returned; this producer is abandoned and replaced (%d so far)",
                  what, len(self.abandoned))
        if len(self.abandoned) > MAX_ABANDONED:
            raise FatalKafkaError(f"{len(self.abandoned)} producers blocked in Kafka calls that "
                                  "never returned; restart the process")

    def _recover(self, reason: str, first: dict[tuple[str, int], int],
                 abortable: bool) -> None:
        """Give the failed transaction up and go back to the group's committed offsets, so
        the batch is scored again. An abortable error is aborted; a call that timed out cannot
        be (librdkafka refuses an abort while a timed-out commit is pending), nor can a fatal
        error: the producer is replaced, and its successor's init_transactions fences it and
        aborts what it left open."""
        log.warning("transaction not committed (%s); %s, the batch will be re-read", reason,
                    "aborting it" if abortable else "replacing the producer")
        self.metrics.inc("transaction_recoveries_total")
        deadline = time.monotonic() + TRANSACTION_DEADLINE
        if self.producer is None or not abortable:
            self._new_transactional_producer()
            self._rewind_to_committed(first)
            return
        try:
            self._wait_on_kafka(self.producer.abort_transaction, deadline,
                                "aborting the failed transaction")
            self._transaction_open = False
        except (KafkaException, _TransactionStuck) as exc:
            log.warning("abort failed (%s); replacing the producer (fences the old one)",
                        exc.args[0] if exc.args else exc)
            self._new_transactional_producer()
        self._rewind_to_committed(first)

    def _new_transactional_producer(self) -> None:
        """A fresh transactional producer with this instance's transactional id; its
        init_transactions fences any earlier producer of that id and aborts what it left
        open. Waits (saying why) until the transaction coordinator answers, or a stop."""
        if self.producer is not None:
            _bounded(lambda: self.producer.purge(), "purging the old producer", 5.0)
            self.producer = None
        producer = kafka_producer(self.config.bootstrap_servers, producer_settings(self.config))
        while True:
            try:
                producer.init_transactions(CALL_WAIT * 2)
                break
            except KafkaException as exc:
                err = exc.args[0]
                if err.fatal() or not err.retriable():
                    raise FatalKafkaError(f"init_transactions: {err}") from None
                self.trouble.report(f"waiting for the transaction coordinator: {err}")
            if self._stop.is_set():
                raise _Stopping()
        self.producer = producer
        self._transaction_open = False

    def _rewind_to_committed(self, first: dict[tuple[str, int], int]) -> None:
        """Seek every assigned partition to the group's committed offset (the batch's first
        offset where the group has none yet), waiting until the coordinator answers."""
        partitions = [TopicPartition(t, p) for (t, p) in sorted(self.assigned)]
        while True:
            try:
                committed = self.consumer.committed(partitions, timeout=CALL_WAIT * 2)
                break
            except KafkaException as exc:
                self.trouble.report(f"reading the committed offsets: {exc.args[0]}")
            if self._stop.is_set():
                raise _Stopping()
        for tp in committed:
            offset = tp.offset if tp.offset >= 0 else first.get((tp.topic, tp.partition),
                                                                 OFFSET_BEGINNING)
            try:
                self.consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            except KafkaException as exc:  # not being fetched yet: it starts at the commit
                log.info("seek %s[%d] to %d: %s", tp.topic, tp.partition, offset, exc)


def _topic_max_message_bytes(cfg: SidecarConfig) -> int | None:
    """The dead-letter topic's max.message.bytes (None where it cannot be read: the topic
    does not exist yet, or the principal may not describe it; the configured cap applies)."""
    admin = kafka_admin(cfg.bootstrap_servers, {
        k: v for k, v in consumer_settings(cfg).items()
        if k in ("bootstrap.servers", "logger") or k.startswith(("security.", "sasl.", "ssl."))})
    resource = ConfigResource(ConfigResource.Type.TOPIC, cfg.dlq_topic)
    try:
        found = admin.describe_configs([resource], request_timeout=CALL_WAIT * 2)[resource]
        entry = found.result(timeout=CALL_WAIT * 2).get("max.message.bytes")
        return int(entry.value) if entry is not None and entry.value else None
    except Exception as exc:  # any failure: fall back to the configured cap
        log.info("max.message.bytes of %s not known (%s); dead letters keep at most %d bytes",
                 cfg.dlq_topic, exc, cfg.dlq_max_value_bytes)
        return None


def _bounded(call, what: str, seconds: float) -> None:
    """Run `call` in a helper thread and wait at most `seconds`: a client call that hangs (a
    broker gone at shutdown) must not keep the process from stopping."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except Exception as exc:  # reported below; closing must not hide the real cause
            errors.append(exc)

    worker = threading.Thread(target=run, name=what, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        log.warning("%s did not finish within %.0f s; going on without it", what, seconds)
    elif errors:
        log.warning("%s: %s", what, errors[0])
