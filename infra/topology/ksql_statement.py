"""Read just enough of a KSQL CREATE statement: its name and shape, a normal form, a diff class.

Normal form: comments removed, whitespace collapsed, keywords and unquoted identifiers
upper-cased (quoted strings and back-quoted identifiers kept), `OR REPLACE` and the final `;`
dropped, and WITH properties parsed into a mapping. Two statements with the same normal form
are the same object definition, so an unchanged statement is never re-submitted.

Which changes ksqlDB can apply in place with CREATE OR REPLACE (ksqlDB docs, "How to update a
running persistent query"): adding columns at the end of a source's schema; for stateless
queries (no JOIN, GROUP BY or WINDOW), changing the WHERE filter and appending projected
columns. Anything else is a recreate: terminate, drop, create.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.errors import TemplateError

_CREATE = re.compile(
    r"^CREATE\s+(?:OR\s+REPLACE\s+)?(?P<kind>STREAM|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>`[^`]+`|[A-Z_][A-Z0-9_]*)\s*", re.S)


class StatementError(TemplateError):
    """The file's text is not exactly one CREATE STREAM/TABLE statement (the caller knows the
    file: `render` gives it one)."""

    def __init__(self, message: str) -> None:
        super().__init__(None, None, message)


def strip_comments(text: str) -> str:
    """Remove -- and /* */ comments outside quoted strings."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in "'`":
            j = i + 1
            while j < n:
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:  # doubled quote escapes itself
                        j += 2
                        continue
                    break
                j += 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _tokens_upper(text: str) -> str:
    """Collapse whitespace, upper-case and space punctuation uniformly, outside quotes only."""
    parts = re.split(r"('(?:[^']|'')*'|`[^`]*`)", text)
    norm = []
    for k, part in enumerate(parts):
        if k % 2:
            norm.append(part)  # a quoted string or identifier stays exactly as written
            continue
        part = re.sub(r"\s+", " ", part).upper()
        part = re.sub(r"\s*([(),=;])\s*", r"\1", part)
        part = re.sub(r"\)(?=[A-Z0-9_])", ") ", part)  # keep ") AS X" apart
        part = part.replace(",", ", ")
        norm.append(part)
    text = "".join(norm)
    text = re.sub(r"\)(?=[`'])", ") ", text)
    return text.strip()


def split_statements(text: str) -> list[str]:
    """Split on `;` outside quotes; empty pieces dropped."""
    pieces, current, quote = [], [], None
    for c in strip_comments(text):
        if quote:
            current.append(c)
            if c == quote:
                quote = None
        elif c in "'`":
            quote = c
            current.append(c)
        elif c == ";":
            pieces.append("".join(current))
            current = []
        else:
            current.append(c)
    pieces.append("".join(current))
    return [p.strip() for p in pieces if p.strip()]


_TYPE_BEFORE_ANGLE = re.compile(r"(?:ARRAY|MAP|STRUCT)\s*$", re.I)


def _split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside brackets and quotes. `<` opens a bracket only after ARRAY, MAP or
    STRUCT (a type's parameters); elsewhere `<` and `>` compare, as in `CASE WHEN X > 1`."""
    items, depth, angles, current, quote = [], 0, 0, [], None
    for c in text:
        if quote:
            current.append(c)
            if c == quote:
                quote = None
            continue
        if c in "'`":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "<" and _TYPE_BEFORE_ANGLE.search("".join(current[-12:])):
            angles += 1
        elif c == ">" and angles:
            angles -= 1
        elif c == sep and depth == 0 and angles == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(c)
    if "".join(current).strip():
        items.append("".join(current).strip())
    return items


def _find_top_level(text: str, word: str, start: int = 0) -> int:
    """Index of keyword `word` at parenthesis depth 0 outside quotes, or -1."""
    depth, quote, i = 0, None, start
    pattern = re.compile(rf"\b{word}\b")
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "'`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and pattern.match(text, i) and (i == 0 or (not text[i - 1].isalnum()
                                                         and text[i - 1] != "_")):
            return i
        i += 1
    return -1


@dataclass
class Statement:
    """A parsed CREATE STREAM/TABLE [AS SELECT] statement in normal form."""

    kind: str  # STREAM or TABLE
    name: str
    normal: str  # the whole statement in normal form, WITH properties sorted
    columns: list[str] = field(default_factory=list)  # source schema, normal form
    properties: dict[str, str] = field(default_factory=dict)
    select_items: list[str] = field(default_factory=list)
    source_clause: str = ""  # FROM ... up to WHERE/GROUP/PARTITION/EMIT
    where: str = ""
    tail: str = ""  # GROUP BY / PARTITION BY / HAVING / WINDOW / EMIT

    @property
    def is_query(self) -> bool:
        return bool(self.select_items)

    @property
    def is_stateful(self) -> bool:
        text = f"{self.source_clause} {self.tail}"
        return any(re.search(rf"\b{w}\b", text) for w in ("JOIN", "GROUP BY", "WINDOW"))

    @property
    def reads(self) -> tuple[str, ...]:
        """The streams and tables a query reads (after FROM and JOIN), in order."""
        return tuple(re.findall(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)",
                                self.source_clause))

    @property
    def is_stream_stream_join(self) -> bool:
        """A JOIN with a WITHIN window. ksqlDB 7.9 replaces no stateful query, not even with
        the same text ("Upgrades not yet supported for StreamStreamJoin", "... for
        StreamWindowedAggregate"); this one, recreated, also writes its matches again."""
        return bool(re.search(r"\bJOIN\b.*\bWITHIN\b", self.source_clause, flags=re.S))


def parse(text: str) -> Statement:
    """Parse one statement; StatementError if there is not exactly one CREATE STREAM/TABLE."""
    statements = split_statements(text)
    if not statements:
        raise StatementError("no statement found (expected one CREATE STREAM or CREATE TABLE)")
    if len(statements) > 1:
        raise StatementError(f"{len(statements)} statements found; a file defines exactly one "
                             "object with one CREATE STREAM or CREATE TABLE")
    body = _tokens_upper(statements[0])
    match = _CREATE.match(body)
    if not match:
        raise StatementError(f"expected CREATE STREAM or CREATE TABLE, found "
                             f"'{body[:40]}...'")
    stmt = Statement(kind=match["kind"], name=match["name"].strip("`"), normal="")
    rest = body[match.end():]
    as_at = _find_top_level(rest, "AS")
    head, query = (rest[:as_at], rest[as_at + 2:].strip()) if as_at >= 0 else (rest, "")
    head = head.strip()
    if head.startswith("("):
        depth = 0
        for i, c in enumerate(head):
            depth += c == "("
            depth -= c == ")"
            if depth == 0:
                stmt.columns = _split_top_level(head[1:i])
                head = head[i + 1:].strip()
                break
    if head.startswith("WITH"):
        props = head[4:].strip()
        stmt.properties = _properties(props[1:props.rfind(")")])
    if query:
        _parse_query(stmt, query)
    with_text = ", ".join(f"{k}={v}" for k, v in sorted(stmt.properties.items()))
    schema = f"({', '.join(stmt.columns)})" if stmt.columns else ""
    where = f" WHERE {stmt.where}" if stmt.where else ""
    tail = f" {stmt.tail}" if stmt.tail else ""
    select = (f" AS SELECT {', '.join(stmt.select_items)} {stmt.source_clause}{where}{tail}"
              if stmt.is_query else "")
    stmt.normal = (f"CREATE {stmt.kind} {stmt.name}{schema}"
                   f"{' WITH(' + with_text + ')' if with_text else ''}{select}").strip()
    return stmt


def _properties(text: str) -> dict[str, str]:
    props = {}
    for item in _split_top_level(text):
        key, _, value = item.partition("=")
        props[key.strip().strip("`").upper()] = value.strip()
    return props


def _parse_query(stmt: Statement, query: str) -> None:
    if not query.startswith("SELECT"):
        raise StatementError("expected SELECT after AS")
    from_at = _find_top_level(query, "FROM")
    if from_at < 0:
        raise StatementError("the SELECT has no FROM")
    stmt.select_items = _split_top_level(query[6:from_at].strip())
    rest = query[from_at:]
    # grammar: FROM source [JOIN ...] [WINDOW ...] [WHERE] [GROUP BY] [PARTITION BY] [HAVING]
    ends = [i for w in ("WHERE", "GROUP", "PARTITION", "HAVING", "EMIT")
            if (i := _find_top_level(rest, w)) > 0]
    first_end = min(ends) if ends else len(rest)
    stmt.source_clause = rest[:first_end].strip()
    remainder = rest[first_end:].strip()
    if remainder.startswith("WHERE"):
        tail_starts = [i for w in ("GROUP", "PARTITION", "HAVING", "EMIT")
                       if (i := _find_top_level(remainder, w)) > 0]
        cut = min(tail_starts) if tail_starts else len(remainder)
        stmt.where = remainder[5:cut].strip()
        remainder = remainder[cut:].strip()
    stmt.tail = re.sub(r"\s*EMIT CHANGES$", "", remainder).strip()


def same_definition(desired: Statement, live: Statement) -> bool:
    """True if `live` (as the server reports it) defines what `desired` asks for.

    The server may add WITH properties of its own (defaults such as KEY_FORMAT or PARTITIONS):
    every desired property must be present with the same value, extra live ones are allowed.
    """
    if (desired.kind, desired.name, desired.columns) != (live.kind, live.name, live.columns):
        return False
    if any(live.properties.get(k) != v for k, v in desired.properties.items()):
        return False
    return (desired.select_items, desired.source_clause, desired.where, desired.tail) == (
        live.select_items, live.source_clause, live.where, live.tail)


def change_class(desired: Statement, live: Statement) -> tuple[str, str]:
    """('update', why) if CREATE OR REPLACE can apply the change, else ('recreate', why)."""
    if desired.kind != live.kind:
        return "recreate", f"{live.kind} becomes {desired.kind}"
    if desired.is_query != live.is_query:
        return "recreate", "a source becomes a query or the other way round"
    if any(live.properties.get(k) != v for k, v in desired.properties.items()):
        changed = sorted(k for k, v in desired.properties.items() if live.properties.get(k) != v)
        return "recreate", f"WITH properties change ({', '.join(changed)})"
    if not desired.is_query:
        if desired.columns[:len(live.columns)] == live.columns:
            added = len(desired.columns) - len(live.columns)
            return "update", f"{added} column(s) added at the end"
        return "recreate", "existing columns change"
    inputs = _new_inputs(desired, live)
    if live.is_stateful or desired.is_stateful:
        return "recreate", "a stateful query (JOIN, GROUP BY or WINDOW) changes" + inputs
    if desired.source_clause != live.source_clause or desired.tail != live.tail:
        return "recreate", "the FROM, PARTITION BY or EMIT clause changes" + inputs
    if desired.select_items[:len(live.select_items)] != live.select_items:
        return "recreate", "existing projected columns change"
    parts = []
    if desired.where != live.where:
        parts.append("filter changes")
    if len(desired.select_items) > len(live.select_items):
        parts.append("columns appended")
    return "update", " and ".join(parts) or "formatting only"


def _new_inputs(desired: Statement, live: Statement) -> str:
    """What a recreated query reads instead, where its inputs change: it starts from what the
    new inputs hold, and what only the old ones held is not counted again."""
    if set(desired.reads) == set(live.reads):
        return ""
    return (f"; it reads {', '.join(desired.reads)} instead of {', '.join(live.reads)}: "
            "rebuilt from what those hold, not from the old input's history")
