"""Metric-driven decay: a scale that drops when a metric stops improving.

:class:`Plateau` is torch's ``ReduceLROnPlateau`` as a framework-free value
holder: instead of rewriting an optimizer's lr it keeps a ``scale`` (starting
at 1.0) that any schedule is multiplied by, ``schedule(t) * plateau.scale``.
The adapters (``lrkit.torch.Scheduler``, the Keras callback) apply it.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import SpecError
from .checks import fail, fmt, number, one_of

__all__ = ["Plateau"]

_STATE_KEYS = ("scale", "best", "num_bad_epochs", "cooldown_counter", "updates", "reductions")


def _count(param: str, v: Any) -> int:
    n = number("Plateau", param, v, ge=0)
    if not float(n).is_integer():
        raise fail("Plateau", param, "a whole number >= 0", v)
    return int(n)


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
      ``scale <- max(scale * factor, min_scale)``, applied only if it lowers the
      scale by more than ``eps``; then the cooldown starts and the count clears.

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

    def update(self, metric: Any) -> float:
        """Take one metric reading (a number or a 0-d tensor); return the new scale.

        >>> import lrkit as lk
        >>> p = lk.Plateau(mode="max", factor=0.5, patience=0)
        >>> p.update(0.5), p.update(0.4), p.update(float("nan"))
        (1.0, 0.5, 0.25)
        """
        current = _metric(metric)
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
            new = max(self.scale * self.factor, self.min_scale)
            if self.scale - new > self.eps:
                self.scale = new
                self.reductions += 1
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        return self.scale

    def state_dict(self) -> dict:
        """The counters (python numbers only, safe for ``torch.load(weights_only=True)``).

        The settings are not part of the state: a loaded plateau keeps the
        ``mode``, ``factor``, ``patience``, ... it was built with.
        """
        return {k: getattr(self, k) for k in _STATE_KEYS}

    def load_state_dict(self, state: dict) -> None:
        """Restore the counters saved by :meth:`state_dict`."""
        if not isinstance(state, dict):
            raise SpecError(f"Plateau.load_state_dict(): state must be a dict from state_dict(); got {state!r}")
        missing = [k for k in _STATE_KEYS if k not in state]
        if missing:
            raise SpecError(f"Plateau.load_state_dict(): state is missing {', '.join(missing)}; "
                            f"expected the keys {', '.join(_STATE_KEYS)}")
        self.scale = float(state["scale"])
        self.best = float(state["best"])
        for k in ("num_bad_epochs", "cooldown_counter", "updates", "reductions"):
            setattr(self, k, int(state[k]))

    def __repr__(self) -> str:
        defaults = dict(mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                        cooldown=0, min_scale=0.0, eps=1e-8)
        args = [f"{k}={fmt(getattr(self, k))}" for k, d in defaults.items() if getattr(self, k) != d]
        return f"Plateau({', '.join(args)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plateau):
            return NotImplemented
        return repr(self) == repr(other) and self.state_dict() == other.state_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable


def _metric(metric: Any) -> float:
    if isinstance(metric, (bool, str, bytes)) or metric is None:
        raise SpecError(f"Plateau.update(): metric must be a number; got metric={metric!r}")
    try:
        return float(metric)
    except (TypeError, ValueError, RuntimeError):
        raise SpecError(f"Plateau.update(): metric must be a number or a one-element array; got metric={metric!r}") from None

