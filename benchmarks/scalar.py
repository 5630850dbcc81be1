"""Cost of ``s(t)`` on one step, for every type of step a training loop passes.

For each schedule and each step type (a Python ``int``, as every loop counts;
a ``float``; a numpy integer; a 0-d torch tensor, as a compiled or logged step
may be), lrkit's ``s(t)`` against two references timed in this run over the
same steps: a hand-written Python function of the same formula (``math``, no
lrkit) on the steps as Python floats, the cheapest form of the formula, and
one ``step()`` of torch's own scheduler for it (``SequentialLR(LinearLR,
CosineAnnealingLR)``, ``CosineAnnealingWarmRestarts``, ``StepLR``). Goals
(issues: core redesign, 21): for every step type a composite costs at most 5x
the hand-written function and less than one torch ``step()``.

    .venv/bin/python benchmarks/scalar.py [--calls 20000] [--repeats 15]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from functools import partial

import numpy as np

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


CASES = [  # (text, schedule, by hand, torch's scheduler for it, a composite)
    ("cosine(10000)", lk.cosine(10_000), cosine, "cosine", False),
    ("warmup(500) >> cosine(9500, end=0.01)", lk.warmup(W) >> lk.cosine(N, end=0.01), warmup_cosine, "sequential",
     True),
    ("restarts(cosine(1000, end=0.01))", lk.restarts(lk.cosine(T0, end=0.01)), restarts_cosine, "restarts", True),
    ("restarts(cosine(1000, end=0.01), period_mult=2, decay=0.5)",
     lk.restarts(lk.cosine(T0, end=0.01), period_mult=2, decay=0.5), restarts_doubling, "restarts2", True),
    ("step(1000, gamma=0.5)", lk.step(1000, gamma=0.5), step_decay, "step", False),
]


def step_types(calls: int) -> dict[str, list]:
    """The steps ``0 .. calls-1`` as each type a loop passes (None for torch when it is not installed)."""
    types: dict[str, list] = {
        "int": list(range(calls)),
        "float": [float(t) for t in range(calls)],
        "numpy int": list(np.arange(calls, dtype=np.int64)),
    }
    try:
        import torch
    except ImportError:
        return types
    types["0-d tensor"] = [torch.tensor(t) for t in range(calls)]
    return types


CHUNK = 500  # calls timed together: short enough that a chunk often runs without being preempted


def loop_time(fn, ts) -> list[float]:
    """Seconds taken by each chunk of ``CHUNK`` calls of ``fn`` over ``ts``, one pass."""
    out = []
    for i in range(0, len(ts), CHUNK):
        chunk = ts[i:i + CHUNK]
        start = time.perf_counter()
        for t in chunk:
            fn(t)
        out.append(time.perf_counter() - start)
    return out


def best_of(timers: dict, repeats: int) -> dict:
    """Seconds per call of every timer: each chunk's best of ``repeats`` passes, summed. The timers
    run in turn (round robin) and a chunk is short, so the load of a shared machine (other jobs
    preempting this one) falls on all of them alike and mostly drops out of the minimum."""
    best: dict = {}
    for _ in range(repeats):
        for key, timer in timers.items():
            chunks = timer()
            best[key] = [min(a, b) for a, b in zip(best[key], chunks)] if key in best else chunks
    return {key: sum(chunks) / (CHUNK * len(chunks)) for key, chunks in best.items()}


def torch_step_timer(kind: str, steps: int):
    """A timer of one pass of ``step()`` of torch's own scheduler for the same schedule (None without torch)."""
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

    def one_pass() -> list[float]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = sched_of[kind](opt)
            return loop_time(lambda _: sched.step(), range(steps))

    return one_pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    types = step_types(args.calls)
    floats = types["float"]
    for name, s, hand, _, _ in CASES:  # same formula: lrkit agrees with the hand-written one, on every type
        for kind, ts in types.items():
            bad = [t for t in ts[::97] if abs(s(t) - hand(float(t))) > 1e-12]
            assert not bad, (name, kind, bad[:3])
    print(f"{'schedule':60} {'step':>10} {'lrkit s(t)':>11} {'by hand':>9} {'ratio':>6} {'torch step':>11} "
          f"{'vs torch':>8}")
    missed = []
    for name, s, hand, kind, composite in CASES:
        timers = {"hand": partial(loop_time, hand, floats), "torch": torch_step_timer(kind, args.calls)}
        timers.update({k: partial(loop_time, s, ts) for k, ts in types.items()})
        best = best_of({k: v for k, v in timers.items() if v is not None}, args.repeats)
        mine, ref = best["hand"], best.get("torch")
        for step_type in types:
            ours = best[step_type]
            torch_col = f"{ref * 1e6:9.2f}us {ours / ref:7.2f}x" if ref else f"{'-':>11} {'-':>8}"
            print(f"{name:60} {step_type:>10} {ours * 1e6:9.2f}us {mine * 1e6:7.2f}us {ours / mine:5.1f}x {torch_col}")
            if composite and (ours / mine > 5 or (ref is not None and ours >= ref)):
                missed.append(f"{name} ({step_type})")
    print("goals (composites): ratio <= 5x and lrkit s(t) < one torch step, for every step type: "
          + ("met" if not missed else "missed for " + "; ".join(missed)))


if __name__ == "__main__":
    main()
