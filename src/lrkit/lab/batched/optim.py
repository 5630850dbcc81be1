"""torch's SGD and AdamW for K models stacked on a leading axis, with one lr (and weight decay) per model.

Every parameter is one tensor of shape ``(K, ...)`` whose row ``k`` belongs to
model ``k``. Each rule is the single-tensor code of ``torch.optim`` (what it
runs on CPU), with the scalars that may differ between models (the lr, the
weight decay) turned into a column of K float32 values. The optimizer holds
the parameters, as a ``torch.optim`` optimizer does: :meth:`step` updates
them in place, :meth:`keep` keeps the rows of some models (and their state)
and drops the others. Tests check that K stacked models end with the
parameters that K ``torch.optim`` optimizers give them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...checks import fail, number, one_of

__all__ = ["SGD", "AdamW", "make_optimizer"]


def _column(values: np.ndarray, ndim: int):
    """K values (float64) as a float32 tensor of shape ``(K, 1, ..., 1)``: it broadcasts over a parameter of
    ``ndim`` axes."""
    import torch

    return torch.from_numpy(values.astype(np.float32)).view((len(values),) + (1,) * (ndim - 1))


class _Stacked:
    """What SGD and AdamW share: the stacked parameters, per-parameter state, dropping models."""

    def __init__(self, params: Sequence[Any], weight_decay: float) -> None:
        self.params = list(params)
        if not self.params or any(p.dim() < 1 or len(p) != len(self.params[0]) for p in self.params):
            raise fail(type(self).__name__, "params", "tensors of shape (K, ...) with one K", self.params)
        self.weight_decay = float(number(type(self).__name__, "weight_decay", weight_decay, ge=0))
        self.state: dict[str, list[Any]] = {}

    @property
    def models(self) -> int:
        """K: the models stacked (rows of every parameter)."""
        return len(self.params[0])

    def keep(self, rows: Sequence[int]) -> None:
        """Keep the models at ``rows`` (in that order), parameters and state; the others are dropped."""
        import torch

        index = torch.as_tensor(list(rows), dtype=torch.long)

        def pick(t):
            return None if t is None else t.detach().index_select(0, index).requires_grad_(t.requires_grad)

        self.params = [pick(p) for p in self.params]
        self.state = {name: [pick(t) for t in ts] for name, ts in self.state.items()}

    def _per_model(self, name: str, values: Any, default: float | None = None) -> np.ndarray:
        """One float64 value per model, each finite and >= 0 (one value is every model's; None: ``default``)."""
        values = default if values is None else values
        try:
            a = np.broadcast_to(np.asarray(values, dtype=np.float64), (self.models,))
        except (TypeError, ValueError):
            a = np.full(self.models, np.nan)
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise fail(f"{type(self).__name__}.step", name, f"one number >= 0 or one per model ({self.models})",
                       values)
        return a


class SGD(_Stacked):
    """``torch.optim.SGD(momentum=mu, weight_decay=wd)`` (dampening 0, no Nesterov) on K stacked models.

    For each parameter ``p``, its gradient ``g`` and model ``k``'s lr ``lr_k``::

        g <- g + wd_k p                                    (if wd_k > 0)
        b <- g (first step), else b <- mu b + g            (if mu > 0; else b = g)
        p <- p - lr_k b

    >>> import torch
    >>> opt = SGD([torch.ones(2, 3)], momentum=0.9)
    >>> opt.step([torch.ones(2, 3)], lr=[0.1, 0.5]); opt.step([torch.ones(2, 3)], lr=[0.1, 0.5])
    >>> [round(x, 6) for x in opt.params[0][:, 0].tolist()]          # 1 - lr (1 + 1.9)
    [0.71, -0.45]
    """

    def __init__(self, params: Sequence[Any], *, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, weight_decay)
        self.momentum = float(number("SGD", "momentum", momentum, ge=0))
        self.state = {"momentum_buffer": [None] * len(self.params)}

    def step(self, grads: Sequence[Any], lr: Any, weight_decay: Any = None) -> None:
        """One update: ``lr`` holds one value per model (or one for all); ``weight_decay`` likewise (default:
        the optimizer's own)."""
        import torch

        lr, wd = self._per_model("lr", lr), self._per_model("weight_decay", weight_decay, self.weight_decay)
        bufs = self.state["momentum_buffer"]
        with torch.no_grad():
            for i, (p, g) in enumerate(zip(self.params, grads)):
                if wd.any():
                    g = g.addcmul(p, _column(wd, p.dim()))
                if self.momentum:
                    if bufs[i] is None:
                        bufs[i] = g.detach().clone()
                    else:
                        bufs[i].mul_(self.momentum).add_(g)
                    g = bufs[i]
                p.addcmul_(g, _column(lr, p.dim()), value=-1)


class AdamW(_Stacked):
    """``torch.optim.AdamW(betas=(b1, b2), eps, weight_decay=wd)`` (no amsgrad) on K stacked models.

    At step ``t`` (from 1), for each parameter ``p``, its gradient ``g`` and model ``k``'s lr ``lr_k``::

        p <- p (1 - lr_k wd_k)
        m <- m + (1 - b1) (g - m);   v <- b2 v + (1 - b2) g^2
        p <- p - lr_k / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    >>> import torch
    >>> opt = AdamW([torch.zeros(2, 1)])
    >>> opt.step([torch.ones(2, 1)], lr=[0.1, 0.01])     # the first step moves by about lr
    >>> [round(x, 6) for x in opt.params[0][:, 0].tolist()]
    [-0.1, -0.01]
    """

    def __init__(self, params: Sequence[Any], *, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01) -> None:
        import torch

        super().__init__(params, weight_decay)
        self.betas = (float(number("AdamW", "betas[0]", betas[0], ge=0, lt=1)),
                      float(number("AdamW", "betas[1]", betas[1], ge=0, lt=1)))
        self.eps = float(number("AdamW", "eps", eps, ge=0))
        self.count = 0
        self.state = {"exp_avg": [torch.zeros_like(p).detach() for p in self.params],
                      "exp_avg_sq": [torch.zeros_like(p).detach() for p in self.params]}

    def step(self, grads: Sequence[Any], lr: Any, weight_decay: Any = None) -> None:
        """One update: ``lr`` holds one value per model (or one for all); ``weight_decay`` likewise (default:
        the optimizer's own)."""
        import torch

        lr, wd = self._per_model("lr", lr), self._per_model("weight_decay", weight_decay, self.weight_decay)
        self.count += 1
        b1, b2 = self.betas
        shrink = 1 - lr * wd                                  # float64, as torch's Python floats
        step_size = lr / (1 - b1 ** self.count)
        bc2_sqrt = (1 - b2 ** self.count) ** 0.5
        with torch.no_grad():
            for p, g, m, v in zip(self.params, grads, self.state["exp_avg"], self.state["exp_avg_sq"]):
                d = p.dim()
                p.mul_(_column(shrink, d))
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
                p.sub_(_column(step_size, d) * m / denom)


def make_optimizer(name: str, params: Sequence[Any], *, momentum: float = 0.9, weight_decay: float = 0.0):
    """``SGD(params, momentum, weight_decay)`` for ``"sgd"``, ``AdamW(params, weight_decay)`` for ``"adamw"``
    (torch's default betas and eps; ``momentum`` is not used).

    >>> import torch
    >>> type(make_optimizer("adamw", [torch.zeros(3, 2)])).__name__
    'AdamW'
    """
    one_of("make_optimizer", "name", name, ("sgd", "adamw"))
    if name == "sgd":
        return SGD(params, momentum=momentum, weight_decay=weight_decay)
    return AdamW(params, weight_decay=weight_decay)
