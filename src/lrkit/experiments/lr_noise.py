"""``lr-noise``: multiplicative lr noise (``noisy(...)``) lets SGD escape a sharp, poor minimum.

On the two-minimum function of :mod:`.landscape` (a random one per seed), 300
runs start inside the sharp poor minimum (curvature ``h``) and take 300 SGD
steps with gradient noise at a constant mean lr below the stability limit
``2/h``, with and without lr noise: ``noisy(constant(), std, seed=seed)``
multiplies the lr by ``1 + e``, ``e ~ N(0, std**2)``, the same sequence for every
run of a seed (it is the seed's schedule).

The noisy lr is rescaled so that its mean equals the constant lr (the noise is
clipped at 0, which raises the mean): ``lr_t = lr max(0, 1 + e) / E[max(0, 1 + e)]``.

Theory: inside the minimum a deviation moves by ``x' = (1 - lr_t h) x + lr_t sigma xi``,
so its second moment settles at ``E[lr^2] sigma^2 / (h (2 E[lr] - h E[lr^2]))``.
With ``a = lr h / 2`` and ``M = E[lr^2] / E[lr]^2`` the lr noise multiplies the
spread of the runs in the minimum by ``M (1 - a) / (1 - a M)``; where ``a M >= 1``
the spread grows without bound (mean-square unstable) though the mean lr is
below ``2/h``. A wider spread carries more runs over the basin's rim.

Claim (per seed): with lr noise more runs end in the good minimum than at the
same constant lr without it, by > 10 points and > 3 standard errors. Knobs:
the mean lr in units of ``2/h`` and the noise std.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import constant, noisy
from .base import Check, ExperimentResult, cell_at, over_seeds, rng, share_gap, sweep
from .figures import figure, finish, rate_map
from .landscape import random_landscape, sgd

NAME = "lr-noise"
QUESTION = ("Does multiplicative lr noise (noisy(...)) let SGD escape a sharp poor minimum "
            "that the same mean lr cannot leave?")
CLAIM = ("with lr noise more runs escape the poor minimum and end in the good one than at the same constant lr "
         "without noise, by > 10 points and > 3 SE")
KNOBS = ("mean lr x h/2", "lr noise std")

MARGIN, SES = 0.10, 3.0
LEVELS = (0.3, 0.5, 0.7, 0.85, 0.95)     # mean lr in units of 2/h
STDS = (0.1, 0.25, 0.5, 1.0)
DEFAULT = (0.7, 0.5)
STEPS = 300


def clipped_moments(std: float) -> tuple[float, float]:
    """``E[Z+]`` and ``E[Z+^2]`` of ``Z+ = max(0, 1 + e)``, ``e ~ N(0, std^2)`` (closed form).

    >>> clipped_moments(0.0)
    (1.0, 1.0)
    """
    if std == 0:
        return 1.0, 1.0
    z = 1 / std
    cdf, pdf = 0.5 * (1 + math.erf(z / math.sqrt(2))), math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return cdf + std * pdf, (1 + std * std) * cdf + std * pdf


def spread_factor(a: float, std: float) -> float:
    """How much the lr noise widens the runs' spread in the poor minimum (second moment, noisy / plain)
    at mean lr ``a * 2/h``: ``M (1 - a) / (1 - a M)`` with ``M = E[lr^2] / E[lr]^2``; ``inf`` where ``a M >= 1``.

    >>> spread_factor(0.5, 0.0)
    1.0
    """
    m1, m2 = clipped_moments(std)
    big = m2 / (m1 * m1)
    return math.inf if a * big >= 1 else big * (1 - a) / (1 - a * big)


def trial(seed: int, runs: int, steps: int) -> dict:
    """One seed: ``{(level, std): (good with noise, good without, final loss with, without)}``."""
    r = rng(seed, 61)
    f = random_landscape(r)
    sigma = float(r.uniform(0.3, 0.7))
    x0 = f.x_poor + r.normal(0, f.half_width / 4, runs)
    ts = np.arange(steps, dtype=np.float64)
    cols = [(a, s) for a in LEVELS for s in (0.0, *STDS)]
    shapes = [constant().values(ts) if s == 0
              else noisy(constant(), std=s, seed=seed).values(ts) / clipped_moments(s)[0]
              for _, s in cols]
    lrs = np.concatenate([np.outer(shape, np.full(runs, a * 2 / f.h_poor)) for (a, _), shape in zip(cols, shapes)],
                         axis=1)
    x = sgd(f, np.tile(x0, len(cols)), lrs, sigma, rng(seed, 62)).reshape(len(cols), runs)
    good, loss = f.in_good(x).mean(axis=1), f.loss(x).mean(axis=1)
    at = {c: i for i, c in enumerate(cols)}
    return {(a, s): (float(good[at[a, s]]), float(good[at[a, 0.0]]), float(loss[at[a, s]]), float(loss[at[a, 0.0]]))
            for a in LEVELS for s in STDS}


def _checks(m: tuple, runs: int) -> tuple[list[Check], dict]:
    gn, gp, ln, lp = m
    diff, se = share_gap(gn, gp, runs)
    return [Check(f"with lr noise more runs end in the good minimum, by > {MARGIN:.0%} and > {SES:g} SE",
                  diff > max(MARGIN, SES * se),
                  f"{gn:.3f} vs {gp:.3f} without (difference {diff:+.3f}, SE {se:.3f}); mean final loss "
                  f"{ln:.3f} vs {lp:.3f}")], \
        {"good with noise": gn, "good without": gp, "final loss with noise": ln, "final loss without": lp}


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Measure and check (see the module doc): 300 runs (``quick``: 60). Returns ``(result, figure)``."""
    runs = 60 if quick else 300
    per_seed = over_seeds(seeds, lambda seed: trial(seed, runs, STEPS), progress)
    cells = sweep(KNOBS, itertools.product(LEVELS, STDS), seeds, lambda a, s, seed: _checks(per_seed[seed][a, s], runs),
                  average=np.mean)
    for c in cells:
        c.numbers["spread factor (theory)"] = spread_factor(*c.setting.values())
    default = cell_at(cells, DEFAULT)
    rows = [{**c.setting, **{k if "theory" in k else f"mean {k}": v for k, v in c.numbers.items()},
             "pass rate": c.pass_rate} for c in cells]
    result = ExperimentResult(NAME, QUESTION, CLAIM, list(KNOBS), default, cells, rows, dict(default.numbers),
                              quick=quick)
    unstable = [c for c in cells if math.isinf(c.numbers["spread factor (theory)"])]
    if unstable:
        with_noise = [c.numbers["good with noise"] for c in unstable]
        without = [c.numbers["good without"] for c in unstable]
        result.notes.append(f"theory: at the {len(unstable)} settings where the lr noise makes the poor minimum "
                            f"mean-square unstable (a M >= 1), {min(with_noise):.0%}..{max(with_noise):.0%} of the "
                            f"noisy runs ended in the good minimum (without noise {min(without):.0%}.."
                            f"{max(without):.0%}); elsewhere the noise widens the runs' spread by the factor in "
                            "the table")
    return result, _figure(seeds[0], cells)


def _figure(seed, cells):
    """The first seed's lr with and without noise; the pass-rate map, mean-square unstable settings marked."""
    fig, (ax, ax2) = figure(2, width=5.0)
    r = rng(seed, 61)
    f = random_landscape(r)
    ts = np.arange(STEPS, dtype=np.float64)
    lr = DEFAULT[0] * 2 / f.h_poor
    ax.plot(ts, lr * noisy(constant(), std=DEFAULT[1], seed=seed).values(ts) / clipped_moments(DEFAULT[1])[0],
            lw=0.7, label=f"lr x noisy(constant(), {DEFAULT[1]:g}) / its mean")
    ax.axhline(lr, color="k", lw=1.2, label=f"constant {lr:.3g}")
    ax.axhline(2 / f.h_poor, color="tab:red", ls="--", lw=1, label="2/h: the poor minimum's limit")
    ax.set(xlabel="step", ylabel="lr", title=f"seed {seed} (h = {f.h_poor:.3g})")
    rate_map(fig, ax2, cells, *KNOBS, default=DEFAULT)
    stds = sorted({c.setting[KNOBS[1]] for c in cells})
    for c in cells:
        if math.isinf(c.numbers["spread factor (theory)"]):
            ax2.plot(LEVELS.index(c.setting[KNOBS[0]]) + 0.32, stds.index(c.setting[KNOBS[1]]) + 0.3, "k^", ms=4)
    ax2.plot([], [], "k^", ms=4, label="theory: mean-square unstable")
    return finish(fig, (ax, ax2))
