"""What each engine of ``lrkit compare`` costs: 24 runs of a user function of about 1 s each.

The job: 2 schedules x 3 lrs x 2 tuning seeds (12 runs), then 2 schedules x 6
final seeds (12 runs) = 24 runs. Each run reports 10 epochs. Two kinds of run:

- ``sleep``: each epoch sleeps 0.1 s (no CPU): the wall time minus the ideal
  ``24 x 1 s / parallel runs`` is the engine's own cost, exactly;
- ``cpu``: each epoch does a fixed number of numpy matrix products, calibrated
  to take 0.1 s in this process before the benchmark starts: the real speed-up
  of 2 workers on 2 cores (on a busy machine the ideal is not reachable).

"runs" is the wall time of the two phases (start, training, ``runs/`` written;
the report's figures excluded), "job" the whole ``compare`` call. Per-run
overhead = ``(runs wall x parallel runs - 24 x 1 s) / 24``: the extra seconds
each run costs on a worker slot (process start, imports, shipping the function,
reports, writing ``runs/``). Ray is timed with and without its own start.

    .venv/bin/python benchmarks/engines.py [--kind sleep|cpu|both] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time

TRAIN = textwrap.dedent('''
    import time
    import numpy as np

    def busy(iterations, n=64):
        a = np.full((n, n), 0.5)
        for _ in range(iterations):
            a = np.tanh(a @ a / n)

    def train(run):
        cfg = run.config
        for epoch in range(10):
            if cfg["kind"] == "sleep":
                time.sleep(0.1)
            else:
                busy(cfg["iterations"])
            run.report(epoch=epoch, val=float(epoch + run.lr + 0.01 * run.seed))
        return float(run.lr)
''')


def calibrate(path: str) -> int:
    """Iterations of ``busy`` that take 0.1 s here (median of 5 tries)."""
    import importlib.util
    import statistics

    spec = importlib.util.spec_from_file_location("bench_train", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        mod.busy(200)
        times.append(time.perf_counter() - t)
    return max(1, round(200 * 0.1 / statistics.median(times)))


def job(path: str, config: dict, out: str, **kw):
    from lrkit.lab import compare

    return compare(train=f"{path}:train", schedules=["cosine('100%')", "constant()"], lrs=[0.1, 0.2, 0.4],
                   seeds=6, tune_seeds=2, epochs=10, config=config, out=out, progress=False, **kw)


def measure(path: str, config: dict, name: str, parallel: int, **kw) -> None:
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        r = job(path, config, out, **kw)
        total = time.perf_counter() - t
    n, wall = r.setup["runs_trained"], r.setup["wall_time"]
    assert n == 24, n
    overhead = (wall * parallel - n * 1.0) / n
    print(f"  {name:<34} runs {wall:6.2f} s  job {total:6.2f} s  per-run overhead {overhead:+.3f} s  "
          f"(ideal {n * 1.0 / parallel:.0f} s)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=("sleep", "cpu", "both"), default="both")
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench_train.py")
        with open(path, "w") as f:
            f.write(TRAIN)
        for kind in (("sleep", "cpu") if args.kind == "both" else (args.kind,)):
            config = {"kind": kind, "iterations": calibrate(path) if kind == "cpu" else 0}
            print(f"{kind}: 24 runs x 10 epochs x 0.1 s" + (f" ({config['iterations']} products of 64x64 "
                                                            "per epoch)" if kind == "cpu" else ""))
            measure(path, config, "local, in this process", 1)
            measure(path, config, "local, 1 worker process", 1, workers=1)
            measure(path, config, "local, 2 worker processes", 2, workers=2)
            if not args.no_ray:
                try:
                    import ray
                except ImportError:
                    print("  ray: not installed (pip install 'lrkit[ray]')")
                    continue
                measure(path, config, "ray, local, started by the job", 2, engine="ray")
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
                try:
                    measure(path, config, "ray, local, already running", 2, engine="ray")
                finally:
                    ray.shutdown()
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
