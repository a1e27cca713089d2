"""Carry out a plan: tear down (readers first), then build in dependency order, waiting for each
query to run and each connector to be RUNNING. Stops at the first failure and says what was
applied; running apply again computes a fresh plan and so resumes where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import Refused, ServerError
from infra.kafka_acl_client import create_acls, delete_acls
from infra.topology.derived_schemas import DERIVED_COMPATIBILITY
from infra.topology.kinds import Action, ObjectKind
from infra.topology.plan import Change, LiveSource, Plan, teardown_order
from infra.topology.state import StateStore

Log = Callable[[str], None]


#: ksqlDB's error code for a statement its Kafka principal is not authorized to run
KSQL_FORBIDDEN = 40301


class ApplyError(ServerError):
    """A step failed; the message names it, the server's words, and what was done."""


class ChangeNotAllowed(Refused):
    """The plan has changes that were not allowed, or that the servers would refuse."""


@dataclass
class Step:
    description: str
    run: Callable[[], None]


@dataclass
class ApplyResult:
    done: list[str] = field(default_factory=list)


def check_allowed(plan: Plan, allow_recreate: bool, allow_delete: bool) -> None:
    """Refuse destructive changes that were not allowed explicitly, before touching a server."""
    problems = []
    recreate = [c.name for c in plan.changes if c.action == Action.RECREATE]
    delete = [c.name for c in plan.changes if c.action == Action.DELETE]
    if recreate and not allow_recreate:
        problems.append(f"recreate {', '.join(recreate)} (pass --allow-recreate)")
    if delete and not allow_delete:
        problems.append(f"delete {', '.join(delete)} (pass --allow-delete)")
    blocked = [f"{c.name}: {c.blocked}" for c in plan.changes if c.blocked]
    if blocked:
        raise ChangeNotAllowed(
            "the plan has changes the servers would refuse:\n  " + "\n  ".join(blocked)
            + "\nNothing was changed. Keep the topics' settings (the environment's variables),"
            " or give the objects new topic names, or delete those topics once drained (their "
            "data is lost), then apply again.")
    if problems:
        raise ChangeNotAllowed("the plan has destructive changes that were not allowed: "
                               + "; ".join(problems) + ". Nothing was changed.")


def build_steps(plan: Plan, ksql, connect, live_sources: dict[str, LiveSource] | None,
                delete_topics: bool = False, wait_timeout: float = 120.0,
                state: StateStore | None = None, local_files: bool = False,
                kafka=None, registry=None) -> list[Step]:
    """Every server call the plan needs, in order: rules granted, schemas registered, objects
    torn down and built, rules revoked, subjects deleted (`kafka`: the operator's
    KafkaConnection, for the ACL changes; `registry`: the Schema Registry client).

    `state`: where each CREATE is recorded (see infra.topology.state); `local_files`: Connect
    runs on this machine, so the directories of the connectors' files are made first. Each
    query runs with the settings its change carries (the environment's and its own)."""
    # the rights first (ksqlDB creates topics as its own principal), revoked last
    # schemas before the streams over their topics: ksqlDB registers its own where a subject
    # is missing, and the sidecar frames its records with the registered id
    return (_acl_steps(plan, Action.CREATE, kafka)
            + _schema_steps(plan, registry, building=True)
            + _teardown_steps(plan, ksql, connect, live_sources, delete_topics)
            + _build_steps(plan, ksql, connect, live_sources, wait_timeout, state, local_files)
            + _acl_steps(plan, Action.DELETE, kafka)
            + _schema_steps(plan, registry, building=False))


def _teardown_steps(plan: Plan, ksql, connect, live_sources: dict[str, LiveSource] | None,
                    delete_topics: bool) -> list[Step]:
    """Connectors deleted, queries terminated and objects dropped, readers first."""
    steps: list[Step] = []
    still_using = _topic_users(live_sources)
    for change in teardown_order(plan, live_sources):
        if change.kind == ObjectKind.CONNECT:
            steps.append(Step(f"delete connector {change.name}",
                              _bind(connect.delete, change.name)))
            continue
        for query_id in change.terminate:
            steps.append(Step(f"terminate query {query_id} (writes {change.name})",
                              _bind(ksql.execute, f"TERMINATE {query_id};")))
        users = still_using.get(_topic_of(live_sources, change.name), set())
        users.discard(change.name)
        # ksqlDB deletes a topic only with its last source (several may share one)
        last = not users
        deleting = (delete_topics and change.action == Action.DELETE) or change.drops_topic
        topic = " DELETE TOPIC" if deleting and last else ""
        steps.append(Step(f"drop {change.live_type.lower()} {change.name}{topic}",
                          _bind(ksql.execute,
                                f"DROP {change.live_type} IF EXISTS {change.name}{topic};")))
    return steps


def _build_steps(plan: Plan, ksql, connect, live_sources: dict[str, LiveSource] | None,
                 wait_timeout: float, state: StateStore | None,
                 local_files: bool) -> list[Step]:
    """Objects created, updated or created again, in dependency order."""
    steps: list[Step] = []
    state_missing = state is not None and state.name not in (live_sources or {})
    for change in plan.changes:
        if not change.action.builds or change.kind in (ObjectKind.ACL, ObjectKind.SCHEMA):
            continue
        verb = change.action.verb
        if change.kind == ObjectKind.KSQL:
            if state_missing:  # once, before the first CREATE it records
                steps.append(Step("create the state stream (what fraudctl applied)",
                                  state.ensure))
                state_missing = False
            steps.append(Step(f"{verb} {change.name}",
                              _ksql_create(ksql, change, wait_timeout, state)))
        else:
            if change.restart:
                verb += " and restart"
            steps.append(Step(f"{verb} connector {change.name}",
                              _connector_put(connect, change, wait_timeout, local_files)))
    return steps


def _acl_steps(plan: Plan, action: Action, kafka) -> list[Step]:
    """One step per principal: grant (CREATE) or revoke (DELETE) its planned rules."""
    by_principal: dict[str, list[Change]] = {}
    for change in plan.changes:
        if change.kind == ObjectKind.ACL and change.action == action:
            by_principal.setdefault(change.acl.principal, []).append(change)
    verb, call = ("grant", create_acls) if action == Action.CREATE else ("revoke", delete_acls)
    return [Step(f"{verb} User:{principal} {len(changes)} ACL rule(s) (listed above)",
                 _bind(call, kafka, [c.acl for c in changes]))
            for principal, changes in sorted(by_principal.items())]


def _schema_steps(plan: Plan, registry, building: bool) -> list[Step]:
    """Register the subjects to create or change (`building`), or delete those to delete."""
    steps = []
    for change in plan.changes:
        if change.kind != ObjectKind.SCHEMA:
            continue
        if building and change.derived and change.action == Action.CREATE:
            steps.append(Step(f"set compatibility {DERIVED_COMPATIBILITY} on {change.name} "
                              "(ksqlDB registers its schema with the query)",
                              _bind(registry.set_compatibility, change.name,
                                    DERIVED_COMPATIBILITY)))
        elif building and change.action.builds and not change.derived:
            steps.append(Step(f"register schema {change.name}",
                              _bind(registry.register, change.name, change.schema)))
        elif not building and change.action == Action.DELETE:
            steps.append(Step(f"delete subject {change.name}",
                              _bind(registry.delete, change.name)))
    return steps


def _topic_users(live_sources: dict[str, LiveSource] | None) -> dict[str, set[str]]:
    """Topic -> the live sources reading or writing it (as streams or tables over it)."""
    users: dict[str, set[str]] = {}
    for source in (live_sources or {}).values():
        if source.topic:
            users.setdefault(source.topic, set()).add(source.name)
    return users


def _topic_of(live_sources: dict[str, LiveSource] | None, name: str) -> str:
    source = (live_sources or {}).get(name)
    return source.topic if source else ""


def _bind(fn, *args):
    return lambda: fn(*args)


def _ksql_create(ksql, change: Change, timeout: float, state: StateStore | None):
    def run() -> None:
        ksql.execute(_terminated(change.statement), properties=change.properties or None)
        if state is not None:  # recorded at once: a query that then fails to run is resumable
            state.record(change.name, change.statement, ksql.statement_of(change.name),
                         change.checksum)
        if change.query:
            ksql.wait_query_running(change.name, timeout)
    return run


def _terminated(statement: str) -> str:
    return statement if statement.rstrip().endswith(";") else statement.rstrip() + ";"


def _connector_put(connect, change: Change, timeout: float, local_files: bool):
    def run() -> None:
        if local_files and change.config.get("file"):
            Path(change.config["file"]).parent.mkdir(parents=True, exist_ok=True)
        connect.put_config(change.name, change.config)
        if change.restart:
            connect.restart(change.name)
        connect.wait_running(change.name, timeout)
    return run


def run_steps(steps: list[Step], mask: Callable[[str], str], log: Log) -> ApplyResult:
    result = ApplyResult()
    for i, step in enumerate(steps, 1):
        log(f"[{i}/{len(steps)}] {step.description} ...")
        try:
            step.run()
        except ServerError as exc:
            detail = str(exc)
            statement = getattr(exc, "statement", "")
            if statement:
                detail += f"\n  statement: {statement}"
            if (getattr(exc, "body", None) or {}).get("error_code") == KSQL_FORBIDDEN:
                detail += ("\n  ksqlDB's principal lacks a Kafka ACL: with `manage_acls: true` "
                           "plan grants what the templates need. ksqlDB remembers a refusal "
                           "for ksql.authorization.cache.expiry.time.secs (30 s by default): "
                           "after granting, wait that long before applying again.")
            not_done = [s.description for s in steps[i:]]
            raise ApplyError(mask(
                f"failed at step {i}/{len(steps)}: {step.description}\n  {detail}\n"
                f"applied before the failure: {', '.join(result.done) or 'nothing'}\n"
                f"not attempted: {', '.join(not_done) or 'nothing'}\n"
                "Fix the cause and run apply again: it plans afresh and resumes.")) from None
        result.done.append(step.description)
    return result
