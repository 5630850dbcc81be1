"""The range-test figure: loss against lr on a log axis, the suggestions marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .curve import centred

if TYPE_CHECKING:  # pragma: no cover
    from .result import RangeTestResult

__all__ = ["plot_result"]

_COLORS = {"steepest": "tab:red", "valley": "tab:green", "min/10": "tab:purple", "rise/4": "tab:brown",
           "edge/3": "black"}


def _ylim(r: RangeTestResult) -> tuple[float, float] | None:
    """Keep the falling part readable: the divergent tail may be off the chart."""
    s = r.smoothed
    if len(s) < 2:
        return None
    bottom = int(np.argmin(s)) + 1
    lo = float(min(s.min(), r.losses[:bottom].min()))
    top = float(max(s[:bottom].max(), r.losses[:bottom].max() if bottom < 5 else s[0]))
    pad = 0.08 * (top - lo) if top > lo else 0.5 * abs(top) + 1e-12
    return lo - pad, top + 3 * pad


def _draw(ax, r: RangeTestResult) -> None:
    if len(r.lrs):
        ax.plot(r.lrs, r.losses, color="0.6", lw=0.8, alpha=0.7, label="loss")
        ax.plot(r.lrs, r.smoothed, color="tab:blue", lw=2.0, label=f"smoothed (smooth={r.smooth:g})")
        ax.plot(r.lrs, centred(r.lrs, r.losses), color="tab:cyan", lw=1.0, ls="--", label="centred (no lag)")
        ax.set_xscale("log")
        lim = _ylim(r)
        if lim:
            ax.set_ylim(*lim)
    if r.range:
        ax.axvspan(*r.range, color="tab:orange", alpha=0.12, label=f"range {r.range[0]:.2g} .. {r.range[1]:.2g}")
    for name, lr in r.suggestions.items():
        if lr is not None:
            chosen = name == r.method
            ax.axvline(lr, color=_COLORS.get(name, "k"), lw=2.2 if chosen else 1.0, ls="-" if chosen else "--",
                       label=f"{name} {lr:.3g}" + ("  <- suggestion" if chosen else ""))


def plot_result(r: RangeTestResult, path: str | None = None, *, title: str | None = None):
    """Draw ``r`` (see :meth:`RangeTestResult.plot`) on a new ``matplotlib.figure.Figure`` (no pyplot, no
    backend switch: the caller's matplotlib settings are left alone); a PNG at ``path`` or the Figure."""
    from ..plot import figure

    fig = figure(8, 4.8, dpi=110)
    ax = fig.add_subplot()
    _draw(ax, r)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(title or (f"LR range test: suggestion {r.suggestion:.3g} ({r.method})"
                           if r.suggestion is not None else "LR range test: no suggestion"))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    fig.text(0.01, 0.01, r.reason, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    if path is None:
        return fig
    fig.savefig(path, format="png")
    return path
