"""The one batched-training module: its update rules against torch.optim, its batch order, its loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lrkit as lk
from lrkit.lab.batched import SGD, AdamW, epoch_orders, fit_steps, make_optimizer, step_orders

SHAPES = [(5, 3), (5,), (2, 5), (2,)]  # a small MLP's weights and biases
EPS32 = float(torch.finfo(torch.float32).eps)


def _models(k: int, seed: int = 0) -> list[list[torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(s, generator=g) for s in SHAPES] for _ in range(k)]


def _torch_optimizer(kind: str, params, momentum: float, weight_decay: float):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=1.0, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=1.0, weight_decay=weight_decay)


@pytest.mark.parametrize("kind,momentum,weight_decay,per_step_decay", [
    ("sgd", 0.0, 0.0, False),
    ("sgd", 0.9, 0.0, False),
    ("sgd", 0.5, 5e-3, False),
    ("sgd", 0.9, 0.0, True),
    ("adamw", 0.0, 0.0, False),
    ("adamw", 0.0, 0.05, False),
    ("adamw", 0.0, 0.0, True),
])
def test_update_rules_equal_torch_optim_with_lrs_per_step_and_models_dropped(kind, momentum, weight_decay,
                                                                            per_step_decay):
    """K = 5 stacked models against 5 torch.optim optimizers fed the same gradients, N = 40 steps, each
    model's lr (and, per_step_decay, its weight decay) changing every step; model 1 is dropped after step
    10 and models 4 and 0 after step 25 (each compared with torch where it stopped).

    Tolerance: both sides run the same float32 formula on the same gradients; they may differ only in
    how a kernel rounds (a fused multiply-add or not), at most a few units in the last place (ulp) of a
    parameter per step. Nothing feeds a difference back into a gradient, so it grows at most linearly:
    we allow 4 ulp per step, ``4 * N * eps32 * max(1, |p|)``. (On x86 with torch 2.13 the two are bit-identical.)
    """
    k, steps = 5, 40
    rng = np.random.default_rng(1)
    lrs = rng.uniform(0.01, 0.2, (steps, k)) if kind == "sgd" else rng.uniform(1e-3, 3e-2, (steps, k))
    lrs[5] = 0.0                                                   # a step at lr 0 (a warmup's first)
    wds = rng.uniform(0.0, 0.3, (steps, k)) if per_step_decay else None
    grads = [[torch.randn((k, *s), generator=torch.Generator().manual_seed(100 * t + i)) for i, s in enumerate(SHAPES)]
             for t in range(steps)]
    models = _models(k)
    refs = [[p.clone().requires_grad_() for p in m] for m in models]
    topts = [_torch_optimizer(kind, r, momentum, weight_decay) for r in refs]
    stacked = [torch.stack([m[i] for m in models]) for i in range(len(SHAPES))]
    opt = make_optimizer(kind, stacked, momentum=momentum, weight_decay=weight_decay)
    assert type(opt) is (SGD if kind == "sgd" else AdamW)
    alive, ended = list(range(k)), {}
    for t in range(steps):
        opt.step([g[alive] for g in grads[t]], lrs[t, alive], None if wds is None else wds[t, alive])
        for r in alive:
            group = topts[r].param_groups[0]
            group["lr"] = float(lrs[t, r])
            if wds is not None:
                group["weight_decay"] = float(wds[t, r])
            for p, g in zip(refs[r], grads[t]):
                p.grad = g[r].clone()
            topts[r].step()
        drop = {10: [1], 25: [4, 0]}.get(t, [])
        for r in drop:
            ended[r] = [p[alive.index(r)].clone() for p in opt.params]
        if drop:
            opt.keep([j for j, r in enumerate(alive) if r not in drop])
            alive = [r for r in alive if r not in drop]
    for j, r in enumerate(alive):
        ended[r] = [p[j] for p in opt.params]
    assert sorted(ended) == list(range(k)) and alive == [2, 3]
    for r in range(k):
        for got, want in zip(ended[r], refs[r]):
            bound = 4 * steps * EPS32 * max(1.0, want.abs().max().item())
            assert (got - want.detach()).abs().max().item() <= bound, (r, kind)
    assert not torch.equal(ended[2][0], models[2][0])  # they did move


def test_update_rules_refuse_bad_values_naming_them():
    opt = SGD([torch.zeros(2, 3)], momentum=0.9)
    with pytest.raises(lk.SpecError, match=r"SGD.step\(\): lr must be one number >= 0 or one per model \(2\); "
                                           r"got lr=\[0.1, -0.1\]"):
        opt.step([torch.ones(2, 3)], [0.1, -0.1])
    with pytest.raises(lk.SpecError, match=r"AdamW.step\(\): weight_decay must be one number >= 0 or one per model"):
        AdamW([torch.zeros(2, 3)]).step([torch.ones(2, 3)], 0.1, weight_decay=[0.1, 0.2, 0.3])
    with pytest.raises(lk.SpecError, match=r"SGD\(\): momentum must be >= 0; got momentum=-0.5"):
        SGD([torch.zeros(2, 3)], momentum=-0.5)
    with pytest.raises(lk.SpecError, match=r"AdamW\(\): params must be tensors of shape \(K, ...\) with one K"):
        AdamW([torch.zeros(2, 3), torch.zeros(3)])
    with pytest.raises(lk.SpecError, match=r"make_optimizer\(\): name must be one of 'sgd', 'adamw'; got name='adam'"):
        make_optimizer("adam", [torch.zeros(2, 3)])


def test_epoch_orders_are_the_seeds_permutations():
    """The one batch order: epoch e is the e-th permutation of numpy's default_rng(seed)."""
    rng = np.random.default_rng(7)
    want = [rng.permutation(50) for _ in range(3)]
    got = epoch_orders(7, 50, 3)
    assert all(np.array_equal(a, b) for a, b in zip(got, want)) and len(got) == 3
    assert not np.array_equal(epoch_orders(8, 50, 1)[0], want[0])


def test_step_orders_are_the_labs_full_batches_of_the_same_seeds():
    """The experiments' batches of a seed are the lab's batches of that seed, the short last one of each
    epoch left out."""
    n, size, steps = 23, 5, 11                                    # 4 full batches per epoch (+ one of 3)
    order = step_orders([3, 4, 3], n, size, steps)
    assert order.shape == (steps, 3, size)
    for col, seed in enumerate((3, 4, 3)):
        lab = [o[lo:lo + size] for o in epoch_orders(seed, n, 3) for lo in range(0, n, size)]  # the lab's batches
        full = [b for b in lab if len(b) == size]
        assert [b.tolist() for b in order[:, col]] == [b.tolist() for b in full[:steps]]
    assert np.array_equal(order[:, 0], order[:, 2]) and not np.array_equal(order[:, 0], order[:, 1])
    with pytest.raises(lk.SpecError, match=r"step_orders\(\): n must be a whole number >= 5; got n=4"):
        step_orders([0], 4, 5, 1)
    with pytest.raises(lk.SpecError, match=r"step_orders\(\): seeds must be a list holding at least one seed"):
        step_orders([], 10, 5, 1)


def test_fit_steps_checks_the_shape_of_its_plan():
    w = torch.zeros(2, 1, requires_grad=True)
    order = step_orders([0, 1], 8, 4, 3)
    with pytest.raises(lk.SpecError, match=r"fit_steps\(\): lrs must have the shape \(steps, K\) = \(3, 2\) of "
                                           r"order's first two axes; got shape \(3, 3\)"):
        fit_steps(lambda idx: (w * idx).sum(dim=1), SGD([w]), order, np.ones((3, 3)))


def test_fit_steps_equals_a_plain_loop_per_model():
    """fit_steps with SGD(momentum) = each model trained alone by torch.optim.SGD on its own batches."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 3, generator=g), torch.randn(40, generator=g)
    w0 = torch.randn(3, 3, 1, generator=g)
    order, lrs = step_orders([0, 1, 0], 40, 8, 12), np.linspace(0.01, 0.1, 36).reshape(12, 3)
    w = w0.clone().requires_grad_()
    fit_steps(lambda idx: ((torch.bmm(x[idx], w)[..., 0] - y[idx]) ** 2).mean(dim=1),
              SGD([w], momentum=0.9), order, lrs)
    for r in range(3):
        v = w0[r].clone().requires_grad_()
        opt = torch.optim.SGD([v], lr=1.0, momentum=0.9)
        for t in range(12):
            opt.param_groups[0]["lr"] = float(lrs[t, r])
            opt.zero_grad()
            ((x[order[t, r]] @ v)[:, 0] - y[order[t, r]]).pow(2).mean().backward()
            opt.step()
        torch.testing.assert_close(w[r].detach(), v.detach(), rtol=1e-5, atol=1e-6)
