"""Keras 3 adapter: :class:`Schedule` (a ``LearningRateSchedule``) and :class:`PlateauCallback`.

>>> import keras, lrkit as lk, lrkit.keras
>>> lr = lrkit.keras.Schedule(lk.warmup(100) >> lk.cosine(900), base=1e-3)
>>> opt = keras.optimizers.AdamW(learning_rate=lr)
>>> [round(float(lr(t)), 9) for t in (0, 50, 100, 550, 1_000)]
[0.0, 0.0005, 0.001, 0.0005, 0.0]

The formula is the core's ``Schedule.evaluate`` run on ``keras.ops``; this
module only supplies the array namespace (:class:`KerasOps`), so the schedule
runs on every Keras backend and gives the NumPy values to float32 precision.
Both classes are registered for serialisation under the package ``"lrkit"``:
``import lrkit.keras`` before ``keras.saving.load_model`` so Keras finds them.
"""

from __future__ import annotations

import importlib.util
import numbers
import warnings
from typing import Any

import numpy as np

from .checks import fail, number
from .errors import MissingDependencyError
from .plateau import Plateau
from .schedules import Schedule as _Core
from .schedules.ops import Ops, constant_power
from .spec import bound_schedule, parse

if importlib.util.find_spec("keras") is None:  # pragma: no cover - exercised only without keras
    raise MissingDependencyError("keras", "keras")
import keras  # noqa: E402  (a missing backend, e.g. TensorFlow, raises its own error)
from keras import ops as K  # noqa: E402

__all__ = ["KerasOps", "PlateauCallback", "Schedule"]

_NAME = "lrkit.keras.Schedule"


class KerasOps(Ops):
    """The array namespace of ``Schedule.evaluate`` over ``keras.ops`` (any backend).

    Values are float32. The noise hash uses :class:`Bits` over uint32 on the
    JAX backend (where int64 needs x64) and int64 elsewhere (torch has no
    uint32 shifts); masking keeps 64-bit products exact.

    ``power(c, x)`` with a Python number ``c`` corrects for ``c`` being
    rounded to float32: ``c**x = r**x * exp(x * (log c - log r))``, ``r`` the
    rounded ``c`` (otherwise ``0.999**t`` drifts by ``t * 6e-8`` relative).

    >>> import keras, lrkit as lk
    >>> from lrkit.keras import KerasOps
    >>> s = lk.warmup(10) >> lk.cosine(90)
    >>> [float(v) for v in s.evaluate(keras.ops.convert_to_tensor([0.0, 5.0, 100.0]), KerasOps())]
    [0.0, 0.5, 0.0]
    """

    dtype = "float32"

    minimum = staticmethod(K.minimum)
    maximum = staticmethod(K.maximum)
    where = staticmethod(K.where)
    floor = staticmethod(K.floor)
    cos = staticmethod(K.cos)
    exp = staticmethod(K.exp)
    log = staticmethod(K.log)
    sqrt = staticmethod(K.sqrt)

    def power(self, a, b):
        if _const(a) and not _const(b) and a > 0:
            return constant_power(a, b, float(np.float32(a)), K.power, K.exp)
        return K.power(a, b)

    def uint(self, x):
        dtype = "uint32" if keras.backend.backend() == "jax" else "int64"
        return Bits(K.cast(x, dtype), dtype)

    def float(self, u):
        return K.cast(u.array, self.dtype)


def _const(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


class Bits:
    """An integer array for the noise hash with ``^ & * >>`` through ``keras.ops``.

    Python ints are cast to the array's dtype first (Keras would make them
    int32, which ``0x9E3779B9`` overflows).
    """

    __slots__ = ("array", "dtype")

    def __init__(self, array, dtype: str) -> None:
        self.array, self.dtype = array, dtype

    def _op(self, fn, other) -> Bits:
        y = other.array if isinstance(other, Bits) else K.convert_to_tensor(other, dtype=self.dtype)
        return Bits(fn(self.array, y), self.dtype)

    def __xor__(self, other):
        return self._op(K.bitwise_xor, other)

    def __and__(self, other):
        return self._op(K.bitwise_and, other)

    def __mul__(self, other):
        return self._op(K.multiply, other)

    def __rshift__(self, other):
        return self._op(K.right_shift, other)

    __rxor__, __rand__, __rmul__ = __xor__, __and__, __mul__


@keras.saving.register_keras_serializable(package="lrkit")
class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """A Keras ``LearningRateSchedule``: ``lr(step) = base * schedule(step) * scale``.

    ``schedule`` is an lrkit schedule or its text form; ``base`` the lr it
    multiplies (``base=1.0`` for an absolute schedule such as
    ``3e-4 * lk.cosine(10_000)``). ``total_steps`` / ``steps_per_epoch`` bind
    run-relative durations (``"10%"``, ``"rest"``, ``"5ep"``). ``step`` is the
    optimizer's ``iterations``: updates taken so far, 0 for the first update.

    ``scale`` (a non-trainable float32 ``keras.Variable``, 1.0 unless
    :class:`PlateauCallback` lowers it; the argument restores a saved value)
    multiplies every value. ``get_config()``
    holds the text form, so a model saved as ``.keras`` reloads with its
    schedule: ``{"schedule": str(schedule), "base", "total_steps",
    "steps_per_epoch", "scale"}``.

    >>> import keras, lrkit as lk, lrkit.keras
    >>> lr = lrkit.keras.Schedule("warmup('10%') >> cosine('rest')", base=0.1, total_steps=1_000)
    >>> lr.schedule
    warmup(100) >> cosine(900)
    >>> [round(float(v), 6) for v in lr(keras.ops.convert_to_tensor([0, 50, 100, 550, 1_000]))]
    [0.0, 0.05, 0.1, 0.05, 0.0]
    >>> lrkit.keras.Schedule.from_config(lr.get_config()).schedule == lr.schedule
    True
    """

    def __init__(self, schedule: _Core | str, base: float = 1e-3, *, total_steps: float | None = None,
                 steps_per_epoch: float | None = None, scale: float = 1.0) -> None:
        super().__init__()
        self.spec = _as_core(_NAME, schedule)
        self.schedule, self.total_steps, self.steps_per_epoch = _bind(_NAME, self.spec, total_steps, steps_per_epoch)
        self.base = float(number(_NAME, "base", base, gt=0))
        scale = float(number(_NAME, "scale", scale, ge=0))
        self.scale = keras.Variable(scale, dtype="float32", trainable=False, name="lrkit_scale")
        self._ops = KerasOps()

    def __call__(self, step):
        """The lr at ``step`` (what the optimizer calls with its ``iterations``): ``base * schedule(step) * scale``,
        in float32."""
        t = K.cast(step, "float32")
        value = self.schedule.evaluate(t, self._ops) * self.base
        return K.multiply(value, self.scale)

    def get_config(self) -> dict:
        return {"schedule": str(self.spec), "base": self.base, "total_steps": self.total_steps,
                "steps_per_epoch": self.steps_per_epoch, "scale": float(self.scale.numpy())}

    @classmethod
    def from_config(cls, config: dict) -> Schedule:
        """The schedule of ``get_config()``: its text is read back with ``lk.parse``."""
        config = dict(config)
        return cls(parse(config.pop("schedule")), **config)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)!r}" for k in ("total_steps", "steps_per_epoch")
                        if getattr(self, k) is not None)
        return f"lrkit.keras.Schedule({str(self.spec)!r}, base={self.base!r}{extra})"


class PlateauCallback(keras.callbacks.Callback):
    """Apply an :class:`lrkit.Plateau` to the optimizer's lr at the end of each epoch.

    After each epoch ``logs[monitor]`` feeds the plateau with torch's
    ``ReduceLROnPlateau`` decisions to the last one: a reduction is skipped when
    it would lower the *lr* (not the scale) by ``eps`` or less, as in torch.
    Then the lr is ``base * schedule(t) * plateau.scale`` when the optimizer's
    lr is an :class:`lrkit.keras.Schedule` (its ``scale`` is set), or ``lr0 *
    plateau.scale`` for a float lr (``lr0`` is the lr when training first
    starts). Only the lr is scaled, as by Keras's own ``ReduceLROnPlateau``.
    ``logs["lr_scale"]`` records the scale. ``state_dict()`` /
    ``load_state_dict()`` keep the plateau's counters and ``lr0``, so a resumed
    run continues where it stopped.

    Under mixed precision (``keras.mixed_precision.set_global_policy("mixed_float16")``)
    ``compile()`` wraps the optimizer in a ``LossScaleOptimizer``; the callback
    reaches the wrapped (inner) optimizer and scales its lr.

    On the JAX backend a compiled train step reads the scale as a constant:
    when the scale changes the callback rebuilds the train function (a
    re-trace per reduction; a handful per run).

    >>> import keras, lrkit as lk, lrkit.keras
    >>> cb = lrkit.keras.PlateauCallback(lk.Plateau(factor=0.5, patience=2), monitor="val_loss")
    >>> cb.plateau.scale
    1.0
    """

    def __init__(self, plateau: Plateau | None = None, monitor: str = "val_loss", verbose: int = 0) -> None:
        super().__init__()
        if plateau is None:
            plateau = Plateau()
        if not isinstance(plateau, Plateau):
            raise fail("PlateauCallback", "plateau", "an lrkit.Plateau", plateau)
        if not isinstance(monitor, str) or not monitor:
            raise fail("PlateauCallback", "monitor", "the name of a logged metric, e.g. 'val_loss'", monitor)
        self.plateau, self.monitor, self.verbose = plateau, monitor, verbose
        self.lr0: float | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._apply()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        if self.monitor not in logs:
            warnings.warn(f"PlateauCallback: metric {self.monitor!r} is not in the logs of epoch {epoch + 1} "
                          f"(logged: {', '.join(sorted(logs)) or 'nothing'}); the lr scale stays "
                          f"{self.plateau.scale:g}", stacklevel=2)
            return
        before = self.plateau.scale
        self.plateau.update_groups(logs[self.monitor], [self._unscaled_lr()], [before])
        if self.plateau.scale != before:
            self._apply()
            if self.verbose:
                print(f"Epoch {epoch + 1}: PlateauCallback: lr scale {before:g} -> {self.plateau.scale:g}")
        logs["lr_scale"] = self.plateau.scale

    def state_dict(self) -> dict:
        """``{"plateau": plateau.state_dict(), "lr0": lr0}`` (Python numbers only)."""
        return {"plateau": self.plateau.state_dict(), "lr0": self.lr0}

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the scale is applied when training (re)starts."""
        if not isinstance(state, dict) or "plateau" not in state:
            raise fail("PlateauCallback.load_state_dict", "state", "a dict from PlateauCallback.state_dict()", state)
        lr0 = state.get("lr0")
        if lr0 is not None:
            lr0 = float(number("PlateauCallback.load_state_dict", "lr0", lr0, ge=0))
        self.plateau.load_state_dict(state["plateau"])
        self.lr0 = lr0

    def _optimizer(self):
        """The optimizer that holds the lr: a ``LossScaleOptimizer``'s inner one under mixed precision."""
        opt = self.model.optimizer
        while isinstance(opt, keras.optimizers.LossScaleOptimizer):
            opt = opt.inner_optimizer
        return opt

    def _unscaled_lr(self) -> float:
        """The lr of the next update at scale 1 (float64): what torch's eps rule is judged on."""
        opt = self._optimizer()
        lr = getattr(opt, "_learning_rate", None)  # Keras keeps the schedule object here
        if isinstance(lr, Schedule):
            return lr.base * lr.schedule(int(opt.iterations.numpy()))
        if self.lr0 is None:
            self._apply()  # sets lr0 (a float lr) or raises
        return float(self.lr0 or 0.0)

    def _apply(self) -> None:
        opt = self._optimizer()
        lr = getattr(opt, "_learning_rate", None)
        scale = self.plateau.scale
        if isinstance(lr, Schedule):
            if float(lr.scale.numpy()) != np.float32(scale):
                lr.scale.assign(scale)
                if keras.backend.backend() == "jax":  # the compiled step holds the old scale
                    self.model.make_train_function(force=True)
        elif isinstance(lr, keras.Variable):
            if self.lr0 is None:
                self.lr0 = float(lr.numpy())
            opt.learning_rate = self.lr0 * scale
        else:
            raise fail("PlateauCallback", "learning_rate", "a float or an lrkit.keras.Schedule to be scaled "
                       "(the optimizer's)", lr)


def _as_core(ctor: str, schedule: Any) -> _Core:
    if isinstance(schedule, str):
        schedule = parse(schedule)
    if not isinstance(schedule, _Core):
        raise fail(ctor, "schedule", "an lrkit schedule or its text form", schedule)
    return schedule


def _bind(ctor: str, schedule: _Core, total_steps: Any, steps_per_epoch: Any) -> tuple:
    """``(schedule bound to the run, total_steps, steps_per_epoch)`` checked; errors name ``ctor``."""
    if total_steps is not None:
        total_steps = number(ctor, "total_steps", total_steps, gt=0)
    if steps_per_epoch is not None:
        steps_per_epoch = number(ctor, "steps_per_epoch", steps_per_epoch, gt=0)
    return bound_schedule(ctor, schedule, total_steps, steps_per_epoch), total_steps, steps_per_epoch
