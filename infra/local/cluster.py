"""The secured local cluster (`fraudctl local up --cluster`): three KRaft brokers (replication 3,
`min.insync.replicas` 2), two ksqlDB servers sharing one service id and a Connect worker, on
127.0.0.1, secured as a production cluster is.

- Clients reach the brokers over SASL_SSL with SCRAM-SHA-512; brokers talk to each other and to
  their controllers over SASL_SSL with PLAIN, as the principal `broker`.
- The StandardAuthorizer allows nothing that no ACL grants (`allow.everyone.if.no.acl.found`
  false). `broker` and `operator` are super users (the operator manages ACLs, which takes
  Alter on the cluster, the right to grant anything); every other component runs with the
  ACLs it is granted: the servers' own at start, the pipeline's by `fraudctl apply`.
- ksqlDB, Connect and the Schema Registry answer HTTPS (the stack's CA, `ca.pem`) with basic
  authentication; ksqlDB's servers reach the registry as the user `ksqldb`.
- Each principal's credentials are in `credentials/<principal>.json` of the run directory
  (mode 0600), and nowhere else.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import requests

from core.errors import StackError
from core.kafka import QUIET_LOGGER, KafkaConnection, admin
from infra.local.certificates import TlsFiles, ensure_tls
from infra.local.jars import KafkaDistribution, cache_root
from infra.local.stack import (
    KSQLDB_JVM_OPTIONS,
    KSQLDB_LOG4J_CONFIG,
    QUERY_SERVER_SETTINGS,
    LocalStack,
    _env_int,
    _port_free,
    format_features,
    new_cluster_id,
)
from infra.topology.acls import connect_worker_acls, ksqldb_server_acls, schema_registry_acls

BROKERS = 3
KSQLDB_SERVERS = 2
SERVICE_ID = "fraud_cluster_"
CONNECT_GROUP = "fraud-cluster-connect"
CONNECT_TOPICS = ("_connect-cluster-configs", "_connect-cluster-offsets",
                  "_connect-cluster-status")
#: one Kafka principal per component; `broker` is the brokers' own (inter-broker, controller)
PRINCIPALS = ("operator", "connect", "ksqldb", "sidecar", "replayer", "monitor",
              "registry")
#: who may log in to the REST servers (ksqlDB's monitoring queries run as `monitor`)
REST_USERS = {"ksqldb": ("operator", "monitor"), "connect": ("operator",),
              "registry": ("operator", "ksqldb", "sidecar", "monitor")}
REGISTRY_TOPIC = "_schemas"
REGISTRY_GROUP = f"{SERVICE_ID}schema_registry"
SCRAM = "SCRAM-SHA-512"


@dataclass
class ClusterConfig:
    """Where the cluster runs; its ports count up from `base_port` (FRAUD_CLUSTER_BASE_PORT)."""

    run_dir: Path = field(default_factory=lambda: cache_root() / "run" / "cluster")
    host: str = "127.0.0.1"
    base_port: int = field(default_factory=lambda: _env_int("FRAUD_CLUSTER_BASE_PORT", 19000))
    heap: str = "512m"
    ksqldb_heap: str = "1g"
    exactly_once: bool = True

    def kafka_port(self, node: int) -> int:
        return self.base_port + 10 + node

    def internal_port(self, node: int) -> int:
        return self.base_port + 20 + node

    def controller_port(self, node: int) -> int:
        return self.base_port + 30 + node

    @property
    def connect_port(self) -> int:
        return self.base_port + 83

    @property
    def registry_port(self) -> int:
        return self.base_port + 81

    @property
    def schema_registry_url(self) -> str:
        return f"https://{self.host}:{self.registry_port}"

    def ksqldb_port(self, server: int) -> int:
        return self.base_port + 87 + server

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{self.host}:{self.kafka_port(n)}" for n in range(1, BROKERS + 1))

    @property
    def connect_url(self) -> str:
        return f"https://{self.host}:{self.connect_port}"

    @property
    def ksqldb_urls(self) -> list[str]:
        return [f"https://{self.host}:{self.ksqldb_port(s)}" for s in range(1, KSQLDB_SERVERS + 1)]


def _number(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def _jaas(module: str, **options: str) -> str:
    pairs = " ".join(f'{k}="{v}"' for k, v in options.items())
    return f"{module} required {pairs};"


SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"


class LocalCluster(LocalStack):
    """The secured three-broker cluster described by a ClusterConfig."""

    processes = (*(f"kafka-{n}" for n in range(1, BROKERS + 1)), "connect", "registry",
                 *(f"ksqldb-{s}" for s in range(1, KSQLDB_SERVERS + 1)))

    def __init__(self, config: ClusterConfig | None = None,
                 distribution: KafkaDistribution | None = None) -> None:
        super().__init__(distribution=distribution)
        self.config = config or ClusterConfig()  # type: ignore[assignment]
        self.run_dir = self.config.run_dir

    # ----- credentials and certificates -----------------------------------------------------
    @property
    def credentials_dir(self) -> Path:
        return self.run_dir / "credentials"

    def credentials_file(self, principal: str) -> Path:
        return self.credentials_dir / f"{principal}.json"

    def password(self, principal: str) -> str:
        """The principal's password, made up on first use and kept in its 0600 file."""
        path = self.credentials_file(principal)
        try:
            return json.loads(path.read_text())["password"]
        except (OSError, ValueError, KeyError):
            pass
        self.credentials_dir.mkdir(parents=True, exist_ok=True)
        self.credentials_dir.chmod(0o700)
        made = secrets.token_urlsafe(18)
        path.write_text(json.dumps({"username": principal, "password": made}) + "\n")
        path.chmod(0o600)
        return made

    @cached_property
    def tls(self) -> TlsFiles:
        """The CA and certificate (made on first use; read once per instance)."""
        return ensure_tls(self.run_dir / "tls")

    def kafka_connection(self, principal: str = "operator") -> KafkaConnection:
        """How `principal` reaches the brokers (librdkafka settings)."""
        return KafkaConnection(self.config.bootstrap_servers, {
            "security.protocol": "SASL_SSL", "sasl.mechanism": SCRAM,
            "sasl.username": principal, "sasl.password": self.password(principal),
            "ssl.ca.location": str(self.tls.ca_pem)})

    def _java_client(self, principal: str, prefix: str = "") -> dict[str, str]:
        """A JVM client's settings for `principal` (Connect's and ksqlDB's own clients)."""
        return {f"{prefix}security.protocol": "SASL_SSL", f"{prefix}sasl.mechanism": SCRAM,
                f"{prefix}sasl.jaas.config": _jaas(SCRAM_MODULE, username=principal,
                                                   password=self.password(principal)),
                **self.tls.java_settings(prefix, keystore=False)}

    def _write_private(self, name: str, lines: list[str] | dict[str, str]) -> Path:
        """A file of the run directory only this user reads (it holds passwords)."""
        if isinstance(lines, dict):
            lines = [f"{k}={v}" for k, v in lines.items()]
        path = self.run_dir / name
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text("\n".join([*lines, ""]))
        return path

    def _prepare(self, log) -> None:
        super()._prepare(log)
        self.run_dir.chmod(0o700)
        for principal in ("broker", *PRINCIPALS):
            self.password(principal)
        self.__dict__.pop("tls", None)  # made afresh if `reset` deleted the run directory
        if not (self.run_dir / "tls" / "ca.pem").exists():
            log("making the cluster's certificate authority and server certificate (once)")
        self.tls  # noqa: B018 - made here, before the servers that read it

    # ----- endpoints and health -------------------------------------------------------------
    def endpoints(self, ksqldb: bool | None = None) -> dict[str, Any]:
        if ksqldb is None:
            ksqldb = any(name.startswith("ksqldb") for name in self.recorded_pids())
        urls = self.config.ksqldb_urls if ksqldb else []
        return {"bootstrap_servers": self.config.bootstrap_servers,
                "connect_url": self.config.connect_url,
                "ksqldb_url": urls[0] if urls else None, "ksqldb_urls": urls,
                "schema_registry_url": self.config.schema_registry_url if urls else None,
                "ca_file": str(self.tls.ca_pem),
                "kafka_security": {"security.protocol": "SASL_SSL", "sasl.mechanism": SCRAM},
                "credentials": {p: str(self.credentials_file(p)) for p in PRINCIPALS}}

    def _ready_check(self, name: str):
        return {"kafka": lambda: self._broker_ready(_number(name)),
                "connect": self.connect_ready,
                "registry": self.registry_ready,
                "ksqldb": lambda: self.ksqldb_ready(self.config.ksqldb_urls[_number(name) - 1]),
                }[name.split("-")[0]]

    def _broker_ready(self, node: int) -> bool:
        if _port_free(self.config.host, self.config.kafka_port(node)):
            return False
        one = KafkaConnection(f"{self.config.host}:{self.config.kafka_port(node)}",
                              self.kafka_connection().security)
        client = admin(one, {"socket.connection.setup.timeout.ms": 1000,
                             "logger": QUIET_LOGGER})
        try:
            metadata = client.list_topics(timeout=2)
        except Exception:
            return False
        return any(b.id == node for b in metadata.brokers.values())

    def _rest_get(self, url: str, user: str = "operator") -> requests.Response | None:
        try:
            return requests.get(url, timeout=2, verify=str(self.tls.ca_pem),
                                auth=(user, self.password(user)))
        except requests.RequestException:
            return None

    def _ports(self) -> list[tuple[str, str, int, str]]:
        cfg, var = self.config, "FRAUD_CLUSTER_BASE_PORT"
        ports = []
        for n in range(1, BROKERS + 1):
            ports += [(f"kafka-{n}", f"broker {n}", cfg.kafka_port(n), var),
                      (f"kafka-{n}", f"broker {n} (inter-broker)", cfg.internal_port(n), var),
                      (f"kafka-{n}", f"controller {n}", cfg.controller_port(n), var)]
        ports.append(("connect", "Kafka Connect", cfg.connect_port, var))
        ports.append(("registry", "Schema Registry", cfg.registry_port, var))
        ports += [(f"ksqldb-{s}", f"ksqlDB server {s}", cfg.ksqldb_port(s), var)
                  for s in range(1, KSQLDB_SERVERS + 1)]
        return ports

    # ----- start ------------------------------------------------------------------------------
    def _start(self, name: str, dist: KafkaDistribution,
               confluent: dict[str, KafkaDistribution]) -> int:
        what = name.split("-")[0]
        if what == "kafka":
            return self._start_broker(_number(name), dist)
        if what == "connect":
            return self._start_connect(dist)
        if what == "registry":
            return self._start_registry(confluent["registry"])
        return self._start_ksqldb_server(_number(name), confluent.get("ksqldb"))

    def _broker_properties(self, node: int) -> dict[str, str]:
        cfg, host = self.config, self.config.host
        internal = _jaas(PLAIN_MODULE, username="broker", password=self.password("broker"),
                         user_broker=self.password("broker"))
        voters = ",".join(f"{n}@{host}:{cfg.controller_port(n)}" for n in range(1, BROKERS + 1))
        return {
            "process.roles": "broker,controller", "node.id": str(node),
            "controller.quorum.voters": voters,
            "listeners": f"CLIENT://{host}:{cfg.kafka_port(node)},"
                         f"INTERNAL://{host}:{cfg.internal_port(node)},"
                         f"CONTROLLER://{host}:{cfg.controller_port(node)}",
            "advertised.listeners": f"CLIENT://{host}:{cfg.kafka_port(node)},"
                                    f"INTERNAL://{host}:{cfg.internal_port(node)}",
            "controller.listener.names": "CONTROLLER", "inter.broker.listener.name": "INTERNAL",
            "listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SASL_SSL,"
                                              "CONTROLLER:SASL_SSL",
            "listener.name.client.sasl.enabled.mechanisms": SCRAM,
            "listener.name.client.scram-sha-512.sasl.jaas.config": f"{SCRAM_MODULE} required;",
            "listener.name.internal.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.internal.plain.sasl.jaas.config": internal,
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": internal,
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            **self.tls.java_settings(),
            "authorizer.class.name":
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": "User:broker;User:operator",
            "log.dirs": str(self.run_dir / f"kafka-{node}-data"),
            "num.partitions": "3", "default.replication.factor": "3",
            "min.insync.replicas": "2",
            "offsets.topic.replication.factor": "3", "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "3",
            "transaction.state.log.min.isr": "2", "transaction.state.log.num.partitions": "5",
            "share.coordinator.state.topic.replication.factor": "3",
            "share.coordinator.state.topic.min.isr": "2",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
        }

    def _cluster_id(self) -> str:
        path = self.run_dir / "cluster-id"
        if not path.exists():
            path.write_text(new_cluster_id() + "\n")
        return path.read_text().strip()

    def _start_broker(self, node: int, dist: KafkaDistribution) -> int:
        name = f"kafka-{node}"
        props = self._write_private(f"{name}.properties", self._broker_properties(node))
        if not (self.run_dir / f"{name}-data" / "meta.properties").exists():
            scram = [arg for p in PRINCIPALS for arg in (
                "--add-scram", f"{SCRAM}=[name={p},password={self.password(p)}]")]
            cmd = self._java(dist, f"{name}-storage", "kafka.tools.StorageTool", "format",
                             f"--cluster-id={self._cluster_id()}", f"--config={props}",
                             "--ignore-formatted", *format_features(), *scram)
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise StackError(f"Formatting {name}'s KRaft log directory failed:\n"
                                 + self._masked(result.stdout + result.stderr)[-2000:])
        return self._spawn(name, self._java(dist, name, "kafka.Kafka", str(props)))

    def _masked(self, text: str) -> str:
        for principal in ("broker", *PRINCIPALS):
            text = text.replace(self.password(principal), "***")
        return text.replace(self.tls.password, "***")

    def _brokers_ready(self, log) -> None:
        """Grant ksqlDB's and Connect's own ACLs (what the servers need to start)."""
        from infra.kafka_acl_client import create_acls

        wanted = [*ksqldb_server_acls("ksqldb", SERVICE_ID),
                  *connect_worker_acls("connect", CONNECT_GROUP, CONNECT_TOPICS),
                  *schema_registry_acls("registry", REGISTRY_GROUP, REGISTRY_TOPIC)]
        created = create_acls(self.kafka_connection(), wanted)
        if created:
            log(f"granted {created} ACL(s) to the ksqlDB, Connect and Schema Registry "
                "principals")

    def _jaas_file(self, name: str, section: str, module: str, users: Path) -> Path:
        return self._write_private(name, [f"{section} {{", f'  {module} required',
                                          f'  file="{users}";', "};"])

    def _start_connect(self, dist: KafkaDistribution) -> int:
        cfg = self.config
        users = self._rest_users("connect")
        jaas = self._jaas_file(
            "connect-jaas.conf", "KafkaConnect",
            "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule", users)
        client = self._java_client("connect")
        props = self._write_private("connect-distributed.properties", {
            "bootstrap.servers": cfg.bootstrap_servers, **client,
            **{k: v for prefix in ("producer.", "consumer.", "admin.")
               for k, v in self._java_client("connect", prefix).items()},
            "group.id": CONNECT_GROUP,
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            "config.storage.topic": CONNECT_TOPICS[0], "offset.storage.topic": CONNECT_TOPICS[1],
            "status.storage.topic": CONNECT_TOPICS[2],
            "config.storage.replication.factor": "3", "offset.storage.replication.factor": "3",
            "offset.storage.partitions": "5", "status.storage.replication.factor": "3",
            "status.storage.partitions": "1", "offset.flush.interval.ms": "1000",
            "exactly.once.source.support": "enabled" if cfg.exactly_once else "disabled",
            "listeners": f"https://{cfg.host}:{cfg.connect_port}",
            **self.tls.java_settings("listeners.https."),
            "rest.advertised.host.name": cfg.host, "rest.advertised.port": str(cfg.connect_port),
            "rest.advertised.listener": "https",
            "rest.extension.classes":
                "org.apache.kafka.connect.rest.basic.auth.extension."
                "BasicAuthSecurityRestExtension",
            "plugin.path": str(dist.plugins),
        })
        cmd = self._java(dist, "connect", "org.apache.kafka.connect.cli.ConnectDistributed",
                         str(props), options=(f"-Djava.security.auth.login.config={jaas}",),
                         classpath=f"{dist.classpath}:{dist.extensions / '*'}")
        return self._spawn("connect", cmd)

    def _rest_users(self, server: str, roles: str = "") -> Path:
        """The password file of a REST server's basic authentication (`user: password[,role]`)."""
        return self._write_private(f"{server}-users.properties", [
            f"{u}: {self.password(u)}{roles}" for u in REST_USERS[server]])

    def _start_registry(self, dist: KafkaDistribution) -> int:
        """The registry on HTTPS with basic authentication, storing its schemas in the cluster
        as the principal `registry` (SASL_SSL)."""
        cfg = self.config
        jaas = self._jaas_file("registry-jaas.conf", "SchemaRegistry-Props",
                               "org.eclipse.jetty.jaas.spi.PropertyFileLoginModule",
                               self._rest_users("registry", ",user"))
        client = self._java_client("registry", "kafkastore.")
        props = self._write_private("schema-registry.properties", {
            "listeners": cfg.schema_registry_url, **self.tls.java_settings(),
            "authentication.method": "BASIC", "authentication.realm": "SchemaRegistry-Props",
            "authentication.roles": "user",
            "inter.instance.protocol": "https",  # its leader is reached over HTTPS too
            "kafkastore.bootstrap.servers": ",".join(
                f"SASL_SSL://{cfg.host}:{cfg.kafka_port(n)}" for n in range(1, BROKERS + 1)),
            **client, "kafkastore.topic": REGISTRY_TOPIC,
            "kafkastore.topic.replication.factor": "3",
            "schema.registry.group.id": REGISTRY_GROUP,
        })
        return self._spawn("registry", self._registry_command(
            dist, props, (f"-Djava.security.auth.login.config={jaas}",)))

    def _ksqldb_log4j(self) -> Path:
        """ksqlDB's log4j file with the processing log's producer secured as ksqlDB."""
        appender = "log4j.appender.processing."
        lines = [KSQLDB_LOG4J_CONFIG.read_text(),
                 f"{appender}SecurityProtocol=SASL_SSL", f"{appender}SaslMechanism={SCRAM}",
                 f"{appender}ClientJaasConf=" + _jaas(SCRAM_MODULE, username="ksqldb",
                                                      password=self.password("ksqldb")),
                 f"{appender}SslTruststoreLocation={self.tls.truststore}",
                 f"{appender}SslTruststorePassword={self.tls.password}"]
        return self._write_private("ksqldb-log4j.properties", lines)

    def _start_ksqldb_server(self, server: int, dist: KafkaDistribution | None) -> int:
        cfg, name = self.config, f"ksqldb-{server}"
        assert dist is not None
        url = cfg.ksqldb_urls[server - 1]
        users = self._rest_users("ksqldb", ",user")
        jaas = self._jaas_file("ksqldb-jaas.conf", "KsqlServer-Props",
                               "org.eclipse.jetty.jaas.spi.PropertyFileLoginModule", users)
        guarantee = "exactly_once_v2" if cfg.exactly_once else "at_least_once"
        props = self._write_private(f"{name}.properties", {
            "listeners": url, "ksql.advertised.listener": url,
            **self.tls.java_settings(),
            "authentication.method": "BASIC", "authentication.realm": "KsqlServer-Props",
            "authentication.roles": "user",
            "bootstrap.servers": cfg.bootstrap_servers, **self._java_client("ksqldb"),
            "ksql.service.id": SERVICE_ID,
            "ksql.streams.state.dir": str(self.run_dir / f"{name}-state"),
            "ksql.internal.topic.replicas": "3", "ksql.internal.topic.min.insync.replicas": "2",
            "ksql.streams.replication.factor": "3", "ksql.sink.replicas": "3",
            "ksql.streams.num.standby.replicas": "1",
            "ksql.query.pull.enable.standby.reads": "true",
            "ksql.streams.auto.offset.reset": "earliest",
            "ksql.streams.processing.guarantee": guarantee,
            "ksql.streams.commit.interval.ms": "1000", **QUERY_SERVER_SETTINGS,
            "ksql.logging.processing.topic.replication.factor": "3",
            "ksql.logging.processing.topic.auto.create": "true",
            "ksql.logging.processing.stream.auto.create": "true",
            "ksql.logging.processing.rows.include": "true",
            "ksql.schema.registry.url": cfg.schema_registry_url,
            "ksql.schema.registry.basic.auth.credentials.source": "USER_INFO",
            "ksql.schema.registry.basic.auth.user.info": f"ksqldb:{self.password('ksqldb')}",
            **self.tls.java_settings("ksql.schema.registry.", keystore=False),
        })
        options = (*KSQLDB_JVM_OPTIONS, f"-Dlog4j.configuration={self._ksqldb_log4j().as_uri()}",
                   f"-Dfraud.bootstrap={cfg.bootstrap_servers}",
                   f"-Dfraud.processing.topic={SERVICE_ID}ksql_processing_log",
                   f"-Djava.security.auth.login.config={jaas}")
        cmd = self._java(dist, name, "io.confluent.ksql.rest.server.KsqlServerMain",
                         str(props), heap=cfg.ksqldb_heap, options=options)
        return self._spawn(name, cmd)


def free_base_port(host: str = "127.0.0.1") -> int:
    """A base port whose every cluster port is free (tests run a cluster beside others)."""
    import random

    for _ in range(200):
        base = random.randrange(10_000, 29_000, 100)
        config = ClusterConfig(run_dir=Path("/nonexistent"), base_port=base)
        ports = [port for *_, port, _var in LocalCluster(config)._ports()]
        if all(_port_free(host, port) for port in ports):
            return base
    raise StackError("no free range of ports for a local cluster")
