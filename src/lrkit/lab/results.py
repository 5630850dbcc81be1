"""The result of a comparison as one document: what ``results.json``, ``report.md`` and ``report.html`` show.

:func:`document` turns a :class:`~lrkit.lab.job.Comparison` into a
:class:`Document` (plain text with Markdown marks, numbers already formatted,
the JSON data beside them); the renderers in :mod:`lrkit.lab.report` only lay
it out, so the three files can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .store import plain
from .verdict import Entry, ranked
from .words import flags, paragraph, show

if TYPE_CHECKING:
    from .job import Comparison

__all__ = ["COLUMNS", "Document", "document", "pairing"]

COLUMNS = ("#", "schedule", "chosen lr", "seeds", "test mean ± sd", "difference to best [adjusted bound]",
           "adjusted p", "top group", "flags")
TITLE = "lrkit compare: which schedule should I use?"


@dataclass
class Document:
    """Everything a report shows, in order: the lead, the verdict line, the table, the method, the warnings."""

    title: str
    lead: str
    verdict: str
    columns: tuple[str, ...]
    rows: list[list[str]]
    top: list[bool]             # per row: in the top group
    legend: str
    method: list[str]
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # results.json


def _diff(v: float, metric: str) -> str:
    return show(v, metric, diff=True).replace(" pts", "")


def _bound(e: Entry, metric: str, mode: str) -> str:
    """The interval's end that decides (module ``stats``): the upper end for a score, the lower for a loss; the
    row is out exactly when it lies on the worse side of 0. The other end, often far out when a schedule raced
    on few seeds at an early look's small share of alpha, is in ``results.json``."""
    if e.diff_ci95 is None:
        return ""
    return f" [≤ {_diff(e.diff_ci95[1], metric)}]" if mode == "max" else f" [≥ {_diff(e.diff_ci95[0], metric)}]"


def _row(i: int, e: Entry, best: str | None, metric: str, mode: str) -> list[str]:
    sd = "" if e.sd is None else f" ± {show(e.sd, metric).rstrip('%')}"
    if e.adjusted is not None and e.mean is not None and abs(e.adjusted - e.mean) > 1e-12 * max(1.0, abs(e.mean)):
        sd += f" (seed-adjusted {show(e.adjusted, metric)})"
    if e.name == best:
        diff = "best"
    elif e.diff_mean is None:
        diff = "n/a"
    else:
        diff = _diff(e.diff_mean, metric) + _bound(e, metric, mode)
    p = "n/a" if e.p_adjusted is None else f"{e.p_adjusted:.3g}"
    return [str(i) if e.mean is not None else "–", f"`{e.name}`", "–" if e.lr is None else f"{e.lr:g}",
            str(len(e.values)) if e.mean is not None else "–", "–" if e.mean is None else show(e.mean, metric) + sd,
            diff, p, "yes" if e.in_top_group else "no", ", ".join(flags(e))]


def pairing(entries: list[Entry]) -> list[str]:
    """Whether every compared final run of a seed had the same init and batch fingerprints."""
    compared = [e for e in entries if e.status == "compared"]
    names = sorted({k for e in compared for k in e.fingerprints})
    if not names:
        return ["Pairing: not recorded (call `run.fingerprint(init=model, batches=order)` in `train` to check it)."]
    out = []
    for k in names:
        seeds = sorted({s for e in compared for s in e.fingerprints.get(k, {})}, key=int)
        split = [s for s in seeds if len({e.fingerprints.get(k, {}).get(s) for e in compared
                                          if s in e.fingerprints.get(k, {})}) > 1]
        if split:
            out.append(f"Pairing: `{k}` fingerprints **differ** between schedules on seed(s) {', '.join(split)}: "
                       "those runs were not paired.")
        else:
            out.append(f"Pairing: on every final seed, every schedule had the same `{k}` fingerprint.")
    return out


def _seeds(seeds: list[int]) -> str:
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"the {len(seeds)} seeds {seeds[0]}..{seeds[-1]}"
    return f"the {len(seeds)} seeds {', '.join(map(str, seeds))}"


def _search(result: Comparison) -> str:
    d, s = result.design, result.setup
    direction = "highest" if d.mode == "max" else "lowest"
    tried = [len(e.tuning) for e in result.entries]
    tune = f"on tuning {_seeds(d.tune_seeds)}"
    if d.protocol == "full":
        what = f"every schedule at lr {', '.join(f'{x:g}' for x in d.lrs)} {tune}"
    else:
        what = (f"a walk on the ladder through {', '.join(f'{x:g}' for x in d.lrs)} (the centre and its two "
                f"neighbours first, one step further while the best was the highest or lowest tried): "
                f"{min(tried)} to {max(tried)} lrs per schedule, {tune}")
    prune = "" if s.get("prune") in (None, "none") else (
        "; an lr whose mean validation metric fell behind the schedule's best lr by more than that lr's progress "
        "since its first epoch, after half the run, was stopped on every seed at once (pruned)")
    return (f"lr search: {what}, {d.epochs} epochs each; the chosen lr has the {direction} mean validation metric "
            f"at the last epoch; the test split is never read for a choice{prune}.")


def _final(result: Comparison) -> str:
    d, looks = result.design, result.plan.looks
    seeds = [len(e.values) for e in result.entries if e.mean is not None]
    got = f"{min(seeds)} to {max(seeds)}" if seeds and min(seeds) != max(seeds) else str(max(seeds, default=0))
    if d.protocol == "full":
        return (f"Final runs: every schedule at its chosen lr on {_seeds(d.seeds)}, scored on the held-out test "
                f"split ({result.verdict.metric}).")
    return (f"Final runs, by racing: every schedule at its chosen lr started with {looks.sizes[0]} seeds; after "
            f"each look ({', '.join(map(str, looks.sizes))} seeds) more were added only to the schedules still "
            f"undecided and to the best (a schedule stopped when out of the top group, or when even the last look "
            f"would very likely keep it in); each got {got} of the seeds {d.seeds[0]}..{d.seeds[-1]}, scored on "
            f"the held-out test split ({result.verdict.metric}).")


def _statistics(result: Comparison) -> str:
    v, looks = result.verdict, result.plan.looks
    spent = "" if len(looks.sizes) == 1 else (
        f" The {len(looks.sizes)} looks share alpha ({', '.join(f'{w:g}' for w in looks.weights)}), so the interim "
        "looks are covered.")
    return (f"Statistics: every pair of schedules compared by a one-sided paired t-test on their common seeds; "
            f"a schedule is out of the top group when a closed step-down procedure (Holm over the schedules, "
            f"Bonferroni over each one's rivals) rejects that it is a best one. Familywise error at most {v.alpha} "
            f"whatever the true means, the choice of the best included.{spent} A winner must put every other "
            f"schedule out of the top group.")


def _cost(result: Comparison) -> str:
    s = result.setup
    c = s["cost"]
    share = c["epochs_trained"] / c["epochs_full"] if c["epochs_full"] else 0.0
    budget = "" if s.get("budget") is None else f" (budget {s['budget']} epochs)"
    where = f"engine {s['engine']}" + (f" with {s['workers']} workers" if s.get("workers") else "")
    return (f"Cost: {c['epochs_trained']} epochs in {c['runs_trained']} runs for this answer{budget}, "
            f"{100 * share:.0f}% of the {c['epochs_full']} epochs ({c['runs_full']} runs) the full protocol would "
            f"train; {c['runs_this_job']} runs trained by this job, {c['runs_resumed']} taken from earlier jobs "
            f"(OUT/runs); {where}; {s['wall_time']:.1f} s.")


def method(result: Comparison) -> list[str]:
    """The "How this was measured" lines."""
    s, d = result.setup, result.design
    lines = []
    if "data" in s and s["data"].get("data") == "pycode":
        data, chars = s["data"], s["data"]["characters"]
        lines.append(f"Data: pycode, the .py files of Python {data['python']}'s standard library, "
                     f"{chars['train']} / {chars['val']} / {chars['test']} characters (train / validation / test, "
                     f"split by file); a {data['model']} of {data['parameters']} parameters, AdamW, "
                     f"{data['characters_per_step']} new characters a step; metric: bits per character.")
    elif "data" in s:
        data = s["data"]
        lines.append(f"Data: {data['name']}, {data['train']} training / {data['val']} validation / {data['test']} "
                     f"test samples; model and optimizer: "
                     f"{', '.join(f'{k} {v}' for k, v in d.config.items() if k != 'data')}.")
    else:
        lines.append(f"Training function: `{s['train']}`; its test metric: {result.verdict.metric}.")
    lines += [_search(result), _final(result), _statistics(result), *pairing(result.entries), _cost(result)]
    return lines


def _legend(result: Comparison) -> str:
    m = result.verdict.metric
    unit = "in %, differences in percentage points" if m.endswith("accuracy") else "and its differences"
    side = "below" if result.verdict.mode == "max" else "above"
    return (f"Test metric: {m} ({unit}), mean ± sd over each schedule's final seeds (seed-adjusted: the mean "
            f"corrected for which seeds it ran on, when the schedules ran on different numbers of seeds; it ranks "
            f"them); difference: to the best "
            f"schedule, paired by seed; in brackets, the {'upper' if side == 'below' else 'lower'} end of its 95% "
            f"interval for the distance to the best of the others, adjusted like p for every comparison and look "
            f"(a row is out of the top group exactly when that end lies {side} 0 and p < {result.verdict.alpha}; "
            f"both ends are in results.json as diff_ci95).")


def _failures(result: Comparison) -> list[str]:
    return [f"`{e.name}` ({err['phase']}, lr {err['lr']:g}, seed {err['seed']}): {err['message']}"
            for e in result.entries for err in e.errors]


def document(result: Comparison) -> Document:
    """The one document of ``result`` (module doc)."""
    v = result.verdict
    order = ranked(result.entries, v.mode)
    rows = [_row(i, e, v.best, v.metric, v.mode) for i, e in enumerate(order, 1)]
    data = plain({**result.to_dict()})
    return Document(TITLE, paragraph(v, result.entries), result.headline, COLUMNS, rows,
                    [e.in_top_group for e in order], _legend(result), method(result),
                    list(result.setup.get("warnings", [])), _failures(result), data)
