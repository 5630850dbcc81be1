"""``half-life``: step decay and exponential decay with the same half-life.

``step(H, gamma=0.5)`` is ``0.5**floor(t/H)``; ``exponential(half_life=H)`` is
``0.5**(t/H)``. They are equal at every multiple of ``H``, and in between the
step schedule still holds the value of the last multiple, so it is never
below the exponential. Over one interval the exponential spends
``(1 - 0.5)/ln 2 = 0.72`` of the step schedule's lr: in total the step schedule
spends ``2 ln 2 = 1.39`` times as much. Trained with SGD on the noisy
quadratic of ``noisy-quadratic``, the larger lr sits higher on the noise floor
(which is proportional to the lr) all along; at the end its extra lr has also
removed more of the slow directions' error, and the two end close together.
"""

from __future__ import annotations

import math

import numpy as np

from ... import exponential, step
from .base import Check, ExperimentResult, figure, finish, write_outputs
from .quadratic import sgd_quadratic

NAME = "half-life"
QUESTION = ("Step and exponential decay with the same half-life coincide at every multiple "
            "of it: how do they differ in between, and in training?")


def run(out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Measure and check (see the module doc): 2000 steps, 200 runs (``quick``: 1000, 100).

    ``seed`` changes every random draw; with ``out``, the figure and tables are written there.
    """
    steps, runs = (1000, 100) if quick else (2000, 200)
    half = steps // 8
    stepped, expo = step(half, gamma=0.5), exponential(half_life=half)
    ts = np.arange(steps, dtype=np.float64)
    a, b = stepped.values(ts), expo.values(ts)
    ks = np.arange(0, 64) * float(half)
    at_k = np.max(np.abs(stepped.values(ks) - expo.values(ks)) / expo.values(ks))
    ratio = a.sum() / b.sum()
    # discrete sums: sum_t 0.5**floor(t/H) = H * sum_k 0.5**k;  sum_t 0.5**(t/H) is geometric
    q = 0.5 ** (1 / half)
    n_int = steps // half
    predicted = half * (1 - 0.5**n_int) / 0.5 / ((1 - q**steps) / (1 - q))

    h = np.logspace(-2, 0, 20)
    kw = dict(w0=10.0, sigma=1.0, runs=runs, seed=seed)
    loss = {name: sgd_quadratic(h, s.values(ts), **kw).mean(axis=0)
            for name, s in (("step", stepped), ("exponential", expo))}
    final = {k: float(v[-1]) for k, v in loss.items()}
    mean = {k: float(v.mean()) for k, v in loss.items()}

    rows = [{"schedule": str(s), "sum of lr": float(v.sum()), "final lr": float(v[-1]),
             "mean loss over run": mean[k], "final loss": final[k]}
            for k, s, v in (("step", stepped, a), ("exponential", expo, b))]
    checks = [
        Check("equal at every multiple of the half-life (64 multiples)", at_k <= 1e-12,
              f"largest relative difference {at_k:.2g}"),
        Check("step is never below exponential", bool(np.all(a >= b)),
              f"smallest step - exponential = {float(np.min(a - b)):.3g}"),
        Check("step spends 2 ln 2 = 1.386 times the lr (discrete sums)", abs(ratio / predicted - 1) < 1e-9,
              f"measured sum ratio {ratio:.6f}, predicted {predicted:.6f}"),
        Check("with more lr, step trains on a higher noise floor: higher mean loss over the run",
              mean["step"] > 1.1 * mean["exponential"],
              f"{mean['step']:.4g} vs {mean['exponential']:.4g} (ratio {mean['step'] / mean['exponential']:.3f}, "
              "needs > 1.1)"),
        Check("yet they end close: final losses within 15%", abs(final["step"] / final["exponential"] - 1) < 0.15,
              f"{final['step']:.4g} vs {final['exponential']:.4g} (ratio {final['step'] / final['exponential']:.3f})"),
    ]
    numbers = {"max_rel_diff_at_multiples": float(at_k), "lr_sum_ratio": float(ratio),
               "predicted_lr_sum_ratio": float(predicted), "continuous_ratio_2ln2": 2 * math.log(2),
               **{f"final_{k}": v for k, v in final.items()}, **{f"mean_{k}": v for k, v in mean.items()}}
    result = ExperimentResult(NAME, QUESTION, checks, rows, numbers)

    fig = _figure(ts, stepped, expo, loss, runs)
    return write_outputs(result, out, fig)


def _figure(ts, stepped, expo, loss, runs):
    """The two lr curves with the multiples of the half-life (left), the losses (right)."""
    fig, (ax, ax2) = figure(2)
    ax.plot(ts, stepped.values(ts), label=str(stepped), lw=1.2)
    ax.plot(ts, expo.values(ts), label=str(expo), lw=1.2)
    mult = np.arange(0, ts.size, stepped.size)
    ax.plot(mult, expo.values(mult), "ko", ms=3, label="multiples of the half-life")
    ax.set(yscale="log", xlabel="step", ylabel="lr multiplier", title="same half-life")
    for k, v in loss.items():
        ax2.plot(v, label=k, lw=1.0)
    ax2.set(yscale="log", xlabel="step", ylabel=f"mean loss over {runs} runs", title="SGD on a noisy quadratic")
    return finish(fig, (ax, ax2))
