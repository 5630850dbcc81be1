"""lrkit.torch.ops: every schedule family evaluates on torch tensors like NumPy does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lrkit as lk
from lrkit.torch import TorchOps, ops

FAMILIES = [
    lk.constant(0.3),
    lk.linear(100, 1.0, 0.1),
    lk.warmup(37.5),
    lk.step(30, gamma=0.5),
    lk.multistep([20, 50, 50, 120], gamma=0.3),
    lk.exponential(half_life=25),
    lk.cosine(150, end=0.01),
    lk.polynomial(150, power=2.5, end=0.05),
    lk.inverse_time(40, power=0.7),
    lk.inverse_sqrt(16),
    lk.cyclic(0.1, 1.0, 13, down=7),
    lk.cyclic(0.1, 1.0, 10, mode="triangular2"),
    lk.cyclic(0.1, 1.0, 10, mode="exp_range", gamma=0.99),
    lk.one_cycle(150, peak=3.0),
    lk.one_cycle(150, anneal="linear", three_phase=True),
    lk.restarts(lk.cosine(20, end=0.1), period_mult=2, decay=0.8),
    lk.restarts(lk.warmup(7) >> lk.linear(13), cycles=4),
    lk.piecewise([10, 40, 90], [1.0, 0.5, 0.2, 0.05]),
    lk.interpolate([(0, 0.0), (30, 1.0), (100, 0.2)], shape="cosine"),
    lk.wsd(150, 20, 50, shape="1-sqrt", end=0.01),
    lk.wsd(150, 0, 30, shape="cosine"),
    lk.noisy(lk.cosine(150), std=0.2, seed=7),
    lk.noisy(lk.constant(1.0), std=0.5, seed=2**40 + 3, kind="uniform"),
    lk.warmup(10) >> lk.cosine(100) >> lk.constant(0.05),
    0.5 * lk.cosine(80) + 0.1 * lk.exponential(0.97),
]

T = np.concatenate([np.arange(0, 200, dtype=np.float64), [0.5, 37.49, 37.5, 999.25, 10_000.0, 2.0**33 + 5]])


@pytest.mark.parametrize("s", FAMILIES, ids=str)
def test_float64_matches_numpy(s):
    expected = s.values(T)
    got = s.evaluate(torch.tensor(T, dtype=torch.float64), ops)
    assert got.dtype == torch.float64 and got.shape == (len(T),)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("s", FAMILIES, ids=str)
def test_float32_matches_numpy_to_float32_precision(s):
    t = T[T < 2**24]  # float32 steps are exact below 2**24
    expected = s.values(t)
    got = s.evaluate(torch.tensor(t, dtype=torch.float32), TorchOps(torch.float32))
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy().astype(np.float64), expected, rtol=2e-5, atol=2e-6)


def test_noise_is_the_same_hash_bit_for_bit_away_from_rounding():
    """The integer hash is exact in int64: uniform noise on a constant equals NumPy to 1 ulp."""
    s = lk.noisy(lk.constant(1.0), std=0.3, seed=123, kind="uniform")
    t = np.arange(0, 5000, dtype=np.float64) * 977.0
    got = s.evaluate(torch.tensor(t, dtype=torch.float64), ops).numpy()
    np.testing.assert_array_max_ulp(got, s.values(t), maxulp=1)


def test_scalars_mixed_with_tensors_take_the_tensor_dtype():
    t = torch.arange(4, dtype=torch.float32)
    assert ops.minimum(t, 2.0).dtype == torch.float32
    assert ops.where(t > 1, 1.0, t).tolist() == [0.0, 1.0, 1.0, 1.0]
    assert ops.power(0.5, t).tolist() == [1.0, 0.5, 0.25, 0.125]
    assert ops.uint(t).dtype == torch.int64 and TorchOps(torch.float32).float(ops.uint(t)).dtype == torch.float32
    assert float(ops.cos(0.0)) == 1.0


def test_evaluates_inside_torch_compile_without_graph_breaks():
    s = lk.noisy(lk.warmup(10) >> lk.cosine(90), std=0.1)
    fn = torch.compile(lambda t: s.evaluate(t, ops), fullgraph=True, backend="eager")
    t = torch.arange(120, dtype=torch.float64)
    np.testing.assert_allclose(fn(t).numpy(), s.values(t.numpy()), rtol=1e-12, atol=1e-15)


def test_float32_power_of_a_python_number_does_not_drift():
    """0.999 ** t with 0.999 rounded to float32 would be off by t * 1.3e-8 relative (6e-5 at t=5000)."""
    s = lk.exponential(0.999)
    t = np.arange(0, 5000, 7, dtype=np.float64)
    got = s.evaluate(torch.tensor(t, dtype=torch.float32), TorchOps(torch.float32)).numpy()
    assert abs(float(np.float32(0.999)) - 0.999) / 0.999 > 1e-8  # the rounding being corrected
    np.testing.assert_allclose(got, s.values(t), rtol=4e-6)
