"""Every process of the pipeline killed (-9) or stopped in the middle of a replay and started
again: every count at every stage must equal what went in (docs/OPERATIONS.md, "What survives
what"). With FRAUD_FAULT_GUARANTEE=at_least_once the same tests run on an at-least-once
pipeline, where the kill -9 ones fail: that is what exactly-once buys."""

import signal

import pytest
from fault_harness import FAULT_AT, PipelineRun

pytestmark = [pytest.mark.ksqldb, pytest.mark.slow, pytest.mark.faults]

FAULTS = [("ksqldb", signal.SIGKILL), ("ksqldb", signal.SIGTERM), ("kafka", signal.SIGKILL),
          ("connect", signal.SIGKILL), ("sidecar", signal.SIGKILL)]


@pytest.mark.parametrize(("process", "sig"), FAULTS,
                         ids=[f"{p}-{signal.Signals(s).name}" for p, s in FAULTS])
def test_counts_stay_exact_when_a_process_dies_mid_replay(fault_stack, tmp_path, process, sig,
                                                          capsys):
    fault_stack.up(timeout=300, log=lambda *_: None)  # an earlier test's fault left it whole?
    run = PipelineRun(fault_stack, tmp_path)
    try:
        run.apply()
        run.calibrate()
        run.start_sidecar()
        run.start_replay()
        run.wait_replayed(FAULT_AT)
        away = run.inject(process, sig)
        run.wait_replayed(1.0, timeout=300)
        expected = run.expect()
        got = run.settle()
        shown = run.report(f"{process} {signal.Signals(sig).name}", away, got)
        with capsys.disabled():  # what it measured, in CI's log too
            print("\n" + shown, flush=True)
        assert got.differences(expected) == {}, shown
        assert expected.alerts > 0 and expected.tp > 0 and expected.fp > 0
    finally:
        run.close()
