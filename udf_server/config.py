"""The sidecar's settings: one object holding the only copy of the defaults, filled from command
line flags, then `FRAUD_*` environment variables, then those defaults.

A bad value is a `UsageError` naming both the flag and the variable (the operator may have set
either), raised before any server is touched.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core.contract import DEAD_LETTER_SUFFIX, FEATURES_TOPIC, SCORED_TOPIC
from core.errors import UsageError
from core.values import share, whole
from udf_server import codec

#: librdkafka settings come from FRAUD_KAFKA_SECURITY_PROTOCOL=... style variables and -X k=v
KAFKA_ENV_PREFIX = "FRAUD_KAFKA_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
BATCH_SIZES = (1, 100_000)  # records per micro-batch, lowest and highest allowed
BATCH_WAITS_MS = (0, 10_000)


@dataclass
class SidecarConfig:
    """Everything one sidecar process needs; `kafka` holds librdkafka settings passed as-is."""

    bootstrap_servers: str
    model: str
    input_topic: str = FEATURES_TOPIC
    output_topic: str = SCORED_TOPIC
    dlq_topic: str = SCORED_TOPIC + DEAD_LETTER_SUFFIX
    group: str = "fraud-scoring-sidecar"
    shadow_model: str | None = None
    #: the champion's alerts (scored records with IS_ANOMALY), the alert path's input; none
    #: written when unset
    flagged_topic: str | None = None
    #: the monitoring tables' per-batch counts (udf_server/monitor_counts.py); none when unset
    counts_topic: str | None = None
    #: alert storm (udf_server/storm.py): above this share of alerts among the last
    #: `alert_storm_window` payments, alerts are held back; 1 turns it off
    alert_storm_share: float = 0.25
    alert_storm_window: int = 10_000
    #: Schema Registry: read and write its wire format (udf_server/wire.py); unset: plain JSON
    schema_registry: str | None = None
    schema_registry_ca: str | None = None
    schema_registry_user: str | None = None
    schema_registry_password: str | None = None
    batch_size: int = 5000
    batch_wait_ms: int = 10
    #: each micro-batch one Kafka transaction (outputs, dead letters, input offsets)
    exactly_once: bool = True
    instance_id: str = field(default_factory=socket.gethostname)
    http_host: str = "127.0.0.1"
    #: -1 turns the HTTP endpoints off
    http_port: int = 8000
    log_level: str = "INFO"
    max_record_bytes: int = codec.DEFAULT_MAX_RECORD_BYTES
    #: a dead letter carries at most this much of the original value (a prefix beyond it)
    dlq_max_value_bytes: int = codec.DEFAULT_DLQ_MAX_VALUE_BYTES
    model_check_interval: float = 1.0
    inference_threads: int = 1
    kafka: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        """UsageError for values the sidecar cannot run with."""
        low, high = BATCH_SIZES
        if not low <= self.batch_size <= high:
            raise UsageError(f"batch size {self.batch_size} is outside {low}..{high}")
        low, high = BATCH_WAITS_MS
        if not low <= self.batch_wait_ms <= high:
            raise UsageError(f"batch wait {self.batch_wait_ms} ms is outside {low}..{high}")
        topics = [self.input_topic, self.output_topic, self.dlq_topic,
                  *(t for t in (self.flagged_topic, self.counts_topic) if t)]
        if len(set(topics)) != len(topics):
            raise UsageError("input, output, dead-letter, flagged and counts topics must "
                             f"differ: {', '.join(topics)}")


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _level(text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {text!r}")
    return text.upper()


@dataclass(frozen=True)
class Setting:
    """A SidecarConfig field an operator sets with `--flag` or `FRAUD_<FIELD>`."""

    name: str
    help: str
    parse: Callable[[str], object] = str
    required: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def variable(self) -> str:
        return "FRAUD_" + self.name.upper()


SETTINGS = (
    Setting("bootstrap_servers", "Kafka bootstrap servers", required=True),
    Setting("model", "model.onnx, or a directory whose `current` the sidecar follows",
            required=True),
    Setting("input_topic", "feature records in"),
    Setting("output_topic", "scored records out"),
    Setting("dlq_topic", "dead letters: records that cannot be scored, with the reason"),
    Setting("flagged_topic", "the champion's alerts (scored records with IS_ANOMALY true) "
            "for the alert path; unset: none written"),
    Setting("counts_topic", "per-batch monitoring counts for ksqlDB's monitoring tables; "
            "unset: none written"),
    Setting("alert_storm_share", "share of alerts among the last --alert-storm-window "
            "payments above which alerts are held back (an alert storm); 1 turns it off",
            share),
    Setting("alert_storm_window", "payments the alert-storm share is taken over",
            whole(1, 10_000_000)),
    Setting("schema_registry", "Schema Registry URL: feature records are read, scored records "
            "and alerts written in its wire format (ksqlDB's JSON_SR) with the ids registered "
            "for their topics; unframed input is dead-lettered; unset: plain JSON"),
    Setting("schema_registry_ca", "CA bundle for a registry on HTTPS"),
    Setting("schema_registry_user", "the registry's basic-authentication user"),
    Setting("schema_registry_password", "its password (set the variable: a flag would show "
            "it in the process list)"),
    Setting("group", "Kafka consumer group"),
    Setting("shadow_model", "a challenger scored beside the champion (shadow mode): its score "
            "and verdict are added, its alerts never raised"),
    Setting("batch_size", "records per micro-batch", whole(*BATCH_SIZES)),
    Setting("batch_wait_ms", "longest wait to fill a batch", whole(*BATCH_WAITS_MS)),
    Setting("exactly_once", "Kafka transactions, each batch one; `--exactly-once false` for "
            "at-least-once (env value true/false)", _flag),
    Setting("instance_id", "this process's name (transactional id, metrics)"),
    Setting("http_host", "address of /healthz, /readyz, /metrics, /score"),
    Setting("http_port", "their port; -1 turns them off", whole(-1, 65_535)),
    Setting("log_level", "DEBUG, INFO, WARNING or ERROR", _level),
)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(SidecarConfig)
             if f.default is not dataclasses.MISSING}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sidecar's flags on `parser`; each help names its variable and default."""
    for s in SETTINGS:
        default = _DEFAULTS.get(s.name)
        note = "required" if s.required else (f"default {default}" if default not in (None, "")
                                              else "optional")
        # a switch: `--exactly-once` alone means true, `--exactly-once false` turns it off
        kind = {"nargs": "?", "const": "true", "metavar": "true|false"} if s.parse is _flag \
            else {"metavar": "VALUE"}
        parser.add_argument(s.flag, dest=s.name, default=None,
                            help=f"{s.help} (env {s.variable}; {note})", **kind)
    parser.add_argument("-X", dest="kafka_setting", action="append", default=[],
                        metavar="KEY=VALUE",
                        help=f"a librdkafka setting (also {KAFKA_ENV_PREFIX}<KEY>)")


def kafka_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The FRAUD_KAFKA_* variables that carry librdkafka `settings` to a sidecar process (the
    way to pass a password: never on its command line)."""
    return {KAFKA_ENV_PREFIX + key.upper().replace(".", "_"): value
            for key, value in settings.items()}


def kafka_settings(pairs: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """librdkafka settings from FRAUD_KAFKA_SECURITY_PROTOCOL=... style variables and -X k=v."""
    settings = {key[len(KAFKA_ENV_PREFIX):].lower().replace("_", "."): value
                for key, value in environ.items() if key.startswith(KAFKA_ENV_PREFIX)}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-X {pair!r}: expected key=value (a librdkafka setting)")
        settings[key.strip()] = value
    return settings


def from_arguments(args: argparse.Namespace, environ: Mapping[str, str]) -> SidecarConfig:
    """The config from parsed flags, then `environ`, then the defaults; UsageError naming the
    flag and its variable for a missing or bad value."""
    values: dict[str, object] = {}
    for s in SETTINGS:
        text = getattr(args, s.name, None)
        if text is None:
            text = environ.get(s.variable)
        if text is None or (text == "" and s.parse is str):
            if s.required:
                raise UsageError(f"{s.flag} (or {s.variable}) is required")
            continue
        try:
            values[s.name] = s.parse(text)
        except (ValueError, argparse.ArgumentTypeError) as exc:
            raise UsageError(f"{s.flag} (or {s.variable}): {exc}") from None
    config = SidecarConfig(**values, kafka=kafka_settings(args.kafka_setting, environ))
    config.validate()
    return config
