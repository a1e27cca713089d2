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
from infra.topology import ksql_statement
from infra.topology.environment import Environment
from infra.topology.kinds import ObjectKind

KSQL_DIR, CONNECT_DIR = "ksql", "connect"
_MISSING = object()


@dataclass
class ObjectSpec:
    """One desired object: a ksqlDB stream/table or a Kafka Connect connector."""

    kind: ObjectKind
    logical: str  # the file name without extension
    name: str  # the name on the server
    source: Path
    text: str  # the rendered statement, or the rendered JSON
    config: dict[str, str] | None = None  # connectors only
    refs: dict[str, int | None] = field(default_factory=dict)  # logical name -> line
    #: this query's own Kafka Streams settings (`query_properties()`), over the environment's
    query_properties: dict[str, str] = field(default_factory=dict)
    #: ksqlDB objects: the statement, parsed once when rendered
    statement: ksql_statement.Statement | None = None
    #: the registered value schema of this object's topic (`value_schema()`): its file
    value_schema: Path | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.logical}"

    @property
    def is_query(self) -> bool:
        """A ksqlDB object that a persistent query writes (CREATE ... AS SELECT)."""
        return self.statement is not None and self.statement.is_query


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


def template_files(project: Path) -> list[tuple[ObjectKind, Path]]:
    files = [(ObjectKind.KSQL, p) for p in sorted((project / KSQL_DIR).glob("*.sql"))]
    files += [(ObjectKind.CONNECT, p) for p in sorted((project / CONNECT_DIR).glob("*.json"))]
    return files


def render_project(project: Path, env: Environment,
                   only: str | None = None) -> tuple[list[ObjectSpec], list[TemplateError]]:
    """Render every template (or only one kind); returns the objects and every error found."""
    jinja_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(project)),
                                   undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                   autoescape=False)
    logical_kinds: dict[str, ObjectKind] = {}
    for kind, path in template_files(project):
        logical_kinds.setdefault(path.stem, kind)
    specs: list[ObjectSpec] = []
    errors: list[TemplateError] = []
    for kind, path in template_files(project):
        if only and kind != only:
            continue
        context = _TemplateContext(project, jinja_env, env, kind, path, logical_kinds)
        try:
            specs.append(context.render())
        except TemplateError as error:
            errors.append(error)
    return specs, errors


class _TemplateContext:
    """What one template sees (`this`, `ref()`, `var()`, ...) and what it recorded."""

    def __init__(self, project: Path, jinja_env: jinja2.Environment, env: Environment,
                 kind: ObjectKind, path: Path, logical_kinds: dict[str, ObjectKind]) -> None:
        self.rel = path.relative_to(project)
        self.template_name = self.rel.as_posix()
        self.jinja_env, self.env, self.kind = jinja_env, env, kind
        self.logical_kinds = logical_kinds
        self.refs: dict[str, int | None] = {}
        self.own_properties: dict[str, str] = {}
        self.value_schema: Path | None = None
        self.project = project
        self.this = self.name_of(path.stem, kind)

    def name_of(self, logical: str, kind: ObjectKind | None = None) -> str:
        kind = kind or self.logical_kinds.get(logical)
        return (self.env.connector_name(logical) if kind == ObjectKind.CONNECT
                else self.env.ksql_name(logical))

    def _abort(self, message: str) -> _Abort:
        return _Abort(_template_line(self.template_name, self.jinja_env), message)

    def query_properties(self, settings: dict) -> str:
        if self.kind != ObjectKind.KSQL or not isinstance(settings, dict):
            raise self._abort("query_properties() takes a mapping of Kafka Streams settings "
                              "and belongs in a ksql/ template")
        self.own_properties.update({str(k): str(v) for k, v in settings.items()})
        return ""

    def declare_value_schema(self, file: str) -> str:
        """`value_schema('ksql/schemas/x.schema.json')`: the topic's values follow this JSON
        Schema, which `apply` registers (where the object's VALUE_FORMAT is JSON_SR)."""
        path = self.project / file
        if self.kind != ObjectKind.KSQL or not path.is_file():
            raise self._abort(f"value_schema({file!r}): no such file in the project "
                              "(a JSON Schema file, named from the project's root)")
        self.value_schema = Path(file)
        return ""

    def ref(self, other: str) -> str:
        self.refs.setdefault(other, _template_line(self.template_name, self.jinja_env))
        return self.name_of(other)

    def depends_on(self, other: str) -> str:
        self.ref(other)
        return ""

    def var(self, dotted: str, default: Any = _MISSING) -> Any:
        value: Any = self.env.variables
        for part in dotted.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif default is not _MISSING:
                return default
            else:
                raise self._abort(f"unknown variable '{dotted}' (not in "
                                  f"{self.env.path.name} vars)")
        return value

    def secret(self, name: str) -> str:
        if name not in self.env.environ:
            raise self._abort(f"secret '{name}' is not set in the process environment (export "
                              f"{name}=...; see docs/OPERATIONS.md, 'Environments and "
                              "secrets')")
        try:
            return self.env.secrets.add(self.env.environ[name], f"secret '{name}'")
        except FraudError as exc:
            raise self._abort(str(exc)) from None

    def render(self) -> ObjectSpec:
        """The rendered object; TemplateError (file, line) where the template is at fault."""
        text = self._text()
        spec = ObjectSpec(self.kind, self.rel.stem, self.this, self.rel, text, refs=self.refs,
                          query_properties=self.own_properties, value_schema=self.value_schema)
        if self.kind == ObjectKind.CONNECT:
            spec.config = _connector_config(self.rel, self.this, text)
        else:
            try:
                spec.statement = ksql_statement.parse(text)
            except ksql_statement.StatementError as exc:
                raise TemplateError(self.rel, None, exc.message) from None
        return spec

    def _text(self) -> str:
        rel = self.rel
        try:
            return self.jinja_env.get_template(self.template_name).render(
                this=self.this, ref=self.ref, depends_on=self.depends_on, var=self.var,
                secret=self.secret, env_name=self.env.name,
                query_properties=self.query_properties, exactly_once=self.env.exactly_once,
                value_schema=self.declare_value_schema,
                value_format=self.env.value_format)
        except _Abort as exc:
            line, message = exc.args
            raise TemplateError(rel, line, message) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(rel, exc.lineno, f"template syntax error: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            filename = self.jinja_env.get_template(self.template_name).filename
            raise TemplateError(rel, _line_from_traceback(exc, filename),
                                f"undefined: {exc.message}") from None


def _connector_config(rel: Path, this: str, text: str) -> dict[str, str]:
    """A connector template's rendered JSON as Connect's flat config (without `name`)."""
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(rel, exc.lineno, f"invalid JSON after rendering: {exc.msg}") from None
    if not isinstance(config, dict) or "connector.class" not in config:
        raise TemplateError(rel, None, "a connector template must render to a JSON object with "
                                       "'connector.class'")
    if "name" in config and config["name"] != this:
        raise TemplateError(rel, None, f"'name' is {config['name']!r}; leave it out (the file "
                                       f"name makes it {this!r})")
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()
            if k != "name"}
