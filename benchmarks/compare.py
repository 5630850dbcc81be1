"""Where the time of ``lrkit compare`` goes, and what batching the built-in runs buys.

Prints:
1. the default job as a user runs it (``lrkit compare`` in a subprocess:
   imports, data, tuning, final runs, report) against its 60 s budget, and
   ``make demo``'s job (MNIST-1D) against its 2 minute budget;
2. the parts of the default job in-process: imports, tuning phase, final
   phase, report and figures;
3. the built-in training of K runs (the default set at one lr, one seed) one
   after another (``torch.optim`` + ``lrkit.torch.Scheduler``) vs as one batch
   of models (``torch.func.vmap``), with the ratio.

Run it when ``uptime`` shows a load below 1 for numbers that mean something;
the load averages are printed before and after.

    .venv/bin/python benchmarks/compare.py [--repeats 1] [--skip-demo]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

DEMO = ["--data", "mnist1d", "--epochs", "20", "--seeds", "10", "--tune-seeds", "1", "--lr", "0.2"]  # make demo


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def end_to_end(args: list[str], budget: float, repeats: int, label: str) -> None:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "lrkit", "compare", *args, "--out", out, "--no-progress"],
                               capture_output=True, text=True, env=dict(os.environ, MPLBACKEND="Agg"), check=False)
            times.append(time.perf_counter() - t)
            if p.returncode:
                raise SystemExit(p.stderr)
    print(f"{label}: best {min(times):.1f} s, median {statistics.median(times):.1f} s over {repeats} "
          f"(budget {budget:.0f} s; load now {load()})")
    print("   " + p.stdout.strip().splitlines()[-1][:160])


def parts() -> None:
    t0 = time.perf_counter()
    import torch  # noqa: F401

    from lrkit.lab import compare
    from lrkit.lab.builtin import data_of

    data_of({"data": "digits"})
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        r = compare(out=out, progress=False)
        t2 = time.perf_counter()
    train = r.setup["wall_time"]
    print(f"   parts: import torch + lab + digits {t1 - t0:.1f} s, {r.setup['runs_trained']} runs "
          f"(setup + tuning + final) {train:.1f} s, report + figures {t2 - t1 - train:.1f} s")


def batched_vs_one_by_one(epochs: int) -> None:
    import torch

    from lrkit.lab.config import DEFAULT_SCHEDULES
    from lrkit.lab.data import load_dataset
    from lrkit.lab.models import make_model
    from lrkit.lab.train import train, train_batched

    data = load_dataset("digits", test=True)
    kw = {"epochs": epochs, "batch_size": 64, "lr": 0.1, "seed": 0}
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for k in (1, 4, len(DEFAULT_SCHEDULES)):
            specs = DEFAULT_SCHEDULES[:k]
            t = time.perf_counter()
            for s in specs:
                train(make_model("mlp", 64, 10, seed=0), data, s, **kw)
            seq = time.perf_counter() - t
            t = time.perf_counter()
            train_batched(make_model("mlp", 64, 10, seed=0), data, specs, **kw)
            bat = time.perf_counter() - t
            print(f"   K={k:2d} mlp, {epochs} epochs, 1 thread: one by one {seq:6.2f} s, batched {bat:6.2f} s, "
                  f"ratio {seq / bat:5.2f}x")
    finally:
        torch.set_num_threads(before)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {load()}")
    end_to_end([], 60, args.repeats, "default job, `lrkit compare`")
    if not args.skip_demo:
        end_to_end(DEMO, 120, args.repeats, f"make demo, `lrkit compare {' '.join(DEMO)}`")
    parts()
    print("built-in training of K runs:")
    batched_vs_one_by_one(args.epochs)
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
