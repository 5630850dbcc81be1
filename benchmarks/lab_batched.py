"""Speed of the built-in batched training (``lrkit.lab.builtin.batch``): this tree against a git ref.

The work is the final phase of the default ``lrkit compare`` job: 75 runs (the
14 default schedules and the plateau run, 5 seeds) of the digits MLP, SGD with
momentum 0.9, batch 64, lr 0.1, ``--epochs`` epochs, as one call of
``builtin.batch``. The ``--ref`` tree is ``git archive REF src`` unpacked in a
temporary folder. Each tree is timed in its own subprocess (imports and data
loaded once, one untimed warm-up call), the two alternating ``--repeats``
times so that a change in the machine's load falls on both; printed: each
tree's median and best wall and CPU seconds (the CPU time of the process is
less disturbed by other jobs on a shared machine) and the ratios ref / this
tree (> 1: this tree is faster). Also checks that both trees give the same
validation accuracies.

    .venv/bin/python benchmarks/lab_batched.py [--ref main] [--repeats 5] [--epochs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORK = textwrap.dedent("""
    import json, sys, time
    from lrkit.lab.builtin import batch
    from lrkit.lab.config import DEFAULT_PLATEAU, DEFAULT_SCHEDULES
    from lrkit.lab.run import Run, Task

    epochs, times = int(sys.argv[1]), int(sys.argv[2])
    config = {"data": "digits", "model": "mlp", "optimizer": "sgd", "batch_size": 64, "momentum": 0.9,
              "weight_decay": 0.0}
    arms = [(s, None) for s in DEFAULT_SCHEDULES] + [(DEFAULT_PLATEAU["schedule"], DEFAULT_PLATEAU["plateau"])]

    def runs():
        return [Run(Task(f"{i}-{seed}", s, s, p, 0.1, seed, epochs, config))
                for seed in range(5) for i, (s, p) in enumerate(arms)]

    batch(runs())                                   # warm-up: imports, data, first calls
    seconds, cpu = [], []
    for _ in range(times):
        todo = runs()
        t, c = time.perf_counter(), time.process_time()
        out = batch(todo)
        seconds.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    vals = [[h["val"] for h in r.history] for r in todo]
    print(json.dumps({"seconds": seconds, "cpu": cpu, "vals": vals, "n": len(todo),
                      "errors": [repr(o) for o in out if isinstance(o, BaseException)]}))
""")


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def unpack(ref: str, into: str) -> str:
    """``src/`` of git ref ``ref`` unpacked under ``into``; returns that ``src`` path."""
    archive = subprocess.run(["git", "-C", HERE, "archive", "--format=tar", ref, "src"], capture_output=True,
                             check=True).stdout
    path = os.path.join(into, "ref.tar")
    with open(path, "wb") as f:
        f.write(archive)
    with tarfile.open(path) as t:
        t.extractall(into, filter="data")
    return os.path.join(into, "src")


def timed(src: str, epochs: int, times: int) -> dict:
    env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, "-c", WORK, str(epochs), str(times)], capture_output=True, text=True,
                       env=env, check=False)
    if p.returncode:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="main", help="the git ref to compare with (default: main)")
    ap.add_argument("--repeats", type=int, default=5, help="alternations of the two trees (default: 5)")
    ap.add_argument("--times", type=int, default=1, help="timed calls per subprocess (default: 1)")
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {load()}")
    secs: dict[str, list[float]] = {"ref": [], "this": []}
    cpus: dict[str, list[float]] = {"ref": [], "this": []}
    vals: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"ref": unpack(args.ref, tmp), "this": os.path.join(HERE, "src")}
        for i in range(args.repeats):
            for name in (("ref", "this") if i % 2 == 0 else ("this", "ref")):
                out = timed(trees[name], args.epochs, args.times)
                if out["errors"]:
                    raise SystemExit(f"{name}: {out['errors'][:3]}")
                secs[name] += out["seconds"]
                cpus[name] += out["cpu"]
                vals[name] = out["vals"]
    for name, label in (("ref", f"{args.ref} (git ref)"), ("this", "this tree")):
        s, c = secs[name], cpus[name]
        print(f"{label:>20}: builtin.batch, 75 runs x {args.epochs} epochs: wall median {statistics.median(s):.2f} s, "
              f"best {min(s):.2f} s; CPU median {statistics.median(c):.2f} s, best {min(c):.2f} s ({len(s)} calls)")
    for what, d in (("wall", secs), ("CPU", cpus)):
        print(f"ratio ref / this tree, {what} time: {statistics.median(d['ref']) / statistics.median(d['this']):.2f}x "
              f"(medians), {min(d['ref']) / min(d['this']):.2f}x (best); > 1 means this tree is faster")
    diff = max(abs(a - b) for ra, rb in zip(vals["ref"], vals["this"]) for a, b in zip(ra, rb)
               if a == a and b == b)
    print(f"largest difference of a validation accuracy between the trees: {diff:.4f} "
          f"(one sample of 360 is {1 / 360:.4f})")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
