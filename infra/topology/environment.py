"""Per-environment settings (`infra/environments/<env>.yaml`) and secrets from the process env.

An environment file names the servers, the name prefix that marks owned objects, and the
variables templates read with `var()`. Strings may contain `${NAME}` placeholders filled from the
process environment: those are secrets, masked wherever text is printed. KSQLDB_URL, CONNECT_URL,
BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL override the file. `local_stack: true` finds a running
`fraudctl local` stack.

`local_cluster: true` finds a running `fraudctl local up --cluster` (TLS, SASL, basic auth).

Kafka clients take `servers.kafka.security` (librdkafka settings) and, per component, the user
and password of `servers.kafka.principals.<component>`: `env.kafka("sidecar")`.

`delivery_guarantee` (exactly_once, the default, or at_least_once) is one choice for the whole
pipeline: ksqlDB's processing guarantee for every query `apply` creates, the source connectors'
`exactly.once.support`, the sidecar's transactions and the isolation level of our readers.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError
from core.kafka import KafkaConnection
from infra.rest import RestConfig
from infra.topology import env_schema

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
PREFIX_PATTERN = re.compile(r"^[a-z][a-z0-9_]*_$")


EXACTLY_ONCE, AT_LEAST_ONCE = "exactly_once", "at_least_once"
GUARANTEES = (EXACTLY_ONCE, AT_LEAST_ONCE)
#: the ksqlDB (Kafka Streams) query property each guarantee sets
PROCESSING_GUARANTEE = "ksql.streams.processing.guarantee"
STREAMS_GUARANTEE = {EXACTLY_ONCE: "exactly_once_v2", AT_LEAST_ONCE: "at_least_once"}

#: the principal of the topology engine (topics, ACLs) and of components the file names none for
OPERATOR = "operator"
MIN_SECRET_LENGTH = 6
#: secrets a `local_stack` environment makes up for itself when the process environment lacks them
LOCAL_SECRETS = frozenset({"FRAUD_USER_KEY_SALT"})


class Secrets:
    """Known secret values; `mask()` hides every whole occurrence of them in any text.

    A whole occurrence is one not inside a longer run of letters and digits, so masking never
    cuts words apart (which, for a short secret, would reveal it). Empty secrets, and secrets
    too short to be masked without masking ordinary text, are refused."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str, name: str = "a secret") -> str:
        if not value:
            raise ConfigError(f"{name} is set but empty; give it the real value")
        if len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"{name} is {len(value)} character(s) long; secrets need at least "
                f"{MIN_SECRET_LENGTH}, because a shorter one cannot be hidden in logs and "
                "errors without hiding ordinary text too (which would give it away)")
        self.values.add(value)
        self._pattern = None
        return value

    def mask(self, text: str) -> str:
        if not self.values:
            return text
        if self._pattern is None:
            alternatives = "|".join(re.escape(v) for v in sorted(self.values, key=len,
                                                                 reverse=True))
            self._pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")
        return self._pattern.sub("***", text)


@dataclass
class Environment:
    """One deployment target."""

    name: str
    path: Path
    prefix: str
    variables: dict[str, Any]
    ksqldb: RestConfig | None
    connect: RestConfig | None
    bootstrap_servers: str | None
    #: the Schema Registry of the topics' schemas (`servers.schema_registry`)
    schema_registry: RestConfig | None = None
    #: component -> (user, password) it logs in to the registry as
    registry_principals: dict[str, tuple[str, str]] = field(default_factory=dict)
    secrets: Secrets = field(default_factory=Secrets)
    skipped: dict[str, str] = field(default_factory=dict)  # server kind -> why it is absent
    local_stack: bool = False  # the servers are `fraudctl local`'s processes on this machine
    environ: dict[str, str] = field(default_factory=dict)  # where `secret()` looks values up
    #: Kafka Streams settings for the queries `apply` creates (`ksql_query_properties:`, with
    #: the processing guarantee that `delivery_guarantee` implies unless set there)
    query_properties: dict[str, str] = field(default_factory=dict)
    delivery_guarantee: str = EXACTLY_ONCE
    #: librdkafka security settings shared by every client (no credentials)
    kafka_security: dict[str, str] = field(default_factory=dict)
    #: component -> (user, password) of its Kafka principal
    kafka_principals: dict[str, tuple[str, str]] = field(default_factory=dict)
    local_cluster: bool = False
    #: plan and apply the Kafka ACLs the topology implies (`manage_acls: true`)
    manage_acls: bool = False
    #: settings over every query's own (`bench --set`): what a benchmark tries
    query_overrides: dict[str, str] = field(default_factory=dict)

    def derived(self, prefix: str, topic_suffix: str = "", **variables: Any) -> Environment:
        """A copy that owns other objects: its own prefix, every topic of `vars.topics` with
        `topic_suffix`, and `variables` over the file's (the benchmark's throw-away run)."""
        topics = {k: f"{v}{topic_suffix}" for k, v in
                  (self.variables.get("topics") or {}).items()}
        return dataclasses.replace(self, prefix=prefix, variables={
            **self.variables, "topics": topics, **variables})

    def kafka(self, component: str = OPERATOR) -> KafkaConnection:
        """How `component` (operator, sidecar, replayer, monitor) reaches the brokers: the
        bootstrap servers, the shared security settings and that component's principal (the
        operator's where the environment names none for it)."""
        if not self.bootstrap_servers:
            raise ConfigError(f"environment '{self.name}' has no Kafka bootstrap servers "
                              f"(servers.kafka.bootstrap_servers in {self.path}, or "
                              "BOOTSTRAP_SERVERS)")
        security = dict(self.kafka_security)
        user = self.kafka_principals.get(component) or self.kafka_principals.get(OPERATOR)
        if user:
            security |= {"sasl.username": user[0], "sasl.password": user[1]}
        return KafkaConnection(self.bootstrap_servers, security)

    def registry_user(self, component: str) -> tuple[str, str] | None:
        """Who `component` logs in to the Schema Registry as: its own principal, else the
        server's `basic_auth`, else nobody."""
        if component in self.registry_principals:
            return self.registry_principals[component]
        return self.schema_registry.basic_auth if self.schema_registry else None

    def choose_guarantee(self, guarantee: str) -> None:
        """Run with `guarantee` instead of the file's (a benchmark comparing the two)."""
        self.delivery_guarantee = guarantee
        self.query_properties[PROCESSING_GUARANTEE] = STREAMS_GUARANTEE[guarantee]

    @property
    def exactly_once(self) -> bool:
        return self.delivery_guarantee == EXACTLY_ONCE

    @property
    def isolation_level(self) -> str:
        """What our readers of the pipeline's topics use: an aborted transaction's records are
        never counted under exactly-once."""
        return "read_committed" if self.exactly_once else "read_uncommitted"

    @property
    def value_format(self) -> str:
        """The value format of the topics the pipeline writes between its parts (features,
        scored, flagged, labels, monitoring counts and tables): JSON_SR (Schema Registry's
        framing, JSON inside) or JSON (`vars.value_format`; `vars.sidecar_value_format`, its
        name before it covered ksqlDB's own topics, is still read)."""
        found = self.variables.get("value_format", self.variables.get("sidecar_value_format"))
        return str(found or "JSON")

    @property
    def ksql_prefix(self) -> str:
        return self.prefix.upper()

    def ksql_name(self, logical: str) -> str:
        return self.ksql_prefix + logical.upper()

    def connector_name(self, logical: str) -> str:
        return self.prefix + logical


def environments_dir(project: Path) -> Path:
    return project / "infra" / "environments"


def available(project: Path) -> list[str]:
    return sorted(p.stem for p in environments_dir(project).glob("*.yaml"))


def load_environment(project: Path, name: str, environ: dict[str, str] | None = None,
                     discover_local: bool = True) -> Environment:
    """Read and check `infra/environments/<name>.yaml`; resolve secrets and overrides."""
    environ = dict(os.environ if environ is None else environ)
    path = environments_dir(project) / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no environment '{name}': {path} does not exist "
                          f"(available: {', '.join(available(project)) or 'none'})")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    found = env_schema.problems(raw)  # before secrets are filled in: no value of theirs shows
    if found:
        raise ConfigError(f"{path}: {len(found)} problem(s):\n"
                          + "\n".join(f"  {item}" for item in found))
    secrets = Secrets()
    raw = _resolve(raw, path, environ, secrets)
    prefix = raw.get("prefix")
    if not isinstance(prefix, str) or not PREFIX_PATTERN.match(prefix):
        raise ConfigError(f"{path}: 'prefix' must be lower-case letters, digits and "
                          f"underscores ending in '_' (e.g. fraud_prod_), got {prefix!r}")
    _check_prefix_overlap(project, path, prefix)
    servers = raw.get("servers") or {}
    env = Environment(name=name, path=path, prefix=prefix, variables=raw.get("vars") or {},
                      ksqldb=None, connect=None, bootstrap_servers=None, secrets=secrets,
                      local_stack=bool(servers.get("local_stack")),
                      local_cluster=bool(servers.get("local_cluster")))
    if (env.local_stack or env.local_cluster) and not set(environ) >= LOCAL_SECRETS:
        for name, value in _local_secrets().items():
            environ.setdefault(name, value)
    env.environ = environ
    env.delivery_guarantee = raw.get("delivery_guarantee", EXACTLY_ONCE)
    env.manage_acls = bool(raw.get("manage_acls", False))
    env.query_properties = {PROCESSING_GUARANTEE: STREAMS_GUARANTEE[env.delivery_guarantee],
                            **{k: str(v) for k, v in
                               (raw.get("ksql_query_properties") or {}).items()}}
    if env.local_stack and discover_local:
        _discover_local(env, servers)
    if env.local_cluster and discover_local:
        _discover_cluster(env, servers)
    kafka = servers.get("kafka") or {}
    env.bootstrap_servers = environ.get("BOOTSTRAP_SERVERS") or kafka.get(
        "bootstrap_servers") or env.bootstrap_servers
    env.kafka_security |= {k: str(v) for k, v in (kafka.get("security") or {}).items()}
    env.kafka_principals |= {component: (user["username"], user["password"])
                             for component, user in (kafka.get("principals") or {}).items()}
    env.connect = _server(path, "connect", servers, environ.get("CONNECT_URL"), env)
    env.ksqldb = _server(path, "ksqldb", servers, environ.get("KSQLDB_URL"), env)
    env.schema_registry = _server(path, "schema_registry", servers,
                                  environ.get("SCHEMA_REGISTRY_URL"), env)
    env.registry_principals = {
        component: (user["username"], user["password"]) for component, user in
        ((servers.get("schema_registry") or {}).get("principals") or {}).items()}
    return env


def _check_prefix_overlap(project: Path, path: Path, prefix: str) -> None:
    """Two environments whose prefixes overlap would own each other's objects on a shared
    cluster (destroy of one would remove the other's): refuse that."""
    for other in sorted(environments_dir(project).glob("*.yaml")):
        if other == path:
            continue
        try:
            other_prefix = (yaml.safe_load(other.read_text()) or {}).get("prefix")
        except (yaml.YAMLError, AttributeError):
            continue  # that file's own problems are reported when it is used
        if not isinstance(other_prefix, str):
            continue
        if other_prefix.startswith(prefix) or prefix.startswith(other_prefix):
            raise ConfigError(
                f"{path}: prefix '{prefix}' overlaps prefix '{other_prefix}' of {other}: "
                "objects of one would count as owned by the other (and `destroy` would remove "
                "them). Give each environment a prefix that does not begin with another's.")


def _resolve(value: Any, path: Path, environ: dict[str, str], secrets: Secrets) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, path, environ, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, path, environ, secrets) for v in value]
    if isinstance(value, str):
        def fill(match: re.Match) -> str:
            name = match.group(1)
            if name not in environ:
                raise ConfigError(f"{path}: secret ${{{name}}} is not set in the process "
                                  f"environment (export {name}=...)")
            return secrets.add(environ[name], f"{path}: secret ${{{name}}}")

        return PLACEHOLDER.sub(fill, value)
    return value


def _server(path: Path, kind: str, servers: dict, override: str | None,
            env: Environment) -> RestConfig | None:
    spec = servers.get(kind)
    if override:
        spec = {**(spec or {}), "url": override}
    if spec is None and kind in env.skipped:
        return None
    if not spec:
        env.skipped[kind] = f"environment '{env.name}' has no {kind} server"
        return None
    if not isinstance(spec, dict) or not spec.get("url"):
        raise ConfigError(f"{path}: servers.{kind} needs a 'url'")
    env.skipped.pop(kind, None)
    auth = spec.get("basic_auth")
    if auth is not None and not (isinstance(auth, dict) and {"username", "password"} <= set(auth)):
        raise ConfigError(f"{path}: servers.{kind}.basic_auth needs username and password")
    return RestConfig(url=spec["url"], timeout=float(spec.get("timeout", 30)),
                      basic_auth=(auth["username"], auth["password"]) if auth else None,
                      ca_bundle=spec.get("ca_bundle"), client_cert=spec.get("client_cert"),
                      client_key=spec.get("client_key"))


def _local_secrets() -> dict[str, str]:
    """Secrets the local stack makes up for itself (a user-key salt), where the process
    environment does not set them: the local stack needs no setup."""
    from infra.local import LocalStack

    return LocalStack().generated_secrets()


def _discover_local(env: Environment, servers: dict) -> None:
    """Fill Kafka, Connect and ksqlDB from a running `fraudctl local up`, if there is one."""
    from infra.local import LocalStack

    state = LocalStack()._read_state()
    if state:
        env.bootstrap_servers = state["bootstrap_servers"]
        servers.setdefault("connect", {"url": state["connect_url"]})
        for kind, variable in (("ksqldb", "KSQLDB_URL"),
                               ("schema_registry", "SCHEMA_REGISTRY_URL")):
            if state.get(f"{kind}_url"):
                servers.setdefault(kind, {"url": state[f"{kind}_url"]})
            elif kind not in servers:
                env.skipped[kind] = ("the local stack runs without ksqlDB and Schema Registry "
                                     f"(see `fraudctl local up`'s output for why), and {variable} "
                                     "is not set")
        return
    for kind, variable in (("connect", "CONNECT_URL"), ("ksqldb", "KSQLDB_URL"),
                           ("schema_registry", "SCHEMA_REGISTRY_URL")):
        if kind not in servers:
            env.skipped[kind] = ("no local stack is running (start it with "
                                 f"`fraudctl local up`, or set {variable})")


def _discover_cluster(env: Environment, servers: dict) -> None:
    """Fill Kafka (with every component's principal), Connect and ksqlDB from a running
    `fraudctl local up --cluster`; the credentials become secrets, masked everywhere."""
    from infra.local.cluster import LocalCluster

    cluster = LocalCluster()
    state = cluster._read_state()
    if not state:
        for kind in ("connect", "ksqldb", "schema_registry"):
            if kind not in servers:
                env.skipped[kind] = ("no local cluster is running (start it with "
                                     "`fraudctl local up --cluster`)")
        return
    env.bootstrap_servers = state["bootstrap_servers"]
    env.kafka_security = {**state["kafka_security"], "ssl.ca.location": state["ca_file"]}
    for component, path in state["credentials"].items():
        try:
            user = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            raise ConfigError(f"the local cluster's credentials of {component} ({path}) "
                              "cannot be read; `fraudctl local reset --cluster` makes new "
                              "ones") from None
        env.kafka_principals[component] = (user["username"], env.secrets.add(
            user["password"], f"the {component} password"))
    operator = env.kafka_principals[OPERATOR]
    rest = {"basic_auth": {"username": operator[0], "password": operator[1]},
            "ca_bundle": state["ca_file"]}
    servers.setdefault("connect", {"url": state["connect_url"], **rest})
    if state.get("ksqldb_url"):
        servers.setdefault("ksqldb", {"url": state["ksqldb_url"], **rest})
    if state.get("schema_registry_url"):  # the sidecar and the monitor log in as themselves
        servers.setdefault("schema_registry", {"url": state["schema_registry_url"], **rest,
                                               "principals": {
            component: {"username": user, "password": password}
            for component, (user, password) in env.kafka_principals.items()
            if component in ("sidecar", "monitor")}})
