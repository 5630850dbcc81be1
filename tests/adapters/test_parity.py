"""One schedule, four evaluations: NumPy (float64, the reference), torch, Keras
(torch backend) and jitted JAX agree over thousands of steps.

Tolerance for a float32 evaluation against the float64 reference, per step:
``|got - ref| <= RTOL * |ref| + ATOL_ULPS * eps32 * peak`` with ``peak`` the
largest |value| of the schedule on the steps compared.

* ``eps32 = 2**-23 ~ 1.19e-7``. Constants, ``t`` and every intermediate are
  rounded to float32; a formula that subtracts terms of the schedule's size
  (``end + (start - end) * (1 + cos(pi t/T)) / 2`` near ``t = T``) keeps an
  absolute error of a few ulps of ``peak`` even where the value is ~0:
  ``ATOL_ULPS = 4``.
* Elsewhere the error is relative: a chain of 10-40 float32 operations (the
  noise's hash -> uniform -> log/sqrt/cos, a cyclic phase ``t / period``,
  ``gamma ** t``) gives up to ~10 ulps per op in the worst case; ``RTOL =
  1e-5`` (~80 ulps) bounds it with margin, and is 100x smaller than any
  formula mistake worth catching (an off-by-one step changes a value by
  > 1e-4 relative on these schedules).

torch is compared at its default float64 to 1e-12 (float64 precision), and in
float32 with the same tolerance as Keras and JAX.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lrkit as lk  # noqa: E402
import lrkit.jax  # noqa: E402
import lrkit.keras  # noqa: E402
import lrkit.torch  # noqa: E402

EPS32 = float(np.finfo(np.float32).eps)
RTOL = 1e-5
ATOL_ULPS = 4
STEPS = np.arange(0, 4_000)

WS = lk.warmup(100) >> lk.cosine(1_900, end=0.01)
CASES = {
    # every family
    "constant": lk.constant(0.5),
    "linear": lk.linear(3_000, start=1.0, end=0.1),
    "warmup": lk.warmup(1_500, start=0.1),
    "step": lk.step(300, gamma=0.5),
    "step_94": lk.step(94, gamma=0.9),  # jitted XLA divides by 94 as a product with 1/94
    "multistep": lk.multistep([500, 1_200, 1_200, 3_000], gamma=0.3),
    "exponential": lk.exponential(0.999),
    "exponential_half_life": lk.exponential(half_life=700, start=2.0),
    "cosine": lk.cosine(2_000),
    "cosine_fractional": lk.cosine(937.5, start=0.9, end=0.05),
    "polynomial": lk.polynomial(3_500, power=2.5, end=0.01),
    "polynomial_sqrt_3001": lk.polynomial(3_001, power=0.5, end=0.05),  # XLA: 1 - t/3001 < 0 at the end
    "inverse_time": lk.inverse_time(150, power=1.5),
    "inverse_sqrt": lk.inverse_sqrt(400),
    "cyclic": lk.cyclic(0.1, 1.0, 250),
    "cyclic_triangular2": lk.cyclic(0.05, 0.8, 200, down=300, mode="triangular2"),
    "cyclic_exp_range": lk.cyclic(0.1, 1.0, 150, mode="exp_range", gamma=0.9995),
    "cyclic_117": lk.cyclic(0.2, 1.0, 47, down=70, mode="triangular2"),
    "one_cycle": lk.one_cycle(3_000, peak=1.0),
    "one_cycle_linear_3phase": lk.one_cycle(2_500, pct_start=0.25, anneal="linear", three_phase=True),
    "restarts": lk.restarts(lk.cosine(300, end=0.1)),
    "restarts_94": lk.restarts(lk.cosine(94, end=0.1), decay=0.9),
    "restarts_period_mult": lk.restarts(lk.cosine(100, end=0.1), period_mult=2, decay=0.7),
    "restarts_fractional_mult": lk.restarts(WS * 1.0 >> lk.constant(0.3, steps=37.5), period_mult=1.5, cycles=3),
    "piecewise": lk.piecewise([100, 1_000, 2_500], [1.0, 0.5, 0.2, 0.05]),
    "interpolate": lk.interpolate([(0, 0.0), (300, 1.0), (2_000, 0.3), (3_000, 0.01)]),
    "interpolate_cosine": lk.interpolate([(50, 0.2), (700, 1.0), (3_300, 0.0)], shape="cosine"),
    "wsd": lk.wsd(3_000, 200, 600),
    "wsd_cosine": lk.wsd(3_000, 0, 900, end=0.1, shape="cosine"),
    "wsd_1_sqrt": lk.wsd(3_600, 300, 1_200, shape="1-sqrt"),
    "window": lk.window(lk.exponential(half_life=400), 1_700) >> lk.cyclic(0.1, 0.5, 120),
    "reciprocal": 1e-2 * lk.reciprocal(WS, floor=0.05),
    # noise, both kinds, small and 64-bit seeds
    "noisy_normal": lk.noisy(WS, std=0.1, seed=3),
    "noisy_uniform": lk.noisy(lk.constant(), std=0.2, seed=2**40 + 5, kind="uniform"),
    "noisy_finite_end": lk.noisy(lk.cosine(1_000, end=0.2), std=0.05, seed=7),
    # compositions
    "sequence_3": lk.warmup(200) >> lk.constant(1.0, steps=800) >> lk.exponential(0.998),
    "nested": ((lk.warmup(100) >> lk.restarts(lk.cosine(400), period_mult=2, cycles=3))
               * lk.exponential(half_life=2_000)),
    "sum_product": 0.3 * lk.cosine(2_500) + 0.1 * lk.cyclic(0.0, 1.0, 100),
    "noisy_of_sequence_times": 2.0 * lk.noisy(lk.warmup(50) >> lk.step(500, 0.7), std=0.3, seed=11),
}
BOUND = {  # run-relative durations, bound by the adapters
    "units_percent_rest": ("warmup('5%') >> cosine('rest', end=0.01)", dict(total_steps=3_000)),
    "units_epochs": ("warmup('2ep') >> step('3ep', gamma=0.5)", dict(steps_per_epoch=250)),
    "units_both": ("wsd('rest', '1ep', '20%') >> constant(0.01)", dict(total_steps=2_000, steps_per_epoch=300)),
}


def _all_cases():
    for name, s in CASES.items():
        yield pytest.param(s, {}, id=name)
    for name, (text, bind) in BOUND.items():
        yield pytest.param(text, bind, id=name)


def _reference(spec, bind) -> np.ndarray:
    s = lk.parse(spec) if isinstance(spec, str) else spec
    return s.bind(**bind).values(STEPS)


def _check32(got, ref) -> None:
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == ref.shape
    tol = RTOL * np.abs(ref) + ATOL_ULPS * EPS32 * np.abs(ref).max()
    bad = ~(np.abs(got - ref) <= tol)  # NaN is never close
    if bad.any():
        i = int(np.argmax(bad))
        pytest.fail(f"{bad.sum()} of {len(ref)} steps off; first t={STEPS[i]}: got {got[i]!r}, want {ref[i]!r}")


@pytest.mark.parametrize(("spec", "bind"), list(_all_cases()))
def test_jitted_jax_matches_numpy(spec, bind):
    fn = jax.jit(lrkit.jax.schedule(spec, base=1.0, **bind))
    out = fn(STEPS)
    assert out.dtype == np.float32
    _check32(out, _reference(spec, bind))


@pytest.mark.parametrize(("spec", "bind"), list(_all_cases()))
def test_keras_matches_numpy(spec, bind):
    lr = lrkit.keras.Schedule(spec, base=1.0, **bind)
    out = keras.ops.convert_to_numpy(lr(keras.ops.convert_to_tensor(STEPS)))
    assert out.dtype == np.float32
    _check32(out, _reference(spec, bind))


@pytest.mark.parametrize(("spec", "bind"), list(_all_cases()))
def test_torch_float64_matches_numpy(spec, bind):
    s = (lk.parse(spec) if isinstance(spec, str) else spec).bind(**bind)
    out = s.evaluate(torch.as_tensor(STEPS, dtype=torch.float64), lrkit.torch.ops)
    np.testing.assert_allclose(out.numpy(), _reference(spec, bind), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("spec", "bind"), list(_all_cases()))
def test_torch_float32_matches_numpy(spec, bind):
    s = (lk.parse(spec) if isinstance(spec, str) else spec).bind(**bind)
    out = s.evaluate(torch.as_tensor(STEPS, dtype=torch.float32), lrkit.torch.TorchOps(torch.float32))
    assert out.dtype == torch.float32
    _check32(out.numpy(), _reference(spec, bind))


@pytest.mark.parametrize("name", ["noisy_normal", "restarts_period_mult", "exponential", "cyclic_exp_range"])
def test_jax_float64_under_x64_matches_numpy_to_float64_precision(name):
    s = CASES[name]
    with jax.enable_x64(True):
        out = jax.jit(lrkit.jax.schedule(s, base=1.0, dtype="float64"))(STEPS)
        assert out.dtype == np.float64
        np.testing.assert_allclose(np.asarray(out), s.values(STEPS), rtol=1e-12, atol=1e-15)
        _check32(jax.jit(lrkit.jax.schedule(s, base=1.0))(STEPS), s.values(STEPS))  # float32 stays float32


def test_noise_draws_agree_across_frameworks():
    """The hash is integer arithmetic, so Keras and JAX draw NumPy's noise:
    the same steps are clipped at 0, the others agree to float32 precision."""
    s = lk.noisy(lk.constant(), std=0.5, seed=2**63 - 1)
    ref = s.values(STEPS)
    jx = np.asarray(jax.jit(lrkit.jax.schedule(s, base=1.0))(STEPS), np.float64)
    kr = keras.ops.convert_to_numpy(lrkit.keras.Schedule(s, base=1.0)(keras.ops.convert_to_tensor(STEPS)))
    assert (ref > 0).sum() > 3_000 and (ref == 0).sum() > 0  # both regimes are exercised
    for got in (jx, kr.astype(np.float64)):
        np.testing.assert_array_equal(got == 0, ref == 0)
        _check32(got, ref)
