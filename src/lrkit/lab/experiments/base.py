"""What every experiment shares: its result, its checks, its table and figure files.

An experiment is a module with ``NAME``, ``QUESTION`` (one line) and
``run(out=None, *, quick=False, seed=0) -> ExperimentResult``. It measures,
checks its claim against the measurement (each :class:`Check` says what was
claimed, whether it held and the numbers behind it) and, given ``out``, writes
``<out>/<name>.png``, ``<out>/<name>.md`` and ``<out>/<name>.csv``.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

__all__ = ["Check", "ExperimentResult", "figure", "finish", "fmt_num", "markdown_table", "mnist1d_subset", "torch_threads",
           "write_outputs"]


@dataclass(frozen=True)
class Check:
    """One claim, whether the measurement supports it, and the measured numbers."""

    claim: str
    holds: bool
    measured: str

    def line(self) -> str:
        """``[PASS] claim: measured`` (or ``[FAIL] ...``)."""
        return f"[{'PASS' if self.holds else 'FAIL'}] {self.claim}: {self.measured}"


@dataclass
class ExperimentResult:
    """The outcome of one experiment.

    ``rows`` is the table (a list of dicts with the same keys), ``numbers``
    the headline measurements by name, ``checks`` the claims tested on them,
    ``notes`` what else the measurement shows (not claimed, e.g. where a
    familiar metric disagrees), ``files`` what was written (empty without ``out``).
    """

    name: str
    question: str
    checks: list[Check]
    rows: list[dict[str, Any]]
    numbers: dict[str, float]
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        """True when every check holds."""
        return all(c.holds for c in self.checks)

    def report(self) -> str:
        """The terminal report: the question, the table, each check, the verdict."""
        lines = [f"{self.name}: {self.question}", "", markdown_table(self.rows), ""]
        lines += [c.line() for c in self.checks]
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"wrote {f}" for f in self.files]
        verdict = "the claim holds" if self.holds else "the claim does NOT hold in this measurement"
        lines.append(f"{self.name}: {verdict}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return {"name": self.name, "question": self.question, "holds": self.holds,
                "checks": [c.__dict__ for c in self.checks], "rows": self.rows,
                "numbers": self.numbers, "notes": self.notes, "files": self.files}


def fmt_num(v: Any) -> str:
    """Numbers to 4 significant digits; NaN/inf and non-numbers as text."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.4g}"


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """A GitHub markdown table of ``rows`` (columns from the first row).

    >>> print(markdown_table([{"lr": 0.1, "loss": 1.23456}]))
    | lr | loss |
    |---|---|
    | 0.1 | 1.235 |
    """
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(fmt_num(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def write_outputs(result: ExperimentResult, out: str | None, fig) -> ExperimentResult:
    """Write the figure (PNG), the table (Markdown and CSV) into ``out``; close ``fig``."""
    plt = _pyplot()
    try:
        if out is None:
            return result
        os.makedirs(out, exist_ok=True)
        png = os.path.join(out, f"{result.name}.png")
        fig.savefig(png, format="png")
        md = os.path.join(out, f"{result.name}.md")
        with open(md, "w", encoding="utf-8") as f:
            f.write(f"# {result.name}\n\n{result.question}\n\n{markdown_table(result.rows)}\n\n")
            f.write("\n".join(f"- {c.line()}" for c in result.checks) + "\n")
            f.write("".join(f"- note: {n}\n" for n in result.notes))
        path_csv = os.path.join(out, f"{result.name}.csv")
        with open(path_csv, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(result.rows[0]))
            w.writeheader()
            w.writerows(result.rows)
        result.files = [png, md, path_csv]
        return result
    finally:
        plt.close(fig)


def _pyplot():
    from ...plot import pyplot

    return pyplot()


def figure(ncols: int, *, width: float = 5.0, height: float = 3.8):
    """A row of ``ncols`` axes (matplotlib on Agg)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), dpi=100, squeeze=False)
    return fig, list(axes[0])


def finish(fig, axes, legend=None):
    """Grid on every axis, a legend on ``legend`` (default: every axis), tight layout; returns ``fig``."""
    for a in axes:
        a.grid(alpha=0.3)
    for a in axes if legend is None else legend:
        a.legend(fontsize=7)
    fig.tight_layout()
    return fig


def mnist1d_subset(n: int):
    """MNIST-1D with only its first ``n`` training samples (validation: all 1000):
    small enough for an MLP to fit exactly and overfit."""
    from ..data import Dataset, load_dataset

    d = load_dataset("mnist1d")
    return Dataset(f"mnist1d[:{n}]", d.x_train[:n], d.y_train[:n], d.x_val, d.y_val, d.n_classes)


@contextlib.contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run torch on ``n`` threads inside the block (small models on a shared CPU
    are several times faster on one thread), then restore the setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
