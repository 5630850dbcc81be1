"""``momentum``: high momentum needs an lr that decays no faster than the momentum forgets.

Heavy-ball SGD (torch's ``SGD(momentum=beta)``): ``v = beta v + g``,
``w -= lr_t v``. The gradient of step ``s`` is applied at every later step with
weight ``lr_t beta**(t-s)``; its total step is the effective lr

    lr_eff(s) = sum_{t >= s} lr_t beta**(t-s)

which is ``lr / (1 - beta)`` for a constant lr (the familiar amplification),
built up over the momentum's memory of about ``1/(1 - beta)`` steps. For an
exponential decay ``lr_t = lr_0 q**t`` it is ``lr_s / (1 - q beta)``: a share
``(1 - beta)/(1 - q beta)`` of the amplification. With ``beta = 0.99`` an lr
half-life of 10 steps ("fast") keeps 13%; the "matched" half-life (the
momentum's own, ``ln 2 / ln(1/beta) = 69`` steps) keeps ``1/(1+beta) = 50%``.

Each seed draws a quadratic (10 curvatures log-uniform in [1e-3, 0.1], random
start); every run spends the same total lr, ``sum_t lr_t = 100``, so plain
gradient descent ends the same whatever the decay speed. Claims (per seed):
(1) with momentum 0.99 the fast decay ends at least 10x above the matched
one; (2) the control: without momentum the same two decays end within 25% of
each other. Knobs: the run length (the matched decay needs time for its
momentum to apply what it collected) and gradient noise (which sets a floor
both decays end on).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import exponential
from .base import Check, ExperimentResult, cell_at, over_seeds, rng, sweep
from .figures import figure, finish, rate_map
from .quadratic import random_quadratic, sgd_quadratic

NAME = "momentum"
QUESTION = ("With high momentum, does an lr that decays faster than the momentum forgets "
            "converge slower than one whose decay is matched to it (at equal total lr)?")
CLAIM = ("with momentum 0.99 an lr half-life of 10 steps ends >= 10x above the matched half-life (69 steps) at "
         "equal total lr, while without momentum the two end within 25%")
KNOBS = ("steps", "gradient noise")

GAP, CONTROL = 10.0, 0.25
BETA, FAST, TOTAL_LR, DIM = 0.99, 10.0, 100.0, 10
MATCHED = math.log(0.5) / math.log(BETA)
STEPS = (200, 300, 500, 1000, 3000)
NOISES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1)
DEFAULT = (1000, 0.0)
ARMS = ((BETA, FAST), (BETA, MATCHED), (0.0, FAST), (0.0, MATCHED))


def effective_lr(lrs: np.ndarray, beta: float) -> np.ndarray:
    """``lr_eff(s) = sum_{t >= s, t < T} lr_t beta**(t-s)``: each gradient's total step.

    >>> effective_lr(np.array([1.0, 1.0, 1.0]), 0.5).tolist()
    [1.75, 1.5, 1.0]
    """
    out = np.empty_like(lrs)
    acc = 0.0
    for t in range(lrs.size - 1, -1, -1):
        acc = lrs[t] + beta * acc
        out[t] = acc
    return out


def lr_sequence(half_life: float, steps: int) -> np.ndarray:
    """``exponential(half_life)`` over ``steps``, scaled so that its lrs sum to ``TOTAL_LR``."""
    shape = exponential(half_life=half_life).values(np.arange(steps, dtype=np.float64))
    return shape * (TOTAL_LR / shape.sum())


def problem(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's quadratic: curvatures ``h`` and start ``w0``."""
    return random_quadratic(rng(seed, 71), DIM, 1e-3, 0.1)


def trial(seed: int, steps: int, runs: int) -> np.ndarray:
    """Mean final loss over ``runs`` of one seed, every noise level and arm: shape ``(noises, arms)``."""
    h, w0 = problem(seed)
    shape = (len(NOISES), len(ARMS), runs)
    lrs = np.stack([lr_sequence(hl, steps) for _, hl in ARMS], axis=1)                        # (T, arms)
    lrs = np.broadcast_to(lrs[:, None, :, None], (steps,) + shape).reshape(steps, -1)
    sigma = np.broadcast_to(np.array(NOISES)[:, None, None], shape).ravel()
    beta = np.broadcast_to(np.array([b for b, _ in ARMS])[None, :, None], shape).ravel()
    final = sgd_quadratic(h, lrs, np.broadcast_to(w0, (sigma.size, DIM)), sigma=sigma, momentum=beta,
                          rng=rng(seed, 72, steps))
    return final.reshape(shape).mean(axis=2)


def _checks(loss: np.ndarray) -> tuple[list[Check], dict]:
    fast, matched, plain_fast, plain_matched = loss
    gap, control = fast / matched, plain_fast / plain_matched
    return [
        Check(f"momentum {BETA:g}: the fast decay ends >= {GAP:g}x above the matched one", gap >= GAP,
              f"{fast:.3g} vs {matched:.3g} (x{gap:.3g})"),
        Check(f"without momentum the two decays end within {CONTROL:.0%}", abs(control - 1) < CONTROL,
              f"{plain_fast:.3g} vs {plain_matched:.3g} (x{control:.3f})"),
    ], {"fast / matched (momentum)": gap, "fast / matched (no momentum)": control}


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Measure and check (see the module doc): 16 runs per noisy setting (``quick``: 4).
    Returns ``(result, figure)``."""
    runs = 4 if quick else 16
    loss = over_seeds(seeds, lambda s: {steps: trial(s, steps, runs) for steps in STEPS}, progress)
    cells = sweep(KNOBS, itertools.product(STEPS, NOISES), seeds,
                  lambda steps, noise, s: _checks(loss[s][steps][NOISES.index(noise)]))
    default = cell_at(cells, DEFAULT)
    rows = [{**c.setting, **{f"median {k}": v for k, v in c.numbers.items()}, "pass rate": c.pass_rate}
            for c in cells]
    kept = {hl: float(effective_lr(lr_sequence(hl, 1000), BETA)[0] * (1 - BETA) / lr_sequence(hl, 1000)[0])
            for hl in (FAST, MATCHED)}
    numbers = {**default.numbers, "kept_fast": kept[FAST], "kept_matched": kept[MATCHED]}
    result = ExperimentResult(NAME, QUESTION, CLAIM, list(KNOBS), default, cells, rows, numbers, quick=quick)
    result.notes.append(f"share of the momentum's amplification kept at the first step: fast {kept[FAST]:.3f} "
                        f"((1-b)/(1-qb) = {(1 - BETA) / (1 - 0.5 ** (1 / FAST) * BETA):.3f}), matched "
                        f"{kept[MATCHED]:.3f} (1/(1+b) = {1 / (1 + BETA):.3f})")
    return result, _figure(seeds[0], cells)


def _figure(seed, cells):
    """Loss curves of the first seed at the default setting; the pass-rate map over run length and noise."""
    fig, (ax, ax2) = figure(2, width=5.0)
    h, w0 = problem(seed)
    steps = DEFAULT[0]
    for beta, hl in ARMS:
        loss = sgd_quadratic(h, lr_sequence(hl, steps), w0[None], momentum=beta, every=1)[:, 0]
        ax.plot(loss, lw=1.1, ls="-" if beta else ":", label=f"momentum {beta:g}, lr half-life {hl:.3g}")
    ax.set(yscale="log", xlabel="step", ylabel="loss", title=f"seed {seed}: equal total lr {TOTAL_LR:g}, no noise")
    rate_map(fig, ax2, cells, *KNOBS, default=DEFAULT)
    return finish(fig, (ax, ax2))
