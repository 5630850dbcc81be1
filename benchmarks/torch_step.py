"""Cost of one ``Scheduler.step()`` against torch's SequentialLR(LinearLR, CosineAnnealingLR).

Both drive the same warmup-then-cosine lr (100 warmup steps, then cosine) on
SGD with 1 and 10 param groups, with float and with tensor lrs, timed in this
run. Goals: at most 0.5x torch's time with float lr, 0.25x with tensor lr.
lrkit computes every value directly, ``base * schedule(t)``, from the
schedule's scalar call (once per distinct schedule per step; no value cache),
so its cost is that call plus writing the groups; the cost of ``schedule(t)``
alone is printed too.

With ``--compile`` it also counts the graphs a ``torch.compile``d Adam step
builds over a one-cycle run when lr and beta1 change on every step: lrkit
(tensors filled in place) against torch's OneCycleLR(cycle_momentum=True).

    .venv/bin/python benchmarks/torch_step.py [--steps 2000] [--repeats 5] [--compile [--backend inductor]]
"""

from __future__ import annotations

import argparse
import time
import timeit
import warnings

import torch

import lrkit as lk
from lrkit.torch import Scheduler

WARMUP, COSINE = 100, 100_000
GOALS = {"float": 0.5, "tensor": 0.25}


def make_optimizer(groups: int, kind: str) -> torch.optim.Optimizer:
    params = [torch.nn.Parameter(torch.zeros(4)) for _ in range(groups)]
    specs = []
    for i, p in enumerate(params):
        lr = 0.1 * (1 + i)
        specs.append({"params": [p], "lr": torch.tensor(lr) if kind == "tensor" else lr})
    opt = torch.optim.SGD(specs, lr=0.1)
    for p in params:
        p.grad = torch.zeros_like(p)
    opt.step()  # torch's schedulers warn if their step() comes first
    return opt


def torch_scheduler(opt):
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1e-3, end_factor=1.0, total_iters=WARMUP)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=COSINE)
    return torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[WARMUP])


def lrkit_scheduler(opt):
    return Scheduler(opt, lk.warmup(WARMUP, start=1e-3) >> lk.cosine(COSINE))


def time_steps(make, groups: int, kind: str, steps: int) -> float:
    """Seconds per step() over ``steps`` steps from a fresh scheduler."""
    sched = make(make_optimizer(groups, kind))
    step = sched.step
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def compiled_run(which: str, backend: str, steps: int) -> tuple[int, float]:
    """(graphs compiled, seconds) for ``steps - 1`` compiled Adam steps under a one-cycle schedule."""
    import torch._dynamo
    from torch._dynamo.testing import CompileCounterWithBackend

    torch._dynamo.reset()
    torch.manual_seed(0)
    model = torch.nn.Linear(16, 4)
    betas = (torch.tensor(0.95), torch.tensor(0.999))
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.01), betas=betas, foreach=False)
    if which == "lrkit":
        beta1 = lk.interpolate([(0, 1.0), (0.3 * steps - 1, 0.85 / 0.95), (steps - 1, 1.0)])
        sched = Scheduler(opt, {"lr": lk.one_cycle(steps), "beta1": beta1})
    else:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=steps, cycle_momentum=True)
    counter = CompileCounterWithBackend(backend)
    step = torch.compile(opt.step, backend=counter)
    start = time.perf_counter()
    for _ in range(steps - 1):
        model(torch.randn(32, 16)).sum().backward()
        step()
        opt.zero_grad()
        sched.step()
    return counter.frame_count, time.perf_counter() - start


def compile_contrast(backend: str, steps: int) -> None:
    import logging

    torch._logging.set_logs(dynamo=logging.ERROR)
    print(f"\ntorch.compile({backend}) Adam step, tensor lr and betas, {steps - 1} steps of one-cycle:")
    for which in ("lrkit", "torch OneCycleLR"):
        graphs, seconds = compiled_run(which, backend, steps)
        print(f"  {which:<17} graphs compiled: {graphs:>3}   wall time: {seconds:6.1f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="also count torch.compile graphs")
    ap.add_argument("--backend", default="inductor", help="torch.compile backend for --compile")
    ap.add_argument("--compile-steps", type=int, default=20)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # torch's own schedulers may warn; lrkit's never do
    print(f"{'lr':<7}{'groups':>7}{'torch us':>11}{'lrkit us':>11}{'ratio':>8}{'goal':>7}")
    ok = True
    for kind in ("float", "tensor"):
        for groups in (1, 10):
            ref = min(time_steps(torch_scheduler, groups, kind, args.steps) for _ in range(args.repeats))
            ours = min(time_steps(lrkit_scheduler, groups, kind, args.steps) for _ in range(args.repeats))
            ratio = ours / ref
            ok &= ratio <= GOALS[kind]
            print(f"{kind:<7}{groups:>7}{ref * 1e6:>11.2f}{ours * 1e6:>11.2f}{ratio:>7.2f}x{GOALS[kind]:>6}x")
    s = lk.warmup(WARMUP, start=1e-3) >> lk.cosine(COSINE)
    per_call = min(timeit.repeat(lambda: s(1234.0), number=args.steps, repeat=args.repeats)) / args.steps
    print(f"schedule(t) alone: {per_call * 1e6:.2f} us per call")
    print("all goals met" if ok else "some goals missed")
    if args.compile:
        compile_contrast(args.backend, args.compile_steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
