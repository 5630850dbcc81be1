"""``lr-noise``: what ``noisy(...)`` does to SGD on the noisy quadratic.

``noisy(inner, std)`` multiplies the lr by ``1 + e`` (``e ~ N(0, std**2)``,
clipped so the lr stays >= 0), drawn per step from a fixed seed: the mean lr
is unchanged, its second moment grows by ``1 + std**2``. For SGD with
gradient noise ``sigma`` on a coordinate of curvature ``h``, the stationary
second moment obeys ``E[w^2] = E[(1 - lr h)^2] E[w^2] + E[lr^2] sigma^2``, so

    E[f_i] = E[lr^2] sigma^2 / (2 (2 E[lr] - h E[lr^2]))

The noise floor grows with ``E[lr^2]``: lr noise acts like a larger lr on the
floor while keeping the mean step. Claim: the measured floor under
``noisy(constant(), std=0.5)`` matches this prediction (with the moments of the
lr values actually used) and lies above the noiseless floor by the factor the
formula gives for ``E[lr] = lr``, ``E[lr^2] = lr^2 (1 + std^2)`` (about
``1 + std**2`` when ``lr h`` is small). Under a cosine decay the lr, and with it the noise, goes to
zero at the end: the final losses with and without noise are reported.
"""

from __future__ import annotations

import numpy as np

from ... import constant, cosine, noisy
from .base import Check, ExperimentResult, figure, finish, write_outputs
from .quadratic import sgd_quadratic

NAME = "lr-noise"
QUESTION = "What does multiplicative lr noise (noisy(...)) do to SGD: is its effect the one theory predicts?"

LR, STD, SIGMA = 0.5, 0.5, 1.0


def floor(h: np.ndarray, lrs: np.ndarray, sigma: float) -> float:
    """Predicted stationary loss ``sum_i E[lr^2] sigma^2 / (2 (2 E[lr] - h_i E[lr^2]))``."""
    m1, m2 = float(np.mean(lrs)), float(np.mean(lrs**2))
    return float(np.sum(m2 * sigma**2 / (2 * (2 * m1 - h * m2))))


def run(out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Measure and check (see the module doc): 6000 steps, 200 runs (``quick``: 2000, 100).

    ``seed`` changes every random draw; with ``out``, the figure and tables are written there.
    """
    steps, runs = (2000, 100) if quick else (6000, 200)
    h = np.linspace(0.1, 1.0, 10)
    ts = np.arange(steps, dtype=np.float64)
    kw = dict(w0=0.0, sigma=SIGMA, runs=runs, seed=seed)
    plain, jitter = constant(), noisy(constant(), std=STD, seed=seed)
    rows, measured, predicted, curves = [], {}, {}, {}
    for label, s in (("constant", plain), ("noisy constant", jitter)):
        lrs = LR * s.values(ts)
        loss = sgd_quadratic(h, lrs, **kw)
        curves[label] = loss.mean(axis=0)
        measured[label] = float(loss[:, steps // 4:].mean())
        predicted[label] = floor(h, lrs[steps // 4:], SIGMA)
        rows.append({"schedule": f"{LR:g} x {s}", "mean lr": float(lrs.mean()), "mean lr^2": float(np.mean(lrs**2)),
                     "floor measured": measured[label], "floor predicted": predicted[label], "final loss": None})
    decays = {}
    for label, s in (("cosine", cosine(steps)), ("noisy cosine", noisy(cosine(steps), std=STD, seed=seed))):
        lrs = LR * s.values(ts)
        loss = sgd_quadratic(h, lrs, **{**kw, "w0": 3.0})
        curves[label] = loss.mean(axis=0)
        decays[label] = float(curves[label][-1])
        rows.append({"schedule": f"{LR:g} x {s}", "mean lr": float(lrs.mean()), "mean lr^2": float(np.mean(lrs**2)),
                     "floor measured": None, "floor predicted": None, "final loss": decays[label]})
    for r in rows:
        r.update({k: ("" if v is None else v) for k, v in r.items()})
    fits = {k: measured[k] / predicted[k] for k in measured}
    raise_ = measured["noisy constant"] / measured["constant"]
    # ideal noise: E[lr] = lr, E[lr^2] = lr^2 (1 + std^2), as for the two values lr (1 +- std)
    ideal = floor(h, LR * np.array([1 + STD, 1 - STD]), SIGMA) / floor(h, np.array([LR]), SIGMA)
    checks = [
        Check("the measured floors match E[lr^2] sigma^2 / (2 (2 E[lr] - h E[lr^2]))",
              all(abs(f - 1) < 0.05 for f in fits.values()),
              ", ".join(f"{k}: measured/predicted {f:.3f}" for k, f in fits.items())),
        Check(f"lr noise (std {STD:g}) raises the floor by the predicted factor (within 5%)",
              abs(raise_ / ideal - 1) < 0.05,
              f"floor ratio noisy / plain {raise_:.3f}; predicted {ideal:.3f} (1 + std^2 = {1 + STD**2:g} "
              "when lr h << 1)"),
    ]
    numbers = {"floor_plain": measured["constant"], "floor_noisy": measured["noisy constant"],
               "floor_ratio": raise_, "predicted_ratio": ideal, "final_cosine": decays["cosine"],
               "final_noisy_cosine": decays["noisy cosine"]}
    notes = [f"under a cosine decay the noise still costs at the end: final loss {decays['noisy cosine']:.4g} with "
             f"noise vs {decays['cosine']:.4g} without (the noise scales with the lr, which goes to 0)"]
    result = ExperimentResult(NAME, QUESTION, checks, rows, numbers, notes)

    fig = _figure(ts, curves, predicted, plain, jitter, runs)
    return write_outputs(result, out, fig)


def _figure(ts, curves, predicted, plain, jitter, runs):
    """Loss curves with the predicted floors (left), the first 300 lrs (right)."""
    fig, (ax, ax2) = figure(2)
    for label, c in curves.items():
        ax.plot(c, lw=0.9, label=label)
    for label in ("constant", "noisy constant"):
        ax.axhline(predicted[label], ls=":", lw=1, color="gray")
    ax.set(yscale="log", xlabel="step", ylabel=f"mean loss over {runs} runs", title="SGD on a noisy quadratic")
    ax2.plot(ts[:300], LR * jitter.values(ts[:300]), lw=0.8, label=str(jitter))
    ax2.plot(ts[:300], LR * plain.values(ts[:300]), lw=1.2, label=str(plain))
    ax2.set(xlabel="step", ylabel="lr", title="the first 300 lrs")
    return finish(fig, (ax, ax2))
