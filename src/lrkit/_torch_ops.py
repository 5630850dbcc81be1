"""The array namespace that evaluates any schedule's formula on torch tensors (``lrkit.torch.ops``)."""

from __future__ import annotations

import torch

from .schedules.ops import Ops, constant_power

Tensor = torch.Tensor


class TorchOps(Ops):
    """The array namespace of ``Schedule.evaluate`` over torch tensors.

    Python numbers meeting a tensor take its dtype and device, python numbers
    meeting each other (``where(cond, 1.0, 0.0)``) and ``float(u)`` take
    ``dtype`` (float64 by default; use ``TorchOps(torch.float32)`` for float32
    results); integer hashes (``uint``) are int64. Results match NumPy to the
    precision of the dtype used: ``power(c, x)`` with a Python number ``c``
    corrects for ``c`` being rounded to float32 (otherwise ``0.999**t`` would
    drift by ``t * 6e-8`` relative).

    >>> import torch, lrkit as lk
    >>> from lrkit.torch import ops
    >>> s = lk.warmup(10) >> lk.cosine(90)
    >>> s.evaluate(torch.tensor([0.0, 5.0, 100.0], dtype=torch.float64), ops).tolist()
    [0.0, 0.5, 0.0]
    """

    def __init__(self, dtype: torch.dtype = torch.float64) -> None:
        self.dtype = dtype

    def _pair(self, a, b, like=None):
        if isinstance(a, Tensor):
            return a, (b if isinstance(b, Tensor) else torch.as_tensor(b, dtype=a.dtype, device=a.device))
        if isinstance(b, Tensor):
            return torch.as_tensor(a, dtype=b.dtype, device=b.device), b
        device = like.device if isinstance(like, Tensor) else None
        return torch.as_tensor(a, dtype=self.dtype, device=device), torch.as_tensor(b, dtype=self.dtype, device=device)

    def minimum(self, a, b):
        return torch.minimum(*self._pair(a, b))

    def maximum(self, a, b):
        return torch.maximum(*self._pair(a, b))

    def where(self, cond, a, b):
        return torch.where(torch.as_tensor(cond), *self._pair(a, b, like=cond))

    def power(self, a, b):
        if isinstance(b, Tensor) and not isinstance(a, Tensor) and a > 0:
            return constant_power(a, b, torch.tensor(a, dtype=b.dtype).item(), torch.pow, torch.exp)
        return torch.pow(*self._pair(a, b))

    def _tensor(self, x):
        return x if isinstance(x, Tensor) else torch.as_tensor(x, dtype=self.dtype)

    def floor(self, x):
        return torch.floor(self._tensor(x))

    def cos(self, x):
        return torch.cos(self._tensor(x))

    def exp(self, x):
        return torch.exp(self._tensor(x))

    def log(self, x):
        return torch.log(self._tensor(x))

    def sqrt(self, x):
        return torch.sqrt(self._tensor(x))

    def uint(self, x):
        return torch.as_tensor(x).to(torch.int64)

    def float(self, u):
        return torch.as_tensor(u).to(self.dtype)


ops = TorchOps()
"""The float64 namespace: ``schedule.evaluate(torch.arange(10.0), ops)`` evaluates on torch tensors."""
