"""Many small MLPs side by side in torch: the experiments' stacked nets.

``R`` independent networks (one per seed and setting) share one batched
matrix product per layer, so a sweep of settings times seeds trains in one
loop. Each net has its own init (by seed), batch order, lr and weight decay
per step. They train through the lab's one batched-training module
(:mod:`lrkit.lab.batched`): :func:`train` hands their losses to
:func:`~lrkit.lab.batched.fit_steps`, which applies torch's SGD or AdamW with
one lr per net (:class:`~lrkit.lab.batched.SGD`, :class:`~lrkit.lab.batched.AdamW`,
checked against ``torch.optim``) and freezes a net whose loss turns
non-finite while the others go on. Batches come from
:func:`~lrkit.lab.batched.step_orders`: the seed's sample order, as in the lab.

The data are the lab's (:func:`lrkit.lab.data.load_dataset`: digits and
MNIST-1D, built locally, standardised with the training statistics); the
experiments hold out its validation split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import MissingDependencyError
from ..lab.batched import fit_steps
from ..lab.train import threads

__all__ = ["Nets", "sharpness", "threads", "train"]


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


def train(nets: Nets, x: np.ndarray, y: np.ndarray, order: np.ndarray, lrs: np.ndarray, opt, *, wds=None,
          every: int = 0, on_eval=None) -> np.ndarray:
    """Train every net (:func:`lrkit.lab.batched.fit_steps`): step ``t`` uses batch ``order[t]`` (``(R, B)``
    indices into ``x``), lr ``lrs[t]`` (``(R,)``) and weight decay ``wds[t]``; ``opt`` is an
    :class:`~lrkit.lab.batched.SGD` or :class:`~lrkit.lab.batched.AdamW` over ``nets.params``. Calls
    ``on_eval(t + 1)`` every ``every`` steps. Returns each step's batch loss, ``(steps, R)`` (``inf`` once a
    net has diverged: a loss not finite or >= 1e4)."""
    torch = _torch()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return fit_steps(lambda idx: nets.losses(xt[idx], yt[idx]), opt, order, lrs, weight_decays=wds, every=every,
                     on_eval=on_eval)


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
