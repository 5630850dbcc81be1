"""``lm-schedulefree``: does this language model need a schedule at all? Schedule-free AdamW vs the best schedule.

Defazio et al. (2024, "The road less scheduled") replace the schedule by an
average of the iterates: ``schedulefree.AdamWScheduleFree`` (the ``schedulefree``
extra) with a constant lr after its own warmup (5% of the run), evaluated at its
averaged weights. Its rival is the best tuned schedule: of WSD with a 1-sqrt
cooldown and warmup + linear decay to zero (:data:`SCHEDULES`), the (schedule, lr)
with the lowest validation bits on the tuning seeds. Each arm has its own lr grid
(schedule-free usually wants a larger lr) and its own tuning.

Claim (per final seed, test bits per character): schedule-free AdamW ends
within :data:`TOL` bits of the best tuned schedule (or below it). Region: other
tolerances (:data:`TOLS`), read from the same runs.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Check, ExperimentResult, sweep
from .lm_runs import (
    TUNE_SEEDS,
    describe_setting,
    pair_figure,
    paired_note,
    run_schedule,
    setting,
    tune,
    tune_seeds,
)

NAME = "lm-schedulefree"
QUESTION = "On a language model, does schedule-free AdamW (no schedule) end as low as the best tuned schedule?"
TOL = 0.02                      # bits per character: "as low as"
TOLS = (0.0, 0.02, 0.05)
CLAIM = (f"schedule-free AdamW at its tuned lr ends within {TOL:g} bits/char of the best tuned schedule "
         "(WSD 1-sqrt or linear decay to zero, schedule and lr chosen on validation seeds)")
SCHEDULES = {"wsd 1-sqrt": "wsd('100%', '5%', '20%', shape='1-sqrt')", "linear to 0": "warmup('5%') >> linear('rest')"}
SF_SCALE = 2.0                  # schedule-free's grid: the AdamW grid times this
KNOBS = ("tolerance",)


def _sf(s, lr: float, seed: int) -> dict:
    return run_schedule(s, "constant()", lr, seed, optimizer="schedulefree", warmup_steps=max(1, round(0.05 * s.steps)))


def progress_total(seeds: int, quick: bool) -> int:
    return (len(SCHEDULES) + 1) * len(setting(quick).lrs) * TUNE_SEEDS + 2 * seeds


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Tune both arms, run every seed, check (module doc). Returns ``(result, figure)``."""
    s = setting(quick)
    sf_lrs = tuple(SF_SCALE * lr for lr in s.lrs)
    lr_sf, tune_sf = tune(lambda lr, seed: _sf(s, lr, seed), sf_lrs, seeds, progress, "schedule-free")
    tuned = {name: tune(lambda lr, seed, t=text: run_schedule(s, t, lr, seed), s.lrs, seeds, progress, name)
             for name, text in SCHEDULES.items()}
    best = min(SCHEDULES, key=lambda n: tuned[n][1][tuned[n][0]])
    lr_best = tuned[best][0]
    fin = {}
    for seed in seeds:
        fin[seed] = (_sf(s, lr_sf, seed)["test"], run_schedule(s, SCHEDULES[best], lr_best, seed)["test"])
        if progress is not None:
            progress.advance(f"seed {seed}", n=2)

    def measure(tol, seed):
        a, b = fin[seed]
        ok = (a if math.isfinite(a) else math.inf) <= (b if math.isfinite(b) else math.inf) + tol
        return [Check(f"schedule-free ends within {tol:g} bits/char of {best} (or lower)", ok,
                      f"schedule-free {a:.4f} vs {best} {b:.4f} (diff {a - b:+.4f})")], \
            {"test schedule-free": a, f"test {best}": b, "diff": a - b}

    cells = sweep(list(KNOBS), TOLS, seeds, measure, average=np.mean)
    default = next(c for c in cells if c.setting["tolerance"] == TOL)
    rows = [{**c.setting, **{f"mean {k}": v for k, v in c.numbers.items()}, "pass rate": c.pass_rate} for c in cells]
    result = ExperimentResult(NAME, QUESTION, CLAIM, list(KNOBS), default, cells, rows, dict(default.numbers),
                              quick=quick)
    grid = "; ".join(f"{n}: " + ", ".join(f"{lr:g}: {v:.4f}" for lr, v in tuned[n][1].items()) for n in SCHEDULES)
    result.notes.append(f"tuning seeds {tune_seeds(seeds)}, mean validation bits: schedule-free: "
                        + ", ".join(f"{lr:g}: {v:.4f}" for lr, v in tune_sf.items()) + f"; {grid}")
    result.notes.append(f"chosen: schedule-free at lr {lr_sf:g}; best schedule {best} ({SCHEDULES[best]}) at lr "
                        f"{lr_best:g}")
    result.notes.append(paired_note([a - b for a, b in fin.values()], f"test bits, schedule-free minus {best}"))
    result.notes.append(f"setting: {describe_setting(s)}; schedule-free grid {', '.join(f'{x:g}' for x in sf_lrs)}")
    result.numbers.update({"lr schedule-free": lr_sf, "lr best schedule": lr_best})
    pts = {"tuned": [fin[sd] for sd in seeds]}
    return result, pair_figure(pts, ("schedule-free", best), cells, f"{NAME}: test bits per seed")
