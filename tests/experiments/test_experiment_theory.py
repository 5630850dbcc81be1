"""The experiments' measurements against theory computed here another way (scipy, closed forms,
Monte Carlo of the plain recursion)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.optimize
import scipy.stats

from lrkit.experiments import gradient_flow, lr_noise, momentum
from lrkit.experiments.landscape import Landscape, random_landscape
from lrkit.experiments.quadratic import expected_loss, random_curvatures, sgd_quadratic


# ------------------------------------------------------------------ gradient flow
@pytest.mark.parametrize("m, big", [(1.0, 2.0), (1.0, 10.0), (0.5, 40.0), (1.0, 1000.0)])
def test_best_constant_lr_is_2_over_m_plus_M_by_scipy(m, big):
    """Minimise the contraction factor max_i |1 - lr lam_i| numerically: the minimiser is 2/(m+M)."""
    lam = np.concatenate([[m, big], np.linspace(m, big, 7)])
    res = scipy.optimize.minimize_scalar(lambda lr: np.max(np.abs(1 - lr * lam)), bounds=(0, 2 / big),
                                         method="bounded", options={"xatol": 1e-12})
    assert res.x == pytest.approx(2 / (m + big), rel=1e-6)
    assert res.fun == pytest.approx((big - m) / (big + m), rel=1e-6)


@pytest.mark.parametrize("kappa", [2.0, 10.0, 100.0])
def test_measured_fastest_lr_and_rate_match_theory(kappa):
    checks, nums = gradient_flow.trial(3, kappa, quick=True)
    assert all(c.holds for c in checks), [c.line() for c in checks]
    assert nums["fastest lr x (m+M)/2"] == pytest.approx(1.0, abs=0.011)
    rho = (kappa - 1) / (kappa + 1)
    assert math.log(nums["rate at 2/(m+M)"]) == pytest.approx(math.log(rho), rel=0.02)
    assert nums["error ratio"] == pytest.approx(2.0, abs=0.1)


def test_gd_iterates_and_the_flow_against_scipy_expm():
    lam, q, w0 = gradient_flow.quadratic(0, 10.0)
    a = (q * lam) @ q.T
    # GD: w_k = (I - lr A)^k w0
    lr = 0.05
    dist = gradient_flow.gd(a, w0, np.array([lr]), 20)
    want = np.linalg.norm(np.linalg.matrix_power(np.eye(len(w0)) - lr * a, 20) @ w0)
    assert dist[-1, 0] == pytest.approx(want, rel=1e-10)
    # the error of a tiny step to the flow exp(-A t) w0 is tiny: Euler converges to the flow
    err = gradient_flow.euler_error(lam, q, w0, 1e-4, 0.05)
    flow = scipy.linalg.expm(-a * 0.05) @ w0
    assert err < 1e-3 * np.linalg.norm(w0) and np.linalg.norm(flow) < np.linalg.norm(w0)


# ------------------------------------------------------------------ noisy quadratic
def test_expected_loss_floor_matches_the_closed_form():
    h, lr, sigma = np.array([0.1, 0.5, 1.0]), 0.4, 0.7
    got = expected_loss(h, np.full(5000, lr), np.ones(3), sigma=sigma)[-1]
    assert got == pytest.approx(float(np.sum(lr * sigma**2 / (2 * (2 - lr * h)))), rel=1e-9)


def test_expected_loss_with_momentum_matches_the_heavy_ball_floor():
    """Stationary E[w^2] of heavy ball: lr s^2 (1+b) / (h (1-b) (2 (1+b) - lr h))."""
    h, lr, b, s = np.array([0.3, 1.0]), 0.2, 0.9, 0.5
    got = expected_loss(h, np.full(4000, lr), np.zeros(2), sigma=s, momentum=b)[-1]
    var = lr * s**2 * (1 + b) / (h * (1 - b) * (2 * (1 + b) - lr * h))
    assert got == pytest.approx(0.5 * float(np.sum(h * var)), rel=1e-9)


@pytest.mark.parametrize("beta", [0.0, 0.9])
def test_simulation_agrees_with_the_exact_expectation(beta):
    r = np.random.default_rng(5)
    h = random_curvatures(r, 4, 0.05, 1.0)
    lrs = 0.5 * np.exp(-np.arange(300) / 150)
    runs = 4000
    sim = sgd_quadratic(h, lrs, np.broadcast_to(np.ones(4), (runs, 4)), sigma=0.3, momentum=beta, rng=r)
    want = expected_loss(h, lrs, np.ones(4), sigma=0.3, momentum=beta)[-1]
    assert sim.mean() == pytest.approx(want, abs=4 * sim.std() / math.sqrt(runs))


def test_noise_groups_see_the_same_draws():
    w0 = np.ones((4, 2))
    out = sgd_quadratic(np.array([1.0, 0.5]), np.full(50, 0.3), w0, sigma=1.0, rng=np.random.default_rng(0),
                        groups=2)
    assert out[0] == out[2] and out[1] == out[3] and out[0] != out[1]


# ------------------------------------------------------------------ momentum
def test_effective_lr_is_the_sum_over_later_steps():
    lrs = np.array([0.5, 0.25, 2.0, 1.0])
    beta = 0.9
    want = [sum(lrs[t] * beta ** (t - s) for t in range(s, 4)) for s in range(4)]
    np.testing.assert_allclose(momentum.effective_lr(lrs, beta), want, rtol=1e-14)


@pytest.mark.parametrize("half", [momentum.FAST, momentum.MATCHED])
def test_kept_share_of_the_amplification(half):
    """For lr_t = lr_0 q^t the first gradient's step is lr_0 / (1 - q beta) (long run): a share
    (1 - beta) / (1 - q beta) of the constant-lr amplification lr_0 / (1 - beta)."""
    lrs = momentum.lr_sequence(half, 5000)
    assert lrs.sum() == pytest.approx(momentum.TOTAL_LR, rel=1e-12)
    q, b = 0.5 ** (1 / half), momentum.BETA
    kept = momentum.effective_lr(lrs, b)[0] * (1 - b) / lrs[0]
    assert kept == pytest.approx((1 - b) / (1 - q * b), rel=1e-9)
    if half == momentum.MATCHED:
        assert kept == pytest.approx(1 / (1 + b), rel=1e-9)   # q = beta


# ------------------------------------------------------------------ lr noise
@pytest.mark.parametrize("std", [0.1, 0.5, 1.0])
def test_clipped_moments_by_quadrature(std):
    pdf = scipy.stats.norm(0, std).pdf
    m1 = scipy.integrate.quad(lambda e: (1 + e) * pdf(e), -1, np.inf)[0]
    m2 = scipy.integrate.quad(lambda e: (1 + e) ** 2 * pdf(e), -1, np.inf)[0]
    got = lr_noise.clipped_moments(std)
    assert got[0] == pytest.approx(m1, rel=1e-7) and got[1] == pytest.approx(m2, rel=1e-7)


def test_spread_factor_matches_a_simulated_linear_minimum():
    """x' = (1 - lr_t h) x + lr_t sigma xi with lr_t = lr (1 + e)+ / E[(1 + e)+]: the stationary
    second moment with noise over the one without."""
    a, std, h, sigma = 0.5, 0.5, 20.0, 0.3
    lr = a * 2 / h
    r = np.random.default_rng(1)
    runs, steps = 20000, 400
    m1 = lr_noise.clipped_moments(std)[0]
    x = np.zeros((2, runs))
    acc = np.zeros(2)
    for t in range(steps):
        noisy = lr * np.maximum(0, 1 + std * r.standard_normal()) / m1   # one lr per step for all runs
        lrs = np.array([[noisy], [lr]])
        x = (1 - lrs * h) * x + lrs * sigma * r.standard_normal((2, runs))
        if t >= steps // 2:
            acc += (x * x).mean(axis=1)
    ratio = acc[0] / acc[1]
    assert ratio == pytest.approx(lr_noise.spread_factor(a, std), rel=0.08)
    assert math.isinf(lr_noise.spread_factor(0.9, 1.0)) and lr_noise.spread_factor(0.3, 0.0) == 1.0


# ------------------------------------------------------------------ landscape
def test_landscape_has_a_flat_good_and_a_sharp_poor_minimum():
    for f in (Landscape(), random_landscape(np.random.default_rng(4))):
        xs = np.linspace(-5, f.x_poor + 5, 40001)
        y = f.loss(xs)
        interior = np.where((y[1:-1] < y[:-2]) & (y[1:-1] < y[2:]))[0] + 1
        minima = xs[interior]
        assert len(minima) == 2
        assert minima[0] == pytest.approx(0.0, abs=1e-3) and minima[1] == pytest.approx(f.x_poor, abs=0.02)
        assert y[interior[0]] < y[interior[1]]
        curv = np.gradient(np.gradient(y, xs), xs)[interior]
        assert curv[0] == pytest.approx(f.slope, rel=0.05) and curv[1] == pytest.approx(f.h_poor, rel=0.05)
        np.testing.assert_allclose(f.grad(xs[::100]), np.gradient(y, xs)[::100], atol=3e-3)
