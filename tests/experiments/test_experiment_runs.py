"""Every experiment end to end at its reduced size: the result.json contract, the pass-rate
arithmetic, the 80% rule, determinism and the seeds it was given."""

from __future__ import annotations

import json
import pathlib

import pytest

import lrkit as lk
from lrkit import experiments

pytestmark = pytest.mark.slow  # subprocesses, training, several processes or a compiler

NAMES = experiments.names()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Each experiment once, quick, on seeds 3 and 4, written to disk."""
    out = tmp_path_factory.mktemp("experiments")
    return {name: (experiments.run(name, str(out), seeds=2, seed_offset=3, quick=True), out / name)
            for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_result_json_contract(results, name):
    result, folder = results[name]
    data = json.loads((folder / "result.json").read_text())
    assert data["name"] == name and isinstance(data["claim"], str) and data["claim"]
    assert data["seeds"] == [3, 4]
    assert isinstance(data["holds"], bool) and 0.0 <= data["pass_rate"] <= 1.0
    assert data["holds"] == (data["pass_rate"] >= 0.8)
    # pass_rate: the share of seeds on which every check held
    per_seed = [all(c["per_seed"][i]["holds"] for c in data["checks"]) for i in range(2)]
    assert data["pass_rate"] == sum(per_seed) / 2
    for c in data["checks"]:
        assert [p["seed"] for p in c["per_seed"]] == [3, 4]
        assert c["pass_rate"] == sum(p["holds"] for p in c["per_seed"]) / 2
        assert all(isinstance(p["measured"], str) and p["measured"] for p in c["per_seed"])
    region = data["region"]
    assert region["knobs"] and region["cells"] and isinstance(region["summary"], str)
    for cell in region["cells"]:
        assert cell["holds"] == (cell["pass_rate"] >= 0.8)
        assert set(region["knobs"]) <= set(cell)
    assert region["default"] in [{k: c[k] for k in region["knobs"]} for c in region["cells"]]
    default = next(c for c in region["cells"] if {k: c[k] for k in region["knobs"]} == region["default"])
    assert default["pass_rate"] == data["pass_rate"]
    assert region["holds_at"] == [{k: c[k] for k in region["knobs"]} for c in region["cells"] if c["holds"]]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["result.json", f"{name}.png", f"{name}.md",
                                                               f"{name}.csv"])
    assert (folder / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.holds == data["holds"] and result.seeds == [3, 4]


@pytest.mark.parametrize("name", ["restarts", "noisy-quadratic", "warmup"])
def test_fixed_seeds_give_the_same_result(results, name):
    again = experiments.run(name, seeds=2, seed_offset=3, quick=True).to_dict()
    first = results[name][0].to_dict()
    for d in (again, first):
        d.pop("files")
    assert json.dumps(again, sort_keys=True) == json.dumps(first, sort_keys=True)


@pytest.mark.parametrize("name", ["restarts", "lr-noise", "momentum", "gradient-flow"])
def test_a_seed_measures_the_same_whatever_seeds_run_with_it(results, name):
    """Seed 4's checks in the run of seeds 3..4 equal those of seed 4 run alone (and differ from seed 3's)."""
    alone = experiments.run(name, seeds=1, seed_offset=4, quick=True)
    both = results[name][0]
    mine = [c["per_seed"][1]["measured"] for c in both.check_summary()]
    assert [c["per_seed"][0]["measured"] for c in alone.check_summary()] == mine
    assert [c["per_seed"][0]["measured"] for c in both.check_summary()] != mine


def test_different_offsets_measure_different_seeds():
    a = experiments.run("lr-noise", seeds=2, seed_offset=0, quick=True)
    b = experiments.run("lr-noise", seeds=2, seed_offset=100, quick=True)
    assert a.seeds == [0, 1] and b.seeds == [100, 101]
    assert a.check_summary()[0]["per_seed"][0]["measured"] != b.check_summary()[0]["per_seed"][0]["measured"]


def test_the_theory_experiment_holds_everywhere_even_when_quick():
    r = experiments.run("gradient-flow", seeds=3, quick=True)
    assert r.holds and r.pass_rate == 1.0
    assert len(r.region()["holds_at"]) == len(r.cells)


def test_each_experiment_has_its_docs_section_and_a_small_figure():
    root = pathlib.Path(__file__).resolve().parents[2] / "docs"
    text = (root / "experiments.md").read_text()
    for name in NAMES:
        assert f"\n## {name}\n" in text and f"](img/experiment-{name}.png)" in text
        png = root / "img" / f"experiment-{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 150_000


def test_names_and_questions():
    assert NAMES == ["noisy-quadratic", "half-life", "gradient-flow", "decay-speed", "restarts", "warmup",
                     "momentum", "weight-decay", "lr-noise", "lm-cooldown", "lm-decay", "lm-branch", "lm-warmup",
                     "lm-schedulefree"]
    questions = experiments.describe()
    assert list(questions) == NAMES and all(q.endswith("?") for q in questions.values())
    for name in NAMES:
        mod = experiments.module(name)
        assert mod.NAME == name and mod.CLAIM and mod.QUESTION


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "gradient_flow"}, "experiment(): unknown experiment 'gradient_flow' (did you mean 'gradient-flow'?)"),
    ({"name": "warmpu"}, "(did you mean 'warmup'?); known: noisy-quadratic, half-life"),
    ({"name": "momentum", "seeds": 0}, "experiment(): seeds must be a whole number >= 1; got seeds=0"),
    ({"name": "momentum", "seeds": 2.5}, "experiment(): seeds must be a whole number >= 1; got seeds=2.5"),
    ({"name": "momentum", "seed_offset": -1},
     "experiment(): seed_offset must be a whole number >= 0; got seed_offset=-1"),
    ({"name": "momentum", "quick": "yes"}, "experiment(): quick must be True or False; got quick='yes'"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(lk.SpecError) as e:
        experiments.run(**kwargs)
    assert message in str(e.value)
