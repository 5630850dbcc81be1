"""Preview cost: lrkit ``values()`` over 10 million steps of ``linear >> cosine``
against stepping torch's ``SequentialLR(LinearLR, CosineAnnealingLR)``, per value.

Torch is stepped for ``--torch-steps`` steps (stepping it 10 million times
would take minutes); both costs are reported per value, with their ratio,
for the exact float64 evaluation and for the float32 preview
(``values(ts, dtype=np.float32)``). The float64 cost is bounded by libm's
``cos`` (about 10 ns per value on one core; numpy has no SIMD float64 cosine).
Run: ``python benchmarks/preview.py``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import lrkit as lk


def lrkit_cost(n: int, warmup: int, repeats: int, dtype=np.float64) -> tuple[float, np.ndarray]:
    s = lk.linear(warmup, start=0.01, end=1.0) >> lk.cosine(n - warmup, end=0.0)
    ts = np.arange(n)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = s.values(ts, dtype=dtype)
        best = min(best, time.perf_counter() - t0)
    return best / n, out


def torch_cost(n: int, warmup: int, steps: int) -> tuple[float, np.ndarray]:
    import torch

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=warmup)
        b = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n - warmup, eta_min=0.0)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [a, b], milestones=[warmup])
        opt.step()  # once, so torch does not warn about the call order
        lrs = np.empty(steps)
        group = opt.param_groups[0]
        t0 = time.perf_counter()
        for i in range(steps):  # the scheduler alone: no optimizer work is timed
            lrs[i] = group["lr"]
            sched.step()
        dt = time.perf_counter() - t0
    return dt / steps, lrs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000_000)
    ap.add_argument("--torch-steps", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    warmup = args.steps // 20
    per_lk, vals = lrkit_cost(args.steps, warmup, args.repeats)
    per_32, vals32 = lrkit_cost(args.steps, warmup, args.repeats, np.float32)
    per_torch, lrs = torch_cost(args.steps, warmup, args.torch_steps)
    head = slice(0, args.torch_steps)
    err = np.max(np.abs(vals[head] - lrs) / np.maximum(np.abs(lrs), 1e-300))
    err32 = np.max(np.abs(vals32.astype(np.float64) - vals))
    print(f"torch SequentialLR.step(): {args.torch_steps:,} steps, {per_torch * 1e9:8.1f} ns per value")
    print(f"lrkit values() float64:    {args.steps:,} values, {per_lk * 1e9:8.1f} ns per value, "
          f"ratio {per_lk / per_torch:.2e} (goal <= 1.0e-03); max rel. diff. to torch {err:.1e}")
    print(f"lrkit values() float32:    {args.steps:,} values, {per_32 * 1e9:8.1f} ns per value, "
          f"ratio {per_32 / per_torch:.2e}; max abs. diff. to float64 {err32:.1e}")


if __name__ == "__main__":
    main()
