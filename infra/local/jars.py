"""Resolve the jars of the local stack into a cache outside the repo.

Kafka (broker and Connect) comes from Maven Central. ksqlDB and Schema Registry come from
Confluent's Maven repository, or first from the extra repositories named in FRAUD_MAVEN_REPOS
(space-separated URLs or absolute paths, e.g. a folder holding ksqlDB as a Maven repository).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from core.errors import ConfigError, FraudError, ServerError, StackError

KAFKA_VERSION = "4.1.1"
KSQLDB_VERSION = "7.9.0"
POM = Path(__file__).with_name("pom.xml")
KSQLDB_POM = Path(__file__).with_name("ksqldb-pom.xml")
SCHEMA_REGISTRY_VERSION = "7.9.0"
SCHEMA_REGISTRY_POM = Path(__file__).with_name("schema-registry-pom.xml")
MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"
CONFLUENT_MAVEN = "https://packages.confluent.io/maven/"
EXTRA_REPOS_VAR = "FRAUD_MAVEN_REPOS"
#: Connectors placed on Connect's plugin.path (not on the worker's classpath), as in production.
PLUGINS = ("connect-file",)
#: Jars for the secured cluster's Connect worker classpath (`extensions/`): the basic
#: authentication REST extension, whose JAAS login module must be visible to the JDK's
#: LoginContext, which a plugin's own class loader is not.
EXTENSIONS = ("connect-basic-auth-extension",)


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
    def extensions(self) -> Path:
        return self.root / "extensions"

    @property
    def classpath(self) -> str:
        return str(self.libs / "*")

    def is_complete(self) -> bool:
        return (self.root / ".complete").exists()


def require_tool(name: str, install_hint: str) -> str:
    """Path of an executable, or an error that says what to install."""
    path = shutil.which(name)
    if not path:
        raise StackError(f"'{name}' was not found on PATH. {install_hint}")
    return path


def require_java() -> str:
    return require_tool(
        "java",
        "The local stack needs Java 17 or newer: install it, e.g. "
        "`apt-get install openjdk-17-jre-headless`, or set PATH to a JDK's bin directory.",
    )


class KsqlDbUnavailable(ServerError):
    """ksqlDB could not be resolved from any configured Maven repository."""


def maven_repositories(environ: dict[str, str] | None = None) -> list[str]:
    """Where ksqlDB's jars are looked for, in order: FRAUD_MAVEN_REPOS, Central, Confluent.

    Central comes before Confluent so that the ~180 ordinary jars never ask Confluent's
    repository; the extra repositories come first so that they take precedence."""
    environ = os.environ if environ is None else environ
    extra = []
    for item in environ.get(EXTRA_REPOS_VAR, "").split():
        if "://" not in item:
            if not item.startswith("/"):
                raise ConfigError(f"{EXTRA_REPOS_VAR}: {item!r} is neither a URL nor an "
                                  "absolute path (e.g. file:///abs/path/m2 or /abs/path/m2)")
            item = Path(item).as_uri()
        extra.append(item)
    return [*extra, MAVEN_CENTRAL, CONFLUENT_MAVEN]


def _repository_id(url: str) -> str:
    """A stable id per URL (Maven remembers which repository id each cached jar came from)."""
    known = {MAVEN_CENTRAL: "central", CONFLUENT_MAVEN: "confluent"}
    return known.get(url) or "extra-" + hashlib.sha1(url.encode()).hexdigest()[:10]


def _pom_with_repositories(template: Path, repositories: list[str], target: Path) -> Path:
    entries = "\n".join(
        f"    <repository><id>{_repository_id(url)}</id><url>{escape(url)}</url></repository>"
        for url in repositories)
    target.write_text(template.read_text().replace("    <!-- REPOSITORIES -->", entries))
    return target


def _mvn(args: list[str], log: Path, pom: Path = POM, what: str = f"the Kafka {KAFKA_VERSION} "
         "jars") -> None:
    mvn = require_tool(
        "mvn",
        "Resolving the Kafka jars needs Apache Maven: install it, e.g. `apt-get install maven`.",
    )
    cmd = [mvn, "-B", "-q", "-f", str(pom), *args]
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise ServerError(
            f"Maven could not resolve {what} (exit {result.returncode}); "
            f"is Maven Central reachable? Full log: {log}\n" + "\n".join(tail)
        )


def _resolve(dist: KafkaDistribution, title: str, steps, quiet: bool) -> KafkaDistribution:
    """Run `steps(staging)` into a staging folder, then move it into place atomically."""
    started = time.monotonic()
    if not quiet:
        print(f"Resolving {title} into {dist.root} (first run only) ...",
              file=sys.stderr, flush=True)
    staging = dist.root.with_name(dist.root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    steps(staging)
    (staging / ".complete").write_text(dist.root.name + "\n")
    shutil.rmtree(dist.root, ignore_errors=True)
    staging.rename(dist.root)
    if not quiet:
        jars = len(list(dist.libs.glob("*.jar")))
        print(f"Resolved {jars} jars in {time.monotonic() - started:.0f}s.",
              file=sys.stderr, flush=True)
    return dist


def fetch_distribution(version: str = KAFKA_VERSION, quiet: bool = False) -> KafkaDistribution:
    """Resolve the Kafka and Connect jars once; later calls reuse the cache."""
    require_java()
    dist = KafkaDistribution(cache_root() / f"kafka-{version}")

    def fetch_plugins(root: Path, plugins, folder: str = "plugins") -> None:
        for plugin in plugins:
            target = root / folder / plugin if folder == "plugins" else root / folder
            _mvn(["dependency:copy", f"-Dartifact=org.apache.kafka:{plugin}:{version}",
                  f"-DoutputDirectory={target}"], root / "maven.log")

    if dist.is_complete():  # a cache made before an extension joined the list gains it
        fetch_plugins(dist.root, [e for e in EXTENSIONS if not any(
            dist.extensions.glob(f"{e}-*.jar"))], "extensions")
        return dist

    def steps(staging: Path) -> None:
        _mvn(["dependency:copy-dependencies", f"-Dkafka.version={version}",
              "-DincludeScope=runtime", f"-DoutputDirectory={staging / 'libs'}"],
             staging / "maven.log")
        fetch_plugins(staging, PLUGINS)
        fetch_plugins(staging, EXTENSIONS, "extensions")

    return _resolve(dist, f"Apache Kafka {version} and Kafka Connect from Maven Central",
                    steps, quiet)


KSQLDB_MISSING = """\
{title} {version} could not be resolved, so the local stack runs without ksqlDB and Schema
Registry ({why}). They are published on Confluent's Maven repository ({confluent}), which this
machine does not reach. Three ways out: (1) name a Maven repository that holds them in {var}
(space-separated URLs or absolute paths, e.g. {var}=file:///abs/path/ksqldb/m2) and run
`fraudctl local up` again; (2) run the compose stack where a Docker engine answers
(`make demo`); (3) point the tools at an existing ksqlDB server with KSQLDB_URL (plus
BOOTSTRAP_SERVERS of the same cluster).
"""


def fetch_ksqldb(version: str = KSQLDB_VERSION, quiet: bool = False) -> KafkaDistribution:
    """Resolve the ksqlDB server and test runner once; later calls reuse the cache.

    Raises KsqlDbUnavailable (with the ways out) when no repository has it."""
    return _fetch_confluent("ksqldb", "ksqlDB", KSQLDB_POM, "ksqldb.version", version, quiet)


def fetch_schema_registry(version: str = SCHEMA_REGISTRY_VERSION,
                          quiet: bool = False) -> KafkaDistribution:
    """Resolve the Schema Registry server once (from the same repositories as ksqlDB)."""
    return _fetch_confluent("schema-registry", "Schema Registry", SCHEMA_REGISTRY_POM,
                            "schema.registry.version", version, quiet)


def _fetch_confluent(name: str, title: str, pom_template: Path, version_property: str,
                     version: str, quiet: bool) -> KafkaDistribution:
    """Resolve one of Confluent's servers into the cache: FRAUD_MAVEN_REPOS, Central,
    Confluent's repository; KsqlDbUnavailable (with the ways out) when none has it."""
    require_java()
    dist = KafkaDistribution(cache_root() / f"{name}-{version}")
    if dist.is_complete():
        return dist
    repositories = maven_repositories()

    def steps(staging: Path) -> None:
        pom = _pom_with_repositories(pom_template, repositories, staging / "pom.xml")
        log = staging / "maven.log"
        try:
            _mvn(["dependency:copy-dependencies", f"-D{version_property}={version}",
                  "-DincludeScope=runtime", f"-DoutputDirectory={staging / 'libs'}"],
                 log, pom=pom, what=f"{title} {version}")
        except FraudError as exc:
            if shutil.which("mvn") is None:
                raise
            raise KsqlDbUnavailable(KSQLDB_MISSING.format(
                title=title, version=version, why=f"Maven's log: {log}",
                confluent=CONFLUENT_MAVEN, var=EXTRA_REPOS_VAR)) from exc

    return _resolve(dist, f"{title} {version} from {', '.join(repositories)}", steps, quiet)
