"""lk.Plateau takes exactly torch's ReduceLROnPlateau decisions.

torch reduces an lr of 1.0 with ``min_lr=min_scale``; that lr sequence must be
lk.Plateau's scale sequence, bit for bit, on random metric sequences and many
configurations. The one deliberate difference (infinite metrics) has its own test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lrkit as lk


def torch_scales(cfg: dict, metrics) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    kw = dict(cfg)
    kw["min_lr"] = kw.pop("min_scale")
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        sched.step(m)
        out.append(opt.param_groups[0]["lr"])
    return out


def lrkit_scales(cfg: dict, metrics) -> list[float]:
    p = lk.Plateau(**cfg)
    return [p.update(m) for m in metrics]


def random_metrics(rng: np.random.Generator, n: int) -> list[float]:
    """A noisy, sometimes flat, sometimes improving curve with repeats, sign changes and NaNs."""
    drift = rng.choice([-0.05, -0.01, 0.0, 0.01])
    noise = rng.choice([0.0, 0.001, 0.02, 0.2])
    level = rng.choice([1.0, 0.01, -0.5])
    x = level + drift * np.arange(n) + noise * rng.standard_normal(n)
    x = np.where(rng.random(n) < 0.2, np.round(x, 1), x)  # exact repeats
    x = np.where(rng.random(n) < 0.03, np.nan, x)
    return [float(v) for v in x]


def random_config(rng: np.random.Generator) -> dict:
    mode = str(rng.choice(["min", "max"]))
    threshold_mode = str(rng.choice(["rel", "abs"]))
    return dict(
        mode=mode, threshold_mode=threshold_mode,
        factor=float(rng.choice([0.0, 0.1, 0.5, 0.9, 0.999])),
        patience=int(rng.integers(0, 5)),
        threshold=float(rng.choice([0.0, 1e-4, 0.01, 0.3])),
        cooldown=int(rng.integers(0, 4)),
        min_scale=float(rng.choice([0.0, 0.001, 0.2])),
        eps=float(rng.choice([0.0, 1e-8, 0.01])),
    )


@pytest.mark.parametrize("seed", range(12))
def test_random_sequences_match_torch(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        cfg = random_config(rng)
        metrics = random_metrics(rng, int(rng.integers(20, 120)))
        assert lrkit_scales(cfg, metrics) == torch_scales(cfg, metrics), cfg


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
def test_defaults_match_torch_on_a_long_plateau(mode, threshold_mode):
    cfg = dict(mode=mode, factor=0.1, patience=10, threshold=1e-4, threshold_mode=threshold_mode,
               cooldown=0, min_scale=0.0, eps=1e-8)
    metrics = [1.0 / (1 + i) if i < 20 else 0.05 for i in range(300)]
    if mode == "max":
        metrics = [2.0 - m for m in metrics]
    ours = lrkit_scales(cfg, metrics)
    assert ours == torch_scales(cfg, metrics)
    # ten-fold cuts until the next cut (1e-8 -> 1e-9) would be smaller than eps=1e-8
    assert ours[-1] == pytest.approx(1e-8, rel=1e-9) and ours[-50:] == [ours[-1]] * 50


def test_state_matches_torch_counters():
    rng = np.random.default_rng(99)
    metrics = random_metrics(rng, 200)
    p = lk.Plateau(factor=0.5, patience=2, cooldown=1)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1)
    for m in metrics:
        p.update(m)
        ref.step(m)
        assert (p.best, p.num_bad_epochs, p.cooldown_counter) == (ref.best, ref.num_bad_epochs, ref.cooldown_counter)


def test_zero_dim_tensor_metric():
    p = lk.Plateau(patience=0, factor=0.5)
    p.update(torch.tensor(1.0))
    assert p.update(torch.tensor(2.0, dtype=torch.float64)) == 0.5


def test_known_difference_negative_infinity_in_min_mode():
    """torch lets -inf become the best, so no later metric ever improves; lrkit ignores it."""
    metrics = [1.0, -math.inf, 0.5, 0.25, 0.125]
    cfg = dict(mode="min", factor=0.5, patience=0, threshold=1e-4, threshold_mode="rel",
               cooldown=0, min_scale=0.0, eps=1e-8)
    assert torch_scales(cfg, metrics) == [1.0, 1.0, 0.5, 0.25, 0.125]  # torch: best stuck at -inf
    assert lrkit_scales(cfg, metrics) == [1.0, 0.5, 0.5, 0.5, 0.5]  # lrkit: -inf was a bad epoch only


def test_known_difference_positive_infinity_in_max_mode():
    metrics = [1.0, math.inf, 2.0, 3.0]
    cfg = dict(mode="max", factor=0.5, patience=0, threshold=0.0, threshold_mode="abs",
               cooldown=0, min_scale=0.0, eps=1e-8)
    assert torch_scales(cfg, metrics) == [1.0, 1.0, 0.5, 0.25]
    assert lrkit_scales(cfg, metrics) == [1.0, 0.5, 0.5, 0.5]
