"""The figures of a comparison (PNG bytes, drawn on explicit ``matplotlib.figure.Figure`` objects).

Every figure draws the **top group** strong and in colour and the other
schedules faded grey, so it reads at a glance:

- ``tuning.png``: the validation metric at the last epoch against the lr (log
  scale), one line per schedule, the chosen lr marked;
- ``differences.png``: each schedule's paired difference to the best on the
  test metric: the mean, a bar to the deciding end of its adjusted interval
  (as in the report's table), and every seed;
- ``curves.png``: small multiples, one panel per schedule: the validation
  metric per epoch of each final seed and their mean, with the best schedule's
  mean in every panel for reference;
- ``lr.png``: small multiples of the lr each schedule used (its chosen lr times
  the schedule; a plateau run's steps come from its reports).

matplotlib's global state (backend, rcParams) is never touched.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from .verdict import Entry, Verdict, ranked

__all__ = ["FIGURES", "draw"]

FIGURES = {
    "tuning.png": "Tuning: the validation metric after the last epoch against the lr (mean over the tuning seeds); "
                  "the dot is the chosen lr; a triangle marks a point below the plotted range (e.g. diverged). "
                  "Top group in colour, the rest grey.",
    "differences.png": "Paired difference to the best schedule on the test metric: the mean (dot), a bar from it to "
                       "the deciding end of its interval adjusted for every comparison (out of the top group when "
                       "the bar does not reach 0; a triangle: the end lies beyond the plotted range), each seed "
                       "(small dots). Top group in colour.",
    "curves.png": "Validation metric per epoch of the final runs: each seed (thin) and the mean (thick); dashed "
                  "grey: the best schedule's mean.",
    "lr.png": "The learning rate of each schedule's final runs (its chosen lr times the schedule); for a plateau "
              "run, dotted: the lr it really used per epoch (the plateau's cuts, first final seed).",
}
_GREY = "#9a9a9a"


def _wrapped(name: str, width: int = 38) -> str:
    """A long schedule name on several lines (a legend shows it whole)."""
    import textwrap

    return "\n".join(textwrap.wrap(name, width, break_long_words=True, break_on_hyphens=False)) or name


def _short(name: str, n: int = 42) -> str:
    return name if len(name) <= n else name[:n - 1] + "…"


def _figure(w: float, h: float, layout: Any = "constrained") -> Any:
    from ..plot import figure

    fig = figure(w, h, dpi=100)
    if layout is not None:
        fig.set_layout_engine(layout)
    return fig


def _grid_figure(n: int, panel_h: float):
    """A figure of ``n`` small panels, four per row, with fixed margins (constrained layout costs seconds here)."""
    cols, rows = min(4, n), -(-n // 4)
    w, h = 2.6 * cols + 0.6, panel_h * rows + 0.7
    fig = _figure(w, h, layout=None)
    fig.subplots_adjust(left=0.75 / w, right=1 - 0.15 / w, bottom=0.5 / h, top=1 - 0.3 / h, wspace=0.12,
                        hspace=0.38 * 1.9 / panel_h)
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return fig, axes


def _png(fig) -> bytes:
    """PNG bytes, reduced to a 256-colour palette when Pillow is there (line plots: 3-4x smaller)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return buf.getvalue()
    small = io.BytesIO()
    with Image.open(io.BytesIO(buf.getvalue())) as img:
        img.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(small, format="PNG")
    return small.getvalue()


def _colours(entries: list[Entry]) -> dict[str, Any]:
    import matplotlib

    top = [e.name for e in entries if e.in_top_group]
    cmap = matplotlib.colormaps["tab10"]
    tab = [cmap(i) for i in range(10)]
    return {e.name: (tab[top.index(e.name) % len(tab)] if e.name in top else _GREY) for e in entries}


def _dashes(entries: list[Entry]) -> dict[str, str]:
    """Solid lines for the first ten of the top group, dashed for the next ten (the colours repeat)."""
    top = [e.name for e in entries if e.in_top_group]
    return {e.name: ("--" if e.name in top and top.index(e.name) >= 10 else "-") for e in entries}


def tuning(entries: list[Entry], v: Verdict, lrs: list[float]) -> bytes:
    colours, dashes = _colours(entries), _dashes(entries)
    sign = 1.0 if v.mode == "max" else -1.0
    fig = _figure(10.5, 4.8)
    ax = fig.add_subplot()
    chosen = [t["val"] for e in entries for t in e.tuning if t["lr"] == e.lr and t["val"] is not None]
    floor = None
    if chosen:  # zoom on the region where the lr is chosen; points beyond it sit on the edge as triangles
        spread = max(chosen) - min(chosen) or abs(max(chosen)) * 0.01 or 1.0
        floor = (min(chosen) - 3 * spread) if sign > 0 else (max(chosen) + 3 * spread)
    for e in sorted(entries, key=lambda e: e.in_top_group):  # the top group on top
        xs = [t["lr"] for t in e.tuning]
        ys = np.array([np.nan if t["val"] is None else t["val"] for t in e.tuning])
        out = np.zeros(len(ys), bool) if floor is None else (sign * ys < sign * floor)
        ys = np.where(out, floor, ys) if floor is not None else ys
        strong = e.in_top_group
        c, lw, a = colours[e.name], (2.0 if strong else 0.9), (1.0 if strong else 0.55)
        ax.plot(xs, ys, dashes[e.name], color=c, lw=lw, alpha=a, label=_wrapped(e.name) if strong else None,
                zorder=3 if strong else 2)
        ax.plot(np.array(xs)[out], ys[out], "v" if sign > 0 else "^", color=c, ms=5, alpha=a, clip_on=False)
        if e.lr is not None:
            ax.plot([e.lr], [ys[xs.index(e.lr)]], "o", color=c, ms=7 if strong else 4, zorder=4 if strong else 2)
    ax.set_xscale("log")
    ax.set_xticks(lrs, [f"{x:g}" for x in lrs])
    ax.minorticks_off()
    if floor is not None:
        top = max(chosen) if sign > 0 else min(chosen)
        pad = 0.1 * abs(top - floor)
        ax.set_ylim(*sorted((floor, top + sign * pad)))
    ax.set_xlabel("base lr")
    ax.set_ylabel("validation metric, last epoch" + (" (lower is better)" if v.mode == "min" else ""))
    ax.grid(alpha=0.3)
    if any(e.in_top_group for e in entries):
        ax.legend(fontsize=7.5, title="top group", title_fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _png(fig)


def differences(entries: list[Entry], v: Verdict) -> bytes:
    rows = [e for e in ranked(entries, v.mode) if e.mean is not None]
    colours = _colours(entries)
    fig = _figure(8.5, 0.36 * len(rows) + 1.3)
    ax = fig.add_subplot()
    ys = np.arange(len(rows))[::-1]
    pct = v.metric.endswith("accuracy")
    k = 100.0 if pct else 1.0
    best = next(e for e in rows if e.name == v.best)
    diffs = {e.name: [k * (a - b) for a, b in zip(e.values, best.values)] for e in rows}
    seen = [x for d in diffs.values() for x in d] + [0.0]
    pad = 0.15 * (max(seen) - min(seen)) or 1.0
    left, right = min(seen) - pad, max(seen) + pad
    for y, e in zip(ys, rows):
        c = colours[e.name]
        ax.plot(diffs[e.name], [y] * len(diffs[e.name]), ".", color=c, alpha=0.5, ms=4)
        mean = 0.0 if e is best or e.diff_mean is None else k * e.diff_mean
        if e.diff_ci95 is not None:  # from the mean to the end that decides (report table): out when past 0
            end = k * (e.diff_ci95[1] if v.mode == "max" else e.diff_ci95[0])
            shown = min(max(end, left), right)
            ax.plot([mean, shown], [y, y], "-", color=c, lw=2.5 if e.in_top_group else 1.5)
            if shown != end:
                ax.plot([shown], [y], ">" if end > right else "<", color=c, ms=6)
        ax.plot([mean], [y], "D" if e is best else "o", color=c, ms=6)
        if e.p_adjusted is not None:
            ax.annotate(f"p={e.p_adjusted:.2g}", (1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=7, color="#333333")
    ax.set_xlim(left, right)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(ys, [_short(e.name) for e in rows], fontsize=8)
    for label, e in zip(ax.get_yticklabels(), rows):
        label.set_color("black" if e.in_top_group else "#777777")
        label.set_fontweight("bold" if e.in_top_group else "normal")
    ax.set_xlabel(f"difference to {_short(v.best or '', 30)} ({'points of ' if pct else ''}{v.metric}; "
                  "p: adjusted)")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def curves(entries: list[Entry], v: Verdict, records_of: dict[str, list]) -> bytes:
    order = ranked(entries, v.mode)
    colours = _colours(entries)
    fig, axes = _grid_figure(len(order), 1.9)
    best = next((e for e in entries if e.name == v.best), None)
    for ax, e in zip(axes.flat, order):
        c = colours[e.name] if e.in_top_group else "#555555"
        for rec in records_of.get(e.name, []):
            ax.plot(np.arange(1, len(rec.vals) + 1), rec.vals, "-", color=c, lw=0.6, alpha=0.45)
        if e.curve:
            ax.plot(np.arange(1, len(e.curve) + 1), [np.nan if x is None else x for x in e.curve], "-", color=c,
                    lw=2.0 if e.in_top_group else 1.2)
        if best is not None and best.curve and e is not best:
            ax.plot(np.arange(1, len(best.curve) + 1), best.curve, "--", color=_GREY, lw=1.0)
        title = _short(e.name, 34) + ("" if e.status == "compared" else f" [{e.status}]")
        ax.set_title(title, fontsize=7.5, color="black" if e.in_top_group else "#666666",
                     fontweight="bold" if e.in_top_group else "normal")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.supxlabel("epoch", fontsize=9, y=0.08 / fig.get_figheight())
    fig.supylabel("validation metric", fontsize=9, x=0.08 / fig.get_figwidth())
    _zoom(axes, entries, v)
    return _png(fig)


def _zoom(axes, entries: list[Entry], v: Verdict) -> None:
    """Shared y-limits around the compared curves' second halves (where schedules differ)."""
    vals = [x for e in entries if e.curve for x in e.curve[len(e.curve) // 2:] if x is not None]
    if vals:
        lo, hi = min(vals), max(vals)
        pad = 0.5 * (hi - lo) + 1e-12
        axes.flat[0].set_ylim(lo - pad, hi + 0.3 * pad)


def lr_curves(entries: list[Entry], v: Verdict, spe: int | None, epochs: int, records_of: dict[str, list],
              schedules: dict[str, Any]) -> bytes:
    order = ranked(entries, v.mode)
    colours = _colours(entries)
    fig, axes = _grid_figure(len(order), 1.6)
    steps = spe or 100  # x is in epochs; a nominal 100 steps per epoch when the job did not know
    ts = np.arange(epochs * steps, dtype=np.float64)
    top = 0.0
    for ax, e in zip(axes.flat, order):
        c = colours[e.name] if e.in_top_group else "#555555"
        lr = e.lr if e.lr is not None else math.nan
        s = schedules[e.name].bind(total_steps=epochs * steps, steps_per_epoch=steps)
        ys = lr * s.values(ts)
        top = max(top, float(np.nanmax(ys)) if np.isfinite(ys).any() else 0.0)
        ax.plot(ts / steps, ys, "-", color=c, lw=1.3)
        recs = records_of.get(e.name, [])
        if recs and recs[0].task.plateau is not None and recs[0].history and "lr" in recs[0].history[0]:
            ep = [h["epoch"] for h in recs[0].history]
            ax.step(ep, [h["lr"] for h in recs[0].history], where="pre", color=c, lw=0.8, ls=":")
        ax.set_title(_short(e.name, 34) + ("" if e.lr is None else f"  (lr {e.lr:g})"), fontsize=7.5,
                     color="black" if e.in_top_group else "#666666")
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes.flat[0].set_ylim(0, 1.05 * top or 1.0)  # shared: every schedule on the same lr scale
    fig.supxlabel("epoch", fontsize=9, y=0.08 / fig.get_figheight())
    fig.supylabel("learning rate", fontsize=9, x=0.08 / fig.get_figwidth())
    return _png(fig)


def draw(entries: list[Entry], v: Verdict, *, lrs: list[float], spe: int | None, epochs: int,
         records_of: dict[str, list], schedules: dict[str, Any]) -> dict[str, bytes]:
    """Every figure as PNG bytes, by file name (see :data:`FIGURES`)."""
    out = {"tuning.png": tuning(entries, v, lrs)}
    if any(e.mean is not None for e in entries):
        out["differences.png"] = differences(entries, v)
    out["curves.png"] = curves(entries, v, records_of)
    out["lr.png"] = lr_curves(entries, v, spe, epochs, records_of, schedules)
    return out
