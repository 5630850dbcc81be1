"""Where the time of ``lrkit compare`` goes, and batched vs one-by-one training.

Prints:
1. the wall time of the default job as a user runs it (``lrkit compare`` in a
   subprocess: imports, data, training, report), and its parts in-process;
2. training K schedules of one seed one after another (``train``: torch SGD +
   ``lrkit.torch.Scheduler``) vs as one batch of models (``train_batched``:
   ``torch.func.vmap``), with the ratio, at 1 and 2 torch threads.

    .venv/bin/python benchmarks/compare.py [--repeats 3] [--epochs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def best_of(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def default_job(repeats: int) -> None:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            p = subprocess.run([sys.executable, "-m", "lrkit", "compare", "--out", out, "--no-progress"],
                               capture_output=True, text=True, env=dict(os.environ, MPLBACKEND="Agg"))
            times.append(time.perf_counter() - t)
            if p.returncode:
                raise SystemExit(p.stderr)
    print(f"default job, `lrkit compare` end to end: best {min(times):.1f} s, median "
          f"{statistics.median(times):.1f} s over {repeats} (budget 60 s)")
    print("   " + p.stdout.strip().splitlines()[0])

    t0 = time.perf_counter()
    import torch  # noqa: F401

    from lrkit.lab.compare import compare
    from lrkit.lab.config import CompareConfig
    from lrkit.lab.data import load_dataset
    from lrkit.lab.report import write_report
    t1 = time.perf_counter()
    data = load_dataset("digits")
    t2 = time.perf_counter()
    result = compare(CompareConfig(), progress=False, data=data)
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        write_report(out, result.runs, setup=result.setup())
    t4 = time.perf_counter()
    print(f"   parts: import torch+lab {t1 - t0:.1f} s, load digits {t2 - t1:.1f} s, "
          f"train {len(result.runs)} runs {t3 - t2:.1f} s, report+figures {t4 - t3:.1f} s")


def batched_vs_sequential(epochs: int, repeats: int) -> None:
    import torch

    from lrkit.lab.config import DEFAULT_SCHEDULES
    from lrkit.lab.data import load_dataset
    from lrkit.lab.models import make_model
    from lrkit.lab.train import train, train_batched

    data = load_dataset("digits")
    kw = dict(epochs=epochs, batch_size=64, lr=0.1, seed=0)
    before = torch.get_num_threads()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for k in (1, 4, len(DEFAULT_SCHEDULES)):
            specs = DEFAULT_SCHEDULES[:k]

            def sequential():
                for s in specs:
                    train(make_model("mlp", 64, 10, seed=0), data, s, **kw)

            def batched():
                train_batched(make_model("mlp", 64, 10, seed=0), data, specs, **kw)

            seq, _ = best_of(sequential, repeats)
            bat, _ = best_of(batched, repeats)
            print(f"threads={threads} K={k:2d} mlp, {epochs} epochs: one by one {seq:6.2f} s, "
                  f"batched {bat:6.2f} s, ratio {seq / bat:5.2f}x")
    torch.set_num_threads(before)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    default_job(args.repeats)
    batched_vs_sequential(args.epochs, args.repeats)


if __name__ == "__main__":
    main()
