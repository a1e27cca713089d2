"""What consumer groups (ksqlDB's persistent queries, the sidecar) have yet to read, asked of
Kafka: each group's committed offsets against the last stable offsets of the partitions it
reads. A sample is one offset fetch per group and one ListOffsets for all the partitions,
answered by the brokers alone (asked through `DESCRIBE EXTENDED` instead, every sample cost
ksqlDB a REST request per query)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, IsolationLevel, TopicPartition
from confluent_kafka.admin import OffsetSpec

from core.errors import CheckFailed
from core.kafka import QUIET_LOGGER, Connection, admin

#: partitions a group reads: (topic, partition)
Partitions = list[tuple[str, int]]


def topic_partitions(client: Any, topic: str, timeout: float = 10.0) -> Partitions:
    """`topic`'s partitions, from the metadata of a client (a consumer or an admin client)."""
    meta = client.list_topics(topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None or not meta.partitions:
        raise CheckFailed(f"topic {topic} has no partitions in the cluster's metadata"
                          + (f" ({meta.error})" if meta is not None and meta.error else ""))
    return [(topic, p) for p in sorted(meta.partitions)]


class GroupLag:
    """Records each named consumer group has yet to consume, read committed."""

    def __init__(self, kafka: Connection, groups: Mapping[str, tuple[str, Partitions]],
                 timeout: float = 10.0) -> None:
        """`groups`: a name for each group -> (group id, the partitions it reads)."""
        self.groups = dict(groups)
        self.timeout = timeout
        self.admin = admin(kafka, {"logger": QUIET_LOGGER})

    def __call__(self) -> dict[str, int]:
        """Each name's records behind: committed offset to last stable offset, summed over its
        partitions (a partition the group never committed counts from its first offset)."""
        committed = {name: self.admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t, p in parts])],
            request_timeout=self.timeout)[group]
            for name, (group, parts) in self.groups.items()}
        positions = {name: {(tp.topic, tp.partition): tp.offset
                            for tp in future.result(self.timeout).topic_partitions}
                     for name, future in committed.items()}
        ends = self._offsets({tp for _group, parts in self.groups.values() for tp in parts},
                             OffsetSpec.latest())
        unread = {tp for name, (_group, parts) in self.groups.items() for tp in parts
                  if positions[name].get(tp, -1) < 0}
        starts = self._offsets(unread, OffsetSpec.earliest()) if unread else {}

        def behind(name: str, tp: tuple[str, int]) -> int:
            committed = positions[name].get(tp, -1)
            return max(0, ends[tp] - (committed if committed >= 0 else starts[tp]))

        return {name: sum(behind(name, tp) for tp in parts)
                for name, (_group, parts) in self.groups.items()}

    def _offsets(self, partitions: Iterable[tuple[str, int]],
                 spec: OffsetSpec) -> dict[tuple[str, int], int]:
        futures = self.admin.list_offsets(
            {TopicPartition(t, p): spec for t, p in partitions},
            isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=self.timeout)
        return {(tp.topic, tp.partition): future.result(self.timeout).offset
                for tp, future in futures.items()}


class LagSampler:
    """Samples a lag reading every `every` seconds in a thread, so that a verdict can rest on
    the lowest value of each part over a stretch of time rather than on one sample: a query
    that commits every few seconds shows its uncommitted input as lag until it commits."""

    def __init__(self, read: Callable[[], dict[str, int]], every: float = 0.5) -> None:
        self.read, self.every = read, every
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LagSampler:
        self._thread = threading.Thread(target=self._run, name="lag-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.samples.append((started, self.read()))
            self._stop.wait(max(0.0, self.every - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def floor(self, since: float, until: float) -> int | None:
        """The sum over parts of each part's lowest lag sampled in [since, until) (monotonic
        seconds); None without a sample there."""
        window = [lags for at, lags in self.samples if since <= at < until]
        if not window:
            return None
        return sum(min(lags.get(name, 0) for lags in window) for name in window[0])
