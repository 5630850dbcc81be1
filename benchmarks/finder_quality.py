"""How good are the range test's suggestions? lrkit against torch-lr-finder, scored against a grid.

For every problem (dataset x model x optimizer, ``finder_problems/problems.py``)
and seed:

1. one range-test sweep (lrkit's default: 1e-7 .. 10 over 100 steps) records
   the raw losses; lrkit's heuristics and torch-lr-finder's (its real code,
   replayed on the same losses: ``finder_problems/tools.py``) both read their
   suggestion off this one sweep. As a check, lrkit's ``find_lr`` and
   torch-lr-finder are also run directly on the model: lrkit's result must be
   identical, torch-lr-finder's must give the same suggestion;
2. the model is trained from the same initial weights, on the same batch order,
   for ``BUDGET`` steps at each suggestion, and at each lr of a fine grid (the
   reference: the grid-best lr maximises the held-out metric, mean over seeds);
3. the one-cycle schedule built from lrkit's ``range`` is trained too.

Printed per tool: suggestions within 3x of the grid-best lr, suggestions
within 3x of a near-best grid lr (one keeping 95% of the best improvement),
failed trainings (no suggestion, divergence, or more than half the possible
improvement lost), and the mean share of the possible improvement lost; how
often the grid-best of a case's own seed is within 3x of the grid-best over
all seeds (the reference's repeatability); then the paired count of
lrkit's default against torch-lr-finder and how the range compares with the
largest lr that still trains well. The splits (``tune``, ``tune2``,
``report``, ``report3``: which rules were set on which, in
``finder_problems/problems.py``), the thresholds and the budget are fixed
there; the ``report3`` split was never used to set a rule.

Every result is cached in ``benchmarks/.finder_cache/`` (git-ignored), so a
rerun only trains what changed (a new suggestion):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/finder_quality.py [--split report3|report|tune|tune2|all]
        [--problems NAME ...] [--cache DIR] [--no-progress] [--smoke] [--seeds S ...]

``--smoke``: one small problem, one seed, a 40-step budget and a coarse grid
(what the test suite runs).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from finder_problems import problems as P
from finder_problems import scoring as S
from finder_problems import tools, training

TOOLS = ("lrkit", "lrkit steepest", "lrkit valley", "lrkit min/10", "lrkit rise/4", "lrkit round-2 default",
         "torch-lr-finder")
LABELS = {
    "tune": "TUNE split (the rules were set on these: not evidence)",
    "tune2": "TUNE-2 split (held out in round 1; the round-2 rules were set on it: not evidence)",
    "report": "REPORT split (held out in round 2; the round-3 rule was set on it with the others: not evidence)",
    "report3": "REPORT-3 split (held out: never used to set the rules)",
}
CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".finder_cache")


@dataclass(frozen=True)
class Settings:
    budget: int = P.BUDGET
    grid: tuple = tuple(P.GRID.tolist())
    seeds: dict = None

    def key(self) -> str:
        return f"b{self.budget}-batch{P.BATCH}-sweep{P.SWEEP['start']:g}-{P.SWEEP['end']:g}-{P.SWEEP['steps']}"


class Cache:
    """One JSON file per (problem, seed, settings): the sweep and every training run, keyed by what they depend on."""

    def __init__(self, folder: str, problem: P.Problem, seed: int, settings: Settings):
        os.makedirs(folder, exist_ok=True)
        ignore = os.path.join(folder, ".gitignore")
        if not os.path.exists(ignore):
            with open(ignore, "w") as f:
                f.write("*\n")
        self.path = os.path.join(folder, f"{problem.name}-s{seed}-{settings.key()}.json")
        self.doc = {}
        if os.path.exists(self.path):
            with open(self.path) as f:
                self.doc = json.load(f)

    def get(self, key: str, make):
        if key not in self.doc:
            self.doc[key] = make()
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.doc, f)
            os.replace(tmp, self.path)
        return self.doc[key]


def constant(lr: float):
    return lambda step: lr


def check_same_sweep(p: P.Problem, seed: int, lrs, losses, result) -> dict:
    """Run both tools directly on the model: lrkit must match the replay exactly, torch-lr-finder's
    raw losses must match the recorded ones until the curves part, and its suggestion the replayed one."""
    from lrkit.finder.torch import find_lr

    t = training.tensors(p.data)
    n = P.SWEEP["steps"]
    net = training.model(p, seed)
    direct = find_lr(net, training.optimizer(p, net.parameters(), 1e-3), t.loss, training.batches(t, seed, n),
                     **P.SWEEP)
    lrkit_same = (direct.lrs.tolist() == result.lrs.tolist() and direct.losses.tolist() == result.losses.tolist()
                  and dict(direct.suggestions) == dict(result.suggestions) and direct.range == result.range)
    net = training.model(p, seed)
    raw, lr = tools.torch_lr_finder_direct(net, training.optimizer(p, net.parameters(), 1e-3), t.loss,
                                           training.batches(t, seed, n), P.SWEEP["start"], P.SWEEP["end"], n)
    agree = 0
    for a, b in zip(raw, losses):
        if not (math.isfinite(a) and abs(a - b) <= 1e-4 * abs(b) + 1e-7):
            break
        agree += 1
    return {"lrkit_identical": lrkit_same, "tlf_direct_lr": lr, "tlf_agree_steps": agree}


def run_case(p: P.Problem, seed: int, settings: Settings, folder: str, say) -> dict:
    """Everything about one (problem, seed): suggestions, runs, reference grid."""
    cache = Cache(folder, p, seed, settings)
    initial = cache.get("initial", lambda: training.initial_metric(p, seed))
    sweep = cache.get("sweep", lambda: dict(zip(("lrs", "losses"), training.sweep(p, seed))))
    result = tools.lrkit_result(sweep["lrs"], sweep["losses"])
    tlf = tools.torch_lr_finder_lr(sweep["losses"], P.SWEEP["start"], P.SWEEP["end"], P.SWEEP["steps"])
    check = cache.get("check", lambda: check_same_sweep(p, seed, sweep["lrs"], sweep["losses"], result))
    check = {**check, "tlf_replay_lr": tlf}
    if settings.budget != P.BUDGET or check["lrkit_identical"] is not True:
        check["lrkit_identical"] = check_same_sweep(p, seed, sweep["lrs"], sweep["losses"], result)["lrkit_identical"]

    def train(key, lr_at):
        return cache.get(key, lambda: training.train(p, seed, lr_at, budget=settings.budget))

    grid = {}
    for i, lr in enumerate(settings.grid):
        say(f"{p.name} seed {seed}: grid {i + 1}/{len(settings.grid)}")
        grid[repr(lr)] = train(f"const:{lr!r}", constant(lr))
    lrs = {"lrkit": result.suggestion, "torch-lr-finder": tlf, "lrkit round-2 default": tools.round2_default(result),
           **{f"lrkit {k}": v for k, v in result.suggestions.items()}}
    runs = {}
    for name, lr in lrs.items():
        say(f"{p.name} seed {seed}: {name}")
        runs[name] = None if lr is None else train(f"const:{lr!r}", constant(lr))
    cycle = None
    if result.range is not None:
        sched = result.one_cycle(settings.budget)
        values = sched.values(np.arange(settings.budget)).tolist()
        cycle = train(f"onecycle:{result.range[0]!r}:{result.range[1]!r}", lambda step: values[step])
    return {"problem": p.name, "seed": seed, "initial": initial, "grid": grid, "lrs": lrs, "runs": runs,
            "method": result.method, "range": result.range, "range_reason": result.reasons.get("range"),
            "onecycle": cycle, "check": check, "stopped": result.reason}


def score(cases_by_problem: dict[str, list[dict]], title: str) -> None:
    """Print the per-case lines and the tables for one split."""
    scores = {t: S.ToolScore(t) for t in TOOLS}
    lost: dict[str, list[float]] = {t: [] for t in TOOLS}
    own = 0
    rng = {"n": 0, "within": 0, "missing": 0, "above": 0, "ratios": [], "cycle_lost": [], "cycle_failed": 0}
    print(f"\n== {title} ==")
    print(f"{'problem':22s} seed {'lr*':>8s} {'lr_good':>8s} {'flat':>5s}  {'lrkit (method)':>22s} "
          f"{'torch-lr-finder':>15s}  {'range high/lr_good':>18s}")
    for name, cases in cases_by_problem.items():
        ref = S.reference(cases)
        for c in cases:
            for t in TOOLS:
                share = S.share_lost(c, ref, c["runs"][t])
                scores[t].add(c["lrs"][t], share, ref)
                lost[t].append(share)
            own += S.own_grid_within(c, ref)
            rng["n"] += 1
            if c["range"] is None:
                rng["missing"] += 1
                rtext = "none"
            else:
                high = c["range"][1]
                rng["ratios"].append(high / ref.good_lr)
                rng["within"] += S.within(high, ref.good_lr)
                cyc = S.share_lost(c, ref, c["onecycle"])
                rng["cycle_lost"].append(cyc)
                rng["cycle_failed"] += S.failed(cyc)
                rtext = f"{high / ref.good_lr:.2f}x"
            d, tl = c["lrs"]["lrkit"], c["lrs"]["torch-lr-finder"]
            dtext = f"{d / ref.best_lr:.2f}x ({c['method']})" if d else "none"
            ttext = f"{tl / ref.best_lr:.2f}x" if tl else "none"
            print(f"{name:22s} {c['seed']:4d} {ref.best_lr:8.2g} {ref.good_lr:8.2g} {ref.flat:5.1f}  {dtext:>22s} "
                  f"{ttext:>15s}  {rtext:>18s}" + ("  (lr* at the grid's edge)" if ref.edge else ""))
    print("(lr*: grid-best lr; lr_good: largest grid lr keeping >= 90% of the best improvement; flat: decades of "
          "grid lrs within 5% of the best improvement; lrkit, torch-lr-finder: suggestion / lr*)")
    print(f"\n{S.HEADER}")
    for t in TOOLS:
        print(scores[t].row())
    print(f"(near-best: within 3x of a grid lr keeping >= 95% of the best improvement)\n"
          f"the reference's own repeatability: the grid-best of the case's own seed (all {len(ref.grid)} lrs trained "
          f"on it) is within 3x of lr* in {own}/{rng['n']} ({own / rng['n']:.0%})")
    w, l_, ties, pv = S.paired(lost["lrkit"], lost["torch-lr-finder"])
    print(f"\npaired (share lost, per case): lrkit better {w}, torch-lr-finder better {l_}, ties {ties}; "
          f"sign test p = {pv:.3g}")
    w, l_, ties, pv = S.paired(lost["lrkit"], lost["lrkit round-2 default"])
    print(f"paired (share lost, per case): lrkit better {w}, its round-2 default better {l_}, ties {ties}; "
          f"sign test p = {pv:.3g}")
    if rng["ratios"]:
        r = np.array(rng["ratios"])
        print(f"range high vs lr_good (largest grid lr keeping >= {1 - P.GOOD_SHARE:.0%} of the best improvement): "
              f"within 3x {rng['within']}/{rng['n']}, missing {rng['missing']}, median {np.median(r):.2f}x, "
              f"min {r.min():.2f}x, max {r.max():.2f}x")
        print(f"one-cycle at the range, same budget: mean share lost "
              f"{np.mean(rng['cycle_lost']):.3f}, failed {rng['cycle_failed']}/{len(rng['cycle_lost'])}")


def check_lines(cases: list[dict]) -> None:
    same = sum(c["check"]["lrkit_identical"] for c in cases)
    tlf = sum(c["check"]["tlf_direct_lr"] == c["check"]["tlf_replay_lr"] for c in cases)
    agree = [c["check"]["tlf_agree_steps"] for c in cases]
    print(f"same sweep: lrkit's find_lr run directly = the replayed sweep in {same}/{len(cases)} cases; "
          f"torch-lr-finder run directly gives the replayed suggestion in {tlf}/{len(cases)} "
          f"(raw losses equal to 1e-4 for a median {int(np.median(agree))} of {P.SWEEP['steps']} steps)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="report3", choices=("report3", "report", "tune", "tune2", "all"))
    ap.add_argument("--problems", nargs="*", default=None, metavar="NAME")
    ap.add_argument("--cache", default=CACHE, metavar="DIR")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--seeds", nargs="+", type=int, default=None, metavar="S",
                    help="other seeds for every split (to re-check a result at seeds nobody picked)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    seeds = P.SEEDS if args.seeds is None else {split: tuple(args.seeds) for split in P.SEEDS}
    settings = Settings(seeds=seeds)
    chosen = [P.by_name(n) for n in args.problems] if args.problems else P.problems(args.split)
    if args.smoke:
        settings = replace(settings, budget=40, grid=tuple(np.logspace(-4, 0, 5).tolist()), seeds={"tune": (0,)})
        chosen = [P.by_name("moons-mlp-adamw")]
    t0 = time.time()

    def say(text):
        if not args.no_progress:
            print(f"\r[{time.time() - t0:6.0f}s] {text:70s}", end="", file=sys.stderr, flush=True)

    by_split: dict[str, dict[str, list[dict]]] = {}
    for p in chosen:
        seeds = settings.seeds.get(p.split, settings.seeds.get("tune"))
        by_split.setdefault(p.split, {})[p.name] = [run_case(p, s, settings, args.cache, say) for s in seeds]
    if not args.no_progress:
        print(file=sys.stderr)
    print(f"budget {settings.budget} steps, batch {P.BATCH}, grid {len(settings.grid)} lrs "
          f"{min(settings.grid):g} .. {max(settings.grid):g}, within {P.WITHIN:g}x, failed: > {P.FAILED_SHARE:.0%} "
          f"of the possible improvement lost")
    for split, label in LABELS.items():
        if split in by_split:
            score(by_split[split], f"{label}, {len(by_split[split])} problems x "
                                   f"{len(next(iter(by_split[split].values())))} seeds")
            check_lines([c for cs in by_split[split].values() for c in cs])
    return 0


if __name__ == "__main__":
    sys.exit(main())
