"""``restarts``: warm restarts free runs caught in a sharp, poor minimum.

On the two-minimum function of :mod:`.landscape` (a flat good minimum at 0, a
sharp poor one of curvature ``h`` on its slope; a random one per seed), 500
runs start downhill of the poor minimum (``x0 ~ U(x_p + 0.5, x_p + 12)``) and
take 400 SGD steps with gradient noise, so they reach it at different times.

The mechanism: gradient descent cannot stay in a minimum of curvature ``h``
when ``lr > 2/h``. While the lr is above ``2/h`` runs pass over the sharp
minimum and roll on to the flat one; a run that arrives after a single decay
has fallen below ``2/h`` is caught for good, while warm restarts lift the lr
above ``2/h`` again and free it. That needs a peak above ``2/h`` and a decay
that reaches below it: the knob is the peak lr in units of ``2/h``.

Claim (per seed): 4 warm restarts of a cosine reach the good minimum more often
than one cosine decay over the same 400 steps, by more than 10 points (and more
than 3 standard errors). Measured too: a constant lr at the peak.
"""

from __future__ import annotations

import numpy as np

from .. import constant, cosine, restarts
from .base import Check, ExperimentResult, cell_at, over_seeds, rng, share_gap, sweep
from .figures import figure, finish, rate_curve
from .landscape import random_landscape, sgd

NAME = "restarts"
QUESTION = ("On a function with a sharp poor minimum and a flat good one, do warm restarts "
            "reach the good one more often than a single decay?")
CLAIM = "4 warm restarts reach the good minimum more often than a single cosine decay, by > 10 points and > 3 SE"
KNOB = "peak lr x h/2"

MARGIN, SES = 0.10, 3.0
PEAKS = (0.5, 0.8, 1.2, 1.5, 2.0, 3.0, 5.0)   # the peak lr in units of 2/h
DEFAULT = 1.5
STEPS = 400


def arms(steps: int) -> dict:
    return {"single cosine": cosine(steps), "4 restarts": restarts(cosine(steps / 4), cycles=4),
            "constant": constant()}


def trial(seed: int, runs: int, steps: int) -> dict:
    """One seed: ``{peak: {arm: (share in good, share caught in poor)}}``."""
    r = rng(seed, 51)
    f = random_landscape(r)
    sigma = float(r.uniform(0.3, 0.7))
    x0 = r.uniform(f.x_poor + 0.5, f.x_poor + 12, runs)
    ts = np.arange(steps, dtype=np.float64)
    shapes = [s.values(ts) for s in arms(steps).values()]
    lrs = np.concatenate([np.outer(shape, np.repeat(np.array(PEAKS) * 2 / f.h_poor, runs)) for shape in shapes],
                         axis=1)
    x = sgd(f, np.tile(x0, len(shapes) * len(PEAKS)), lrs, sigma, rng(seed, 52))
    x = x.reshape(len(shapes), len(PEAKS), runs)
    good, poor = f.in_good(x).mean(axis=2), f.in_poor(x).mean(axis=2)
    return {p: {a: (float(good[i, j]), float(poor[i, j])) for i, a in enumerate(arms(steps))}
            for j, p in enumerate(PEAKS)}


def _checks(m: dict, runs: int) -> tuple[list[Check], dict]:
    (g1, c1), (g4, c4), (gc, _) = m["single cosine"], m["4 restarts"], m["constant"]
    diff, se = share_gap(g4, g1, runs)
    return [Check(f"4 restarts reach the good minimum more often, by > {MARGIN:.0%} and > {SES:g} SE",
                  diff > max(MARGIN, SES * se),
                  f"{g4:.3f} vs single {g1:.3f} (difference {diff:+.3f}, SE {se:.3f}); "
                  f"caught: {c4:.3f} vs {c1:.3f}")], \
        {"good single": g1, "good 4 restarts": g4, "good constant": gc, "caught single": c1, "caught 4 restarts": c4,
         "difference": diff}


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Measure and check (see the module doc): 500 runs per arm (``quick``: 100). Returns ``(result, figure)``."""
    runs = 100 if quick else 500
    per_seed = over_seeds(seeds, lambda s: trial(s, runs, STEPS), progress)
    cells = sweep([KNOB], PEAKS, seeds, lambda p, s: _checks(per_seed[s][p], runs), average=np.mean)
    default = cell_at(cells, DEFAULT)
    rows = [{KNOB: c.setting[KNOB], **{f"mean {k}": v for k, v in c.numbers.items()}, "pass rate": c.pass_rate}
            for c in cells]
    result = ExperimentResult(NAME, QUESTION, CLAIM, [KNOB], default, cells, rows, dict(default.numbers),
                              quick=quick)
    best = max(cells, key=lambda c: c.numbers["good constant"] - c.numbers["good 4 restarts"])
    result.notes.append(f"a constant lr at the peak reaches the good minimum in {default.numbers['good constant']:.3f} "
                        f"of runs at the default setting (4 restarts {default.numbers['good 4 restarts']:.3f}); "
                        "its largest lead over 4 restarts: "
                        f"{best.numbers['good constant'] - best.numbers['good 4 restarts']:+.3f} "
                        f"at {best.label()}")
    return result, _figure(seeds[0], cells)


def _figure(seed, cells):
    """The first seed's landscape; 12 runs per schedule at the default peak; the pass rate against the peak."""
    fig, (ax, ax2, ax3) = figure(3, width=4.2)
    r = rng(seed, 51)
    f = random_landscape(r)
    sigma = float(r.uniform(0.3, 0.7))
    xs = np.linspace(-4, f.x_poor + 8, 1200)
    ax.plot(xs, f.loss(xs), "k", lw=1.2)
    ax.set(xlabel="x", ylabel="f(x)", title=f"seed {seed}: poor minimum h={f.h_poor:.3g} at {f.x_poor:.2f}")
    ts = np.arange(STEPS, dtype=np.float64)
    x0 = rng(seed, 53).uniform(f.x_poor + 0.5, f.x_poor + 12, 12)
    for (label, s), color in zip(list(arms(STEPS).items())[:2], ("tab:blue", "tab:orange")):
        path = sgd(f, x0, DEFAULT * 2 / f.h_poor * s.values(ts), sigma, rng(seed, 54), path=True)
        ax2.plot(path, lw=0.6, color=color)
        ax2.plot([], [], color=color, label=label)
    ax2.axhline(f.x_poor, color="gray", ls=":", lw=1)
    ax2.set(xlabel="step", ylabel="x", ylim=(-3, f.x_poor + 9), title=f"peak lr {DEFAULT:g} x 2/h, same noise")
    rate_curve(ax3, cells, KNOB, default=DEFAULT)
    return finish(fig, (ax, ax2, ax3), legend=(ax2, ax3))
