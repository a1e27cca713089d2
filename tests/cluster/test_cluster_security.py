"""Security on the secured cluster, for real: a wrong password for Kafka, ksqlDB or Connect is
one clear error naming the server and the user, with no secret printed and nothing applied; a
plain-text client is refused; the sidecar's principal is refused what its ACLs do not grant."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from cluster_fixture import cluster_project, rewrite_env
from topology_project import run_fraudctl

from core.errors import ServerError
from core.kafka import KafkaConnection, consumer, producer, verify
from infra.kafka_acl_client import list_acls
from infra.ksql_client import KsqlClient
from infra.rest import RestConfig

pytestmark = [pytest.mark.slow]
WRONG = "not-the-password-42"


@pytest.fixture(scope="module")
def applied(cluster, tmp_path_factory):
    """The repository's topology applied on the cluster, ACLs included."""
    root = tmp_path_factory.mktemp("applied") / "repo"
    tag = uuid.uuid4().hex[:6]
    spec = cluster_project(root, tag, cluster, root.parent / "files")
    result = run_fraudctl(root, "apply", "--auto-approve", timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield root, spec
    run_fraudctl(root, "destroy", "--auto-approve", "--delete-topics", timeout=900)


def _operator_ksql(cluster) -> KsqlClient:
    ep = cluster.endpoints
    return KsqlClient(RestConfig(ep["ksqldb_url"], basic_auth=(
        "operator", cluster.password("operator")), ca_bundle=ep["ca_file"]))


SERVERS = {  # which password is wrong -> where it sits in the environment, what the error says
    "kafka": (("kafka", "principals", "operator", "password"), "Kafka at"),
    "ksqldb": (("ksqldb", "basic_auth", "password"), "ksqlDB at"),
    "connect": (("connect", "basic_auth", "password"), "Kafka Connect at"),
}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_a_wrong_password_is_one_clear_error_and_nothing_is_applied(cluster, tmp_path,
                                                                      monkeypatch, server):
    root, tag = tmp_path / "repo", uuid.uuid4().hex[:6]
    cluster_project(root, tag, cluster, tmp_path / "files")
    monkeypatch.setenv("FRAUD_IT_WRONG_PASSWORD", WRONG)
    path, named = SERVERS[server]

    def wrong(spec: dict) -> dict:
        place = spec["servers"]
        for key in path[:-1]:
            place = place[key]
        place[path[-1]] = "${FRAUD_IT_WRONG_PASSWORD}"
        return spec

    rewrite_env(root, wrong)
    result = run_fraudctl(root, "apply", "--auto-approve", timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and named in error[0] and "operator" in error[0], out
    print(f"wrong {server} password -> {error[0]}")
    for secret in [WRONG, *cluster.secrets()]:
        assert secret not in out
    prefix = f"IT{tag}_".upper()
    assert not [s for s in _operator_ksql(cluster).sources() if s["name"].startswith(prefix)]
    assert not [a for a in list_acls(cluster.kafka()) or () if tag in a.name]


def test_a_plain_text_client_is_refused(cluster):
    plain = KafkaConnection(cluster.endpoints["bootstrap_servers"])
    with pytest.raises(ServerError, match="did not answer"):
        verify(plain, timeout=8)
    verify(cluster.kafka("monitor"))  # the same brokers answer a client that logs in


def _read_error(connection: KafkaConnection, topic: str, group: str) -> str | None:
    """The first error a consumer of `topic` meets within 20 s, or None."""
    reader = consumer(connection, {"group.id": group, "auto.offset.reset": "earliest",
                                   "enable.auto.commit": False})
    reader.subscribe([topic])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msg = reader.poll(0.5)
            if msg is not None and msg.error() and msg.error().code() != -191:  # not EOF
                return msg.error().str()
            if reader.assignment() and msg is None:
                return None  # assigned and fetching: read access works
        return None
    finally:
        reader.close()


def _write_error(connection: KafkaConnection, topic: str) -> str | None:
    errors: list[str] = []
    writer = producer(connection, {"on_delivery": lambda err, _m: errors.append(
        err.str() if err else "ok"), "message.timeout.ms": 15000})
    writer.produce(topic, b'{"probe": true}')
    writer.flush(20)
    return None if errors == ["ok"] else (errors[0] if errors else "no delivery report")


def test_the_sidecar_principal_is_refused_what_its_acls_do_not_grant(cluster, applied):
    _root, spec = applied
    topics = spec["vars"]["topics"]
    sidecar = cluster.kafka("sidecar")
    group = f"fraud-demo-it-{uuid.uuid4().hex[:4]}"  # a group the sidecar's ACLs grant
    refused = _read_error(sidecar, topics["raw"], group)
    assert refused and "authoriz" in refused.lower(), refused
    allowed = _read_error(sidecar, topics["features"], group)
    assert allowed is None, allowed
    refused = _write_error(sidecar, topics["alerts"])
    assert refused and "authoriz" in refused.lower(), refused
    assert _write_error(cluster.kafka("replayer"), topics["raw"]) is None
    for topic in (*topics.values(), topics["scored"] + ".dlq"):  # the demo checks read them all
        assert _read_error(cluster.kafka("monitor"), topic, "fraudctl-probe") is None, topic
    print(f"sidecar reading {topics['raw']} / writing {topics['alerts']}: refused as "
          f"expected ({refused})")


def test_each_principal_password_is_its_own(cluster):
    """A principal cannot log in with another's password (each has its own SCRAM secret)."""
    borrowed = KafkaConnection(cluster.endpoints["bootstrap_servers"], {
        **cluster.kafka("sidecar").security, "sasl.password": cluster.password("operator")})
    with pytest.raises(ServerError, match="as user sidecar: authentication failed"):
        verify(borrowed, timeout=10)


def test_the_schema_registry_logs_in_each_user_with_its_own_password(cluster):
    """The registry answers HTTPS only to its users: none without credentials, none with
    another's password; the operator and the sidecar each with their own."""
    url, ca = cluster.endpoints["schema_registry_url"] + "/subjects", cluster.endpoints["ca_file"]
    assert requests.get(url, verify=ca, timeout=10).status_code == 401
    borrowed = ("sidecar", cluster.password("operator"))
    assert requests.get(url, verify=ca, auth=borrowed, timeout=10).status_code == 401
    for user in ("operator", "sidecar"):
        answer = requests.get(url, verify=ca, auth=(user, cluster.password(user)), timeout=10)
        assert answer.status_code == 200, (user, answer.text)
