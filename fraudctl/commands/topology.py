"""`fraudctl render|validate|plan|apply|destroy|status --env E [--only ksql|connect]`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from core.errors import ServerError, TemplateError
from fraudctl.options import confirm, project_environment, project_options
from infra.connect_client import ConnectClient, connector_failure
from infra.ksql_client import KsqlClient, query_problem
from infra.topology.acls import topology_acls
from infra.topology.apply import build_steps, check_allowed, run_steps
from infra.topology.environment import Environment
from infra.topology.plan import (
    UNCHANGED,
    LiveState,
    Plan,
    destroy_plan,
    make_plan,
    teardown_order,
)
from infra.topology.render import ObjectSpec
from infra.topology.state import StateStore
from infra.topology.validate import validate_offline, validate_with_connect

PLAN_NO_CHANGES, PLAN_CHANGES = 0, 2


class ValidationFailed(TemplateError):
    """Validation found problems; the message lists each with its template and line."""

    def __init__(self, message: str) -> None:
        super().__init__(None, None, message)


def _specs(project: Path, env: Environment, only: str | None) -> list[ObjectSpec]:
    specs, errors = validate_offline(project, env, only)
    if errors:
        raise ValidationFailed(env.secrets.mask(
            f"{len(errors)} problem(s) in the templates:\n" + "\n".join(f"  {e}" for e in errors)))
    return specs


def _clients(env: Environment, only: str | None):
    ksql = KsqlClient(env.ksqldb) if env.ksqldb and only in (None, "ksql") else None
    connect = ConnectClient(env.connect) if env.connect and only in (None, "connect") else None
    return ksql, connect


def _skipped_note(env: Environment, only: str | None) -> None:
    for kind, why in env.skipped.items():
        wanted = {"ksqldb": "ksql", "connect": "connect"}[kind]
        if only in (None, wanted):
            print(f"note: {kind} objects are skipped: {why}", file=sys.stderr)


@dataclass
class Planned:
    """A plan and what it was made from: the environment, the live state and the clients."""

    env: Environment
    plan: Plan
    live: LiveState
    ksql: KsqlClient | None
    connect: ConnectClient | None


def _plan(args: argparse.Namespace) -> Planned:
    project, env = project_environment(args)
    if args.only:  # a part of the templates implies only part of the rights: leave ACLs be
        env = dataclasses.replace(env, manage_acls=False)
    specs = _specs(project, env, args.only)
    ksql, connect = _clients(env, args.only)
    live = LiveState.read(ksql, connect, env.ksql_prefix, _acl_reader(env))
    return Planned(env, make_plan(env, specs, live), live, ksql, connect)


def _acl_reader(env: Environment):
    """The operator's Kafka connection where the environment manages ACLs, else None."""
    return env.kafka() if env.manage_acls else None


def cmd_render(args: argparse.Namespace) -> int:
    project, env = project_environment(args)
    specs = _specs(project, env, args.only)
    out = Path(args.out) if args.out else None
    for spec in specs:
        text = (spec.text.strip() if spec.kind == "ksql"
                else json.dumps({"name": spec.name, "config": spec.config}, indent=2))
        text = env.secrets.mask(text)
        if out:
            target = out / spec.kind / (spec.logical + (".sql" if spec.kind == "ksql" else ".json"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text + "\n")
        else:
            print(f"-- {spec.source} -> {spec.name}\n{text}\n")
    if out:
        print(f"rendered {len(specs)} object(s) into {out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    project, env = project_environment(args)
    specs = _specs(project, env, args.only)
    _, connect = _clients(env, args.only)
    checked = "templates"
    if connect is not None and not _reachable(connect):
        print(f"note: Kafka Connect at {connect.base_url} does not answer; its own config "
              "validation was not run", file=sys.stderr)
        connect = None
    if connect is not None:
        errors = validate_with_connect(specs, connect)
        if errors:
            raise ValidationFailed(env.secrets.mask("Kafka Connect rejected connector configs:\n"
                                                    + "\n".join(f"  {e}" for e in errors)))
        checked += " and Connect's own config validation"
    _skipped_note(env, args.only)
    print(f"valid: {len(specs)} object(s) for '{env.name}' ({checked})")
    return 0


def _reachable(client) -> bool:
    try:
        client.request("GET", "/", retry=False, timeout=5)
    except ServerError as exc:
        return exc.status is not None
    return True


def cmd_plan(args: argparse.Namespace) -> int:
    planned = _plan(args)
    env, plan = planned.env, planned.plan
    _skipped_note(env, args.only)
    if args.json:
        print(plan.to_json(env.secrets.mask))
    else:
        for change in plan.changes:
            if not (change.kind == "acl" and change.action == UNCHANGED):  # counted below
                print(env.secrets.mask(change.describe()))
        print(plan.summary())
    return PLAN_CHANGES if plan.pending else PLAN_NO_CHANGES


def cmd_apply(args: argparse.Namespace) -> int:
    planned = _plan(args)
    env, plan = planned.env, planned.plan
    _skipped_note(env, args.only)
    for change in plan.pending:
        print(env.secrets.mask(change.describe()))
    print(plan.summary())
    if not plan.pending:
        print("No changes. The servers match the templates.")
        return 0
    check_allowed(plan, args.allow_recreate, args.allow_delete)
    done = _carry_out(planned, args.auto_approve, "apply",
                      f"Apply {len(plan.pending)} change(s) to '{env.name}'?",
                      wait_timeout=args.timeout)
    print(f"Applied: {done} step(s) for {len(plan.pending)} change(s).")
    return 0


def _carry_out(planned: Planned, auto_approve: bool, what: str, question: str,
               **step_options) -> int:
    """Confirm, then run every step of the plan; returns the number of steps done. (Each
    CREATE is recorded in the state stream; a destroy plan has none.)"""
    confirm(question, auto_approve, what)
    env, ksql = planned.env, planned.ksql
    state = StateStore(ksql, env.ksql_prefix, env.secrets.mask) if ksql is not None else None
    steps = build_steps(planned.plan, ksql, planned.connect, planned.live.ksql, state=state,
                        local_files=env.local_stack or env.local_cluster,
                        kafka=_acl_reader(env), **step_options)
    return len(run_steps(steps, env.secrets.mask, print).done)


def cmd_destroy(args: argparse.Namespace) -> int:
    project, env = project_environment(args)
    ksql, connect = _clients(env, args.only)
    _skipped_note(env, args.only)
    acls = None
    if env.manage_acls and not args.only:  # what the templates grant goes too
        acls = topology_acls(env, _specs(project, env, None))
    live = LiveState.read(ksql, connect, env.ksql_prefix, _acl_reader(env) if acls else None)
    plan = destroy_plan(env, live, acls)
    if not plan.changes:
        print(f"Nothing to destroy: no object with prefix '{env.prefix}' on the servers.")
        return 0
    revoked = [c for c in plan.changes if c.kind == "acl"]
    for change in [*teardown_order(plan, live.ksql), *revoked]:
        print(env.secrets.mask(change.describe()))
    topics = " and their topics" if args.delete_topics else " (topics are kept)"
    rules = f" and revoke {len(revoked)} ACL rule(s)" if revoked else ""
    done = _carry_out(Planned(env, plan, live, ksql, connect), args.auto_approve, "destroy",
                      f"Destroy {len(plan.changes) - len(revoked)} object(s){topics}{rules} "
                      f"in '{env.name}'?",
                      delete_topics=args.delete_topics)
    print(f"Destroyed: {done} step(s).")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    _project, env = project_environment(args)
    ksql, connect = _clients(env, args.only)
    _skipped_note(env, args.only)
    healthy = True
    if connect is not None:
        for name, item in sorted(connect.connectors().items()):
            if not name.startswith(env.prefix):
                continue
            status = item["status"]
            tasks = ", ".join(f"task {t['id']} {t['state']}" for t in status.get("tasks", []))
            print(f"connector {name}: {status['connector']['state']} ({tasks or 'no tasks'})")
            failure = connector_failure(status)
            if failure:
                print(f"  {failure}")
            healthy &= status["connector"]["state"] == "RUNNING" and bool(
                status.get("tasks")) and all(t["state"] == "RUNNING" for t in status["tasks"])
    if ksql is not None:
        for query in ksql.queries():
            sinks = [s for s in query.get("sinks", []) if s.startswith(env.ksql_prefix)]
            if sinks:
                problem = query_problem(query)
                print(f"query {query['id']} -> {', '.join(sinks)}: "
                      f"{'RUNNING' if problem is None else 'NOT RUNNING (' + problem + ')'}")
                healthy &= problem is None
    return 0 if healthy else 3


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False, parents=[project_options()])
    common.add_argument("--only", choices=("ksql", "connect"), help="one kind of object")
    render = sub.add_parser("render", parents=[common], help="print statements and configs")
    render.add_argument("--out", help="write them into this directory instead")
    render.set_defaults(func=cmd_render)
    sub.add_parser("validate", parents=[common],
                   help="check templates (and Connect configs where reachable)").set_defaults(
        func=cmd_validate)
    plan = sub.add_parser("plan", parents=[common],
                          help="diff against the servers (exit 0 none, 2 changes, 1 error)")
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(func=cmd_plan)
    apply = sub.add_parser("apply", parents=[common], help="carry out the plan")
    apply.add_argument("--auto-approve", action="store_true")
    apply.add_argument("--allow-recreate", action="store_true")
    apply.add_argument("--allow-delete", action="store_true")
    apply.add_argument("--timeout", type=float, default=120.0,
                       help="seconds to wait for each query/connector to run")
    apply.set_defaults(func=cmd_apply)
    destroy = sub.add_parser("destroy", parents=[common], help="remove every owned object")
    destroy.add_argument("--auto-approve", action="store_true")
    destroy.add_argument("--delete-topics", action="store_true",
                         help="also delete the topics of dropped streams and tables")
    destroy.set_defaults(func=cmd_destroy)
    sub.add_parser("status", parents=[common], help="connectors, tasks and queries").set_defaults(
        func=cmd_status)
