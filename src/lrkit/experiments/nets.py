"""Many small MLPs trained side by side in torch: the experiments' own training code.

``R`` independent networks (one per seed and setting) share one batched
matrix product per layer, so a sweep of settings times seeds trains in one
loop. Each net has its own init (by seed), batch order, lr and weight decay
per step. The optimizers are torch's formulas written out for a stacked
parameter: SGD with heavy-ball momentum and AdamW (tests compare them with
``torch.optim``). A net whose loss turns non-finite is marked diverged and
frozen; the others go on.

The data are the lab's (:func:`lrkit.lab.data.load_dataset`: digits and
MNIST-1D, built locally, standardised with the training statistics); the
experiments hold out its validation split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import MissingDependencyError
from ..lab.train import threads

__all__ = ["SGD", "AdamW", "Nets", "batch_order", "sharpness", "threads", "train"]


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "lab") from None
    return torch


class Nets:
    """``len(seeds)`` independent MLPs of layer sizes ``sizes`` (ReLU between), stacked.

    Net ``r`` is initialised from ``seeds[r]`` like ``torch.nn.Linear`` (weights
    and biases uniform in ``+-1/sqrt(fan_in)``): nets with the same seed start
    equal. ``last_scale`` multiplies each net's output layer (one number per net).
    """

    def __init__(self, sizes: Sequence[int], seeds: Sequence[int], last_scale=None):
        torch = _torch()
        self.sizes, self.runs = list(sizes), len(seeds)
        unique = sorted({int(s) for s in seeds})
        index = torch.tensor([unique.index(int(s)) for s in seeds])
        per_seed = [self._init(torch, s) for s in unique]
        self.params = [torch.stack([p[i] for p in per_seed])[index].clone() for i in range(len(per_seed[0]))]
        if last_scale is not None:
            scale = torch.as_tensor(np.asarray(last_scale, np.float32)).view(-1, 1, 1)
            self.params[-2].mul_(scale)
            self.params[-1].mul_(scale)
        for p in self.params:
            p.requires_grad_(True)

    def _init(self, torch, seed: int) -> list:
        gen = torch.Generator().manual_seed(int(seed))
        ws, bs = [], []
        for a, b in zip(self.sizes[:-1], self.sizes[1:]):
            bound = 1 / math.sqrt(a)
            ws.append((torch.rand(a, b, generator=gen) * 2 - 1) * bound)
            bs.append((torch.rand(1, b, generator=gen) * 2 - 1) * bound)
        return [p for pair in zip(ws, bs) for p in pair]

    def forward(self, x):
        """Logits ``(R, B, classes)`` of inputs ``x`` of shape ``(R, B, features)``."""
        torch = _torch()
        n = len(self.params) // 2
        for i in range(n):
            x = torch.baddbmm(self.params[2 * i + 1], x, self.params[2 * i])
            if i < n - 1:
                x = torch.relu(x)
        return x

    def losses(self, x, y):
        """Mean cross-entropy of each net: ``(R,)``; ``y`` has shape ``(R, B)``."""
        torch = _torch()
        logits = self.forward(x)
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
        return ce.view(y.shape).mean(dim=1)

    def evaluate(self, x: np.ndarray, y: np.ndarray, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Each net's mean loss and accuracy on all of ``(x, y)``: shared ``(N, F)``, ``(N,)`` or one
        set per net ``(R, N, F)``, ``(R, N)``."""
        torch = _torch()
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        if xt.dim() == 2:
            xt, yt = xt.expand(self.runs, *xt.shape), yt.expand(self.runs, -1)
        loss, acc = [], []
        saved = self.params
        try:
            with torch.no_grad():
                for lo in range(0, self.runs, chunk):
                    self.params = [p[lo:lo + chunk] for p in saved]
                    logits, target = self.forward(xt[lo:lo + chunk]), yt[lo:lo + chunk]
                    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none")
                    loss.append(ce.mean(dim=1))
                    acc.append((logits.argmax(-1) == target).double().mean(dim=1))
        finally:
            self.params = saved
        return torch.cat(loss).numpy().astype(np.float64), torch.cat(acc).numpy()

    def norms(self) -> np.ndarray:
        """Each net's weight norm (all parameters): ``(R,)``."""
        torch = _torch()
        with torch.no_grad():
            return torch.sqrt(sum((p.double() ** 2).flatten(1).sum(dim=1) for p in self.params)).numpy()


class SGD:
    """torch's SGD with heavy-ball momentum, per net: ``v = mu v + g``, ``w -= lr v`` (``v = g`` at step 1)."""

    def __init__(self, params, momentum: float = 0.0):
        self.params, self.momentum = params, float(momentum)
        self.bufs: list | None = None

    def step(self, grads, lr, wd=None) -> None:
        torch = _torch()
        lr = torch.as_tensor(lr, dtype=torch.float32).view(-1, 1, 1)
        with torch.no_grad():
            if self.bufs is None:
                self.bufs = [g.clone() for g in grads]
            elif self.momentum:
                for b, g in zip(self.bufs, grads):
                    b.mul_(self.momentum).add_(g)
            else:
                self.bufs = list(grads)
            for p, b in zip(self.params, self.bufs):
                p.sub_(lr * b)


class AdamW:
    """torch's AdamW, per net: ``w *= 1 - lr wd``, then the Adam step with bias correction."""

    def __init__(self, params, betas=(0.9, 0.999), eps: float = 1e-8):
        torch = _torch()
        self.params, self.betas, self.eps, self.t = params, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def step(self, grads, lr, wd) -> None:
        torch = _torch()
        self.t += 1
        b1, b2 = self.betas
        lr = torch.as_tensor(lr, dtype=torch.float32).view(-1, 1, 1)
        wd = torch.as_tensor(wd, dtype=torch.float32).view(-1, 1, 1)
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        with torch.no_grad():
            for p, g, m, v in zip(self.params, grads, self.m, self.v):
                p.mul_(1 - lr * wd)
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                p.sub_((lr / c1) * m / ((v / c2).sqrt() + self.eps))


def batch_order(seeds: Sequence[int], n: int, batch: int, steps: int) -> np.ndarray:
    """Per net, the sample indices of each step: shape ``(steps, R, batch)``; a fresh permutation of
    the ``n`` samples each epoch, drawn from the net's seed (nets with the same seed see the same batches).

    >>> order = batch_order([0, 1, 0], n=6, batch=2, steps=3)     # one epoch: 3 steps of 2
    >>> order.shape, sorted(order[:, 0].ravel().tolist()), bool((order[:, 0] == order[:, 2]).all())
    ((3, 3, 2), [0, 1, 2, 3, 4, 5], True)
    """
    per_epoch = n // batch
    epochs = -(-steps // per_epoch)
    unique = {s: np.random.default_rng([int(s), 7]) for s in sorted(set(seeds))}
    orders = {s: np.concatenate([r.permutation(n)[:per_epoch * batch] for _ in range(epochs)])
              for s, r in unique.items()}
    out = np.stack([orders[s][:steps * batch].reshape(steps, batch) for s in seeds], axis=1)
    return out


def train(nets: Nets, x: np.ndarray, y: np.ndarray, order: np.ndarray, lrs: np.ndarray, opt, *, wds=None,
          every: int = 0, on_eval=None) -> np.ndarray:
    """Train every net: step ``t`` uses batch ``order[t]`` (``(R, B)`` indices into ``x``), lr ``lrs[t]``
    (``(R,)``) and weight decay ``wds[t]``. Calls ``on_eval(t + 1)`` every ``every`` steps. Returns each
    step's batch loss, ``(steps, R)`` (``inf`` once a net has diverged)."""
    torch = _torch()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    alive = torch.ones(nets.runs, dtype=torch.bool)
    out = np.empty(order.shape[:2])
    for t in range(order.shape[0]):
        idx = torch.from_numpy(order[t])
        loss = nets.losses(xt[idx], yt[idx])
        alive &= torch.isfinite(loss) & (loss < 1e4)
        everyone = bool(alive.all())
        out[t] = np.where(alive.numpy(), loss.detach().numpy(), np.inf)
        grads = torch.autograd.grad(torch.where(alive, loss, torch.zeros_like(loss)).sum(), nets.params)
        if not everyone:        # a diverged net's gradient may be NaN or inf: zero it (a pass over every gradient)
            grads = [torch.nan_to_num(g) * alive.view(-1, 1, 1) for g in grads]
        lr = torch.as_tensor(lrs[t], dtype=torch.float32) * alive
        opt.step(grads, lr, None if wds is None else wds[t])
        if not everyone:
            with torch.no_grad():
                for p in nets.params:
                    p.copy_(torch.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0))
        if every and (t + 1) % every == 0 and on_eval is not None:
            on_eval(t + 1)
    return out


def sharpness(nets: Nets, x: np.ndarray, y: np.ndarray, iters: int = 20) -> np.ndarray:
    """Each net's largest Hessian eigenvalue of the mean loss on ``(x, y)``, by power iteration
    (the nets are independent, so the Hessian of their summed loss is block-diagonal)."""
    torch = _torch()
    xt = torch.from_numpy(x).expand(nets.runs, *x.shape)
    yt = torch.from_numpy(y).expand(nets.runs, -1)
    grads = torch.autograd.grad(nets.losses(xt, yt).sum(), nets.params, create_graph=True)
    gen = torch.Generator().manual_seed(0)
    v = [torch.randn(p.shape, generator=gen) for p in nets.params]
    lam = torch.zeros(nets.runs)
    for _ in range(iters):
        norm = torch.sqrt(sum((a * a).flatten(1).sum(dim=1) for a in v)).view(-1, 1, 1)
        v = [a / norm for a in v]
        hv = torch.autograd.grad(grads, nets.params, v, retain_graph=True)
        lam = sum((a * b).flatten(1).sum(dim=1) for a, b in zip(hv, v))
        v = [h.detach() for h in hv]
    return lam.detach().numpy().astype(np.float64)
