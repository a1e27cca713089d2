"""`fraudctl render|validate|plan|apply|destroy|status --env E [--only ksql|connect]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import ServerError
from fraudctl.options import confirm, project_environment, project_options
from infra.connect_client import connector_failure
from infra.ksql_client import query_problem
from infra.topology.apply import check_allowed
from infra.topology.engine import Engine, ValidationFailed, load_manifest
from infra.topology.environment import Environment
from infra.topology.kinds import Action, ObjectKind
from infra.topology.manifest import Manifest
from infra.topology.plan import teardown_order
from infra.topology.validate import validate_with_connect

PLAN_NO_CHANGES, PLAN_CHANGES = 0, 2


def _engine(args: argparse.Namespace) -> Engine:
    project, env = project_environment(args)
    return Engine.load(project, env, args.only)


def _skipped_note(env: Environment, only: str | None) -> None:
    for server, why in env.skipped.items():
        if only in (None, ObjectKind.of_server(server)):
            print(f"note: {server} objects are skipped: {why}", file=sys.stderr)


def cmd_render(args: argparse.Namespace) -> int:
    project, env = project_environment(args)
    specs = load_manifest(project, env, args.only)
    out = Path(args.out) if args.out else None
    for spec in specs:
        ksql = spec.kind == ObjectKind.KSQL
        text = (spec.text.strip() if ksql
                else json.dumps({"name": spec.name, "config": spec.config}, indent=2))
        text = env.secrets.mask(text)
        if out:
            target = out / spec.kind / (spec.logical + (".sql" if ksql else ".json"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text + "\n")
        else:
            print(f"-- {spec.source} -> {spec.name}\n{text}\n")
    if out:
        print(f"rendered {len(specs)} object(s) into {out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    engine = _engine(args)
    env, specs, connect = engine.env, engine.manifest, engine.connect
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
    engine = _engine(args)
    env, plan = engine.env, engine.plan().plan
    _skipped_note(env, args.only)
    if args.json:
        print(plan.to_json(env.secrets.mask))
    else:
        for change in plan.changes:
            if not (change.kind == ObjectKind.ACL and change.action == Action.UNCHANGED):
                print(env.secrets.mask(change.describe()))
        print(plan.summary())
    return PLAN_CHANGES if plan.pending else PLAN_NO_CHANGES


def cmd_apply(args: argparse.Namespace) -> int:
    engine = _engine(args)
    planned = engine.plan()
    env, plan = engine.env, planned.plan
    _skipped_note(env, args.only)
    for change in plan.pending:
        print(env.secrets.mask(change.describe()))
    print(plan.summary())
    if not plan.pending:
        print("No changes. The servers match the templates.")
        return 0
    check_allowed(plan, args.allow_recreate, args.allow_delete)
    confirm(f"Apply {len(plan.pending)} change(s) to '{env.name}'?", args.auto_approve, "apply")
    done = engine.carry_out(planned, wait_timeout=args.timeout)
    print(f"Applied: {done} step(s) for {len(plan.pending)} change(s).")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    engine = _engine(args)
    env = engine.env
    _skipped_note(env, args.only)
    planned = engine.destroy_plan(delete_topics=args.delete_topics)
    plan, live = planned.plan, planned.live
    if not plan.changes:
        print(f"Nothing to destroy: no object with prefix '{env.prefix}' on the servers.")
        return 0
    revoked = [c for c in plan.changes if c.kind == ObjectKind.ACL]
    subjects = [c for c in plan.changes if c.kind == ObjectKind.SCHEMA]
    for change in [*teardown_order(plan, live.ksql), *revoked, *subjects]:
        print(env.secrets.mask(change.describe()))
    topics = " and their topics" if args.delete_topics else " (topics are kept)"
    rules = f" and revoke {len(revoked)} ACL rule(s)" if revoked else ""
    rules += f" and delete {len(subjects)} schema subject(s)" if subjects else ""
    confirm(f"Destroy {len(plan.changes) - len(revoked) - len(subjects)} object(s){topics}"
            f"{rules} in '{env.name}'?", args.auto_approve, "destroy")
    done = engine.carry_out(planned, delete_topics=args.delete_topics)
    print(f"Destroyed: {done} step(s).")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    _project, env = project_environment(args)
    engine = Engine(env, Manifest([]), args.only).connected()
    ksql, connect = engine.ksql, engine.connect
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
