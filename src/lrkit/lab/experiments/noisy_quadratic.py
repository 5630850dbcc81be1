"""``noisy-quadratic``: constant vs decaying lr under gradient noise.

SGD on ``f(w) = 1/2 sum_i h_i w_i**2`` (20 curvatures from 0.01 to 1) with
gradient noise of std ``sigma``. A constant lr ``lr`` settles at a noise floor,
per coordinate ``E[f_i] = lr * sigma**2 / (2 (2 - lr h_i))``: proportional to
the lr. A decaying lr makes fast progress while it is large and lowers the
floor as it shrinks. Claim: a decaying lr ends lower than the constant lr equal
to its first value, and (measured on a sweep) even below the best constant lr.
"""

from __future__ import annotations

import numpy as np

from ... import constant, cosine, exponential
from .base import Check, ExperimentResult, figure, finish, write_outputs
from .quadratic import sgd_quadratic

NAME = "noisy-quadratic"
QUESTION = ("On a quadratic with noisy gradients, does a decaying lr end lower than a "
            "constant lr equal to its first value?")

LR0 = 1.0
SWEEP = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def run(out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Measure and check (see the module doc): 2000 steps, 200 runs (``quick``: 1000, 64).

    ``seed`` changes every random draw; with ``out``, the figure and tables are written there.
    """
    steps, runs = (1000, 64) if quick else (2000, 200)
    h = np.logspace(-2, 0, 20)
    kw = dict(w0=10.0, sigma=1.0, runs=runs, seed=seed)
    ts = np.arange(steps, dtype=np.float64)
    schedules = {"constant": constant(), "cosine": cosine(steps), "exponential": exponential(half_life=steps / 8)}
    curves = {k: sgd_quadratic(h, LR0 * s.values(ts), **kw).mean(axis=0) for k, s in schedules.items()}
    sweep = {lr: sgd_quadratic(h, np.full(steps, lr), **kw)[:, -1].mean() for lr in SWEEP}
    best_lr = min(sweep, key=sweep.get)
    floor = float(np.sum(LR0 * kw["sigma"] ** 2 / (2 * (2 - LR0 * h))))

    rows = [{"schedule": f"{LR0:g} x {s}", "final loss": float(curves[k][-1]),
             "vs constant": float(curves[k][-1] / curves["constant"][-1])} for k, s in schedules.items()]
    rows.append({"schedule": f"best constant of sweep: constant({best_lr:g})", "final loss": float(sweep[best_lr]),
                 "vs constant": float(sweep[best_lr] / curves["constant"][-1])})
    final = {k: float(c[-1]) for k, c in curves.items()}
    checks = [
        Check(f"{k} ends below constant({LR0:g})", final[k] < 0.5 * final["constant"],
              f"final loss {final[k]:.4g} vs {final['constant']:.4g} (ratio {final[k] / final['constant']:.3f}, "
              "needs < 0.5)")
        for k in ("cosine", "exponential")
    ]
    checks.append(Check("exponential decay also ends below the best constant lr of the sweep",
                        final["exponential"] < 0.8 * sweep[best_lr],
                        f"{final['exponential']:.4g} vs constant({best_lr:g}): {sweep[best_lr]:.4g} "
                        f"(ratio {final['exponential'] / sweep[best_lr]:.3f}, needs < 0.8)"))
    checks.append(Check(f"constant({LR0:g}) sits at its predicted noise floor",
                        abs(final["constant"] / floor - 1) < 0.15,
                        f"measured {final['constant']:.4g}, predicted sum_i lr sigma^2/(2(2-lr h_i)) = {floor:.4g}"))
    numbers = {**{f"final_{k}": v for k, v in final.items()}, "predicted_floor": floor,
               "best_constant_lr": best_lr, "best_constant_final": float(sweep[best_lr])}
    result = ExperimentResult(NAME, QUESTION, checks, rows, numbers)

    fig = _figure(ts, schedules, curves, floor, runs)
    return write_outputs(result, out, fig)


def _figure(ts, schedules, curves, floor, runs):
    """Loss curves with the predicted floor (left), the lrs (right)."""
    fig, (ax, ax2) = figure(2)
    for k, s in schedules.items():
        ax.plot(curves[k], label=str(s), lw=1.2)
        ax2.plot(ts, LR0 * s.values(ts), label=str(s), lw=1.2)
    ax.axhline(floor, color="gray", ls=":", lw=1, label="predicted floor of constant")
    ax.set(yscale="log", xlabel="step", ylabel=f"mean loss over {runs} runs", title="loss")
    ax2.set(xlabel="step", ylabel="lr", title="learning rate")
    return finish(fig, (ax, ax2))
