"""lrkit against Hugging Face ``transformers.optimization`` schedules, live.

Each test builds the real HF scheduler (a torch ``LambdaLR``) on a real SGD
optimizer, steps it, and compares every lr with ``base_lr * s(t)`` at relative
error <= 1e-9 (``LambdaLR`` evaluates HF's lambda in closed form: no drift).
HF's own differences past the end are separate, named tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from torch_stepping import torch_lrs
from transformers import optimization as hf

import lrkit as lk

RTOL = 1e-9
SEEDS = range(12)


def check(s: lk.Schedule, make, steps: int, lr: float, what: str) -> None:
    want = torch_lrs(make, steps, lr)
    got = lr * s.values(np.arange(steps + 1))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0.0, err_msg=f"{what} vs {s}")


def with_warmup(w: int, s: lk.Schedule) -> lk.Schedule:
    """HF's linear warmup from 0 over ``w`` steps (none when w == 0)."""
    return lk.warmup(w) >> s if w > 0 else s


def _config(seed: int, salt: int):
    rng = np.random.default_rng([seed, salt])
    w = int(rng.integers(0, 100)) if seed % 4 else 0  # every fourth run without warmup
    n = w + int(rng.integers(1, 400))
    return rng, w, n, float(10 ** rng.uniform(-5, -1))


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_schedule_with_warmup(seed):
    _, w, n, lr = _config(seed, 1)
    s = with_warmup(w, lk.linear(n - w))
    check(s, lambda o: hf.get_linear_schedule_with_warmup(o, w, n), n + 20, lr, f"linear(w={w}, n={n})")


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_schedule_with_warmup(seed):
    _, w, n, lr = _config(seed, 2)
    s = with_warmup(w, lk.cosine(n - w))
    check(s, lambda o: hf.get_cosine_schedule_with_warmup(o, w, n), n, lr, f"cosine(w={w}, n={n})")


def test_cosine_schedule_with_warmup_past_the_end_rises_but_lrkit_holds():
    """Known difference: HF's cosine keeps going past num_training_steps (the
    lr rises again); lrkit holds the end value."""
    w, n, lr = 10, 110, 1.0
    lrs = torch_lrs(lambda o: hf.get_cosine_schedule_with_warmup(o, w, n), n + 50, lr)
    s = with_warmup(w, lk.cosine(n - w))
    assert lrs[n] == pytest.approx(0.0, abs=1e-15)
    assert lrs[n + 50] == pytest.approx(0.5, rel=1e-9)  # HF: half way back up
    assert s(n) == s(n + 50) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_with_hard_restarts_schedule_with_warmup(seed):
    rng, w, _, lr = _config(seed, 3)
    cycles = int(rng.integers(1, 6))
    n = w + cycles * int(rng.integers(1, 80))  # whole cycles: HF's boundaries land on integers
    s = with_warmup(w, lk.restarts(lk.cosine((n - w) / cycles), cycles=cycles))
    make = lambda o: hf.get_cosine_with_hard_restarts_schedule_with_warmup(o, w, n, num_cycles=cycles)  # noqa: E731
    check(s, make, n + 20, lr, f"hard_restarts(w={w}, n={n}, cycles={cycles})")


@pytest.mark.parametrize("seed", SEEDS)
def test_polynomial_decay_schedule_with_warmup(seed):
    rng, w, n, lr = _config(seed, 4)
    lr_end, power = lr * float(rng.uniform(0.0, 0.5)), float(rng.uniform(0.3, 3.0))
    s = with_warmup(w, lk.polynomial(n - w, power=power, end=lr_end / lr))
    make = lambda o: hf.get_polynomial_decay_schedule_with_warmup(o, w, n, lr_end=lr_end, power=power)  # noqa: E731
    check(s, make, n + 20, lr, f"polynomial(w={w}, n={n}, lr_end={lr_end}, power={power})")


@pytest.mark.parametrize("seed", SEEDS)
def test_constant_schedule_with_warmup(seed):
    _, w, n, lr = _config(seed, 5)
    s = with_warmup(w, lk.constant(1.0))
    check(s, lambda o: hf.get_constant_schedule_with_warmup(o, w), n, lr, f"constant(w={w})")


@pytest.mark.parametrize("seed", SEEDS)
def test_inverse_sqrt_schedule(seed):
    rng, w, n, lr = _config(seed, 6)
    timescale = None if seed % 3 == 0 else int(rng.integers(1, 1000))
    hf_timescale = timescale if timescale is not None else (w or 10_000)  # HF's default
    s = with_warmup(w, lk.inverse_sqrt(hf_timescale))
    make = lambda o: hf.get_inverse_sqrt_schedule(o, w, timescale=timescale)  # noqa: E731
    check(s, make, n, lr, f"inverse_sqrt(w={w}, timescale={timescale})")


@pytest.mark.parametrize("decay_type", ["linear", "cosine", "1-sqrt"])
@pytest.mark.parametrize("seed", range(8))
def test_wsd_schedule(decay_type, seed):
    rng, w, n, lr = _config(seed, 7)
    decay = int(rng.integers(0, n - w + 1))
    ratio = 0.0 if seed % 3 == 0 else float(rng.uniform(0.0, 0.5))
    s = lk.wsd(n, warmup=w, decay=decay, end=ratio, shape=decay_type)

    def make(o):
        return hf.get_wsd_schedule(o, num_warmup_steps=w, num_decay_steps=decay, num_training_steps=n,
                                   warmup_type="linear", decay_type=decay_type, min_lr_ratio=ratio)

    check(s, make, n + 20, lr, f"wsd(w={w}, decay={decay}, n={n}, {decay_type}, min_lr_ratio={ratio})")
