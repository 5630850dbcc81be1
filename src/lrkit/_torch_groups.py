"""Helpers of :class:`lrkit.torch.Scheduler`: param names, plans, the values it writes,
what torch's ``__init__`` leaves on the optimizer, rank-averaged metrics, saved states.

Each is a small function beside the scheduler (detectron2's ``LRMultiplier``
keeps only the step and the bases; everything else lives here).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import torch

from .checks import fail, flag, integer, number, suggest
from .plateau import checked_state as checked_plateau_state
from .schedules import Schedule
from .spec import bound_schedule

PAIRS: dict[str, tuple[str, int]] = {"beta1": ("betas", 0), "beta2": ("betas", 1)}
STATE_KEYS = ("step", "bases", "schedules", "absolute", "plateau", "scales")
LOAD = "Scheduler.load_state_dict"


# ------------------------------------------------------------- group values
def numeric(v: Any) -> bool:
    """A number a schedule can drive: a real (not bool) or a one-element float tensor."""
    if isinstance(v, torch.Tensor):
        return v.numel() == 1 and v.is_floating_point()
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def read(group: dict, param: str) -> Any:
    """The group's value of ``param`` (``"beta1"`` is ``betas[0]``), or None."""
    if param in PAIRS:
        key, i = PAIRS[param]
        pair = group.get(key)
        return pair[i] if isinstance(pair, (tuple, list)) and len(pair) > i else None
    return group.get(param)


def as_float(v: Any) -> float:
    return float(v.item()) if isinstance(v, torch.Tensor) else float(v)


def check_param(groups: list, gi: int, param: Any, label: str = "param") -> str:
    """``param`` if it names a numeric value of ``groups[gi]``, else an error with a did-you-mean."""
    if not isinstance(param, str):
        raise fail("Scheduler", label, "a param name such as 'lr'", param)
    if numeric(read(groups[gi], param)):
        return param
    have = [k for k in groups[gi] if k != "params" and numeric(groups[gi][k])]
    if isinstance(groups[gi].get("betas"), (tuple, list)):
        have += ["beta1", "beta2"]
    rule = f"a numeric value of param_groups[{gi}]: one of {', '.join(map(repr, have))}{suggest(param, have)}"
    raise fail("Scheduler", label, rule, param)


def plateau_names(names: Any, groups: list) -> tuple[str, ...]:
    """``plateau_params`` checked: param names (a str is one name) of every group, no repeats."""
    names = (names,) if isinstance(names, str) else names
    if not isinstance(names, (tuple, list)) or not names or len(set(map(str, names))) != len(names):
        raise fail("Scheduler", "plateau_params", "a non-empty tuple of distinct param names such as ('lr',)", names)
    for gi in range(len(groups)):
        for p in names:
            check_param(groups, gi, p, "plateau_params")
    return tuple(names)


# ----------------------------------------------------------------- the plan
def _mapping(v: Any, param: str, where: str, bind: tuple) -> dict[str, Schedule]:
    total_steps, steps_per_epoch = bind
    if isinstance(v, dict):
        if not v:
            raise fail("Scheduler", where, "a dict naming at least one param", v)
        return {k: bound_schedule("Scheduler", s, total_steps, steps_per_epoch, where=f"{where}[{k!r}]")
                for k, s in v.items()}
    return {param: bound_schedule("Scheduler", v, total_steps, steps_per_epoch, where=where)}


def build_plans(schedule: Any, param: Any, groups: list, bind: tuple) -> tuple[dict, list[dict[str, Schedule]]]:
    """(the scheduler's own {param: schedule}, each group's effective {param: schedule}).

    ``bind`` is ``(total_steps, steps_per_epoch)``, checked by ``bound_schedule`` with every schedule.
    """
    if isinstance(schedule, dict) and param != "lr":
        raise fail("Scheduler", "param", "left at 'lr' when schedule is a dict (the dict names the params)", param)
    top = {} if schedule is None else _mapping(schedule, param, "schedule", bind)
    plans = []
    for gi, group in enumerate(groups):
        plan = dict(top)
        if group.get("schedule") is not None:
            plan.update(_mapping(group["schedule"], param, f"param_groups[{gi}]['schedule']", bind))
        if not plan:
            raise fail("Scheduler", "schedule", f"a schedule, or None when every group carries one under "
                       f"the key 'schedule' (param_groups[{gi}] carries none)", schedule)
        for p in plan:
            check_param(groups, gi, p)
        plans.append(plan)
    return top, plans


# ----------------------------------------------------------- written values
class Slot(NamedTuple):
    """One value the scheduler writes at every step: ``param_groups[group][key]`` (its
    ``[pair_index]`` for a pair such as ``betas``; ``pair_index`` -1 otherwise) becomes
    ``mult * schedules[schedule](t)``, or ``mult`` alone when ``schedule`` is -1 (a value
    only the plateau scales), times the group's plateau scale when ``scaled``."""

    group: int
    param: str  # the name the user gave: "lr", "beta1"
    key: str  # the group's key: "lr", "betas"
    pair_index: int
    schedule: int
    mult: float
    scaled: bool


class Slots(NamedTuple):
    """What :func:`slots` returns: the distinct schedules, every written value, per group the
    value torch's ``eps`` rule judges (its lr, or the first plateau param without one), and the
    values again as plain tuples (an exact tuple unpacks fastest in the loop of every step)."""

    schedules: list
    values: list[Slot]
    judged: list[Slot]
    rows: list[tuple]


def slots(plans: list[dict], bases: list[dict], absolute: bool, scaled: tuple[str, ...]) -> Slots:
    """Every value to write, for each group's ``{param: schedule}`` plan and ``{param: base}``.

    ``scaled``: the params a plateau scales (empty without a plateau). The multiplier is the
    base, or 1 for a scheduled value with ``absolute=True``.
    """
    uniq = list(dict.fromkeys(s for plan in plans for s in plan.values()))
    index = {s: k for k, s in enumerate(uniq)}
    judge = "lr" if "lr" in scaled else (scaled[0] if scaled else None)
    values, judged = [], []
    for gi, (plan, group_bases) in enumerate(zip(plans, bases)):
        for p, base in group_bases.items():
            k = index[plan[p]] if p in plan else -1
            key, pair_index = PAIRS.get(p, (p, -1))
            slot = Slot(gi, p, key, pair_index, k, 1.0 if absolute and k >= 0 else base, p in scaled)
            values.append(slot)
            if p == judge:
                judged.append(slot)
    return Slots(uniq, values, judged, [tuple(v) for v in values])


# ------------------------------------------------------ torch's __init__
_MISSING = object()


@contextmanager
def untouched(optimizer: torch.optim.Optimizer) -> Iterator[None]:
    """Leave ``optimizer`` as it was but for the values of its groups' keys.

    ``LRScheduler.__init__`` marks the optimizer it is given: an ``initial_lr`` key in
    every group, a wrapper around ``optimizer.step`` for its call-order warnings (and, in
    older torch, an ``optimizer._step_count``). lrkit's scheduler runs that ``__init__`` but
    promises that building it changes nothing except the scheduled values, so whatever a
    torch version adds (a group key, an attribute) is removed, whatever it replaced restored.
    """
    attrs = dict(vars(optimizer))
    keys = [set(group) for group in optimizer.param_groups]
    try:
        yield
    finally:
        for group, had in zip(optimizer.param_groups, keys):
            for k in set(group) - had:
                del group[k]
        now = vars(optimizer)
        for k in set(now) - set(attrs):
            del now[k]
        for k, v in attrs.items():
            if now.get(k, _MISSING) is not v:
                now[k] = v


def texts(plans: list[dict[str, Schedule]]) -> list[dict[str, str]]:
    return [{p: str(s) for p, s in plan.items()} for plan in plans]


def show_texts(texts: dict[str, str]) -> str:
    if list(texts) == ["lr"]:
        return repr(texts["lr"])
    return "{" + ", ".join(f"{p}: {t!r}" for p, t in texts.items()) + "}"


# ------------------------------------------------------------------- ranks
def mean_over_ranks(metric: float) -> float:
    """The mean of ``metric`` over ranks when torch.distributed is initialised (else ``metric``)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return metric
    device = torch.device("cpu")
    if dist.get_backend() == "nccl":  # pragma: no cover - needs GPUs
        device = torch.device("cuda", torch.cuda.current_device())
    x = torch.tensor([metric], dtype=torch.float64, device=device)
    dist.all_reduce(x)
    return x.item() / dist.get_world_size()


# ------------------------------------------------------------ saved states
def _per_group(state: dict, key: str, groups: int, what: str) -> list:
    v = state[key]
    if not isinstance(v, list):
        raise fail(LOAD, key, f"a list of {what}, one per param group", v)
    if len(v) != groups:
        raise fail(LOAD, key, f"one entry per param group: the state was saved for {len(v)} param groups "
                   f"but the optimizer has {groups}", v)
    return v


def checked_state(state: Any, groups: int) -> dict:
    """``state`` checked field by field as a ``Scheduler.state_dict()`` for ``groups`` param groups.

    Every error names the field (``bases[0]['lr']``) and its value; nothing is loaded before all pass.
    """
    keys = ", ".join(STATE_KEYS)
    if not isinstance(state, dict) or any(k not in state for k in STATE_KEYS):
        missing = [k for k in STATE_KEYS if k not in state] if isinstance(state, dict) else []
        rule = f"a dict from Scheduler.state_dict() with the keys {keys}"
        raise fail(LOAD, "state_dict", rule + (f" (missing: {', '.join(missing)})" if missing else ""), state)
    integer(LOAD, "step", state["step"], ge=0)
    for gi, bases in enumerate(_per_group(state, "bases", groups, "dicts from param name to base value")):
        if not isinstance(bases, dict):
            raise fail(LOAD, f"bases[{gi}]", "a dict from param name to base value", bases)
        for p, v in bases.items():
            number(LOAD, f"bases[{gi}][{p!r}]", v)
    for gi, plan in enumerate(_per_group(state, "schedules", groups, "dicts from param name to schedule text")):
        if not isinstance(plan, dict) or not all(isinstance(p, str) and isinstance(s, str) for p, s in plan.items()):
            raise fail(LOAD, f"schedules[{gi}]", "a dict from param name to schedule text", plan)
    flag(LOAD, "absolute", state["absolute"])
    if state["plateau"] is None:
        if state["scales"] is not None:
            raise fail(LOAD, "scales", "None when the state holds no plateau", state["scales"])
        return state
    checked_plateau_state(state["plateau"], LOAD, "plateau")
    for gi, s in enumerate(_per_group(state, "scales", groups, "plateau scales")):
        number(LOAD, f"scales[{gi}]", s, ge=0, le=1)
    return state
