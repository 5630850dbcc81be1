"""The learning-rate range test (Smith 2015, "Cyclical Learning Rates";
fastai's ``lr_find``), with a framework-free core.

>>> import lrkit.finder as lf
>>> w = [1.0]
>>> def train_step(lr):          # gradient descent on f(w) = w**2 / 2 (best lr 1)
...     loss = w[0] ** 2 / 2 + 1.0
...     w[0] -= lr * w[0]
...     return loss
>>> r = lf.range_test(train_step, start=1e-3, end=100, steps=60, smooth=0.5)
>>> sorted(r.suggestions), r.method in r.suggestions
(['edge/3', 'min/10', 'rise/4', 'steepest', 'valley'], True)

The torch helper is ``lrkit.finder.torch.find_lr`` (importing it imports torch).
"""

from __future__ import annotations

from .core import MODES, range_test, smooth_losses, sweep_lrs
from .result import HEURISTICS, RangeTestResult

__all__ = ["HEURISTICS", "MODES", "RangeTestResult", "range_test", "smooth_losses", "sweep_lrs"]
