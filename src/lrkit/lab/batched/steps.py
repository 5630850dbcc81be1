"""K stacked models step by step, with a planned lr (and weight decay) per step and model: :func:`fit_steps`.

What the experiments train with: their nets compute K losses at once (one
batched matrix product per layer), :func:`fit_steps` takes the gradients and
applies :mod:`~lrkit.lab.batched.optim`'s update. A model whose loss turns
non-finite (or huge) is frozen, so that the others go on undisturbed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import SpecError

__all__ = ["fit_steps"]


def fit_steps(losses: Callable[[Any], Any], opt: Any, order: np.ndarray, lrs: np.ndarray, *,
              weight_decays: np.ndarray | None = None, every: int = 0,
              on_eval: Callable[[int], Any] | None = None, limit: float = 1e4) -> np.ndarray:
    """Train the K models of ``opt`` (an :class:`~lrkit.lab.batched.optim.SGD` or ``AdamW``) ``len(order)`` steps.

    Step ``t`` computes ``losses(order[t])``: the K mean losses on batch
    ``order[t]`` (``(K, B)`` sample indices, e.g. from
    :func:`~lrkit.lab.batched.order.step_orders`), differentiable in
    ``opt.params``; then updates model ``k`` with lr ``lrs[t, k]`` and weight
    decay ``weight_decays[t, k]`` (default: the optimizer's). A model whose loss
    is not finite or ``>= limit`` has diverged: from that step on its lr and
    gradient are 0, its non-finite weights are set to 0 and its loss reads
    ``inf``. Calls ``on_eval(t + 1)`` every ``every`` steps. Returns every
    step's batch losses, ``(steps, K)``.

    >>> import torch
    >>> from lrkit.lab.batched import SGD, step_orders
    >>> x, w = torch.linspace(-1, 1, 8), torch.zeros(2, 1, requires_grad=True)   # two 1-parameter models
    >>> def losses(idx):
    ...     return ((w * x[idx] - 3 * x[idx]) ** 2).mean(dim=1)      # fit y = 3 x
    >>> out = fit_steps(losses, SGD([w]), step_orders([0, 1], 8, 4, 40), np.tile([0.5, 1e3], (40, 1)))
    >>> round(w[0, 0].item(), 3), bool(np.isinf(out[-1, 1]))         # the second model diverged
    (3.0, True)
    """
    import torch

    steps, k = order.shape[:2]
    for name, a in (("lrs", lrs), ("weight_decays", weight_decays)):
        if a is not None and np.shape(a) != (steps, k):
            raise SpecError(f"fit_steps(): {name} must have the shape (steps, K) = {(steps, k)} of order's first "
                            f"two axes; got shape {np.shape(a)}")
    alive = torch.ones(k, dtype=torch.bool)
    out = np.empty((steps, k))
    for t in range(steps):
        loss = losses(torch.from_numpy(order[t]))
        alive &= torch.isfinite(loss) & (loss < limit)
        everyone = bool(alive.all())
        out[t] = np.where(alive.numpy(), loss.detach().numpy(), np.inf)
        grads = torch.autograd.grad(torch.where(alive, loss, torch.zeros_like(loss)).sum(), opt.params)
        if not everyone:  # a diverged model's gradient may be NaN or inf: zero it
            grads = [torch.nan_to_num(g) * alive.view((k,) + (1,) * (g.dim() - 1)) for g in grads]
        opt.step(grads, lrs[t] * alive.numpy(), None if weight_decays is None else weight_decays[t])
        if not everyone:
            with torch.no_grad():
                for p in opt.params:
                    p.copy_(torch.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0))
        if every and (t + 1) % every == 0 and on_eval is not None:
            on_eval(t + 1)
    return out
