"""Cost of ``s(t)`` on one Python number, against the same formula written by hand.

For each schedule: lrkit's ``s(t)``, a hand-written Python function of the
same formula (``math``, no lrkit), and, for reference, one step of torch's
own scheduler for it (``SequentialLR(LinearLR, CosineAnnealingLR)``,
``CosineAnnealingWarmRestarts``, ``StepLR``), all timed in this run over the
same steps. Goals (issue: core redesign): a composite costs at most 5x the
hand-written function and less than one ``SequentialLR.step()``.

    .venv/bin/python benchmarks/scalar.py [--calls 200000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import lrkit as lk

W, N, T0 = 500, 9_500, 1_000


def warmup_cosine(t: float) -> float:
    if t < W:
        return t / W
    tt = min(t - W, N)
    return 0.01 + (1 - 0.01) * (1 + math.cos(math.pi * tt / N)) / 2


def restarts_cosine(t: float) -> float:
    k = math.floor(t / T0)
    local = t - k * T0
    return 0.01 + (1 - 0.01) * (1 + math.cos(math.pi * local / T0)) / 2


def restarts_doubling(t: float) -> float:
    k = math.floor(math.log2(1 + t / T0))
    start = T0 * (2**k - 1)
    length = T0 * 2**k
    return (0.01 + (1 - 0.01) * (1 + math.cos(math.pi * (t - start) / length)) / 2) * 0.5**k


def step_decay(t: float) -> float:
    return 0.5 ** math.floor(t / 1000)


def cosine(t: float) -> float:
    return (1 + math.cos(math.pi * min(t, 10_000) / 10_000)) / 2


CASES = [
    ("cosine(10000)", lk.cosine(10_000), cosine, "cosine"),
    ("warmup(500) >> cosine(9500, end=0.01)", lk.warmup(W) >> lk.cosine(N, end=0.01), warmup_cosine, "sequential"),
    ("restarts(cosine(1000, end=0.01))", lk.restarts(lk.cosine(T0, end=0.01)), restarts_cosine, "restarts"),
    ("restarts(cosine(1000, end=0.01), period_mult=2, decay=0.5)",
     lk.restarts(lk.cosine(T0, end=0.01), period_mult=2, decay=0.5), restarts_doubling, "restarts2"),
    ("step(1000, gamma=0.5)", lk.step(1000, gamma=0.5), step_decay, "step"),
]


def per_call(fn, ts, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for t in ts:
            fn(t)
        best = min(best, (time.perf_counter() - start) / len(ts))
    return best


def torch_step_time(kind: str, steps: int, repeats: int) -> float | None:
    """Seconds per ``step()`` of torch's own scheduler for the same schedule (None without torch)."""
    try:
        import torch
    except ImportError:
        return None
    sched_of = {
        "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10_000),
        "sequential": lambda o: torch.optim.lr_scheduler.SequentialLR(
            o, [torch.optim.lr_scheduler.LinearLR(o, 1e-3, 1.0, total_iters=W),
                torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=N, eta_min=0.01)], milestones=[W]),
        "restarts": lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=T0, eta_min=0.01),
        "restarts2": lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=T0, T_mult=2,
                                                                                    eta_min=0.01),
        "step": lambda o: torch.optim.lr_scheduler.StepLR(o, 1000, gamma=0.5),
    }
    best = math.inf
    for _ in range(repeats):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = sched_of[kind](opt)
            start = time.perf_counter()
            for _ in range(steps):
                sched.step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ts = [float(t) for t in range(args.calls)]
    for name, s, hand, _ in CASES:  # same formula: lrkit agrees with the hand-written one
        bad = [t for t in ts[:20_000:7] if abs(s(t) - hand(t)) > 1e-12]
        assert not bad, (name, bad[:3])
    print(f"{'schedule':60} {'lrkit s(t)':>11} {'by hand':>9} {'ratio':>6} {'torch step':>11} {'vs torch':>8}")
    for name, s, hand, kind in CASES:
        ours = per_call(s, ts, args.repeats)
        mine = per_call(hand, ts, args.repeats)
        ref = torch_step_time(kind, min(args.calls, 20_000), args.repeats)
        torch_col = f"{ref * 1e6:9.2f}us {ours / ref:7.2f}x" if ref else f"{'-':>11} {'-':>8}"
        print(f"{name:60} {ours * 1e6:9.2f}us {mine * 1e6:7.2f}us {ours / mine:5.1f}x {torch_col}")
    print("goals: ratio <= 5x for composites; lrkit s(t) < one torch step")


if __name__ == "__main__":
    main()
