"""``momentum``: high momentum needs an lr that decays no faster than it forgets.

Heavy-ball SGD (torch's ``SGD(momentum=beta)``): ``v = beta v + g``,
``w -= lr_t v``. The gradient of step ``s`` is applied at every later step,
with weight ``lr_t beta**(t-s)``; its total step is the effective lr

    lr_eff(s) = sum_{t >= s} lr_t beta**(t-s)

which is ``lr / (1 - beta)`` for a constant lr (the familiar amplification),
reached over the momentum's memory of about ``1/(1-beta)`` steps. If the lr
decays faster than that, later steps take the gradient at a smaller lr: for an
exponential decay ``lr_t = lr_0 q**t``, ``lr_eff(s) = lr_s / (1 - q beta)``, a
fraction ``(1 - beta)/(1 - q beta)`` of the amplification.

Precisely: all runs spend the same total lr ``sum_t lr_t`` (so plain gradient
descent, ``beta = 0``, ends the same whatever the decay speed), on a
deterministic quadratic with curvatures 1e-3 .. 1e-1, for 1000 steps. With
``beta = 0.99`` (memory 100 steps, half-life ``ln 2 / ln(1/beta) = 69`` steps), an
lr half-life of 10 steps ("fast") keeps 13% of the amplification; the
"matched" half-life (equal to the momentum's, 69 steps) keeps
``1/(1+beta) = 50%``. Claim: the fast decay converges slower, ending at a
loss at least ten times higher. (The "slow" decay, half-life 300, keeps a
little less than its formula says: the run ends before its last gradients
have been fully applied.)
"""

from __future__ import annotations

import math

import numpy as np

from ... import exponential
from .base import Check, ExperimentResult, figure, finish, write_outputs
from .quadratic import sgd_quadratic

NAME = "momentum"
QUESTION = ("With high momentum, does an lr that decays faster than the momentum forgets "
            "converge slower than one whose decay is matched to it (at equal total lr)?")

STEPS, TOTAL_LR, FAST = 1000, 100.0, 10.0


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


def run(out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Measure and check (see the module doc): 1000 steps, deterministic (``quick`` changes nothing: it is already fast).

    ``seed`` changes every random draw; with ``out``, the figure and tables are written there.
    """
    rng = np.random.default_rng(seed)
    h = np.logspace(-3, -1, 10)
    w0 = rng.uniform(0.5, 1.5, h.size)
    ts = np.arange(STEPS, dtype=np.float64)
    rows, final, curves = [], {}, {}
    for beta in (0.0, 0.9, 0.99):
        matched = math.log(0.5) / math.log(beta) if beta else None
        for label, half in (("fast", FAST), ("matched", matched), ("slow", 300.0)):
            if half is None:
                continue
            s = exponential(half_life=half)
            shape = s.values(ts)
            lrs = shape * (TOTAL_LR / shape.sum())
            eff = effective_lr(lrs, beta)
            q = 0.5 ** (1 / half)
            loss = sgd_quadratic(h, lrs, w0=w0, sigma=0.0, runs=1, momentum=beta)[0]
            final[(beta, label)] = float(loss[-1])
            curves[(beta, label)] = (loss, lrs, eff)
            rows.append({"momentum": beta, "decay": label, "lr half-life": half, "peak lr": float(lrs[0]),
                         "sum lr": float(lrs.sum()), "kept amplification": float(eff.sum() * (1 - beta) / lrs.sum()),
                         "theory (1-b)/(1-qb)": (1 - beta) / (1 - q * beta), "final loss": float(loss[-1])})
    kept = {(r["momentum"], r["decay"]): r["kept amplification"] for r in rows}
    gap = final[(0.99, "fast")] / final[(0.99, "matched")]
    plain = final[(0.0, "fast")] / final[(0.0, "slow")]
    fit = max(abs(r["kept amplification"] / r["theory (1-b)/(1-qb)"] - 1) for r in rows if r["decay"] != "slow")
    checks = [
        Check("momentum 0.99: the fast decay (half-life 10) ends at least 10x above the matched one (69)",
              gap > 10, f"final loss {final[(0.99, 'fast')]:.3g} vs {final[(0.99, 'matched')]:.3g} (ratio {gap:.3g})"),
        Check("without momentum the decay speed does not matter at equal total lr (within 25%)",
              abs(plain - 1) < 0.25,
              f"fast {final[(0.0, 'fast')]:.4g} vs slow {final[(0.0, 'slow')]:.4g} (ratio {plain:.3f})"),
        Check("the kept share of the momentum's amplification is (1-beta)/(1-q beta) (fast, matched)", fit < 0.01,
              f"momentum 0.99: fast {kept[(0.99, 'fast')]:.3f}, matched {kept[(0.99, 'matched')]:.3f}; "
              f"largest gap to theory {fit:.2g}"),
    ]
    numbers = {"final_099_fast": final[(0.99, "fast")], "final_099_matched": final[(0.99, "matched")],
               "ratio_fast_over_matched": gap, "plain_fast_over_slow": plain,
               "kept_099_fast": kept[(0.99, "fast")], "kept_099_matched": kept[(0.99, "matched")]}
    early = {k: float(curves[(0.99, k)][0][100]) for k in ("fast", "matched")}
    notes = [f"early on the fast decay is ahead (its peak lr is {curves[(0.99, 'fast')][1][0]:.3g}, the matched one's "
             f"{curves[(0.99, 'matched')][1][0]:.3g}): loss at step 100 {early['fast']:.3g} vs {early['matched']:.3g}; "
             "then its lr is gone before the momentum has applied the gradients it collected, and it stalls"]
    result = ExperimentResult(NAME, QUESTION, checks, rows, numbers, notes)

    fig = _figure(curves)
    return write_outputs(result, out, fig)


def _figure(curves):
    """Loss curves (left), lr / (1 - beta) against the effective lr (right)."""
    fig, (ax, ax2) = figure(2)
    for key in ((0.99, "fast"), (0.99, "matched"), (0.99, "slow"), (0.0, "fast"), (0.0, "slow")):
        ax.plot(curves[key][0], lw=1.1, ls="-" if key[0] else ":", label=f"momentum {key[0]:g}, {key[1]} decay")
    ax.set(yscale="log", xlabel="step", ylabel="loss", title=f"equal total lr ({TOTAL_LR:g})")
    for key in ((0.99, "fast"), (0.99, "matched")):
        _, lrs, eff = curves[key]
        line, = ax2.plot(lrs[:300] / (1 - key[0]), lw=1.1, label=f"{key[1]}: lr / (1 - beta)")
        ax2.plot(eff[:300], lw=1.1, ls="--", color=line.get_color(), label=f"{key[1]}: effective lr")
    ax2.set(yscale="log", xlabel="step", ylabel="step size per unit gradient", title="momentum 0.99")
    return finish(fig, (ax, ax2))
