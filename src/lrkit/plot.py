"""Plots of schedules (matplotlib, Agg backend, PNG), imported lazily."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .errors import MissingDependencyError
from .schedules.base import Schedule

__all__ = ["plot_schedules", "pyplot"]


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed).

    >>> plt = pyplot()
    >>> plt.get_backend().lower()
    'agg'
    """
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("matplotlib", "plot") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_schedules(schedules: Iterable[Schedule], steps: int, path: str, *, base: float = 1.0,
                   log: bool = False, labels: Iterable[str] | None = None, title: str | None = None) -> str:
    """Draw each schedule over steps ``0..steps-1`` (times ``base``) into one PNG at ``path``.

    Each curve is labelled with its text form (or ``labels``). Returns ``path``.

    >>> import lrkit as lk, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "s.png")
    >>> plot_schedules([lk.cosine(100)], 100, out) == out and os.path.getsize(out) > 0
    True
    """
    schedules = list(schedules)
    labels = list(labels) if labels is not None else [str(s) for s in schedules]
    plt = pyplot()
    ts = np.arange(steps, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    try:
        for s, label in zip(schedules, labels):
            ax.plot(ts, s.values(ts) * base, label=label if len(label) < 90 else label[:87] + "...", lw=1.4)
        ax.set_xlabel("step")
        ax.set_ylabel("value" if base == 1.0 else f"value x {base:g}")
        if log:
            ax.set_yscale("log")
        if title:
            ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
