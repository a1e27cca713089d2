"""The secured local cluster of tests/cluster, and projects whose environment reaches it as a
user's real cluster does: endpoints, the CA, and every principal's password as `${NAME}`
placeholders filled from the process environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.kafka import KafkaConnection
from infra.local.cluster import PRINCIPALS, LocalCluster


@dataclass
class Cluster:
    stack: LocalCluster
    endpoints: dict

    def password(self, principal: str) -> str:
        return self.stack.password(principal)

    def kafka(self, principal: str = "operator") -> KafkaConnection:
        return self.stack.kafka_connection(principal)

    def secrets(self) -> list[str]:
        """Every credential and key password of the cluster (none may show anywhere)."""
        return [self.password(p) for p in ("broker", *PRINCIPALS)] + [self.stack.tls.password]


def password_variable(principal: str) -> str:
    return f"FRAUD_IT_{principal.upper()}_PASSWORD"


def cluster_servers(cluster: Cluster, ksqldb_server: int = 0, registry: bool = False) -> dict:
    """An environment's `servers:` for the cluster, credentials as placeholders; with its
    Schema Registry (`registry`: the sidecar's topics then JSON_SR, as local-cluster.yaml
    says; without it they are plain JSON)."""
    ep = cluster.endpoints
    def rest() -> dict:  # one mapping per server: a test may change one server's password
        return {"basic_auth": {"username": "operator",
                               "password": "${" + password_variable("operator") + "}"},
                "ca_bundle": ep["ca_file"]}

    principals = {p: {"username": p, "password": "${" + password_variable(p) + "}"}
                  for p in PRINCIPALS}
    servers = {"kafka": {
        "bootstrap_servers": ep["bootstrap_servers"],
        "security": {**ep["kafka_security"], "ssl.ca.location": ep["ca_file"]},
        "principals": principals},
        "connect": {"url": ep["connect_url"], **rest()},
        "ksqldb": {"url": ep["ksqldb_urls"][ksqldb_server], **rest()}}
    if registry:
        servers["schema_registry"] = {"url": ep["schema_registry_url"], **rest(), "principals": {
            p: principals[p] for p in ("sidecar", "monitor")}}
    return servers


def cluster_project(root: Path, tag: str, cluster: Cluster, files: Path,
                    registry: bool = False) -> dict:
    """The repository's templates with an environment `it` on the cluster (replicas 3, ACLs
    managed), topics and objects carrying `tag` (with the registry: `cluster_servers`)."""
    from topology_project import copy_repo_project

    files.mkdir(parents=True, exist_ok=True)
    return copy_repo_project(root, tag, cluster_servers(cluster, registry=registry),
                             base_env="local-cluster",
                             files={"source": str(files / "transactions.csv"),
                                    "alerts": str(files / "alerts.jsonl"),
                                    "labels": str(files / "labels.csv")})


def rewrite_env(root: Path, change) -> None:
    """Edit the project's `it` environment in place (`change` takes and returns the mapping)."""
    path = root / "infra" / "environments" / "it.yaml"
    path.write_text(yaml.safe_dump(change(yaml.safe_load(path.read_text()))))


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def harness_servers(cluster: Cluster, ksqldb_server: int = 0):
    """The fault harness's view of the cluster: the environment (ACLs managed, replicas 3),
    counting as the monitor principal, scoring as the sidecar's, ksqlDB server
    `ksqldb_server` (0 or 1) as the operator."""
    from fault_harness import Servers

    from infra.rest import RestConfig

    ep = cluster.endpoints
    return Servers(cluster_servers(cluster, ksqldb_server), "local-cluster",
                   cluster.kafka("monitor"), cluster.kafka("sidecar"),
                   RestConfig(ep["ksqldb_urls"][ksqldb_server], timeout=10,
                              basic_auth=("operator", cluster.password("operator")),
                              ca_bundle=ep["ca_file"]))
