"""Settings of the compare job: the default set, config files (YAML / JSON), their rules and errors."""

from __future__ import annotations

import json

import pytest

import lrkit as lk
from lrkit.lab.config import DEFAULT_PLATEAU, DEFAULT_SCHEDULES, load_config, normalise
from lrkit.lab.protocol import candidate, lr_grid

# SPEC section 1: every constructor (sequence is the >> operator)
FAMILIES = {"constant", "linear", "warmup", "step", "multistep", "exponential", "cosine", "polynomial",
            "inverse_time", "inverse_sqrt", "cyclic", "one_cycle", "restarts", "piecewise", "interpolate",
            "wsd", "noisy"}
# grouped: one default run may stand for two close families
GROUPS = [{"constant"}, {"linear", "warmup"}, {"step"}, {"multistep"}, {"exponential"}, {"cosine"},
          {"polynomial"}, {"inverse_time", "inverse_sqrt"}, {"cyclic"}, {"one_cycle"}, {"restarts"},
          {"piecewise", "interpolate"}, {"wsd"}, {"noisy"}]


def _names(s: lk.Schedule) -> set[str]:
    out = {s.name}
    for c in s.children():
        out |= _names(c)
    return out


def test_default_set_covers_every_family_of_the_spec():
    assert set().union(*GROUPS) == FAMILIES
    used = [_names(lk.parse(t)) for t in DEFAULT_SCHEDULES]
    for group in GROUPS:
        assert any(group & u for u in used), group
    assert 10 <= len(DEFAULT_SCHEDULES) <= 14
    assert [str(lk.parse(t)) for t in DEFAULT_SCHEDULES] == list(DEFAULT_SCHEDULES)  # canonical text
    assert normalise({})["schedules"] == list(DEFAULT_SCHEDULES) + [DEFAULT_PLATEAU]


def test_every_default_binds_to_a_run():
    for t in DEFAULT_SCHEDULES:
        s = lk.parse(t).bind(total_steps=10 * 17, steps_per_epoch=17)
        assert s.is_bound and 0 <= s(0) <= 1.5


def test_the_default_grid_spans_16x_around_lr():
    grid = lr_grid(0.1)
    assert grid == [0.025, 0.05, 0.1, 0.2, 0.4] and len(grid) >= 4 and grid[-1] / grid[0] >= 8
    assert lr_grid(None, [0.3, 0.1, 0.1]) == [0.1, 0.3]


def test_normalise_rules():
    kw = normalise({"batch-size": 32, "weight_decay": 1e-4, "schedule": "cosine('100%')"})
    assert kw == {"config": {"batch_size": 32, "weight_decay": 1e-4}, "schedules": ["cosine('100%')"]}
    assert normalise({"plateau": False})["schedules"] == list(DEFAULT_SCHEDULES)
    kw = normalise({"schedules": [], "plateau": True, "plateau-patience": 3})
    assert kw["schedules"] == [{"schedule": "constant()", "plateau": {"factor": 0.5, "patience": 3}}]
    assert normalise({"plateau": "linear('100%')"})["schedules"][-1]["schedule"] == "linear('100%')"
    assert normalise({"train": "f.py:train", "config": {"a": 1}})["config"] == {"a": 1}


def test_a_plateau_item_is_a_candidate_named_by_its_plateau():
    c = candidate(("constant()", lk.Plateau(factor=0.5, patience=1)))
    assert c.name == "constant() with Plateau(factor=0.5, patience=1)" and c.text == "constant()"
    assert c.plateau["factor"] == 0.5 and c.plateau["mode"] == "min"
    assert candidate(lk.cosine(10)).name == "cosine(10)"
    assert candidate("cosine( '100%' ,  end=0.0 )").name == "cosine( '100%' , end=0.0 )"


def test_round_trip_through_a_json_file(tmp_path):
    values = {"train": "f.py:train", "schedule": ["constant()", "step('2ep')"], "epochs": 4, "seeds": 2,
              "lrs": [0.05, 0.1], "mode": "min", "engine": "ray", "resources": {"cpu": 2}, "prune": "clearly-worse",
              "out": "x", "config": {"hidden": 64}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(values))
    assert normalise(load_config(str(path))) == normalise(values)


def test_yaml_and_json_read_the_same(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "epochs: 3\nseeds: 2\nbatch-size: 128\nschedule:\n  - cosine('100%')\n  - warmup('1ep') >> linear('rest')\n"
        "plateau: true\n")
    (tmp_path / "c.json").write_text(json.dumps({"epochs": 3, "seeds": 2, "batch-size": 128, "plateau": True,
                                                 "schedule": ["cosine('100%')", "warmup('1ep') >> linear('rest')"]}))
    a = load_config(str(tmp_path / "c.yaml"))
    assert a == load_config(str(tmp_path / "c.json"))
    kw = normalise(a)
    assert kw["epochs"] == 3 and kw["config"] == {"batch_size": 128} and len(kw["schedules"]) == 3
    (tmp_path / "empty.yml").write_text("")
    assert load_config(str(tmp_path / "empty.yml")) == {}


@pytest.mark.parametrize("values,message", [
    ({"epoch": 3}, "compare(): unknown setting 'epoch' (did you mean 'epochs'?)"),
    ({"train": "f.py:train", "data": "mnist1d"}, "compare(): data apply to the built-in training only"),
    ({"schedule": 3}, "compare(): schedule must be a list of schedule texts; got schedule=3"),
    ({"plateau": 3}, "compare(): plateau must be a schedule text, true or false; got plateau=3"),
    ({"plateau_factor": 0.5}, "plateau_factor and plateau_patience need a plateau run"),
    ({"config": [1], "model": "mlp"}, "compare(): config must be a mapping of settings"),
])
def test_bad_settings_name_the_setting(values, message):
    with pytest.raises(lk.SpecError) as e:
        normalise(values)
    assert message in str(e.value)


def test_bad_files(tmp_path):
    with pytest.raises(lk.SpecError, match="path must be an existing file"):
        load_config(str(tmp_path / "missing.yaml"))
    (tmp_path / "c.toml").write_text("epochs = 3")
    with pytest.raises(lk.SpecError, match="must be a .yaml, .yml or .json file"):
        load_config(str(tmp_path / "c.toml"))
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(lk.SpecError, match="must hold a mapping of settings; got list"):
        load_config(str(tmp_path / "list.json"))
    (tmp_path / "bad.json").write_text("{epochs: 3")
    with pytest.raises(lk.SpecError, match="is not valid JSON"):
        load_config(str(tmp_path / "bad.json"))
    (tmp_path / "bad.yaml").write_text("epochs: [3\n")
    with pytest.raises(lk.SpecError, match="is not valid YAML"):
        load_config(str(tmp_path / "bad.yaml"))
