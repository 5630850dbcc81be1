"""The experiments' stacked nets against torch itself: their forward against ``torch.nn``, their training
(through the lab's batched module, whose update rules tests/lab/test_lab_batched.py checks against
``torch.optim``) against each net trained alone, their sharpness against the exact Hessian."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrkit.experiments.nets import Nets, sharpness, train
from lrkit.lab.batched import SGD, AdamW, step_orders

SIZES = [5, 7, 3]


def _module(nets: Nets, r: int) -> torch.nn.Sequential:
    """Net ``r`` of ``nets`` as a torch.nn.Sequential with the same weights."""
    layers = []
    for i in range(len(SIZES) - 1):
        lin = torch.nn.Linear(SIZES[i], SIZES[i + 1])
        with torch.no_grad():
            lin.weight.copy_(nets.params[2 * i][r].T)
            lin.bias.copy_(nets.params[2 * i + 1][r, 0])
        layers += [lin, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def _data(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, SIZES[0], generator=g), torch.randint(0, SIZES[-1], (n,), generator=g)


def test_forward_and_loss_equal_torch_nn():
    nets = Nets(SIZES, [0, 1, 0], last_scale=[1.0, 1.0, 3.0])
    x, y = _data()
    logits = nets.forward(x.expand(3, *x.shape))
    for r in range(3):
        torch.testing.assert_close(logits[r], _module(nets, r)(x))
    want = torch.stack([torch.nn.functional.cross_entropy(_module(nets, r)(x), y) for r in range(3)])
    torch.testing.assert_close(nets.losses(x.expand(3, *x.shape), y.expand(3, -1)), want)
    # same seed, same start (scale aside); different seeds differ
    torch.testing.assert_close(nets.params[0][0], nets.params[0][2])
    assert not torch.equal(nets.params[0][0], nets.params[0][1])
    torch.testing.assert_close(nets.params[-1][2], 3 * nets.params[-1][0])


def test_training_equals_each_net_trained_alone_by_torch():
    """Three nets (two share a seed) with their own lr and weight decay per step: each ends where a
    torch.nn copy trained alone on its batches by torch.optim.AdamW ends."""
    nets = Nets(SIZES, [3, 4, 3])
    refs = [_module(nets, r) for r in range(3)]
    x, y = _data(60)
    order = step_orders([3, 4, 3], 60, 12, 8)
    lrs = np.linspace(0.02, 0.005, 24).reshape(8, 3)
    wds = np.tile([0.0, 0.5, 2.0], (8, 1))
    train(nets, x.numpy(), y.numpy(), order, lrs, AdamW(nets.params), wds=wds)
    for r, m in enumerate(refs):
        opt = torch.optim.AdamW(m.parameters(), lr=1.0)
        for t in range(8):
            opt.param_groups[0].update(lr=float(lrs[t, r]), weight_decay=float(wds[t, r]))
            opt.zero_grad()
            idx = torch.from_numpy(order[t, r])
            torch.nn.functional.cross_entropy(m(x[idx]), y[idx]).backward()
            opt.step()
        torch.testing.assert_close(nets.params[0][r], m[0].weight.detach().T, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(nets.params[-1][r, 0], m[-1].bias.detach(), rtol=1e-5, atol=1e-6)


def test_a_diverging_net_is_frozen_and_does_not_touch_the_others():
    nets = Nets(SIZES, [0, 0])
    x, y = _data(200)
    order = step_orders([0, 0], 200, 20, 30)
    lrs = np.tile([1e4, 0.05], (30, 1))              # net 0 blows up, net 1 trains normally
    losses = train(nets, x.numpy(), y.numpy(), order, lrs, SGD(nets.params))
    assert np.isinf(losses[-1, 0]) and np.all(np.isfinite(losses[:, 1]))
    alone = Nets(SIZES, [0])
    ref = train(alone, x.numpy(), y.numpy(), order[:, 1:], lrs[:, 1:], SGD(alone.params))
    np.testing.assert_allclose(losses[:, 1], ref[:, 0], rtol=1e-5)


def test_sharpness_is_the_top_eigenvalue_of_the_exact_hessian():
    nets = Nets([3, 4, 2], [1, 2], last_scale=[1.0, 5.0])
    x, y = _data(30)
    x = x[:, :3]
    y = y % 2
    got = sharpness(nets, x.numpy(), y.numpy(), iters=200)
    for r in range(2):
        flat = torch.cat([p[r].detach().reshape(-1) for p in nets.params])
        shapes = [p[r].shape for p in nets.params]

        def loss(v, shapes=shapes):
            parts, i = [], 0
            for s in shapes:
                n = int(np.prod(s))
                parts.append(v[i:i + n].reshape(s))
                i += n
            h = torch.relu(x @ parts[0] + parts[1])
            return torch.nn.functional.cross_entropy(h @ parts[2] + parts[3], y)

        eig = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, flat))
        top = eig[eig.abs().argmax()]
        assert got[r] == pytest.approx(float(top), rel=1e-3)
