"""``pycode`` as the lab uses it: settings, schedules, describe, ``train(run)``, ``compare`` end to end."""

from __future__ import annotations

import json
import math
import platform

import pytest

import lrkit as lk
from lrkit.lab import pycode
from lrkit.lab.corpus import load_corpus, unigram_bits
from lrkit.lab.run import Run, Task

TINY = {"width": 32, "layers": 1, "heads": 2, "context": 32, "batch_size": 8, "steps_per_epoch": 40,
        "val_windows": 32, "test_windows": 64}


def make_run(schedule="warmup('5%') >> linear('rest')", lr=1e-2, seed=0, epochs=3, config=None, plateau=None):
    return Run(Task("k", "n", schedule, plateau, lr, seed, epochs, dict(TINY if config is None else config)))


def test_defaults_and_model_sizes():
    cfg = pycode.check_config()
    assert cfg == {**pycode.DEFAULTS, "width": 64, "layers": 2}
    assert pycode.check_config({"model": "gru"})["width"] == 128
    assert pycode.check_config({"model": "gru", "width": 96, "layers": 2})["layers"] == 2
    assert pycode.steps_per_epoch() == 150 and pycode.steps_per_epoch({"steps_per_epoch": 7}) == 7


@pytest.mark.parametrize("config, message", [
    ({"batch": 8}, "compare(): unknown setting of pycode 'batch' (did you mean 'batch_size'?); known: data, model"),
    ({"model": "lstm"}, "compare(): model must be one of 'transformer', 'gru'; got model='lstm'"),
    ({"data": "digits"}, "compare(): data must be 'pycode' for this training; got data='digits'"),
    ({"heads": 3}, "compare(): heads must be a divisor of width=64; got heads=3"),
    ({"width": 0}, "compare(): width must be a whole number >= 1; got width=0"),
    ({"context": 5000}, "compare(): context must be <= 4096 characters; got context=5000"),
    ({"batch_size": 2.5}, "compare(): batch_size must be a whole number >= 1; got batch_size=2.5"),
    ({"steps_per_epoch": 0}, "compare(): steps_per_epoch must be a whole number >= 1; got steps_per_epoch=0"),
    ({"weight_decay": -0.1}, "compare(): weight_decay must be >= 0; got weight_decay=-0.1"),
    ({"clip": float("nan")}, "compare(): clip must be a number, not NaN; got clip=nan"),
    ({"val_windows": "many"}, "compare(): val_windows must be a whole number >= 1; got val_windows='many'"),
])
def test_bad_settings_name_the_setting(config, message):
    with pytest.raises(lk.SpecError) as e:
        pycode.check_config(config)
    assert str(e.value).startswith(message)


def test_a_config_that_is_not_a_mapping():
    with pytest.raises(lk.SpecError, match=r"^train\(\): config must be a mapping of pycode settings; got config=3"):
        pycode.check_config(3, "train")


def test_default_schedules_parse_and_bind_to_a_run():
    assert len(set(pycode.DEFAULT_SCHEDULES)) == len(pycode.DEFAULT_SCHEDULES) >= 6
    for text in pycode.DEFAULT_SCHEDULES:
        s = lk.parse(text)
        assert lk.parse(str(s)) == s
        bound = s.bind(total_steps=1500, steps_per_epoch=150)
        assert bound(0) <= 1.0 and 0.0 <= bound(1500) <= 1.0
    wsd = lk.parse(pycode.DEFAULT_SCHEDULES[1]).bind(total_steps=1500)
    assert wsd == lk.wsd(1500, 75, 300, shape="1-sqrt")
    assert lk.parse("warmup('5%') >> cosine('rest', end=0.1)").bind(total_steps=1500)(1500) == pytest.approx(0.1)
    assert 1e-3 <= pycode.DEFAULT_LR <= 1e-2


def test_describe_names_what_fixes_the_comparison():
    d = pycode.describe()
    c = load_corpus()
    assert d["data"] == "pycode" and d["python"] == platform.python_version() and d["stdlib"] == c.root
    assert d["characters"] == c.sizes() and d["files"] == c.files and d["vocabulary"] == 128
    assert d["model"] == "transformer" and d["parameters"] == 120_704 and d["mode"] == "min"
    assert d["unigram_bits"] == pytest.approx(unigram_bits(c.train))
    assert pycode.describe({"model": "gru"})["parameters"] > 100_000


@pytest.mark.slow
def test_a_short_run_falls_below_the_unigram_entropy_and_follows_the_protocol():
    import torch

    before = torch.get_num_threads()
    run = make_run()
    result = pycode.train(run)
    assert torch.get_num_threads() == before
    entropy = unigram_bits(load_corpus().test)
    assert result["test"] < entropy - 0.3, (result, entropy)          # it learned more than letter frequencies
    assert [h["epoch"] for h in run.history] == [1, 2, 3]
    vals = [h["val"] for h in run.history]
    assert vals[-1] < vals[0] and result["val"] == vals[-1]
    assert run.history[-1]["lr"] == 0.0                                   # linear decay reached zero
    assert set(run.fingerprints) == {"init", "batches"} and not result["diverged"]
    again = make_run()
    assert pycode.train(again) == result and again.fingerprints == run.fingerprints
    other = make_run(seed=1)
    pycode.train(other)
    assert other.fingerprints["init"] != run.fingerprints["init"]
    assert other.fingerprints["batches"] != run.fingerprints["batches"]


@pytest.mark.slow
def test_the_schedule_is_not_part_of_the_fingerprints():
    a, b = make_run(epochs=1), make_run("constant()", lr=3e-3, epochs=1)
    pycode.train(a)
    pycode.train(b)
    assert a.fingerprints == b.fingerprints


@pytest.mark.slow
def test_a_plateau_run_is_fed_the_validation_bits():
    run = make_run("constant()", lr=1e-2, epochs=4, plateau={"factor": 0.5, "patience": 0, "threshold": 0.5})
    pycode.train(run)
    lrs = [h["lr"] for h in run.history]
    assert lrs == [1e-2, 5e-3, 2.5e-3, 1.25e-3]      # no epoch improves by half: every later one halves the lr


def test_a_run_longer_than_the_stream_is_an_error_before_training():
    run = make_run(epochs=10 ** 7)
    with pytest.raises(lk.SpecError, match=r"^train\(\): steps must be <= \d+ for batch_size=8, context=32: "):
        pycode.train(run)
    assert run.history == []


@pytest.mark.slow
def test_compare_runs_pycode_end_to_end(tmp_path):
    from lrkit.lab import compare

    cfg = {**TINY, "steps_per_epoch": 20}
    res = compare(train=pycode.train, mode="min", steps_per_epoch=20, config=cfg, lrs=[3e-3, 1.2e-2],
                  schedules=["wsd('100%', '5%', '20%', shape='1-sqrt')", "constant()"], seeds=2, epochs=2,
                  out=str(tmp_path), progress=False)
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["verdict"]["alpha"] == 0.05
    runs = {r["name"]: r for r in doc["runs"]}
    assert set(runs) == {"wsd('100%', '5%', '20%', shape='1-sqrt')", "constant()"}
    for r in runs.values():
        assert r["lr"] in (3e-3, 1.2e-2) and len(r["test"]) == 2
        assert all(math.isfinite(v) and 1.0 < v < 6.0 for v in r["test"])
    assert res.verdict is not None
