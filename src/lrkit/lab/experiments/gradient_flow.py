"""``gradient-flow``: gradient descent as explicit Euler steps of gradient flow.

Gradient flow ``dw/dt = -grad f(w)`` on ``f(w) = 1/2 sum_i lam_i w_i**2`` is
``w_i(t) = exp(-lam_i t) w_i(0)``. Gradient descent with lr ``eta`` is its
explicit Euler method with time step ``eta``: ``w_i <- (1 - eta lam_i) w_i``,
a first-order method (halving ``eta`` halves the error at a fixed time).

With curvatures between ``m`` and ``M`` the error shrinks per step by
``rho(eta) = max_i |1 - eta lam_i| = max(|1 - eta m|, |1 - eta M|)``, smallest
when both ends balance: ``eta* = 2/(m+M)``, ``rho* = (M-m)/(M+m)``. Above
``2/M`` the stiffest direction has ``|1 - eta M| > 1``: Euler is unstable and
the iterates diverge, though the flow itself always converges.
"""

from __future__ import annotations

import numpy as np

from .base import Check, ExperimentResult, figure, finish, write_outputs

NAME = "gradient-flow"
QUESTION = ("Gradient descent is Euler's method on gradient flow: is 2/(m+M) the fastest "
            "constant lr on a strongly convex quadratic, and does lr > 2/M diverge?")

M_LO, M_HI = 1.0, 10.0
FACTORS = (0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 1.0, 1.05, 1.08, 1.15, 1.25, 1.4)  # times 2/(m+M)


def _gd_losses(lam: np.ndarray, w0: np.ndarray, lr: float, steps: int) -> np.ndarray:
    w = w0.copy()
    out = np.empty(steps + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps + 1):
            out[t] = 0.5 * float(np.sum(lam * w * w))
            w = w - lr * lam * w
    return out


def _euler_error(lam: np.ndarray, w0: np.ndarray, lr: float, horizon: float) -> float:
    """Largest distance between Euler iterates and the exact flow over ``[0, horizon]``."""
    k = np.arange(int(round(horizon / lr)) + 1)[:, None]
    gd = w0 * (1 - lr * lam) ** k
    flow = w0 * np.exp(-lam * k * lr)
    return float(np.max(np.linalg.norm(gd - flow, axis=1)))


def run(out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Measure and check (see the module doc): 200 steps per lr (``quick``: 100).

    ``seed`` changes every random draw; with ``out``, the figure and tables are written there.
    """
    rng = np.random.default_rng(seed)
    lam = np.linspace(M_LO, M_HI, 10)
    w0 = rng.uniform(0.5, 1.5, lam.size) * rng.choice([-1.0, 1.0], lam.size)
    steps = 100 if quick else 200
    best = 2 / (M_LO + M_HI)
    lrs = [best * f for f in FACTORS]
    rows, rates = [], {}
    for lr in lrs:
        loss = _gd_losses(lam, w0, lr, steps)
        tail = steps // 2
        rate = float((loss[-1] / loss[tail]) ** (0.5 / (steps - tail)))  # per step, in distance
        theory = max(abs(1 - lr * M_LO), abs(1 - lr * M_HI))
        rates[lr] = rate
        rows.append({"lr": lr, "lr x (m+M)/2": lr / best, "measured rate": rate, "theory rate": theory,
                     "final loss": float(loss[-1]), "diverged": bool(loss[-1] > loss[0])})
    swept_best = min(rates, key=rates.get)
    above = [r for r in rows if r["lr"] > 2 / M_HI]
    below = [r for r in rows if r["lr"] < 2 / M_HI]
    worst_fit = max(abs(r["measured rate"] / r["theory rate"] - 1) for r in below)
    errs = {eta: _euler_error(lam, w0, eta, horizon=1.0) for eta in (0.02, 0.01, 0.005)}
    orders = [errs[0.02] / errs[0.01], errs[0.01] / errs[0.005]]

    checks = [
        Check("2/(m+M) is the fastest of the swept constant lrs", swept_best == best,
              f"fastest swept lr {swept_best:.4g}, 2/(m+M) = {best:.4g}, rate {rates[best]:.4f} "
              f"= (M-m)/(M+m) = {(M_HI - M_LO) / (M_HI + M_LO):.4f}"),
        Check("measured rates match max|1 - lr lam| for lr < 2/M", worst_fit < 0.01,
              f"largest relative gap {worst_fit:.2g}"),
        Check("every lr above 2/M diverges, every lr below converges",
              all(r["diverged"] for r in above) and not any(r["diverged"] for r in below),
              f"{sum(r['diverged'] for r in above)}/{len(above)} above 2/M = {2 / M_HI:.3g} diverged, "
              f"{sum(r['diverged'] for r in below)}/{len(below)} below"),
        Check("Euler is first order: halving the lr halves the error to the flow", all(1.8 < o < 2.2 for o in orders),
              f"error ratios {orders[0]:.3f}, {orders[1]:.3f} (lr 0.02 -> 0.01 -> 0.005, over t in [0, 1])"),
    ]
    numbers = {"lr_2_over_m_plus_M": best, "lr_2_over_M": 2 / M_HI, "best_swept_lr": swept_best,
               "best_rate": rates[best], "theory_best_rate": (M_HI - M_LO) / (M_HI + M_LO),
               "euler_order_ratio_1": orders[0], "euler_order_ratio_2": orders[1]}
    result = ExperimentResult(NAME, QUESTION, checks, rows, numbers)
    return write_outputs(result, out, _figure(lam, w0, lrs, rows, best))


def _figure(lam, w0, lrs, rows, best):
    fig, (ax, ax2) = figure(2)
    grid = np.linspace(0.01, max(lrs), 400)
    ax.plot(grid, np.maximum(abs(1 - grid * M_LO), abs(1 - grid * M_HI)), color="gray", lw=1, label="max|1 - lr lam|")
    ax.plot([r["lr"] for r in rows], [r["measured rate"] for r in rows], "o", ms=4, label="measured")
    ax.axvline(best, color="tab:green", ls="--", lw=1, label="2/(m+M)")
    ax.axvline(2 / M_HI, color="tab:red", ls="--", lw=1, label="2/M")
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set(xlabel="constant lr", ylabel="error shrink factor per step", title=f"GD, curvatures in [{M_LO:g}, {M_HI:g}]")
    ax.legend(fontsize=7)
    two = np.array([M_LO, M_HI])
    start = np.array([1.0, 1.0])
    ts = np.linspace(0, 3, 300)
    ax2.plot(np.exp(-M_LO * ts), np.exp(-M_HI * ts), "k", lw=1.5, label="gradient flow")
    for lr in (0.05, best, 0.195):
        k = np.arange(int(3 / lr) + 1)[:, None]
        pts = start * (1 - lr * two) ** k
        ax2.plot(pts[:, 0], pts[:, 1], "o-", ms=3, lw=0.7, label=f"GD lr={lr:.3g}")
    ax2.set(xlabel="w along curvature m", ylabel="w along curvature M", title="Euler steps of the flow")
    ax2.legend(fontsize=7)
    return finish(fig, (ax, ax2), legend=())
