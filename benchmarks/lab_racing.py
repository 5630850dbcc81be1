"""How the racing's constants were chosen: synthetic jobs only (no real job was used to set them).

Each synthetic job has 15 schedules with known true means (a per-seed effect of sd 2 shared by all, plus
independent noise of sd 1) and up to 10 seeds. For the full protocol (every schedule on every seed) and for
races with a few settings of the first look and the futility threshold, it prints the share of truly worse
schedules put out (recall), the share of jobs that put a best one out (familywise error), and the seeds used
as a share of the full protocol's.

    python benchmarks/lab_racing.py --jobs 200
"""

from __future__ import annotations

import argparse
import zlib

import numpy as np

from lrkit.lab.racing import Race
from lrkit.lab.stats import looks, top_group

CONFIGS = {
    "all equal": np.zeros(15),
    "one worse by 3 sd": np.r_[np.zeros(14), -3.0],
    "six best, nine spread": np.r_[np.zeros(6), -0.3, -0.5, -0.7, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0],
    "seven best, eight close": np.r_[np.zeros(7), -np.linspace(0.5, 3.0, 8)],
}
DESIGNS = [(3, 0.05), (3, 0.15), (3, 0.30), (4, 0.05)]  # (first look, futility threshold); step 2, last look 80%


def race(y: np.ndarray, r: Race) -> tuple[np.ndarray, int]:
    counts = [0] * len(y)
    while (t := r.targets([list(v[:n]) for v, n in zip(y, counts)])) != counts:
        counts = t
    rows = top_group([list(v[:n]) for v, n in zip(y, counts)], r.looks).rows
    return np.array([row.out for row in rows]), sum(counts)


def main() -> int:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--jobs", type=int, default=200)
    a.add_argument("--seeds", type=int, default=10)
    args = a.parse_args()
    n, big = args.jobs, args.seeds
    print(f"{n} synthetic jobs per configuration, 15 schedules, up to {big} seeds")
    print("| configuration | protocol | recall | familywise error | seeds used |")
    print("|---|---|---:|---:|---:|")
    for name, mu in CONFIGS.items():
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        worse = mu < mu.max()
        acc = {d: [0.0, 0, 0] for d in ["full", *DESIGNS]}
        for _ in range(n):
            y = rng.normal(size=big)[None] * 2 + rng.normal(size=(15, big)) + mu[:, None]
            for d in acc:
                if d == "full":
                    out, used = np.array([r.out for r in top_group([list(v) for v in y]).rows]), 15 * big
                else:
                    out, used = race(y, Race(looks(big, d[0], 2, 0.8), futility=d[1]))
                acc[d][0] += out[worse].mean() if worse.any() else 0.0
                acc[d][1] += bool(out[~worse].any())
                acc[d][2] += used
        for d, (rec, fwe, used) in acc.items():
            label = "full" if d == "full" else f"race: first look {d[0]}, futility {d[1]:g}"
            recall = f"{rec / n:.3f}" if worse.any() else "-"
            print(f"| {name} | {label} | {recall} | {fwe / n:.3f} | {used / (n * 15 * big):.0%} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
