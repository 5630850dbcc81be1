"""The report of a real (tiny) comparison: it leads with the verdict and the table, and reads as a study."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from lab_helpers import ENV, assert_png, assert_self_contained, results

from lrkit.lab import compare
from lrkit.lab.results import COLUMNS, document
from lrkit.lab.verdict import ranked


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = compare(schedules=["cosine('100%')", "constant(0.001)", "noisy(cosine('100%'), 0.3)"], seeds=3,
                     epochs=3, lrs=[0.1, 0.4], config={"model": "linear", "batch_size": 128}, out=str(out),
                     progress=False, protocol="full")
    return result, out


def test_the_table_is_ranked_and_holds_the_evidence(done):
    result, _ = done
    rows = document(result).rows
    assert len(rows) == 3 and all(len(r) == len(COLUMNS) for r in rows)
    names = [r[1].strip("`") for r in rows]
    assert names[-1] == "constant(0.001)"  # the clear loser ranks last
    best = next(r for r in rows if r[5] == "best")
    assert best[1].strip("`") == result.verdict.best and best[7] == "yes" and best[3] == "3"
    loser = rows[-1]
    bound = loser[5].split("[")[1].rstrip("]")  # the deciding (upper) end of the interval, as in results.json
    assert bound.startswith("≤ ") and float(bound.split()[1]) == pytest.approx(100 * loser_entry(result).diff_ci95[1],
                                                                                abs=0.006)
    assert float(bound.split()[1]) < 0 and loser[7] == "no" and float(loser[6]) < 0.05
    assert "lr at the edge" in loser[8]


def loser_entry(result):
    return next(e for e in result.entries if e.name == "constant(0.001)")


def test_a_row_shows_the_interval_end_that_decides(done):
    """Its upper end for a score (out exactly when below 0); both ends stay in results.json."""
    result, out = done
    for e, row in zip(ranked(result.entries, "max"), document(result).rows):
        if e.diff_ci95 is None:
            continue
        assert e.diff_ci95[0] <= e.diff_ci95[1]
        assert (e.diff_ci95[1] < 0) == (not e.in_top_group) == (row[7] == "no")
        assert row[5].endswith(f"[≤ {100 * e.diff_ci95[1]:+.2f}]")


def test_markdown_leads_with_the_verdict_then_the_table(done):
    result, out = done
    md = (out / "report.md").read_text()
    lines = [line for line in md.splitlines() if line.strip()]
    assert lines[0].startswith("# ")
    assert lines[1].startswith("**") and result.verdict.best in lines[1]
    assert md.count("No significant winner") + md.count("Winner:") == 1  # the verdict is said once
    header = "| " + " | ".join(COLUMNS) + " |"
    assert lines[2] == "## Warnings" and lines.index(header) > 2  # the warnings come before the table
    assert "`constant(0.001)`" in lines[3] and "is the smallest or largest tried" in lines[3]
    assert "## How this was measured" in md and "held-out test split" in md
    assert "Pairing: on every final seed, every schedule had the same `init` fingerprint." in md
    assert "lr search: every schedule at lr 0.1, 0.4 on tuning the 2 seeds 3..4, 3 epochs each" in md
    assert "Cost: 63 epochs in 21 runs for this answer, 100% of the 63 epochs (21 runs)" in md
    assert "Data: digits, 1077 training / 360 validation / 360 test samples" in md


def test_html_is_self_contained_and_leads_with_the_verdict(done):
    _, out = done
    page = (out / "report.html").read_text()
    assert_self_contained(page, n_images=4)
    assert page.index('class="verdict"') < page.index("<table>") < page.index("How this was measured")
    assert "&gt;&gt;" not in page or "<code>" in page  # schedule text escaped, in code


def test_figures_are_small_real_pngs(done):
    _, out = done
    for name in ("tuning.png", "differences.png", "curves.png", "lr.png"):
        data = (out / name).read_bytes()
        assert_png(data)
        assert len(data) < 200_000, (name, len(data))


def test_results_json_is_strict_json(done):
    _, out = done
    text = (out / "results.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    doc = results(out)
    assert doc["verdict"]["top_group"] and all(isinstance(r["test"], list) for r in doc["runs"])


@pytest.mark.slow
def test_the_users_matplotlib_is_left_alone(tmp_path):
    code = ("import matplotlib; matplotlib.use('svg'); from lrkit.lab import compare; "
            f"compare(schedules=['constant()'], seeds=2, epochs=1, lrs=[0.1], out={str(tmp_path)!r}, "
            "progress=False, config={'model': 'linear', 'batch_size': 512}); import sys; "
            "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=False)
    assert out.stdout.split() == ["svg", "False"], out.stderr
    assert os.path.exists(tmp_path / "report.html")
