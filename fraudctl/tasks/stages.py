"""When the pipeline stops moving: which server does not answer, and at which stage records
wait. The demo's waits and `fraudctl monitor` print this instead of a count that never moves."""

from __future__ import annotations

from core.errors import ServerError
from infra.topology.environment import Environment

#: how long one server may take to answer the check
CHECK_TIMEOUT = 3.0


def unanswered(env: Environment, sidecar_url: str | None = None) -> list[str]:
    """One sentence per server of the pipeline that does not answer (or, the sidecar, says it
    is stalled); [] when all answer."""
    problems = []
    if env.bootstrap_servers and (why := _kafka_problem(env)):
        problems.append(f"Kafka at {env.bootstrap_servers} does not answer ({why})")
    for name, config, path in (("Kafka Connect", env.connect, "/"),
                               ("ksqlDB", env.ksqldb, "/info")):
        if config is not None and (why := _rest_problem(config, path)):
            problems.append(f"{name} at {config.url} does not answer ({why})")
    if sidecar_url and (why := _sidecar_problem(sidecar_url)):
        problems.append(f"the sidecar at {sidecar_url} {why}")
    return [env.secrets.mask(p) for p in problems]


def waiting_stage(sent: int, scored: int, counted: int, labels_sent: int,
                  labels_matched: int) -> str:
    """The first stage whose count is behind the one before it."""
    if scored < sent:
        return (f"scoring: {sent - scored:,} replayed rows not yet scored (Connect's source, "
                "the features query in ksqlDB, or the sidecar)")
    if counted < scored:
        return (f"monitoring: {scored - counted:,} scored payments not yet counted (ksqlDB's "
                "monitoring queries)")
    if labels_matched < labels_sent:
        return (f"labels: {labels_sent - labels_matched:,} labels not yet matched to their "
                "payments (Connect's labels source, or ksqlDB's label join)")
    return "nothing: every stage has caught up"


def _kafka_problem(env: Environment) -> str | None:
    from core.kafka import verify

    try:
        verify(env.kafka(), timeout=CHECK_TIMEOUT)
    except ServerError as exc:
        return str(exc)
    return None


def _rest_problem(config, path: str) -> str | None:
    from dataclasses import replace

    from infra.rest import RestClient

    quick = replace(config, timeout=CHECK_TIMEOUT, retries=0)
    try:
        RestClient(quick).request("GET", path)
    except ServerError as exc:
        return str(exc).splitlines()[0][:200]
    return None


def _sidecar_problem(url: str) -> str | None:
    import requests

    try:
        answer = requests.get(url.rstrip("/") + "/healthz", timeout=CHECK_TIMEOUT)
    except requests.RequestException as exc:
        return f"does not answer ({type(exc).__name__})"
    if answer.status_code == 200:
        return None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    return (f"reports {body.get('status', answer.status_code)} for {body.get('seconds', '?')} s:"
            f" {body.get('reason', answer.text[:200])}")
