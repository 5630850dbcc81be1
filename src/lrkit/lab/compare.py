"""The compare job as a library function: one model, one data set, many schedules.

For every seed ``0 .. seeds-1`` every run starts from the same weights
(``make_model(..., seed=seed)``) and sees the same batches in the same order;
only the schedule differs, and every run takes the same number of updates
(``epochs * ceil(n_train / batch_size)``). Schedules without a plateau are
trained together as one batch of models (:func:`~lrkit.lab.train.train_batched`,
about 1.6x faster than one after another for the default set); a plateau run goes through
:func:`~lrkit.lab.train.train` with :class:`lrkit.torch.Scheduler` and
:class:`lrkit.Plateau` (fed the validation loss after every epoch).

>>> from lrkit.lab.config import CompareConfig
>>> cfg = CompareConfig(schedule=["constant()", "cosine('100%')"], plateau="constant()",
...                     model="linear", epochs=1, seeds=1, batch_size=256)
>>> result = compare(cfg, progress=False)
>>> [r.label for r in result.runs]
['constant()', "cosine('100%')", 'constant() with Plateau(factor=0.5, patience=1)']
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError
from ..plateau import Plateau
from ..spec import parse
from .config import CompareConfig
from .data import Dataset, load_dataset
from .train import RunResult, steps_per_epoch, train, train_batched

__all__ = ["Comparison", "RunPlan", "compare", "plan_runs"]


@dataclass(frozen=True)
class RunPlan:
    """One line of the comparison: a schedule text and whether a plateau scales it."""

    label: str
    schedule: str
    plateau: bool = False


@dataclass
class Comparison:
    """The result of :func:`compare`: the settings, the data, and every run of every seed."""

    config: CompareConfig
    data: dict[str, Any]
    steps_per_epoch: int
    total_steps: int
    runs: list[RunResult] = field(default_factory=list)
    wall_time: float = 0.0
    batched: bool = True

    def setup(self) -> dict[str, Any]:
        """What the report prints about the setup (plain JSON types)."""
        c = self.config
        return {
            "data": self.data, "model": c.model, "optimizer": c.optimizer, "lr": c.base_lr,
            "momentum": c.momentum if c.optimizer == "sgd" else None, "weight_decay": c.weight_decay,
            "batch_size": c.batch_size, "epochs": c.epochs, "seeds": list(range(c.seeds)),
            "steps_per_epoch": self.steps_per_epoch, "total_steps": self.total_steps,
            "batched": self.batched, "wall_time": self.wall_time,
            "plateau": _plateau_text(c) if c.plateau is not None else None,
        }


def _plateau(config: CompareConfig) -> Plateau:
    return Plateau(mode="min", factor=config.plateau_factor, patience=config.plateau_patience)


def _plateau_text(config: CompareConfig) -> str:
    return (f"{_plateau(config)!r} fed the validation loss after every epoch; "
            "its scale multiplies the schedule from the next update on")


def plan_runs(config: CompareConfig, spe: int) -> list[RunPlan]:
    """The runs of one seed, every schedule text parsed and bound (errors raised here).

    >>> cfg = CompareConfig(schedule=["cosine('rest')"], plateau="warmup('1ep') >> constant()")
    >>> [(p.label, p.plateau) for p in plan_runs(cfg, spe=10)]
    [("cosine('rest')", False), ("warmup('1ep') >> constant() with Plateau(factor=0.5, patience=1)", True)]
    """
    total = config.epochs * spe
    plans = []
    texts = [(t, False) for t in config.schedule]
    if config.plateau is not None:
        texts.append((config.plateau, True))
    for text, with_plateau in texts:
        try:
            s = parse(text)
            s.bind(total_steps=total, steps_per_epoch=spe)
        except SpecError as e:
            where = "--plateau" if with_plateau else "--schedule"
            raise SpecError(f"{where} {text!r}: {e}") from None
        label = str(s) + (f" with {_plateau(config)!r}" if with_plateau else "")
        plans.append(RunPlan(label, str(s), with_plateau))
    labels = [p.label for p in plans]
    for lab in labels:
        if labels.count(lab) > 1:
            raise SpecError(f"compare(): the schedule {lab!r} is given twice (maybe in two spellings)")
    return plans


def compare(config: CompareConfig, *, progress: bool = True, batched: bool | None = None,
            data: Dataset | None = None, threads: int | None = None) -> Comparison:
    """Train every planned run for every seed; return a :class:`Comparison`.

    Example (what ``lrkit compare --schedule ... --epochs 3`` does)::

        from lrkit.lab.config import CompareConfig
        from lrkit.lab.report import summarise
        result = compare(CompareConfig(schedule=("cosine('100%')", "constant()"), plateau=None, epochs=3, seeds=2))
        print(summarise(result.runs).verdict.text)

    Args:
        config: the settings (:class:`~lrkit.lab.config.CompareConfig`).
        progress: show a tqdm progress bar on stderr.
        batched: train the schedules of one seed as one batch of models
            (default: yes when there are two or more); False trains them one
            after another with :func:`~lrkit.lab.train.train`.
        data: a loaded dataset instead of ``config.data``.
        threads: torch threads while training (default 1: 2 threads measured 4-20x
            slower on 2 busy cores, at best 2x faster on idle ones);
            the previous setting is restored afterwards.
    """
    data = load_dataset(config.data) if data is None else data
    spe = steps_per_epoch(data, config.batch_size)
    plans = plan_runs(config, spe)  # every spec checked before torch is even imported

    import torch

    from .models import make_model

    plain = [p for p in plans if not p.plateau]
    batched = len(plain) >= 2 if batched is None else bool(batched)
    info = {"name": data.name, "n_train": len(data.x_train), "n_val": len(data.x_val),
            "n_features": data.n_features, "n_classes": data.n_classes}
    result = Comparison(config, info, spe, config.epochs * spe, batched=batched)
    bar = _progress_bar(len(plans) * config.seeds * config.epochs, progress)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads or 1)
    common = dict(epochs=config.epochs, batch_size=config.batch_size, lr=config.base_lr,
                  optimizer=config.optimizer, momentum=config.momentum, weight_decay=config.weight_decay)
    start = time.perf_counter()
    try:
        for seed in range(config.seeds):
            bar.set_description(f"seed {seed}")
            make = lambda: make_model(config.model, data.n_features, data.n_classes, seed=seed)  # noqa: E731
            by_label: dict[str, RunResult] = {}
            if batched and plain:
                runs = train_batched(make(), data, [p.schedule for p in plain], seed=seed,
                                     labels=[p.label for p in plain], callback=lambda r: bar.update(1), **common)
                by_label.update((r.label, r) for r in runs)
            for p in plans:
                if p.label in by_label:
                    continue
                plateau = _plateau(config) if p.plateau else None
                by_label[p.label] = train(make(), data, p.schedule, seed=seed, plateau=plateau,
                                          label=p.label, callback=lambda r: bar.update(1), **common)
            result.runs.extend(by_label[p.label] for p in plans)
    finally:
        torch.set_num_threads(old_threads)
        bar.close()
    result.wall_time = time.perf_counter() - start
    return result


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, show: bool):
    if not show:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is in the lab extra; without it, no bar
        return _NoBar()
    return tqdm(total=total, unit="epoch", file=sys.stderr, mininterval=0.25, dynamic_ncols=True, leave=True)
