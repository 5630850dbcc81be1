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

import glob
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..checks import fail, flag, integer, number, one_of
from . import arguments as args
from .engines import Monitor
from .guards import fit
from .identity import file_hash, train_id
from .policy import Plan, Policy
from .protocol import PROTOCOLS, Design, lr_grid
from .pruning import RULES, Pruner
from .run import Record
from .runner import Runner
from .store import Store, plain, write_file
from .verdict import Entry, Verdict, summarise
from .words import edge_warning, headline

__all__ = ["Comparison", "compare"]

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


# ----------------------------------------------------------------- compare
def compare(train: Any = None, schedules: Any = None, lrs: Sequence[float] | None = None, seeds: Any = 5,  # noqa: C901 - the public entry: each argument checked as passed
            epochs: int = 10, engine: str = "local", workers: int | None = None, address: str | None = None,
            resources: Any = None, prune: str | None = None, out: str | None = "lrkit-out", resume: bool = True,
            *, lr: float | None = None, seed_offset: int = 0, tune_seeds: int | None = None, mode: str | None = None,
            protocol: str = "adaptive", budget: int | None = None, config: Mapping | None = None,
            steps_per_epoch: int | None = None, metric: str | None = None, progress: bool = True,
            retries: int = 2, batch: bool = True, version: str | None = None, fresh: bool = False,
            threads: int | None = 1, run_timeout: float | None = None) -> Comparison:
    """Compare ``schedules`` on ``train``: tune each one's lr, train it over seeds, test, decide.

    Args:
        train: ``train(run)`` (a function, or ``"file.py:func"`` / ``"module:func"``);
            None: the built-in data and models (:mod:`lrkit.lab.builtin`, settings in ``config``).
        schedules: schedule texts, schedules, ``(schedule, lk.Plateau)`` pairs or
            ``{"schedule": TEXT, "plateau": {...}}``; None: one per family plus a plateau run.
            Two texts of one schedule (the same canonical text) are an error.
        lrs: the lr grid; default ``lr * (1/4, 1/2, 1, 2, 4)`` (built-in: ``lr`` 0.1 for SGD, 1e-3 for AdamW).
        seeds: the number of final seeds (``seed_offset ..``, at most 1000) or a list of seeds; under the
            adaptive protocol, the most seeds any schedule gets.
        epochs: epochs of every run (tuning and final).
        engine: ``"local"`` (this machine) or ``"ray"``.
        workers: local worker processes; None trains in this process (the built-in training batches runs).
        address, resources: the Ray cluster (or ``RAY_ADDRESS``; neither: a local Ray) and per-run
            resources (``{"cpu": 1, "gpu": 1}`` or ``"cpu=1,gpu=1"``).
        prune: ``"clearly-worse"`` or ``"none"`` (:mod:`lrkit.lab.pruning`); None: the protocol's
            (adaptive: clearly-worse, full: none).
        out: the folder of the report and of ``runs/`` (resume); None writes nothing.
        resume: reuse the runs already finished in ``out/runs`` (only those made by the same code and
            settings: :mod:`lrkit.lab.identity`); fresh: delete ``out/runs`` first.
        lr: the centre of the default grid; tune_seeds: seeds of each tuning run (after the final
            ones; default 1 adaptive, 2 full).
        mode: ``"max"`` (val and test are scores) or ``"min"`` (losses); None: ``"max"``, and the job stops
            if the validation metric falls as training goes on (a loss scored as an accuracy).
        protocol: ``"adaptive"`` (:mod:`lrkit.lab.policy`: a coarse-to-fine lr search, seeds by racing)
            or ``"full"`` (every grid lr, every final seed);
        budget: the most epochs the job may train (runs it reuses count too); None: no cap, and a job of
            more than 100000 runs is refused.
        config: ``run.config``; steps_per_epoch: binds ``"10%"``/``"3ep"`` for your train
            (or call ``run.bind`` in it); metric: the test metric's name in the report.
        progress: progress on stderr; retries: of runs whose worker died;
        batch: let the built-in training batch runs in one process.
        version: a version of your training code you declare (part of every run's key).
        threads: BLAS, OpenMP and torch threads of each run (None: leave them as they are).
        run_timeout: seconds after which a run that has not finished is failed (None: no limit).

    Example (a tiny job; see docs/lab.md for a user's own ``train``)::

        import lrkit.lab
        result = lrkit.lab.compare(schedules=["cosine('100%')", "constant()"], seeds=3, epochs=3,
                                   config={"model": "linear"}, out=None, progress=False)
        print(result.headline)
    """
    started = time.perf_counter()
    fn, train_ref, train_text = args.resolve_train(train, config)
    language_model = args.pycode_data(train, config)
    if language_model and mode is None:
        mode = "min"  # its val and test are bits per character
    epochs = integer("compare", "epochs", epochs, ge=1)
    confirmed = mode is not None
    mode = one_of("compare", "mode", "max" if mode is None else mode, MODES)
    protocol = one_of("compare", "protocol", protocol, PROTOCOLS)
    where = args.placement(engine, workers, address, resources, retries)
    prune = one_of("compare", "prune", prune, RULES) if prune is not None else \
        ("clearly-worse" if protocol == "adaptive" else "none")
    resume, progress, batch, fresh = (flag("compare", k, v) for k, v in
                                      (("resume", resume), ("progress", progress), ("batch", batch), ("fresh", fresh)))
    threads = None if threads is None else integer("compare", "threads", threads, ge=1)
    timeout = None if run_timeout is None else float(number("compare", "run_timeout", run_timeout, gt=0))
    if version is not None and (not isinstance(version, str) or not version):
        raise fail("compare", "version", "a text naming your code's version", version)
    final = args.final_seeds(seeds, seed_offset)
    n_tune = integer("compare", "tune_seeds", tune_seeds if tune_seeds is not None else
                     (1 if protocol == "adaptive" else 2), ge=1)
    tune = list(range(max(final) + 1, max(final) + 1 + n_tune))
    if out is not None and (not isinstance(out, str) or not out or os.path.isfile(out)):
        raise fail("compare", "out", "a folder (new or existing) or None", out)
    cands = args.candidates(schedules, language_model)
    if train is None and mode != ("min" if language_model else "max"):
        raise fail("compare", "mode", "'min' for pycode (bits per character)" if language_model else
                   "'max' for the built-in training (its val and test are accuracies)", mode)
    cfg, spe, lr, metric = args.training_settings(train is None, config, steps_per_epoch, lr, lrs, metric)
    grid = lr_grid(lr, lrs)
    args.check_bind(cands, epochs, spe)
    code = train_id(fn, version)
    if train is None and str(cfg.get("data", "")).endswith(".npz"):
        code["data"] = file_hash(cfg["data"])  # the same path with other bytes is other data
    design = Design(cands, grid, final, tune, epochs, mode, cfg, spe, code, protocol)
    policy = Policy(design, args.budget_of(budget))
    args.check_budget(policy)
    settings = {"train": train_text, "schedule": [args.setting_of(c) for c in cands], "lrs": grid, "epochs": epochs,
                **args.seed_settings(final), "tune_seeds": n_tune, "mode": mode, "protocol": protocol,
                "budget": policy.budget, **where, "prune": prune, "steps_per_epoch": None if train is None else spe,
                "config": cfg, "metric": metric, "out": out, "version": version, "threads": threads,
                "run_timeout": timeout}
    store = _store(out, fresh)
    eng = args.make_engine(fn, train_ref, out, batch, threads=threads, timeout=timeout, **where)
    monitor = Monitor(Pruner(mode=mode, epochs=epochs, enabled=prune != "none"), progress)
    runner = Runner(policy, store, eng, monitor, resume=resume, progress=progress, confirmed=confirmed)
    runs_full, epochs_full = policy.full_cost()
    runner.say(f"{len(cands)} schedules, lr grid {', '.join(f'{x:g}' for x in grid)}, up to {len(final)} seeds, "
               f"{epochs} epochs a run: at most {runs_full} runs, {epochs_full} epochs ({protocol} protocol"
               + ("" if policy.budget is None else f", budget {policy.budget} epochs") + ")")
    if spe is not None:
        for text in fit({c.name: c.schedule for c in cands}, epochs * spe, spe):
            runner.warn(text)
    if out is not None:
        write_file(os.path.join(out, "config.json"), json.dumps(plain(settings), indent=2) + "\n")
    try:
        plan = runner.run()
    finally:
        eng.close()
        monitor.close()
    own = {t.key: runner.records[t.key] for t in plan.tasks if t.key in runner.records}
    entries, verdict = summarise(design, plan, own, metric)
    edge = edge_warning(verdict, entries)
    if edge:
        runner.warn(edge)
    cost = {"epochs_trained": plan.spent, "epochs_full": epochs_full, "runs_trained": len(own),
            "runs_full": runs_full, "runs_this_job": runner.counts["runs_trained"],
            "epochs_this_job": runner.counts["epochs_trained"], "runs_resumed": runner.counts["runs_resumed"]}
    setup = {**runner.counts, "cost": cost, "engine": where["engine"], "workers": where["workers"],
             "wall_time": time.perf_counter() - started, "steps_per_epoch": spe, "lrs": grid, "tune_seeds": tune,
             "seeds": final, "epochs": epochs, "mode": mode, "protocol": protocol, "prune": prune,
             "budget": policy.budget, "looks": list(plan.looks.sizes), "look_weights": list(plan.looks.weights),
             "train": train_text or "(a Python function)", "code": code, "warnings": runner.warnings}
    if language_model:
        from .pycode import describe

        setup["data"] = describe(cfg)
    elif train is None:
        from .builtin import data_of

        data = data_of(cfg)
        setup["data"] = {"name": data.name, **data.sizes()}
    result = Comparison(verdict, entries, own, design, plan, settings, setup)
    if out is not None:
        from .report import write_report

        write_report(out, result)
    return result


def _store(out: str | None, fresh: bool) -> Store:
    """The job's store; ``fresh`` deletes the finished runs of earlier jobs first."""
    if fresh and out is not None:
        for path in glob.glob(os.path.join(out, "runs", "*.json")):
            os.remove(path)
    try:
        return Store(out)
    except OSError as e:
        raise fail("compare", "out", f"a folder this process can write ({e.strerror})", out) from None
