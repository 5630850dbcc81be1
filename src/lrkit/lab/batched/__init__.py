"""K models trained as one: the one place where lrkit writes torch's update rules out.

- :mod:`.order`: the batch order of a seed (:func:`epoch_orders`; :func:`step_orders`
  for batches of one size), the same for the lab and the experiments;
- :mod:`.optim`: torch's SGD and AdamW on parameters stacked on a leading axis
  (one row per model), one lr and weight decay per model (:class:`SGD`,
  :class:`AdamW`), checked against ``torch.optim``;
- :mod:`.epochs`: :func:`fit_batched`, the lab's runs (torch modules, ``torch.func.vmap``)
  epoch by epoch, with plateaus and runs dropped between epochs;
- :mod:`.steps`: :func:`fit_steps`, stacked models step by step with a planned
  lr per step, diverged models frozen (the experiments).

Importing it imports no framework: torch loads when a model trains.
"""

from __future__ import annotations

from .epochs import Member, fit_batched
from .optim import SGD, AdamW, make_optimizer
from .order import epoch_orders, step_orders
from .steps import fit_steps

__all__ = ["SGD", "AdamW", "Member", "epoch_orders", "fit_batched", "fit_steps", "make_optimizer", "step_orders"]
