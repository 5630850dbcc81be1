"""How far below the edge should the default sit? The factor scan behind ``edge/3`` (docs/finder.md).

Reads the cases that ``finder_quality.py`` has cached (it trains nothing): for
each (problem, seed) the recorded sweep and the grid of constant-lr runs. For
each factor k the suggestion is ``edge / k`` (``rise/4`` when the loss never
fell, as in lrkit's default), scored like the benchmark: within 3x of the
grid-best lr; its share of the possible improvement lost, estimated from the
case's own grid runs (the held-out metric interpolated linearly in log lr, a
diverged run counting as the untrained model); failed when that share
exceeds one half. Every cached seed of a problem is used.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/finder_margin.py [--splits tune tune2 report] [--cache DIR]
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import numpy as np

from finder_problems import problems as P
from finder_problems import scoring as S
from finder_problems import tools
from finder_quality import CACHE, Settings

FACTORS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0)


def cached_cases(p: P.Problem, folder: str) -> list[dict]:
    """Every cached seed of ``p`` that has its sweep and its whole grid."""
    grid = [repr(float(lr)) for lr in P.GRID]
    out = []
    for path in sorted(glob.glob(os.path.join(folder, f"{p.name}-s*-{Settings().key()}.json"))):
        with open(path) as f:
            doc = json.load(f)
        if "sweep" not in doc or not all(f"const:{lr}" in doc for lr in grid):
            continue
        result = tools.lrkit_result(doc["sweep"]["lrs"], doc["sweep"]["losses"])
        out.append({"initial": doc["initial"], "grid": {lr: doc[f"const:{lr}"] for lr in grid},
                    "edge": tools.round2_default(result), "fell": result.method != "rise/4"})
    return out


def estimated_share(case: dict, ref: S.Reference, lr: float | None) -> float:
    if lr is None:
        return 1.0
    metric = [case["initial"] if r["diverged"] else r["metric"] for r in (case["grid"][repr(float(g))]
                                                                           for g in ref.grid)]
    at = case["initial"] if lr > ref.grid[-1] else float(np.interp(math.log10(lr), np.log10(ref.grid), metric))
    return S.share_lost(case, ref, {"metric": at, "diverged": False})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", nargs="+", default=["tune", "tune2", "report"])
    ap.add_argument("--cache", default=CACHE, metavar="DIR")
    args = ap.parse_args(argv)
    problems = [(p, cached_cases(p, args.cache)) for split in args.splits for p in P.problems(split)]
    problems = [(p, cases) for p, cases in problems if cases]
    print(f"{sum(len(c) for _, c in problems)} cached cases of {len(problems)} problems ({', '.join(args.splits)})")
    if not problems:
        print("nothing cached: run finder_quality.py on these splits first")
        return 1
    print("factor  within 3x   failed (est.)  median lr/lr*")
    for k in FACTORS:
        within = failed = 0
        ratios = []
        for _, cases in problems:
            ref = S.reference(cases)
            for c in cases:
                lr = c["edge"] / k if c["fell"] and c["edge"] is not None else c["edge"]
                within += S.within(lr, ref.best_lr)
                failed += S.failed(estimated_share(c, ref, lr))
                if lr is not None:
                    ratios.append(lr / ref.best_lr)
        n = sum(len(c) for _, c in problems)
        print(f"edge/{k:<3g} {within:4d}/{n:<4d} {failed:8d}        {float(np.median(ratios)):6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
