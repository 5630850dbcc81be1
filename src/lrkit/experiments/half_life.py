"""``half-life``: step decay and exponential decay with the same half-life, in training.

``step(H, gamma=0.5)`` is ``0.5**floor(t/H)`` and ``exponential(half_life=H)``
is ``0.5**(t/H)``: equal at every multiple of ``H``, and in between the step
schedule still holds the last multiple's value (over an interval it spends
``2 ln 2 = 1.39`` times the exponential's lr). The practical question is
whether the choice matters once trained. SGD (lr 1) on the noisy quadratic of
``noisy-quadratic`` (a random one per seed, gradient noise 1), both schedules
on the same noise.

Claim: with the same half-life the two end close: final losses within 15%.
Measured too (not claimed): the step schedule trains on a higher noise floor
in between (the ratio of the mean losses over the run). Knobs: the half-life
as a share of the run, and the run length.
"""

from __future__ import annotations

import numpy as np

from .. import exponential, step
from .base import Check, ExperimentResult, cell_at, over_seeds, rng, sweep
from .figures import figure, finish, rate_map
from .quadratic import random_quadratic, sgd_quadratic

NAME = "half-life"
QUESTION = ("Step and exponential decay with the same half-life coincide at every multiple of it: "
            "does the choice between them matter in training?")
CLAIM = "with the same half-life, step and exponential decay end within 15% of each other (final loss)"
KNOBS = ("half-life / run", "steps")

FINAL_TOL = 0.15                            # final losses within 15%
FRACTIONS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2)
STEPS = (500, 2000, 8000)
DEFAULT = (1 / 8, 2000)
LR, SIGMA, DIM, W0 = 1.0, 1.0, 10, 10.0


def problem(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's quadratic: curvatures ``h`` and start ``w0``."""
    return random_quadratic(rng(seed, 21), DIM, 0.01, 1.0, size=W0)


def trial(seed: int, steps: int, runs: int) -> dict:
    """One seed, one run length: ``{fraction: (final step, final exp, mean step, mean exp)}``."""
    h, w0 = problem(seed)
    ts = np.arange(steps, dtype=np.float64)
    lrs = np.stack([LR * s.values(ts) for f in FRACTIONS
                    for s in (step(steps * f, gamma=0.5), exponential(half_life=steps * f))], axis=1)
    every = max(steps // 200, 1)
    n = lrs.shape[1]
    loss = sgd_quadratic(h, np.repeat(lrs, runs, axis=1), np.broadcast_to(w0, (n * runs, DIM)), sigma=SIGMA,
                         rng=rng(seed, 22, steps), every=every, groups=n)   # the same noise for every schedule
    curves = loss.reshape(-1, n, runs).mean(axis=2).T
    out = {}
    for i, f in enumerate(FRACTIONS):
        a, b = curves[2 * i], curves[2 * i + 1]
        out[f] = (float(a[-1]), float(b[-1]), float(a.mean()), float(b.mean()))
    return out


def _checks(m: tuple) -> tuple[list[Check], dict]:
    fs, fe, ms, me = m
    mean_ratio, final_ratio = ms / me, fs / fe
    return [Check(f"final losses within {FINAL_TOL:.0%}", abs(final_ratio - 1) < FINAL_TOL,
                  f"step {fs:.4g} vs exponential {fe:.4g} (ratio {final_ratio:.3f}; mean loss over the run: "
                  f"ratio {mean_ratio:.3f})")], {"final loss ratio": final_ratio, "mean loss ratio": mean_ratio}


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Measure and check (see the module doc): 16 runs per schedule (``quick``: 4, and the run lengths / 4).
    Returns ``(result, figure)``."""
    runs, scale = (4, 4) if quick else (16, 1)
    lengths = [steps // scale for steps in STEPS]
    per_seed = over_seeds(seeds, lambda s: {n: trial(s, n, runs) for n in lengths}, progress)
    cells = sweep(KNOBS, [(f, n) for n in lengths for f in FRACTIONS], seeds,
                  lambda f, n, s: _checks(per_seed[s][n][f]))
    default = cell_at(cells, (DEFAULT[0], DEFAULT[1] // scale))
    rows = [{**c.setting, **{f"median {k}": v for k, v in c.numbers.items()}, "pass rate": c.pass_rate}
            for c in cells]
    result = ExperimentResult(NAME, QUESTION, CLAIM, list(KNOBS), default, cells, rows, dict(default.numbers),
                              quick=quick)
    return result, _figure(seeds[0], cells, DEFAULT[1] // scale, runs)


def _figure(seed, cells, steps, runs):
    """The two schedules and their mean losses (first seed, default); the pass-rate map."""
    fig, (ax, ax2) = figure(2, width=5.2)
    h, w0 = problem(seed)
    ts = np.arange(steps, dtype=np.float64)
    for s in (step(steps * DEFAULT[0], gamma=0.5), exponential(half_life=steps * DEFAULT[0])):
        loss = sgd_quadratic(h, LR * s.values(ts), np.broadcast_to(w0, (runs, DIM)), sigma=SIGMA,
                             rng=rng(seed, 22, steps), every=1).mean(axis=1)
        line, = ax.plot(loss, lw=0.9, label=f"loss, {s}")
        ax.plot(ts, LR * s.values(ts), lw=0.8, ls="--", color=line.get_color(), label="its lr")
    ax.set(yscale="log", xlabel="step", ylabel=f"mean loss of {runs} runs / lr", title=f"seed {seed}")
    rate_map(fig, ax2, cells, *KNOBS, default=(DEFAULT[0], steps))
    ax2.set_xticks(range(len(FRACTIONS)), [f"1/{round(1 / f)}" for f in FRACTIONS], fontsize=7)
    return finish(fig, (ax, ax2), legend=(ax,))
