"""The documented mappings (docs/conventions.md) at their edges, against the real libraries.

HF schedules divide by ``max(1, T - w)``: with the warmup as long as the run
(``w == T``) the mapping is ``warmup(w) >> cosine(max(1, T - w))``, equal on
every step HF trains (0 .. T-1) and at T; HF's linear decay is 0 from step T
when ``w == T``, so its mapping starts at ``min(1, T - w)``. optax's
``piecewise_interpolate_schedule`` with a boundary at 0 starts at
``init * scale_0``: that knot replaces ``(0, init)``.
"""

from __future__ import annotations

import numpy as np
import optax
import pytest
from torch_stepping import torch_lrs
from transformers import optimization as hf

import lrkit as lk


def hf_check(s: lk.Schedule, make, steps: int, lr: float = 0.01) -> None:
    want = torch_lrs(make, steps, lr)
    got = lr * s.values(np.arange(steps + 1))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=0.0, err_msg=str(s))


@pytest.mark.parametrize("w, T", [(10, 10), (1, 1), (37, 37), (9, 10), (0, 1)])
def test_hf_cosine_and_linear_when_the_warmup_fills_the_run(w, T):
    pre = (lambda s: lk.warmup(w) >> s) if w else (lambda s: s)
    hf_check(pre(lk.cosine(max(1, T - w))), lambda o: hf.get_cosine_schedule_with_warmup(o, w, T), T)
    linear = lk.linear(max(1, T - w), start=min(1, T - w))  # w == T: HF's linear is 0 from step T on
    hf_check(pre(linear), lambda o: hf.get_linear_schedule_with_warmup(o, w, T), T + 5)


@pytest.mark.parametrize("w, T, n", [(10, 10, 2), (5, 6, 3), (20, 20, 1)])
def test_hf_hard_restarts_when_the_warmup_fills_the_run(w, T, n):
    s = lk.warmup(w) >> lk.restarts(lk.cosine(max(1, T - w) / n), cycles=n)
    make = lambda o: hf.get_cosine_with_hard_restarts_schedule_with_warmup(o, w, T, num_cycles=n)  # noqa: E731
    hf_check(s, make, T - 1)  # HF's value at T itself: restarts' held end (0) vs HF's progress-1 rule (also 0)


def test_hf_polynomial_when_the_warmup_fills_the_run():
    w = T = 12
    s = lk.warmup(w) >> lk.polynomial(max(1, T - w), power=2.0, end=1e-7 / 0.01)
    make = lambda o: hf.get_polynomial_decay_schedule_with_warmup(o, w, T, lr_end=1e-7, power=2.0)  # noqa: E731
    hf_check(s, make, T - 1)  # HF itself divides by zero at t == T == w


def optax_knots(init: float, table: dict) -> list:
    """The documented mapping: accumulated scales as knots; a boundary at 0 replaces (0, init)."""
    knots, v = [(0, init)], init
    for b, sc in sorted(table.items()):
        v *= sc
        knots = knots[:-1] + [(b, v)] if b == knots[-1][0] else knots + [(b, v)]
    return knots


@pytest.mark.parametrize("shape", ["linear", "cosine"])
@pytest.mark.parametrize("table", [{0: 0.5, 10: 0.1}, {0: 2.0}, {0: 0.3, 1: 0.5, 50: 2.0}])
def test_optax_piecewise_interpolate_with_a_boundary_at_zero(shape, table):
    s = lk.interpolate(optax_knots(0.8, table), shape=shape)
    fn = optax.piecewise_interpolate_schedule(shape, 0.8, table)
    want = np.array([float(fn(t)) for t in range(80)])
    np.testing.assert_allclose(s.values(range(80)), want, rtol=1e-5, atol=1e-7)
