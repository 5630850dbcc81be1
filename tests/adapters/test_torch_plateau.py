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
from lrkit.torch import Scheduler


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


# ------------------------------------------- the adapter: eps on each group's lr, as torch
def torch_group_lrs(bases, cfg: dict, metrics) -> list[list[float]]:
    """Each group's lr after each metric under torch's ReduceLROnPlateau (min_lr = base * min_scale)."""
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": b} for b in bases], lr=1.0)
    kw = dict(cfg)
    min_scale = kw.pop("min_scale")
    kw["min_lr"] = [b * min_scale for b in bases]
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        sched.step(m)
        out.append([g["lr"] for g in opt.param_groups])
    return out


def adapter_group_lrs(bases, cfg: dict, metrics, absolute=False) -> list[list[float]]:
    """The same through lrkit.torch.Scheduler with a constant schedule and lk.Plateau(**cfg)."""
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": b} for b in bases], lr=1.0)
    schedule = lk.constant(bases[0]) if absolute else lk.constant()
    sched = Scheduler(opt, schedule, plateau=lk.Plateau(**cfg), absolute=absolute)
    out = []
    for m in metrics:
        sched.step(m)
        out.append([g["lr"] for g in opt.param_groups])
    return out


def changed(lrs: np.ndarray) -> np.ndarray:
    """Where each group's lr differs from the step before (the first row: changed)."""
    return np.diff(np.vstack([lrs[:1] * 0 + np.nan, lrs]), axis=0) != 0


def same_decisions(ours, theirs) -> None:
    """The lr of every group changes at the same steps, and the values agree to float64 rounding."""
    ours, theirs = np.array(ours), np.array(theirs)
    assert (changed(ours) == changed(theirs)).all()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=0)


def tie_free_config(rng: np.random.Generator) -> dict:
    """random_config with eps down to 0 and a min_scale that is no power of a factor (exact ties: see below)."""
    cfg = random_config(rng)
    cfg["eps"] = float(rng.choice([0.0, 1e-8, 1e-6]))
    cfg["min_scale"] = float(rng.choice([0.0, 0.0013, 0.2]))
    return cfg


def random_bases(rng: np.random.Generator) -> list[float]:
    """1 to 4 groups, lrs from 1e-9 to 1: some groups reach torch's eps floor, others do not."""
    return [float(10 ** rng.uniform(-9, 0)) for _ in range(int(rng.integers(1, 5)))]


@pytest.mark.parametrize("seed", range(12))
def test_adapter_takes_torch_decisions_on_every_group(seed):
    """25 random configurations per seed (300 in all): several groups with lrs below 1, patience 0,
    cooldown, min_lr, both threshold modes, eps; torch's ReduceLROnPlateau as the reference."""
    rng = np.random.default_rng([seed, 13])
    split = 0
    for _ in range(25):
        cfg = tie_free_config(rng)
        bases = random_bases(rng)
        metrics = random_metrics(rng, int(rng.integers(20, 120)))
        ours = adapter_group_lrs(bases, cfg, metrics)
        same_decisions(ours, torch_group_lrs(bases, cfg, metrics))
        split += len({round(lr / b, 12) for lr, b in zip(ours[-1], bases)}) > 1
    assert split > 0  # eps stopped some groups and not others: the per-group rule was exercised


@pytest.mark.parametrize("seed", range(3))
def test_adapter_with_absolute_schedule_takes_torch_decisions(seed):
    rng = np.random.default_rng([seed, 17])
    for _ in range(20):
        cfg = tie_free_config(rng)
        lr = float(10 ** rng.uniform(-9, 0))
        metrics = random_metrics(rng, 60)
        same_decisions(adapter_group_lrs([lr], cfg, metrics, absolute=True), torch_group_lrs([lr], cfg, metrics))


def test_known_difference_plateau_alone_keeps_eps_on_the_scale():
    """The issue's case: lr 0.01 (below 1), patience 0. torch stops cutting at 1e-8 (the next cut, 9e-9, is
    below eps); lk.Plateau alone applies eps to the scale and goes on to 1e-10 (scale 1e-8). The adapter is torch."""
    cfg = {"mode": "min", "factor": 0.1, "patience": 0, "threshold": 1e-4, "threshold_mode": "rel",
           "cooldown": 0, "min_scale": 0.0, "eps": 1e-8}
    metrics = [1.0] * 15
    theirs = torch_group_lrs([0.01], cfg, metrics)
    assert theirs[-1][0] == pytest.approx(1e-8, rel=1e-9)
    same_decisions(adapter_group_lrs([0.01], cfg, metrics), theirs)
    alone = lrkit_scales(cfg, metrics)
    assert 0.01 * alone[-1] == pytest.approx(1e-10, rel=1e-9)


def test_known_difference_an_exact_tie_at_min_lr_is_broken_by_rounding():
    """min_scale = factor**3 exactly and eps = 0: after three cuts the lr sits on min_lr in exact arithmetic.
    torch's lr (((b * 0.1) * 0.1) * 0.1) and lrkit's (b * (0.1 * 0.1 * 0.1)) round differently, so a fourth cut
    "lowers" lrkit's lr by 1e-19 relative (> eps = 0: applied) where torch's lowers it by 0 (skipped). Both
    are float rounding of a tie; with any eps > 1e-16 * lr, or a min_scale that is no power of factor, they agree."""
    b = 0.5378594062237618
    cfg = {"mode": "min", "factor": 0.1, "patience": 0, "threshold": 0.0, "threshold_mode": "abs",
           "cooldown": 0, "min_scale": 0.001, "eps": 0.0}
    metrics = [1.0] * 6
    ours, theirs = np.array(adapter_group_lrs([b], cfg, metrics)), np.array(torch_group_lrs([b], cfg, metrics))
    np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=0)
    assert theirs[3, 0] == theirs[4, 0] and ours[3, 0] > ours[4, 0]  # torch skips the 4th cut, lrkit applies it
    assert ours[4, 0] == theirs[4, 0] == b * 0.001 and ours[3, 0] / ours[4, 0] - 1 < 1e-15
    cfg["eps"] = 1e-12
    same_decisions(adapter_group_lrs([b], cfg, metrics), torch_group_lrs([b], cfg, metrics))


def test_known_difference_counted_on_random_configurations():
    """How often eps on the scale (Plateau alone) and eps on the lr (torch, the adapters) decide differently."""
    rng = np.random.default_rng(2024)
    differ = 0
    for _ in range(300):
        cfg = random_config(rng)
        cfg["patience"] = int(rng.integers(0, 2))
        lr = float(10 ** rng.uniform(-6, 0))
        metrics = random_metrics(rng, 100)
        alone = [lr * s for s in lrkit_scales(cfg, metrics)]
        differ += not np.allclose(alone, [g[0] for g in torch_group_lrs([lr], cfg, metrics)], rtol=1e-12, atol=0)
    assert differ > 0


def test_eps_is_judged_on_the_scheduled_lr_at_the_decision():
    """A reduction due while a warmup holds the lr at 0 changes the lr by 0 <= eps: torch skips it, so does lrkit."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    s = lk.warmup(2) >> lk.constant()
    sched = Scheduler(opt, s, plateau=lk.Plateau(factor=0.5, patience=0))
    sched.observe(1.0)
    sched.observe(2.0)  # a reduction is due at t = 0, where the lr is 0.1 * s(0) = 0
    assert sched.scales == [1.0] and sched.plateau.reductions == 0
    sched.step()
    sched.step(3.0)  # due again at t = 1 (lr 0.05): applied
    assert sched.scales == [0.5] and opt.param_groups[0]["lr"] == 0.1 * s(2) * 0.5
