"""Plots of schedules (matplotlib, PNG), imported lazily.

Every figure is an explicit ``matplotlib.figure.Figure`` drawn by the Agg
canvas: nothing touches pyplot's global state, so a caller's backend (a
notebook's inline display, a GUI) is never switched or disturbed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import MissingDependencyError
from .schedules import Schedule

__all__ = ["figure", "plot_schedules", "save"]


def figure(width: float = 9.0, height: float = 5.0, dpi: int = 110) -> Any:
    """A new ``matplotlib.figure.Figure`` with its own Agg canvas (no pyplot, no backend change).

    >>> fig = figure(4, 3)
    >>> ax = fig.add_subplot()
    >>> type(fig.canvas).__name__
    'FigureCanvasAgg'
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError("matplotlib", "plot") from None
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Any, path: str) -> str:
    """Write ``fig`` as a PNG at ``path`` (labels kept inside the image); returns ``path``."""
    fig.savefig(path, format="png", bbox_inches="tight")
    return path


def plot_schedules(schedules: Iterable[Schedule], steps: int, path: str, *, base: float = 1.0,
                   log: bool = False, labels: Iterable[str] | None = None, title: str | None = None) -> str:
    """Draw each schedule over steps ``0..steps-1`` (times ``base``) into one PNG at ``path``.

    Each curve is labelled with its full text form (or ``labels``). Returns ``path``.

    >>> import lrkit as lk, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "s.png")
    >>> plot_schedules([lk.cosine(100)], 100, out) == out and os.path.getsize(out) > 0
    True
    """
    schedules = list(schedules)
    labels = list(labels) if labels is not None else [str(s) for s in schedules]
    ts = np.arange(steps, dtype=np.float64)
    fig = figure()
    ax = fig.add_subplot()
    for s, label in zip(schedules, labels):
        ax.plot(ts, s.values(ts) * base, label=label, lw=1.4)
    ax.set_xlabel("step")
    ax.set_ylabel("value" if base == 1.0 else f"value x {base:g}")
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return save(fig, path)
