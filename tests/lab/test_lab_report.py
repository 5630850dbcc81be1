"""The report's table, winner and gap logic on synthetic results, and the files it writes."""

from __future__ import annotations

import json
import math
import statistics

import pytest

import lrkit as lk
from lrkit.lab.report import summarise, table, write_report
from lrkit.lab.train import RunResult

SPE = 10


def run(label: str, seed: int, final: float, loss: float = 0.1, curve=None, diverged=False) -> RunResult:
    curve = list(curve) if curve is not None else [final - 0.2, final - 0.1, final]
    train_loss = [1.0, 0.5, math.nan if diverged else 0.2]
    return RunResult(label, label, seed, SPE, [0.1] * (SPE * len(curve)), train_loss[-len(curve):],
                     [loss + 0.1 * i for i in range(len(curve) - 1, -1, -1)], curve)


def runs_of(table_: dict[str, list[float]], losses: dict[str, float] | None = None) -> list[RunResult]:
    losses = losses or {}
    return [run(label, seed, acc, losses.get(label, 0.1))
            for label, accs in table_.items() for seed, acc in enumerate(accs)]


def test_clear_winner_beyond_the_spread():
    s = summarise(runs_of({"a": [0.90, 0.91, 0.92], "b": [0.95, 0.96, 0.97], "c": [0.80, 0.85, 0.90]}))
    v = s.verdict
    assert [r.label for r in s.rows] == ["b", "a", "c"] and [r.rank for r in s.rows] == [1, 2, 3]
    assert (v.winner, v.runner_up) == ("b", "a")
    assert v.gap == pytest.approx(0.05)
    assert v.spread == pytest.approx(statistics.stdev([0.95, 0.96, 0.97]))  # the larger of two equal stds
    assert v.exceeds_spread is True and (v.seeds_ahead, v.seeds_paired) == (3, 3)
    assert v.within_spread == 0 and not v.tie
    assert "**Winner: `b`**" in v.text and "5.00 points" in v.text
    assert "larger than the seed-to-seed spread" in v.text and "ahead on 3 of 3 seeds" in v.text


def test_gap_within_the_spread_says_not_distinguishable():
    s = summarise(runs_of({"a": [0.90, 0.95, 0.85], "b": [0.92, 0.88, 0.93]}))
    v = s.verdict
    assert (v.winner, v.runner_up) == ("b", "a")
    assert v.gap == pytest.approx(0.91 - 0.90)
    assert v.spread == pytest.approx(statistics.stdev([0.90, 0.95, 0.85]))  # a's std is the larger
    assert v.exceeds_spread is False and v.seeds_ahead == 2
    assert v.within_spread == 1
    assert "within the seed-to-seed spread" in v.text and "not distinguishable" in v.text


def test_spread_is_compared_with_the_larger_std_of_the_two():
    # gap 0.02; winner std 0.01, runner-up std 0.03: within
    s = summarise(runs_of({"w": [0.95, 0.96, 0.97], "r": [0.91, 0.94, 0.97]}))
    assert s.verdict.gap == pytest.approx(0.02) and s.verdict.exceeds_spread is False


def test_accuracy_tie_is_broken_by_validation_loss():
    s = summarise(runs_of({"a": [0.9, 0.9], "b": [0.9, 0.9]}, losses={"a": 0.3, "b": 0.2}))
    v = s.verdict
    assert (v.winner, v.runner_up, v.gap, v.tie) == ("b", "a", 0.0, False)
    assert "tied with `a` on final validation accuracy" in v.text and "ahead on validation loss" in v.text


def test_exact_tie_has_no_winner():
    v = summarise(runs_of({"a": [0.9, 0.9], "b": [0.9, 0.9]})).verdict
    assert v.tie and "No winner" in v.text


def test_one_seed_has_no_spread_to_compare_with():
    v = summarise(runs_of({"a": [0.9], "b": [0.8]})).verdict
    assert v.exceeds_spread is None and math.isnan(v.spread)
    assert "one seed" in v.text and "no seed-to-seed spread" in v.text


def test_a_single_run():
    v = summarise(runs_of({"only": [0.9, 0.8]})).verdict
    assert v.winner == "only" and v.runner_up is None and "nothing to compare" in v.text


def test_default_target_and_steps_to_reach_it():
    curves = {("a", 0): [0.5, 0.945, 0.95], ("a", 1): [0.5, 0.8, 0.97],   # a: mean final 0.96
              ("b", 0): [0.94, 0.94, 0.94], ("b", 1): [0.1, 0.2, 0.3]}
    runs = [run(label, seed, c[-1], curve=c) for (label, seed), c in curves.items()]
    s = summarise(runs)
    assert s.target == math.floor(0.98 * 0.96 * 1000) / 1000 == 0.940
    a, b = s.rows
    assert a.steps_to == [2 * SPE, 3 * SPE] and a.reached == 2 and a.steps_mean == 25
    assert b.steps_to == [1 * SPE, None] and b.reached == 1
    head, body = table(s)
    assert head[5] == "steps to 94.0%"
    assert body[0][5] == "25" and body[1][5] == "10 (1/2)"
    s2 = summarise(runs, target=0.99)
    assert s2.target == 0.99 and s2.target_rule == "given (--target)"
    assert table(s2)[1][0][5] == "never"


def test_table_cells():
    s = summarise(runs_of({"a": [0.90, 0.92], "b": [0.5, 0.7]}))
    head, body = table(s)
    assert head == ["#", "run", "final val acc (%)", "best val acc (%)", "final val loss",
                    f"steps to {100 * s.target:.1f}%", "wall time / run (s)"]
    sd = statistics.stdev([90.0, 92.0])
    assert body[0][:3] == ["1", "`a`", f"91.00 ± {sd:.2f}"]
    assert body[1][0:2] == ["2", "`b`"]


def test_diverged_runs_rank_by_accuracy_and_are_named():
    runs = runs_of({"ok": [0.9, 0.9]}) + [run("bad", 0, 0.1, loss=math.nan, diverged=True),
                                          run("bad", 1, 0.1, loss=math.nan, diverged=True)]
    s = summarise(runs)
    assert [r.label for r in s.rows] == ["ok", "bad"] and s.rows[1].diverged == 2
    assert "Diverged" in s.verdict.text and "`bad` (2 of 2 seeds)" in s.verdict.text
    assert table(s)[1][1][1] == "`bad` (diverged 2/2)"


def test_summarise_needs_runs():
    with pytest.raises(lk.SpecError, match="runs must hold at least one"):
        summarise([])


def test_write_report_files(tmp_path, html_checks):
    assert_self_contained, assert_png = html_checks
    runs = runs_of({"cosine(30)": [0.9, 0.91], "constant()": [0.85, 0.86], "a|b": [0.5, 0.6]})
    runs.append(run("nan", 0, 0.1, loss=math.nan, diverged=True))
    runs.append(run("nan", 1, 0.1, loss=math.nan, diverged=True))
    summary = write_report(str(tmp_path), runs, setup={"model": "mlp"}, config={"epochs": 3})
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"results.json", "report.md", "report.html", "config.json", "lr.png",
                     "train_loss.png", "val_acc.png", "final_acc.png"}
    for png in ("lr.png", "train_loss.png", "val_acc.png", "final_acc.png"):
        assert_png((tmp_path / png).read_bytes())

    def no_nan(text):
        raise AssertionError(f"non-standard JSON constant {text}")

    doc = json.loads((tmp_path / "results.json").read_text(), parse_constant=no_nan)
    assert len(doc["runs"]) == len(runs) and doc["config"] == {"epochs": 3}
    assert doc["runs"][-1]["train_loss"][-1] is None  # NaN written as null
    assert doc["verdict"]["winner"] == summary.verdict.winner == "cosine(30)"
    assert [r["label"] for r in doc["rows"]] == ["cosine(30)", "constant()", "a|b", "nan"]
    assert json.loads((tmp_path / "config.json").read_text()) == {"epochs": 3}

    md = (tmp_path / "report.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| #")]
    assert len(rows) == 4 and "`a\\|b`" in md  # a '|' in a label is escaped in the table
    assert all(len(line.replace("\\|", "").split("|")) == 9 for line in rows)  # 7 cells each
    page = (tmp_path / "report.html").read_text()
    assert_self_contained(page, n_images=4)
    assert "<strong>Winner: <code>cosine(30)</code></strong>" in page
