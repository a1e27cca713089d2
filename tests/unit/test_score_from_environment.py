"""`fraudctl score --env E`: the sidecar takes its brokers, its own principal, its topics, the
group its ACLs grant and the guarantee from the environment; flags and FRAUD_* still win."""

import argparse
from pathlib import Path

from test_pipeline_templates import SECRETS

from fraudctl.commands.sidecar import environment_defaults
from udf_server.config import kafka_settings

REPO = Path(__file__).resolve().parents[2]


def test_the_environment_gives_the_sidecar_its_own_principal_and_topics(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    found = environment_defaults(argparse.Namespace(env="prod.example", project=str(REPO)))
    assert found["FRAUD_BOOTSTRAP_SERVERS"].startswith("broker-1.example.internal")
    assert (found["FRAUD_INPUT_TOPIC"], found["FRAUD_OUTPUT_TOPIC"], found["FRAUD_DLQ_TOPIC"]) \
        == ("transactions.features", "transactions.scored", "transactions.scored.dlq")
    assert found["FRAUD_GROUP"] == "fraud-demo-prod.example"
    assert found["FRAUD_EXACTLY_ONCE"] == "true"
    settings = kafka_settings([], found)  # what the sidecar's own parser makes of them
    assert settings["sasl.username"] == "fraud-sidecar"
    assert settings["sasl.password"] == "sidecar-secret-1"
    assert settings["security.protocol"] == "SASL_SSL"
    assert settings["ssl.ca.location"] == "/etc/ssl/certs/internal-ca.pem"


def test_the_sidecar_reads_the_registry_framing_as_its_own_user(monkeypatch):
    """prod.example writes the sidecar's topics as JSON_SR: the sidecar is given the registry,
    its CA, and its own registry user (the password in a variable, never in a flag)."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    found = environment_defaults(argparse.Namespace(env="prod.example", project=str(REPO)))
    assert found["FRAUD_SCHEMA_REGISTRY"] == "https://schema-registry.example.internal:8081"
    assert found["FRAUD_SCHEMA_REGISTRY_CA"] == "/etc/ssl/certs/internal-ca.pem"
    assert (found["FRAUD_SCHEMA_REGISTRY_USER"], found["FRAUD_SCHEMA_REGISTRY_PASSWORD"]) == (
        "fraud-sidecar", "sr-side")
