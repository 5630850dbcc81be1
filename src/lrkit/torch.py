"""PyTorch adapter: :class:`Scheduler` (an ``LRScheduler``), :data:`ops` (schedules on
tensors) and the range test ``find_lr`` (from :mod:`lrkit.finder.torch`).

The scheduler is detectron2's ``LRMultiplier`` idea: its state is the step
count and the base values; after every step each scheduled group value is
``base * schedule(t)`` (``schedule(t)`` with ``absolute=True``), computed
directly from the schedule's scalar call, and the values a plateau scales
(the lr, unless ``plateau_params`` names more) are multiplied by the group's
plateau scale. Nothing is chained, so nothing drifts and resuming needs only
``(t, bases, plateau state, scales)``. It runs torch's own ``LRScheduler.__init__``, so
every attribute torch and its callers (Lightning, the HF Trainer, accelerate)
read is torch's, and takes back the marks that ``__init__`` leaves on the
optimizer. Name resolution, the values to write, rank averaging and saved-state
checks are small functions beside it (:mod:`lrkit._torch_groups`).

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

import numbers
from typing import Any

from .checks import fail, flag, fmt, integer
from .errors import MissingDependencyError, SpecError
from .finder.torch import find_lr
from .plateau import Plateau, as_metric
from .schedules import Schedule

try:
    import torch
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise MissingDependencyError("torch", "torch") from exc

Tensor = torch.Tensor

from ._torch_groups import (  # noqa: E402  (they need torch, imported above)
    as_float,
    build_plans,
    checked_state,
    mean_over_ranks,
    plateau_names,
    read,
    show_texts,
    slots,
    texts,
    untouched,
)
from ._torch_ops import TorchOps, ops  # noqa: E402

__all__ = ["Scheduler", "TorchOps", "find_lr", "ops"]

_DERIVED = ("_slots", "_uniq", "_rows", "_eps")  # built from the plans and bases by _compile (_eps: lrkit 0.2)


# ----------------------------------------------------------------- Scheduler
class Scheduler(LRScheduler):
    """Drive optimizer hyperparameters from lrkit schedules (a real ``LRScheduler``).

    After construction and after every step, each scheduled value of group
    ``g`` is ``base_g * schedule(t)`` where ``t`` is the step count
    (``last_epoch``) and ``base_g`` the group's value when the scheduler was
    built (``absolute=True``: ``schedule(t)`` itself). With a plateau, the
    values it scales (the lr only, unless ``plateau_params`` names others)
    are multiplied by the group's plateau scale: ``base_g * schedule(t) * scale_g``.

    Args:
        optimizer: any ``torch.optim.Optimizer``.
        schedule: a ``Schedule``, its text form (``"warmup(500) >> cosine(9500)"``),
            a dict from param name to schedule (``{"lr": ..., "beta1": ...}``),
            or ``None`` when every group carries its own. A group may carry a
            schedule (or such a dict) under its key ``"schedule"``; it replaces
            the scheduler's for that group and param. Prefer the text form there:
            it keeps ``optimizer.state_dict()`` loadable with ``weights_only=True``.
        plateau: an ``lk.Plateau``; ``step(metric)`` feeds it. Its decisions are
            torch's ``ReduceLROnPlateau``'s to the last one: a group is reduced
            only if its lr falls by more than ``eps`` (torch's rule, per group), so
            each group keeps its own scale (``scales``). Under ``torch.distributed``
            the metric is first averaged over ranks (every rank must call
            ``step(metric)`` together).
        param: the group value ``schedule`` drives: ``"lr"``, ``"momentum"``,
            ``"beta1"`` / ``"beta2"`` (``betas[0]`` / ``betas[1]``), ``"weight_decay"``
            or any numeric group key.
        absolute: the schedule gives the value itself, not a multiplier of the base.
        auto_step: count real optimizer updates from an optimizer step hook;
            ``step()`` then never advances the count (it only takes a metric).
            Gradient accumulation and AMP steps skipped by ``GradScaler`` are
            counted right without user code.
        total_steps, steps_per_epoch: bind ``"10%"``, ``"rest"`` and ``"3ep"`` durations.
        plateau_params: the values the plateau scales, ``("lr",)`` by default as
            in ``ReduceLROnPlateau``; e.g. ``("lr", "weight_decay")``. A named value
            without a schedule is held at ``base * scale``. ``eps`` is judged on the
            lr (on the first name when ``"lr"`` is not among them).

    Building it runs ``LRScheduler.__init__`` (torch's attributes, its first ``step()``,
    which sets ``t = 0``) and changes nothing on the optimizer but the scheduled values:
    no ``initial_lr`` keys, no wrapper around ``optimizer.step``, no call-order warnings.

    Tensor values (tensor lr, tensor betas) are written in place with
    ``fill_``, never replaced, so a ``torch.compile``d ``optimizer.step`` does
    not recompile as they change. The scheduler pickles (``torch.save`` of the
    object), and an ``auto_step`` hook is registered again when it is loaded.

    >>> import torch, lrkit as lk
    >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.5, momentum=0.9)
    >>> sched = Scheduler(opt, {"lr": lk.linear(4), "momentum": lk.linear(4, 1.0, 0.5)})
    >>> opt.step(); sched.step()
    >>> opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"], sched.last_epoch
    (0.375, 0.7875, 1)
    """

    def __init__(self, optimizer: Optimizer, schedule: Any, *, plateau: Plateau | None = None,
                 param: str = "lr", absolute: bool = False, auto_step: bool = False,
                 total_steps: float | None = None, steps_per_epoch: float | None = None,
                 plateau_params: tuple[str, ...] = ("lr",)) -> None:
        if not isinstance(optimizer, Optimizer):
            raise fail("Scheduler", "optimizer", "a torch.optim.Optimizer", optimizer)
        if plateau is not None and not isinstance(plateau, Plateau):
            raise fail("Scheduler", "plateau", "an lk.Plateau or None", plateau)
        self.absolute = flag("Scheduler", "absolute", absolute)
        flag("Scheduler", "auto_step", auto_step)
        groups = optimizer.param_groups
        self.optimizer, self.plateau = optimizer, plateau
        top, self.plans = build_plans(schedule, param, groups, (total_steps, steps_per_epoch))  # checked there
        self.schedule = top.get(param) if isinstance(schedule, (Schedule, str)) else (top or None)
        self.plateau_params = plateau_names(plateau_params, groups)
        scaled = self.plateau_params if plateau is not None else ()
        self.bases = [{p: as_float(read(g, p)) for p in {**plan, **dict.fromkeys(scaled)}}
                      for g, plan in zip(groups, self.plans)]
        self.scales = None if plateau is None else [1.0] * len(groups)
        self._compile()
        self._hook = None
        with untouched(optimizer):  # torch's own __init__ sets what torch and its callers read, then calls
            super().__init__(optimizer)  # step() (ours: t = 0); its marks on the optimizer are taken back
        self.base_lrs = [b.get("lr", as_float(g["lr"])) for b, g in zip(self.bases, groups)]
        self._hook = self._register() if auto_step else None

    def _compile(self) -> None:
        """The values to write (see :class:`lrkit._torch_groups.Slot`), from the plans and bases;
        the schedules and the rows that every step reads are kept at hand as attributes too."""
        self._slots = slots(self.plans, self.bases, self.absolute,
                            self.plateau_params if self.plateau is not None else ())
        self._uniq, self._rows = self._slots.schedules, self._slots.rows

    # -------------------------------------------------------------- stepping
    def step(self, metric: Any = None, epoch: int | None = None) -> None:  # type: ignore[override]
        """One step: ``t += 1`` (unless ``auto_step``), after feeding ``metric`` to the plateau.

        ``step()`` with a plateau advances the schedule and leaves the scale
        alone; ``step(metric)`` without a plateau is an error. With
        ``auto_step=True`` the optimizer hook counts steps, and ``step()`` /
        ``step(metric)`` only re-apply the values / feed the metric.

        ``epoch`` is torch's (deprecated) ``step(epoch)``: ``t`` becomes
        ``epoch`` instead of ``t + 1`` (exact here: the values are a function
        of ``t``). A whole-number ``metric`` (``step(3)``) is an error: in torch
        it reads as that old ``step(epoch)``, and an epoch count fed to a plateau
        as a metric would silently decide nothing right. Pass ``step(epoch=3)``,
        ``step(float(metric))``, or use ``lrkit.timm.Scheduler`` in timm's loop.
        """
        if metric is not None:
            if isinstance(metric, numbers.Integral) and not isinstance(metric, bool):
                raise fail("Scheduler.step", "metric", f"a float such as a validation loss, not a whole number: "
                           f"torch reads step({metric}) as its old step(epoch); use step(epoch={metric}) for that, "
                           "lrkit.timm.Scheduler in timm's loop, or step(float(metric)) for an integer metric", metric)
            self._feed(metric, "Scheduler.step")
        if epoch is not None:
            self.last_epoch = integer("Scheduler.step", "epoch", epoch, ge=0)
        elif self._hook is None:
            self.last_epoch += 1
        self._step_count += 1  # torch's count of step() calls (accelerate reads and writes it)
        self._apply()

    def set_step(self, t: int) -> None:
        """Set the step count to ``t`` and write the values of step ``t`` (nothing else changes).

        For a loop that counts steps itself, e.g. timm's ``step_update(num_updates)``
        (:class:`lrkit.timm.Scheduler` calls this). ``step(epoch=t)`` is the same in torch's
        words; to resume a run use :meth:`load_state_dict`, which also restores the bases
        and the plateau.

        >>> import torch, lrkit as lk
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> sched = Scheduler(opt, lk.linear(10))
        >>> sched.set_step(5); sched.last_epoch, opt.param_groups[0]["lr"]
        (5, 0.05)
        """
        self.last_epoch = integer("Scheduler.set_step", "t", t, ge=0)
        self._apply()

    def observe(self, metric: Any) -> float:
        """Feed ``metric`` to the plateau (averaged over ranks) without advancing ``t``; return ``plateau.scale``.

        For a per-step schedule with a per-epoch metric when stepping by hand (and for
        :class:`lrkit.timm.Scheduler`, whose ``step(epoch, metric)`` feeds the plateau).
        """
        plateau = self._feed(metric, "Scheduler.observe")
        self._apply()
        return plateau.scale

    def _feed(self, metric: Any, where: str) -> Plateau:
        """Feed the plateau (torch's decisions on each group's current lr); return it."""
        plateau, scales = self.plateau, self.scales
        if plateau is None or scales is None:
            raise fail(where, "metric", "None when the scheduler has no plateau "
                       "(build it with plateau=lk.Plateau(...))", metric)
        t = float(self.last_epoch)
        uniq = self._slots.schedules
        values = [v.mult * uniq[v.schedule](t) if v.schedule >= 0 else v.mult for v in self._slots.judged]
        self.scales = plateau.update_groups(mean_over_ranks(as_metric(metric, where)), values, scales)
        return plateau

    def _register(self):  # compiler.disable: a compiled optimizer.step runs the hook eagerly, without guards on t
        return self.optimizer.register_step_post_hook(torch.compiler.disable(self._on_optimizer_step))

    def _on_optimizer_step(self, optimizer, args, kwargs) -> None:
        self.last_epoch += 1
        self._apply()

    def _apply(self) -> None:
        """Write the values of step ``last_epoch`` into the optimizer's groups."""
        groups = self.optimizer.param_groups
        if len(groups) != len(self.plans):
            raise SpecError(f"Scheduler.step(): the optimizer has {len(groups)} param groups but the scheduler "
                            f"was built for {len(self.plans)}; build a new Scheduler after add_param_group()")
        t = float(self.last_epoch)
        uniq = self._uniq
        vals = (uniq[0](t),) if len(uniq) == 1 else [s(t) for s in uniq]  # one schedule: no comprehension frame
        scales = self.scales or ()
        for gi, _, key, bi, k, mult, scaled in self._rows:  # a Slot: group, param, key, pair_index, schedule, ...
            v = mult * vals[k] if k >= 0 else mult
            if scaled:
                v = v * scales[gi]
            group = groups[gi]
            cur = group[key]
            if bi < 0:
                if type(cur) is float or not isinstance(cur, Tensor):  # the type test first: it is the fast one
                    group[key] = v
                else:
                    cur.fill_(v)
            elif isinstance(cur[bi], Tensor):
                cur[bi].fill_(v)
            else:
                group[key] = type(cur)(v if j == bi else x for j, x in enumerate(cur))

    # ----------------------------------------------------------- reading
    def group_values(self, t: int | None = None) -> list[dict[str, float]]:
        """Every written value of every group at step ``t`` (default: now), with the current plateau scales."""
        t = self.last_epoch if t is None else t
        out: list[dict[str, float]] = [{} for _ in self.plans]
        uniq, scales = self._slots.schedules, self.scales or ()
        for slot in self._slots.values:
            v = slot.mult * uniq[slot.schedule](t) if slot.schedule >= 0 else slot.mult
            out[slot.group][slot.param] = v * scales[slot.group] if slot.scaled else v
        return out

    def get_lr(self) -> list[float | Tensor]:
        """The lr of every group at the current step, as computed (python floats)."""
        return [v.get("lr", as_float(g["lr"])) for v, g in zip(self.group_values(), self.optimizer.param_groups)]

    def get_last_lr(self) -> list[float | Tensor]:
        """The current lr of every group, as torch returns it (a copy for a tensor lr)."""
        return [g["lr"].clone() if isinstance(g["lr"], Tensor) else g["lr"] for g in self.optimizer.param_groups]

    @property  # torch's get_last_lr() reads it: always the groups' current lr
    def _last_lr(self) -> list[float | Tensor]:  # type: ignore[override]
        return self.get_last_lr()

    @_last_lr.setter
    def _last_lr(self, value: Any) -> None:  # torch's own step() assigns it; the groups hold the truth
        pass

    def close(self) -> None:
        """Remove the optimizer step hook of ``auto_step=True`` (the scheduler then steps by hand)."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in _DERIVED}  # rebuilt on load
        state["_hook"] = self._hook is not None  # a hook handle does not pickle; it is registered again on load
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({k: v for k, v in state.items() if k not in _DERIVED})
        self.__dict__.setdefault("_step_count", self.last_epoch + 1)  # pickled before lrkit ran torch's __init__
        self._compile()
        self._hook = self._register() if state["_hook"] else None

    def __repr__(self) -> str:
        texts_ = sorted({f"{p}: {s}" for plan in self.plans for p, s in plan.items()})
        n = len(self.plans)
        parts = [f"optimizer={type(self.optimizer).__name__} ({n} group{'' if n == 1 else 's'})",
                 "schedule={" + ", ".join(texts_) + "}", f"step={self.last_epoch}"]
        if self.plateau is not None and self.scales is not None:
            scales = sorted(set(self.scales))
            shown = fmt(scales[0]) if len(scales) == 1 else fmt(list(self.scales))
            parts.append(f"plateau={self.plateau!r}, scale={shown}")
            if self.plateau_params != ("lr",):
                parts.append(f"plateau_params={self.plateau_params!r}")
        parts += [k for k, on in (("absolute=True", self.absolute), ("auto_step=True", self._hook)) if on]
        return f"Scheduler({', '.join(parts)})"

    # ------------------------------------------------------------- state
    def state_dict(self) -> dict:
        """The step, the bases, the schedules' text, the plateau state and each group's plateau scale.

        Only python numbers, strings, lists and dicts: ``torch.save`` /
        ``torch.load(weights_only=True)`` round-trip it.
        """
        return {
            "step": self.last_epoch,
            "bases": [dict(b) for b in self.bases],
            "schedules": texts(self.plans),
            "absolute": self.absolute,
            "plateau": None if self.plateau is None else self.plateau.state_dict(),
            "scales": None if self.scales is None else list(self.scales),
        }

    def load_state_dict(self, state_dict: dict, *, new_schedule: bool = False) -> None:
        """Resume from :meth:`state_dict`: the same values, bit for bit, from the saved step on.

        Every field is checked before anything is loaded; a malformed one is a
        ``SpecError`` naming it (``bases[0]['lr']``). A state saved with other
        schedules is an error naming both, unless ``new_schedule=True``: then
        this scheduler's schedules continue from the saved step, with the saved
        bases and plateau state (extend a run, branch a cooldown).
        """
        state = checked_state(state_dict, len(self.plans))
        if not new_schedule:
            self._check_same_plan(state)
        if self.plateau is not None and state["plateau"] is not None:
            self.plateau.load_state_dict(state["plateau"])
            self.scales = [float(s) for s in state["scales"]]
        for base, saved in zip(self.bases, state["bases"]):
            for p in base:
                if p in saved:
                    base[p] = float(saved[p])
        self.base_lrs = [b.get("lr", lr) for b, lr in zip(self.bases, self.base_lrs)]
        self.last_epoch = int(state["step"])
        self._compile()
        self._apply()

    def _check_same_plan(self, state: dict) -> None:
        hint = f"; to continue with this scheduler's schedule from the saved step {state['step']}, " \
               "call load_state_dict(state, new_schedule=True)"
        for gi, (old, new) in enumerate(zip(state["schedules"], texts(self.plans))):
            if old != new:
                raise SpecError(f"Scheduler.load_state_dict(): the state was saved with schedule {show_texts(old)} "
                                f"for param_groups[{gi}], but this scheduler runs {show_texts(new)}{hint}")
        if state["absolute"] != self.absolute:
            raise SpecError(f"Scheduler.load_state_dict(): the state was saved with absolute={state['absolute']}, "
                            f"but this scheduler has absolute={self.absolute}{hint}")
        if state["plateau"] is not None and self.plateau is None:
            raise SpecError("Scheduler.load_state_dict(): the state holds a plateau (scale "
                            f"{fmt(float(state['plateau']['scale']))}) but this scheduler has none; "
                            f"build it with plateau=lk.Plateau(...){hint}")
