"""The sidecar's reading of Schema Registry's framing, and our readers' tolerance of both
wire formats (the registry's answers are tested on a real one: tests/ksqldb)."""

import time

import orjson
import pytest

from core.records import json_value
from udf_server.codec import BadRecord
from udf_server.wire import NO_FRAMING, UNKNOWN_SCHEMA_ID, Framing, Registry, prefix

RECORD = orjson.dumps({"FEATURES": [0.0] * 30})


def framing(accepted: set[int]) -> Framing:
    """A framing whose ids are known already (looked up just now: no refresh is due)."""
    found = Framing(Registry("http://127.0.0.1:1"), "features", ["scored"], accepted=accepted)
    found._refreshed = time.monotonic()
    return found


def test_a_framed_record_with_a_known_id_yields_its_json():
    assert framing({7}).payload(prefix(7) + RECORD) == RECORD


@pytest.mark.parametrize("value", [RECORD, b"", b"\x00\x00"])
def test_a_record_without_the_framing_is_a_bad_record(value):
    with pytest.raises(BadRecord) as caught:
        framing({7}).payload(value)
    assert caught.value.reason == NO_FRAMING
    assert "expected 0x00" in caught.value.detail


def test_an_id_the_subject_does_not_hold_is_a_bad_record_naming_it():
    with pytest.raises(BadRecord) as caught:
        framing({7}).payload(prefix(8) + RECORD)
    assert caught.value.reason == UNKNOWN_SCHEMA_ID
    assert "schema id 8" in caught.value.detail and "features-value" in caught.value.detail


def test_a_tombstone_passes_to_the_codec_which_names_it():
    assert framing({7}).payload(None) is None


def test_readers_take_both_wire_formats():
    assert json_value(prefix(123456) + RECORD) == json_value(RECORD) == orjson.loads(RECORD)
