"""The interactive notebook runs top to bottom on the real stack (ksqlDB included), so it
cannot rot: every cell executes in a real Jupyter kernel against this session's servers, in
an environment of its own, and its last tables must show both model versions it promoted."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from topology_project import copy_repo_project, run_fraudctl

pytestmark = [pytest.mark.ksqldb, pytest.mark.slow]

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "fraud_detection.ipynb"


def test_the_notebook_runs_top_to_bottom(stack, ksqldb_url, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="the notebook extra: pip install -e "
                                                      "'.[notebook]'")
    from nbclient import NotebookClient

    tag = uuid.uuid4().hex[:6]
    root = tmp_path / "repo"
    (tmp_path / "connect").mkdir()  # where the Connect worker of this session reads and writes
    copy_repo_project(root, tag, {"kafka": {"bootstrap_servers": stack.bootstrap_servers},
                                  "connect": {"url": stack.connect_url},
                                  "ksqldb": {"url": ksqldb_url}},
                      files={name: str(tmp_path / "connect" / f"{name}.txt")
                             for name in ("source", "alerts", "labels")}, base_env="local")
    monkeypatch.setenv("FRAUD_PROJECT", str(root))
    monkeypatch.setenv("FRAUD_ENV", "it")
    monkeypatch.setenv("FRAUD_NOTEBOOK_WORK", str(tmp_path / "work"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        run_fraudctl(root, "destroy", "--auto-approve", "--delete-topics")
    outputs = [out for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5, "plots render inline"
    last = notebook.cells[-1].outputs[0]["text"]
    assert last.startswith("sidecar stopped; model versions seen: ['")
    assert last.count("'") == 4, f"two model versions in the monitoring tables: {last}"
