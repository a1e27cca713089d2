"""Render `ksql/*.sql` and `connect/*.json` Jinja2 templates into objects with dependencies.

Inside a template:
- `{{ this }}`: the object's own name in this environment (prefix + file name);
- `{{ ref('other') }}`: the name of another object, recording the dependency;
- `{{ depends_on('other') }}`: records a dependency and renders nothing (for connectors);
- `{{ var('a.b', default) }}`: a variable from the environment file (no default: must exist);
- `{{ secret('NAME') }}`: a value from the process environment, masked in every output;
- `{{ query_properties({'ksql.streams.commit.interval.ms': 100}) }}`: Kafka Streams settings of
  this object's query, over the environment's `ksql_query_properties` (renders nothing);
- `{{ exactly_once }}`: true where the environment's delivery_guarantee is exactly_once.
Jinja2 runs with StrictUndefined: anything unknown is an error naming the file and line.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from core.errors import FraudError, TemplateError
from infra.topology.environment import Environment

KSQL_DIR, CONNECT_DIR = "ksql", "connect"
_MISSING = object()


@dataclass
class ObjectSpec:
    """One desired object: a ksqlDB stream/table or a Kafka Connect connector."""

    kind: str  # "ksql" or "connect"
    logical: str  # the file name without extension
    name: str  # the name on the server
    source: Path
    text: str  # the rendered statement, or the rendered JSON
    config: dict[str, str] | None = None  # connectors only
    refs: dict[str, int | None] = field(default_factory=dict)  # logical name -> line
    #: this query's own Kafka Streams settings (`query_properties()`), over the environment's
    query_properties: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.logical}"


class _Abort(Exception):
    """Raised inside a template to stop rendering with a located error."""


def _template_line(template_name: str, jinja_env: jinja2.Environment) -> int | None:
    """The template line of the innermost frame that belongs to `template_name`."""
    frame = sys._getframe(1)
    template = jinja_env.get_template(template_name)
    while frame is not None:
        if frame.f_code.co_filename == template.filename:
            return template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None


def _line_from_traceback(exc: BaseException, filename: str) -> int | None:
    line = None
    for entry in traceback.extract_tb(exc.__traceback__):
        if entry.filename == filename:
            line = entry.lineno
    return line


def template_files(project: Path) -> list[tuple[str, Path]]:
    files = [("ksql", p) for p in sorted((project / KSQL_DIR).glob("*.sql"))]
    files += [("connect", p) for p in sorted((project / CONNECT_DIR).glob("*.json"))]
    return files


def render_project(project: Path, env: Environment,
                   only: str | None = None) -> tuple[list[ObjectSpec], list[TemplateError]]:
    """Render every template (or only one kind); returns the objects and every error found."""
    jinja_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(project)),
                                   undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                   autoescape=False)
    logical_kinds: dict[str, str] = {}
    for kind, path in template_files(project):
        logical_kinds.setdefault(path.stem, kind)
    specs: list[ObjectSpec] = []
    errors: list[TemplateError] = []
    for kind, path in template_files(project):
        if only and kind != only:
            continue
        spec, error = _render_one(project, jinja_env, env, kind, path, logical_kinds)
        if error:
            errors.append(error)
        elif spec:
            specs.append(spec)
    return specs, errors


def _render_one(project: Path, jinja_env: jinja2.Environment, env: Environment, kind: str,
                path: Path, logical_kinds: dict[str, str]):
    rel = path.relative_to(project)
    template_name = rel.as_posix()
    logical = path.stem
    refs: dict[str, int | None] = {}
    own_properties: dict[str, str] = {}

    def query_properties(settings: dict) -> str:
        if kind != "ksql" or not isinstance(settings, dict):
            raise _Abort(_template_line(template_name, jinja_env),
                         "query_properties() takes a mapping of Kafka Streams settings and "
                         "belongs in a ksql/ template")
        own_properties.update({str(k): str(v) for k, v in settings.items()})
        return ""

    def name_of(other: str) -> str:
        return (env.connector_name(other) if logical_kinds.get(other) == "connect"
                else env.ksql_name(other))

    def ref(other: str) -> str:
        refs.setdefault(other, _template_line(template_name, jinja_env))
        return name_of(other)

    def depends_on(other: str) -> str:
        ref(other)
        return ""

    def var(dotted: str, default: Any = _MISSING) -> Any:
        value: Any = env.variables
        for part in dotted.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif default is not _MISSING:
                return default
            else:
                line = _template_line(template_name, jinja_env)
                raise _Abort(line, f"unknown variable '{dotted}' (not in {env.path.name} vars)")
        return value

    def secret(name: str) -> str:
        if name not in env.environ:
            raise _Abort(_template_line(template_name, jinja_env),
                         f"secret '{name}' is not set in the process environment (export "
                         f"{name}=...; see docs/OPERATIONS.md, 'Environments and secrets')")
        try:
            return env.secrets.add(env.environ[name], f"secret '{name}'")
        except FraudError as exc:
            raise _Abort(_template_line(template_name, jinja_env), str(exc)) from None

    this = env.connector_name(logical) if kind == "connect" else env.ksql_name(logical)
    try:
        template = jinja_env.get_template(template_name)
        text = template.render(this=this, ref=ref, depends_on=depends_on, var=var,
                               secret=secret, env_name=env.name,
                               query_properties=query_properties,
                               exactly_once=env.exactly_once)
    except _Abort as exc:
        line, message = exc.args
        return None, TemplateError(rel, line, message)
    except jinja2.TemplateSyntaxError as exc:
        return None, TemplateError(rel, exc.lineno, f"template syntax error: {exc.message}")
    except jinja2.UndefinedError as exc:
        filename = jinja_env.get_template(template_name).filename
        return None, TemplateError(rel, _line_from_traceback(exc, filename),
                                   f"undefined: {exc.message}")
    spec = ObjectSpec(kind, logical, this, rel, text, refs=refs,
                      query_properties=own_properties)
    if kind == "connect":
        try:
            config = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, TemplateError(rel, exc.lineno,
                                       f"invalid JSON after rendering: {exc.msg}")
        if not isinstance(config, dict) or "connector.class" not in config:
            return None, TemplateError(rel, None, "a connector template must render to a JSON "
                                                  "object with 'connector.class'")
        if "name" in config and config["name"] != this:
            return None, TemplateError(rel, None, f"'name' is {config['name']!r}; leave it out "
                                                  f"(the file name makes it {this!r})")
        spec.config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()
                       if k != "name"}
    return spec, None
