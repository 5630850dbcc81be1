"""The verdict's familywise error and power, simulated through ``compare()`` itself, with Wilson intervals.

Each job compares 15 schedules with a train function whose truth is known (``tests/lab/simulated.py``: a
per-seed effect shared by every schedule plus independent noise of sd 1; the lr search has a real peak but
the test metric does not depend on the lr). Printed: the share of jobs that put an equal schedule out of the
top group (complete null; the goal is <= 0.05), and the share that find one schedule made worse by 2 or 3
noise sd (power at 10 seeds). For contrast, lrkit 0.2's rule (the best against each other schedule, two-sided
paired t-tests, Holm) on the same kind of data.

    python benchmarks/lab_calibration.py --jobs 1000
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lab"))

from simulated import SCHEDULES, simulated  # noqa: E402

from lrkit.lab import compare  # noqa: E402


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def old_rule(y: np.ndarray) -> bool:
    """lrkit 0.2: the best by mean against each other, two-sided paired t, Holm; True when one is put out."""
    from scipy import stats

    best = int(np.argmax(y.mean(axis=1)))
    p = sorted(stats.ttest_rel(y[i], y[best]).pvalue for i in range(len(y)) if i != best)
    return any(pv * (len(p) - r) < 0.05 for r, pv in enumerate(p[:1]))  # Holm's first step decides "any"


def main() -> int:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--jobs", type=int, default=1000)
    n = a.parse_args().jobs
    print(f"{n} jobs per line; 15 schedules; a share with its Wilson 95% interval")
    print("| setting | protocol | seeds | share | 95% interval |")
    print("|---|---|---:|---:|---|")
    for seeds in (5, 10):
        for protocol in ("adaptive", "full"):
            k = sum(len(compare(simulated, schedules=SCHEDULES, lr=0.1, seeds=seeds, epochs=1, protocol=protocol,
                                out=None, progress=False, config={"job": 10**6 * seeds + j}).verdict.top_group)
                    < len(SCHEDULES) for j in range(n))
            lo, hi = wilson(k, n)
            print(f"| equal schedules put out | {protocol} | {seeds} | {k / n:.3f} | [{lo:.3f}, {hi:.3f}] |",
                  flush=True)
        rng = np.random.default_rng(seeds)
        k = sum(old_rule(rng.normal(size=seeds)[None] * 2 + rng.normal(size=(15, seeds))) for _ in range(n))
        lo, hi = wilson(k, n)
        print(f"| equal schedules put out | lrkit 0.2's rule | {seeds} | {k / n:.3f} | [{lo:.3f}, {hi:.3f}] |")
    for shift in (2.0, 3.0):
        for protocol in ("adaptive", "full"):
            found = 0
            for j in range(n):
                r = compare(simulated, schedules=SCHEDULES, lr=0.1, seeds=10, epochs=1, protocol=protocol, out=None,
                            progress=False, config={"job": 7 * 10**6 + j, "worse": SCHEDULES[7], "shift": shift})
                found += SCHEDULES[7] not in r.verdict.top_group
            lo, hi = wilson(found, n)
            print(f"| one worse by {shift:g} sd found | {protocol} | 10 | {found / n:.3f} | [{lo:.3f}, {hi:.3f}] |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
