"""lrkit.lab.compare: the verdict holds up (ties, clear losers, held-out test), resume, failures, pruning."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest

import lrkit as lk
from lrkit.lab import compare
from lrkit.lab.data import load_dataset
from lrkit.lab.results import document
from lrkit.lab.run import Record, Run, Task, seeded

SMALL = {"model": "linear", "batch_size": 128}


def job(**kw):
    kw.setdefault("config", SMALL)
    kw.setdefault("epochs", 3)
    kw.setdefault("out", None)
    kw.setdefault("progress", False)
    return compare(**kw)


@pytest.fixture(scope="module")
def three():
    """Two good schedules, and one that no lr the search may try can rescue."""
    return job(schedules=["cosine('100%')", "linear('100%')", "constant(1e-06)"], seeds=4)


def by_name(result):
    return {e.name: e for e in result.entries}


def test_two_spellings_of_one_schedule_are_refused():
    with pytest.raises(lk.SpecError, match=r"compare\(\): schedule \"cosine\( '100%', end=0.0 \)\" and "
                                           r"\"cosine\('100%'\)\" are the same schedule \(its canonical text: "
                                           r"cosine\('100%'\)\); give each schedule once"):
        job(schedules=["cosine('100%')", "cosine( '100%', end=0.0 )"])


def test_a_clearly_worse_schedule_is_outside_the_top_group(three):
    bad = by_name(three)["constant(1e-06)"]
    assert not bad.in_top_group and bad.p_adjusted < 0.05
    assert bad.mean < 0.5 < by_name(three)["cosine('100%')"].mean
    assert bad.lr_at_edge and {t["lr"] for t in bad.tuning} <= set(three.design.lrs)  # flat: no walk past the grid


def test_final_runs_are_paired_by_fingerprints(three):
    e = max(three.entries, key=lambda x: len(x.seeds))
    for name in ("init", "batches"):
        per_seed = [e.fingerprints[name][str(s)] for s in e.seeds]
        assert len(set(per_seed)) == len(per_seed)  # another seed, other weights and batches
        for other in three.entries:  # same seed, same weights and batches (on the seeds each got)
            assert other.seeds == e.seeds[:len(other.seeds)]
            assert other.fingerprints[name] == {str(s): e.fingerprints[name][str(s)] for s in other.seeds}


def test_seeds_offset_and_tuning_seeds_are_disjoint():
    r = job(schedules=["cosine('100%')"], seeds=3, seed_offset=10, tune_seeds=2, epochs=1)
    assert r.design.seeds == [10, 11, 12] and r.design.tune_seeds == [13, 14]
    seeds = {(rec.task.seed, rec.task.lr) for rec in r.records.values()}
    assert {s for s, _ in seeds} == {10, 11, 12, 13, 14}
    assert r.entries[0].seeds == [10, 11, 12] and r.setup["seeds"] == [10, 11, 12]


def _npz(path, data, y_test):
    np.savez(path, x_train=data.x_train, y_train=data.y_train, x_val=data.x_val, y_val=data.y_val,
             x_test=data.x_test, y_test=y_test)
    return str(path)


def test_the_test_split_is_never_used_for_a_choice(tmp_path):
    d = load_dataset("digits", test=True)
    clean = _npz(tmp_path / "clean.npz", d, d.y_test)
    poisoned = _npz(tmp_path / "poisoned.npz", d, np.random.default_rng(0).permutation(d.y_test) * 0 + 3)
    schedules = ["cosine('100%')", "constant()", "step('1ep', gamma=0.5)"]
    a = job(schedules=schedules, seeds=2, config={**SMALL, "data": clean})
    b = job(schedules=schedules, seeds=2, config={**SMALL, "data": poisoned})
    for x, y in zip(a.entries, b.entries):
        assert x.tuning == y.tuning and x.lr == y.lr  # every choice identical
        assert x.curve == y.curve
        assert x.test != y.test  # while the test metric did read the poisoned labels
    assert all(v < 0.2 for e in b.entries for v in e.test)


def test_the_test_split_is_never_used_for_a_choice_by_a_user_function(user_train):
    kw = {"train": user_train + ":train", "schedules": ["cosine('100%')", "constant()"], "lr": 0.5, "seeds": 2,
          "epochs": 3}
    a, b = job(**kw, config={}), job(**kw, config={"poison": True})
    assert [e.tuning for e in a.entries] == [e.tuning for e in b.entries]
    assert [e.lr for e in a.entries] == [e.lr for e in b.entries]
    assert [e.test for e in a.entries] != [e.test for e in b.entries]


def test_a_partial_or_a_callable_object_trains_like_the_function(user_train):
    import functools

    from lrkit.lab.loader import load_train

    fn = load_train(user_train + ":train")

    class Train:
        def __call__(self, run):
            return fn(run)

    kw = {"schedules": ["cosine('100%')", "constant()"], "lr": 0.5, "seeds": 2, "epochs": 2, "config": {}}
    want = [e.test for e in job(train=fn, **kw).entries]
    assert [e.test for e in job(train=functools.partial(fn), **kw).entries] == want
    assert [e.test for e in job(train=Train(), **kw).entries] == want


def test_a_partial_or_a_callable_object_is_identified_by_its_code_and_its_arguments():
    import functools

    from lrkit.lab.identity import train_id

    def train(run, depth=1):
        return depth

    class Train:
        def __init__(self, depth):
            self.depth = depth

        def __call__(self, run):
            return self.depth

    one, two = functools.partial(train, depth=1), functools.partial(train, depth=2)
    assert train_id(one) == train_id(functools.partial(train, depth=1)) != train_id(two)
    assert train_id(one)["train"].endswith("train") and train_id(Train(1))["train"].endswith("Train")
    assert train_id(Train(1)) == train_id(Train(1)) != train_id(Train(2))


def test_mode_min_on_an_error_rate_mirrors_mode_max_on_accuracy(user_train):
    kw = {"train": user_train + ":train", "schedules": ["cosine('100%')", "constant()", "constant(0.001)"],
          "lr": 0.5, "seeds": 4}
    acc, err = job(**kw, config={}), job(**kw, config={"error_rate": True}, mode="min")
    assert [e.lr for e in acc.entries] == [e.lr for e in err.entries]
    for a, b in zip(acc.entries, err.entries):
        assert b.test == pytest.approx([1 - t for t in a.test]) and b.in_top_group == a.in_top_group
        assert (a.p_adjusted is None) == (b.p_adjusted is None)
        if a.p_adjusted is not None:
            assert b.p_adjusted == pytest.approx(a.p_adjusted, rel=1e-9)
    assert (acc.verdict.best, acc.verdict.winner, acc.verdict.top_group) == \
        (err.verdict.best, err.verdict.winner, err.verdict.top_group)
    bounded = [(a, b) for a, b in zip(document(acc).rows, document(err).rows) if "[" in a[5]]
    assert len(bounded) == 2  # every row but the best: the deciding end, <= for a score, >= for a loss
    for a, b in bounded:
        upper, lower = a[5].split("[≤ ")[1].rstrip("]"), b[5].split("[≥ ")[1].rstrip("]")
        assert float(lower) == pytest.approx(-float(upper), abs=1e-9) and a[7] == b[7]


def test_batched_runs_equal_runs_one_at_a_time():
    kw = {"schedules": ["cosine('100%')", "constant() * 0.5", ("constant()", lk.Plateau(factor=0.5, patience=0))],
              "seeds": 2, "epochs": 2, "lrs": [0.1, 0.4]}
    batched, single = job(**kw), job(**kw, batch=False)
    assert batched.records.keys() == single.records.keys()
    n_val = 360
    for key, rec in batched.records.items():
        other = single.records[key]
        np.testing.assert_allclose(rec.vals, other.vals, atol=1.01 / n_val)  # a borderline sample may flip
        np.testing.assert_allclose([h["val_loss"] for h in rec.history],
                                   [h["val_loss"] for h in other.history], rtol=1e-4)
        assert rec.fingerprints == other.fingerprints
        if rec.status == "done":
            assert rec.test == pytest.approx(other.test, abs=2.01 / n_val)


def test_noise_schedules_draw_fresh_noise_per_seed():
    assert str(seeded("noisy(cosine(10), 0.3, seed=2)", 5)) == "noisy(cosine(10), 0.3, seed=7)"
    ts = np.arange(100.0)
    a, b = (seeded("noisy(cosine(100), 0.3)", s).values(ts) for s in (0, 1))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, lk.noisy(lk.cosine(100), 0.3, seed=0).values(ts))
    r = job(schedules=["noisy(cosine('100%'), 0.5)"], seeds=2, epochs=2, lrs=[0.1])
    lrs = {rec.task.seed: [h["lr"] for h in rec.history] for rec in r.records.values()}
    assert len({tuple(v) for v in lrs.values()}) == len(lrs)  # every seed its own noise


def test_run_binds_its_schedule_and_checks_reports():
    run = Run(Task("k", "cosine('10%') >> constant()", "cosine('10%') >> constant()", None, 0.5, 0, 4, {}))
    with pytest.raises(lk.SpecError, match=r"call run.bind\(steps_per_epoch\) first"):
        _ = run.schedule
    assert str(run.bind(25)) == "cosine(10) >> constant()" and run.total_steps == 100
    run.report(epoch=0, val=0.5, loss=1.2)
    with pytest.raises(lk.SpecError, match="Run.report\\(\\): epoch must be greater than the last reported epoch"):
        run.report(epoch=0, val=0.6)
    with pytest.raises(lk.SpecError, match="Run.report\\(\\): val must be a number"):
        run.report(val="high")
    assert run.history == [{"epoch": 0, "val": 0.5, "loss": 1.2}]


def test_a_record_is_one_flat_json_object_that_reads_back():
    task = Task("k", "cosine('10%')", "cosine(10)", None, 0.5, 3, 4, {"a": 1}, 25, "tune|g", "tune")
    rec = Record(task, "pruned", [{"epoch": 0, "val": 0.5, "note": None}], {}, {"init": "ab"}, attempts=2)
    d = json.loads(json.dumps(rec.to_dict()))
    assert (d["key"], d["name"], d["lr"], d["seed"], d["config"], d["status"], d["attempts"]) == \
        ("k", "cosine('10%')", 0.5, 3, {"a": 1}, "pruned", 2)
    assert Record.from_dict(d) == rec
    with pytest.raises(TypeError):  # a file without its run's settings is not a record (resume trains it again)
        Record.from_dict({"status": "done"})


def test_a_run_that_raises_is_failed_and_the_others_complete(user_train):
    r = job(train=user_train + ":train", schedules=["cosine('100%')", "constant()", "linear('100%')"],
            lr=0.5, seeds=3, config={"fail": "constant()", "fail_seed": 1})
    e = by_name(r)
    assert e["constant()"].status == "failed" and e["constant()"].failed
    assert e["constant()"].errors[0]["seed"] == 1
    assert "ValueError: boom in constant()" in e["constant()"].errors[0]["message"]
    assert "my_training.py" in e["constant()"].errors[0]["message"]
    assert e["cosine('100%')"].status == e["linear('100%')"].status == "compared"
    assert len(r.failed_runs) == 1 and r.verdict.blocked_by == ["constant()"] and r.verdict.winner is None
    assert "constant()" not in r.verdict.top_group


def test_resume_skips_finished_runs(user_train, tmp_path):
    log, out = tmp_path / "calls.log", tmp_path / "out"
    kw = {"train": user_train + ":train", "schedules": ["cosine('100%')", "constant()"], "lr": 0.5, "seeds": 2,
          "config": {"log": str(log)}, "out": str(out), "protocol": "full"}
    first = job(**kw)
    starts = log.read_text().count("start")
    assert starts == first.setup["cost"]["runs_this_job"] == first.setup["cost"]["runs_full"] == 2 * 5 * 2 + 2 * 2
    again = job(**kw)
    assert log.read_text().count("start") == starts and again.setup["cost"]["runs_resumed"] == starts
    assert [e.test for e in again.entries] == [e.test for e in first.entries]
    victim = next(iter(first.records))
    os.remove(out / "runs" / f"{victim}.json")
    job(**kw)
    assert log.read_text().count("start") == starts + 1


def test_pruning_stops_a_hopeless_lr_on_every_seed_together():
    r = job(schedules=["cosine('100%')"], lrs=[1e-5, 0.1, 0.4], protocol="full", prune="clearly-worse", seeds=2,
            epochs=6)
    runs = [rec for rec in r.records.values() if rec.task.phase == "tune"]
    hopeless = [rec for rec in runs if rec.task.lr == 1e-5]
    assert len(hopeless) == 2 and all(rec.status == "pruned" for rec in hopeless)
    assert {len(rec.history) for rec in hopeless} == {4}  # all seeds stopped at the same report, after the grace
    assert all(rec.status == "done" for rec in runs if rec.task.lr != 1e-5)
    cos = r.entries[0]
    assert cos.status == "compared" and cos.lr in (0.1, 0.4)  # a schedule never leaves the comparison by pruning
    assert [t["status"] for t in cos.tuning if t["lr"] == 1e-5] == ["pruned"]
    assert r.setup["cost"]["epochs_trained"] < r.setup["cost"]["epochs_full"]


def test_pruning_a_user_function_stops_every_seed_of_the_lr(user_train):
    r = job(train=user_train + ":train", schedules=["cosine('100%')"], lrs=[1e-5, 0.5, 1.0], protocol="full",
            prune="clearly-worse", seeds=2, tune_seeds=3, epochs=6)
    hopeless = [rec for rec in r.records.values() if rec.task.lr == 1e-5]
    assert len(hopeless) == 3 and all(rec.status == "pruned" for rec in hopeless)
    # one after another, seed by seed: the first seed stops after the grace period, the later ones never start
    assert sorted(len(rec.history) for rec in hopeless) == [0, 0, 4]
    assert r.entries[0].status == "compared"


@pytest.mark.parametrize("kwargs,message", [
    ({"lr": 1e300}, "compare(): lr must be <= 250000; got lr=1e+300"),
    ({"lrs": [0.1, -1]}, "compare(): lrs must be > 0; got lrs=-1"),
    ({"lrs": [0.1, float("inf")]}, "compare(): lrs must be finite; got lrs=inf"),
    ({"seeds": 0}, "compare(): seeds must be a whole number >= 1; got seeds=0"),
    ({"epochs": 2.5}, "compare(): epochs must be a whole number >= 1; got epochs=2.5"),
    ({"mode": "mx"}, "compare(): mode must be one of 'max', 'min'; got mode='mx'"),
    ({"engine": "dask"}, "compare(): engine must be one of 'local', 'ray'"),
    ({"mode": "min"}, "compare(): mode must be 'max' for the built-in training (its val and test are accuracies)"),
    ({"prune": "median"}, "compare(): prune must be one of 'clearly-worse', 'none'"),
    ({"protocol": "brute"}, "compare(): protocol must be one of 'adaptive', 'full'"),
    ({"budget": 0}, "compare(): budget must be a whole number >= 1; got budget=0"),
    ({"budget": 10}, "compare(): budget must be at least"),
    ({"budget": 10, "protocol": "full"}, "compare(): budget must cover the full protocol's"),
    ({"workers": 0}, "compare(): workers must be a whole number >= 1; got workers=0"),
    ({"resources": "cpu=1"}, "compare(): resources must be given only with engine='ray'"),
    ({"schedules": ["cosine(-5)"]}, "compare(): schedule 'cosine(-5)': cosine(): steps must be > 0"),
    ({"schedules": ["constant()", "constant()"]}, "compare(): schedule 'constant()' is given twice"),
    ({"schedules": ["cosine('rest') >> cosine('rest')"]}, "at most one 'rest'"),
    ({"config": {"modle": "mlp"}}, "compare(): unknown setting of the built-in training 'modle' (did you mean"),
    ({"config": {"optimizer": "adam"}}, "compare(): optimizer must be one of 'sgd', 'adamw'"),
    ({"train": 3}, "compare(): train must be a function train(run); got train=3"),
    ({"train": lambda a, b: 0}, "compare(): train must take one argument, the run: def train(run)"),
    ({"train": "no_such_module_xyz:train"}, "cannot import 'no_such_module_xyz'"),
    ({"train": "lrkit.lab.builtin:trian"}, "has no function 'trian' (did you mean 'train'?)"),
    ({"train": "lrkit.lab.builtin"}, "compare(): train must be FILE.py:FUNCTION or MODULE:FUNCTION"),
])
def test_bad_arguments_stop_before_any_training(kwargs, message):
    with pytest.raises(lk.SpecError) as e:
        job(**kwargs)
    assert message in str(e.value)


def test_a_user_train_needs_an_lr():
    with pytest.raises(lk.SpecError, match="compare\\(\\): lr must be given \\(or lrs\\)"):
        job(train=lambda run: 0.0, config={})


def test_importing_the_lab_imports_no_framework():
    import subprocess
    import sys

    code = "import sys, lrkit.lab; lrkit.lab.compare; print(sorted(m for m in ('torch', 'matplotlib', 'ray') " \
           "if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_user_function_file_is_loaded_once_per_path(user_train):
    spec = importlib.util.find_spec("lrkit.lab.loader")
    assert spec is not None
    from lrkit.lab.loader import load_train

    assert load_train(user_train + ":train") is load_train(user_train + ":train")
