"""What the language-model experiments share: their setting, one run, lr tuning, paired checks, a figure.

Every run is the lab's ``pycode`` training (:class:`lrkit.lab.lm.Trainer`: a
real ``torch.optim.AdamW`` driven by :class:`lrkit.torch.Scheduler`, on a
stream of windows of the standard library's text that never repeats), scored
in bits per character on fixed validation and test windows.

The protocol of a comparison (each arm at its own tuned lr):

- **tune**: every arm at every lr of the grid on :data:`TUNE_SEEDS` tuning
  seeds (``TUNE_BASE + seeds[0] + i``: never a final seed); each arm keeps the
  lr of its lowest mean **validation** bits;
- **final**: every arm on every final seed; the claim reads the **test** bits,
  paired by seed (same initial weights, same windows for every arm of a seed).

The setting is small so that an experiment fits a shared 2-core CPU:
:data:`SETTING` (a 1-block transformer of width 64, batch 8 windows of 64
characters) for :data:`STEPS` updates. ``quick`` shrinks it to seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..lab.corpus import Stream, eval_windows, load_corpus
from ..lab.lm import Trainer
from ..lab.pycode import check_config, model_of
from ..lab.train import threads
from .base import Check, Progress

__all__ = ["LRS", "SETTING", "STEPS", "TUNE_SEEDS", "Setting", "bits_text", "lower", "run_schedule", "setting",
           "tune"]

SETTING: dict[str, Any] = {"model": "transformer", "width": 64, "layers": 1, "heads": 4, "context": 64,
                           "batch_size": 8, "weight_decay": 0.1, "clip": 1.0, "val_windows": 128,
                           "test_windows": 512}
QUICK: dict[str, Any] = {**SETTING, "width": 16, "heads": 2, "context": 32, "batch_size": 4, "val_windows": 16,
                         "test_windows": 32}
STEPS, QUICK_STEPS = 400, 40
LRS = (7e-3, 1.4e-2, 2.8e-2)        # the AdamW peak-lr grid (x2 apart)
TUNE_SEEDS = 2
TUNE_BASE = 1 << 40                  # tuning seeds: TUNE_BASE + seeds[0] + i


@dataclass(frozen=True)
class Setting:
    """What every run of one experiment shares: the checked ``pycode`` settings, the run length, the lr grid."""

    cfg: dict
    steps: int
    lrs: tuple[float, ...]
    quick: bool

    def windows(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """The fixed evaluation windows of ``"val"`` or ``"test"``."""
        count = self.cfg["val_windows" if split == "val" else "test_windows"]
        return eval_windows(load_corpus().split(split), context=self.cfg["context"], count=count)

    def trainer(self, schedule: Any, lr: float, seed: int, *, optimizer: str = "adamw",
                warmup_steps: int = 0) -> Trainer:
        """A fresh run: the model and windows of ``seed``, AdamW (or schedule-free AdamW) at ``lr``."""
        cfg = self.cfg
        stream = Stream(load_corpus().train, context=cfg["context"], batch_size=cfg["batch_size"], seed=seed)
        return Trainer(model_of(cfg, seed), stream, schedule, lr=lr, weight_decay=cfg["weight_decay"],
                       clip=cfg["clip"], optimizer=optimizer, warmup_steps=warmup_steps)


def setting(quick: bool, lrs: Sequence[float] = LRS) -> Setting:
    """The experiments' setting (``quick``: a tiny model for 40 steps, the first and last lr of the grid)."""
    cfg = check_config(QUICK if quick else SETTING, "experiment")
    return Setting(cfg, QUICK_STEPS if quick else STEPS, (lrs[0], lrs[-1]) if quick else tuple(lrs), quick)


def run_schedule(s: Setting, schedule: str, lr: float, seed: int, *, steps: int | None = None,
                 optimizer: str = "adamw", warmup_steps: int = 0) -> dict[str, float]:
    """One run of ``schedule`` (run-relative text, bound to ``steps``): ``{"val", "test", "train"}`` in bits."""
    from .. import parse

    steps = s.steps if steps is None else steps
    with threads(1):
        tr = s.trainer(parse(schedule).bind(total_steps=steps), lr, seed, optimizer=optimizer,
                       warmup_steps=warmup_steps)
        train = tr.advance(steps)
        return {"val": tr.bits(*s.windows("val")), "test": tr.bits(*s.windows("test")), "train": train}


def tune_seeds(seeds: Sequence[int]) -> list[int]:
    """The tuning seeds of a block of final seeds: ``TUNE_BASE + seeds[0] + i`` (never a final seed)."""
    return [TUNE_BASE + int(seeds[0]) + i for i in range(TUNE_SEEDS)]


def _key(v: float) -> float:
    return v if math.isfinite(v) else math.inf


def tune(runs: Callable[..., dict], lrs: Sequence[float], seeds: Sequence[int],
         progress: Progress | None = None, label: str = "") -> tuple[float, dict[float, float]]:
    """The lr of ``lrs`` with the lowest mean validation bits over the tuning seeds of ``seeds``
    (a diverged run counts as infinitely bad), and every lr's mean."""
    means = {}
    for lr in lrs:
        vals = [_key(runs(lr, t)["val"]) for t in tune_seeds(seeds)]
        means[lr] = float(np.mean(vals))
        if progress is not None:
            progress.advance(f"tune {label} lr={lr:g}", n=TUNE_SEEDS)
    return min(lrs, key=lambda lr: means[lr]), means


def lower(a: float, b: float, margin: float = 0.0) -> bool:
    """``a < b - margin`` with a non-finite (diverged) value counted as infinitely bad on either side."""
    return _key(a) < _key(b) - margin


def bits_text(a: float, b: float, names: Sequence[str]) -> str:
    """``1-sqrt 2.512 vs linear 2.530 (diff -0.018)`` for two bits per character."""
    return f"{names[0]} {a:.4f} vs {names[1]} {b:.4f} (diff {a - b:+.4f})"


def paired_note(diffs: Sequence[float], what: str) -> str:
    """The mean of paired differences with its 95% t interval (the spread of the seeds), as a note."""
    from scipy import stats

    d = np.array([x for x in diffs if math.isfinite(x)])
    if len(d) < 2:
        return f"{what}: too few finite pairs for an interval ({len(d)})"
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return f"{what}: mean {d.mean():+.4f} bits/char (95% CI {d.mean() - half:+.4f} .. {d.mean() + half:+.4f}, " \
           f"{len(d)} seeds, paired)"


def check_lower(a: float, b: float, names: Sequence[str], margin: float = 0.0) -> Check:
    """The check "``names[0]`` ends lower than ``names[1]``" (by more than ``margin`` bits)."""
    rule = f"{names[0]} ends lower than {names[1]}" + (f" by > {margin:g} bits/char" if margin else "")
    return Check(rule, lower(a, b, margin), bits_text(a, b, names))


def pair_figure(pairs: dict[str, list[tuple[float, float]]], names: Sequence[str], cells, title: str):
    """Left: each seed's test bits of the two arms, joined (one panel column per setting); right: pass rates."""
    from .base import PASS_RATE
    from .figures import figure, finish

    fig, (ax, ax2) = figure(2, width=5.0)
    for i, pts in enumerate(pairs.values()):
        for a, b in pts:
            if math.isfinite(a) and math.isfinite(b):
                ax.plot([i - 0.15, i + 0.15], [a, b], "-", color="gray", lw=0.6, alpha=0.7)
        ax.plot([i - 0.15] * len(pts), [p[0] for p in pts], "o", color="tab:blue", ms=3,
                label=names[0] if i == 0 else None)
        ax.plot([i + 0.15] * len(pts), [p[1] for p in pts], "o", color="tab:orange", ms=3,
                label=names[1] if i == 0 else None)
    ax.set_xticks(range(len(pairs)), list(pairs), fontsize=7)
    ax.set(ylabel="test bits per character", title=title)
    ax2.bar(range(len(cells)), [c.pass_rate for c in cells], color="tab:green", alpha=0.7)
    ax2.axhline(PASS_RATE, color="tab:red", ls="--", lw=1, label=f"holds: >= {PASS_RATE:.0%} of seeds")
    ax2.set_xticks(range(len(cells)), [c.label() for c in cells], fontsize=6, rotation=20)
    ax2.set(ylim=(0, 1.05), ylabel=f"share of {len(cells[0].seeds)} seeds where the claim held",
            title="where the claim holds")
    return finish(fig, (ax, ax2))


# ------------------------------------------------------- two arms, each tuned
def two_arms(s: Setting, arms: Mapping[str, Callable[..., dict]], seeds: Sequence[int],
             progress: Progress | None = None) -> dict[str, Any]:
    """Tune each arm's lr on the tuning seeds, then run every arm at every lr on every final seed.

    ``arms`` maps a name to ``run(lr, seed) -> {"val", "test", ...}``. Returns ``chosen`` (arm -> lr),
    ``tuning`` (arm -> {lr: mean val}) and ``final`` ((arm, lr, seed) -> the run's numbers).
    """
    chosen, tuning, final = {}, {}, {}
    for name, runs in arms.items():
        chosen[name], tuning[name] = tune(runs, s.lrs, seeds, progress, name)
    for seed in seeds:
        for name, runs in arms.items():
            for lr in s.lrs:
                final[name, lr, seed] = runs(lr, seed)
        if progress is not None:
            progress.advance(f"seed {seed}", n=len(arms) * len(s.lrs))
    return {"chosen": chosen, "tuning": tuning, "final": final}


def arms_total(s: Setting, arms: int, seeds: int) -> int:
    """Progress units of :func:`two_arms`: one per run."""
    return arms * len(s.lrs) * (TUNE_SEEDS + seeds)


def two_schedules(mod: Any, seeds: Sequence[int], quick: bool, progress: Progress | None):
    """The experiment of module ``mod``: its two ``ARMS`` (name -> schedule text), each at its own tuned lr,
    checked with its ``MARGIN``. Returns ``(result, figure)``."""
    s = setting(quick)
    arms = {name: (lambda lr, seed, text=text: run_schedule(s, text, lr, seed)) for name, text in mod.ARMS.items()}
    out = two_arms(s, arms, seeds, progress)
    return arms_result(mod, s, out, tuple(mod.ARMS), seeds, mod.MARGIN)


def arms_cells(out: dict, names: Sequence[str], seeds: Sequence[int], lrs: Sequence[float],
               margin: float = 0.0) -> list:
    """The cells of a two-arm claim: ``lr=tuned`` (each arm at its own tuned lr: the claim) first,
    then each lr of the grid with both arms at that lr (where it holds across the peak lr)."""
    from .base import sweep

    a, b = names
    fin, chosen = out["final"], out["chosen"]

    def measure(lr, seed):
        la, lb = (chosen[a], chosen[b]) if lr == "tuned" else (lr, lr)
        ta, tb = fin[a, la, seed]["test"], fin[b, lb, seed]["test"]
        return [check_lower(ta, tb, names, margin)], {f"test {a}": ta, f"test {b}": tb, "diff": ta - tb}

    return sweep(["lr"], ["tuned", *lrs], seeds, measure, average=np.mean)


def arms_result(mod: Any, s: Setting, out: dict, names: Sequence[str], seeds: Sequence[int],
                margin: float = 0.0):
    """The :class:`ExperimentResult` and figure of a two-arm comparison measured by :func:`two_arms`."""
    from .base import ExperimentResult

    cells = arms_cells(out, names, seeds, s.lrs, margin)
    default = cells[0]
    rows = [{**c.setting, **{f"mean {k}": v for k, v in c.numbers.items()}, "pass rate": c.pass_rate}
            for c in cells]
    result = ExperimentResult(mod.NAME, mod.QUESTION, mod.CLAIM, ["lr"], default, cells, rows,
                              dict(default.numbers), quick=s.quick)
    a, b = names
    for name in names:
        tuned = ", ".join(f"{lr:g}: {v:.4f}" for lr, v in out["tuning"][name].items())
        result.notes.append(f"{name}: tuned lr {out['chosen'][name]:g} (mean validation bits on tuning seeds "
                            f"{tune_seeds(seeds)}: {tuned})")
    diffs = [out["final"][a, out["chosen"][a], sd]["test"] - out["final"][b, out["chosen"][b], sd]["test"]
             for sd in seeds]
    result.notes.append(paired_note(diffs, f"test bits, {a} minus {b}, each at its tuned lr"))
    result.numbers.update({f"lr {n}": out["chosen"][n] for n in names})
    result.notes.append(f"setting: {describe_setting(s)}")
    pts = {c.label(): _pts(out, names, c.setting["lr"], seeds) for c in cells}
    return result, pair_figure(pts, names, cells, f"{mod.NAME}: test bits per seed")


def _pts(out: dict, names: Sequence[str], lr: Any, seeds: Sequence[int]) -> list[tuple[float, float]]:
    a, b = names
    la, lb = (out["chosen"][a], out["chosen"][b]) if lr == "tuned" else (lr, lr)
    return [(out["final"][a, la, sd]["test"], out["final"][b, lb, sd]["test"]) for sd in seeds]


def describe_setting(s: Setting) -> str:
    """One line: model, size, batch, context, steps, lr grid."""
    c = s.cfg
    return (f"{c['model']} width {c['width']} x {c['layers']} layer(s), batch {c['batch_size']} windows of "
            f"{c['context']} characters, {s.steps} AdamW steps (betas 0.9, 0.95; weight decay "
            f"{c['weight_decay']:g}; clip {c['clip']:g}), lr grid {', '.join(f'{x:g}' for x in s.lrs)}; "
            f"{c['val_windows']} validation and {c['test_windows']} test windows")
