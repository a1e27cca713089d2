"""The ACLs `plan` derives from the repository's templates (prod.example's principals): each
component gets what its part of the pipeline needs and nothing on the topics it has no business
with; plan adds what is missing and removes only a managed principal's stale rules on the
topology's own resources."""

from pathlib import Path

from test_pipeline_templates import SECRETS

from infra.topology.acls import Acl, Pattern, Resource, topology_acls
from infra.topology.environment import load_environment
from infra.topology.plan import CREATE, DELETE, UNCHANGED, LiveState, acl_changes
from infra.topology.validate import validate_offline

REPO = Path(__file__).resolve().parents[2]


def _derived():
    env = load_environment(REPO, "prod.example", environ=SECRETS, discover_local=False)
    specs, errors = validate_offline(REPO, env)
    assert errors == []
    return env, specs, topology_acls(env, specs)


def _rights(acls, user, resource=Resource.TOPIC):
    found: dict[str, set[str]] = {}
    for acl in acls:
        if acl.principal == user and acl.resource is resource:
            found.setdefault(acl.name, set()).add(acl.operation)
    return found


def test_each_component_gets_its_own_topics_and_no_other():
    env, _specs, acls = _derived()
    topics = env.variables["topics"]
    sidecar = _rights(acls, "fraud-sidecar")
    assert sidecar == {topics["features"]: {"read", "describe"},
                       topics["scored"]: {"write", "describe", "describe_configs"},
                       topics["scored"] + ".dlq": {"write", "describe", "describe_configs"},
                       topics["flagged"]: {"write", "describe", "describe_configs"},
                       topics["monitor_counts"]: {"write", "describe", "describe_configs"}}
    replayer = _rights(acls, "fraud-replayer")
    assert replayer == {topics["raw"]: {"write", "describe"},
                        topics["labels_raw"]: {"write", "describe"}}
    monitor = _rights(acls, "fraud-monitor")
    assert set(monitor) == set(topics.values()) | {topics["scored"] + ".dlq"}
    assert all(ops == {"read", "describe"} for ops in monitor.values())
    connect = _rights(acls, "fraud-connect")
    assert connect[topics["raw"]] == {"write", "describe"}
    assert connect[topics["alerts"]] == {"read", "describe"}
    ksqldb = _rights(acls, "fraud-ksqldb")
    assert "write" in ksqldb[topics["features"]] and "write" not in ksqldb[topics["raw"]]
    assert "write" not in ksqldb[topics["scored"]], "the sidecar writes scored, not ksqlDB"
    assert not any(a.principal == "fraud-operator" for a in acls), "the operator manages them"


def test_the_sidecar_transactions_and_group_follow_its_group_name():
    _env, _specs, acls = _derived()
    sidecar = {a for a in acls if a.principal == "fraud-sidecar"
               and a.resource is not Resource.TOPIC}
    assert sidecar == {
        Acl("fraud-sidecar", Resource.GROUP, "fraud-demo-prod.example", "read", Pattern.PREFIXED),
        Acl("fraud-sidecar", Resource.TRANSACTIONAL_ID, "fraud-scorer.fraud-demo-prod.example",
            "write", Pattern.PREFIXED),
        Acl("fraud-sidecar", Resource.TRANSACTIONAL_ID, "fraud-scorer.fraud-demo-prod.example",
            "describe", Pattern.PREFIXED)}


def test_plan_adds_the_missing_and_removes_only_stale_rules_on_its_own_resources():
    env, specs, acls = _derived()
    raw = env.variables["topics"]["raw"]
    stale = Acl("fraud-sidecar", Resource.TOPIC, raw, "read")  # on a topology topic: goes
    foreign = Acl("fraud-sidecar", Resource.TOPIC, "payments.other-team", "read")  # stays
    someone = Acl("alice", Resource.TOPIC, raw, "read")  # not a managed principal: stays
    live = LiveState(ksql={}, connectors={}, acls={*acls[:10], stale, foreign, someone})
    changes = acl_changes(env, specs, live)
    by_action = {action: {c.acl for c in changes if c.action == action}
                 for action in (CREATE, DELETE, UNCHANGED)}
    assert by_action[UNCHANGED] == set(acls[:10])
    assert by_action[CREATE] == set(acls[10:])
    assert by_action[DELETE] == {stale}


def test_the_component_passwords_are_secrets():
    env, _specs, _acls = _derived()
    sidecar = env.kafka("sidecar")
    assert sidecar.principal == "fraud-sidecar"
    assert env.secrets.mask(f"pw {sidecar.security['sasl.password']}") == "pw ***"
    assert "sidecar-secret-1" not in repr(sidecar)
