"""``gradient-flow``: gradient descent as explicit Euler steps of gradient flow.

Gradient flow ``dw/dt = -A w`` on ``f(w) = 1/2 w^T A w`` is
``w(t) = exp(-A t) w(0)``. Gradient descent with lr ``eta`` is its explicit
Euler method with time step ``eta``, ``w <- (I - eta A) w``: first order, so
halving ``eta`` halves the error to the flow at fixed times.

With the eigenvalues of ``A`` in ``[m, M]`` the error shrinks per step by
``rho(eta) = max(|1 - eta m|, |1 - eta M|)``, smallest where both ends balance:
``eta* = 2/(m+M)``, ``rho* = (M-m)/(M+m)``. Above ``2/M`` the stiffest
direction grows by ``|1 - eta M| > 1`` each step: Euler diverges, though the
flow always converges.

Each seed draws a quadratic in 10 dimensions (eigenvalues ``m = 1``, ``M``
and 8 log-uniform in between, a random rotation, a random start) and runs GD
itself. Claims: (1) of 21 constant lrs ``0.90 .. 1.10 x 2/(m+M)`` (1% apart) the
fastest measured rate is at ``2/(m+M)`` (+-1%) and equals ``rho*`` (its log
within 2%); (2) ``0.98 x 2/M`` converges, ``1.02 x 2/M`` diverges; (3) halving the lr
(``0.1/M -> 0.05/M -> 0.025/M``) divides the largest distance to the flow over
``t in [0, min(1/m, 20/M)]`` by 1.8 to 2.2. The knob is the condition number ``M/m``.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Check, ExperimentResult, cell_at, over_seeds, rng, sweep
from .figures import figure, finish, rate_curve

NAME = "gradient-flow"
QUESTION = ("Gradient descent is Euler's method on gradient flow: is 2/(m+M) the fastest "
            "constant lr on a strongly convex quadratic, and does lr > 2/M diverge?")
CLAIM = ("2/(m+M) is the fastest constant lr (rate (M-m)/(M+m)), lr above 2/M diverges and below it converges, "
         "and GD's error to the flow is first order in the lr")
KNOB = "condition number M/m"

FACTORS = np.round(np.arange(0.90, 1.1001, 0.01), 2)   # lrs swept, times 2/(m+M)
RATE_TOL, ORDER = 0.02, (1.8, 2.2)
CONDITIONS = (2.0, 10.0, 100.0, 1000.0)
DEFAULT = 10.0
DIM = 10


def quadratic(seed: int, kappa: float):
    """The seed's quadratic: eigenvalues (``1``, ``kappa`` and 8 in between), rotation ``Q``, start ``w0``."""
    r = rng(seed, 31)
    lam = np.sort(np.concatenate([[1.0, kappa], np.exp(r.uniform(0, np.log(kappa), DIM - 2))]))
    q, _ = np.linalg.qr(r.standard_normal((DIM, DIM)))
    return lam, q, r.standard_normal(DIM)


def gd(a: np.ndarray, w0: np.ndarray, lrs: np.ndarray, steps: int, at=None) -> np.ndarray:
    """Distances ``|w_k|`` of GD ``w <- w - lr A w``, every lr at once, at the steps ``at`` (default:
    every step): shape ``(len(at), len(lrs))``."""
    at = set(range(steps + 1)) if at is None else set(at)
    w = np.tile(w0, (len(lrs), 1))
    out = [np.linalg.norm(w, axis=1)] if 0 in at else []
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            w = w - lrs[:, None] * (w @ a)
            if k in at:
                out.append(np.linalg.norm(w, axis=1))
    return np.array(out)


def euler_error(lam, q, w0, lr: float, horizon: float) -> float:
    """Largest distance between GD (run) and the exact flow ``Q exp(-lam t) Q^T w0`` over ``[0, horizon]``."""
    a = (q * lam) @ q.T
    steps = round(horizon / lr)
    w, path = w0.copy(), [w0]
    for _ in range(steps):
        w = w - lr * (a @ w)
        path.append(w)
    t = lr * np.arange(steps + 1)[:, None]
    flow = (np.exp(-lam * t) * (q.T @ w0)) @ q.T
    return float(np.max(np.linalg.norm(np.array(path) - flow, axis=1)))


def trial(seed: int, kappa: float, quick: bool) -> tuple[list[Check], dict]:
    """The checks of one seed at one condition number."""
    lam, q, w0 = quadratic(seed, kappa)
    a = (q * lam) @ q.T
    m, big = lam[0], lam[-1]
    best, rho = 2 / (m + big), (big - m) / (big + m)
    # to a distance of 1e-140 at most (its square stays a normal float), or a step budget
    steps = min(math.ceil(140 * math.log(10) / -math.log(rho)), 4000 if quick else 20000)
    dist = gd(a, w0, best * FACTORS, steps, at=(steps // 2, steps))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        rates = (dist[-1] / dist[0]) ** (1 / (steps - steps // 2))
    rates = np.where(np.isfinite(rates), rates, np.inf)          # diverged: not the fastest
    fastest = float(FACTORS[int(np.argmin(rates))])
    at_best = float(rates[int(np.argmin(np.abs(FACTORS - 1)))])
    edge = gd(a, w0, np.array([0.98, 1.02]) * 2 / big, 200)[-1] / np.linalg.norm(w0)
    lrs = np.array([0.1, 0.05, 0.025]) / big
    horizon = min(1 / m, 20 / big)
    errs = [euler_error(lam, q, w0, lr, horizon) for lr in lrs]
    orders = [errs[0] / errs[1], errs[1] / errs[2]]
    checks = [
        Check("the fastest swept lr is 2/(m+M) (+-1%) and its rate is (M-m)/(M+m) (log-rate within 2%)",
              abs(fastest - 1) < 0.011 and abs(math.log(at_best) / math.log(rho) - 1) < RATE_TOL,
              f"fastest at {fastest:.2f} x 2/(m+M); rate there {at_best:.6f} vs (M-m)/(M+m) = {rho:.6f}"),
        Check("0.98 x 2/M converges, 1.02 x 2/M diverges", edge[0] < 1 < edge[1],
              f"distance after 200 steps / start: {edge[0]:.3g} and {edge[1]:.3g}"),
        Check(f"halving the lr divides the error to the flow by {ORDER[0]:g}..{ORDER[1]:g} (first order)",
              all(ORDER[0] < o < ORDER[1] for o in orders),
              f"error ratios {orders[0]:.3f}, {orders[1]:.3f} "
              f"(lr 0.1/M -> 0.05/M -> 0.025/M, t in [0, {horizon:.3g}])"),
    ]
    return checks, {"fastest lr x (m+M)/2": fastest, "rate at 2/(m+M)": at_best, "(M-m)/(M+m)": rho,
                    "error ratio": float(np.mean(orders))}


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Measure and check (see the module doc). Returns ``(result, figure)``."""
    per_seed = over_seeds(seeds, lambda s: {kappa: trial(s, kappa, quick) for kappa in CONDITIONS}, progress)
    cells = sweep([KNOB], CONDITIONS, seeds, lambda kappa, s: per_seed[s][kappa])
    default = cell_at(cells, DEFAULT)
    rows = [{KNOB: c.setting[KNOB], **{f"median {k}": v for k, v in c.numbers.items()}, "pass rate": c.pass_rate}
            for c in cells]
    numbers = {"lr_2_over_m_plus_M": 2 / (1 + DEFAULT), **default.numbers}
    result = ExperimentResult(NAME, QUESTION, CLAIM, [KNOB], default, cells, rows, numbers, quick=quick)
    return result, _figure(seeds[0], cells)


def _figure(seed, cells):
    """Measured rate against the lr with the theory (first seed, default); Euler steps vs the flow; pass rates."""
    fig, (ax, ax2, ax3) = figure(3, width=4.2)
    lam, q, w0 = quadratic(seed, DEFAULT)
    a = (q * lam) @ q.T
    m, big = lam[0], lam[-1]
    lrs = np.linspace(0.05, 2.2 / big, 60)
    dist = gd(a, w0, lrs, 200)
    ax.plot(lrs, (dist[-1] / dist[100]) ** (1 / 100), "o", ms=3, label="measured rate")
    ax.plot(lrs, np.maximum(abs(1 - lrs * m), abs(1 - lrs * big)), "k", lw=0.8, label="max|1 - lr lam|")
    ax.axvline(2 / (m + big), color="tab:green", ls="--", lw=1, label="2/(m+M)")
    ax.axvline(2 / big, color="tab:red", ls="--", lw=1, label="2/M")
    ax.set(xlabel="constant lr", ylabel="shrink factor per step", ylim=(0, 1.3),
           title=f"M/m = {DEFAULT:g}, seed {seed}")
    two, ts = np.array([1.0, DEFAULT]), np.linspace(0, 3, 300)
    ax2.plot(np.exp(-ts), np.exp(-DEFAULT * ts), "k", lw=1.5, label="gradient flow")
    for lr in (0.05, 2 / (1 + DEFAULT), 0.195):
        pts = (1 - lr * two) ** np.arange(int(3 / lr) + 1)[:, None]
        ax2.plot(pts[:, 0], pts[:, 1], "o-", ms=3, lw=0.7, label=f"GD lr={lr:.3g}")
    ax2.set(xlabel="w along curvature m", ylabel="w along curvature M", title="Euler steps of the flow")
    rate_curve(ax3, cells, KNOB, default=DEFAULT)
    return finish(fig, (ax, ax2, ax3))
