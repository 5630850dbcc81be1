"""``lm-warmup``: on the language model, warmup widens the band of peak lrs that train well.

The seeds' ``warmup`` experiment shows warmup taming an early spike on an MLP;
Kalra & Barkeshli (2024, "Why warmup the learning rate?") give the mechanism:
warmup lets the sharpness fall while the lr is small, so a larger peak lr stays
stable. For a practitioner that shows up as a wider band of good peak lrs.
Here: the ``pycode`` transformer (:mod:`.lm_runs`) with AdamW, ``cosine('100%')``
against ``warmup('10%') >> cosine('rest')`` at every peak lr of a grid 2x apart
spanning 16x (:data:`PEAKS`).

Claim (per final seed): the band of peak lrs whose test bits per character are
within :data:`BAND` of the best of that seed (over both arms and every lr) is
wider with warmup than without (more grid points). Region: the same claim for
other widths of "good" (:data:`BANDS`). No lr is chosen here: the band is read
on the final seeds' test bits over the whole grid.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Check, ExperimentResult, sweep
from .lm_runs import describe_setting, run_schedule, setting

NAME = "lm-warmup"
QUESTION = "On a language model with AdamW, does warmup widen the band of peak lrs that train well?"
BAND = 0.05                        # bits per character above the seed's best that still "trains well"
BANDS = (0.02, 0.05, 0.1)
PEAKS = (7e-3, 1.4e-2, 2.8e-2, 5.6e-2, 1.12e-1)
CLAIM = (f"more peak lrs (of {len(PEAKS)}, 2x apart) end within {BAND:g} bits/char of the seed's best test bits "
         "with warmup('10%') >> cosine('rest') than with cosine('100%')")
ARMS = {"no warmup": "cosine('100%')", "warmup": "warmup('10%') >> cosine('rest')"}
KNOBS = ("band",)


def peaks(quick: bool) -> tuple[float, ...]:
    return (PEAKS[0], PEAKS[2], PEAKS[-1]) if quick else PEAKS


def progress_total(seeds: int, quick: bool) -> int:
    return len(ARMS) * len(peaks(quick)) * seeds


def _width(tests: dict[float, float], best: float, band: float) -> int:
    return sum(1 for v in tests.values() if math.isfinite(v) and v <= best + band)


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Run both arms at every peak lr on every seed, check (module doc). Returns ``(result, figure)``."""
    s = setting(quick)
    grid = peaks(quick)
    res = {}
    for seed in seeds:
        for arm, text in ARMS.items():
            for lr in grid:
                res[arm, lr, seed] = run_schedule(s, text, lr, seed)["test"]
            if progress is not None:
                progress.advance(f"seed {seed} {arm}", n=len(grid))

    def measure(band, seed):
        tests = {arm: {lr: res[arm, lr, seed] for lr in grid} for arm in ARMS}
        best = min((v for t in tests.values() for v in t.values() if math.isfinite(v)), default=math.inf)
        wn, ww = (_width(tests[a], best, band) for a in ARMS)
        return [Check(f"more peak lrs within {band:g} bits/char of the best with warmup than without", ww > wn,
                      f"{ww} with warmup, {wn} without (best {best:.4f})")], \
            {"band no warmup": wn, "band warmup": ww}

    cells = sweep(list(KNOBS), [BAND, *(b for b in BANDS if b != BAND)], seeds, measure, average=np.mean)
    cells.sort(key=lambda c: c.setting["band"])
    default = next(c for c in cells if c.setting["band"] == BAND)
    rows = [{**c.setting, **{f"mean {k}": v for k, v in c.numbers.items()}, "pass rate": c.pass_rate} for c in cells]
    result = ExperimentResult(NAME, QUESTION, CLAIM, list(KNOBS), default, cells, rows, dict(default.numbers),
                              quick=quick)
    for arm in ARMS:
        means = ", ".join(f"{lr:g}: {np.mean([res[arm, lr, sd] for sd in seeds]):.4f}" for lr in grid)
        result.notes.append(f"{arm}: mean test bits by peak lr: {means}")
    diverged = {arm: sum(not math.isfinite(res[arm, lr, sd]) for lr in grid for sd in seeds) for arm in ARMS}
    result.notes.append(f"diverged runs: {diverged}")
    result.notes.append(f"setting: {describe_setting(s)} (peak lrs {', '.join(f'{x:g}' for x in grid)})")
    return result, _figure(res, seeds, grid, cells)


def _figure(res, seeds, grid, cells):
    """Test bits against peak lr, every seed, both arms; pass rate against the band."""
    from .base import PASS_RATE
    from .figures import figure, finish

    fig, (ax, ax2) = figure(2, width=5.0)
    for arm, color in zip(ARMS, ("tab:red", "tab:blue")):
        for i, sd in enumerate(seeds):
            ys = [res[arm, lr, sd] if math.isfinite(res[arm, lr, sd]) else np.nan for lr in grid]
            ax.plot(grid, ys, "o-", color=color, lw=0.7, ms=3, alpha=0.7, label=arm if i == 0 else None)
    ax.set(xscale="log", xlabel="peak lr", ylabel="test bits per character", title=f"{NAME}: {len(seeds)} seeds")
    xs = [c.setting["band"] for c in cells]
    ax2.plot(xs, [c.pass_rate for c in cells], "o-", label="pass rate")
    ax2.axhline(PASS_RATE, color="tab:red", ls="--", lw=1, label=f"holds: >= {PASS_RATE:.0%} of seeds")
    ax2.set(ylim=(-0.05, 1.05), xlabel="band: bits/char above the best that count as good",
            ylabel="share of seeds where the claim held", title="where the claim holds")
    return finish(fig, (ax, ax2))
