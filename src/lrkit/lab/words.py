"""The words of a comparison: the verdict line, the lead paragraph and the flags of a row.

Pure functions of the numbers in :mod:`lrkit.lab.verdict`; Markdown (``**bold**``,
```code```) that the HTML report renders too.
"""

from __future__ import annotations

from .verdict import Entry, Verdict

__all__ = ["edge_warning", "flags", "headline", "paragraph", "show"]


def show(v: float | None, metric: str, *, diff: bool = False) -> str:
    """A metric value as text: accuracies in %, other metrics with 4 significant digits.

    >>> show(0.97861, "test accuracy"), show(-0.0123, "test accuracy", diff=True), show(0.3141592, "test")
    ('97.86%', '-1.23 pts', '0.3142')
    """
    if v is None:
        return "n/a"
    if metric.endswith("accuracy"):
        return f"{100 * v:+.2f} pts" if diff else f"{100 * v:.2f}%"
    return f"{v:+.4g}" if diff else f"{v:.4g}"


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _p(p: float | None) -> str:
    return "n/a" if p is None else ("< 0.0001" if p < 1e-4 else f"{p:.4f}" if p < 0.01 else f"{p:.3f}")


def headline(v: Verdict, entries: list[Entry]) -> str:
    """The one line that ends ``lrkit compare`` (after ``verdict: ``)."""
    compared = [e for e in entries if e.status == "compared"]
    if not compared or v.best is None:
        return "no verdict: no schedule completed its final runs (" + _status_counts(entries) + ")"
    best = next(e for e in entries if e.name == v.best)
    seeds = f"{v.n_seeds} seed{'s' if v.n_seeds != 1 else ''}"
    lead = f"{v.best} ({show(best.mean, v.metric)} {v.metric}, mean of {seeds})"
    if len(compared) == 1:
        rest = "" if len(entries) == 1 else f"; the others did not complete ({_status_counts(entries)})"
        return f"no significant winner: only {lead} was compared{rest}"
    if v.n_seeds < 2:
        return f"no significant winner: one seed allows no paired test (use --seeds 2 or more); best mean: {lead}"
    if v.winner is not None:
        worst_p = max((e.p_adjusted for e in compared if e.name != v.winner and e.p_adjusted is not None),
                      default=None)
        return (f"winner {lead}: significantly better than each of the other {len(compared) - 1} "
                f"(adjusted p <= {_p(worst_p)}, familywise error {v.alpha})")
    group = v.top_group
    why = f"; {', '.join(v.blocked_by)} failed, so no winner can be named" if v.blocked_by else ""
    if len(group) == len(compared):
        return (f"no significant winner: none of the {len(compared)} schedules is significantly worse than "
                f"the best mean, {lead}{why}")
    return (f"no significant winner; top group of {len(group)} of {len(compared)}: {', '.join(group)} "
            f"(best mean: {lead}){why}")


def _status_counts(entries: list[Entry]) -> str:
    counts: dict[str, int] = {}
    for e in entries:
        if e.status != "compared":
            counts[e.status] = counts.get(e.status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items()) or "none"


def paragraph(v: Verdict, entries: list[Entry]) -> str:  # noqa: C901 - one sentence per case of the verdict, in order
    """The report's lead paragraph (Markdown): the verdict in words, with its evidence."""
    compared = [e for e in entries if e.status == "compared"]
    parts = []
    if not compared:
        return "**No verdict**: no schedule completed its final runs (" + _status_counts(entries) + ")."
    best = next(e for e in entries if e.name == v.best)
    over = f"{v.n_seeds} seed{'s' if v.n_seeds != 1 else ''}"
    if v.winner is not None:
        parts.append(f"**Winner: `{v.winner}`**, mean {v.metric} {show(best.mean, v.metric)} over {over}, "
                     f"significantly better than every other schedule (every pair compared by a paired test; "
                     f"the chance of naming a winner that is not better is at most {v.alpha}).")
    else:
        parts.append(f"**No significant winner.** Best mean {v.metric}: `{v.best}` ({show(best.mean, v.metric)}, "
                     f"{over}).")
        if v.n_seeds < 2:
            parts.append("With one seed no paired test is possible: run `--seeds 2` or more before trusting a ranking.")
        elif len(compared) > 1 and len(v.top_group) == len(compared):
            parts.append(f"None of the other {len(compared) - 1} schedules is significantly worse than the best "
                         f"(adjusted p >= {v.alpha} for each): all {len(compared)} form the **top group**.")
        elif len(compared) > 1:
            rest = [n for n in v.top_group if n != v.best]
            if rest:
                parts.append(f"Not significantly worse than the best (adjusted p >= {v.alpha}), so in the "
                             f"**top group**: {_names(rest)}.")
        if v.blocked_by:
            parts.append(f"{_names(v.blocked_by)} failed, so nothing is known about it and no winner can be named.")
    worse = [e for e in compared if not e.in_top_group]
    if worse:
        parts.append(f"Significantly worse than the best: {_names([e.name for e in worse])} (the chance that any "
                     f"schedule is called worse when it is not is at most {v.alpha}).")
    for status, what in (("pruned", "stopped early as clearly worse (never a winner)"),
                         ("diverged", "diverged at its chosen lr on some seed (not compared)"),
                         ("failed", "failed: see the errors below (not compared)")):
        names = [e.name for e in entries if e.status == status]
        if names and not (status == "failed" and v.blocked_by):
            parts.append(f"{_names(names)}: {what}.")
    edge = edge_warning(v, entries)
    if edge:
        parts.append(f"**Caution**: {edge}.")
    under = [e.name for e in compared if e.under_trained]
    if under:
        parts.append(f"Still improving at the last epoch (under-trained; more epochs might change the ranking): "
                     f"{_names(under)}.")
    return " ".join(parts)


def flags(e: Entry) -> list[str]:
    """Short flags of one row: status, under-trained, lr at the edge of what was tried, errors."""
    out = []
    if e.status != "compared":
        out.append(e.status)
    if e.under_trained:
        out.append("under-trained")
    if e.lr_at_edge:
        out.append("lr at the edge")
    if e.errors and e.status != "failed":
        out.append(f"{len(e.errors)} tuning run{'s' if len(e.errors) > 1 else ''} failed")
    return out


def edge_warning(v: Verdict, entries: list[Entry]) -> str | None:
    """None, or the warning that the verdict rests on lrs at the edge of what was tried (the best lr of those
    schedules may lie beyond it, and with it another verdict)."""
    edge = [e.name for e in entries if e.status == "compared" and e.lr_at_edge]
    if not edge:
        return None
    some = "its" if len(edge) == 1 else "their"
    return (f"the verdict rests on lrs at the edge of what was tried: the lr of {_names(edge)} is the smallest or "
            f"largest tried, so {some} best lr may lie beyond it and the verdict could change with a wider grid "
            "(--lrs)")
