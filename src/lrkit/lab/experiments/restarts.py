"""``restarts``: warm restarts free runs caught in a sharp, poor minimum.

The function (1-D) is a wide, flat good minimum at ``x = 0`` (``s sqrt(1 + x**2)``,
curvature ``s = 0.5``, value 0.5) with a sharp, poor minimum on its slope at
``x = 3`` (curvature ``h = 25``, value 1.0), joined by a smooth minimum. Runs
start at random points downhill of it (``x0 ~ U(3.5, 15)``) and take SGD steps
with gradient noise (std 0.5), so they reach the poor minimum at different times.

The mechanism: gradient descent cannot stay in a minimum of curvature ``h``
when ``lr > 2/h`` (see ``gradient-flow``). With a peak lr of 0.12,
``0.12 * 25 = 3 > 2``: while the lr is high, runs pass over the sharp minimum
and roll on to the flat one (``0.12 * 0.5 << 2``, it keeps them). A run that
arrives after the lr has fallen below ``2/h = 0.08`` is caught for good by a
single decay; under warm restarts it is caught only until the next restart
lifts the lr above ``2/h`` again. Only the last cycle's low-lr tail can trap.

The two schedules spend the same lr in total and at every level (a restarted
cosine is the same set of values, reordered): with no such trap — when every
run has settled before the lr falls — their odds are the same.
"""

from __future__ import annotations

import numpy as np

from ... import constant, cosine, restarts
from .base import Check, ExperimentResult, figure, finish, write_outputs

NAME = "restarts"
QUESTION = ("On a function with a sharp poor minimum and a flat good one, do warm restarts "
            "reach the good one more often than a single decay (over many seeds)?")

X_POOR, H_POOR, C_POOR = 3.0, 25.0, 1.0
SLOPE = 0.5
TAU = 0.02  # smoothness of the join (soft minimum)
PEAK, SIGMA = 0.12, 0.5


def loss(x: np.ndarray) -> np.ndarray:
    """``softmin_tau(s sqrt(1+x^2), c + h/2 (x - 3)^2)`` with ``softmin_tau(a, b) = -tau log(e^-a/tau + e^-b/tau)``."""
    a, b = SLOPE * np.sqrt(1 + x * x), C_POOR + 0.5 * H_POOR * (x - X_POOR) ** 2
    m = np.minimum(a, b)
    return m - TAU * np.log(np.exp(-(a - m) / TAU) + np.exp(-(b - m) / TAU))


def grad(x: np.ndarray) -> np.ndarray:
    """``loss'(x)``: the two parabolas' slopes weighted by their soft-min weights."""
    a, b = SLOPE * np.sqrt(1 + x * x), C_POOR + 0.5 * H_POOR * (x - X_POOR) ** 2
    m = np.minimum(a, b)
    wa, wb = np.exp(-(a - m) / TAU), np.exp(-(b - m) / TAU)
    return (wa * SLOPE * x / np.sqrt(1 + x * x) + wb * H_POOR * (x - X_POOR)) / (wa + wb)


def simulate(lrs: np.ndarray, runs: int, seed: int) -> np.ndarray:
    """Final positions of ``runs`` noisy-SGD runs under the lr sequence ``lrs``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(X_POOR + 0.5, 15.0, runs)
    for lr in lrs:
        x = x - lr * (grad(x) + SIGMA * rng.standard_normal(runs))
    return x


def random_landscapes(count: int, runs: int, seed: int, steps: int = 400) -> np.ndarray:
    """Good-minimum rate of 4 restarts minus that of a single cosine, on ``count`` random
    two-parabola landscapes (curvatures, depths, positions, noise and peak lr drawn at
    random; starts uniform on [-3, 3]). The same noise for both schedules."""
    rng = np.random.default_rng(seed)
    ts = np.arange(steps, dtype=np.float64)
    shapes = cosine(steps).values(ts), restarts(cosine(steps / 4), cycles=4).values(ts)
    out = []
    for _ in range(count):
        hp, hg = 10 ** rng.uniform(0.5, 2), 10 ** rng.uniform(-1, 0.5)
        cp, xg = rng.uniform(0.1, 2), rng.uniform(1, 5)
        peak, sigma = 10 ** rng.uniform(-2, 0), 10 ** rng.uniform(-1, 0.7)

        def g(x):
            a, b = cp + 0.5 * hp * x * x, 0.5 * hg * (x - xg) ** 2
            m = np.minimum(a, b)
            wa, wb = np.exp(-(a - m) / 0.05), np.exp(-(b - m) / 0.05)
            return (wa * hp * x + wb * hg * (x - xg)) / (wa + wb)

        noise_seed, good = int(rng.integers(2**31)), []
        for shape in shapes:
            r = np.random.default_rng(noise_seed)
            x = r.uniform(-3, 3, runs)
            for lr in peak * shape:
                x = np.clip(x - lr * (g(x) + sigma * r.standard_normal(runs)), -100, 100)
            good.append(np.mean(np.abs(x - xg) < np.abs(x)))
        out.append(good[1] - good[0])
    return np.array(out)


def run(out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Measure and check (see the module doc): 3000 runs of 400 steps, 60 random landscapes
    (``quick``: 600 runs, 20 landscapes).

    ``seed`` changes every random draw; with ``out``, the figure and tables are written there.
    """
    steps, runs = 400, (600 if quick else 3000)
    ts = np.arange(steps, dtype=np.float64)
    schedules = {
        "single decay": cosine(steps),
        "2 restarts": restarts(cosine(steps / 2), cycles=2),
        "4 restarts": restarts(cosine(steps / 4), cycles=4),
        "8 restarts": restarts(cosine(steps / 8), cycles=8),
        "constant": constant(),
    }
    rows, frac, caught = [], {}, {}
    for label, s in schedules.items():
        x = simulate(PEAK * s.values(ts), runs, seed)
        good = float(np.mean(np.abs(x) < 1.5))
        poor = float(np.mean(np.abs(x - X_POOR) < 0.3))
        frac[label], caught[label] = good, poor
        rows.append({"schedule": f"{PEAK:g} x {s}", "reached good": good, "caught in poor": poor,
                     "mean final loss": float(np.mean(loss(x))),
                     "steps with lr < 2/h": int(np.sum(PEAK * s.values(ts) < 2 / H_POOR))})
    se = float(np.sqrt(frac["single decay"] * (1 - frac["single decay"]) / runs))
    margin = frac["4 restarts"] - frac["single decay"]
    checks = [
        Check("4 warm restarts reach the good minimum more often than a single cosine decay",
              margin > max(0.1, 5 * se),
              f"{frac['4 restarts']:.3f} vs {frac['single decay']:.3f} of {runs} seeds "
              f"(difference {margin:.3f}, needs > max(0.1, 5 standard errors = {5 * se:.3f}))"),
        Check("the more cycles, the fewer runs caught in the poor minimum (1 > 2 > 4 > 8 cycles)",
              caught["single decay"] > caught["2 restarts"] > caught["4 restarts"] > caught["8 restarts"],
              ", ".join(f"{k}: {v:.3f}" for k, v in caught.items() if k != "constant")),
    ]
    numbers = {**{f"good_{k.replace(' ', '_')}": v for k, v in frac.items()},
               **{f"caught_{k.replace(' ', '_')}": v for k, v in caught.items()}}
    diffs = random_landscapes(20 if quick else 60, 300 if quick else 1000, seed)
    numbers.update(random_best=float(diffs.max()), random_worst=float(diffs.min()))
    notes = [f"a constant lr at the peak is never caught (reached good: {frac['constant']:.3f}): above 2/h the sharp "
             "minimum cannot hold a run; on this landscape its noise floor is small, so it also ends lowest",
             f"not in general: on {diffs.size} random two-parabola landscapes (random curvatures, depths, noise, peak "
             f"lr; starts on [-3, 3]) 4 restarts minus a single decay reached the good minimum "
             f"{diffs.min():+.3f} .. {diffs.max():+.3f} (median {np.median(diffs):+.3f})"]
    result = ExperimentResult(NAME, QUESTION, checks, rows, numbers, notes)
    return write_outputs(result, out, _figure(schedules, ts, seed))


def _figure(schedules, ts, seed):
    fig, (ax, ax2) = figure(2)
    xs = np.linspace(-4, 10, 1200)
    ax.plot(xs, loss(xs), "k", lw=1.2)
    ax.set(xlabel="x", ylabel="f(x)", title=f"flat good minimum at 0, sharp poor one at {X_POOR:g}")
    for label in ("single decay", "4 restarts"):
        lrs = PEAK * schedules[label].values(ts)
        rng = np.random.default_rng(seed)
        x = rng.uniform(X_POOR + 0.5, 15.0, 40)
        path = [x]
        for lr in lrs:
            x = x - lr * (grad(x) + SIGMA * rng.standard_normal(x.size))
            path.append(x)
        ax2.plot(np.array(path)[:, :12], lw=0.6, color="tab:blue" if label == "single decay" else "tab:orange")
        ax2.plot([], [], color="tab:blue" if label == "single decay" else "tab:orange", label=label)
    ax2.axhline(X_POOR, color="gray", ls=":", lw=1)
    ax2.set(xlabel="step", ylabel="x", ylim=(-3, 12), title="12 runs per schedule (same seeds)")
    return finish(fig, (ax, ax2), legend=(ax2,))
