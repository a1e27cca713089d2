"""Small Kafka helpers on confluent-kafka: client config, topic creation, bounded consumption."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from core.errors import ServerError
from core.waiting import wait_until


def produce_waiting(producer, topic: str, value: bytes | None, key: bytes | None = None,
                    wait: float = 0.05, deadline: float | None = None, stop=None,
                    **options: Any) -> None:
    """Produce one record; while the producer's local queue is full, serve deliveries for
    `wait` seconds and try again (back-pressure instead of a BufferError). TimeoutError once
    the queue is still full at `deadline` (time.monotonic()) or `stop` (an Event) is set."""
    while True:
        try:
            producer.produce(topic, value, key, **options)
            return
        except BufferError:
            if (deadline is not None and time.monotonic() >= deadline) or (
                    stop is not None and stop.is_set()):
                raise TimeoutError(f"the producer's queue stayed full (no broker takes {topic}'s"
                                   " records)") from None
            producer.poll(wait)


@dataclass(frozen=True)
class KafkaConnection:
    """Where a Kafka client connects and as whom: the bootstrap servers plus librdkafka's
    security settings (`security.protocol`, `sasl.*`, `ssl.*`). `repr` hides the password."""

    bootstrap_servers: str
    security: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = {k: ("***" if "password" in k else v) for k, v in self.security.items()}
        return f"KafkaConnection({self.bootstrap_servers!r}, {shown})"

    @property
    def principal(self) -> str | None:
        return self.security.get("sasl.username")

    @property
    def where(self) -> str:
        """'Kafka at <servers>' and, where there is one, 'as user <principal>' (for errors)."""
        return f"Kafka at {self.bootstrap_servers}" + (
            f" as user {self.principal}" if self.principal else "")

    def config(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap_servers, **self.security, **(extra or {})}


Connection = KafkaConnection | str


def connection(target: Connection) -> KafkaConnection:
    """A KafkaConnection from either one or a plain bootstrap string (no security)."""
    return target if isinstance(target, KafkaConnection) else KafkaConnection(target)


def client_config(target: Connection, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Base config for any client: where, as whom, then `extra` librdkafka settings."""
    return connection(target).config(extra)


def verify(target: Connection, timeout: float = 15.0) -> None:
    """Connect and read the cluster's metadata, or raise one clear ServerError naming the
    servers and the principal: a refused password (librdkafka reports it only to its error
    callback, while requests wait on), a TLS failure, or no answer within `timeout`."""
    from confluent_kafka import KafkaError, KafkaException

    kafka = connection(target)
    seen: list[Any] = []
    client = admin(kafka, {"logger": QUIET_LOGGER, "error_cb": seen.append,
                           "socket.connection.setup.timeout.ms": int(timeout * 1000)})

    def answered() -> bool:
        try:
            if client.list_topics(timeout=1.0).brokers:
                return True
        except KafkaException as exc:
            seen.append(exc.args[0] if exc.args else exc)
        client.poll(0.1)  # serves error_cb, where librdkafka reports a refused login
        for err in seen:
            if getattr(err, "code", lambda: None)() == KafkaError._AUTHENTICATION:
                raise ServerError(
                    f"{kafka.where}: authentication failed ({_reason(err)}); check that "
                    "user's password (and sasl.mechanism)", url=kafka.bootstrap_servers)
            if getattr(err, "code", lambda: None)() == KafkaError._SSL:
                raise ServerError(f"{kafka.where}: TLS failed ({_reason(err)}); check "
                                  "ssl.ca.location", url=kafka.bootstrap_servers)
        return False

    def timed_out() -> ServerError:
        last = f" (last: {_reason(seen[-1])})" if seen else ""
        return ServerError(f"{kafka.where} did not answer within {timeout:.0f}s{last}; are the "
                           "brokers running, and do security.protocol and the port match?",
                           url=kafka.bootstrap_servers)

    wait_until(answered, timeout, every=0.0, timed_out=timed_out)


def _reason(err: Any) -> str:
    text = err.str() if hasattr(err, "str") else str(err)
    return text.split(": ", 1)[-1] if text.count(": ") else text


def producer(target: Connection, settings: Mapping[str, Any] | None = None):
    """A confluent_kafka Producer for `target` with more librdkafka `settings`."""
    from confluent_kafka import Producer

    return Producer(client_config(target, settings))


def consumer(target: Connection, settings: Mapping[str, Any] | None = None,
             isolation: str = "read_committed"):
    """A confluent_kafka Consumer for `target`; reads committed records unless told."""
    from confluent_kafka import Consumer

    return Consumer(client_config(target, {"isolation.level": isolation, **(settings or {})}))


@contextmanager
def consuming(target: Connection, settings: Mapping[str, Any] | None = None,
              isolation: str = "read_committed") -> Iterator[Any]:
    """`consumer(...)` that is closed (leaving its group at once) when the block ends."""
    client = consumer(target, settings, isolation)
    try:
        yield client
    finally:
        client.close()


def admin(target: Connection, settings: Mapping[str, Any] | None = None):
    """A confluent_kafka AdminClient for `target`."""
    from confluent_kafka.admin import AdminClient

    return AdminClient(client_config(target, settings))


def create_topics(bootstrap_servers: Connection, topics: Iterable[str], partitions: int = 1,
                  replication: int = 1, config: dict[str, str] | None = None,
                  extra: dict[str, Any] | None = None, timeout: float = 30.0) -> None:
    """Create topics that do not exist yet; an existing topic is left as it is."""
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import NewTopic

    client = admin(bootstrap_servers, extra)
    new = [NewTopic(t, num_partitions=partitions, replication_factor=replication,
                    config=config or {}) for t in topics]
    for topic, future in client.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except Exception as exc:
            err = exc.args[0] if exc.args else None
            if getattr(err, "code", lambda: None)() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise ServerError(f"could not create topic {topic}: {exc}") from None


def consume_messages(bootstrap_servers: Connection, topic: str, count: int, timeout: float = 30.0,
                     isolation: str = "read_committed", extra: dict[str, Any] | None = None,
                     idle_after: float | None = None) -> list[Any]:
    """Read `topic` from the beginning until `count` messages arrived or `timeout` passed.

    With `idle_after`, keep reading past `count` until nothing new came for that many seconds
    (to see duplicates or extra records). Returns confluent_kafka Message objects. Reads
    committed records only by default: an aborted transaction's records are not what the
    pipeline wrote (offsets are no count either: transaction markers take offsets too).
    """
    from confluent_kafka import KafkaError

    messages: list[Any] = []
    with consuming(bootstrap_servers, {
        "group.id": f"fraudctl-reader-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **(extra or {}),
    }, isolation=isolation) as reader:
        reader.subscribe([topic])
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            if len(messages) >= count and (idle_after is None
                                           or time.monotonic() - last_new >= idle_after):
                break
            for msg in reader.consume(num_messages=10000, timeout=0.2):
                err = msg.error()
                if err is None:
                    messages.append(msg)
                    last_new = time.monotonic()
                # a topic that does not exist yet may still be created by its producer
                elif err.code() not in (KafkaError._PARTITION_EOF,
                                        KafkaError.UNKNOWN_TOPIC_OR_PART):
                    raise ServerError(f"consuming {topic}: {err}")
    return messages


#: give a client `"logger": QUIET_LOGGER` where librdkafka's own connection-retry lines would
#: only bury the one clear error the caller reports itself
QUIET_LOGGER = logging.getLogger("fraudctl.librdkafka.quiet")
QUIET_LOGGER.addHandler(logging.NullHandler())
QUIET_LOGGER.propagate = False


class TopicTail:
    """Reads what is written to a topic after the moment it was created (a demo's own records
    on a topic that has older ones), or everything it holds (`from_start`). `read()` returns
    every new message so far, each once; committed records only, unless `isolation` says
    otherwise."""

    def __init__(self, bootstrap_servers: Connection, topic: str,
                 isolation: str = "read_committed", from_start: bool = False) -> None:
        self.topic = topic
        self.consumer = consumer(bootstrap_servers, {
            "group.id": f"fraudctl-tail-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
            "logger": QUIET_LOGGER}, isolation=isolation)
        self.positions: dict[int, int] = {}
        self._follow_new_partitions(start_at_end=not from_start)

    def _follow_new_partitions(self, start_at_end: bool) -> None:
        """Assign partitions not followed yet (a topic created later is read from its start)."""
        from confluent_kafka import KafkaError, TopicPartition

        metadata = self.consumer.list_topics(self.topic, timeout=30).topics.get(self.topic)
        if metadata is not None and metadata.error is not None and metadata.error.code() in (
                KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED):
            raise ServerError(f"reading {self.topic}: {metadata.error.str()} (the reader's "
                              "principal has no Read/Describe ACL on it)")
        found = set(metadata.partitions if metadata and not metadata.error else {})
        if found <= set(self.positions):
            return
        for p in sorted(found - set(self.positions)):
            self.positions[p] = (self.consumer.get_watermark_offsets(
                TopicPartition(self.topic, p), timeout=30)[1] if start_at_end else 0)
        self.consumer.assign([TopicPartition(self.topic, p, o)
                              for p, o in self.positions.items()])

    def read(self, timeout: float = 10.0) -> list[Any]:
        """Messages written since the last read, up to the current end of every partition."""
        from confluent_kafka import TopicPartition

        self._follow_new_partitions(start_at_end=False)
        ends = {p: self.consumer.get_watermark_offsets(TopicPartition(self.topic, p),
                                                       timeout=30)[1] for p in self.positions}
        messages: list[Any] = []
        deadline = time.monotonic() + timeout
        followed = [TopicPartition(self.topic, p) for p in ends]
        while any(self.positions[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            for msg in self.consumer.consume(num_messages=10000, timeout=0.2):
                if msg.error() is None:
                    messages.append(msg)
                    self.positions[msg.partition()] = msg.offset() + 1
            # the fetch position moves past transaction markers, which no message shows
            for tp in self.consumer.position(followed):
                if tp.offset >= 0:
                    self.positions[tp.partition] = max(self.positions[tp.partition], tp.offset)
        return messages

    def close(self) -> None:
        self.consumer.close()
