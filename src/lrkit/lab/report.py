"""The files of a comparison: ``results.json``, ``report.md``, a self-contained ``report.html``, the PNGs.

Both reports lead with the verdict and the table (chosen lr, test mean, the
confidence interval of the difference to the best, the adjusted p-value,
top-group membership, flags), then say how the evidence was made (the
protocol, the statistics, the pairing check), list failures, and show the
figures (:mod:`lrkit.lab.figures`). The HTML page embeds its PNGs as data
URIs: one file to send or archive. Every file is written atomically.
"""

from __future__ import annotations

import base64
import html
import os
import re
from typing import TYPE_CHECKING

from .figures import FIGURES, draw
from .store import dumps, write_file
from .verdict import Entry, ranked
from .words import flags, paragraph, show

if TYPE_CHECKING:
    from .job import Comparison

__all__ = ["COLUMNS", "pairing", "table", "write_report"]

COLUMNS = ("#", "schedule", "chosen lr", "test mean ± sd", "difference to best [95% CI]", "adjusted p",
           "top group", "flags")
TITLE = "lrkit compare: which schedule should I use?"


def table(result: Comparison) -> list[list[str]]:
    """The rows of the report's table (text cells, ranked by mean test metric; :data:`COLUMNS`)."""
    m, best = result.verdict.metric, result.verdict.best
    rows = []
    for i, e in enumerate(ranked(result.entries, result.verdict.mode), 1):
        sd = "" if e.sd is None else f" ± {show(e.sd, m).rstrip('%')}"
        if e.name == best:
            diff = "best"
        elif e.diff_mean is None:
            diff = "n/a"
        else:
            ci = "" if e.diff_ci95 is None else f" [{_diff(e.diff_ci95[0], m)}, {_diff(e.diff_ci95[1], m)}]"
            diff = _diff(e.diff_mean, m) + ci
        p = "n/a" if e.p_adjusted is None else f"{e.p_adjusted:.3g}"
        rows.append([str(i) if e.mean is not None else "–", f"`{e.name}`", "–" if e.lr is None else f"{e.lr:g}",
                     "–" if e.mean is None else show(e.mean, m) + sd, diff, p,
                     "yes" if e.in_top_group else "no", ", ".join(flags(e))])
    return rows


def _diff(v: float, metric: str) -> str:
    return show(v, metric, diff=True).replace(" pts", "")


def _legend(result: Comparison) -> str:
    m = result.verdict.metric
    unit = "in %, differences in percentage points" if m.endswith("accuracy") else "and its differences"
    n = sum(1 for e in result.entries if e.p is not None)
    return (f"Test metric: {m} ({unit}), mean ± sd over the final seeds; difference: paired by seed, to the best "
            f"schedule; adjusted p: Holm over {n} comparison{'s' if n != 1 else ''}.")


def pairing(entries: list[Entry]) -> list[str]:
    """Whether every compared final run of a seed had the same init and batch fingerprints."""
    compared = [e for e in entries if e.status == "compared"]
    names = sorted({k for e in compared for k in e.fingerprints})
    if not names:
        return ["Pairing: not recorded (call `run.fingerprint(init=model, batches=order)` in `train` to check it)."]
    out = []
    for k in names:
        seeds = sorted({s for e in compared for s in e.fingerprints.get(k, {})}, key=int)
        split = [s for s in seeds if len({e.fingerprints.get(k, {}).get(s) for e in compared}) > 1]
        if split:
            out.append(f"Pairing: `{k}` fingerprints **differ** between schedules on seed(s) {', '.join(split)}: "
                       "those runs were not paired.")
        else:
            out.append(f"Pairing: on every final seed, every schedule had the same `{k}` fingerprint.")
    return out


def _protocol(result: Comparison) -> list[str]:
    s, p = result.setup, result.protocol
    lines = []
    if "data" in s:
        d = s["data"]
        lines.append(f"Data: {d['name']}, {d['train']} training / {d['val']} validation / {d['test']} test samples; "
                     f"model and optimizer: {', '.join(f'{k} {v}' for k, v in p.config.items() if k != 'data')}.")
    else:
        lines.append(f"Training function: `{s['train']}`; its test metric: {result.verdict.metric}.")
    direction = "highest" if p.mode == "max" else "lowest"
    lines.append(f"Tuning: every schedule at lr {', '.join(f'{x:g}' for x in p.lrs)}, seeds "
                 f"{', '.join(map(str, p.tune_seeds))}, {p.epochs} epochs; the chosen lr has the {direction} mean "
                 "validation metric at the last epoch. The test split is never read for a choice.")
    lines.append(f"Final: every schedule at its chosen lr on seeds {', '.join(map(str, p.seeds))}, scored on the "
                 f"held-out test split ({result.verdict.metric}).")
    lines.append("Statistics: per-seed paired differences to the best schedule, their mean and 95% t interval, a "
                 "two-sided paired t-test, p-values Holm-adjusted over the comparisons; alpha "
                 f"{result.verdict.alpha}. A winner must be significantly better than every other schedule.")
    if s.get("prune"):
        saved = s["epochs_planned"] - s["epochs_trained"]
        lines.append(f"Pruning ({s['prune']}): a (schedule, lr) whose mean validation metric fell behind the best by "
                     "more than the best's progress since its first epoch, after half the run, stopped on every "
                     f"seed at once; {saved} of {s['epochs_planned']} planned epochs were saved.")
    lines += pairing(result.entries)
    lines.append(f"Runs: {s['runs_trained']} trained by this job, {s['runs_resumed']} taken from earlier jobs "
                 f"(OUT/runs); engine {s['engine']}" + (f" with {s['workers']} workers" if s.get("workers") else "")
                 + f"; {s['wall_time']:.1f} s.")
    return lines


def _failures(result: Comparison) -> list[str]:
    out = []
    for e in result.entries:
        for err in e.errors:
            out.append(f"`{e.name}` ({err['phase']}, lr {err['lr']:g}, seed {err['seed']}): {err['message']}")
    return out


def _markdown(result: Comparison, images: list[str]) -> str:
    out = [f"# {TITLE}", "", paragraph(result.verdict, result.entries), "",
           f"`verdict: {result.headline}`", "",
           "| " + " | ".join(COLUMNS) + " |",
           "|" + "|".join("---" if i == 1 else "---:" for i in range(len(COLUMNS))) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table(result)]
    out += ["", _legend(result)]
    out += ["", "## How this was measured", "", *[f"- {line}" for line in _protocol(result)]]
    fails = _failures(result)
    if fails:
        out += ["", "## Failures", "", *[f"- {f}" for f in fails]]
    out += ["", "## Figures", ""]
    out += [f"![{FIGURES[name]}]({name})\n\n*{FIGURES[name]}*\n" for name in images]
    return "\n".join(out) + "\n"


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


_CSS = """body{font:15px/1.5 system-ui,-apple-system,Segoe UI,sans-serif;max-width:1150px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em}
table{border-collapse:collapse;margin:1em 0;font-size:13.5px}td,th{border-bottom:1px solid #ddd;padding:4px 8px;
text-align:right;vertical-align:top}td:nth-child(2),th:nth-child(2),td:last-child{text-align:left}
td:nth-child(n+3):nth-child(-n+7){white-space:nowrap}
tr.top{background:#fff4d6}tr.out td{color:#777}code{font:12.5px ui-monospace,Menlo,Consolas,monospace;
background:#f4f4f4;padding:1px 3px}.verdict{font-size:1.05em;background:#f6f8fa;border-left:4px solid #d9822b;
padding:.6em 1em}.line{font:13px ui-monospace,Menlo,Consolas,monospace}.muted{color:#555;font-size:14px}
figure{margin:1.5em 0}img{max-width:100%}figcaption{color:#555;font-size:13px}"""


def _html(result: Comparison, images: dict[str, bytes]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in COLUMNS)
    order = ranked(result.entries, result.verdict.mode)  # the order of table()'s rows
    rows = "\n".join(f"<tr class='{'top' if e.in_top_group else 'out'}'>" + "".join(
        f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for e, row in zip(order, table(result)))
    proto = "".join(f"<li>{_inline(s)}</li>" for s in _protocol(result))
    fails = _failures(result)
    fail_html = ("<h2>Failures</h2><ul class='muted'>" + "".join(f"<li>{_inline(f)}</li>" for f in fails)
                 + "</ul>") if fails else ""
    figs = "\n".join(f'<figure><img alt="{html.escape(FIGURES[n])}" src="data:image/png;base64,'
                     f'{base64.b64encode(png).decode("ascii")}"><figcaption>{html.escape(FIGURES[n])}</figcaption>'
                     "</figure>" for n, png in images.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(TITLE)}</title><style>{_CSS}</style></head>
<body><h1>{html.escape(TITLE)}</h1>
<p class="verdict">{_inline(paragraph(result.verdict, result.entries))}</p>
<p class="line">verdict: {html.escape(result.headline)}</p>
<table><thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody></table>
<p class="muted">{_inline(_legend(result))}</p>
<h2>How this was measured</h2><ul class="muted">{proto}</ul>
{fail_html}
<h2>Figures</h2>
{figs}
</body></html>
"""


def write_report(out: str, result: Comparison) -> list[str]:
    """Write ``results.json``, ``report.md``, ``report.html`` and the PNG figures into ``out``; return the names."""
    from .run import seeded

    os.makedirs(out, exist_ok=True)
    p = result.protocol
    records_of: dict[str, list] = {}
    for e in result.entries:
        if e.lr is not None:
            for c in p.candidates:
                if c.name == e.name:
                    keys = [p.task(c, e.lr, s, "final").key for s in p.seeds]
                    records_of[e.name] = [result.records[k] for k in keys if k in result.records]
    schedules = {c.name: seeded(c.schedule, p.seeds[0]) for c in p.candidates}
    images = draw(result.entries, result.verdict, lrs=p.lrs, spe=p.steps_per_epoch, epochs=p.epochs,
                  records_of=records_of, schedules=schedules)
    for name, png in images.items():
        write_file(os.path.join(out, name), png)
    write_file(os.path.join(out, "results.json"), dumps(result.to_dict()) + "\n")
    write_file(os.path.join(out, "report.md"), _markdown(result, list(images)))
    write_file(os.path.join(out, "report.html"), _html(result, images))
    return ["results.json", "report.md", "report.html", "config.json", *images]
