"""Kafka's ACLs through the admin API: list, create and delete `Acl` rules (infra.topology.acls).

Only allow rules on host `*` are managed: the rules `plan` derives. A broker without an
authorizer answers that it has none (`SECURITY_DISABLED`), which `list_acls` reports as None.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import ServerError
from core.kafka import QUIET_LOGGER, Connection, admin, connection, verify
from infra.topology.acls import CLUSTER_NAME, Acl, Pattern, Resource

TIMEOUT = 30.0
#: librdkafka calls Kafka's CLUSTER resource type (4) BROKER
LIBRDKAFKA_RESOURCE = {Resource.CLUSTER: "BROKER"}


def _types():
    from confluent_kafka.admin import (
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    return AclOperation, AclPermissionType, ResourcePatternType, ResourceType


def _binding(acl: Acl, as_filter: bool = False):
    """The admin API's rule (or, `as_filter`, the filter that matches exactly that rule)."""
    from confluent_kafka.admin import AclBinding, AclBindingFilter

    operation, permission, pattern, resource = _types()
    kind = AclBindingFilter if as_filter else AclBinding
    return kind(resource[LIBRDKAFKA_RESOURCE.get(acl.resource, acl.resource.upper())],
                acl.name, pattern[acl.pattern.upper()], f"User:{acl.principal}", "*",
                operation[acl.operation.upper()], permission.ALLOW)


def _acl(binding) -> Acl | None:
    """The Acl of a binding we manage (an allow rule for a user on any host), else None."""
    _, permission, _, _ = _types()
    if (binding.permission_type != permission.ALLOW or binding.host != "*"
            or not binding.principal.startswith("User:")):
        return None
    try:
        named = {v: k for k, v in LIBRDKAFKA_RESOURCE.items()}
        resource = named.get(binding.restype.name) or Resource(binding.restype.name.lower())
        pattern = Pattern(binding.resource_pattern_type.name.lower())
    except ValueError:
        return None
    return Acl(binding.principal[len("User:"):], resource,
               CLUSTER_NAME if resource is Resource.CLUSTER else binding.name,
               binding.operation.name.lower(), pattern)


def _client(target: Connection):
    return admin(target, {"logger": QUIET_LOGGER})


def list_acls(target: Connection) -> set[Acl] | None:
    """Every allow rule on the cluster; None where the brokers run no authorizer."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AclBindingFilter

    verify(target)  # a wrong password is an error at once, not a request that times out
    operation, permission, pattern, resource = _types()
    wanted = AclBindingFilter(resource.ANY, None, pattern.ANY, None, None, operation.ANY,
                              permission.ANY)
    client = _client(target)  # kept until the future is done: a dropped client cancels it
    try:
        bindings = client.describe_acls(wanted, request_timeout=TIMEOUT).result(timeout=TIMEOUT)
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        if getattr(err, "code", lambda: None)() == KafkaError.SECURITY_DISABLED:
            return None
        raise ServerError(f"{connection(target).where}: listing the cluster's ACLs failed: "
                          f"{exc}") from None
    return {acl for b in bindings if (acl := _acl(b)) is not None}


def create_acls(target: Connection, acls: Iterable[Acl]) -> int:
    """Create the rules not there yet; returns how many were created."""
    existing = list_acls(target)
    if existing is None:
        raise ServerError("the brokers run no authorizer, so ACLs cannot be created "
                          "(authorizer.class.name is not set)")
    new = sorted(set(acls) - existing)
    if not new:
        return 0
    client = _client(target)
    futures = client.create_acls([_binding(a) for a in new], request_timeout=TIMEOUT)
    for binding, future in futures.items():
        try:
            future.result(timeout=TIMEOUT)
        except Exception as exc:
            raise ServerError(f"creating ACL {binding} failed: {exc}") from None
    return len(new)


def delete_acls(target: Connection, acls: Iterable[Acl]) -> int:
    """Delete exactly these rules (each binding is its own filter); returns how many went."""
    wanted = sorted(set(acls))
    if not wanted:
        return 0
    client = _client(target)
    futures = client.delete_acls([_binding(a, as_filter=True) for a in wanted],
                                 request_timeout=TIMEOUT)
    deleted = 0
    for binding, future in futures.items():
        try:
            deleted += len(future.result(timeout=TIMEOUT))
        except Exception as exc:
            raise ServerError(f"deleting ACL {binding} failed: {exc}") from None
    return deleted
