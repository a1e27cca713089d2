"""Start, check and stop a single-node KRaft broker, a distributed Connect worker, a Schema
Registry and a ksqlDB server (which uses that registry) on 127.0.0.1.

The processes are real JVMs started from the jars `infra.local.jars` resolves. Where ksqlDB
(or Schema Registry, resolved from the same repositories) cannot be resolved, the stack runs
Kafka and Connect alone and says why. Their pids, ports and
logs live in a run directory; `down` stops only the pids recorded there (ksqlDB and Connect
first, the broker last), and only after checking that each pid still belongs to this run
directory (pids are recycled). `up` on a stack one of whose processes died starts that process
alone: the others keep running.

Exactly once by default: Connect runs its source connectors with transactions (KIP-618) and
ksqlDB's queries default to `exactly_once_v2` (`StackConfig.exactly_once=False` for a stack that
runs at least once, as the fault tests' counter-check does).
"""

from __future__ import annotations

import base64
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from core.errors import ConfigError, StackError
from core.kafka import QUIET_LOGGER
from core.kafka import admin as kafka_admin
from core.waiting import wait_until
from infra.local.jars import (
    KafkaDistribution,
    KsqlDbUnavailable,
    cache_root,
    fetch_distribution,
    fetch_ksqldb,
    fetch_schema_registry,
    require_java,
)

LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")
KSQLDB_LOG4J_CONFIG = Path(__file__).with_name("ksqldb-log4j.properties")
REGISTRY_LOG4J_CONFIG = Path(__file__).with_name("registry-log4j.properties")
KSQLDB_SERVICE_ID = "fraud_local_"

#: ksqlDB server settings that change no result, only what a payment costs (docs/BENCHMARKS.md;
#: the cluster and docker-compose.yml set the same):
#: - every query's consumer batches its fetches: a fetch returns once 64 KB are there or 50 ms
#:   have passed (Kafka's default answers on the first byte), so each poll hands a query a
#:   larger batch ("Batched fetches");
#: - ksqlDB reads JSON_SR with its own JSON reader (the schema id skipped, columns by name)
#:   instead of Schema Registry's converter, which looks the schema up in caches keyed by the
#:   whole schema for every record: 43% of the label join's thread in a profile ("ksqlDB's own
#:   JSON reader"). The converter is only needed for `anyOf` types, which no topic here has;
#: - every query's producer fills batches of up to 256 KB instead of Kafka's 16 KB: a 16 KB
#:   batch holds about 22 feature records, so the features query sent a produce request every
#:   few dozen payments; with a quarter of the requests the brokers spent a fifth less CPU, and
#:   on a warm stack the 200,000 backlog drained at 20,000-23,000/s instead of 12,000-21,000
#:   ("The last hops every 250 ms, and fewer, larger produce requests"). Under exactly-once
#:   a query's output is visible at its commit either way.
QUERY_SERVER_SETTINGS = {
    "ksql.streams.consumer.fetch.min.bytes": "65536",
    "ksql.streams.consumer.fetch.max.wait.ms": "50",
    "ksql.json_sr.converter.deserializer.enabled": "false",
    "ksql.streams.producer.batch.size": "262144",
}

#: JVM options of the ksqlDB servers (the cluster and docker-compose.yml's KSQL_OPTS the same):
#: biased locking, off by default since Java 15 but still in Java 17, on which ksqlDB 7.9 runs.
#: A query thread takes the same locks again and again with nobody else wanting them:
#: ksqlDB's DELIMITED reader (commons-csv) reads every raw line one character at a time
#: through a synchronized `BufferedReader.read()`, and parsing one raw line took 8.1-8.3 us
#: without biased locking and 3.3 us with it (docs/BENCHMARKS.md, "Biased locking"). Java 18
#: dropped the option; `IgnoreUnrecognizedVMOptions` lets a later Java start without it.
KSQLDB_JVM_OPTIONS = ("-XX:+IgnoreUnrecognizedVMOptions", "-XX:+UseBiasedLocking")

#: What the brokers are formatted with: Kafka's first transaction protocol
#: (`transaction.version=1`) instead of Kafka 4's default, version 2 (KIP-890), which only the
#: Connect worker's Java 4.x clients speak (ksqlDB 7.9's clients and librdkafka use version 1).
#: Under version 2 a Connect exactly-once source task died in a CI run: its commit was answered
#: INVALID_TXN_STATE ("state is COMPLETE_COMMIT, but received ... COMMIT"), which the producer
#: treats as fatal, and the task stayed FAILED (docs/OPERATIONS.md, "Transaction protocol").
BROKER_FEATURES = ("transaction.version=1",)

FILE_SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
FILE_SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"
PROCESSES = ("kafka", "connect", "registry", "ksqldb")
#: the processes that come from Confluent's repository (started together, or not at all)
CONFLUENT = ("registry", "ksqldb")


def format_features() -> list[str]:
    """The storage tool's arguments that set BROKER_FEATURES when a log directory is formatted."""
    return [arg for feature in BROKER_FEATURES for arg in ("--feature", feature)]


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a port number") from None


@dataclass
class StackConfig:
    """Where the local stack runs. Ports default to the usual ones and follow FRAUD_LOCAL_* vars."""

    run_dir: Path = field(default_factory=lambda: cache_root() / "run" / "local")
    host: str = "127.0.0.1"
    kafka_port: int = field(default_factory=lambda: _env_int("FRAUD_LOCAL_KAFKA_PORT", 9092))
    controller_port: int = field(
        default_factory=lambda: _env_int("FRAUD_LOCAL_CONTROLLER_PORT", 9093))
    connect_port: int = field(default_factory=lambda: _env_int("FRAUD_LOCAL_CONNECT_PORT", 8083))
    ksqldb_port: int = field(default_factory=lambda: _env_int("FRAUD_LOCAL_KSQLDB_PORT", 8088))
    registry_port: int = field(
        default_factory=lambda: _env_int("FRAUD_LOCAL_SCHEMA_REGISTRY_PORT", 8081))
    heap: str = "512m"
    ksqldb_heap: str = "1g"
    #: Connect's exactly-once source support and ksqlDB's default processing guarantee
    exactly_once: bool = True

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def connect_url(self) -> str:
        return f"http://{self.host}:{self.connect_port}"

    @property
    def ksqldb_url(self) -> str:
        return f"http://{self.host}:{self.ksqldb_port}"

    @property
    def schema_registry_url(self) -> str:
        return f"http://{self.host}:{self.registry_port}"


def _pid_alive(pid: int) -> bool:
    """True if the pid runs and is not a zombie (reaps it if it is our own exited child)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def _pid_belongs_to(pid: int, run_dir: Path) -> bool:
    """A recorded pid is ours only if its command line still names our run directory."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return str(run_dir) in cmdline


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = "127.0.0.1") -> int:
    """A free port for a server started here (tests, bench), chosen below the kernel's
    ephemeral range: outgoing connections (clients reconnecting to a stopped broker, say) take
    their local ports from that range and could hold the port a restarting server needs."""
    low, _ = _ephemeral_range()
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(10_000, max(low, 10_001))
        if _port_free(host, port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # fall back to the OS
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log written)"


def new_cluster_id() -> str:
    """A random KRaft cluster id: 16 bytes, URL-safe base64, never starting with '-'.

    An id starting with '-' is read as an option by the storage tool's argument parser
    (Kafka's own ``Uuid.randomUuid`` redraws such ids for the same reason).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def kind(name: str) -> str:
    """What a process of a stack is: `kafka-2` is a kafka process."""
    return name.split("-")[0]


class LocalStack:
    """The local broker, Connect worker and ksqlDB server described by a StackConfig."""

    #: the processes, in start order (stopped in the reverse order)
    processes: tuple[str, ...] = PROCESSES

    def __init__(self, config: StackConfig | None = None,
                 distribution: KafkaDistribution | None = None) -> None:
        self.config = config or StackConfig()
        self._distribution = distribution
        self.run_dir = self.config.run_dir

    # ----- state -----------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.run_dir / "stack.json"

    def _read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise StackError(f"{self.state_file} is not valid JSON ({exc}); "
                             "remove it after checking no stack is running") from None

    def generated_secrets(self) -> dict[str, str]:
        """Secrets of the local environment, made up once and kept in the run directory
        (`local reset` forgets them): FRAUD_USER_KEY_SALT, the salt of the user pseudonym."""
        path = self.run_dir / "secrets.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass
        made = {"FRAUD_USER_KEY_SALT": secrets.token_hex(16)}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(made) + "\n")
        path.chmod(0o600)
        return made

    def _write_state(self, pids: dict[str, int]) -> None:
        ksqldb = any(kind(name) == "ksqldb" for name in pids)
        state = {"pids": pids, **self.endpoints(ksqldb=ksqldb), "config": {
            k: str(v) for k, v in asdict(self.config).items()}}
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    def endpoints(self, ksqldb: bool | None = None) -> dict[str, str | None]:
        """Where the servers answer; `ksqldb_url` and `schema_registry_url` are None when this
        stack runs no ksqlDB (`ksqldb=None`: as the state file records)."""
        if ksqldb is None:
            ksqldb = "ksqldb" in self.recorded_pids()
        return {"bootstrap_servers": self.config.bootstrap_servers,
                "connect_url": self.config.connect_url,
                "ksqldb_url": self.config.ksqldb_url if ksqldb else None,
                "schema_registry_url": self.config.schema_registry_url if ksqldb else None}

    def _live_pids(self) -> dict[str, int]:
        state = self._read_state() or {}
        return {name: pid for name, pid in state.get("pids", {}).items()
                if _pid_alive(pid) and _pid_belongs_to(pid, self.run_dir)}

    def recorded_pids(self) -> dict[str, int]:
        """Pids in the state file, alive or not."""
        return dict((self._read_state() or {}).get("pids", {}))

    # ----- health ----------------------------------------------------------------------------
    def kafka_ready(self, timeout: float = 2.0) -> bool:
        if _port_free(self.config.host, self.config.kafka_port):
            return False  # nothing listens yet: skip the client and its connection-refused noise
        admin = kafka_admin(self.config.bootstrap_servers, {
            "socket.connection.setup.timeout.ms": 1000, "logger": QUIET_LOGGER})
        try:
            metadata = admin.list_topics(timeout=timeout)
        except Exception:
            return False
        return bool(metadata.brokers)

    def _rest_get(self, url: str) -> requests.Response | None:
        """GET a server's URL for a readiness check; None where it does not answer (the
        secured cluster adds its CA and credentials)."""
        try:
            return requests.get(url, timeout=2)
        except requests.RequestException:
            return None

    def connect_ready(self) -> bool:
        root = self._rest_get(self.config.connect_url + "/")
        plugins = self._rest_get(self.config.connect_url + "/connector-plugins")
        if root is None or plugins is None or root.status_code != 200 or (
                plugins.status_code != 200):
            return False
        classes = {p.get("class") for p in plugins.json()}
        return FILE_SOURCE in classes and FILE_SINK in classes

    def ksqldb_ready(self, url: str | None = None) -> bool:
        """The ksqlDB server at `url` (this stack's by default) answers RUNNING."""
        info = self._rest_get((url or self.config.ksqldb_url) + "/info")
        if info is None or info.status_code != 200:
            return False
        return info.json().get("KsqlServerInfo", {}).get("serverStatus") == "RUNNING"

    def registry_ready(self, url: str | None = None) -> bool:
        """The Schema Registry at `url` (this stack's by default) lists its subjects."""
        subjects = self._rest_get((url or self.config.schema_registry_url) + "/subjects")
        return subjects is not None and subjects.status_code == 200

    def _ready_check(self, name: str):
        return {"kafka": self.kafka_ready, "connect": self.connect_ready,
                "registry": self.registry_ready, "ksqldb": self.ksqldb_ready}[name]

    def _wanted(self, connect: bool, ksqldb: bool) -> list[str]:
        """The processes `up` starts: brokers always, Connect as asked, ksqlDB and its Schema
        Registry as asked."""
        return [name for name in self.processes if kind(name) == "kafka"
                or (kind(name) == "connect" and connect) or (kind(name) in CONFLUENT and ksqldb)]

    def status(self) -> dict[str, Any]:
        """Each process this stack started: pid, alive, ready; plus the endpoints."""
        live = self._live_pids()
        recorded = self.recorded_pids()
        processes = {}
        for name in self.processes:
            if name not in recorded and kind(name) != "kafka":
                continue  # not part of this stack (e.g. --no-ksqldb)
            alive = name in live
            processes[name] = {"pid": recorded.get(name), "alive": alive,
                               "ready": alive and self._ready_check(name)()}
        running = bool(live)
        endpoints = self.endpoints(ksqldb=any(kind(n) == "ksqldb" for n in recorded))
        if not running:
            endpoints = dict.fromkeys(endpoints)
        return {"run_dir": str(self.run_dir), "running": running, **endpoints,
                "processes": processes}

    # ----- up ----------------------------------------------------------------------------------
    def up(self, timeout: float = 240.0, log=print, connect: bool = True,
           ksqldb: bool = True) -> dict[str, str | None]:
        """Start what is not running, wait until the servers answer, return the endpoints.

        `connect=False` starts the broker alone (tests that stop and restart it); it implies no
        ksqlDB. Where ksqlDB cannot be resolved, the rest starts and `log` says why.
        """
        require_java()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        confluent: dict[str, KafkaDistribution] = {}
        if ksqldb and connect:
            try:
                confluent = {"ksqldb": fetch_ksqldb(), "registry": fetch_schema_registry()}
            except KsqlDbUnavailable as exc:  # the rest runs; say why ksqlDB does not
                log(str(exc))
        live = self._live_pids()
        wanted = self._wanted(connect, bool(confluent))
        if set(wanted) <= set(live) and all(self._ready_check(n)() for n in wanted):
            log(f"Local stack already running (pids {', '.join(map(str, live.values()))}).")
            return self.endpoints()
        missing = [name for name in wanted if name not in live]
        if live:  # the rest keeps running: restarting it too would be a second fault
            log(f"Local stack is partly running; starting {', '.join(missing) or 'nothing'} "
                f"(running: {', '.join(sorted(live))}).")
        # a process of ours that died may leave its port held for a moment
        self._check_ports(set(missing), grace=30.0 if self.recorded_pids() else 0.0)
        dist = self._distribution or fetch_distribution()
        self._prepare(log)
        pids: dict[str, int] = dict(live)
        started: list[str] = []
        deadline = time.monotonic() + timeout
        brokers = [name for name in wanted if kind(name) == "kafka"]
        try:
            for name in brokers:  # a KRaft quorum needs its majority up: started together
                if name in missing:
                    pids[name] = self._start(name, dist, confluent)
                    started.append(name)
            self._write_state(pids)
            for name in brokers:
                self._wait(name, pids[name], deadline, log)
            self._brokers_ready(log)
            spawned = time.monotonic()
            servers = [name for name in wanted if name not in brokers]
            for name in servers:
                if name in missing:
                    pids[name] = self._start(name, dist, confluent)
                    started.append(name)
            self._write_state(pids)
            for name in servers:  # started together, waited for in turn
                self._wait(name, pids[name], deadline, log, started=spawned)
        except BaseException:
            if len(started) == len(wanted):
                self.down(log=lambda *_: None)
            else:  # stop only what this call started; the rest was running before
                for name in started:
                    self.stop_process(name, log=lambda *_: None)
            raise
        return self.endpoints()

    def _prepare(self, log) -> None:
        """Before any process starts (the cluster makes its certificates and credentials)."""
        if (self.run_dir / "kafka-data" / "meta.properties").exists():
            log(f"Reusing the data of an earlier run in {self.run_dir}.")

    def _brokers_ready(self, log) -> None:
        """Once every broker answers, before Connect and ksqlDB start (the cluster grants the
        servers' own ACLs here)."""

    def _start(self, name: str, dist: KafkaDistribution,
               confluent: dict[str, KafkaDistribution]) -> int:
        if name == "kafka":
            return self._start_kafka(dist)
        if name == "connect":
            return self._start_connect(dist)
        if name == "registry":
            return self._start_registry(confluent["registry"])
        return self._start_ksqldb(confluent["ksqldb"])

    def _ports(self) -> list[tuple[str, str, int, str]]:
        """(process, what, port, the variable that moves it) of every port this stack binds."""
        cfg = self.config
        return [("kafka", "Kafka", cfg.kafka_port, "FRAUD_LOCAL_KAFKA_PORT"),
                ("kafka", "KRaft controller", cfg.controller_port, "FRAUD_LOCAL_CONTROLLER_PORT"),
                ("connect", "Kafka Connect", cfg.connect_port, "FRAUD_LOCAL_CONNECT_PORT"),
                ("registry", "Schema Registry", cfg.registry_port,
                 "FRAUD_LOCAL_SCHEMA_REGISTRY_PORT"),
                ("ksqldb", "ksqlDB", cfg.ksqldb_port, "FRAUD_LOCAL_KSQLDB_PORT")]

    def _check_ports(self, wanted: set[str], grace: float = 0.0) -> None:
        """StackError for a port of `wanted` that another process holds; within `grace` s a
        port is given time to be released (a process of ours that just died)."""
        cfg = self.config
        deadline = time.monotonic() + grace
        for name, what, port, env in self._ports():
            while (name in wanted and not _port_free(cfg.host, port)
                   and time.monotonic() < deadline):
                time.sleep(0.5)
            if name in wanted and not _port_free(cfg.host, port):
                raise StackError(
                    f"Port {port} on {cfg.host} (for {what}) is already in use by another "
                    f"process. Stop that process or choose another port with {env}=... "
                    f"(or the matching `fraudctl local up` option).")

    def _java(self, dist: KafkaDistribution, name: str, main: str, *args: str,
              heap: str | None = None, options: tuple[str, ...] = (),
              classpath: str | None = None) -> list[str]:
        return ["java", f"-Xmx{heap or self.config.heap}", "-Xms128m", "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
                f"-Dfraud.logfile={self.run_dir / (name + '.log')}",
                f"-Dfraud.rundir={self.run_dir}", *options,
                "-cp", classpath or dist.classpath, main, *args]

    def _properties(self, name: str, lines: list[str]) -> Path:
        """A server's properties file in the run directory, one setting per line."""
        path = self.run_dir / name
        path.write_text("\n".join([*lines, ""]))
        return path

    def _spawn(self, name: str, cmd: list[str]) -> int:
        out = (self.run_dir / f"{name}.out").open("ab")
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        return proc.pid

    def _start_kafka(self, dist: KafkaDistribution) -> int:
        cfg = self.config
        data = self.run_dir / "kafka-data"
        props = self._properties("server.properties", [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@{cfg.host}:{cfg.controller_port}",
            f"listeners=PLAINTEXT://{cfg.host}:{cfg.kafka_port},"
            f"CONTROLLER://{cfg.host}:{cfg.controller_port}",
            f"advertised.listeners=PLAINTEXT://{cfg.host}:{cfg.kafka_port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={data}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=5",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=5",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
        ])
        if not (data / "meta.properties").exists():
            cmd = self._java(dist, "kafka-storage", "kafka.tools.StorageTool", "format",
                             f"--cluster-id={new_cluster_id()}", f"--config={props}",
                             "--ignore-formatted", *format_features())
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise StackError("Formatting the KRaft log directory failed:\n"
                                 + (result.stdout + result.stderr)[-2000:])
        return self._spawn("kafka", self._java(dist, "kafka", "kafka.Kafka", str(props)))

    def _start_connect(self, dist: KafkaDistribution) -> int:
        cfg = self.config
        props = self._properties("connect-distributed.properties", [
            f"bootstrap.servers={cfg.bootstrap_servers}",
            "group.id=fraud-local-connect",
            "key.converter=org.apache.kafka.connect.storage.StringConverter",
            "value.converter=org.apache.kafka.connect.storage.StringConverter",
            "config.storage.topic=_connect-configs",
            "offset.storage.topic=_connect-offsets",
            "status.storage.topic=_connect-status",
            "config.storage.replication.factor=1",
            "offset.storage.replication.factor=1",
            "offset.storage.partitions=5",
            "status.storage.replication.factor=1",
            "status.storage.partitions=1",
            "offset.flush.interval.ms=1000",
            # source connectors write their records and offsets in one transaction (KIP-618)
            "exactly.once.source.support=" + ("enabled" if cfg.exactly_once else "disabled"),
            f"listeners=http://{cfg.host}:{cfg.connect_port}",
            f"rest.advertised.host.name={cfg.host}",
            f"rest.advertised.port={cfg.connect_port}",
            f"plugin.path={dist.plugins}",
        ])
        cmd = self._java(dist, "connect", "org.apache.kafka.connect.cli.ConnectDistributed",
                         str(props))
        return self._spawn("connect", cmd)

    def _start_registry(self, dist: KafkaDistribution) -> int:
        cfg = self.config
        props = self._properties("schema-registry.properties", [
            f"listeners={cfg.schema_registry_url}",
            f"kafkastore.bootstrap.servers=PLAINTEXT://{cfg.bootstrap_servers}",
            "kafkastore.topic=_schemas",
            "kafkastore.topic.replication.factor=1",
            # one registry per cluster: it elects itself leader at once
            f"schema.registry.group.id={KSQLDB_SERVICE_ID}schema_registry",
        ])
        return self._spawn("registry", self._registry_command(dist, props))

    def _registry_command(self, dist: KafkaDistribution, props: Path,
                          options: tuple[str, ...] = ()) -> list[str]:
        return self._java(dist, "registry",
                          "io.confluent.kafka.schemaregistry.rest.SchemaRegistryMain",
                          str(props), options=(
                              f"-Dlog4j.configuration={REGISTRY_LOG4J_CONFIG.as_uri()}",
                              *options))

    def _start_ksqldb(self, dist: KafkaDistribution) -> int:
        cfg = self.config
        props = self._properties("ksqldb-server.properties", [
            f"listeners=http://{cfg.host}:{cfg.ksqldb_port}",
            f"bootstrap.servers={cfg.bootstrap_servers}",
            f"ksql.service.id={KSQLDB_SERVICE_ID}",
            f"ksql.streams.state.dir={self.run_dir / 'ksqldb-state'}",
            "ksql.internal.topic.replicas=1",
            "ksql.streams.replication.factor=1",
            "ksql.sink.replicas=1",
            # new queries read their input from the start, as in docker-compose.yml
            "ksql.streams.auto.offset.reset=earliest",
            # the default of queries created without the environments' settings (which set
            # the guarantee and a commit interval per query: docs/OPERATIONS.md)
            "ksql.streams.processing.guarantee="
            + ("exactly_once_v2" if cfg.exactly_once else "at_least_once"),
            "ksql.streams.commit.interval.ms=1000",
            # batched fetches and ksqlDB's own JSON_SR reader: server settings, so they need
            # no query recreated (docs/OPERATIONS.md, "Query settings")
            *(f"{key}={value}" for key, value in QUERY_SERVER_SETTINGS.items()),
            "ksql.logging.processing.topic.replication.factor=1",
            "ksql.logging.processing.topic.auto.create=true",
            "ksql.logging.processing.stream.auto.create=true",
            "ksql.logging.processing.rows.include=true",
            f"ksql.connect.url={cfg.connect_url}",
            f"ksql.schema.registry.url={cfg.schema_registry_url}",
        ])
        options = (*KSQLDB_JVM_OPTIONS, f"-Dlog4j.configuration={KSQLDB_LOG4J_CONFIG.as_uri()}",
                   f"-Dfraud.bootstrap={cfg.bootstrap_servers}",
                   f"-Dfraud.processing.topic={KSQLDB_SERVICE_ID}ksql_processing_log")
        cmd = self._java(dist, "ksqldb", "io.confluent.ksql.rest.server.KsqlServerMain",
                         str(props), heap=cfg.ksqldb_heap, options=options)
        return self._spawn("ksqldb", cmd)

    def _wait(self, name: str, pid: int, deadline: float, log,
              started: float | None = None) -> None:
        ready = self._ready_check(name)
        started = started or time.monotonic()

        def up() -> bool:
            if not _pid_alive(pid):
                log_file, out_file = self.run_dir / f"{name}.log", self.run_dir / f"{name}.out"
                raise StackError(
                    f"The local {name} process (pid {pid}) exited during start-up. "
                    f"Last lines of {log_file}:\n{_tail(log_file)}\n{_tail(out_file)}")
            return ready()

        wait_until(up, max(0.0, deadline - time.monotonic()), timed_out=lambda: StackError(
            f"The local {name} (pid {pid}) did not become ready in time; see "
            f"{self.run_dir / (name + '.log')}"))
        log(f"{name} ready (pid {pid}) after {time.monotonic() - started:.1f}s")

    # ----- reset -------------------------------------------------------------------------------
    def reset(self, log=print) -> None:
        """Stop the stack and delete its run directory: topics, ksqlDB state, logs."""
        self.down(log=log)
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir)
            log(f"deleted {self.run_dir}")

    # ----- down --------------------------------------------------------------------------------
    def down(self, timeout: float = 30.0, log=print) -> list[int]:
        """Stop the processes this stack started (ksqlDB and Connect first), return the pids
        stopped."""
        servers = [name for name in reversed(self.processes) if kind(name) != "kafka"]
        stopped = [pid for name in servers
                   if (pid := self.stop_process(name, timeout=timeout, log=log)) is not None]
        # brokers all at once: a broker stopped after its quorum's majority has no controller
        # to hand its partitions to and waits out its shutdown timeout
        brokers = [name for name in self.processes if kind(name) == "kafka"]
        with ThreadPoolExecutor(max_workers=len(brokers)) as pool:
            stopped += [pid for pid in pool.map(
                lambda name: self.stop_process(name, timeout=timeout, log=log), brokers)
                if pid is not None]
        self.state_file.unlink(missing_ok=True)
        return stopped

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30.0,
                     log=print) -> int | None:
        """Send `sig` to one process of this stack and wait until it is gone (SIGKILL after
        `timeout`); returns its pid, or None if it was not running. The state file keeps its
        pid, so `status` reports it stopped and `up` starts it alone again."""
        pid = self.recorded_pids().get(name)
        if pid is None or not _pid_alive(pid) or not _pid_belongs_to(pid, self.run_dir):
            return None
        os.kill(pid, sig)
        end = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < end:
            time.sleep(0.1)
        if _pid_alive(pid):
            log(f"{name} (pid {pid}) ignored signal {sig} for {timeout:.0f}s; killing it")
            os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.1)
        log(f"stopped {name} (pid {pid})")
        return pid
