"""The shared machinery: pass rates, the 80% rule, the Wilson interval, the region, result.json."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats

from lrkit.experiments.base import (
    PASS_RATE,
    Cell,
    Check,
    ExperimentResult,
    Progress,
    cell_at,
    over_seeds,
    pass_rate,
    region_text,
    rng,
    sweep,
    wilson,
    write_outputs,
)


def _cell(setting, outcomes, seeds=None):
    """A cell whose seed i has checks with the given truth values (one tuple per seed)."""
    seeds = seeds if seeds is not None else list(range(len(outcomes)))
    checks = [[Check(f"check {j}", bool(v), f"seed {s} check {j}") for j, v in enumerate(row)]
              for s, row in zip(seeds, outcomes)]
    return Cell(setting, seeds, checks)


@pytest.mark.parametrize("held, n", [(0, 10), (7, 10), (8, 10), (10, 10), (4, 5), (3, 4), (1, 1), (0, 1)])
def test_holds_is_pass_rate_at_least_80_percent(held, n):
    c = _cell({"k": 1}, [(True,)] * held + [(False,)] * (n - held))
    assert c.pass_rate == held / n
    assert c.holds == (held / n >= 0.8)
    assert PASS_RATE == 0.8


def test_a_seed_passes_only_when_all_its_checks_hold():
    c = _cell({"k": 1}, [(True, True), (True, False), (False, True), (True, True), (False, False)])
    assert c.passed == [True, False, False, True, False]
    assert c.pass_rate == pytest.approx(2 / 5)
    assert pass_rate([True, False, True]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        pass_rate([])


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (8, 10), (10, 10), (17, 20), (1, 3)])
def test_wilson_interval_matches_scipy(k, n):
    want = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(want.low, abs=2e-4) and hi == pytest.approx(want.high, abs=2e-4)


def _result(cells, default=0, knobs=("k",)):
    return ExperimentResult("demo", "Does it?", "it does", list(knobs), cells[default], cells,
                            [{"k": c.setting["k"], "pass rate": c.pass_rate} for c in cells], {"x": 1.5})


def test_check_summary_counts_each_check_over_the_seeds():
    cells = [_cell({"k": 0.1}, [(True, False), (True, True), (False, True), (True, True)], seeds=[5, 6, 7, 8])]
    r = _result(cells)
    summary = r.check_summary()
    assert [s["claim"] for s in summary] == ["check 0", "check 1"]
    assert [s["pass_rate"] for s in summary] == [0.75, 0.75]
    assert [p["seed"] for p in summary[0]["per_seed"]] == [5, 6, 7, 8]
    assert summary[1]["per_seed"][0] == {"seed": 5, "holds": False, "measured": "seed 5 check 1"}
    assert r.pass_rate == 0.5 and not r.holds and r.seeds == [5, 6, 7, 8]


def test_region_lists_the_settings_where_the_claim_holds():
    cells = [_cell({"k": v}, [(v >= 0.2,)] * 4 + [(v >= 0.5,)]) for v in (0.1, 0.2, 0.5)]
    r = _result(cells, default=1)
    region = r.region()
    assert [c["pass_rate"] for c in region["cells"]] == [0.0, 0.8, 1.0]
    assert region["holds_at"] == [{"k": 0.2}, {"k": 0.5}]
    assert region["default"] == {"k": 0.2}
    assert region["summary"].startswith("holds at k = 0.2, 0.5")
    assert r.holds  # 4 of 5 seeds at the default
    assert region_text(["k"], cells[:1]) == "one setting (k=0.1): pass rate 0%"
    assert region_text(["k"], [cells[0]] * 2).startswith("holds nowhere")


def test_result_json_carries_the_contract_fields(tmp_path):
    cells = [_cell({"k": v}, [(True,), (v > 0.3,), (True,)], seeds=[100, 101, 102]) for v in (0.1, 0.5)]
    r = write_outputs(_result(cells), str(tmp_path), _tiny_figure())
    folder = tmp_path / "demo"
    assert sorted(p.name for p in folder.iterdir()) == ["demo.csv", "demo.md", "demo.png", "result.json"]
    data = json.loads((folder / "result.json").read_text())
    for key in ("claim", "holds", "pass_rate", "seeds", "checks", "region"):
        assert key in data
    assert data["claim"] == "it does" and data["seeds"] == [100, 101, 102]
    assert data["pass_rate"] == pytest.approx(2 / 3) and data["holds"] is False
    assert data["pass_rate_ci95"] == pytest.approx(list(wilson(2, 3)))
    assert data["checks"][0]["per_seed"][1] == {"seed": 101, "holds": False, "measured": "seed 101 check 0"}
    assert data["region"]["holds_at"] == [{"k": 0.5}]
    assert (folder / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "[2/3 seeds] check 0" in (folder / "demo.md").read_text()
    assert r.files[0] == str(folder / "result.json")


def test_report_states_pass_rate_region_and_verdict():
    cells = [_cell({"k": v}, [(True,)] * 9 + [(v > 0.3,)]) for v in (0.1, 0.5)]
    text = _result(cells).report()
    assert "claim: it does" in text
    assert "[9/10 seeds] check 0" in text and "seed 9 FAIL" in text
    assert "region: holds at every setting swept" in text
    assert text.splitlines()[-1].startswith("demo: the claim held on 9/10 seeds (pass rate 90%")
    assert text.endswith(": it holds")


def test_sweep_builds_one_cell_per_setting_from_each_seeds_measurement():
    seen = []

    def measure(a, b, seed):
        seen.append((a, b, seed))
        return [Check("a < b", a < b, ""), Check("seed", seed != 7, "")], {"x": a * seed + b, "share": float(a < seed)}

    cells = sweep(("a", "b"), [(1, 2), (3, 2)], [5, 7, 9], measure, means=("share",))
    assert seen == [(1, 2, 5), (1, 2, 7), (1, 2, 9), (3, 2, 5), (3, 2, 7), (3, 2, 9)]
    assert [c.setting for c in cells] == [{"a": 1, "b": 2}, {"a": 3, "b": 2}]
    assert cells[0].seeds == [5, 7, 9] and cells[0].passed == [True, False, True] and cells[1].pass_rate == 0.0
    assert cells[1].numbers == {"x": float(np.median([17, 23, 29])), "share": 1.0}
    assert sweep(["k"], [1, 2, 3], [0, 1], lambda k, s: ([], {"v": float(k + 10 * s)}), average=np.mean)[2].numbers \
        == {"v": 8.0}
    assert cell_at(cells, (3, 2)) is cells[1]
    one = sweep(["k"], [0.5, 0.25], [0], lambda k, s: ([], {}))
    assert cell_at(one, 0.25) is one[1]


def test_over_seeds_measures_each_seed_once_and_counts_progress():
    import io

    stream = io.StringIO()
    bar = Progress("demo", 3, stream=stream)
    assert over_seeds([4, 5, 6], lambda s: s * 2, bar) == {4: 8, 5: 10, 6: 12}
    assert bar.done == 3 and stream.getvalue().splitlines() == ["demo: 1/3 seed 4", "demo: 2/3 seed 5",
                                                                 "demo: 3/3 seed 6"]


def test_seed_streams_are_reproducible_and_distinct():
    assert np.array_equal(rng(3, 1).random(4), rng(3, 1).random(4))
    assert not np.array_equal(rng(3, 1).random(4), rng(4, 1).random(4))
    assert not np.array_equal(rng(3, 1).random(4), rng(3, 2).random(4))


def _tiny_figure():
    from lrkit.experiments.figures import figure

    fig, (ax,) = figure(1)
    ax.plot([0, 1], [0, 1])
    return fig
