"""Every subcommand with bad values: one clear line naming the option (or setting, or key) and
what is allowed, a non-zero exit, and never a Python traceback."""

from __future__ import annotations

import pytest
import yaml
from topology_project import make_project

from fraudctl.cli import main

DATA = "tests/does-not-matter.csv"
SCORE = ["score", "--bootstrap-servers", "127.0.0.1:1", "--model", "/nonexistent"]
CASES = [
    (["train", "--data", DATA, "--out", "x", "--epochs", "0"], {}, "--epochs"),
    (["train", "--data", DATA, "--out", "x", "--hidden", "20,abc"], {}, "--hidden"),
    (["train", "--data", DATA, "--out", "x", "--fpr", "2"], {}, "--fpr"),
    (["train", "--data", DATA, "--out", "x", "--batch-size", "-1"], {}, "--batch-size"),
    (["evaluate", "--model", "m", "--data", DATA, "--fpr", "0"], {}, "--fpr"),
    (["data", "synth", "--out", "x.csv", "--rows", "0"], {}, "--rows"),
    (["data", "synth", "--out", "x.csv", "--fraud-rate", "2"], {}, "--fraud-rate"),
    ([*SCORE, "--batch-size", "abc"], {}, "--batch-size"),
    (SCORE, {"FRAUD_BATCH_SIZE": "abc"}, "FRAUD_BATCH_SIZE"),
    (SCORE, {"FRAUD_BATCH_WAIT_MS": "xyz"}, "FRAUD_BATCH_WAIT_MS"),
    (SCORE, {"FRAUD_HTTP_PORT": "http"}, "FRAUD_HTTP_PORT"),
    (["replay", "--data", DATA, "--rate", "-5"], {}, "--rate"),
    (["replay", "--data", DATA, "--limit", "0"], {}, "--limit"),
    (["replay", "--data", DATA, "--file", "x.csv"], {}, "--file"),
    (["replay", "--data", DATA, "--to", "file", "--file", ""], {}, "--file"),
    (["monitor", "--interval", "-1"], {}, "--interval"),
    (["local", "up", "--kafka-port", "abc"], {}, "--kafka-port"),
    (["local"], {}, "COMMAND"),
]


@pytest.mark.parametrize(("argv", "environ", "named"), CASES,
                         ids=[" ".join(c[0][:3]) + " " + c[2] for c in CASES])
def test_bad_value_is_one_clear_line(argv, environ, named, monkeypatch, capsys, tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "does-not-matter.csv").write_text("Time,V1\n")
    monkeypatch.chdir(tmp_path)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out = capsys.readouterr()
    text = out.out + out.err
    assert code == 2, text
    assert named in out.err, out.err
    assert "Traceback" not in text


def test_train_refuses_an_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "data.csv").write_text("Time,V1\n")
    (tmp_path / "model").write_text("a file, not a directory")
    code = main(["train", "--data", str(tmp_path / "data.csv"), "--out", str(tmp_path / "model")])
    assert code == 2 and "--out" in capsys.readouterr().err


@pytest.mark.parametrize(("change", "key_path"), [
    ({"vars": {"partitions": "three"}}, "vars.partitions"),
    ({"vars": {"partitions": -3}}, "vars.partitions"),
    ({"vars": {"partitions": [1, 2]}}, "vars.partitions"),
    ({"servers": {"local_stack": "yes please"}}, "servers.local_stack"),
    ({"servers": {"connect": {"url": 12345}}}, "servers.connect.url"),
    ({"servers": {"ksqldb": {"url": "http://k:8088", "timeout": "thirty"}}},
     "servers.ksqldb.timeout"),
    ({"servers": {"ksqldb": {}}}, "servers.ksqldb.url: missing"),
    ({"vars": {"topics": {"raw": 7}}}, "vars.topics.raw"),
    ({"extra": 1}, "extra: unknown key"),
])
def test_environment_file_schema_names_the_key(change, key_path, tmp_path, capsys):
    env = {"prefix": "t_", "servers": {}, "vars": {"partitions": 1, "topics": {"raw": "r"}}}
    for key, value in change.items():
        env[key] = {**env.get(key, {}), **value} if isinstance(value, dict) else value
    root = make_project(tmp_path, ksql={"a": "CREATE STREAM {{ this }} (A INT) WITH "
                                              "(KAFKA_TOPIC='a', VALUE_FORMAT='JSON');"},
                        env=env)
    assert yaml.safe_load((root / "infra/environments/test.yaml").read_text()) == env
    code = main(["validate", "--env", "test", "--project", str(root)])
    err = capsys.readouterr().err
    assert code == 1 and key_path in err, err
    assert "Traceback" not in err


def test_bench_leaves_the_docs_alone_unless_asked(monkeypatch):
    import fraudctl.tasks.bench_sidecar

    calls = []
    monkeypatch.setattr(fraudctl.tasks.bench_sidecar, "run_bench",
                        lambda project, quick, json_path, update_doc: calls.append(update_doc))
    assert main(["bench", "--quick"]) == 0
    assert main(["bench", "--quick", "--write-docs"]) == 0
    assert calls == [False, True]


def test_train_reads_its_input_before_tensorflow_loads(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from fraudctl.cli import main; "
            f"c = main(['train', '--data', {str(tmp_path / 'missing.csv')!r}, '--out', "
            f"{str(tmp_path / 'out')!r}]); print(c, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.stdout.split() == ["2", "False"], result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: --data {tmp_path / 'missing.csv'}: no such file"]


def test_replay_to_an_unreachable_broker_is_one_line_within_seconds(tmp_path, capsys,
                                                                   monkeypatch):
    import time

    from training.synth import synthesize, write_kaggle_csv

    data = tmp_path / "d.csv"
    write_kaggle_csv(synthesize(5, 0.0, seed=1), data)
    monkeypatch.setenv("BOOTSTRAP_SERVERS", "127.0.0.1:1")
    started = time.monotonic()
    code = main(["replay", "--data", str(data), "--env", "compose"])
    err = capsys.readouterr().err
    assert code == 1 and time.monotonic() - started < 20
    assert err.strip().splitlines() == [next(line for line in err.splitlines()
                                             if line.startswith("error: Kafka at 127.0.0.1:1"))]
