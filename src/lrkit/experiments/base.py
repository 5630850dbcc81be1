"""What every experiment shares: checks per seed, pass rates, the region, the files.

An experiment states one claim and fixes its thresholds (module constants)
before it runs. It measures the claim on each seed at one or more settings of
its knob (a :class:`Cell` per setting); on each seed the claim holds when all
its :class:`Check` s do. The share of seeds on which it held is the
``pass_rate``; the claim *holds* only when ``pass_rate >= 0.8``
(:data:`PASS_RATE`). The settings where it holds are the *region*.

An experiment's ``run`` measures every seed (:func:`over_seeds`, or one
batched training of all seeds), turns each seed's measurement at each setting
into checks and numbers (:func:`sweep`: one :class:`Cell` per setting) and
states its claim at the default setting (:func:`cell_at`).

Given ``out``, :func:`write_outputs` writes ``out/NAME/result.json`` (claim,
holds, pass_rate, seeds, checks, region), ``out/NAME/NAME.png`` (the figure),
``out/NAME/NAME.md`` and ``out/NAME/NAME.csv`` (the table).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

__all__ = ["PASS_RATE", "Cell", "Check", "ExperimentResult", "Progress", "cell_at", "fmt_num", "markdown_table",
           "over_seeds", "pass_rate", "rng", "share_gap", "sweep", "wilson", "write_outputs"]

PASS_RATE = 0.8
"""A claim holds when it held on at least this share of seeds."""
T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    """One claim on one seed: whether the measurement supports it, and the numbers behind it.

    >>> Check("b beats a by > 10%", True, "ratio 0.85").line()
    '[PASS] b beats a by > 10%: ratio 0.85'
    """

    claim: str
    holds: bool
    measured: str

    def line(self) -> str:
        """``[PASS] claim: measured`` (or ``[FAIL] ...``)."""
        return f"[{'PASS' if self.holds else 'FAIL'}] {self.claim}: {self.measured}"


def pass_rate(flags: Sequence[bool]) -> float:
    """The share of ``True`` in ``flags``: ``sum(flags) / len(flags)``.

    >>> pass_rate([True, True, False, True])
    0.75
    """
    if not len(flags):
        raise ValueError("pass_rate(): flags must not be empty")
    return sum(bool(f) for f in flags) / len(flags)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a share ``k / n`` (95% for ``z = 1.96``): how far a pass rate
    measured on ``n`` seeds could be from the rate on all seeds.

    >>> [round(v, 3) for v in wilson(8, 10)]
    [0.49, 0.943]
    """
    if n <= 0:
        raise ValueError("wilson(): n must be > 0")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def share_gap(a: float, b: float, runs: int) -> tuple[float, float]:
    """``a - b`` for two shares measured on ``runs`` runs each, and its standard error
    ``sqrt((a (1 - a) + b (1 - b)) / runs)``.

    >>> share_gap(0.6, 0.4, 100)
    (0.19999999999999996, 0.06928203230275509)
    """
    return a - b, math.sqrt((a * (1 - a) + b * (1 - b)) / runs)


@dataclass
class Cell:
    """One setting of the knobs (``setting``, e.g. ``{"lr": 0.05}``), measured on every seed.

    ``checks[i]`` are the checks of seed ``seeds[i]``; ``numbers`` the setting's
    headline measurements (means over seeds) for the table and the figure.

    >>> c = Cell({"lr": 0.1}, [0, 1], [[Check("x", True, "")], [Check("x", False, "")]])
    >>> c.passed, c.pass_rate, c.holds
    ([True, False], 0.5, False)
    """

    setting: dict[str, Any]
    seeds: list[int]
    checks: list[list[Check]]
    numbers: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> list[bool]:
        """Per seed: did every check hold?"""
        return [all(c.holds for c in cs) for cs in self.checks]

    @property
    def pass_rate(self) -> float:
        """The share of seeds on which the claim held."""
        return pass_rate(self.passed)

    @property
    def holds(self) -> bool:
        """``pass_rate >= PASS_RATE``."""
        return self.pass_rate >= PASS_RATE

    def label(self) -> str:
        """``lr=0.05, noise=0.1``."""
        return ", ".join(f"{k}={fmt_num(v)}" for k, v in self.setting.items())

    def to_dict(self) -> dict[str, Any]:
        """The setting, ``pass_rate``, ``holds``, ``passed_seeds`` and the cell's numbers, JSON-ready."""
        return {**self.setting, "pass_rate": self.pass_rate, "holds": self.holds,
                "passed_seeds": [s for s, p in zip(self.seeds, self.passed) if p], **self.numbers}


@dataclass
class ExperimentResult:
    """The outcome of one experiment over its seeds.

    ``cells`` are the settings swept (the region); ``default`` is the one the
    claim is stated at (also among ``cells``). ``rows`` is the table, ``numbers``
    the headline measurements, ``notes`` what else the measurement shows.
    """

    name: str
    question: str
    claim: str
    knobs: list[str]
    default: Cell
    cells: list[Cell]
    rows: list[dict[str, Any]]
    numbers: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    quick: bool = False

    @property
    def seeds(self) -> list[int]:
        """The seeds the claim was judged on (those of the default cell)."""
        return list(self.default.seeds)

    @property
    def pass_rate(self) -> float:
        """The share of seeds on which the claim held at the default setting."""
        return self.default.pass_rate

    @property
    def holds(self) -> bool:
        """``pass_rate >= 0.8``."""
        return self.default.holds

    @property
    def checks(self) -> list[Check]:
        """The checks of the first seed (see :meth:`check_summary` for all seeds)."""
        return list(self.default.checks[0])

    def check_summary(self) -> list[dict[str, Any]]:
        """Per check: its claim, pass rate over the seeds and each seed's measurement."""
        out = []
        for j, first in enumerate(self.default.checks[0]):
            per = [{"seed": s, "holds": cs[j].holds, "measured": cs[j].measured}
                   for s, cs in zip(self.default.seeds, self.default.checks)]
            out.append({"claim": first.claim, "pass_rate": pass_rate([cs[j].holds for cs in self.default.checks]),
                        "per_seed": per})
        return out

    def region(self) -> dict[str, Any]:
        """The settings swept, each with its pass rate, and those where the claim holds."""
        held = [c.setting for c in self.cells if c.holds]
        return {"knobs": self.knobs, "default": self.default.setting, "cells": [c.to_dict() for c in self.cells],
                "holds_at": held, "summary": region_text(self.knobs, self.cells)}

    @property
    def pass_rate_ci95(self) -> tuple[float, float]:
        """The Wilson 95% interval of the pass rate (how much it could move with more seeds)."""
        return wilson(sum(self.default.passed), len(self.default.seeds))

    def verdict(self) -> str:
        """One line: pass rate, seeds, and whether the claim holds."""
        n, k = len(self.default.seeds), sum(self.default.passed)
        lo, hi = self.pass_rate_ci95
        rate = (f"{self.name}: the claim held on {k}/{n} seeds (pass rate {self.pass_rate:.0%}, "
                f"95% CI {lo:.0%}-{hi:.0%})")
        return rate + (": it holds" if self.holds else f": it does NOT hold (needs >= {PASS_RATE:.0%})")

    def report(self) -> str:
        """The terminal report: question, claim, table, checks with pass rates, region, notes, verdict."""
        lines = [f"{self.name}: {self.question}", f"claim: {self.claim}", "", markdown_table(self.rows), ""]
        lines.append(f"at {self.default.label()}, seeds {_seed_text(self.seeds)}:")
        for c in self.check_summary():
            k = sum(p["holds"] for p in c["per_seed"])
            lines.append(f"  [{k}/{len(c['per_seed'])} seeds] {c['claim']}")
            fails = [p for p in c["per_seed"] if not p["holds"]][:2]
            shown = fails + [p for p in c["per_seed"] if p["holds"]][:1]
            lines += [f"      seed {p['seed']} {'PASS' if p['holds'] else 'FAIL'}: {p['measured']}" for p in shown]
        lines.append(f"region: {region_text(self.knobs, self.cells)}")
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"wrote {f}" for f in self.files]
        lines.append(self.verdict())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """``result.json``: plain JSON types."""
        return {"name": self.name, "question": self.question, "claim": self.claim, "holds": self.holds,
                "pass_rate": self.pass_rate, "pass_rate_ci95": list(self.pass_rate_ci95), "threshold": PASS_RATE,
                "seeds": self.seeds,
                "setting": self.default.setting, "checks": self.check_summary(), "region": self.region(),
                "rows": self.rows, "numbers": self.numbers, "notes": self.notes, "quick": self.quick,
                "files": self.files}


def over_seeds(seeds: Sequence[int], trial: Callable[[int], T], progress: Progress | None = None) -> dict[int, T]:
    """``{seed: trial(seed)}``, one unit of ``progress`` per seed.

    >>> over_seeds([3, 4], lambda s: s * s)
    {3: 9, 4: 16}
    """
    out = {}
    for s in seeds:
        out[s] = trial(s)
        if progress is not None:
            progress.advance(f"seed {s}")
    return out


def sweep(knobs: Sequence[str], settings: Iterable[Any], seeds: Sequence[int],
          measure: Callable[..., tuple[list[Check], dict[str, float]]], *,
          average: Callable[[list[float]], Any] = np.median, means: Sequence[str] = ()) -> list[Cell]:
    """One :class:`Cell` per setting: a value of the one knob, or a tuple of values, one per knob.

    ``measure(*values, seed)`` gives a seed's checks and numbers at that setting;
    the cell's numbers are their ``average`` over the seeds (the mean for the
    keys in ``means``: shares of seeds).

    >>> cells = sweep(["k"], [1, 3], [0, 1], lambda k, seed: ([Check("x", k + seed > 1, "")], {"y": k + seed}))
    >>> [(c.setting, c.pass_rate, c.numbers) for c in cells]
    [({'k': 1}, 0.5, {'y': 1.5}), ({'k': 3}, 1.0, {'y': 3.5})]
    """
    cells = []
    for setting in settings:
        values = setting if isinstance(setting, tuple) else (setting,)
        measured = [measure(*values, s) for s in seeds]
        nums = {k: float((np.mean if k in means else average)([m[1][k] for m in measured])) for k in measured[0][1]}
        cells.append(Cell(dict(zip(knobs, values)), list(seeds), [m[0] for m in measured], nums))
    return cells


def cell_at(cells: Sequence[Cell], setting: Any) -> Cell:
    """The cell of ``setting`` (a value of the one knob, or a tuple of values, in the order of the knobs).

    >>> cell_at([Cell({"a": 1, "b": 2}, [0], [[]]), Cell({"a": 1, "b": 3}, [0], [[]])], (1, 3)).setting
    {'a': 1, 'b': 3}
    """
    values = setting if isinstance(setting, tuple) else (setting,)
    return next(c for c in cells if tuple(c.setting.values()) == values)


def region_text(knobs: Sequence[str], cells: Sequence[Cell]) -> str:
    """Where the claim holds, in words, with every setting's pass rate.

    >>> cells = [Cell({"lr": v}, [0], [[Check("x", v > 0.1, "")]]) for v in (0.1, 0.2, 0.5)]
    >>> region_text(["lr"], cells)
    'holds at lr = 0.2, 0.5 (pass rates: lr=0.1: 0%, lr=0.2: 100%, lr=0.5: 100%)'
    """
    if len(cells) == 1:
        return f"one setting ({cells[0].label()}): pass rate {cells[0].pass_rate:.0%}"
    held = [c for c in cells if c.holds]
    rates = ", ".join(f"{c.label()}: {c.pass_rate:.0%}" for c in cells)
    if not held:
        where = "holds nowhere in the sweep"
    elif len(held) == len(cells):
        where = "holds at every setting swept"
    elif len(knobs) == 1:
        where = f"holds at {knobs[0]} = " + ", ".join(fmt_num(c.setting[knobs[0]]) for c in held)
    else:
        where = f"holds at {len(held)} of {len(cells)} settings: " + "; ".join(c.label() for c in held)
    return f"{where} (pass rates: {rates})"


def _seed_text(seeds: Sequence[int]) -> str:
    seeds = list(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}..{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def rng(seed: int, *keys: int) -> np.random.Generator:
    """A generator for ``seed`` and a stream named by ``keys`` (independent streams, reproducible).

    >>> float(rng(0, 1).random()) == float(rng(0, 1).random()) != float(rng(0, 2).random())
    True
    """
    return np.random.default_rng([int(seed), *map(int, keys)])


def fmt_num(v: Any) -> str:
    """Numbers to 4 significant digits; NaN/inf and non-numbers as text.

    >>> fmt_num(0.123456), fmt_num(3), fmt_num("a")
    ('0.1235', '3', 'a')
    """
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{v:.4g}" if math.isfinite(v) else str(float(v))


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
    """Write ``out/NAME/``: ``result.json``, ``NAME.png`` (``fig``), ``NAME.md``, ``NAME.csv``."""
    if out is None:
        return result
    folder = os.path.join(out, result.name)
    os.makedirs(folder, exist_ok=True)
    png, md, path_csv, js = (os.path.join(folder, f) for f in
                             (f"{result.name}.png", f"{result.name}.md", f"{result.name}.csv", "result.json"))
    fig.savefig(png, format="png")
    with open(md, "w", encoding="utf-8") as f:
        f.write(f"# {result.name}\n\n{result.question}\n\n**Claim.** {result.claim}\n\n")
        f.write(markdown_table(result.rows) + "\n\n")
        for c in result.check_summary():
            k = sum(p["holds"] for p in c["per_seed"])
            f.write(f"- [{k}/{len(c['per_seed'])} seeds] {c['claim']}\n")
        f.write(f"- region: {region_text(result.knobs, result.cells)}\n")
        f.write("".join(f"- note: {n}\n" for n in result.notes))
        f.write(f"\n{result.verdict()}\n")
    with open(path_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(result.rows[0]))
        w.writeheader()
        w.writerows(result.rows)
    result.files = [js, png, md, path_csv]
    with open(js, "w", encoding="utf-8") as f:
        json.dump(_plain(result.to_dict()), f, indent=1)
    return result


def _plain(v: Any) -> Any:
    """JSON-ready: numpy scalars to Python, non-finite floats to strings."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return float(v) if math.isfinite(v) else str(float(v))
    return v


class Progress:
    """Progress of one experiment on stderr: ``restarts: 3/7 peak=1.2``; silent when disabled."""

    def __init__(self, name: str, total: int, enabled: bool = True, stream=None):
        self.name, self.total, self.done, self.enabled = name, max(int(total), 1), 0, enabled
        self.stream = stream if stream is not None else sys.stderr

    def advance(self, what: str = "", n: int = 1) -> None:
        """Count ``n`` more units done (``what``: what was just done)."""
        self.done = min(self.done + n, self.total)
        if self.enabled:
            line = f"{self.name}: {self.done}/{self.total} {what}"
            if self.stream.isatty():
                self.stream.write("\r" + line.ljust(60) + ("\n" if self.done == self.total else ""))
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
