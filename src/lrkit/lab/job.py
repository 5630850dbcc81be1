"""``lrkit.lab.compare`` (defined here): which schedule should I use here? The main job, as a library function.

``compare`` checks the arguments, builds the design (:mod:`lrkit.lab.protocol`)
and the policy that decides what to train next (:mod:`lrkit.lab.policy`:
the lr search, then the final seeds, adaptive or full), and runs its rounds on
an engine (:mod:`lrkit.lab.engines`), writing every finished run to
``OUT/runs/`` at once (:mod:`lrkit.lab.store`). The verdict comes from the
test metric of the final runs (:mod:`lrkit.lab.verdict`, :mod:`lrkit.lab.stats`);
the report is written from the result (:mod:`lrkit.lab.report`). One code path
serves the built-in data and models and the user's own ``train(run)`` function.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..checks import fail, flag, integer, one_of
from ..errors import SpecError
from .config import DEFAULT_PLATEAU, DEFAULT_SCHEDULES
from .engines import LocalEngine, Monitor, WorkerEngine
from .policy import Plan, Policy, Round
from .protocol import PROTOCOLS, Candidate, Design, candidate, lr_grid, train_id
from .pruning import RULES, Pruner
from .run import Record
from .store import Store, plain, write_file
from .verdict import Entry, Verdict, summarise
from .words import headline

__all__ = ["Comparison", "compare"]

ENGINES = ("local", "ray")
MODES = ("max", "min")


@dataclass
class Comparison:
    """What :func:`compare` found: the verdict, one entry per schedule, every run, the settings."""

    verdict: Verdict
    entries: list[Entry]
    records: dict[str, Record]
    design: Design
    plan: Plan
    settings: dict
    setup: dict = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        """The keys of every run of this job, in the order the policy asked for them."""
        return [t.key for t in self.plan.tasks]

    @property
    def headline(self) -> str:
        """The verdict in one line (what ``lrkit compare`` prints last, after ``verdict: ``)."""
        return headline(self.verdict, self.entries)

    @property
    def failed_runs(self) -> list[Record]:
        """Every run of this job that raised (tuning and final)."""
        return [self.records[k] for k in self.keys if k in self.records and self.records[k].status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        """The document of ``results.json`` (fixed names: ``verdict``, ``runs``)."""
        from .. import __version__

        verdict = {**self.verdict.to_dict(), "text": self.headline}
        return plain({"lrkit": __version__, "verdict": verdict, "runs": [e.to_dict() for e in self.entries],
                      "setup": self.setup, "settings": self.settings})


# --------------------------------------------------------------- arguments
def _seeds(seeds: Any, offset: Any) -> list[int]:
    offset = integer("compare", "seed_offset", offset, ge=0)
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        n = integer("compare", "seeds", seeds, ge=1)
        return list(range(offset, offset + n))
    if isinstance(seeds, (list, tuple)) and seeds:
        out = [integer("compare", "seeds", s, ge=0) for s in seeds]
        if len(set(out)) != len(out):
            raise fail("compare", "seeds", "distinct seeds", list(seeds))
        return out
    raise fail("compare", "seeds", "a whole number >= 1 or a list of seeds", seeds)


def _resources(resources: Any) -> dict | None:
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


def _train(train: Any) -> tuple[Callable, tuple[str, Any], str | None]:
    """The function, what workers receive, and its text for config.json."""
    from .loader import check_train, load_train

    if train is None:
        from . import builtin

        return builtin.train, ("spec", "lrkit.lab.builtin:train"), None
    if isinstance(train, str):
        return load_train(train), ("spec", train), train
    fn = check_train(train)
    module, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)   # none on a partial
    text = f"{module}:{name}" if module and module != "__main__" and name and "<" not in name else None
    return fn, ("fn", fn), text


def _candidates(schedules: Any) -> list[Candidate]:
    if schedules is None:
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


def _check_bind(cands: list[Candidate], epochs: int, spe: int | None) -> None:
    from ..spec import parse

    if spe is None:
        return
    for c in cands:
        try:
            parse(c.schedule).bind(total_steps=epochs * spe, steps_per_epoch=spe)
        except SpecError as e:
            raise SpecError(f"compare(): schedule {c.name!r} does not fit a run of {epochs} epochs of "
                            f"{spe} steps: {e}") from None


# ----------------------------------------------------------------- compare
def compare(train: Any = None, schedules: Any = None, lrs: Sequence[float] | None = None, seeds: Any = 5,
            epochs: int = 10, engine: str = "local", workers: int | None = None, address: str | None = None,
            resources: Any = None, prune: str | None = None, out: str | None = "lrkit-out", resume: bool = True,
            *, lr: float | None = None, seed_offset: int = 0, tune_seeds: int | None = None, mode: str = "max",
            protocol: str = "adaptive", budget: int | None = None, config: Mapping | None = None,
            steps_per_epoch: int | None = None, metric: str | None = None, progress: bool = True,
            retries: int = 2, batch: bool = True) -> Comparison:
    """Compare ``schedules`` on ``train``: tune each one's lr, train it over seeds, test, decide.

    Args:
        train: ``train(run)`` (a function, or ``"file.py:func"`` / ``"module:func"``);
            None: the built-in data and models (:mod:`lrkit.lab.builtin`, settings in ``config``).
        schedules: schedule texts, schedules, ``(schedule, lk.Plateau)`` pairs or
            ``{"schedule": TEXT, "plateau": {...}}``; None: one per family plus a plateau run.
        lrs: the lr grid; default ``lr * (1/4, 1/2, 1, 2, 4)`` (built-in: ``lr`` 0.1 for SGD, 1e-3 for AdamW).
        seeds: the number of final seeds (``seed_offset ..``) or a list of seeds; under the adaptive
            protocol, the most seeds any schedule gets.
        epochs: epochs of every run (tuning and final).
        engine: ``"local"`` (this machine) or ``"ray"``.
        workers: local worker processes; None trains in this process (the built-in training batches runs).
        address, resources: the Ray cluster (or ``RAY_ADDRESS``; neither: a local Ray) and per-run
            resources (``{"cpu": 1, "gpu": 1}`` or ``"cpu=1,gpu=1"``).
        prune: ``"clearly-worse"`` or ``"none"`` (:mod:`lrkit.lab.pruning`); None: the protocol's
            (adaptive: clearly-worse, full: none).
        out: the folder of the report and of ``runs/`` (resume); None writes nothing.
        resume: reuse the runs already finished in ``out/runs``.
        lr: the centre of the default grid; tune_seeds: seeds of each tuning run (after the final
            ones; default 1 adaptive, 2 full); mode: ``"max"`` (val and test are scores) or ``"min"`` (losses);
        protocol: ``"adaptive"`` (:mod:`lrkit.lab.policy`: a coarse-to-fine lr search, seeds by racing)
            or ``"full"`` (every grid lr, every final seed);
        budget: the most epochs the job may train (runs it reuses count too); None: no cap;
        config: ``run.config``; steps_per_epoch: binds ``"10%"``/``"3ep"`` for your train
            (or call ``run.bind`` in it); metric: the test metric's name in the report;
        progress: progress on stderr; retries: of runs whose worker died;
        batch: let the built-in training batch runs in one process.

    Example (a tiny job; see docs/lab.md for a user's own ``train``)::

        import lrkit.lab
        result = lrkit.lab.compare(schedules=["cosine('100%')", "constant()"], seeds=3, epochs=3,
                                   config={"model": "linear"}, out=None, progress=False)
        print(result.headline)
    """
    started = time.perf_counter()
    fn, train_ref, train_text = _train(train)
    epochs = integer("compare", "epochs", epochs, ge=1)
    mode = one_of("compare", "mode", mode, MODES)
    protocol = one_of("compare", "protocol", protocol, PROTOCOLS)
    where = _where(engine, workers, address, resources, retries)
    prune = one_of("compare", "prune", prune, RULES) if prune is not None else \
        ("clearly-worse" if protocol == "adaptive" else "none")
    resume, progress, batch = (flag("compare", k, v) for k, v in
                               (("resume", resume), ("progress", progress), ("batch", batch)))
    final_seeds = _seeds(seeds, seed_offset)
    n_tune = integer("compare", "tune_seeds", tune_seeds if tune_seeds is not None else
                     (1 if protocol == "adaptive" else 2), ge=1)
    tune = list(range(max(final_seeds) + 1, max(final_seeds) + 1 + n_tune))
    if out is not None and (not isinstance(out, str) or not out):
        raise fail("compare", "out", "a folder name or None", out)
    cands = _candidates(schedules)
    if train is None and mode != "max":
        raise fail("compare", "mode", "'max' for the built-in training (its val and test are accuracies)", mode)
    cfg, spe, lr, metric = _training(train is None, config, steps_per_epoch, lr, lrs, metric)
    grid = lr_grid(lr, lrs)
    _check_bind(cands, epochs, spe)
    design = Design(cands, grid, final_seeds, tune, epochs, mode, cfg, spe, train_id(fn), protocol)
    policy = Policy(design, _budget(budget))
    _check_budget(policy)
    settings = {"train": train_text, "schedule": [_item(c) for c in cands], "lrs": grid, "epochs": epochs,
                **_seed_settings(final_seeds), "tune_seeds": n_tune, "mode": mode, "protocol": protocol,
                "budget": policy.budget, **where, "prune": prune, "steps_per_epoch": None if train is None else spe,
                "config": cfg, "metric": metric, "out": out}
    store = Store(out)
    if out is not None:
        write_file(os.path.join(out, "config.json"), json.dumps(plain(settings), indent=2) + "\n")
    eng = _engine(fn, train_ref, out, batch, **where)
    monitor = Monitor(Pruner(mode=mode, epochs=epochs, enabled=prune != "none"), progress)
    job = _Job(policy, store, eng, monitor, resume, progress)
    try:
        plan = job.run()
    finally:
        eng.close()
        monitor.close()
    own = {t.key: job.records[t.key] for t in plan.tasks if t.key in job.records}
    entries, verdict = summarise(design, plan, own, metric)
    runs_full, epochs_full = policy.full_cost()
    cost = {"epochs_trained": plan.spent, "epochs_full": epochs_full, "runs_trained": len(own), "runs_full": runs_full,
            "runs_this_job": job.counts["runs_trained"], "epochs_this_job": job.counts["epochs_trained"],
            "runs_resumed": job.counts["runs_resumed"]}
    setup = {**job.counts, "cost": cost, "engine": where["engine"], "workers": where["workers"],
             "wall_time": time.perf_counter() - started, "steps_per_epoch": spe, "lrs": grid, "tune_seeds": tune,
             "seeds": final_seeds, "epochs": epochs, "mode": mode, "protocol": protocol, "prune": prune,
             "budget": policy.budget, "looks": list(plan.looks.sizes), "look_weights": list(plan.looks.weights),
             "train": train_text or "(a Python function)"}
    if train is None:
        from .builtin import data_of

        data = data_of(cfg)
        setup["data"] = {"name": data.name, **data.sizes()}
    result = Comparison(verdict, entries, own, design, plan, settings, setup)
    if out is not None:
        from .report import write_report

        write_report(out, result)
    return result


def _budget(budget: Any) -> int | None:
    return None if budget is None else integer("compare", "budget", budget, ge=1)


def _check_budget(policy: Policy) -> None:
    """Refuse a budget the job cannot keep, before anything trains."""
    if policy.budget is None:
        return
    runs, epochs = policy.full_cost()
    if policy.design.protocol == "full" and epochs > policy.budget:
        raise SpecError(f"compare(): budget must cover the full protocol's {epochs} epochs ({runs} runs of "
                        f"{policy.design.epochs}); got budget={policy.budget} (use protocol='adaptive', or fewer "
                        "schedules, lrs or seeds)")
    least = policy.minimum()
    if least > policy.budget:
        raise SpecError(f"compare(): budget must be at least {least} epochs (the first lr-search round and the "
                        f"first {policy.looks.sizes[0]} seeds of every schedule); got budget={policy.budget}")


def _where(engine: Any, workers: Any, address: Any, resources: Any, retries: Any) -> dict:
    """The engine settings, checked: ``engine``, ``workers``, ``address``, ``resources``, ``retries``."""
    engine = one_of("compare", "engine", engine, ENGINES)
    if workers is not None:
        workers = integer("compare", "workers", workers, ge=1)
    if engine == "ray" and workers is not None:
        raise fail("compare", "workers", "None with engine='ray' (Ray places the runs; use resources)", workers)
    if address is not None and (engine != "ray" or not isinstance(address, str)):
        raise fail("compare", "address", "a Ray address, with engine='ray'", address)
    resources = _resources(resources)
    if resources is not None and engine != "ray":
        raise fail("compare", "resources", "given only with engine='ray'", resources)
    return {"engine": engine, "workers": workers, "address": address, "resources": resources,
            "retries": integer("compare", "retries", retries, ge=0)}


def _training(builtin: bool, config: Any, spe: Any, lr: Any, lrs: Any, metric: Any) -> tuple:
    """``run.config``, the steps per epoch, the lr centre and the metric's name, checked."""
    if builtin:
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


def _seed_settings(seeds: list[int]) -> dict:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return {"seeds": len(seeds), "seed_offset": seeds[0]}
    return {"seeds": seeds}


def _item(c: Candidate) -> Any:
    if c.plateau is None:
        return c.text
    from ..plateau import Plateau

    defaults = {k: getattr(Plateau(), k) for k in c.plateau}
    return {"schedule": c.text, "plateau": {k: v for k, v in c.plateau.items() if v != defaults[k]}}


def _engine(fn, train_ref, out, batch, *, engine, workers, address, resources, retries):
    if engine == "ray":
        from .engines.ray import RayEngine

        return RayEngine(fn, address=address, resources=resources, retries=retries)
    if workers is None:
        return LocalEngine(fn, batch=batch)
    return WorkerEngine(train_ref, workers, out=out, retries=retries)


class _Job:
    """Runs the policy's rounds on one engine, taking finished runs from the store."""

    def __init__(self, policy: Policy, store: Store, engine: Any, monitor: Monitor, resume: bool,
                 progress: bool) -> None:
        self.policy, self.store, self.engine, self.monitor = policy, store, engine, monitor
        loaded = store.load() if resume else {}
        self.earlier = {k: r for k, r in loaded.items() if r.status in ("done", "pruned")}  # failed: run again
        self.records: dict[str, Record] = dict(self.earlier)
        self.progress = progress
        self.fed: set[str] = set()
        self.counts = {"runs_trained": 0, "runs_resumed": 0, "epochs_trained": 0}

    def run(self) -> Plan:
        while (r := self.policy.next(self.records)) is not None:
            self.round(r)
        self.monitor.close()
        plan = self.policy.plan(self.records)
        self.counts["runs_resumed"] = sum(1 for t in plan.tasks if t.key in self.earlier)
        return plan

    def round(self, r: Round) -> None:
        self._feed()
        todo = [t for t in r.tasks if t.key not in self.records]
        if self.progress:
            done = len(r.tasks) - len(todo)
            print(f"{r.label}: {len(r.tasks)} runs ({_shape(r)}), {done} finished earlier, {len(todo)} to train",
                  file=sys.stderr)
        self.monitor.start(r.label, len(todo) * self.policy.design.epochs)
        self.engine.run(todo, self.monitor, self._finished)
        self.monitor.close()

    def _feed(self) -> None:
        """Show the pruner the reports of this job's runs it has not seen (runs of earlier jobs), in order."""
        for t in self.policy.plan(self.records).tasks:
            key = t.key
            if key in self.fed or key not in self.records:
                continue
            rec = self.records[key]
            for i, h in enumerate(rec.history):
                self.monitor.pruner.observe(rec.task, i, h.get("val"))
            if rec.status == "pruned":
                self.monitor.pruner.pruned.add(rec.task.group)
            self.fed.add(key)

    def _finished(self, record: Record) -> None:
        self.records[record.task.key] = record
        self.fed.add(record.task.key)
        self.store.save(record)
        self.counts["runs_trained"] += 1
        self.counts["epochs_trained"] += len(record.history)
        self.monitor.finished(record)


def _shape(r: Round) -> str:
    """``15 schedules x 3 lrs x 1 seed`` (or, when the schedules differ, the total of each)."""
    per: dict[str, set] = {}
    for t in r.tasks:
        per.setdefault(t.name, set()).add(t.lr if r.phase == "tune" else t.seed)
    seeds = sorted({t.seed for t in r.tasks})
    counts = {len(v) for v in per.values()}
    unit = "lr" if r.phase == "tune" else "seed"
    each = f"x {counts.pop()} {unit}" if len(counts) == 1 else f"{sum(len(v) for v in per.values())} {unit}s in all"
    each = each + ("s" if not each.endswith("all") and not each.endswith(f" 1 {unit}") else "")
    if r.phase == "tune":
        return f"{len(per)} schedules {each} x {len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
    return f"{len(per)} schedules {each}, seeds {seeds[0]}..{seeds[-1]}"
