"""Resolve the Kafka broker and Connect jars from Maven Central into a cache outside the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from infra.errors import FraudctlError

KAFKA_VERSION = "4.1.1"
POM = Path(__file__).with_name("pom.xml")
#: Connectors placed on Connect's plugin.path (not on the worker's classpath), as in production.
PLUGINS = ("connect-file",)


def cache_root() -> Path:
    """Where jars and run directories live: $FRAUD_CACHE_DIR, else ~/.cache/fraud-detection."""
    env = os.environ.get("FRAUD_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "fraud-detection"


@dataclass(frozen=True)
class KafkaDistribution:
    """A resolved set of jars: `libs` is the JVM classpath, `plugins` is Connect's plugin.path."""

    root: Path

    @property
    def libs(self) -> Path:
        return self.root / "libs"

    @property
    def plugins(self) -> Path:
        return self.root / "plugins"

    @property
    def classpath(self) -> str:
        return str(self.libs / "*")

    def is_complete(self) -> bool:
        return (self.root / ".complete").exists()


def require_tool(name: str, install_hint: str) -> str:
    """Path of an executable, or an error that says what to install."""
    path = shutil.which(name)
    if not path:
        raise FraudctlError(f"'{name}' was not found on PATH. {install_hint}")
    return path


def require_java() -> str:
    return require_tool(
        "java",
        "The local stack needs Java 17 or newer: install it, e.g. "
        "`apt-get install openjdk-17-jre-headless`, or set PATH to a JDK's bin directory.",
    )


def _mvn(args: list[str], log: Path) -> None:
    mvn = require_tool(
        "mvn",
        "Resolving the Kafka jars needs Apache Maven: install it, e.g. `apt-get install maven`.",
    )
    cmd = [mvn, "-B", "-q", "-f", str(POM), *args]
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise FraudctlError(
            f"Maven could not resolve the Kafka {KAFKA_VERSION} jars (exit {result.returncode}); "
            f"is Maven Central reachable? Full log: {log}\n" + "\n".join(tail)
        )


def fetch_distribution(version: str = KAFKA_VERSION, quiet: bool = False) -> KafkaDistribution:
    """Resolve the jars once; later calls reuse the cache. Returns the distribution."""
    require_java()
    dist = KafkaDistribution(cache_root() / f"kafka-{version}")
    if dist.is_complete():
        return dist
    started = time.monotonic()
    if not quiet:
        print(f"Resolving Apache Kafka {version} and Kafka Connect from Maven Central "
              f"into {dist.root} (first run only) ...", file=sys.stderr, flush=True)
    staging = dist.root.with_name(dist.root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    log = staging / "maven.log"
    _mvn([
        "dependency:copy-dependencies",
        f"-Dkafka.version={version}",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging / 'libs'}",
    ], log)
    for plugin in PLUGINS:
        _mvn([
            "dependency:copy",
            f"-Dartifact=org.apache.kafka:{plugin}:{version}",
            f"-DoutputDirectory={staging / 'plugins' / plugin}",
        ], log)
    (staging / ".complete").write_text(version + "\n")
    shutil.rmtree(dist.root, ignore_errors=True)
    staging.rename(dist.root)
    if not quiet:
        jars = len(list(dist.libs.glob("*.jar")))
        print(f"Resolved {jars} jars in {time.monotonic() - started:.0f}s.",
              file=sys.stderr, flush=True)
    return dist
