"""The verdict's error rate and power, simulated through ``compare()`` itself (selection of the best, the lr
search and the racing's interim looks all included), on a train function whose truth is known
(:mod:`simulated`). The old verdict ("best vs each, Holm") put an equal schedule out in ~15% of these jobs."""

from __future__ import annotations

import pytest
from simulated import SCHEDULES, simulated

from lrkit.lab import compare
from lrkit.lab.stats import ALPHA

pytestmark = pytest.mark.slow  # hundreds of (simulated) jobs


def _job(job: int, seeds: int, protocol: str, **config):
    return compare(simulated, schedules=SCHEDULES, lr=0.1, seeds=seeds, epochs=1, protocol=protocol, out=None,
                   progress=False, config={"job": job, **config})


@pytest.mark.parametrize("protocol", ["adaptive", "full"])
@pytest.mark.parametrize("seeds", [5, 10])
def test_equal_schedules_are_put_out_in_at_most_alpha_of_jobs(protocol, seeds):
    jobs = 400
    wrong = sum(len(_job(1000 * seeds + j, seeds, protocol).verdict.top_group) < len(SCHEDULES) for j in range(jobs))
    se = (ALPHA * (1 - ALPHA) / jobs) ** 0.5
    assert wrong / jobs <= ALPHA + 2 * se, (wrong, jobs)


@pytest.mark.parametrize("protocol", ["adaptive", "full"])
def test_a_schedule_worse_by_three_noise_sd_is_found_at_ten_seeds(protocol):
    jobs, worse = 200, SCHEDULES[7]
    found = wrong = 0
    for j in range(jobs):
        r = _job(50_000 + j, 10, protocol, worse=worse, shift=3.0)
        found += worse not in r.verdict.top_group
        wrong += len(r.verdict.top_group) < len(SCHEDULES) - 1
    assert found / jobs >= 0.90, found
    assert wrong / jobs <= ALPHA + 2 * (ALPHA * (1 - ALPHA) / jobs) ** 0.5
