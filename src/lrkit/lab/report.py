"""The report of a comparison: the table, the verdict, the figures and the files.

How the winner is decided (also printed under every table):

- each run (a schedule, or a schedule with a plateau) is summarised over its
  seeds by the **final validation accuracy**: mean and sample standard
  deviation (``ddof=1``); runs are ranked by that mean, ties broken by the
  mean final validation loss (lower first);
- the **gap** is the winner's mean minus the runner-up's, in percentage points;
  it **exceeds the seed-to-seed spread** when it is larger than the larger of
  the two standard deviations (with one seed there is no spread to compare
  against, and the report says so); the report also counts the seeds on
  which the winner finished ahead of the runner-up (every run of a seed
  shares its initial weights and batches, so seeds pair up);
- **steps to target**: the first epoch end whose validation accuracy is at
  least the target, in optimizer steps, averaged over the seeds that reach it.
  The default target is 98% of the best mean final accuracy of all runs,
  rounded down to 0.1 point (``--target`` sets it).

:func:`write_report` writes ``results.json``, ``report.md``, a self-contained
``report.html`` (figures embedded as base64 PNG data URIs) and the figures
``lr.png``, ``train_loss.png``, ``val_acc.png``, ``final_acc.png``.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import SpecError
from .train import RunResult

__all__ = ["TARGET_FRACTION", "Row", "Summary", "Verdict", "figures", "summarise", "table", "write_report"]

TARGET_FRACTION = 0.98
FIGURES = (("lr.png", "Learning rate of every run (seed 0; every seed where it differs)"),
           ("train_loss.png", "Training loss per epoch, mean over seeds"),
           ("val_acc.png", "Validation accuracy per epoch, mean over seeds (dashed: the target)"),
           ("final_acc.png", "Final validation accuracy: mean ± std over seeds (dot and bar), each seed (ticks)"))


# ------------------------------------------------------------------ summary
def _std(xs: Sequence[float]) -> float:
    return float(np.std(xs, ddof=1)) if len(xs) > 1 else math.nan


def _mean(xs: Iterable[float]) -> float:
    xs = list(xs)
    return float(np.mean(xs)) if xs else math.nan


@dataclass
class Row:
    """One run of the table: its results over seeds (lists in seed order)."""

    label: str
    seeds: list[int]
    final: list[float]
    best: list[float]
    final_loss: list[float]
    steps_to: list[int | None]
    wall: list[float]
    diverged: int = 0
    rank: int = 0

    @property
    def final_mean(self) -> float:
        return _mean(self.final)

    @property
    def final_std(self) -> float:
        return _std(self.final)

    @property
    def best_mean(self) -> float:
        return _mean(self.best)

    @property
    def best_std(self) -> float:
        return _std(self.best)

    @property
    def loss_mean(self) -> float:
        return _mean(self.final_loss)

    @property
    def reached(self) -> int:
        return sum(s is not None for s in self.steps_to)

    @property
    def steps_mean(self) -> float:
        return _mean(s for s in self.steps_to if s is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank, "label": self.label, "seeds": self.seeds,
            "final_acc": {"mean": self.final_mean, "std": self.final_std, "min": min(self.final),
                          "max": max(self.final), "per_seed": self.final},
            "best_acc": {"mean": self.best_mean, "std": self.best_std, "per_seed": self.best},
            "final_val_loss": {"mean": self.loss_mean, "per_seed": self.final_loss},
            "steps_to_target": {"mean": self.steps_mean, "reached": self.reached, "per_seed": self.steps_to},
            "wall_time": {"mean": _mean(self.wall), "per_seed": self.wall},
            "diverged": self.diverged,
        }


@dataclass
class Verdict:
    """Who won, by how much, and whether that beats the seed-to-seed spread."""

    winner: str
    runner_up: str | None = None
    gap: float | None = None          # accuracy, winner mean - runner-up mean (0..1)
    spread: float | None = None       # the larger std of the two (nan with one seed)
    exceeds_spread: bool | None = None
    seeds_ahead: int | None = None    # seeds on which the winner finished above the runner-up
    seeds_paired: int | None = None
    within_spread: int = 0            # other runs whose mean is within the winner's std of it
    tie: bool = False                 # the top two tie on accuracy and validation loss
    text: str = ""


@dataclass
class Summary:
    """Ranked rows, the target accuracy and its rule, and the verdict."""

    rows: list[Row]
    target: float
    target_rule: str
    verdict: Verdict = field(default_factory=lambda: Verdict(""))

    def to_dict(self) -> dict[str, Any]:
        v = self.verdict
        return {"target": self.target, "target_rule": self.target_rule,
                "verdict": {k: getattr(v, k) for k in v.__dataclass_fields__},
                "rows": [r.to_dict() for r in self.rows]}


def _rows(runs: Sequence[RunResult], target: float) -> list[Row]:
    groups: dict[str, list[RunResult]] = {}
    for r in runs:
        groups.setdefault(r.label, []).append(r)
    rows = []
    for label, rs in groups.items():
        rs = sorted(rs, key=lambda r: r.seed)
        rows.append(Row(label, [r.seed for r in rs], [r.final_acc for r in rs], [r.best_acc for r in rs],
                        [r.val_loss[-1] for r in rs], [r.steps_to(target) for r in rs],
                        [r.wall_time for r in rs], sum(r.diverged for r in rs)))
    return rows


def _key(row: Row):
    nan_last = lambda v, sign: math.inf if math.isnan(v) else sign * v  # noqa: E731
    return (nan_last(row.final_mean, -1), nan_last(row.loss_mean, 1))


def summarise(runs: Sequence[RunResult], target: float | None = None) -> Summary:
    """Group ``runs`` by label, rank them, and decide the winner (see the module doc).

    >>> def run(label, seed, acc):
    ...     return RunResult(label, label, seed, 10, [0.1] * 20, [1.0, 0.5], [0.6, 0.4], [acc - 0.1, acc])
    >>> runs = [run(s, seed, a + 0.002 * seed) for s, a in (("a", 0.90), ("b", 0.95)) for seed in (0, 1, 2)]
    >>> v = summarise(runs).verdict
    >>> v.winner, v.runner_up, round(v.gap, 4), v.exceeds_spread, v.seeds_ahead
    ('b', 'a', 0.05, True, 3)
    """
    if not runs:
        raise SpecError("summarise(): runs must hold at least one RunResult; got runs=[]")
    if target is None:
        means = {lab: _mean(accs.values()) for lab, accs in _by_seed(runs).items()}
        top = max(means, key=lambda lab: -math.inf if math.isnan(means[lab]) else means[lab])
        best = means[top] if not math.isnan(means[top]) else 0.0
        target = max(0.001, math.floor(TARGET_FRACTION * best * 1000) / 1000)
        rule = (f"{TARGET_FRACTION:.0%} of the best mean final accuracy ({best:.2%}, `{top}`), "
                "rounded down to 0.1 point")
    else:
        rule = "given (--target)"
    rows = sorted(_rows(runs, target), key=_key)
    for i, row in enumerate(rows, 1):
        row.rank = i
    summary = Summary(rows, float(target), rule)
    summary.verdict = _verdict(rows, _by_seed(runs))
    return summary


def _by_seed(runs: Sequence[RunResult]) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    for r in runs:
        out.setdefault(r.label, {})[r.seed] = r.final_acc
    return out


def _pct(v: float, std: float | None = None) -> str:
    text = f"{100 * v:.2f}%"
    return text if std is None or math.isnan(std) else f"{text} ± {100 * std:.2f}"


def _verdict(rows: list[Row], seeds: dict[str, dict[int, float]]) -> Verdict:
    w = rows[0]
    n = len(w.seeds)
    over = f"mean ± std over {n} seeds" if n > 1 else "one seed"
    if len(rows) == 1:
        return Verdict(w.label, text=f"Only one run, `{w.label}`: nothing to compare it with. "
                                     f"Final validation accuracy {_pct(w.final_mean, w.final_std)} ({over}).")
    r = rows[1]
    gap = w.final_mean - r.final_mean
    spread = max(w.final_std, r.final_std) if n > 1 else math.nan
    pairs = [(seeds[w.label][s], seeds[r.label][s]) for s in w.seeds if s in seeds[r.label]]
    ahead = sum(a > b for a, b in pairs)
    within = sum(1 for x in rows[1:] if n > 1 and w.final_mean - x.final_mean <= w.final_std)
    v = Verdict(w.label, r.label, gap, spread, None if n < 2 else bool(gap > spread), ahead, len(pairs), within)
    parts = []
    if gap > 0:
        parts.append(f"**Winner: `{w.label}`**, final validation accuracy {_pct(w.final_mean, w.final_std)} "
                     f"({over}), **{100 * gap:.2f} points** ahead of the runner-up `{r.label}` "
                     f"({_pct(r.final_mean, r.final_std)}).")
    elif w.loss_mean < r.loss_mean:
        parts.append(f"**Winner: `{w.label}`**, tied with `{r.label}` on final validation accuracy "
                     f"({_pct(w.final_mean)}, {over}) and ahead on validation loss "
                     f"({w.loss_mean:.4g} vs {r.loss_mean:.4g}).")
    else:
        v.tie = True
        parts.append(f"**No winner: `{w.label}` and `{r.label}` tie** on final validation accuracy "
                     f"({_pct(w.final_mean)}, {over}) and on validation loss ({w.loss_mean:.4g}).")
    if n < 2:
        parts.append("With one seed there is no seed-to-seed spread to compare the gap with: "
                     "run more seeds (`--seeds`) before trusting it.")
    elif v.exceeds_spread:
        parts.append(f"The gap is **larger than the seed-to-seed spread** (the larger std of the two is "
                     f"{100 * spread:.2f} points), and `{w.label}` finished ahead on {ahead} of {len(pairs)} seeds.")
    else:
        parts.append(f"The gap is **within the seed-to-seed spread** (the larger std of the two is "
                     f"{100 * spread:.2f} points; `{w.label}` finished ahead on {ahead} of {len(pairs)} seeds): "
                     "on this evidence the two are not distinguishable; more seeds (`--seeds`) would separate "
                     "them if they differ.")
    if n > 1:
        parts.append(f"{within} of the other {len(rows) - 1} runs finished within one std of the winner.")
    lowest = min(rows, key=lambda x: math.inf if math.isnan(x.loss_mean) else x.loss_mean)
    if lowest is not w and not math.isnan(lowest.loss_mean):
        parts.append(f"Lowest final validation loss: `{lowest.label}` ({lowest.loss_mean:.4f}, "
                     f"the winner's {w.loss_mean:.4f}).")
    bad = [x for x in rows if x.diverged]
    if bad:
        parts.append("Diverged (a NaN or infinite training loss): " + ", ".join(
            f"`{x.label}` ({x.diverged} of {len(x.seeds)} seeds)" for x in bad) + ".")
    v.text = " ".join(parts)
    return v


# -------------------------------------------------------------------- table
def _cell(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{100 * mean:.2f}" if math.isnan(std) else f"{100 * mean:.2f} ± {100 * std:.2f}"


def table(summary: Summary) -> tuple[list[str], list[list[str]]]:
    """The header and the cells of the report's table (text, one row per run, ranked).

    >>> runs = [RunResult("a", "a", seed, 5, [0.1] * 10, [1.0, 0.5], [0.6, 0.4], [0.8, acc])
    ...         for seed, acc in enumerate((0.90, 0.92))]
    >>> head, body = table(summarise(runs, target=0.85))
    >>> head[2], head[5], body[0]
    ('final val acc (%)', 'steps to 85.0%', ['1', '`a`', '91.00 ± 1.41', '91.00 ± 1.41', '0.4000', '10', '0.00'])
    """
    head = ["#", "run", "final val acc (%)", "best val acc (%)", "final val loss",
            f"steps to {100 * summary.target:.1f}%", "wall time / run (s)"]
    body = []
    for r in summary.rows:
        n = len(r.seeds)
        steps = "never" if r.reached == 0 else f"{r.steps_mean:.0f}" + ("" if r.reached == n else f" ({r.reached}/{n})")
        label = f"`{r.label}`" + (f" (diverged {r.diverged}/{n})" if r.diverged else "")
        loss = "n/a" if math.isnan(r.loss_mean) else f"{r.loss_mean:.4f}"
        body.append([str(r.rank), label, _cell(r.final_mean, r.final_std), _cell(r.best_mean, r.best_std),
                     loss, steps, f"{_mean(r.wall):.2f}"])
    return head, body


def _notes(summary: Summary, n_seeds: int) -> list[str]:
    return [
        f"Accuracies in %, mean ± sample std (ddof=1) over {n_seeds} seeds; min–max per run in results.json."
        if n_seeds > 1 else "Accuracies in %, one seed (no spread: pass --seeds N for several).",
        "Ranked by mean final validation accuracy, ties by mean final validation loss; the gap to the runner-up "
        "exceeds the seed-to-seed spread when it is larger than the larger std of the two.",
        f"Steps to target: first epoch end with validation accuracy ≥ {100 * summary.target:.1f}% "
        f"(target: {summary.target_rule}), mean over the seeds that reach it (k/n when not all do).",
        "Wall time: seconds of training per run; runs trained together as one batch of models share its time equally.",
    ]


def _setup_lines(setup: dict[str, Any]) -> list[str]:
    d = setup.get("data") or {}
    lines = []
    if d:
        lines.append(f"Data: {d.get('name')} ({d.get('n_train')} train / {d.get('n_val')} validation samples, "
                     f"{d.get('n_features')} features, {d.get('n_classes')} classes).")
    if "model" in setup:
        opt = setup.get("optimizer", "")
        extra = f"momentum {setup['momentum']}, " if setup.get("momentum") is not None else ""
        lines.append(f"Model: {setup['model']}. Optimizer: {opt} ({extra}weight decay {setup.get('weight_decay', 0)}), "
                     f"base lr {setup.get('lr')}; the lr of step t is base lr × schedule(t).")
    if "total_steps" in setup:
        seeds = setup.get("seeds", [])
        lines.append(f"Every run: batch {setup.get('batch_size')}, {setup.get('epochs')} epochs = "
                     f"{setup['total_steps']} steps ({setup.get('steps_per_epoch')} per epoch); "
                     f"seed{'s' if len(seeds) != 1 else ''} {', '.join(map(str, seeds))}: per seed every run "
                     "starts from the same weights and sees the same batches.")
    if setup.get("plateau"):
        lines.append(f"Plateau run: the schedule times the scale of {setup['plateau']}.")
    if "wall_time" in setup:
        how = "each seed's schedules as one batch of models (torch.func.vmap), plateau runs one by one" \
            if setup.get("batched") else "one run after another"
        lines.append(f"Training took {setup['wall_time']:.1f} s ({how}).")
    return lines


# ------------------------------------------------------------------ figures
def _style(i: int):
    import matplotlib

    colors = matplotlib.colormaps["tab20"].colors
    return dict(color=colors[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20], ls=("-", "--", "-.", ":")[(i // 10) % 4])


def _finite_mean(a: np.ndarray) -> np.ndarray:
    """Mean over axis 0 of the finite values; NaN where there are none (no warning)."""
    ok = np.isfinite(a)
    n = ok.sum(axis=0)
    return np.where(n > 0, np.where(ok, a, 0.0).sum(axis=0) / np.maximum(n, 1), np.nan)


def figures(summary: Summary, runs: Sequence[RunResult], out_dir: str) -> list[str]:
    """Write the four PNG figures into ``out_dir``; return their paths.

    ``lr.png`` (the lr of every run per step), ``train_loss.png`` and
    ``val_acc.png`` (per epoch, mean over seeds) and ``final_acc.png`` (mean
    and spread per schedule). Example: ``figures(comparison, "out")``."""
    from ..plot import pyplot

    plt = pyplot()
    order = list(dict.fromkeys(r.label for r in runs))  # the order the runs were given in
    by = {lab: sorted((r for r in runs if r.label == lab), key=lambda r: r.seed) for lab in order}
    paths = []

    def save(fig, name):
        path = os.path.join(out_dir, name)
        fig.savefig(path, format="png")
        plt.close(fig)
        paths.append(path)

    cols = min(5, len(order))
    nrows = -(-len(order) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(2.6 * cols, 1.9 * nrows), dpi=100, sharex=True, squeeze=False)
    for ax, lab in zip(axes.flat, order):
        lrs = [r.lr for r in by[lab]]
        for i, lr in enumerate(lrs if any(lr != lrs[0] for lr in lrs) else lrs[:1]):
            ax.plot(lr, lw=1.2 if i == 0 else 0.8, alpha=1.0 if i == 0 else 0.6, color=_style(order.index(lab))["color"])
        ax.set_title(lab if len(lab) <= 38 else lab[:36] + "…", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(order):]:
        ax.axis("off")
    fig.supxlabel("step", fontsize=8)
    fig.supylabel("learning rate", fontsize=8)
    fig.subplots_adjust(left=0.06, right=0.98, top=1 - 0.3 / nrows, bottom=0.2 / nrows + 0.06,
                        hspace=0.45, wspace=0.25)  # fixed: tight_layout costs a second here
    save(fig, "lr.png")

    for name, key, ylabel, log in (("train_loss.png", "train_loss", "training loss", True),
                                   ("val_acc.png", "val_acc", "validation accuracy", False)):
        fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
        for i, lab in enumerate(order):
            curve = _finite_mean(np.array([getattr(r, key) for r in by[lab]], dtype=float))
            ax.plot(np.arange(1, len(curve) + 1), curve, label=lab, lw=1.4, **_style(i))
        if log:
            ax.set_yscale("log")
        else:
            finals = [row.final_mean for row in summary.rows if not math.isnan(row.final_mean)]
            lo = min(min(finals, default=0.0), summary.target) - 0.04
            ax.set_ylim(max(0.0, lo), min(1.0, max(row.best_mean for row in summary.rows) + 0.01))
            ax.axhline(summary.target, color="k", ls="--", lw=0.8)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        fig.subplots_adjust(left=0.08, right=0.66, top=0.96, bottom=0.1)
        save(fig, name)

    rows = summary.rows
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(rows) + 1.2), dpi=100)
    ys = np.arange(len(rows))[::-1]
    for y, row in zip(ys, rows):
        color = "C3" if row.rank == 1 else "C0"
        std = 0.0 if math.isnan(row.final_std) else row.final_std
        ax.errorbar(100 * row.final_mean, y, xerr=100 * std, fmt="o", color=color, capsize=3, ms=5)
        ax.plot([100 * v for v in row.final], [y] * len(row.final), "|", color="k", alpha=0.5, ms=8)
    ax.axvline(100 * rows[0].final_mean, color="C3", lw=0.8, ls="--")
    ax.set_yticks(ys)
    ax.set_yticklabels([r.label if len(r.label) <= 60 else r.label[:58] + "…" for r in rows], fontsize=7)
    ax.set_xlabel("final validation accuracy (%)")
    ax.grid(alpha=0.3, axis="x")
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.33, right=0.97, top=1 - 0.25 / height, bottom=0.6 / height)
    save(fig, "final_acc.png")
    return paths


# -------------------------------------------------------------------- files
def _plain(v: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, numpy scalars python numbers."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


_NUMBER_LIST = re.compile(r"\[\s+((?:-?[0-9][0-9.eE+-]*|null)(?:,\s+(?:-?[0-9][0-9.eE+-]*|null))*)\s+\]")


def _json(doc: Any) -> str:
    """Indented JSON, but a list of numbers stays on one line (per-step lrs are long)."""
    text = json.dumps(doc, indent=1, allow_nan=False)
    return _NUMBER_LIST.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)


def _markdown(title: str, summary: Summary, setup_lines: list[str], n_seeds: int, images: list[tuple[str, str]]) -> str:
    head, body = table(summary)
    out = [f"# {title}", "", summary.verdict.text, "", *[f"- {line}" for line in setup_lines], "",
           "| " + " | ".join(head) + " |", "|" + "|".join("---:" if i != 1 else "---" for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    out += ["", *[f"- {n}" for n in _notes(summary, n_seeds)], "", "## Figures", ""]
    out += [f"![{cap}]({name})\n\n*{cap}*\n" for name, cap in images]
    return "\n".join(out)


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


_CSS = """body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.6em}table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}td:nth-child(2),th:nth-child(2){text-align:left}
tr.win{background:#fff4d6}code{font:13px ui-monospace,Menlo,Consolas,monospace;background:#f4f4f4;padding:1px 3px}
.verdict{font-size:1.05em;background:#f6f8fa;border-left:4px solid #d9822b;padding:.6em 1em}
.muted{color:#666;font-size:13px}figure{margin:1.5em 0}img{max-width:100%}"""


def _html(title: str, summary: Summary, setup_lines: list[str], n_seeds: int, images: list[tuple[str, str, bytes]]) -> str:
    head, body = table(summary)
    rows = "\n".join(("<tr class='win'>" if i == 0 else "<tr>") + "".join(f"<td>{_inline(c)}</td>" for c in row)
                     + "</tr>" for i, row in enumerate(body))
    figs = "\n".join(f'<figure><img alt="{html.escape(cap)}" src="data:image/png;base64,'
                     f'{base64.b64encode(png).decode("ascii")}"><figcaption class="muted">{html.escape(cap)}'
                     "</figcaption></figure>" for _, cap, png in images)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="verdict">{_inline(summary.verdict.text)}</p>
{''.join(f'<p class="muted">{_inline(s)}</p>' for s in setup_lines)}
<table><thead><tr>{''.join(f'<th>{html.escape(h)}</th>' for h in head)}</tr></thead>
<tbody>
{rows}
</tbody></table>
<ul class="muted">{''.join(f'<li>{_inline(n)}</li>' for n in _notes(summary, n_seeds))}</ul>
<h2>Figures</h2>
{figs}
</body></html>
"""


def write_report(out_dir: str, runs: Sequence[RunResult], *, setup: dict[str, Any] | None = None,
                 config: dict[str, Any] | None = None, target: float | None = None,
                 title: str = "lrkit compare: which schedule wins?") -> Summary:
    """Summarise ``runs`` and write every file of the report into ``out_dir`` (created if needed).

    ``setup`` describes the runs (data, model, optimizer, ...; see
    :meth:`lrkit.lab.compare.Comparison.setup`), ``config`` the settings,
    also written to ``config.json`` so ``lrkit compare --config`` repeats the job.

    >>> import os, tempfile
    >>> runs = [RunResult(s, s, 0, 5, [0.1] * 10, [1.0, 0.5], [0.6, 0.4], [0.8, acc])
    ...         for s, acc in (("constant()", 0.9), ("cosine(10)", 0.95))]
    >>> out = tempfile.mkdtemp()
    >>> write_report(out, runs).verdict.winner
    'cosine(10)'
    >>> sorted(os.listdir(out))
    ['final_acc.png', 'lr.png', 'report.html', 'report.md', 'results.json', 'train_loss.png', 'val_acc.png']
    """
    os.makedirs(out_dir, exist_ok=True)
    setup = dict(setup or {})
    summary = summarise(runs, target)
    n_seeds = max(len(r.seeds) for r in summary.rows)
    paths = figures(summary, runs, out_dir)
    images = []
    for path, (name, cap) in zip(paths, FIGURES):
        with open(path, "rb") as f:
            images.append((name, cap, f.read()))
    lines = _setup_lines(setup)
    doc = {"setup": setup, "config": config, **summary.to_dict(), "runs": [r.to_dict() for r in runs]}
    from .. import __version__

    doc = {"lrkit": __version__, **doc}
    with open(os.path.join(out_dir, "results.json"), "w", encoding="utf-8") as f:
        f.write(_json(_plain(doc)) + "\n")
    if config is not None:
        with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
            json.dump(_plain(config), f, indent=2)
            f.write("\n")
    with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as f:
        f.write(_markdown(title, summary, lines, n_seeds, [(n, c) for n, c, _ in images]))
    with open(os.path.join(out_dir, "report.html"), "w", encoding="utf-8") as f:
        f.write(_html(title, summary, lines, n_seeds, images))
    return summary
