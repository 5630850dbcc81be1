"""lrkit's core formulas against optax's and Keras's schedule *functions*.

Light by design: a few families, random configurations, compared in float32
(both libraries compute in float32): ``rtol=1e-5`` plus ``atol=1e-6 * scale``
for values near zero. (The framework adapters are tested elsewhere.)
Keras's ``PiecewiseConstantDecay`` switches one step later than
``lk.piecewise``: a named test below.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import pytest  # noqa: E402

import lrkit as lk  # noqa: E402

SEEDS = range(6)
pytestmark = pytest.mark.filterwarnings(  # keras's torch backend, on every scalar conversion
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
RTOL = 1e-5


def check(got, want, scale: float, what: str) -> None:
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6 * scale, err_msg=what)


def optax_values(fn, n: int) -> np.ndarray:
    """t = 0..n, each through ``jax.jit(fn)`` with an integer count, as optax runs in training."""
    jitted = jax.jit(fn)
    return np.array([float(jitted(t)) for t in range(n + 1)])


def keras_values(schedule, n: int, *, loop: bool = False) -> np.ndarray:
    """t = 0..n in one call, or step by step (schedules using ops.cond or scalar state)."""
    if loop:
        return np.array([float(keras.ops.convert_to_numpy(schedule(keras.ops.convert_to_tensor(t))))
                         for t in range(n + 1)])
    steps = keras.ops.convert_to_tensor(np.arange(n + 1, dtype=np.float32))
    return np.asarray(keras.ops.convert_to_numpy(schedule(steps)), dtype=np.float64)


def _rng(seed, salt):
    return np.random.default_rng([seed, salt])


# -------------------------------------------------------------------- optax
@pytest.mark.parametrize("seed", SEEDS)
def test_optax_linear_and_polynomial_schedule(seed):
    rng = _rng(seed, 1)
    init, end, n = float(rng.uniform(0.01, 1)), float(rng.uniform(0, 1)), int(rng.integers(1, 100))
    power = float(rng.uniform(0.5, 3.0))
    check(lk.linear(n, start=init, end=end).values(range(n + 21)),
          optax_values(optax.linear_schedule(init, end, n), n + 20), max(init, end), "linear")
    # Whole powers only: under jit XLA computes t/n as t * (1/n), so at t >= n optax's
    # (1 - t/n) is +-6e-8, not 0 (NaN for fractional powers: see the named test).
    power = float(max(1, round(power)))
    if init >= end:  # lk.polynomial: end + (start - end) * (1 - t/n)**power, optax's formula
        check(lk.polynomial(n, power=power, start=init, end=end).values(range(n + 21)),
              optax_values(optax.polynomial_schedule(init, end, power, n), n + 20), init, "polynomial")


def test_optax_polynomial_fractional_power_is_nan_at_the_end_under_jit():
    """Known difference: jitted optax computes 1 - t/n as 1 - t*(1/n) in float32, which
    is slightly negative at t = n for some n (here 3), and a negative base to a
    fractional power is NaN. lrkit's min(t, n)/n is exactly 1 there: the value is ``end``."""
    theirs = optax_values(optax.polynomial_schedule(1.0, 0.1, 1.5, 3), 5)
    s = lk.polynomial(3, power=1.5, start=1.0, end=0.1)
    assert np.isnan(theirs[3:]).all()
    assert s(3) == s(5) == 0.1
    check(s.values(range(3)), theirs[:3], 1.0, "before the end")


@pytest.mark.parametrize("seed", SEEDS)
def test_optax_cosine_decay_schedule(seed):
    rng = _rng(seed, 2)
    init, alpha, n = float(rng.uniform(0.01, 1)), float(rng.uniform(0, 0.5)), int(rng.integers(1, 200))
    s = init * lk.cosine(n, end=alpha)
    check(s.values(range(n + 21)), optax_values(optax.cosine_decay_schedule(init, n, alpha=alpha), n + 20),
          init, f"cosine_decay_schedule({init}, {n}, alpha={alpha})")


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_optax_exponential_decay(staircase, seed):
    rng = _rng(seed, 3)
    init, k, rate = float(rng.uniform(0.01, 1)), int(rng.integers(1, 50)), float(rng.uniform(0.1, 0.99))
    s = lk.step(k, gamma=rate, start=init) if staircase else lk.exponential(rate ** (1 / k), start=init)
    fn = optax.exponential_decay(init, transition_steps=k, decay_rate=rate, staircase=staircase)
    ours, theirs = s.values(range(301)), optax_values(fn, 300)
    inside = np.arange(301) % k != 0 if staircase else np.ones(301, bool)  # see the named test below
    check(ours[inside], theirs[inside], init, f"exponential_decay(k={k}, rate={rate}) vs {s}")


def test_optax_staircase_in_float32_may_switch_one_step_late():
    """Known difference: jitted optax computes floor(t / k) in float32 as
    floor(t * (1/k)), which is m - 1 at some multiples t = m*k (k = 47: t = 47, 94, 188).
    lrkit (float64, exact division) switches at every multiple."""
    k, rate = 47, 0.5
    theirs = optax_values(optax.exponential_decay(1.0, k, rate, staircase=True), 300)
    s = lk.step(k, gamma=rate)
    late = [t for t in range(0, 301, k) if theirs[t] != np.float32(s(t))]
    assert late, "optax now switches exactly at every multiple: turn this into a plain conformance test"
    for t in late:
        assert theirs[t] == np.float32(s(t - 1))  # one step late, never otherwise wrong
    assert all(s(m * k) == rate**m for m in range(7))


@pytest.mark.parametrize("seed", SEEDS)
def test_optax_warmup_cosine_decay_schedule(seed):
    rng = _rng(seed, 4)
    peak, w = float(rng.uniform(0.01, 1)), int(rng.integers(1, 50))
    init, end, total = peak * float(rng.uniform(0, 1)), peak * float(rng.uniform(0, 0.5)), w + int(rng.integers(1, 200))
    s = peak * (lk.warmup(w, start=init / peak) >> lk.cosine(total - w, end=end / peak))
    fn = optax.warmup_cosine_decay_schedule(init, peak, w, total, end_value=end)
    check(s.values(range(total + 21)), optax_values(fn, total + 20), peak, f"warmup_cosine_decay vs {s}")


@pytest.mark.parametrize("shape", ["linear", "cosine"])
@pytest.mark.parametrize("seed", SEEDS)
def test_optax_piecewise_interpolate_schedule(shape, seed):
    rng = _rng(seed, 5)
    init = float(rng.uniform(0.1, 1))
    bounds = sorted(set(int(b) for b in rng.integers(1, 200, size=int(rng.integers(1, 5)))))
    scales = [float(x) for x in rng.uniform(0.1, 2.0, size=len(bounds))]
    knots, v = [(0, init)], init
    for b, sc in zip(bounds, scales):  # optax interpolates between accumulated scales
        v *= sc
        knots.append((b, v))
    s = lk.interpolate(knots, shape=shape)
    fn = optax.piecewise_interpolate_schedule(shape, init, dict(zip(bounds, scales)))
    check(s.values(range(221)), optax_values(fn, 220), max(k[1] for k in knots), f"{s}")


# -------------------------------------------------------------------- keras
@pytest.mark.parametrize("seed", SEEDS)
def test_keras_cosine_decay_with_and_without_warmup(seed):
    rng = _rng(seed, 6)
    init, n, alpha = float(rng.uniform(0.01, 1)), int(rng.integers(1, 100)), float(rng.uniform(0, 0.5))
    plain = keras.optimizers.schedules.CosineDecay(init, n, alpha=alpha)
    check((init * lk.cosine(n, end=alpha)).values(range(n + 11)), keras_values(plain, n + 10), init, "CosineDecay")
    w, target = int(rng.integers(1, 30)), init * float(rng.uniform(1, 10))
    warm = keras.optimizers.schedules.CosineDecay(init, n, alpha=alpha, warmup_target=target, warmup_steps=w)
    s = target * (lk.warmup(w, start=init / target) >> lk.cosine(n, end=alpha))
    check(s.values(range(w + n + 11)), keras_values(warm, w + n + 10, loop=True), target, f"CosineDecay(warmup) vs {s}")


@pytest.mark.parametrize("seed", SEEDS)
def test_keras_exponential_and_inverse_time_decay(seed):
    rng = _rng(seed, 7)
    init, k, rate = float(rng.uniform(0.01, 1)), int(rng.integers(1, 50)), float(rng.uniform(0.1, 0.99))
    exp = keras.optimizers.schedules.ExponentialDecay(init, k, rate)
    check(lk.exponential(rate ** (1 / k), start=init).values(range(201)), keras_values(exp, 200), init, "exp")
    stair = keras.optimizers.schedules.ExponentialDecay(init, k, rate, staircase=True)
    check(lk.step(k, gamma=rate, start=init).values(range(201)), keras_values(stair, 200), init, "staircase")
    inv_rate = float(rng.uniform(0.1, 5.0))
    inv = keras.optimizers.schedules.InverseTimeDecay(init, k, inv_rate)
    check(lk.inverse_time(k / inv_rate, start=init).values(range(201)), keras_values(inv, 200), init, "inv")


@pytest.mark.parametrize("seed", SEEDS)
def test_keras_polynomial_decay(seed):
    rng = _rng(seed, 8)
    init, n, power = float(rng.uniform(0.01, 1)), int(rng.integers(1, 100)), float(rng.uniform(0.5, 3))
    end = init * float(rng.uniform(0, 0.5))
    sched = keras.optimizers.schedules.PolynomialDecay(init, n, end_learning_rate=end, power=power)
    s = lk.polynomial(n, power=power, start=init, end=end)
    check(s.values(range(n + 21)), keras_values(sched, n + 20), init, f"PolynomialDecay vs {s}")


def test_keras_piecewise_constant_decay_switches_one_step_later():
    """Known difference: Keras uses ``step > boundary`` (values[0] up to and
    including the boundary), lk.piecewise uses ``t >= boundary``; Keras's
    boundaries b are lrkit's b + 1 for integer steps."""
    bounds, vals = [10, 20], [1.0, 0.5, 0.1]
    ks = keras_values(keras.optimizers.schedules.PiecewiseConstantDecay(bounds, vals), 30, loop=True)
    ours = lk.piecewise(bounds, vals)
    assert ks[10] == 1.0 and ours(10) == 0.5
    check(lk.piecewise([b + 1 for b in bounds], vals).values(range(31)), ks, 1.0, "shifted piecewise")
