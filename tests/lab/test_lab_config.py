"""Settings of the compare job: defaults, config files (YAML / JSON), round trip, errors."""

from __future__ import annotations

import json

import pytest

import lrkit as lk
from lrkit.lab.config import DEFAULT_PLATEAU, DEFAULT_SCHEDULES, CompareConfig, load_config

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
    c = CompareConfig()
    assert c.schedule == DEFAULT_SCHEDULES and c.plateau == DEFAULT_PLATEAU and c.seeds >= 3


def test_every_default_binds_to_the_default_run():
    c = CompareConfig()
    for t in DEFAULT_SCHEDULES:
        s = lk.parse(t).bind(total_steps=c.epochs * 23, steps_per_epoch=23)
        assert s.is_bound and 0 <= s(0) <= 1.5


def test_from_mapping_rules():
    c = CompareConfig.from_mapping({"batch-size": 32, "weight_decay": 1e-4, "schedule": "cosine('100%')"})
    assert (c.batch_size, c.weight_decay, c.schedule, c.plateau) == (32, 1e-4, ("cosine('100%')",), None)
    assert CompareConfig.from_mapping({}).plateau == DEFAULT_PLATEAU
    assert CompareConfig.from_mapping({"plateau": True, "schedule": []}).plateau == "constant()"
    assert CompareConfig.from_mapping({"plateau": False}).plateau is None
    assert CompareConfig.from_mapping({"plateau": "linear('100%')"}).schedule == DEFAULT_SCHEDULES
    assert CompareConfig.from_mapping({"optimizer": "adamw"}).base_lr == 1e-3
    assert CompareConfig.from_mapping({"optimizer": "adamw", "lr": 0.01}).base_lr == 0.01


def test_round_trip_through_a_json_file(tmp_path):
    c = CompareConfig.from_mapping({"data": "mnist1d", "model": "cnn1d", "schedule": ["constant()", "step('2ep')"],
                                    "plateau": "constant()", "epochs": 4, "seeds": 2, "lr": 0.05,
                                    "optimizer": "adamw", "batch-size": 100, "target": 0.9, "out": "x"})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(c.to_dict()))
    assert CompareConfig.from_mapping(load_config(str(path))) == c


def test_yaml_and_json_read_the_same(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "epochs: 3\nseeds: 2\nbatch-size: 128\nschedule:\n  - cosine('100%')\n  - warmup('1ep') >> linear('rest')\n"
        "plateau: true\n")
    (tmp_path / "c.json").write_text(json.dumps({"epochs": 3, "seeds": 2, "batch-size": 128, "plateau": True,
                                                 "schedule": ["cosine('100%')", "warmup('1ep') >> linear('rest')"]}))
    a = load_config(str(tmp_path / "c.yaml"))
    assert a == load_config(str(tmp_path / "c.json"))
    c = CompareConfig.from_mapping(a)
    assert (c.epochs, c.seeds, c.batch_size, c.plateau) == (3, 2, 128, "constant()")
    (tmp_path / "empty.yml").write_text("")
    assert load_config(str(tmp_path / "empty.yml")) == {}


@pytest.mark.parametrize("values,message", [
    ({"epoch": 3}, "compare(): unknown setting 'epoch' (did you mean 'epochs'?)"),
    ({"epochs": 0}, "compare(): epochs must be a whole number > 0; got epochs=0"),
    ({"seeds": 1.5}, "compare(): seeds must be a whole number > 0; got seeds=1.5"),
    ({"lr": -0.1}, "compare(): lr must be > 0; got lr=-0.1"),
    ({"target": 1.5}, "compare(): target must be an accuracy in (0, 1]; got target=1.5"),
    ({"optimizer": "adam"}, "compare(): optimizer must be one of sgd, adamw; got optimizer='adam'"),
    ({"model": "resnet"}, "compare(): model must be one of linear, mlp, cnn1d; got model='resnet'"),
    ({"momentum": 1.0}, "compare(): momentum must be in [0, 1); got momentum=1.0"),
    ({"plateau_factor": 1}, "compare(): plateau_factor must be in (0, 1); got plateau_factor=1"),
    ({"schedule": [1, 2]}, "compare(): schedule must be a list of schedule texts; got schedule=[1, 2]"),
    ({"schedule": ["constant()", "constant()"]}, "compare(): schedule 'constant()' is given twice"),
    ({"schedule": [], "plateau": False}, "compare(): nothing to compare"),
])
def test_bad_settings_name_the_setting(values, message):
    with pytest.raises(lk.SpecError) as e:
        CompareConfig.from_mapping(values)
    assert message in str(e.value)


def test_bad_files(tmp_path):
    with pytest.raises(lk.SpecError, match="path must be an existing file"):
        load_config(str(tmp_path / "missing.yaml"))
    (tmp_path / "c.toml").write_text("epochs = 3")
    with pytest.raises(lk.SpecError, match="must name a .yaml, .yml or .json file"):
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
