"""A user's own train function through the CLI: worker processes, a real SIGKILL and resume, failures, Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from lab_helpers import ENV, USER_TRAIN, lrkit, numbers, results

JOB = ["--lr", "0.5", "--schedule", "cosine('100%')", "--schedule", "constant()", "--schedule", "linear('100%')",
       "--epochs", "3", "--seeds", "3", "--protocol", "full", "--no-progress"]
#: The default protocol on the same function: more seeds than it needs, so that the race decides.
ADAPTIVE = ["--lr", "0.5", "--schedule", "cosine('100%')", "--schedule", "constant()", "--schedule", "linear('100%')",
            "--schedule", "constant(0.01)", "--epochs", "4", "--seeds", "8", "--no-progress"]


@pytest.mark.slow
def test_two_workers_give_the_same_results_as_one(user_train, tmp_path):
    outs = {}
    for name, extra in (("one", ["--workers", "1"]), ("two", ["--workers", "2"]), ("here", [])):
        out = str(tmp_path / name)
        p = lrkit("compare", "--train", f"{user_train}:train", *JOB, *extra, "--out", out)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip().splitlines()[-1].startswith("verdict: ")
        outs[name] = results(out)
    assert numbers(outs["one"]) == numbers(outs["two"]) == numbers(outs["here"])
    assert outs["two"]["setup"]["workers"] == 2 and outs["two"]["setup"]["runs_trained"] == 3 * 5 * 2 + 3 * 3


@pytest.mark.slow
def test_the_adaptive_protocol_gives_the_same_numbers_on_two_workers(user_train, tmp_path):
    """Its rounds are the policy's decisions from finished runs only: the engine cannot change them
    (pruning off: which runs a prune stops depends on the order reports arrive in)."""
    outs = {}
    for name, extra in (("two", ["--workers", "2"]), ("here", [])):
        out = str(tmp_path / name)
        p = lrkit("compare", "--train", f"{user_train}:train", *ADAPTIVE, "--prune", "none", *extra, "--out", out)
        assert p.returncode == 0, p.stderr
        outs[name] = results(out)
    assert numbers(outs["two"]) == numbers(outs["here"])


def _records(out) -> set[str]:
    folder = os.path.join(out, "runs")
    return {f[:-5] for f in os.listdir(folder) if f.endswith(".json")} if os.path.isdir(folder) else set()


def _starts(log) -> list[str]:
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [line.split(" ", 1)[1].strip() for line in f if line.startswith("start")]


def _key_of(out, key) -> str:
    with open(os.path.join(out, "runs", key + ".json")) as f:
        r = json.load(f)
    return f"{r['name']} {r['lr']!r} {r['seed']}"


def _kill_after(args: list[str], out: str, runs: int) -> None:
    """Start ``args``, SIGKILL it once ``runs`` runs are on disk."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.time() + 300
    while len(_records(out)) < runs and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.parametrize("job,kill_at", [(JOB, 12), (ADAPTIVE, 20)], ids=["full", "adaptive"])
def test_a_job_killed_by_sigkill_resumes_without_rerunning_finished_runs(user_train, tmp_path, job, kill_at):
    """Killed mid-job and started again: no finished run trains twice, and the verdict is the one the same job
    gives uninterrupted."""
    whole = str(tmp_path / "whole")
    p = lrkit("compare", "--train", f"{user_train}:train", *job, "--out", whole)
    assert p.returncode == 0, p.stderr
    total = results(whole)["setup"]["cost"]["runs_trained"]

    out, log = str(tmp_path / "out"), str(tmp_path / "calls.log")
    settings = ["--set", f"log={log}", "--set", "sleep=0.05"]
    _kill_after([sys.executable, "-m", "lrkit", "compare", "--train", f"{user_train}:train", *job, "--out", out,
                 *settings], out, kill_at)
    finished = _records(out)
    started_before = _starts(log)
    assert kill_at <= len(finished) < total
    assert len(started_before) - len(finished) <= 1  # in one process: at most the run in flight is lost
    p = lrkit("compare", "--train", f"{user_train}:train", *job, "--out", out, *settings)
    assert p.returncode == 0, p.stderr
    started_after = _starts(log)[len(started_before):]
    done_before = {" ".join(_key_of(out, k).split()) for k in finished}
    again = {" ".join(s.split()[1:]) for s in started_after}
    assert not done_before & again  # no finished run ran twice
    assert len(started_after) == total - len(finished)
    doc = results(out)
    cost = doc["setup"]["cost"]
    assert cost["runs_resumed"] == len(finished) and cost["runs_this_job"] == len(started_after)
    assert numbers(doc) == numbers(results(whole))  # the same choices, runs and verdict as uninterrupted


def test_a_failing_run_is_reported_and_the_exit_status_is_1(user_train, tmp_path):
    out = str(tmp_path / "out")
    p = lrkit("compare", "--train", f"{user_train}:train", *JOB, "--out", out, "--set", "fail=constant()",
              "--set", "fail_seed=2")
    assert p.returncode == 1
    assert p.stdout.strip().splitlines()[-1].startswith("verdict: no significant winner")
    assert "1 run failed" in p.stderr and "ValueError: boom in constant()" in p.stderr and "Traceback" not in p.stderr
    doc = results(out)
    bad = next(r for r in doc["runs"] if r["name"] == "constant()")
    assert bad["failed"] is True and bad["in_top_group"] is False and bad["errors"][0]["seed"] == 2
    assert all(r["status"] == "compared" for r in doc["runs"] if r["name"] != "constant()")
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    assert "## Failures" in md and "boom in constant()" in md


@pytest.mark.parametrize("spec,message", [
    ("missing.py:train", "compare(): train must be FILE.py:FUNCTION naming an existing file"),
    ("{file}:trian", "has no function 'trian' (did you mean 'train'?)"),
    ("{two}:train", "compare(): train must take one argument, the run: def train(run); got train="),
    ("{broken}:train", "raised ZeroDivisionError: division by zero"),
    ("{file}", "compare(): train must be FILE.py:FUNCTION or MODULE:FUNCTION"),
])
def test_a_train_that_cannot_be_used_is_an_error_before_anything_trains(user_train, tmp_path, spec, message):
    two, broken = tmp_path / "two.py", tmp_path / "broken.py"
    two.write_text("def train(run, other):\n    return 0.0\n")
    broken.write_text("x = 1 / 0\ndef train(run):\n    return 0.0\n")
    spec = spec.format(file=user_train, two=two, broken=broken)
    out = tmp_path / "out"
    p = lrkit("compare", "--train", spec, "--lr", "0.1", "--out", str(out), "--no-progress", cwd=str(tmp_path))
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not _records(str(out))


def test_builtin_settings_with_train_are_an_error(user_train, tmp_path):
    p = lrkit("compare", "--train", f"{user_train}:train", "--lr", "0.1", "--data", "mnist1d",
              "--out", str(tmp_path / "o"))
    assert p.returncode == 2
    assert "data apply to the built-in training only" in p.stderr


@pytest.mark.slow
def test_the_same_job_on_a_local_ray_gives_the_same_numbers(user_train, tmp_path):
    pytest.importorskip("ray")
    from lrkit.lab import compare

    kw = {"train": f"{user_train}:train", "schedules": ["cosine('100%')", "constant()", "linear('100%')"], "lr": 0.5,
          "seeds": 3, "epochs": 3, "progress": False, "config": {"fail": "linear('100%')", "fail_seed": 1},
          "prune": "none"}  # pruning: which runs it stops depends on the order reports arrive in
    before = os.environ.get("RAY_USAGE_STATS_ENABLED")
    local = compare(**kw, out=str(tmp_path / "local"))
    on_ray = compare(**kw, engine="ray", resources="cpu=1", out=str(tmp_path / "ray"))
    assert numbers(on_ray.to_dict()) == numbers(local.to_dict())
    assert on_ray.setup["engine"] == "ray" and len(on_ray.failed_runs) == 1
    assert "boom in linear('100%')" in on_ray.failed_runs[0].error
    assert os.environ.get("RAY_USAGE_STATS_ENABLED") == before  # the caller's environment is as it was
    import ray

    assert not ray.is_initialized()  # the Ray it started is shut down
    again = compare(**kw, engine="ray", out=str(tmp_path / "ray"))  # resume: nothing left to train
    assert again.setup["runs_trained"] == 1 and again.setup["runs_resumed"] == len(on_ray.records) - 1


def test_user_train_source_is_a_real_module(tmp_path):
    """The helper's function runs as written (guards the tests above against a broken fixture)."""
    path = tmp_path / "t.py"
    path.write_text(USER_TRAIN)
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import t; from lrkit.lab.run import Run, Task;"
            "r = Run(Task('k', 'c', 'cosine(\\'100%\\')', None, 0.5, 0, 3, {})); print(t.train(r)['test'] > 0.7)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=False)
    assert out.stdout.strip() == "True", out.stderr


DIES = '''
import os

def train(run):
    marker = os.path.join(run.config["folder"], f"{run.name}-{run.lr}-{run.seed}")
    with open(os.path.join(run.config["folder"], "starts.log"), "a") as log:
        log.write(f"{run.name} {run.lr} {run.seed}\\n")
    if run.name == "constant()" and (run.config["always"] or not os.path.exists(marker)):
        open(marker, "w").close()
        os._exit(3)  # the worker process dies, as on a segfault or an out-of-memory kill
    s = run.bind(1)  # a train that ignored the schedule would stop the job once both runs of a seed are done
    for epoch in range(2):
        run.report(epoch=epoch, val=run.lr * (epoch + 1) * s(epoch))
    return run.lr
'''


@pytest.mark.slow
@pytest.mark.parametrize("always", [False, True])
def test_a_dying_worker_process_is_retried_then_failed(tmp_path, always):
    from lrkit.lab import compare

    (tmp_path / "dies.py").write_text(DIES)
    r = compare(train=f"{tmp_path / 'dies.py'}:train", schedules=["cosine('100%')", "constant()"], lrs=[0.1],
                seeds=2, tune_seeds=1, epochs=2, workers=2, retries=1, out=None, progress=False,
                config={"folder": str(tmp_path), "always": always})
    cos = [rec for rec in r.records.values() if rec.task.name == "cosine('100%')"]
    const = [rec for rec in r.records.values() if rec.task.name == "constant()"]
    assert all(rec.status == "done" for rec in cos)
    starts = (tmp_path / "starts.log").read_text().splitlines()
    # a run is never trained by two workers at once: each entry into train() is an attempt (a worker
    # may also die before train() is entered, so there can be more attempts than entries)
    assert all(starts.count(f"{rec.task.name} {rec.task.lr} {rec.task.seed}") <= rec.attempts
               for rec in r.records.values())
    if always:  # dies on every attempt: failed with what happened, after its own death was retried once
        assert all(rec.status == "failed" and "the worker process died" in rec.error and rec.attempts >= 2
                   for rec in const)
    else:  # dies once: the retry trains it, even when a neighbour's death cut an earlier attempt short
        assert all(rec.status == "done" and rec.attempts >= 2 for rec in const)


class _DiesWhenUnpickled:
    """A train function whose unpickling kills the worker process: no run ever starts."""

    def __call__(self, run):
        run.report(epoch=0, val=1.0)
        return 1.0

    def __reduce__(self):
        return (os._exit, (3,))


@pytest.mark.slow
def test_workers_that_die_before_any_run_starts_fail_the_runs_instead_of_looping():
    from lrkit.lab import compare

    r = compare(train=_DiesWhenUnpickled(), schedules=["cosine('100%')", "constant()"], lrs=[0.1], seeds=1,
                tune_seeds=1, epochs=1, workers=2, retries=1, out=None, progress=False)
    assert r.records and all(rec.status == "failed" for rec in r.records.values())
    assert all(rec.error.startswith("the worker processes died 2 times in a row before any run started")
               for rec in r.records.values())
    assert all(rec.attempts == 0 for rec in r.records.values())  # no run ever started


BESIDE = '''
import glob
import os
import time

def train(run):  # constant() dies once a cosine run is training beside it (the first time; then at once)
    folder = run.config["folder"]
    if run.name != "constant()":
        running = os.path.join(folder, f"running-{run.lr}-{run.seed}")
        open(running, "w").close()
        time.sleep(1.0)
        os.remove(running)
        run.report(epoch=0, val=run.lr)
        return run.lr
    marker = os.path.join(folder, f"died-{run.lr}-{run.seed}")
    deadline = time.time() + 10
    while not os.path.exists(marker) and not glob.glob(os.path.join(folder, "running-*")) and time.time() < deadline:
        time.sleep(0.01)
    open(marker, "w").close()
    os._exit(3)
'''


@pytest.mark.slow
def test_a_neighbour_that_dies_does_not_fail_an_innocent_run(tmp_path):
    """Every run of constant() kills its worker each time; cosine runs beside them and must never be blamed."""
    from lrkit.lab import compare

    (tmp_path / "dies.py").write_text(BESIDE)
    r = compare(train=f"{tmp_path / 'dies.py'}:train", schedules=["cosine('100%')", "constant()"],
                lrs=[0.1], seeds=2, tune_seeds=2, epochs=2, workers=2, retries=1, out=None,
                progress=False, config={"folder": str(tmp_path)})
    cos = [rec for rec in r.records.values() if rec.task.name == "cosine('100%')"]
    assert all(rec.status == "done" for rec in cos)
    assert max(rec.attempts for rec in cos) >= 2  # one was in flight when a neighbour died, and ran again
    assert all(rec.status == "failed" for rec in r.records.values() if rec.task.name == "constant()")
    assert r.entries[0].status == "compared" and r.entries[1].status == "failed"
