"""PyTorch adapter: :class:`Scheduler` (an ``LRScheduler``), :data:`ops` (schedules on
tensors) and the range test ``find_lr`` (from :mod:`lrkit.finder.torch`).

The scheduler is detectron2's ``LRMultiplier`` idea: its state is the step
count and the base values; after every step each scheduled group value is
``base * schedule(t) * plateau.scale`` (or ``schedule(t) * plateau.scale``
with ``absolute=True``). Nothing is chained, so nothing drifts and resuming
needs only ``(t, bases, plateau state)``.

>>> import torch, lrkit as lk
>>> from lrkit.torch import Scheduler
>>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
>>> sched = Scheduler(opt, lk.warmup(2) >> lk.cosine(2))
>>> lrs = [opt.param_groups[0]["lr"]]
>>> for _ in range(4):
...     opt.step()
...     sched.step()
...     lrs.append(opt.param_groups[0]["lr"])
>>> lrs
[0.0, 0.05, 0.1, 0.05, 0.0]
"""

from __future__ import annotations

import difflib
import math
import numbers
from typing import Any

import numpy as np

from .errors import MissingDependencyError, SpecError
from .finder.torch import find_lr
from .plateau import Plateau, _metric
from .checks import fmt
from .schedules import Schedule
from .spec import bound_schedule
from .schedules.ops import Ops, constant_power

try:
    import torch
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise MissingDependencyError("torch", "torch") from exc

Tensor = torch.Tensor

__all__ = ["Scheduler", "TorchOps", "find_lr", "ops"]

_CHUNK = 512  # steps evaluated per numpy call; chunks start at multiples of _CHUNK
_PAIRS = {"beta1": ("betas", 0), "beta2": ("betas", 1)}


# ------------------------------------------------------------------ TorchOps
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

    pi = math.pi

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


# ------------------------------------------------------------- group params
def _numeric(v: Any) -> bool:
    if isinstance(v, Tensor):
        return v.numel() == 1 and v.is_floating_point()
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _read(group: dict, param: str):
    if param in _PAIRS:
        key, i = _PAIRS[param]
        pair = group.get(key)
        return pair[i] if isinstance(pair, (tuple, list)) and len(pair) > i else None
    return group.get(param)


def _check_param(groups: list, gi: int, param: Any) -> None:
    if not isinstance(param, str):
        raise SpecError(f"Scheduler(): param must be a param name such as 'lr'; got param={param!r}")
    if _numeric(_read(groups[gi], param)):
        return
    have = [k for k in groups[gi] if k != "params" and _numeric(groups[gi][k])]
    if isinstance(groups[gi].get("betas"), (tuple, list)):
        have += ["beta1", "beta2"]
    close = difflib.get_close_matches(param, have, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close and close[0] != param else ""
    raise SpecError(f"Scheduler(): param must be a numeric value of every param group "
                    f"(param_groups[{gi}] has {', '.join(repr(k) for k in have)}); got param={param!r}{hint}")


def _as_float(v) -> float:
    return float(v.item()) if isinstance(v, Tensor) else float(v)


# ---------------------------------------------------------------- the plan
def _schedule(v: Any, where: str, total_steps, steps_per_epoch) -> Schedule:
    return bound_schedule("Scheduler", v, total_steps, steps_per_epoch, where=where)


def _mapping(v: Any, param: str, where: str, bind: tuple) -> dict[str, Schedule]:
    if isinstance(v, dict):
        if not v:
            raise SpecError(f"Scheduler(): {where} must name at least one param; got {where}={{}}")
        return {k: _schedule(s, f"{where}[{k!r}]", *bind) for k, s in v.items()}
    return {param: _schedule(v, where, *bind)}


def _build_plan(schedule, param, groups, bind) -> tuple[dict[str, Schedule], list[dict[str, Schedule]]]:
    """(the scheduler's own {param: schedule}, each group's effective {param: schedule})."""
    if isinstance(schedule, dict) and param != "lr":
        raise SpecError(f"Scheduler(): param must be left at 'lr' when schedule is a dict "
                        f"(the dict names the params); got param={param!r}")
    top = {} if schedule is None else _mapping(schedule, param, "schedule", bind)
    plans = []
    for gi, group in enumerate(groups):
        plan = dict(top)
        if group.get("schedule") is not None:
            plan.update(_mapping(group["schedule"], param, f"param_groups[{gi}]['schedule']", bind))
        if not plan:
            raise SpecError(f"Scheduler(): schedule is None and param_groups[{gi}] carries no 'schedule'; "
                            "give a schedule, or one under the key 'schedule' of every group")
        for p in plan:
            _check_param(groups, gi, p)
        plans.append(plan)
    return top, plans


def _reduce_metric(metric: float) -> float:
    """The mean of ``metric`` over ranks when torch.distributed is initialised."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return metric
    device = torch.device("cpu")
    if dist.get_backend() == "nccl":  # pragma: no cover - needs GPUs
        device = torch.device("cuda", torch.cuda.current_device())
    x = torch.tensor([metric], dtype=torch.float64, device=device)
    dist.all_reduce(x)
    return x.item() / dist.get_world_size()


# ----------------------------------------------------------------- Scheduler
class Scheduler(LRScheduler):
    """Drive optimizer hyperparameters from lrkit schedules (a real ``LRScheduler``).

    After construction and after every step, each scheduled value of group
    ``g`` is ``base_g * schedule(t) * plateau.scale`` where ``t`` is the step
    count (``last_epoch``), ``base_g`` the group's value when the scheduler
    was built, and ``scale`` 1.0 without a plateau. With ``absolute=True`` the
    value is ``schedule(t) * plateau.scale`` (the schedule holds the real lr).

    Args:
        optimizer: any ``torch.optim.Optimizer``.
        schedule: a ``Schedule``, its text form (``"warmup(500) >> cosine(9500)"``),
            a dict from param name to schedule (``{"lr": ..., "beta1": ...}``),
            or ``None`` when every group carries its own. A group may carry a
            schedule (or such a dict) under its key ``"schedule"``; it replaces
            the scheduler's for that group and param. Prefer the text form there:
            it keeps ``optimizer.state_dict()`` loadable with ``weights_only=True``.
        plateau: an ``lk.Plateau``; ``step(metric)`` feeds it. Under
            ``torch.distributed`` the metric is first averaged over ranks
            (every rank must call ``step(metric)`` together).
        param: the group value ``schedule`` drives: ``"lr"``, ``"momentum"``,
            ``"beta1"`` / ``"beta2"`` (``betas[0]`` / ``betas[1]``), ``"weight_decay"``
            or any numeric group key.
        absolute: the schedule gives the value itself, not a multiplier of the base.
        auto_step: count real optimizer updates from an optimizer step hook;
            ``step()`` then never advances the count (it only takes a metric).
            Gradient accumulation and AMP steps skipped by ``GradScaler`` are
            counted right without user code.
        total_steps, steps_per_epoch: bind ``"10%"``, ``"rest"`` and ``"3ep"`` durations.

    Tensor values (tensor lr, tensor betas) are written in place with
    ``fill_``, never replaced, so a ``torch.compile``d ``optimizer.step`` does
    not recompile as they change.

    >>> import torch, lrkit as lk
    >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.5, momentum=0.9)
    >>> sched = Scheduler(opt, {"lr": lk.linear(4), "momentum": lk.linear(4, 1.0, 0.5)})
    >>> opt.step(); sched.step()
    >>> opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"], sched.last_epoch
    (0.375, 0.7875, 1)
    """

    def __init__(self, optimizer: Optimizer, schedule: Any, *, plateau: Plateau | None = None,
                 param: str = "lr", absolute: bool = False, auto_step: bool = False,
                 total_steps: float | None = None, steps_per_epoch: float | None = None) -> None:
        if not isinstance(optimizer, Optimizer):
            raise SpecError(f"Scheduler(): optimizer must be a torch.optim.Optimizer; got optimizer={optimizer!r}")
        if plateau is not None and not isinstance(plateau, Plateau):
            raise SpecError(f"Scheduler(): plateau must be an lk.Plateau or None; got plateau={plateau!r}")
        for name, flag in (("absolute", absolute), ("auto_step", auto_step)):
            if not isinstance(flag, bool):
                raise SpecError(f"Scheduler(): {name} must be True or False; got {name}={flag!r}")
        bind = tuple(_positive(n, v) for n, v in (("total_steps", total_steps), ("steps_per_epoch", steps_per_epoch)))
        self.optimizer = optimizer
        self.plateau = plateau
        self.absolute = absolute
        top, self.plans = _build_plan(schedule, param, optimizer.param_groups, bind)
        self.schedule = top.get(param) if isinstance(schedule, (Schedule, str)) else (top or None)
        self.bases = [{p: _as_float(_read(g, p)) for p in plan} for g, plan in zip(optimizer.param_groups, self.plans)]
        self.base_lrs = [b.get("lr", _as_float(g["lr"])) for b, g in zip(self.bases, optimizer.param_groups)]
        self.last_epoch = 0
        self._slots = [(gi, *_PAIRS.get(p, (p, -1)), p) for gi, plan in enumerate(self.plans) for p in plan]
        self._lo = -_CHUNK
        self._cols: list[list[float]] = []
        self._hook = None
        if auto_step:  # compiler.disable: a compiled optimizer.step runs the hook eagerly, without guards on t
            self._hook = optimizer.register_step_post_hook(torch.compiler.disable(self._on_optimizer_step))
        self._apply()

    # -------------------------------------------------------------- stepping
    def step(self, metric: Any = None) -> None:  # type: ignore[override]
        """One step: ``t += 1`` (unless ``auto_step``), after feeding ``metric`` to the plateau.

        ``step()`` with a plateau advances the schedule and leaves the scale
        alone; ``step(metric)`` without a plateau is an error. With
        ``auto_step=True`` the optimizer hook counts steps, and ``step()`` /
        ``step(metric)`` only re-apply the values / feed the metric.
        """
        if metric is not None:
            self._feed(metric)
        if self._hook is None:
            self.last_epoch += 1
        self._apply()

    def observe(self, metric: Any) -> float:
        """Feed ``metric`` to the plateau (averaged over ranks) without advancing ``t``; return the scale.

        For a per-step schedule with a per-epoch metric when stepping by hand.
        """
        scale = self._feed(metric)
        self._apply()
        return scale

    def _feed(self, metric: Any) -> float:
        if self.plateau is None:
            raise SpecError(f"Scheduler.step(): a metric was given but the scheduler has no plateau; "
                            f"got metric={metric!r}; build it with plateau=lk.Plateau(...)")
        return self.plateau.update(_reduce_metric(_metric(metric)))

    def _on_optimizer_step(self, optimizer, args, kwargs) -> None:
        self.last_epoch += 1
        self._apply()

    def _apply(self) -> None:
        """Write the values of step ``last_epoch`` into the optimizer's groups."""
        i = self.last_epoch - self._lo
        if not 0 <= i < _CHUNK:
            self._refill()
            i = self.last_epoch - self._lo
        groups = self.optimizer.param_groups
        if len(groups) != len(self.plans):
            raise SpecError(f"Scheduler.step(): the optimizer has {len(groups)} param groups but the scheduler "
                            f"was built for {len(self.plans)}; build a new Scheduler after add_param_group()")
        scale = None if self.plateau is None else self.plateau.scale
        for (gi, key, bi, _), col in zip(self._slots, self._cols):
            v = col[i] if scale is None else col[i] * scale
            group = groups[gi]
            cur = group[key]
            if bi >= 0:
                pair, cur = cur, cur[bi]
                if not isinstance(cur, Tensor):
                    group[key] = type(pair)(v if j == bi else x for j, x in enumerate(pair))
                    continue
            if isinstance(cur, Tensor):
                cur.fill_(v)
            else:
                group[key] = v

    def _refill(self) -> None:
        """Evaluate ``base * schedule`` for the ``_CHUNK`` steps of the block holding ``last_epoch``
        (blocks start at multiples of ``_CHUNK``, so a resumed run computes the same arrays)."""
        t = self.last_epoch
        if not isinstance(t, int) or isinstance(t, bool) or t < 0:
            raise SpecError(f"Scheduler: last_epoch must be a whole number >= 0; got last_epoch={t!r}")
        self._lo = t - t % _CHUNK
        ts = np.arange(self._lo, self._lo + _CHUNK, dtype=np.float64)
        rows: dict[Schedule, np.ndarray] = {}
        cols = []
        for gi, _, _, p in self._slots:
            s = self.plans[gi][p]
            if s not in rows:
                rows[s] = s.values(ts)
            cols.append((rows[s] if self.absolute else self.bases[gi][p] * rows[s]).tolist())
        self._cols = cols

    # ----------------------------------------------------------- reading
    def group_values(self, t: int | None = None) -> list[dict[str, float]]:
        """The value of every scheduled param of every group at step ``t`` (default: now)."""
        t = self.last_epoch if t is None else t
        scale = 1.0 if self.plateau is None else self.plateau.scale
        return [{p: (1.0 if self.absolute else base[p]) * s(t) * scale for p, s in plan.items()}
                for plan, base in zip(self.plans, self.bases)]

    def get_lr(self) -> list[float]:
        """The lr of every group at the current step, as computed (python floats)."""
        return [v.get("lr", _as_float(g["lr"])) for v, g in zip(self.group_values(), self.optimizer.param_groups)]

    def get_last_lr(self) -> list[float | Tensor]:
        """The current lr of every group, as torch returns it (a copy for a tensor lr)."""
        return [g["lr"].clone() if isinstance(g["lr"], Tensor) else g["lr"] for g in self.optimizer.param_groups]

    @property
    def _last_lr(self) -> list[float | Tensor]:  # read by some torch / Lightning code paths
        return self.get_last_lr()

    def close(self) -> None:
        """Remove the optimizer step hook of ``auto_step=True`` (the scheduler then steps by hand)."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def __repr__(self) -> str:
        texts = sorted({f"{p}: {s}" for plan in self.plans for p, s in plan.items()})
        n = len(self.plans)
        parts = [f"optimizer={type(self.optimizer).__name__} ({n} group{'' if n == 1 else 's'})",
                 "schedule={" + ", ".join(texts) + "}", f"step={self.last_epoch}"]
        if self.plateau is not None:
            parts.append(f"plateau={self.plateau!r}, scale={fmt(self.plateau.scale)}")
        parts += [k for k, on in (("absolute=True", self.absolute), ("auto_step=True", self._hook)) if on]
        return f"Scheduler({', '.join(parts)})"

    # ------------------------------------------------------------- state
    def state_dict(self) -> dict:
        """The step, the bases, the schedules' text and the plateau state.

        Only python numbers, strings, lists and dicts: ``torch.save`` /
        ``torch.load(weights_only=True)`` round-trip it.
        """
        return {
            "step": self.last_epoch,
            "bases": [dict(b) for b in self.bases],
            "schedules": _texts(self.plans),
            "absolute": self.absolute,
            "plateau": None if self.plateau is None else self.plateau.state_dict(),
        }

    def load_state_dict(self, state_dict: dict, *, new_schedule: bool = False) -> None:
        """Resume from :meth:`state_dict`: the same values, bit for bit, from the saved step on.

        A state saved with other schedules is an error naming both, unless
        ``new_schedule=True``: then this scheduler's schedules continue from
        the saved step, with the saved bases and plateau state (extend a run,
        branch a cooldown).
        """
        state = _checked_state(state_dict, len(self.plans))
        if not new_schedule:
            self._check_same_plan(state)
        if self.plateau is not None and state["plateau"] is not None:
            self.plateau.load_state_dict(state["plateau"])
        for base, saved in zip(self.bases, state["bases"]):
            for p in base:
                if p in saved:
                    base[p] = float(saved[p])
        self.base_lrs = [b.get("lr", lr) for b, lr in zip(self.bases, self.base_lrs)]
        self.last_epoch = int(state["step"])
        self._lo = -_CHUNK
        self._apply()

    def _check_same_plan(self, state: dict) -> None:
        hint = f"; to continue with this scheduler's schedule from the saved step {state['step']}, " \
               "call load_state_dict(state, new_schedule=True)"
        mine = _texts(self.plans)
        for gi, (old, new) in enumerate(zip(state["schedules"], mine)):
            if old != new:
                raise SpecError(f"Scheduler.load_state_dict(): the state was saved with schedule {_show(old)} "
                                f"for param_groups[{gi}], but this scheduler runs {_show(new)}{hint}")
        if bool(state["absolute"]) != self.absolute:
            raise SpecError(f"Scheduler.load_state_dict(): the state was saved with absolute={state['absolute']}, "
                            f"but this scheduler has absolute={self.absolute}{hint}")
        if state["plateau"] is not None and self.plateau is None:
            raise SpecError("Scheduler.load_state_dict(): the state holds a plateau (scale "
                            f"{fmt(float(state['plateau']['scale']))}) but this scheduler has none; "
                            f"build it with plateau=lk.Plateau(...){hint}")


def _texts(plans: list[dict[str, Schedule]]) -> list[dict[str, str]]:
    return [{p: str(s) for p, s in plan.items()} for plan in plans]


def _show(texts: dict[str, str]) -> str:
    if list(texts) == ["lr"]:
        return repr(texts["lr"])
    return "{" + ", ".join(f"{p}: {t!r}" for p, t in texts.items()) + "}"


_STATE_KEYS = ("step", "bases", "schedules", "absolute", "plateau")


def _checked_state(state: Any, groups: int) -> dict:
    where = "Scheduler.load_state_dict()"
    if not isinstance(state, dict) or any(k not in state for k in _STATE_KEYS):
        keys = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise SpecError(f"{where}: state_dict must be a dict from Scheduler.state_dict() with keys "
                        f"{', '.join(_STATE_KEYS)}; got {keys}")
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise SpecError(f"{where}: step must be a whole number >= 0; got step={step!r}")
    for key in ("bases", "schedules"):
        if not isinstance(state[key], list) or len(state[key]) != groups:
            n = len(state[key]) if isinstance(state[key], list) else state[key]
            raise SpecError(f"{where}: the state was saved for {n} param groups but the optimizer has {groups}")
    return state


def _positive(name: str, v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= 0:
        raise SpecError(f"Scheduler(): {name} must be a number > 0; got {name}={v!r}")
    return v
