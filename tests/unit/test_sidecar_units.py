"""Sidecar pieces without Kafka: record validation, settings, model pointer, metrics text."""

import orjson
import pytest
from feature_records import feature_record, feature_rows
from model_factory import make_model

from core.contract import decode_bigint_key, encode_bigint_key
from core.errors import ArtifactError, FraudError
from udf_server import codec
from udf_server.config import kafka_settings
from udf_server.metrics import Metrics
from udf_server.model_store import ModelSlot, load_model, promote, resolve_model_path


def _value(**overrides):
    _, value = feature_record(1, feature_rows(1)[0])
    obj = orjson.loads(value)
    obj.update(overrides)
    return orjson.dumps(obj)


def test_good_record_decodes_with_passthrough_fields():
    decoded = codec.decode(_value())
    assert len(decoded.features) == 30
    assert set(decoded.passthrough) == {"USER_KEY", "USER_MASKED", "TS", "AMOUNT"}


@pytest.mark.parametrize(("value", "reason", "detail"), [
    (None, codec.NULL_VALUE, "tombstone"),
    (b"\xff{}", codec.NOT_UTF8, "byte 0"),
    (b'{"FEATURES": [1,', codec.MALFORMED_JSON, ""),
    (b'"just a string"', codec.NOT_AN_OBJECT, "str"),
    (b'{"AMOUNT": 1.0}', codec.MISSING_FIELD, "FEATURES"),
    (orjson.dumps({"FEATURES": "1,2,3"}), codec.WRONG_TYPE, "expected array"),
    (orjson.dumps({"FEATURES": [1.0] * 31}), codec.WRONG_FEATURE_COUNT, "31 values"),
    (orjson.dumps({"FEATURES": [1.0] * 29 + [True]}), codec.WRONG_TYPE, "FEATURES[29] is bool"),
    (orjson.dumps({"FEATURES": [1.0] * 5 + [[1]] + [1.0] * 24}), codec.WRONG_TYPE, "[5] is list"),
    (orjson.dumps({"FEATURES": [1.0] * 29 + ["NaN"]}), codec.NON_FINITE, "FEATURES[29] is NaN"),
    (b'{"FEATURES": [Infinity' + b",1" * 29 + b"]}", codec.NON_FINITE, "FEATURES[0] is inf"),
    (b'{"FEATURES": [1e999' + b",1" * 29 + b"]}", codec.NON_FINITE, "FEATURES[0] is inf"),
    (_value(AMOUNT="12.5"), codec.WRONG_TYPE, "AMOUNT is str"),
    (_value(USER_KEY=["a"]), codec.WRONG_TYPE, "USER_KEY is list"),
    (_value(PAD="x" * 70_000), codec.OVERSIZED, "limit 65536"),
])
def test_bad_records_are_classified(value, reason, detail):
    with pytest.raises(codec.BadRecord) as info:
        codec.decode(value)
    assert info.value.reason == reason
    assert detail in info.value.detail


def test_bigint_key_matches_ksqldb_kafka_format():
    assert encode_bigint_key(1) == b"\x00\x00\x00\x00\x00\x00\x00\x01"
    assert encode_bigint_key(-2) == b"\xff" * 7 + b"\xfe"
    assert decode_bigint_key(encode_bigint_key(284_807)) == 284_807


def test_librdkafka_settings_from_env_and_flags():
    env = {"FRAUD_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "FRAUD_KAFKA_SASL_MECHANISM": "PLAIN",
           "FRAUD_KAFKA_SSL_CA_LOCATION": "/etc/ca.pem", "OTHER": "x"}
    settings = kafka_settings(["sasl.username=alice", "linger.ms=2"], env)
    assert settings == {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                        "ssl.ca.location": "/etc/ca.pem", "sasl.username": "alice",
                        "linger.ms": "2"}
    with pytest.raises(FraudError, match="expected key=value"):
        kafka_settings(["nonsense"], {})


def test_promote_points_current_at_the_new_version_and_rollback(tmp_path):
    v1 = make_model(tmp_path / "a" / "model.onnx", seed=1)
    v2 = make_model(tmp_path / "b" / "model.onnx", seed=2)
    models = tmp_path / "models"
    assert promote(tmp_path / "a" / "model.onnx", models) == v1
    assert load_model(models).version == v1
    promote(tmp_path / "b" / "model.onnx", models)
    assert resolve_model_path(models).name == f"{v2}.onnx"
    promote(models / "versions" / f"{v1}.onnx", models)  # rollback = promote the old one
    assert load_model(models).version == v1


def test_text_pointer_and_plain_directory(tmp_path):
    version = make_model(tmp_path / "releases" / "r7" / "model.onnx")
    (tmp_path / "current").write_text("releases/r7\n")
    assert load_model(tmp_path).version == version
    plain = tmp_path / "plain"
    make_model(plain / "model.onnx")
    assert resolve_model_path(plain) == plain / "model.onnx"
    with pytest.raises(ArtifactError, match=r"no 'current' pointer and no model\.onnx"):
        resolve_model_path(tmp_path / "releases")


def test_slot_refuses_a_bad_model_and_keeps_serving(tmp_path):
    models = tmp_path / "models"
    v1 = make_model(tmp_path / "v1.onnx", seed=1)
    promote(tmp_path / "v1.onnx", models)
    events = []
    slot = ModelSlot(models, "champion", check_interval=0,
                     on_event=lambda *e: events.append(e[:3]))
    slot.load_initial()
    (models / "versions" / "broken.onnx").write_bytes(b"\x08\x07garbage")
    (models / "current").unlink()
    (models / "current").symlink_to("versions/broken.onnx")
    assert slot.maybe_reload(now=1.0) is False
    assert slot.current.version == v1
    assert events[-1] == ("rejected", "champion", v1)
    assert slot.maybe_reload(now=2.0) is False  # the same bad file is not retried every batch
    assert len([e for e in events if e[0] == "rejected"]) == 1


@pytest.mark.parametrize(("key", "value", "why"), [
    ("feature_names", "TIME,V1,V2", "is not JSON"),
    ("feature_names", '{"TIME": 0}', "differ from the contract order"),
    ("threshold", "nan", "is not a finite number"),
])
def test_malformed_metadata_with_a_valid_hash_is_refused_while_the_model_keeps_serving(
        tmp_path, key, value, why):
    import onnx

    from core.artifact import read_artifact, set_metadata, stamp_version

    models = tmp_path / "models"
    v1 = make_model(tmp_path / "v1.onnx", seed=1)
    promote(tmp_path / "v1.onnx", models)
    slot = ModelSlot(models, "champion", check_interval=0, on_event=lambda *e: None)
    slot.load_initial()
    model = onnx.load(tmp_path / "v1.onnx")
    set_metadata(model, {key: value})
    stamp_version(model)  # a hash that matches: exported that way, not changed afterwards
    bad = models / "versions" / "bad.onnx"
    bad.write_bytes(model.SerializeToString(deterministic=True))
    with pytest.raises(ArtifactError, match=why):
        read_artifact(bad)
    (models / "current").unlink()
    (models / "current").symlink_to("versions/bad.onnx")
    assert slot.maybe_reload(now=1.0) is False
    assert slot.current.version == v1


def test_metrics_render_prometheus_text():
    m = Metrics()
    m.inc("dead_lettered_total", reason="not_utf8")
    m.set_only("model_info", 1, "role", role="champion", version="a")
    m.set_only("model_info", 1, "role", role="champion", version="b")
    m.observe("batch_size", 700)
    text = m.render()
    assert 'fraud_sidecar_dead_lettered_total{reason="not_utf8"} 1' in text
    assert 'version="a"' not in text and 'role="champion",version="b"} 1' in text
    assert 'fraud_sidecar_batch_size_bucket{le="1000"} 1' in text
    assert 'fraud_sidecar_batch_size_bucket{le="500"} 0' in text


def test_operator_settings_override_defaults_but_not_the_guarantees():
    from udf_server.config import SidecarConfig
    from udf_server.service import consumer_settings, producer_settings

    cfg = SidecarConfig("b:9092", "m.onnx", exactly_once=True, instance_id="i1", kafka={
        "compression.type": "zstd", "security.protocol": "SASL_SSL", "linger.ms": "20",
        "enable.idempotence": "false", "enable.auto.commit": "true"})
    producer, consumer = producer_settings(cfg), consumer_settings(cfg)
    assert producer["compression.type"] == "zstd" and producer["linger.ms"] == "20"
    assert producer["security.protocol"] == consumer["security.protocol"] == "SASL_SSL"
    assert producer["enable.idempotence"] is True
    assert producer["transactional.id"] == "fraud-scorer.fraud-scoring-sidecar.i1"
    assert consumer["enable.auto.commit"] is False
    assert consumer["isolation.level"] == "read_committed"
    assert "linger.ms" not in consumer and "compression.type" not in consumer
