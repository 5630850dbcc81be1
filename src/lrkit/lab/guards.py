"""Checks that stop a comparison before it gives a confident wrong answer (pure: records in, words out).

Each check runs on the runs of the first lr-search round (the first evidence the job has) or, for the
schedules' fit, as soon as the run length is known; each rule is fixed in advance:

- :func:`direction`: under ``mode="max"`` a validation metric that *falls* as training goes on in most
  runs is a loss (and one that rises under ``mode="min"`` a score). The rule: of the runs with two or
  more finite reports, at least two thirds got worse from their first report to their last. Unless the
  user named the mode, the job stops and says so.
- :func:`ignored`: a ``train`` that never reads ``run.schedule`` (nor calls ``run.bind``) and gives
  bit-identical results for every schedule at the same lr and seed is comparing nothing: the job stops.
  Identical results from a function that did read the schedule are a warning.
- :func:`fit`: a schedule that does not fit the run: its phases (``'%'`` parts included) last longer than
  the run, so it never reaches its end; or it never changes during the run (``step('50ep')`` in a
  3-epoch run). A warning that names it, in the output and in the report.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from ..errors import SpecError
from .run import Record, seeded

__all__ = ["direction", "fit", "ignored"]

WORSE_SHARE = 2 / 3


def direction(records: list[Record], mode: str, confirmed: bool) -> str | None:
    """None, or the warning that ``val`` moves the wrong way for ``mode``; raises when the mode was not named.

    >>> from lrkit.lab.run import Task
    >>> t = Task("k", "s", "constant()", None, 0.1, 0, 3, {})
    >>> falling = [Record(t, "done", [{"epoch": e, "val": 2.0 - e} for e in range(3)]) for _ in range(3)]
    >>> direction(falling, "max", confirmed=True)[:52]
    "mode='max', but the validation metric fell as traini"
    """
    sign = 1.0 if mode == "max" else -1.0
    moves = []
    for r in records:
        vals = [v for v in r.vals if math.isfinite(v)]
        if len(vals) >= 2 and vals[-1] != vals[0]:
            moves.append(sign * (vals[-1] - vals[0]) < 0)
    if len(moves) < 2 or sum(moves) < WORSE_SHARE * len(moves):
        return None
    went = "fell" if mode == "max" else "rose"
    other = "min" if mode == "max" else "max"
    text = (f"mode={mode!r}, but the validation metric {went} as training went on in {sum(moves)} of {len(moves)} "
            f"runs of the first round: is it a {'loss' if mode == 'max' else 'score'}? With mode={mode!r} the "
            f"{'highest' if mode == 'max' else 'lowest'} value wins")
    if not confirmed:
        raise SpecError(f"compare(): {text}. Pass mode={other!r} (--mode {other}), or mode={mode!r} "
                        f"(--mode {mode}) to confirm; the finished runs are kept")
    return text + f" (mode={mode!r} was given, so the job went on)."


def ignored(records: list[Record]) -> str | None:
    """None, or the warning that every schedule gave bit-identical results; raises when ``train`` never read
    ``run.schedule``."""
    by_run: dict[tuple, dict[str, tuple]] = defaultdict(dict)
    for r in records:
        if r.status == "done":
            by_run[(r.task.lr, r.task.seed)][r.task.schedule] = (tuple(r.vals), r.test)
    pairs = [(k, v) for k, v in by_run.items() if len(v) > 1]
    if not pairs or any(len(set(map(repr, v.values()))) > 1 for _, v in pairs):
        return None
    (lr, seed), same = pairs[0]
    used = any(r.used_schedule for r in records)
    text = (f"every schedule gave bit-identical results at the same lr and seed ({len(same)} schedules at lr "
            f"{lr:g}, seed {seed}): ")
    if not used:
        raise SpecError(f"compare(): {text}train never read run.schedule (nor called run.bind): it trains every "
                        "schedule alike. Drive the optimizer's lr with it, e.g. lrkit.torch.Scheduler(opt, "
                        "run.bind(len(loader)))")
    return text + "does train apply run.schedule to the lr?"


def fit(texts: dict[str, str], total: int, spe: int) -> list[str]:
    """Warnings for the schedules (name: canonical text) that do not fit a run of ``total`` steps (module doc).

    >>> for line in fit({"a": "cosine(100000)", "b": "step('50ep')", "c": "cosine('100%')"}, 300, 100):
    ...     print(line)
    `a` never reaches its end: it lasts 100000 steps, the run 300
    `b` does not change during the run (300 steps)
    """
    out = []
    for name, text in texts.items():
        try:
            s = seeded(text, 0).bind(total_steps=total, steps_per_epoch=spe)
        except SpecError as e:
            out.append(f"`{name}` does not fit a run of {total} steps: {e}")
            continue
        if s.duration is not None and s.duration > total + 1e-9 * total:
            out.append(f"`{name}` never reaches its end: it lasts {s.duration:g} steps, the run {total}")
            continue
        values = s.values(np.arange(total, dtype=np.float64))
        if total > 1 and np.all(values == values[0]) and "constant" not in text and "noisy" not in text:
            out.append(f"`{name}` does not change during the run ({total} steps)")
    return out
