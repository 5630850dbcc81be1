"""The lab guards its user: no silent wrong answer (stale runs, a loss scored as an accuracy, a train that
ignores the schedule, schedules that do not fit the run) and no wasted hour (absurd jobs, hanging runs,
sys.exit and Ctrl-C in the user's code, a job with no verdict, thread counts). Each at the boundary where
the user makes the mistake: ``lrkit.lab.compare`` and the command line."""

from __future__ import annotations

import json
import os
import textwrap

import pytest
from lab_helpers import lrkit, results

import lrkit as lk
from lrkit.lab import compare

#: A user's training file: a tiny NumPy model whose behaviour the test's config steers. Its model comes from
#: ``helper.py`` beside it (the user's own code, imported by the train file).
TRAIN = '''
import math, sys, time
import numpy as np
from helper import Model

def train(run):
    cfg = run.config
    log = cfg.get("log")
    if log:
        with open(log, "a") as f:
            f.write(f"{run.phase} {run.name} {run.lr!r} {run.seed}\\n")
    if cfg.get("exit") == run.name:
        sys.exit(3)
    if cfg.get("interrupt") == run.name:
        raise KeyboardInterrupt
    if cfg.get("hang") == run.name:
        time.sleep(60)
    rng = np.random.default_rng(run.seed)
    model = Model(rng)
    lrs = ([1.0] * 30 if cfg.get("ignore") else run.bind(10).values(np.arange(30)))
    if cfg.get("read_only"):
        run.bind(10)
    for epoch in range(run.epochs):
        model.step(run.lr * float(np.mean(lrs[epoch * 10:(epoch + 1) * 10])))
        val = model.loss() if cfg.get("loss") else (math.nan if cfg.get("nan") else model.score())
        run.report(epoch=epoch, val=val)
    return {"test": model.loss() if cfg.get("loss") else (math.nan if cfg.get("nan") else model.score())}
'''
HELPER = '''
import numpy as np

class Model:
    """A noisy descent toward 1.0: a higher lr times the schedule's mean goes faster."""
    def __init__(self, rng):
        self.rng, self.x = rng, 0.0
    def step(self, lr):
        self.x += (1.0 - self.x) * min(1.0, 0.3 * lr) + 0.01 * self.rng.normal()
    def score(self):
        return self.x
    def loss(self):
        return 1.0 - self.x
'''
SCHEDULES = ["constant()", "linear('100%')", "cosine('100%')"]
CLI = ["--train", "train.py:train", "--lrs", "0.5,1,2", "--epochs", "3", "--seeds", "2", "--out", "o", "--no-progress",
       *[a for s in SCHEDULES for a in ("--schedule", s)]]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "helper.py").write_text(HELPER)
    return tmp_path


def job(project, **kw):
    kw.setdefault("schedules", SCHEDULES)
    kw.setdefault("lrs", [0.5, 1.0, 2.0])
    kw.setdefault("seeds", 3)
    kw.setdefault("epochs", 3)
    kw.setdefault("progress", False)
    kw.setdefault("out", None)
    return compare(str(project / "train.py") + ":train", **kw)


def _starts(log) -> int:
    return len(open(log).read().splitlines()) if os.path.exists(log) else 0


# ------------------------------------------------------------- stale runs
def test_a_changed_helper_or_declared_version_trains_again_and_says_so(project, capsys):
    log, out = str(project / "log.txt"), str(project / "out")
    first = job(project, out=out, config={"log": log})
    n = _starts(log)
    assert n == first.setup["cost"]["runs_this_job"] > 0
    job(project, out=out, config={"log": log})
    assert _starts(log) == n  # nothing changed: every run reused
    # the model class in the helper module changes: every run is trained again, with a warning
    (project / "helper.py").write_text(HELPER.replace("0.3 * lr", "0.2 * lr"))
    capsys.readouterr()
    again = job(project, out=out, config={"log": log})
    assert _starts(log) == 2 * n and again.setup["cost"]["runs_resumed"] == 0
    assert "trained by other code" in capsys.readouterr().err
    assert any("trained by other code" in w for w in again.setup["warnings"])
    # a declared version is part of the key too; fresh=True deletes the old runs
    job(project, out=out, config={"log": log}, version="v2")
    assert _starts(log) == 3 * n
    job(project, out=out, config={"log": log}, version="v2", fresh=True)
    assert _starts(log) == 4 * n and len(os.listdir(os.path.join(out, "runs"))) == 4 * 0 + n


def test_a_changed_train_file_trains_again(project):
    log, out = str(project / "log.txt"), str(project / "out")
    job(project, out=out, config={"log": log})
    n = _starts(log)
    (project / "train.py").write_text(TRAIN.replace("min(1.0, 0.3 * lr)", "min(1.0, 0.3 * lr)") + "\nHIDDEN = 1\n")
    job(project, out=out, config={"log": log})
    assert _starts(log) == 2 * n


# -------------------------------------------------- a loss as an accuracy
def test_a_loss_scored_as_an_accuracy_stops_before_any_decision(project):
    with pytest.raises(lk.SpecError, match=r"mode='max', but the validation metric fell as training went on in "
                                           r"\d+ of \d+ runs of the first round: is it a loss\?.*mode='min'"):
        job(project, config={"loss": True})
    r = job(project, config={"loss": True}, mode="min")  # said: a loss
    assert r.verdict.best is not None and not r.setup["warnings"]
    r = job(project, config={"loss": True}, mode="max")  # confirmed: goes on, with the warning kept
    assert any("fell as training went on" in w for w in r.setup["warnings"])


def test_a_loss_scored_as_an_accuracy_on_the_command_line(project):
    p = lrkit("compare", "--train", "train.py:train", "--lrs", "0.5,1,2", "--epochs", "3", "--seeds", "3",
              "--set", "loss=true", "--out", "o", "--no-progress", cwd=str(project))
    assert p.returncode == 2
    assert p.stderr.strip().splitlines()[-1].startswith("error: compare(): mode='max', but the validation metric")


# ------------------------------------------------ a train that ignores it
def test_a_train_that_never_reads_the_schedule_is_stopped(project):
    with pytest.raises(lk.SpecError, match="every schedule gave bit-identical results.*train never read "
                                           "run.schedule"):
        job(project, config={"ignore": True})


def test_identical_results_from_a_train_that_reads_the_schedule_are_a_warning(project):
    r = job(project, config={"ignore": True, "read_only": True})
    assert any("does train apply run.schedule" in w for w in r.setup["warnings"])


# ------------------------------------------------ schedules that do not fit
def test_schedules_that_do_not_fit_the_run_are_named_in_the_output_and_the_report(project, capsys):
    out = str(project / "out")
    r = job(project, out=out, schedules=["cosine(100000)", "step('50ep')", "warmup('60%') >> cosine('60%')",
                                          "cosine('100%')"], seeds=2)
    w = " ".join(x for x in r.setup["warnings"] if "never reaches" in x or "does not change" in x)
    assert "`cosine(100000)` never reaches its end: it lasts 100000 steps, the run 30" in w
    assert "`step('50ep')` does not change during the run (30 steps)" in w
    assert "`warmup('60%') >> cosine('60%')` never reaches its end: it lasts 36 steps, the run 30" in w
    assert "cosine('100%')" not in w.replace("warmup('60%') >> cosine('60%')", "")
    err = capsys.readouterr().err
    assert "warning: cosine(100000) never reaches its end" in err
    md = open(os.path.join(out, "report.md")).read()
    assert "## Warnings" in md and "`step('50ep')` does not change during the run" in md
    assert json.load(open(os.path.join(out, "results.json")))["setup"]["warnings"] == r.setup["warnings"]


# ------------------------------------------------------------- huge jobs
def test_an_absurd_job_is_refused_at_once_with_the_rule(project):
    with pytest.raises(lk.SpecError, match=r"compare\(\): seeds must be at most 1000 .*; got seeds=100000000"):
        job(project, seeds=100_000_000)
    with pytest.raises(lk.SpecError, match=r"compare\(\): this job could train \d+ runs .*more than 100000; .*budget"):
        job(project, lrs=[0.001 * 1.01 ** k for k in range(500)], tune_seeds=100, seeds=1000)


def test_the_command_line_says_what_a_job_will_cost_and_estimates_the_time(project):
    p = lrkit("compare", "--train", "train.py:train", "--lrs", "0.5,1,2", "--epochs", "3", "--seeds", "3",
              "--schedule", "constant()", "--schedule", "cosine('100%')", "--out", "o", cwd=str(project))
    assert p.returncode == 0, p.stderr
    assert "2 schedules, lr grid 0.5, 1, 2, up to 3 seeds, 3 epochs a run: at most 12 runs, 36 epochs" in p.stderr
    assert "the rest of the job trains at most" in p.stderr


def test_a_hanging_run_fails_after_run_timeout_and_the_job_goes_on(project):
    r = job(project, config={"hang": "linear('100%')"}, run_timeout=1.0, seeds=2)
    lin = next(e for e in r.entries if e.name == "linear('100%')")
    assert lin.status == "failed" and "run_timeout=1 s" in lin.errors[0]["message"]
    assert all(e.status == "compared" for e in r.entries if e is not lin)


@pytest.mark.slow
def test_a_hanging_run_on_a_worker_fails_after_run_timeout(project):
    p = lrkit("compare", *CLI, "--set", "hang=linear('100%')", "--run-timeout", "1", "--workers", "2",
              cwd=str(project))
    assert p.returncode == 1, p.stderr
    doc = results(project / "o")
    lin = next(r for r in doc["runs"] if r["name"] == "linear('100%')")
    assert lin["status"] == "failed" and "run_timeout=1 s" in lin["errors"][0]["message"]


# ------------------------------------------------- exits inside the user's code
def test_sys_exit_inside_train_fails_that_run_only(project):
    p = lrkit("compare", *CLI, "--set", "exit=linear('100%')", cwd=str(project))
    assert p.returncode == 1 and p.stdout.strip().splitlines()[-1].startswith("verdict: ")
    assert "train called sys.exit(3)" in p.stderr
    doc = results(project / "o")
    assert [r["status"] for r in doc["runs"]] == ["compared", "failed", "compared"]


def test_ctrl_c_inside_train_stops_the_job_cleanly_and_keeps_the_finished_runs(project):
    p = lrkit("compare", *CLI, "--set", "interrupt=cosine('100%')", cwd=str(project))
    assert p.returncode == 130 and "Traceback" not in p.stderr
    assert "interrupted: the runs that finished are kept in o/runs" in p.stderr
    assert len(os.listdir(project / "o" / "runs")) > 0


def test_a_job_with_no_verdict_exits_non_zero(project):
    p = lrkit("compare", *CLI, "--set", "nan=true", "--mode", "max", cwd=str(project))
    assert p.returncode == 1 and p.stdout.strip().splitlines()[-1].startswith("verdict: no verdict")


# ------------------------------------------------------------------ threads
def test_runs_in_this_process_get_one_thread_and_the_caller_keeps_its_setting(tmp_path):
    import torch

    seen = []

    def train(run):
        seen.append(torch.get_num_threads())
        run.report(val=float(run.seed + run.lr * run.bind(10)(5)))
        return float(run.seed + run.bind(10)(5))

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        compare(train, schedules=["constant()", "cosine(5)"], lrs=[0.1], seeds=2, epochs=1, out=None,
                progress=False)
        assert set(seen) == {1} and torch.get_num_threads() == 2
        seen.clear()
        compare(train, schedules=["constant()", "cosine(5)"], lrs=[0.1], seeds=2, epochs=1, out=None,
                progress=False, threads=None)
        assert set(seen) == {2}
    finally:
        torch.set_num_threads(before)


# ------------------------------------------------------------ the report's words
def test_the_report_says_tuning_seed_and_an_annealing_schedule_is_not_under_trained(project):
    out = str(project / "out")
    r = job(project, out=out, schedules=["constant()", "wsd('100%', '5%', '20%')"], seed_offset=7, seeds=3,
            epochs=3, protocol="full", tune_seeds=1)
    md = open(os.path.join(out, "report.md")).read()
    assert "on tuning seed 10," in md and "seeds 10" not in md
    wsd = next(e for e in r.entries if e.name.startswith("wsd"))
    assert not wsd.under_trained  # it improves at the end because it cools down, by design


@pytest.mark.parametrize("out,needle", [("a_file", "--out must be a folder; 'a_file' is a file"),
                                         ("a_file/sub", "--out a_file/sub: 'a_file' is a file, not a folder")])
def test_errors_about_out_name_out(project, out, needle):
    (project / "a_file").write_text("x")
    p = lrkit("compare", "--train", "train.py:train", "--lr", "1", "--out", out, cwd=str(project))
    assert p.returncode == 2 and p.stderr.strip() == f"error: {needle}"


def test_the_guards_are_documented_where_users_read(project):
    text = textwrap.dedent(compare.__doc__)
    for word in ("mode: ", "run_timeout:", "threads:", "version:", "fresh:"):
        assert word in text


def test_a_module_with_a_made_up_file_name_does_not_break_the_code_identity(project, monkeypatch):
    """torch._classes says its __file__ is '_classes.py' (relative): run from the train file's folder, that
    once read as a user module that does not exist."""
    import sys
    import types

    from lrkit.lab.identity import user_files

    fake = types.ModuleType("made_up")
    fake.__file__ = "_classes.py"
    monkeypatch.setitem(sys.modules, "made_up", fake)
    monkeypatch.chdir(project)
    assert user_files(str(project / "train.py")) == [os.path.realpath(project / "train.py")]


def test_the_built_in_training_is_identified_by_the_files_it_trains_with():
    from lrkit.lab import identity

    files = {os.path.relpath(f, os.path.dirname(os.path.dirname(identity.__file__))) for f in identity._lrkit_files()}
    assert {"lab/builtin.py", "lab/batched/optim.py", "schedules/base.py", "torch.py"} <= files
    assert not files & {"lab/report.py", "lab/stats.py", "lab/policy.py", "lab/words.py"}  # decisions, not runs
