"""docker-compose.yml checked without a Docker engine: structure, pins, health, ports, env."""

import re
from pathlib import Path

import pytest
import yaml

from infra.local.jars import KAFKA_VERSION
from infra.local.stack import BROKER_FEATURES, KSQLDB_JVM_OPTIONS, QUERY_SERVER_SETTINGS

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_expected_services_exist():
    assert {"kafka", "connect", "ksqldb", "sidecar"} <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_has_pinned_image_or_build_and_healthcheck(name):
    service = SERVICES[name]
    if "build" in service:
        dockerfile = REPO / service["build"].get("context", ".") / service["build"]["dockerfile"]
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        base = re.search(r"^FROM\s+(\S+)", dockerfile.read_text(), re.M).group(1)
        assert re.search(r":\d", base), f"{name}: base image {base} is not pinned"
    else:
        image = service["image"]
        assert re.search(r":\d+\.\d+", image), f"{name}: image {image} is not pinned to a version"
    assert service["healthcheck"]["test"], f"{name} has no healthcheck"


@pytest.mark.parametrize("name", sorted(set(SERVICES) - {"kafka"}))
def test_dependents_wait_for_healthy_kafka(name):
    assert SERVICES[name]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_ports_the_project_expects():
    ports = {n: {p.split(":")[0] for p in s.get("ports", [])} for n, s in SERVICES.items()}
    assert "9092" in ports["kafka"]
    assert "8083" in ports["connect"]
    assert "8088" in ports["ksqldb"]
    assert "8000" in ports["sidecar"]


def test_kafka_advertises_an_address_the_host_can_reach():
    env = SERVICES["kafka"]["environment"]
    assert "localhost:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "kafka:29092" in env["KAFKA_ADVERTISED_LISTENERS"]


def test_connect_uses_the_same_kafka_version_and_file_plugin_as_the_local_stack():
    assert SERVICES["connect"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    props = (REPO / "infra/compose/connect-distributed.properties").read_text()
    assert f"plugin.path=/opt/kafka/libs/connect-file-{KAFKA_VERSION}.jar" in props
    assert "bootstrap.servers=kafka:29092" in props
    mounts = SERVICES["connect"]["volumes"]
    assert any(m.endswith(":/data") for m in mounts), "Connect needs the shared data directory"


def test_connect_sets_the_local_stacks_broker_features_before_it_starts():
    command = " ".join(SERVICES["connect"]["command"])
    tool = "/opt/kafka/bin/kafka-features.sh --bootstrap-server kafka:29092 downgrade"
    for feature in BROKER_FEATURES:
        assert f"{tool} --feature {feature} && exec " in command, command
    assert command.endswith("/opt/kafka/bin/connect-distributed.sh "
                            "/etc/fraud/connect-distributed.properties"), command


def test_ksqldb_has_processing_log_and_reaches_kafka():
    env = SERVICES["ksqldb"]["environment"]
    assert env["KSQL_BOOTSTRAP_SERVERS"] == "kafka:29092"
    assert env["KSQL_KSQL_LOGGING_PROCESSING_STREAM_AUTO_CREATE"] == "true"
    assert env["KSQL_KSQL_LOGGING_PROCESSING_TOPIC_AUTO_CREATE"] == "true"


def test_ksqldb_has_the_local_stacks_jvm_options():
    assert SERVICES["ksqldb"]["environment"]["KSQL_OPTS"].split() == list(KSQLDB_JVM_OPTIONS)


def _confluent_property(variable: str) -> str:
    """The server property Confluent's images make of a KSQL_ variable: `___` is a dash,
    `__` an underscore, `_` a dot."""
    name = variable.removeprefix("KSQL_").lower()
    return name.replace("___", "-").replace("__", "\0").replace("_", ".").replace("\0", "_")


def test_ksqldb_has_the_local_stacks_query_server_settings():
    env = SERVICES["ksqldb"]["environment"]
    properties = {_confluent_property(k): str(v) for k, v in env.items()}
    assert {k: properties.get(k) for k in QUERY_SERVER_SETTINGS} == QUERY_SERVER_SETTINGS


def test_sidecar_image_has_no_tensorflow():
    dockerfile = (REPO / "infra/Dockerfile.sidecar").read_text()
    assert "[train]" not in dockerfile and "tensorflow" not in dockerfile.lower().replace(
        "no tensorflow", "")


def test_sidecar_environment_is_what_the_sidecar_reads():
    from udf_server.config import KAFKA_ENV_PREFIX, SETTINGS

    known = {setting.variable for setting in SETTINGS}
    for name in SERVICES["sidecar"]["environment"]:
        assert name in known or name.startswith(KAFKA_ENV_PREFIX), name
    assert SERVICES["sidecar"]["environment"]["FRAUD_BOOTSTRAP_SERVERS"] == "kafka:29092"
    assert any(v.endswith(":/models:ro") for v in SERVICES["sidecar"]["volumes"])
