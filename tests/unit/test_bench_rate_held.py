"""The end-to-end bench's verdict on an offered rate, on figures measured on the local stack
(2026-12-05; `early`/`late`: records behind, each part's lowest sample in the load's second
and last quarters)."""

import pytest

from fraudctl.tasks.bench_e2e import rate_held


@pytest.mark.parametrize(("case", "args", "held"), [
    # 16,000/s for 15 s, commits every 5 s: 7,900 behind early, 2,127 late, drained in 7.8 s
    ("a held rate", (16_000, 7_900, 2_127, 7.8, 15.0, 5.0), True),
    # 20,000/s: 12,648 early, 19,817 late: 7,169 more, less than 10% and half a second of input
    ("growth within the allowance", (20_000, 12_648, 19_817, 10.1, 15.0, 5.0), True),
    # 18,000/s: 4,874 early, 18,134 late: 13,260 more in 7.5 s, about 10% of the rate missing
    ("a slowly growing backlog", (18_000, 4_874, 18_134, 8.1, 15.0, 5.0), False),
    # 200,000 payments produced in 7.2 s, drained 12.9 s later: a backlog
    ("a backlog drained", (30_000, 0, 0, 12.9, 7.2, 5.0), False),
    # drained, but only after 5 s plus two commit intervals
    ("a slow drain", (18_000, 6_000, 6_000, 7.5, 15.0, 1.0), False),
])
def test_rate_held(case, args, held):
    assert rate_held(*args) is held, case
