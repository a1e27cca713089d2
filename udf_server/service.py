"""The scoring loop: consume a micro-batch, validate, score in one onnxruntime call, produce,
commit.

Delivery modes:
- at-least-once (default): offsets are committed only after every scored and dead-lettered record
  of the batch is acknowledged by the brokers; a failed delivery rewinds to the batch start.
- exactly-once (`exactly_once=True`): each batch is one Kafka transaction holding its output
  records, its dead letters and its input offsets (`send_offsets_to_transaction`), so a
  read_committed reader of the output sees every input once, even across crashes.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from infra.errors import FraudctlError
from udf_server import codec
from udf_server.contract import (
    S_IS_ANOMALY,
    S_MODEL_VERSION,
    S_SCORE,
    S_SCORED_AT,
    S_SHADOW_MODEL_VERSION,
    S_SHADOW_SCORE,
    S_THRESHOLD,
)
from udf_server.metrics import Metrics
from udf_server.model_store import ModelSlot

log = logging.getLogger("udf_server.service")
_RDKAFKA_LOG = logging.getLogger("rdkafka")


class FatalKafkaError(FraudctlError):
    """The Kafka client cannot go on (fenced, fatal idempotence error): exit and be restarted."""


@dataclass
class SidecarConfig:
    """Everything the sidecar needs; `kafka` holds librdkafka settings passed through as-is."""

    bootstrap_servers: str
    model: str
    input_topic: str = "transactions.features"
    output_topic: str = "transactions.scored"
    dlq_topic: str = "transactions.scored.dlq"
    group: str = "fraud-scoring-sidecar"
    shadow_model: str | None = None
    batch_size: int = 5000
    batch_wait_ms: int = 10
    exactly_once: bool = False
    instance_id: str = field(default_factory=socket.gethostname)
    max_record_bytes: int = codec.DEFAULT_MAX_RECORD_BYTES
    model_check_interval: float = 1.0
    inference_threads: int = 1
    kafka: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if not 1 <= self.batch_size <= 100_000:
            raise ValueError(f"batch size {self.batch_size} is outside 1..100000")
        if not 0 <= self.batch_wait_ms <= 10_000:
            raise ValueError(f"batch wait {self.batch_wait_ms} ms is outside 0..10000")
        if len({self.input_topic, self.output_topic, self.dlq_topic}) != 3:
            raise ValueError("input, output and dead-letter topics must differ")


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
        self._delivery_errors: list[str] = []
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
        finally:
            self._close()

    def _connect(self) -> None:
        from confluent_kafka import Consumer, Producer

        cfg = self.config
        common = {"bootstrap.servers": cfg.bootstrap_servers, "logger": _RDKAFKA_LOG,
                  **cfg.kafka}
        producer_cfg = {
            **common,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 1_000_000,
            "compression.type": "lz4",
            "on_delivery": self._on_delivery,
        }
        if cfg.exactly_once:
            producer_cfg["transactional.id"] = f"fraud-scorer.{cfg.group}.{cfg.instance_id}"
            producer_cfg["transaction.timeout.ms"] = 30_000
        self.producer = Producer(producer_cfg)
        if cfg.exactly_once:
            self.producer.init_transactions(60)
        self.consumer = Consumer({
            "group.id": cfg.group,
            "session.timeout.ms": 10_000,  # a crashed sidecar's partitions move on in 10 s
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "partition.assignment.strategy": "cooperative-sticky",
            "fetch.min.bytes": 1,
            "queued.max.messages.kbytes": 65536,
            **common,
        })
        self.consumer.subscribe([cfg.input_topic], on_assign=self._on_assign,
                                on_revoke=self._on_revoke, on_lost=self._on_revoke)

    def _close(self) -> None:
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
        self.assigned -= {(p.topic, p.partition) for p in partitions}
        self.metrics.set("assigned_partitions", len(self.assigned))

    def _on_delivery(self, err, msg) -> None:
        if err is not None:
            self._delivery_errors.append(f"{msg.topic()}: {err}")

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
        first: dict[tuple[str, int], int] = {}
        last: dict[tuple[str, int], int] = {}
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.fatal():
                    raise FatalKafkaError(f"consumer: {err}")
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer: %s", err)
                continue
            tp = (msg.topic(), msg.partition())
            first.setdefault(tp, msg.offset())
            last[tp] = msg.offset()
            try:
                decoded = codec.decode(msg.value(), self.config.max_record_bytes)
            except codec.BadRecord as exc:
                bad.append((msg, exc))
                continue
            good_rows.append(decoded.features)
            good.append((msg, decoded.passthrough))
        if not last:
            return
        self.metrics.inc("batches_total")
        self.metrics.inc("consumed_total", len(good) + len(bad))
        self.metrics.observe("batch_size", len(good) + len(bad))

        if self.config.exactly_once:
            self._in_transaction(good_rows, good, bad, first, last)
        else:
            self._at_least_once(good_rows, good, bad, first, last)

    def _emit(self, good_rows: list, good: list, bad: list) -> None:
        """Score the batch and hand every output and dead letter to the producer."""
        champion = self.champion.current
        shadow = self.shadow.current if self.shadow is not None else None
        produce = self.producer.produce
        if good:
            matrix = codec.to_matrix(good_rows)
            started = time.perf_counter()
            scores = champion.score(matrix)
            shadow_scores = shadow.score(matrix) if shadow is not None else None
            self.metrics.observe("inference_seconds", time.perf_counter() - started)
            now_ms = int(time.time() * 1000)
            threshold = champion.threshold
            common = {S_THRESHOLD: threshold, S_MODEL_VERSION: champion.version,
                      S_SCORED_AT: now_ms}
            if shadow is not None:
                common[S_SHADOW_MODEL_VERSION] = shadow.version
            output = self.config.output_topic
            lag_sum = 0.0
            for i, (msg, passthrough) in enumerate(good):
                score = float(scores[i])
                extra = {S_SCORE: score, S_IS_ANOMALY: score > threshold, **common}
                if shadow_scores is not None:
                    extra[S_SHADOW_SCORE] = float(shadow_scores[i])
                ts_type, ts = msg.timestamp()
                self._produce_retrying(produce, output, msg.key(),
                                       codec.encode_scored(passthrough, extra),
                                       ts if ts_type and ts > 0 else 0)
                if ts > 0:
                    lag_sum += now_ms - ts
            if lag_sum:
                self.metrics.observe("end_to_end_lag_seconds", lag_sum / len(good) / 1000.0,
                                     len(good))
            self.metrics.inc("scored_total", len(good))
        for msg, exc in bad:
            headers = codec.dead_letter_headers(exc.reason, exc.detail, msg.topic(),
                                                msg.partition(), msg.offset(),
                                                self.config.instance_id)
            self._produce_retrying(produce, self.config.dlq_topic, msg.key(), msg.value(), 0,
                                   headers)
            self.metrics.inc("dead_lettered_total", reason=exc.reason)
            log.warning("dead-lettered %s[%d]@%d: %s", msg.topic(), msg.partition(),
                        msg.offset(), exc)

    def _produce_retrying(self, produce, topic, key, value, timestamp, headers=None) -> None:
        while True:
            try:
                produce(topic, value=value, key=key, timestamp=timestamp, headers=headers)
                return
            except BufferError:  # local queue full: let deliveries drain, then go on
                self.producer.poll(0.1)

    def _offsets(self, last: dict[tuple[str, int], int]) -> list:
        from confluent_kafka import TopicPartition

        return [TopicPartition(t, p, off + 1) for (t, p), off in last.items()]

    def _rewind(self, first: dict[tuple[str, int], int]) -> None:
        from confluent_kafka import TopicPartition

        for (t, p), off in first.items():
            if (t, p) in self.assigned:
                self.consumer.seek(TopicPartition(t, p, off))

    def _at_least_once(self, good_rows, good, bad, first, last) -> None:
        from confluent_kafka import KafkaException

        self._delivery_errors.clear()
        self._emit(good_rows, good, bad)
        while self.producer.flush(1.0) > 0:  # wait for every ack (survives a broker restart)
            if self._stop.is_set() and self.producer.flush(30) > 0:
                break
        if self._delivery_errors:
            log.error("%d deliveries failed (first: %s); reprocessing the batch",
                      len(self._delivery_errors), self._delivery_errors[0])
            self.metrics.inc("commit_failures_total")
            self._rewind(first)
            return
        for attempt in range(10):
            try:
                self.consumer.commit(offsets=self._offsets(last), asynchronous=False)
                return
            except KafkaException as exc:
                self.metrics.inc("commit_failures_total")
                log.warning("offset commit failed (attempt %d): %s", attempt + 1, exc)
                if exc.args[0].fatal():
                    raise FatalKafkaError(f"offset commit: {exc.args[0]}") from None
                if not exc.args[0].retriable():
                    return  # partitions revoked: the new owner re-reads from the last commit
                time.sleep(min(0.2 * 2 ** attempt, 5.0))

    def _in_transaction(self, good_rows, good, bad, first, last) -> None:
        from confluent_kafka import KafkaException

        producer = self.producer
        try:
            producer.begin_transaction()
            self._emit(good_rows, good, bad)
            producer.send_offsets_to_transaction(self._offsets(last),
                                                 self.consumer.consumer_group_metadata(), 60)
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
