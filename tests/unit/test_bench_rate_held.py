"""The end-to-end bench's verdict on an offered rate, on figures measured on the local stack."""

import pytest

from fraudctl.tasks.bench_e2e import rate_held


@pytest.mark.parametrize(("case", "args", "held"), [
    # 20,000/s for 15 s, commits every 5 s: behind 121,815 half-way, 130,526 at the end,
    # drained in 10.9 s (2026-12-05)
    ("a held rate", (20_000, 121_815, 130_526, 10.9, 15.7, 5.0), True),
    # 200,000 payments produced in 7.2 s, drained 12.9 s later: a backlog, which the first two
    # conditions alone let pass (behind at the end below half-way + 5 s of input)
    ("a backlog drained", (30_000, 84_351, 103_716, 12.9, 7.2, 5.0), False),
    # the backlog grew in the second half
    ("a growing backlog", (18_000, 92_562, 177_803, 4.0, 15.0, 1.0), False),
    # drained, but only after 5 s plus two commit intervals
    ("a slow drain", (18_000, 60_000, 60_000, 7.5, 15.0, 1.0), False),
])
def test_rate_held(case, args, held):
    assert rate_held(*args) is held, case
