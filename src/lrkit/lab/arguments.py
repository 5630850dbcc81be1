"""The arguments of :func:`lrkit.lab.compare`, checked at the boundary: each bad value is an error that names it.

Nothing here trains: :func:`lrkit.lab.compare` calls these first, so a bad job stops before its first run.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..checks import fail, integer, one_of
from ..errors import SpecError
from .config import DEFAULT_PLATEAU, DEFAULT_SCHEDULES
from .engines import LocalEngine, WorkerEngine
from .policy import Policy
from .protocol import Candidate, candidate

__all__ = ["MAX_RUNS", "MAX_SEEDS", "budget_of", "candidates", "check_bind", "check_budget", "final_seeds",
           "make_engine", "placement", "resolve_train", "seed_settings", "setting_of", "training_settings"]

ENGINES = ("local", "ray")
MAX_SEEDS = 1000     # final seeds: a paired verdict needs tens
MAX_RUNS = 100_000   # the full design's runs, without a budget


def final_seeds(seeds: Any, offset: Any) -> list[int]:
    """The final seeds: ``offset .. offset + seeds - 1``, or the list given (distinct, at most :data:`MAX_SEEDS`)."""
    offset = integer("compare", "seed_offset", offset, ge=0)
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        n = integer("compare", "seeds", seeds, ge=1)
        if n > MAX_SEEDS:
            raise fail("compare", "seeds", f"at most {MAX_SEEDS} (a paired verdict needs tens, not millions)", seeds)
        return list(range(offset, offset + n))
    if isinstance(seeds, (list, tuple)) and seeds:
        if len(seeds) > MAX_SEEDS:
            raise fail("compare", "seeds", f"at most {MAX_SEEDS} seeds", f"a list of {len(seeds)}")
        out = [integer("compare", "seeds", s, ge=0) for s in seeds]
        if len(set(out)) != len(out):
            raise fail("compare", "seeds", "distinct seeds", list(seeds))
        return out
    raise fail("compare", "seeds", "a whole number >= 1 or a list of seeds", seeds)


def resources_(resources: Any) -> dict | None:
    """``{"cpu": 1, "gpu": 1}`` from a dict or the text ``"cpu=1,gpu=1"``."""
    if resources is None:
        return None
    if isinstance(resources, str):
        pairs = {}
        for part in filter(None, (p.strip() for p in resources.split(","))):
            name, eq, value = part.partition("=")
            try:
                pairs[name.strip()] = float(value)
            except ValueError:
                raise fail("compare", "resources", "NAME=NUMBER pairs like cpu=1,gpu=1", resources) from None
            if not eq:
                raise fail("compare", "resources", "NAME=NUMBER pairs like cpu=1,gpu=1", resources)
        resources = pairs
    if not isinstance(resources, Mapping) or not resources:
        raise fail("compare", "resources", "NAME=NUMBER pairs like cpu=1,gpu=1", resources)
    out = {}
    for k, v in resources.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
            raise fail("compare", "resources", "NAME=NUMBER pairs with numbers >= 0", dict(resources))
        out[str(k).lower()] = int(float(v)) if float(v).is_integer() else float(v)
    return out


def pycode_data(train: Any, config: Any) -> bool:
    """The built-in language model (``data: pycode``) rather than the built-in classifiers."""
    return train is None and isinstance(config, Mapping) and config.get("data") == "pycode"


def resolve_train(train: Any, config: Any = None) -> tuple[Callable, tuple[str, Any], str | None]:
    """The function, what workers receive, and its text for config.json."""
    from .loader import check_train, load_train

    if train is None:
        if pycode_data(train, config):
            from . import pycode

            return pycode.train, ("spec", "lrkit.lab.pycode:train"), None
        from . import builtin

        return builtin.train, ("spec", "lrkit.lab.builtin:train"), None
    if isinstance(train, str):
        return load_train(train), ("spec", train), train
    fn = check_train(train)
    module, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)   # none on a partial
    text = f"{module}:{name}" if module and module != "__main__" and name and "<" not in name else None
    return fn, ("fn", fn), text


def candidates(schedules: Any, language_model: bool = False) -> list[Candidate]:
    """The schedules to compare, checked; None: the default set (the language model's own with ``pycode``)."""
    if schedules is None:
        if language_model:
            from .pycode import DEFAULT_SCHEDULES as LM

            schedules = list(LM)
        else:
            schedules = list(DEFAULT_SCHEDULES) + [DEFAULT_PLATEAU]
    if isinstance(schedules, (str, Mapping)) or not isinstance(schedules, Sequence):
        schedules = [schedules]
    cands = []
    for item in schedules:
        if isinstance(item, Mapping):
            from ..plateau import Plateau

            unknown_keys = set(item) - {"schedule", "plateau"}
            if unknown_keys or "schedule" not in item:
                raise fail("compare", "schedules", "texts or {schedule: TEXT, plateau: {SETTINGS}}", dict(item))
            settings = item.get("plateau")
            item = item["schedule"] if settings is None else (item["schedule"], Plateau(**dict(settings)))
        cands.append(candidate(item))
    if not cands:
        raise fail("compare", "schedules", "at least one schedule", list(schedules))
    seen: dict[tuple, Candidate] = {}
    for c in cands:
        same = seen.setdefault((c.schedule, json.dumps(c.plateau, sort_keys=True)), c)
        if same is not c:
            twice = "is given twice" if same.name == c.name else \
                f"and {same.name!r} are the same schedule (its canonical text: {c.schedule})"
            raise SpecError(f"compare(): schedule {c.name!r} {twice}; give each schedule once")
    return cands


def check_bind(cands: list[Candidate], epochs: int, spe: int | None) -> None:
    from ..spec import parse

    if spe is None:
        return
    for c in cands:
        try:
            parse(c.schedule).bind(total_steps=epochs * spe, steps_per_epoch=spe)
        except SpecError as e:
            raise SpecError(f"compare(): schedule {c.name!r} does not fit a run of {epochs} epochs of "
                            f"{spe} steps: {e}") from None


def budget_of(budget: Any) -> int | None:
    return None if budget is None else integer("compare", "budget", budget, ge=1)


def check_budget(policy: Policy) -> None:
    """Refuse, before anything trains, a budget the job cannot keep and a job too large to run without one."""
    runs, epochs = policy.full_cost()
    if policy.budget is None:
        if runs > MAX_RUNS:
            raise SpecError(f"compare(): this job could train {runs} runs ({epochs} epochs): more than {MAX_RUNS}; "
                            "use fewer schedules, lrs or seeds, or give a budget (--budget EPOCHS) to cap it")
        return
    if policy.design.protocol == "full" and epochs > policy.budget:
        raise SpecError(f"compare(): budget must cover the full protocol's {epochs} epochs ({runs} runs of "
                        f"{policy.design.epochs}); got budget={policy.budget} (use protocol='adaptive', or fewer "
                        "schedules, lrs or seeds)")
    least = policy.minimum()
    if least > policy.budget:
        raise SpecError(f"compare(): budget must be at least {least} epochs (the first lr-search round and the "
                        f"first {policy.looks.sizes[0]} seeds of every schedule); got budget={policy.budget}")


def placement(engine: Any, workers: Any, address: Any, resources: Any, retries: Any) -> dict:
    """The engine settings, checked: ``engine``, ``workers``, ``address``, ``resources``, ``retries``."""
    engine = one_of("compare", "engine", engine, ENGINES)
    if workers is not None:
        workers = integer("compare", "workers", workers, ge=1)
    if engine == "ray" and workers is not None:
        raise fail("compare", "workers", "None with engine='ray' (Ray places the runs; use resources)", workers)
    if address is not None and (engine != "ray" or not isinstance(address, str)):
        raise fail("compare", "address", "a Ray address, with engine='ray'", address)
    resources = resources_(resources)
    if resources is not None and engine != "ray":
        raise fail("compare", "resources", "given only with engine='ray'", resources)
    return {"engine": engine, "workers": workers, "address": address, "resources": resources,
            "retries": integer("compare", "retries", retries, ge=0)}


def training_settings(builtin: bool, config: Any, spe: Any, lr: Any, lrs: Any, metric: Any) -> tuple:
    """``run.config``, the steps per epoch, the lr centre and the metric's name, checked."""
    if builtin and pycode_data(None, config):
        from . import pycode

        if spe is not None:
            raise fail("compare", "steps_per_epoch", "None for the built-in training (set steps_per_epoch in config "
                       "for pycode)", spe)
        cfg = pycode.check_config(config)
        spe = pycode.steps_per_epoch(cfg)
        if lr is None and lrs is None:
            lr = pycode.DEFAULT_LR
        metric = metric or "test bits per character"
    elif builtin:
        from . import builtin as bi

        if spe is not None:
            raise fail("compare", "steps_per_epoch", "None for the built-in training (it knows its data)", spe)
        cfg = bi.check_config(config)
        spe = bi.steps_per_epoch(cfg)  # loads the data: a bad file stops the job here
        if lr is None and lrs is None:
            lr = bi.DEFAULT_LR[cfg["optimizer"]]
        metric = metric or "test accuracy"
    else:
        if config is not None and not isinstance(config, Mapping):
            raise fail("compare", "config", "a mapping of settings (run.config)", config)
        cfg = dict(config or {})
        try:
            json.dumps(cfg, allow_nan=False)
        except (TypeError, ValueError):
            raise fail("compare", "config", "plain JSON values (numbers, strings, lists, mappings)", cfg) from None
        if spe is not None:
            spe = integer("compare", "steps_per_epoch", spe, ge=1)
        metric = metric or "test"
    if not isinstance(metric, str) or not metric:
        raise fail("compare", "metric", "a name", metric)
    return cfg, spe, lr, metric


def seed_settings(seeds: list[int]) -> dict:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return {"seeds": len(seeds), "seed_offset": seeds[0]}
    return {"seeds": seeds}


def setting_of(c: Candidate) -> Any:
    if c.plateau is None:
        return c.text
    from ..plateau import Plateau

    defaults = {k: getattr(Plateau(), k) for k in c.plateau}
    return {"schedule": c.text, "plateau": {k: v for k, v in c.plateau.items() if v != defaults[k]}}


def make_engine(fn: Callable, train_ref: tuple[str, Any], out: str | None, batch: bool, *, engine: str,
                workers: int | None, address: str | None, resources: dict | None, retries: int,
                threads: int | None, timeout: float | None) -> Any:
    """The engine of ``engine`` / ``workers`` (:mod:`lrkit.lab.engines`)."""
    if engine == "ray":
        from .engines.ray import RayEngine

        return RayEngine(fn, address=address, resources=resources, retries=retries, timeout=timeout)
    if workers is None:
        return LocalEngine(fn, batch=batch, threads=threads, timeout=timeout)
    return WorkerEngine(train_ref, workers, out=out, retries=retries, threads=threads or 1, timeout=timeout)
