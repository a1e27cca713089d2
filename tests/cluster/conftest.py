"""The secured local cluster for the whole session (three brokers, two ksqlDB servers, Connect;
SASL_SSL, ACLs, HTTPS with basic authentication), on free ports in a temporary run directory.
These tests run with `make test-cluster` (FRAUD_TEST_CLUSTER=1)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from cluster_fixture import Cluster, password_variable

from infra.local.cluster import PRINCIPALS, ClusterConfig, LocalCluster, free_base_port


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    config = ClusterConfig(run_dir=tmp_path_factory.mktemp("cluster") / "run",
                           base_port=free_base_port())
    stack = LocalCluster(config)
    notes: list[str] = []
    try:
        endpoints = stack.up(timeout=420, log=notes.append)
    except Exception:
        print("\n".join(notes))
        raise
    assert endpoints["ksqldb_url"], "\n".join(notes)
    for principal in PRINCIPALS:  # what `${NAME}` placeholders in the environment read
        os.environ[password_variable(principal)] = stack.password(principal)
    try:
        yield Cluster(stack, endpoints)
    finally:
        stack.down(log=lambda *_: None)
