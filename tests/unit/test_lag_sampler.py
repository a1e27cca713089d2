"""The bench's lag floor: each part's lowest sample in a stretch, summed."""

import time

from fraudctl.tasks.query_lag import LagSampler


def test_the_floor_sums_each_parts_lowest_sample_in_the_stretch():
    sampler = LagSampler(dict)
    # a query committing now and then (its uncommitted input shows as lag until it does) and
    # the sidecar, sampled at t = 0..3
    sampler.samples = [(0.0, {"join": 9_000, "sidecar": 50}),
                       (1.0, {"join": 200, "sidecar": 900}),
                       (2.0, {"join": 7_000, "sidecar": 40}),
                       (3.0, {"join": 100, "sidecar": 4_000})]
    # 240: lower than any one sample's sum (the lowest of those, at t=1, is 1,100)
    assert sampler.floor(0.0, 3.0) == 200 + 40
    assert sampler.floor(2.0, 4.0) == 100 + 40
    assert sampler.floor(5.0, 9.0) is None


def test_the_sampler_reads_in_a_thread_until_stopped():
    readings = iter(range(1_000_000))
    sampler = LagSampler(lambda: {"q": next(readings)}, every=0.01).start()
    time.sleep(0.2)
    sampler.stop()
    count = len(sampler.samples)
    assert count >= 5
    assert [lags["q"] for _at, lags in sampler.samples] == list(range(count))
    time.sleep(0.05)
    assert len(sampler.samples) == count  # stopped
