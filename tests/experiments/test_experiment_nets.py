"""The experiments' batched training code against torch itself: its optimizers against
``torch.optim``, its nets against ``torch.nn``, its sharpness against the exact Hessian."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrkit.experiments.nets import SGD, AdamW, Nets, batch_order, sharpness, train

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


@pytest.mark.parametrize("kind", ["sgd", "sgd-momentum", "adamw"])
def test_optimizers_equal_torch_optim(kind):
    """Two nets side by side with their own lr (and wd) per step, against torch.optim per net."""
    nets = Nets(SIZES, [3, 4])
    refs = [_module(nets, r) for r in range(2)]
    lrs = np.array([[0.1, 0.05], [0.07, 0.02], [0.2, 0.01], [0.05, 0.3]])
    wds = np.array([[0.0, 0.5], [0.1, 0.5], [0.3, 1.0], [0.2, 0.0]])
    if kind == "adamw":
        opt = AdamW(nets.params)
        topts = [torch.optim.AdamW(m.parameters(), lr=1.0, weight_decay=0.0) for m in refs]
    else:
        mom = 0.9 if kind == "sgd-momentum" else 0.0
        opt = SGD(nets.params, momentum=mom)
        topts = [torch.optim.SGD(m.parameters(), lr=1.0, momentum=mom) for m in refs]
    for t in range(4):
        x, y = _data(seed=t)
        loss = nets.losses(x.expand(2, *x.shape), y.expand(2, -1))
        grads = torch.autograd.grad(loss.sum(), nets.params)
        opt.step(grads, lrs[t], wds[t] if kind == "adamw" else None)
        for r, (m, o) in enumerate(zip(refs, topts)):
            for g in o.param_groups:
                g["lr"] = float(lrs[t, r])
                if kind == "adamw":
                    g["weight_decay"] = float(wds[t, r])
            o.zero_grad()
            torch.nn.functional.cross_entropy(m(x), y).backward()
            o.step()
    for r, m in enumerate(refs):
        torch.testing.assert_close(nets.params[0][r], m[0].weight.detach().T, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(nets.params[-1][r, 0], m[-1].bias.detach(), rtol=1e-5, atol=1e-6)


def test_a_diverging_net_is_frozen_and_does_not_touch_the_others():
    nets = Nets(SIZES, [0, 0])
    x, y = _data(200)
    order = batch_order([0, 0], 200, 20, 30)
    lrs = np.tile([1e4, 0.05], (30, 1))              # net 0 blows up, net 1 trains normally
    losses = train(nets, x.numpy(), y.numpy(), order, lrs, SGD(nets.params))
    assert np.isinf(losses[-1, 0]) and np.all(np.isfinite(losses[:, 1]))
    alone = Nets(SIZES, [0])
    ref = train(alone, x.numpy(), y.numpy(), order[:, 1:], lrs[:, 1:], SGD(alone.params))
    np.testing.assert_allclose(losses[:, 1], ref[:, 0], rtol=1e-5)


def test_batch_order_is_a_permutation_per_epoch_and_paired_by_seed():
    order = batch_order([5, 6, 5], 12, 4, 6)        # 3 steps per epoch, 2 epochs
    assert order.shape == (6, 3, 4)
    for r in range(3):
        for e in range(2):
            assert sorted(order[3 * e:3 * e + 3, r].ravel()) == list(range(12))
    assert np.array_equal(order[:, 0], order[:, 2]) and not np.array_equal(order[:, 0], order[:, 1])


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
