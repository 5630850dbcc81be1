"""What the adaptive protocol costs and what it finds, against ``--protocol full`` and a high-power reference.

For each job (the MNIST-1D demo, digits, a NumPy regression of another kind):

- a **reference**: the full protocol at ``--ref-seeds`` seeds (30), on seeds no block uses; the schedules
  out of its top group are taken as "truly worse";
- several **blocks** of seeds (offsets drawn once from a fixed generator, not picked): the full protocol and
  the adaptive one (the default) at ``--seeds`` (10), with the same settings (1 tuning seed each);
- per block: epochs trained, wall time, the schedules each put out, **recall** (the share of the reference's
  truly worse ones put out) and **wrongly out** (put out though in the reference's top group).

Every run is kept in ``--cache`` (resume): a second run of the script reprints the tables without training.
The policy's constants were fixed on synthetic configurations before any of these jobs ran.

    python benchmarks/lab_cost.py                       # all three jobs, 4 blocks
    python benchmarks/lab_cost.py --jobs regression --blocks 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lab_jobs.regression import train as regression  # noqa: E402
from lrkit.lab import compare  # noqa: E402

REF_OFFSET = 5000  # the reference's seeds: 5000 .. 5000 + ref-seeds (and its tuning seed after them)
JOBS = {
    "mnist1d": {"train": None, "config": {"data": "mnist1d"}, "epochs": 20, "lr": 0.2},
    "digits": {"train": None, "config": {"data": "digits"}, "epochs": 10, "lr": 0.1},
    "regression": {"train": regression, "epochs": 10, "lr": 0.2, "mode": "min"},
}


def offsets(blocks: int, seeds: int) -> list[int]:
    """Block offsets drawn once from a fixed generator, clear of the reference's seeds and of each other."""
    rng = np.random.default_rng(20261206)
    out: list[int] = []
    while len(out) < blocks:
        k = int(rng.integers(0, 4000)) // (seeds + 1) * (seeds + 1)
        if k not in out:
            out.append(k)
    return out


def run(job: str, protocol: str, seeds: int, offset: int, cache: str) -> dict:
    kw = dict(JOBS[job])
    out = os.path.join(cache, job, f"{protocol}-{seeds}-{offset}")
    started = time.perf_counter()
    r = compare(**kw, protocol=protocol, seeds=seeds, seed_offset=offset, tune_seeds=1, out=out, progress=False)
    c = r.setup["cost"]
    return {"out": {e.name for e in r.entries if e.mean is not None and not e.in_top_group},
            "top": set(r.verdict.top_group), "epochs": c["epochs_trained"], "epochs_full": c["epochs_full"],
            "runs": c["runs_trained"], "wall": r.setup["wall_time"] if c["runs_resumed"] == 0 else None,
            "elapsed": time.perf_counter() - started, "lrs": {e.name: e.lr for e in r.entries},
            "names": [e.name for e in r.entries]}


def ref_lr(ref: dict, name: str) -> str:
    return f"{ref['lrs'][name]:g}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", default=",".join(JOBS))
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--ref-seeds", type=int, default=30)
    p.add_argument("--cache", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".lab_cost"))
    a = p.parse_args()
    blocks = offsets(a.blocks, a.seeds)
    print(f"blocks of {a.seeds} seeds at offsets {blocks}; reference: full protocol, {a.ref_seeds} seeds from "
          f"{REF_OFFSET}", flush=True)
    for job in a.jobs.split(","):
        ref = run(job, "full", a.ref_seeds, REF_OFFSET, a.cache)
        worse = ref["out"]
        print(f"\n## {job}: the reference puts out {len(worse)} of {len(ref['names'])}: "
              f"{', '.join(sorted(worse)) or '-'}", flush=True)
        print("| block | protocol | epochs | of full | wall s | put out | recall | wrongly out |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        # found, epochs, jobs with a wrong out, wrong outs, wall, jobs with a wrong out at the reference's own lr
        pooled = {"full": [0, 0, 0, 0, 0.0, 0], "adaptive": [0, 0, 0, 0, 0.0, 0]}
        for off in blocks:
            for protocol in ("full", "adaptive"):
                r = run(job, protocol, a.seeds, off, a.cache)
                found, wrong = len(r["out"] & worse), r["out"] - worse
                recall = f"{found}/{len(worse)}" if worse else "-"
                wall = "(cached)" if r["wall"] is None else f"{r['wall']:.0f}"
                why = [f"{n} (lr {r['lrs'][n]:g}{'' if r['lrs'][n] == ref['lrs'][n] else f', ref {ref_lr(ref, n)}'})"
                       for n in sorted(wrong)]
                same_lr = sum(r["lrs"][n] == ref["lrs"][n] for n in wrong)
                print(f"| {off} | {protocol} | {r['epochs']} | {r['epochs'] / r['epochs_full']:.0%} | {wall} | "
                      f"{len(r['out'])} | {recall} | {len(wrong)} {', '.join(why)} |", flush=True)
                acc = pooled[protocol]
                acc[0] += found
                acc[1] += r["epochs"]
                acc[2] += bool(wrong)
                acc[3] += len(wrong)
                acc[5] += same_lr > 0
                acc[4] += r["wall"] or 0.0
        n = len(blocks)
        for protocol, (found, epochs, fwe, wrong, wall, same) in pooled.items():
            rec = f"{found}/{n * len(worse)} = {found / (n * len(worse)):.0%}" if worse else "-"
            print(f"{job} {protocol}: recall {rec}; jobs with a schedule wrongly out {fwe}/{n} ({wrong} schedules; "
                  f"{same} jobs with one at the reference's own lr); epochs {epochs}; wall {wall:.0f} s")
        ratio = pooled["adaptive"][1] / pooled["full"][1]
        print(f"{job}: the adaptive protocol trained {ratio:.0%} of the full protocol's epochs", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
