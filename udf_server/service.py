"""The scoring loop: consume a micro-batch, validate, score in one onnxruntime call, produce,
commit.

Delivery modes:
- at-least-once (default): a batch's input offsets are committed only after every scored and
  dead-lettered record of that batch (and of every earlier batch) is acknowledged by the
  brokers. Batches stay in flight while the next ones are processed (at most MAX_IN_FLIGHT), so
  waiting for acknowledgements does not stall scoring. A delivery that fails for good ends the
  process without committing that batch: a restart re-reads it.
- exactly-once (`exactly_once=True`): each batch is one Kafka transaction holding its output
  records, its dead letters and its input offsets (`send_offsets_to_transaction`), so a
  read_committed reader of the output sees every input once, even across crashes.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import deque
from typing import Any

import numpy as np

from core.contract import (
    S_MODEL_VERSION,
    S_SCORED_AT,
    S_SHADOW_MODEL_VERSION,
    S_THRESHOLD,
)
from core.errors import ServerError
from core.kafka import produce_waiting
from udf_server import codec
from udf_server.config import SidecarConfig
from udf_server.metrics import Metrics
from udf_server.model_store import ModelSlot

log = logging.getLogger("udf_server.service")
MAX_IN_FLIGHT = 4
_RDKAFKA_LOG = logging.getLogger("rdkafka")


class FatalKafkaError(ServerError):
    """The Kafka client cannot go on (fenced, fatal idempotence error): exit and be restarted."""


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
        self._in_flight: deque[InFlightBatch] = deque()
        self.consumer: Any = None
        self.producer: Any = None

    # ----- lifecycle ---------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.champion.current is not None and bool(self.assigned)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set() and not self.champion.try_initial():
            self._stop.wait(self.config.model_check_interval)
        if self.shadow is not None and not self._stop.is_set():
            self.shadow.try_initial()
        if self._stop.is_set():
            return
        self._connect()
        tune_gc()
        log.info("scoring %s -> %s (dead letters: %s), group %s, %s, model %s",
                 self.config.input_topic, self.config.output_topic, self.config.dlq_topic,
                 self.config.group, "exactly-once" if self.config.exactly_once
                 else "at-least-once", self.champion.current.version)
        try:
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
        finally:
            self._close()

    def _connect(self) -> None:
        from confluent_kafka import Consumer, Producer

        cfg = self.config
        self.producer = Producer(producer_settings(cfg))
        if cfg.exactly_once:
            self.producer.init_transactions(60)
        self.consumer = Consumer(consumer_settings(cfg))
        self.consumer.subscribe([cfg.input_topic], on_assign=self._on_assign,
                                on_revoke=self._on_revoke, on_lost=self._on_lost)

    def _close(self) -> None:
        if self.producer is not None and not self.config.exactly_once:
            self.producer.flush(30)
            try:
                self._commit_completed(final=True)
            except FatalKafkaError as exc:
                log.warning("not committed at stop: %s", exc)
        if self.consumer is not None:
            try:
                self.consumer.close()
            except Exception as exc:  # closing after a broker loss must not hide the cause
                log.warning("consumer close: %s", exc)
        if self.producer is not None:
            self.producer.flush(30)
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
        self.assigned -= {(p.topic, p.partition) for p in partitions}
        self.metrics.set("assigned_partitions", len(self.assigned))

    def _on_lost(self, consumer, partitions) -> None:
        self._in_flight.clear()  # the group moved on: these offsets can no longer be committed
        self.assigned -= {(p.topic, p.partition) for p in partitions}
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
        from confluent_kafka import KafkaError

        good_rows: list[list[float]] = []
        good: list[tuple[Any, dict]] = []
        bad: list[tuple[Any, codec.BadRecord]] = []
        first_by_partition: dict[int, int] = {}
        last_by_partition: dict[int, int] = {}
        decode, max_bytes = codec.decode, self.config.max_record_bytes
        for msg in messages:  # the hot loop: one input topic, so partitions key the offsets
            err = msg.error()
            if err is not None:
                if err.fatal():
                    raise FatalKafkaError(f"consumer: {err}")
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer: %s", err)
                continue
            partition, offset = msg.partition(), msg.offset()
            if partition not in first_by_partition:
                first_by_partition[partition] = offset
            last_by_partition[partition] = offset
            try:
                decoded = decode(msg.value(), max_bytes)
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
              batch: InFlightBatch) -> None:
        """Score the batch and hand every output and dead letter to the producer."""
        from confluent_kafka import KafkaException

        champion = self.champion.current
        shadow = self.shadow.current if self.shadow is not None else None
        delivered = batch.delivered
        if good:
            started = time.perf_counter()
            scores = champion.score(matrix).tolist()
            shadow_scores = shadow.score(matrix).tolist() if shadow is not None else None
            self.metrics.observe("inference_seconds", time.perf_counter() - started)
            now_ms = int(time.time() * 1000)
            threshold = champion.threshold
            common = {S_THRESHOLD: threshold, S_MODEL_VERSION: champion.version,
                      S_SCORED_AT: now_ms}
            if shadow is not None:
                common[S_SHADOW_MODEL_VERSION] = shadow.version
            output = self.config.output_topic
            encode, produce = codec.encode_scored, self.producer.produce
            lag_sum, lag_count = 0, 0
            batch.pending += len(good)
            for i, (msg, record) in enumerate(good):  # the hot loop
                value = encode(record, scores[i], threshold, common,
                               shadow_scores[i] if shadow_scores is not None else None)
                ts = msg.timestamp()[1]
                if ts > 0:
                    lag_sum += now_ms - ts
                    lag_count += 1
                else:
                    ts = 0
                try:
                    produce(output, value, msg.key(), timestamp=ts, on_delivery=delivered)
                except BufferError:  # local queue full: the slow path waits for deliveries
                    self._produce(output, msg.key(), value, ts, None, delivered)
            if lag_count:
                self.metrics.observe("end_to_end_lag_seconds", lag_sum / lag_count / 1000.0,
                                     lag_count)
            self.metrics.inc("scored_total", len(good))
        for msg, exc in bad:
            headers = codec.dead_letter_headers(exc.reason, exc.detail, msg.topic(),
                                                msg.partition(), msg.offset(),
                                                self.config.instance_id)
            value, headers = codec.fit_dead_letter(msg.value(), headers,
                                                   self.config.dlq_max_value_bytes)
            source = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
            try:
                self._produce(self.config.dlq_topic, msg.key(), value, 0, headers,
                              self._dead_letter_delivered(batch, source))
            except KafkaException as produce_error:  # refused before sending
                self._dead_letter_lost(source, len(value or b""), produce_error)
                continue
            batch.pending += 1
            self.metrics.inc("dead_lettered_total", reason=exc.reason)
            log.warning("dead-lettered %s[%d]@%d: %s", msg.topic(), msg.partition(),
                        msg.offset(), exc)

    def _dead_letter_delivered(self, batch: InFlightBatch, source: str):
        """The delivery callback of one dead letter: a dead letter too large for the brokers
        is given up (logged, counted); any other failure fails its batch like an output."""
        from confluent_kafka import KafkaError

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

    def _produce(self, topic, key, value, timestamp, headers, on_delivery) -> None:
        """Produce, letting deliveries drain while the local queue is full."""
        produce_waiting(self.producer, topic, value, key, wait=0.1, timestamp=timestamp,
                        headers=headers, on_delivery=on_delivery)

    def _offsets(self, next_offsets: dict[tuple[str, int], int]) -> list:
        from confluent_kafka import TopicPartition

        return [TopicPartition(t, p, off) for (t, p), off in next_offsets.items()]

    def _rewind(self, first: dict[tuple[str, int], int]) -> None:
        from confluent_kafka import TopicPartition

        for (t, p), off in first.items():
            if (t, p) in self.assigned:
                self.consumer.seek(TopicPartition(t, p, off))

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
            if final or len(self._in_flight) <= MAX_IN_FLIGHT:
                return
            self.producer.poll(0.05)

    def _commit(self, next_offsets: dict[tuple[str, int], int], asynchronous: bool) -> None:
        from confluent_kafka import KafkaException

        try:
            self.consumer.commit(offsets=self._offsets(next_offsets), asynchronous=asynchronous)
        except KafkaException as exc:
            self.metrics.inc("commit_failures_total")
            if exc.args[0].fatal():
                raise FatalKafkaError(f"offset commit: {exc.args[0]}") from None
            # not fatal: a later commit covers these offsets, or the partitions moved on and
            # their new owner re-reads from the last commit (at-least-once)
            log.warning("offset commit failed: %s", exc)

    def _in_transaction(self, matrix, good, bad, first, next_offsets) -> None:
        from confluent_kafka import KafkaException

        producer = self.producer
        try:
            producer.begin_transaction()
            self._emit(matrix, good, bad, InFlightBatch({}))
            producer.send_offsets_to_transaction(
                self._offsets(next_offsets), self.consumer.consumer_group_metadata(), 60)
            self._commit_transaction()
        except KafkaException as exc:
            err = exc.args[0]
            if err.fatal():
                raise FatalKafkaError(f"transaction: {err}") from None
            self.metrics.inc("commit_failures_total")
            log.warning("transaction aborted, batch will be re-read: %s", err)
            try:
                producer.abort_transaction(60)
            except KafkaException as abort_exc:
                if abort_exc.args[0].fatal():
                    raise FatalKafkaError(f"abort: {abort_exc.args[0]}") from None
            self._rewind(first)

    def _commit_transaction(self) -> None:
        from confluent_kafka import KafkaException

        for attempt in range(30):
            try:
                self.producer.commit_transaction(60)
                return
            except KafkaException as exc:
                if not exc.args[0].retriable() or attempt == 29:
                    raise
                time.sleep(min(0.2 * 2 ** attempt, 5.0))
