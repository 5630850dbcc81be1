"""Figures of the experiments: explicit ``matplotlib.figure.Figure`` objects (no pyplot state).

Every experiment draws what it measured and, where it sweeps a knob, the
region where its claim holds: the pass rate against the knob (:func:`rate_curve`)
or a map over two knobs (:func:`rate_map`), with the 80% bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import PASS_RATE, Cell

__all__ = ["figure", "finish", "rate_curve", "rate_map"]


def figure(ncols: int, *, width: float = 4.6, height: float = 3.6, dpi: int = 80):
    """A ``Figure`` (:func:`lrkit.plot.figure`) with a row of ``ncols`` axes; returns ``(fig, axes)``."""
    from ..plot import figure as new_figure

    fig = new_figure(width * ncols, height, dpi)
    return fig, list(fig.subplots(1, ncols, squeeze=False)[0])


def finish(fig, axes, legend=None):
    """Grid on every axis, a small legend on ``legend`` (default: every axis), tight layout."""
    for a in axes:
        if not a.images:                      # no grid over a map
            a.grid(alpha=0.3)
    for a in axes if legend is None else legend:
        a.legend(fontsize=7)
    fig.tight_layout()
    return fig


def rate_curve(ax, cells: Sequence[Cell], knob: str, *, log: bool = True, label: str = "pass rate",
               default=None) -> None:
    """The pass rate over the seeds against ``knob``, the 80% bar, the default setting marked."""
    xs = [c.setting[knob] for c in cells]
    ys = [c.pass_rate for c in cells]
    ax.plot(xs, ys, "o-", lw=1.3, label=label)
    ax.axhline(PASS_RATE, color="tab:red", ls="--", lw=1, label=f"holds: >= {PASS_RATE:.0%} of seeds")
    if default is not None:
        ax.axvline(default, color="gray", ls=":", lw=1, label="default setting")
    ax.set(ylim=(-0.05, 1.05), xlabel=knob, ylabel=f"share of {len(cells[0].seeds)} seeds where the claim held",
           title="where the claim holds")
    if log:
        positive = [x for x in xs if x > 0]
        if len(positive) < len(xs):
            ax.set_xscale("symlog", linthresh=min(positive))
        else:
            ax.set_xscale("log")
        ax.minorticks_off()
    ax.set_xticks(xs, [f"{x:g}" for x in xs], fontsize=7)


def rate_map(fig, ax, cells: Sequence[Cell], xknob: str, yknob: str, *, default=None) -> None:
    """A map of the pass rate over two knobs; settings where the claim holds are outlined."""
    xs = sorted({c.setting[xknob] for c in cells})
    ys = sorted({c.setting[yknob] for c in cells})
    grid = np.full((len(ys), len(xs)), np.nan)
    for c in cells:
        grid[ys.index(c.setting[yknob]), xs.index(c.setting[xknob])] = c.pass_rate
    im = ax.imshow(grid, origin="lower", cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(grid):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=7,
                    fontweight="bold" if v >= PASS_RATE else "normal")
            if v >= PASS_RATE:
                ax.add_patch(_box(j, i))
    if default is not None:
        ax.plot(xs.index(default[0]) - 0.32, ys.index(default[1]) + 0.28, "k*", ms=8, label="default setting")
    ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs], fontsize=7)
    ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys], fontsize=7)
    ax.set(xlabel=xknob, ylabel=yknob, title=f"pass rate (outlined: >= {PASS_RATE:.0%}; star: default)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)


def _box(j, i):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=1.5, ec="k")
