"""Metric-driven decay: a scale that drops when a metric stops improving.

:class:`Plateau` is torch's ``ReduceLROnPlateau`` as a framework-free value
holder: instead of rewriting an optimizer's lr it keeps a ``scale`` (starting
at 1.0) that any schedule is multiplied by, ``schedule(t) * plateau.scale``.
The adapters (``lrkit.torch.Scheduler``, ``lrkit.timm.Scheduler``, the Keras
callback) apply it through :meth:`Plateau.update_groups`, which takes torch's
decisions on each group's absolute lr, ``eps`` included.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .checks import fail, fmt, integer, number, one_of

__all__ = ["Plateau"]

_COUNTERS = ("num_bad_epochs", "cooldown_counter", "updates", "reductions")
_STATE_KEYS = ("scale", "best", *_COUNTERS)
_DEFAULTS = {"mode": "min", "factor": 0.1, "patience": 10, "threshold": 1e-4, "threshold_mode": "rel",
             "cooldown": 0, "min_scale": 0.0, "eps": 1e-8}


def _count(param: str, v: Any) -> int:
    number("Plateau", param, v, ge=0)
    return integer("Plateau", param, v, ge=0)


class Plateau:
    """A scale that is multiplied by ``factor`` when ``metric`` stops improving.

    ``update(metric)`` follows torch's ``ReduceLROnPlateau.step(metric)``
    exactly, with the scale in place of the lr and ``min_scale`` in place of
    ``min_lr``:

    * *better*: ``metric < best * (1 - threshold)`` (``mode="min"``,
      ``threshold_mode="rel"``), ``metric < best - threshold`` (min, abs),
      ``metric > best * (1 + threshold)`` (max, rel), ``metric > best + threshold``
      (max, abs). A better metric becomes ``best`` and clears the bad-epoch count;
      any other metric is one more bad epoch.
    * during a cooldown (``cooldown`` updates after a reduction) bad epochs are
      not counted;
    * when the bad epochs exceed ``patience``:
      ``scale <- max(scale * factor, min_scale)``; then the cooldown starts and
      the count clears.

    **eps.** torch skips a reduction that lowers the *lr* by ``eps`` or less.
    A Plateau alone knows no lr, so ``update`` applies ``eps`` to the
    *scale*: the reduction is skipped when ``scale - new_scale <= eps``
    (the same as torch for an lr of 1.0). Inside an adapter that knows the
    absolute lr (``lrkit.torch.Scheduler``, ``lrkit.timm.Scheduler``, the
    Keras callback) :meth:`update_groups` applies ``eps`` to each group's
    lr, as torch does, so with an lr below 1 the reductions stop where
    torch's stop.

    A NaN or infinite metric is never better: it counts as a bad epoch. torch
    does the same for NaN, but lets ``-inf`` (min mode) or ``+inf`` (max mode)
    become a best that nothing can beat afterwards; lrkit does not.

    The effective multiplier of a run is ``schedule(t) * plateau.scale``.

    >>> import lrkit as lk
    >>> p = lk.Plateau(factor=0.5, patience=1)
    >>> [p.update(m) for m in (1.0, 0.9, 0.95, 0.95, 0.95, 0.95)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_scale: float = 0.0, eps: float = 1e-8) -> None:
        self.mode = one_of("Plateau", "mode", mode, ("min", "max"))
        self.factor = float(number("Plateau", "factor", factor, ge=0, lt=1))
        self.patience = _count("patience", patience)
        self.threshold_mode = one_of("Plateau", "threshold_mode", threshold_mode, ("rel", "abs"))
        self.threshold = float(number("Plateau", "threshold", threshold, ge=0))
        if self.mode == "min" and self.threshold_mode == "rel" and not self.threshold < 1:
            raise fail("Plateau", "threshold", "< 1 with mode='min', threshold_mode='rel' "
                       "(best * (1 - threshold) would never be beaten)", threshold)
        self.cooldown = _count("cooldown", cooldown)
        self.min_scale = float(number("Plateau", "min_scale", min_scale, ge=0, le=1))
        self.eps = float(number("Plateau", "eps", eps, ge=0))
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to the start: scale 1.0, no best, no bad epochs, no cooldown."""
        self.scale = 1.0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.updates = 0
        self.reductions = 0

    @property
    def in_cooldown(self) -> bool:
        """True while reductions are paused after the last one."""
        return self.cooldown_counter > 0

    def is_better(self, metric: float) -> bool:
        """Whether ``metric`` improves on ``best`` by more than the threshold."""
        if not math.isfinite(metric):
            return False
        best = self.best
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return metric < best * (1.0 - self.threshold)
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (self.threshold + 1.0)
        return metric > best + self.threshold

    # --------------------------------------------------------------- updates
    def decide(self, metric: Any) -> bool:
        """Count one metric reading; ``True`` when a reduction is due now (the scale is not touched).

        Updates ``best``, the bad-epoch count and the cooldown exactly as
        torch's ``ReduceLROnPlateau.step`` does before it reduces.

        >>> import lrkit as lk
        >>> p = lk.Plateau(patience=1)
        >>> [p.decide(m) for m in (1.0, 1.0, 1.0, 1.0)]
        [False, False, True, False]
        """
        current = as_metric(metric)
        self.updates += 1
        if self.is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
            return True
        return False

    def reduced(self, scale: float, value: float = 1.0) -> float:
        """The scale after one reduction of a group whose value at scale 1 is ``value``.

        ``new = max(scale * factor, min_scale)``, kept only when the group's
        value falls by more than ``eps``: ``value * scale - value * new > eps``
        (torch's rule on the lr; ``value=1.0`` puts ``eps`` on the scale).

        >>> import lrkit as lk
        >>> p = lk.Plateau(factor=0.1)
        >>> p.reduced(1.0), p.reduced(1e-3, value=1e-5)   # lr 1e-8 -> 1e-9 falls by less than eps
        (0.1, 0.001)
        """
        new = max(scale * self.factor, self.min_scale)
        return new if value * scale - value * new > self.eps else scale

    def update(self, metric: Any) -> float:
        """Take one metric reading (a number or a 0-d tensor); return the new scale (``eps`` on the scale).

        >>> import lrkit as lk
        >>> p = lk.Plateau(mode="max", factor=0.5, patience=0)
        >>> p.update(0.5), p.update(0.4), p.update(float("nan"))
        (1.0, 0.5, 0.25)
        """
        self.update_groups(metric, [1.0], [self.scale])
        return self.scale

    def update_groups(self, metric: Any, values: list[float], scales: list[float]) -> list[float]:
        """torch's ``ReduceLROnPlateau.step(metric)`` on several groups; return their new scales.

        ``values[i]`` is group ``i``'s value at scale 1 (``base * schedule(t)``)
        and ``scales[i]`` its scale, so its lr is ``values[i] * scales[i]``.
        When a reduction is due, each group is reduced on its own, only if
        its lr falls by more than ``eps`` (:meth:`reduced`), exactly as torch
        reduces each param group. ``scale`` becomes the smallest group scale
        (the groups share it unless ``eps`` stopped one with a tiny lr) and
        ``reductions`` counts the readings that reduced any group.

        >>> import lrkit as lk
        >>> p = lk.Plateau(factor=0.1, patience=0)
        >>> p.update_groups(1.0, [1.0, 1e-8], [1.0, 1.0])
        [1.0, 1.0]
        >>> p.update_groups(2.0, [1.0, 1e-8], [1.0, 1.0])   # lr 1e-8 -> 1e-9 falls by less than eps
        [0.1, 1.0]
        """
        if not self.decide(metric):
            return list(scales)
        new = [self.reduced(s, v) for s, v in zip(scales, values)]
        if new != list(scales):
            self.reductions += 1
        self.scale = min(new)
        return new

    def state_dict(self) -> dict:
        """The counters (python numbers only, safe for ``torch.load(weights_only=True)``).

        The settings are not part of the state: a loaded plateau keeps the
        ``mode``, ``factor``, ``patience``, ... it was built with.
        """
        return {k: getattr(self, k) for k in _STATE_KEYS}

    def load_state_dict(self, state: dict) -> None:
        """Restore the counters saved by :meth:`state_dict` (every field is checked first)."""
        self._load(checked_state(state, "Plateau.load_state_dict", "state"))

    def _load(self, state: dict) -> None:
        self.scale, self.best = float(state["scale"]), float(state["best"])
        for k in _COUNTERS:
            setattr(self, k, int(state[k]))

    def __repr__(self) -> str:
        args = [f"{k}={fmt(getattr(self, k))}" for k, d in _DEFAULTS.items() if getattr(self, k) != d]
        return f"Plateau({', '.join(args)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plateau):
            return NotImplemented
        return repr(self) == repr(other) and self.state_dict() == other.state_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable


def checked_state(state: Any, where: str, name: str) -> dict:
    """``state`` checked as a :meth:`Plateau.state_dict`; errors name ``where`` and the field (``state['scale']``).

    >>> state = {"scale": 0.5, "best": 0.3, "num_bad_epochs": 0, "cooldown_counter": 0, "updates": 4, "reductions": 1}
    >>> checked_state(state, "Plateau.load_state_dict", "state")["scale"]
    0.5
    """
    keys = ", ".join(_STATE_KEYS)
    if not isinstance(state, dict):
        raise fail(where, name, f"a dict from Plateau.state_dict() with the keys {keys}", state)
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise fail(where, name, f"a dict from Plateau.state_dict() with the keys {keys} "
                   f"(missing: {', '.join(missing)})", state)
    number(where, f"{name}['scale']", state["scale"], ge=0, le=1)
    best = state["best"]
    if isinstance(best, bool) or not isinstance(best, numbers.Real) or math.isnan(best):
        raise fail(where, f"{name}['best']", "a number (inf before the first metric)", best)
    for k in _COUNTERS:
        integer(where, f"{name}[{k!r}]", state[k], ge=0)
    return state


def as_metric(metric: Any, where: str = "Plateau.update") -> float:
    """``metric`` (a number, a NumPy scalar, a 0-d array or tensor) as a Python float.

    >>> import numpy as np
    >>> as_metric(np.float32(0.5)), as_metric(np.array(2))
    (0.5, 2.0)
    """
    if isinstance(metric, (bool, str, bytes)) or metric is None:
        raise fail(where, "metric", "a number", metric)
    try:
        return float(metric)
    except (TypeError, ValueError, RuntimeError):
        raise fail(where, "metric", "a number or a one-element array", metric) from None
