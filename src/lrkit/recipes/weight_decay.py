"""Weight decay that follows the lr schedule (AdamW-style decoupled decay).

torch's ``AdamW`` (and ``SGD``-with-decoupled-decay variants) shrink every
weight each step by ``p <- p * (1 - lr_t * wd_t)``: the effective decay per
step is the product ``lr_t * wd_t``. With a constant ``wd`` that product falls
with the lr — a cosine schedule ends with almost no decay. Two choices:

- ``keep="wd"``: ``wd_t = wd`` — the decay per step decays with the lr
  (``lr_t * wd = base_lr * wd * s(t)``); torch's default behaviour.
- ``keep="product"``: ``wd_t = wd * reference / max(s(t), floor * reference)`` —
  the decay per step stays ``base_lr * wd`` while ``s(t) >= floor * reference``.

Either is a schedule for the ``"weight_decay"`` param of
:class:`lrkit.torch.Scheduler` (its dict form), next to the lr's:

>>> import torch, lrkit as lk
>>> from lrkit.torch import Scheduler
>>> from lrkit.recipes import weight_decay_schedule
>>> lr = lk.cosine(100, end=0.1)
>>> opt = torch.optim.AdamW(torch.nn.Linear(3, 1).parameters(), lr=1e-3, weight_decay=0.1)
>>> sched = Scheduler(opt, {"lr": lr, "weight_decay": weight_decay_schedule(lr, keep="product")})
>>> for _ in range(50):
...     opt.step(); sched.step()
>>> g = opt.param_groups[0]
>>> round(g["lr"] * g["weight_decay"], 12)     # = 1e-3 * 0.1, at every step
0.0001
"""

from __future__ import annotations

from ..checks import fail, number
from ..schedules import Schedule, constant, reciprocal

Reciprocal = reciprocal
"""``lk.reciprocal`` under its recipe name: ``scale / max(inner(t), floor)``."""

__all__ = ["KEEP", "Reciprocal", "weight_decay_schedule"]

KEEP = ("product", "wd")


def weight_decay_schedule(lr: Schedule, keep: str = "product", *, floor: float = 1e-3,
                          reference: float = 1.0) -> Schedule:
    """The ``weight_decay`` schedule that goes with the lr schedule ``lr``.

    ``keep="product"`` keeps the decoupled decay per step ``lr_t * wd_t``
    constant: ``wd_t = wd * reference / max(lr(t), floor * reference)``, so
    ``lr_t * wd_t = base_lr * wd * reference`` wherever ``lr(t) >= floor *
    reference`` (below, e.g. at an lr of 0, the weight decay is capped at
    ``1/floor`` times its base and the product falls with the lr).
    ``keep="wd"`` keeps ``wd_t = wd`` (``constant()``): the decay per step
    falls with the lr.

    ``reference`` is the value of ``lr`` at which the weight decay equals its
    base value: 1.0 for a multiplier schedule (the base lr), the peak lr for
    an absolute one (then multiply the result by the base weight decay, e.g.
    ``0.05 * weight_decay_schedule(3e-4 * lk.cosine(1000), reference=3e-4)``
    with ``Scheduler(..., absolute=True)``).

    >>> import lrkit as lk
    >>> lr = lk.cosine(100)
    >>> wd = weight_decay_schedule(lr)
    >>> [round(lr(t) * wd(t), 12) for t in (0, 50, 90)], wd(100)
    ([1.0, 1.0, 1.0], 1000.0)
    >>> weight_decay_schedule(lr, keep="wd")
    constant()
    """
    fn = "weight_decay_schedule"
    if not isinstance(lr, Schedule):
        raise fail(fn, "lr", "a schedule (the lr schedule the weight decay follows)", lr)
    if keep not in KEEP:
        raise fail(fn, "keep", "'product' (lr * wd constant) or 'wd' (wd constant, lr * wd decays)", keep)
    floor = number(fn, "floor", floor, gt=0, le=1)
    reference = number(fn, "reference", reference, gt=0)
    if keep == "wd":
        return constant()
    return reciprocal(lr, scale=reference, floor=floor * reference)
