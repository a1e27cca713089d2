"""The sidecar's one configuration object: flags over environment over the defaults, and a
usage error naming the flag and its variable for every bad or missing value."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from core.errors import UsageError
from udf_server.config import SETTINGS, SidecarConfig, add_arguments, from_arguments


def config(argv: list[str], environ: dict[str, str] | None = None) -> SidecarConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return from_arguments(parser.parse_args(argv), environ or {})


REQUIRED = ["--bootstrap-servers", "b:9092", "--model", "m.onnx"]


def test_defaults_come_from_the_config_object_alone():
    got = config(REQUIRED)
    defaults = SidecarConfig("b:9092", "m.onnx")
    for setting in SETTINGS:
        if setting.name != "instance_id":
            assert getattr(got, setting.name) == getattr(defaults, setting.name), setting.name
    assert (got.input_topic, got.output_topic, got.dlq_topic) == (
        "transactions.features", "transactions.scored", "transactions.scored.dlq")


def test_a_flag_wins_over_its_variable_and_the_variable_over_the_default():
    environ = {"FRAUD_BATCH_SIZE": "200", "FRAUD_GROUP": "g-env", "FRAUD_EXACTLY_ONCE": "true",
               "FRAUD_HTTP_PORT": "-1", "FRAUD_KAFKA_SECURITY_PROTOCOL": "SSL"}
    got = config([*REQUIRED, "--batch-size", "300"], environ)
    assert (got.batch_size, got.group, got.exactly_once, got.http_port) == (300, "g-env", True,
                                                                            -1)
    assert got.kafka == {"security.protocol": "SSL"}
    assert config([*REQUIRED, "--exactly-once"]).exactly_once is True


def test_exactly_once_is_the_default_and_can_be_turned_off():
    assert config(REQUIRED).exactly_once is True
    assert config([*REQUIRED, "--exactly-once", "false"]).exactly_once is False
    assert config(REQUIRED, {"FRAUD_EXACTLY_ONCE": "false"}).exactly_once is False


@pytest.mark.parametrize(("argv", "environ", "named"), [
    ([], {}, "--bootstrap-servers (or FRAUD_BOOTSTRAP_SERVERS) is required"),
    (["--bootstrap-servers", "b"], {}, "--model (or FRAUD_MODEL) is required"),
    (REQUIRED, {"FRAUD_BATCH_SIZE": "many"}, "--batch-size (or FRAUD_BATCH_SIZE)"),
    (REQUIRED, {"FRAUD_BATCH_SIZE": "0"}, "≥ 1 and ≤ 100000, got '0'"),
    (REQUIRED, {"FRAUD_HTTP_PORT": "70000"}, "--http-port (or FRAUD_HTTP_PORT)"),
    (REQUIRED, {"FRAUD_EXACTLY_ONCE": "perhaps"}, "expected true or false"),
    (REQUIRED, {"FRAUD_LOG_LEVEL": "loud"}, "--log-level (or FRAUD_LOG_LEVEL)"),
    ([*REQUIRED, "-X", "novalue"], {}, "-X 'novalue': expected key=value"),
    ([*REQUIRED, "--output-topic", "transactions.features"], {}, "topics must differ"),
])
def test_bad_values_are_usage_errors_naming_the_setting(argv, environ, named):
    with pytest.raises(UsageError) as info:
        config(argv, environ)
    assert named in str(info.value)


def test_every_setting_is_a_field_of_the_config():
    fields = {f.name for f in dataclasses.fields(SidecarConfig)}
    assert {s.name for s in SETTINGS} <= fields
