"""The files of a comparison: ``results.json``, ``report.md``, a self-contained ``report.html``, the PNGs.

All three are laid out from one :class:`~lrkit.lab.results.Document`: the
verdict and the table first (chosen lr, seeds, test mean, the adjusted
interval of the difference to the best, the adjusted p-value, top-group
membership, flags), then any warnings, how the evidence was made (the lr
search, the final seeds, the statistics, the pairing check, the cost),
failures, and the figures (:mod:`lrkit.lab.figures`). The HTML page embeds its
PNGs as data URIs: one file to send or archive. Every file is written atomically.
"""

from __future__ import annotations

import base64
import html
import os
import re
from typing import TYPE_CHECKING

from .figures import FIGURES, draw
from .results import Document, document
from .store import dumps, write_file

if TYPE_CHECKING:
    from .job import Comparison

__all__ = ["markdown", "page", "write_report"]


def markdown(doc: Document, images: list[str]) -> str:
    """``report.md``: the document in Markdown, the figures as links to the PNGs beside it."""
    out = [f"# {doc.title}", "", doc.lead, ""]
    if doc.warnings:
        out += ["## Warnings", "", *[f"- {w}" for w in doc.warnings], ""]
    out += ["| " + " | ".join(doc.columns) + " |",
            "|" + "|".join("---" if i == 1 else "---:" for i in range(len(doc.columns))) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in doc.rows]
    out += ["", doc.legend, "", "## How this was measured", "", *[f"- {line}" for line in doc.method]]
    if doc.failures:
        out += ["", "## Failures", "", *[f"- {f}" for f in doc.failures]]
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
tr.top{background:#fff4d6}
ul.warn{background:#fff1f0;border-left:4px solid #cf222e;padding:.5em 1em .5em 2em}
tr.out td{color:#777}code{font:12.5px ui-monospace,Menlo,Consolas,monospace;
background:#f4f4f4;padding:1px 3px}.verdict{font-size:1.05em;background:#f6f8fa;border-left:4px solid #d9822b;
padding:.6em 1em}.line{font:13px ui-monospace,Menlo,Consolas,monospace}.muted{color:#555;font-size:14px}
figure{margin:1.5em 0}img{max-width:100%}figcaption{color:#555;font-size:13px}"""


def page(doc: Document, images: dict[str, bytes]) -> str:
    """``report.html``: the document as one self-contained page (figures embedded)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in doc.columns)
    rows = "\n".join(f"<tr class='{'top' if top else 'out'}'>" + "".join(f"<td>{_inline(c)}</td>" for c in row)
                     + "</tr>" for top, row in zip(doc.top, doc.rows))
    warn = ("<h2>Warnings</h2><ul class='warn'>" + "".join(f"<li>{_inline(w)}</li>" for w in doc.warnings)
            + "</ul>") if doc.warnings else ""
    proto = "".join(f"<li>{_inline(s)}</li>" for s in doc.method)
    fail_html = ("<h2>Failures</h2><ul class='muted'>" + "".join(f"<li>{_inline(f)}</li>" for f in doc.failures)
                 + "</ul>") if doc.failures else ""
    figs = "\n".join(f'<figure><img alt="{html.escape(FIGURES[n])}" src="data:image/png;base64,'
                     f'{base64.b64encode(png).decode("ascii")}"><figcaption>{html.escape(FIGURES[n])}</figcaption>'
                     "</figure>" for n, png in images.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(doc.title)}</title><style>{_CSS}</style></head>
<body><h1>{html.escape(doc.title)}</h1>
<p class="verdict">{_inline(doc.lead)}</p>
{warn}
<table><thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody></table>
<p class="muted">{_inline(doc.legend)}</p>
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
    d, plan = result.design, result.plan
    records_of = {name: [result.records[t.key] for t in tasks if t.key in result.records]
                  for name, tasks in plan.finals.items()}
    schedules = {c.name: seeded(c.schedule, d.seeds[0]) for c in d.candidates}
    images = draw(result.entries, result.verdict, lrs=d.lrs, spe=d.steps_per_epoch, epochs=d.epochs,
                  records_of=records_of, schedules=schedules)
    doc = document(result)
    for name, png in images.items():
        write_file(os.path.join(out, name), png)
    write_file(os.path.join(out, "results.json"), dumps(doc.data) + "\n")
    write_file(os.path.join(out, "report.md"), markdown(doc, list(images)))
    write_file(os.path.join(out, "report.html"), page(doc, images))
    return ["results.json", "report.md", "report.html", "config.json", *images]
