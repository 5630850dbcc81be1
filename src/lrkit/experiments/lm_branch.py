"""``lm-branch``: a cooldown branched from a constant-lr checkpoint ends as low as a run planned for its length.

Why WSD lets one run serve many budgets (Hagele et al. 2024; Hu et al. 2024,
MiniCPM): train once at a constant lr after warmup, and at each budget ``N``
branch a cooldown from the checkpoint at ``0.8 N``: the model, the optimizer
state and the scheduler state saved and loaded as a user would, the scheduler
with ``Scheduler.load_state_dict(state, new_schedule=True)`` so that it
continues the saved step under ``wsd(N, W, 0.2 N)``. The alternative is a
separate run planned from step 0 with that same schedule for each budget.

Both arms see the same lr at every step when they share the peak lr, so the
question is the one a practitioner has: the branched runs share **one** lr
(tuned on validation seeds for the full-length run), while a planned run can
be tuned for its own budget. Here: the ``pycode`` transformer (:mod:`.lm_runs`),
budgets of 1/3, 2/3 and all of the run, warmup ``W`` = 5% of the longest.

Claim (per final seed, test bits per character): at every budget the branched
cooldown ends within :data:`TOL` bits of the planned run (or below it).
Region: each budget on its own. The runs also check the machinery: where the
two arms' tuned lrs coincide they are the same computation, so their bits must
agree (reported in the notes).
"""

from __future__ import annotations

import math

import numpy as np

from .. import constant, parse, warmup, wsd
from .base import Check, ExperimentResult, sweep
from .lm_runs import TUNE_SEEDS, Setting, describe_setting, pair_figure, paired_note, setting, tune, tune_seeds
from .nets import threads

NAME = "lm-branch"
QUESTION = ("On a language model, does a cooldown branched from a constant-lr checkpoint end as low as the same "
            "schedule planned from step 0?")
TOL = 0.02                     # bits per character: "as low as"
FRACTIONS = (1 / 3, 2 / 3, 1.0)
CLAIM = (f"at every budget (1/3, 2/3, all of the run) a 20% cooldown branched from one constant-lr run (one lr, "
         f"tuned for the full run) ends within {TOL:g} bits/char of a wsd run planned from step 0 for that budget "
         "(lr tuned for that budget)")
KNOBS = ("budget",)


def budgets(s: Setting) -> list[int]:
    """The run lengths a branch serves: 1/3, 2/3 and all of ``s.steps``."""
    return [round(f * s.steps) for f in FRACTIONS]


def planned(s: Setting, n: int) -> str:
    """The schedule of budget ``n``: ``wsd(n, W, round(0.2 n))``, ``W`` = 5% of the longest run."""
    return str(wsd(n, max(1, round(0.05 * s.steps)), max(1, round(0.2 * n))))


def run_planned(s: Setting, n: int, lr: float, seed: int) -> dict:
    """A run planned from step 0 for ``n`` steps."""
    with threads(1):
        tr = s.trainer(parse(planned(s, n)), lr, seed)
        tr.advance(n)
        return {"val": tr.bits(*s.windows("val")), "test": tr.bits(*s.windows("test"))}


def run_branched(s: Setting, lr: float, seed: int) -> dict[int, dict]:
    """One constant-lr run (after the same warmup); at ``0.8 n`` of each budget ``n`` a cooldown branches off."""
    w = max(1, round(0.05 * s.steps))
    out = {}
    with threads(1):
        main = s.trainer(warmup(w) >> constant(), lr, seed)
        for n in budgets(s):
            cooldown = parse(planned(s, n))
            start = n - max(1, round(0.2 * n))
            main.advance(start - main.step)
            branch = main.branch(cooldown)          # Scheduler.load_state_dict(..., new_schedule=True)
            branch.advance(n - branch.step)
            out[n] = {"val": branch.bits(*s.windows("val")), "test": branch.bits(*s.windows("test"))}
    return out


def progress_total(seeds: int, quick: bool) -> int:
    return 3 * len(setting(quick).lrs) * TUNE_SEEDS + 4 * seeds


def _check(b: float, p: float) -> Check:
    ok = (b if math.isfinite(b) else math.inf) <= (p if math.isfinite(p) else math.inf) + TOL
    return Check(f"branched ends within {TOL:g} bits/char of planned (or lower)", ok,
                 f"branched {b:.4f} vs planned {p:.4f} (diff {b - p:+.4f})")


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Tune, run every seed, check (module doc). Returns ``(result, figure)``."""
    s = setting(quick)
    ns = budgets(s)
    lr_p, tuning = {}, {}
    for n in ns:
        lr_p[n], tuning[n] = tune(lambda lr, seed, n=n: run_planned(s, n, lr, seed), s.lrs, seeds, progress,
                                  f"planned {n}")
    lr_b = lr_p[ns[-1]]                # the branches share the lr tuned for the full-length run
    fin = {}
    for seed in seeds:
        fin[seed] = {"branched": run_branched(s, lr_b, seed),
                     "planned": {n: run_planned(s, n, lr_p[n], seed) for n in ns}}
        if progress is not None:
            progress.advance(f"seed {seed}", n=4)

    def measure(n, seed):
        ns_ = ns if n == "all" else [n]
        pairs = [(fin[seed]["branched"][m]["test"], fin[seed]["planned"][m]["test"]) for m in ns_]
        return [_check(b, p) for b, p in pairs], {"branched": float(np.mean([b for b, _ in pairs])),
                                                  "planned": float(np.mean([p for _, p in pairs])),
                                                  "diff": float(np.mean([b - p for b, p in pairs]))}

    cells = sweep(list(KNOBS), ["all", *ns], seeds, measure, average=np.mean)
    rows = [{**c.setting, **{f"mean test {k}" if k != "diff" else "mean diff": v for k, v in c.numbers.items()},
             "pass rate": c.pass_rate} for c in cells]
    result = ExperimentResult(NAME, QUESTION, CLAIM, list(KNOBS), cells[0], cells, rows, dict(cells[0].numbers),
                              quick=quick)
    tuned = "; ".join(f"budget {n}: lr {lr_p[n]:g} (" + ", ".join(f"{lr:g}: {v:.4f}" for lr, v in tuning[n].items())
                      + ")" for n in ns)
    result.notes.append(f"tuned on seeds {tune_seeds(seeds)} (mean validation bits): {tuned}; the branches "
                        f"use lr {lr_b:g}")
    for n in ns:
        result.notes.append(paired_note([fin[sd]["branched"][n]["test"] - fin[sd]["planned"][n]["test"]
                                         for sd in seeds], f"budget {n}: test bits, branched minus planned"))
    same = [abs(fin[sd]["branched"][n]["test"] - fin[sd]["planned"][n]["test"]) for sd in seeds for n in ns
            if lr_p[n] == lr_b]
    if same:
        result.numbers["max_abs_diff_same_lr"] = float(max(same))
        result.notes.append(f"where both arms run at the same lr ({len(same)} pairs) the branched and the planned "
                            f"run are the same computation: largest |difference| {max(same):.3g} bits/char")
    result.notes.append(f"setting: {describe_setting(s)}")
    pts = {f"budget {n}": [(fin[sd]["branched"][n]["test"], fin[sd]["planned"][n]["test"]) for sd in seeds]
           for n in ns}
    return result, pair_figure(pts, ("branched", "planned"), cells, f"{NAME}: test bits per seed")
