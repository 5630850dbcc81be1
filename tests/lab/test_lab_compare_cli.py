"""``lrkit compare`` end to end, in a subprocess, as a user types it (small budgets)."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser

import numpy as np
import pytest
from lab_helpers import assert_png, assert_self_contained, lrkit, numbers, results

import lrkit as lk
from lrkit.cli import main
from lrkit.lab.config import DEFAULT_SCHEDULES
from lrkit.lab.results import COLUMNS

FILES = {"results.json", "report.md", "report.html", "config.json", "tuning.png", "differences.png",
         "curves.png", "lr.png", "runs"}
RUN_KEYS = {"name", "lr", "tuning", "seeds", "test", "mean", "diff_ci95", "p_adjusted", "in_top_group", "pruned",
            "failed", "under_trained"}
SMALL = ["--schedule", "cosine('100%')", "--schedule", "warmup('1ep') >> linear('rest')",
         "--schedule", "step('1ep', gamma=0.5)", "--plateau", "--epochs", "2", "--seeds", "3", "--tune-seeds", "1",
         "--model", "linear", "--batch-size", "128", "--lrs", "0.05,0.2", "--protocol", "full", "--no-progress"]
NAMES = ["cosine('100%')", "warmup('1ep') >> linear('rest')", "step('1ep', gamma=0.5)",
         "constant() with Plateau(factor=0.5, patience=1)"]


def table_rows(md: str) -> list[list[str]]:
    lines = [line for line in md.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip().strip("|").split(" | ")] for line in lines]


def html_table(page: str) -> list[list[str]]:
    """The text of every th/td cell of the page's table, row by row (entities decoded)."""
    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.rows[-1].append(self.cell)
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    parser = Cells()
    parser.feed(page)
    return parser.rows


@pytest.mark.slow
def test_compare_end_to_end_and_again_from_its_config(tmp_path):
    out = tmp_path / "out"
    p = lrkit("compare", *SMALL, "--out", str(out))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[-1].startswith("verdict: ") and str(out / "report.html") in lines[0]
    assert {f.name for f in out.iterdir()} == FILES

    doc = results(out)
    v = doc["verdict"]
    assert set(v) >= {"winner", "top_group", "metric", "alpha"} and v["alpha"] == 0.05
    assert v["metric"] == "test accuracy" and lines[-1] == "verdict: " + v["text"]
    assert [r["name"] for r in doc["runs"]] == NAMES
    for r in doc["runs"]:
        assert set(r) >= RUN_KEYS
        assert r["seeds"] == [0, 1, 2] and len(r["test"]) == 3 and r["lr"] in (0.05, 0.2)
        assert [t["lr"] for t in r["tuning"]] == [0.05, 0.2] and all(0 <= t["val"] <= 1 for t in r["tuning"])
        assert r["mean"] == pytest.approx(sum(r["test"]) / 3)
        assert (r["diff_ci95"] is None) == (r["name"] == v["best"])
        assert r["in_top_group"] == (r["name"] in v["top_group"])
        best = max(r["tuning"], key=lambda t: (t["val"], -t["lr"]))
        assert r["lr"] == best["lr"]  # the chosen lr is the best validation metric of the tuning
    assert v["winner"] in (None, v["best"])

    # every run's record: the lr it used is the chosen lr times the bound schedule
    spe, total = 9, 18  # ceil(1077 / 128), 2 epochs
    cos = next(r for r in doc["runs"] if r["name"] == "cosine('100%')")
    for path in (out / "runs").glob("*.json"):
        rec = json.loads(path.read_text())
        if rec["schedule"] == "cosine('100%')" and rec["lr"] == cos["lr"] and rec["seed"] == 0:
            want = cos["lr"] * lk.cosine(total).values(np.array([spe - 1, total - 1]))
            np.testing.assert_allclose([h["lr"] for h in rec["history"]], want, rtol=1e-6)
            assert rec["result"]["test"] == cos["test"][0]

    rows = table_rows((out / "report.md").read_text())
    head, body = rows[0], rows[2:]
    assert head == list(COLUMNS) and len(body) == 4
    assert sorted(r[1].strip("`") for r in body) == sorted(NAMES)
    page = (out / "report.html").read_text()
    assert page.index('class="verdict"') < page.index("<table>")  # the verdict leads
    assert_self_contained(page, n_images=4)
    cells = html_table(page)
    assert cells[0] == list(COLUMNS)
    assert [[c.replace("`", "") for c in r] for r in body] == cells[1:]  # the same table as report.md
    for png in ("tuning.png", "differences.png", "curves.png", "lr.png"):
        assert_png((out / png).read_bytes())

    # the same job again from the config it wrote, elsewhere: the same numbers
    again = tmp_path / "again"
    p2 = lrkit("compare", "--config", str(out / "config.json"), "--out", str(again), "--no-progress")
    assert p2.returncode == 0, p2.stderr
    doc2 = results(again)
    assert doc2["settings"] == dict(doc["settings"], out=str(again))
    assert numbers(doc2) == numbers(doc)
    # and in the same folder: every run is taken from runs/, nothing trains
    p3 = lrkit("compare", "--config", str(out / "config.json"), "--no-progress")
    assert p3.returncode == 0 and results(out)["setup"]["runs_trained"] == 0
    assert numbers(results(out)) == numbers(doc)


@pytest.mark.slow
def test_default_job_on_one_epoch_runs_every_default_schedule(tmp_path):
    """The default set, cut to 1 epoch: every schedule binds and trains; progress on stderr."""
    p = lrkit("compare", "--epochs", "1", "--seeds", "2", "--tune-seeds", "1", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "lr search 1: 45 runs (15 schedules x 3 lrs x 1 seed)" in p.stderr and "epoch" in p.stderr
    assert "seeds, round 1: 30 runs (15 schedules x 2 seeds, seeds 0..1)" in p.stderr
    assert "Traceback" not in p.stderr
    doc = results(tmp_path / "lrkit-out")
    assert [r["name"] for r in doc["runs"]] == list(DEFAULT_SCHEDULES) + [
        "constant() with Plateau(factor=0.5, patience=1)"]
    assert doc["setup"]["data"] == {"name": "digits", "train": 1077, "val": 360, "test": 360}
    assert doc["setup"]["lrs"] == [0.025, 0.05, 0.1, 0.2, 0.4]


def error_line(capsys, *argv: str) -> str:
    """``lrkit compare ARGV`` in this process: exit status 2 and one ``error: ...`` line on stderr; that line."""
    assert main(["compare", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("args,needle", [
    (["--epochs", "0"], "argument --epochs: must be a whole number > 0"),
    (["--seeds", "two"], "argument --seeds"),
    (["--model", "resnet"], "argument --model: invalid choice"),
    (["--optimizer", "adam"], "argument --optimizer: invalid choice"),
    (["--lr", "nan"], "argument --lr"),
    (["--lr", "1e300"], "compare(): lr must be <= 250000; got lr=1e+300"),
    (["--lrs", "0.1,1e300"], "compare(): lrs must be <= 1000000; got lrs=1e+300"),
    (["--lrs", "0.1,x"], "argument --lrs: must be numbers separated by commas"),
    (["--lrs", "0.1,-2"], "compare(): lrs must be > 0; got lrs=-2"),
    (["--plateau-factor", "2"], "argument --plateau-factor: must be a number in (0, 1)"),
    (["--schedule", "cosine("], "compare(): schedule 'cosine(': parse(): "),
    (["--schedule", "coisne(10)"], "did you mean 'cosine'?"),
    (["--schedule", "cosine('rest') >> cosine('rest')"], "at most one 'rest'"),
    (["--schedule", "cosine(10)", "--schedule", "cosine(10)"], "is given twice"),
    (["--data", "nope"], "load_dataset(): name must be 'digits', 'mnist1d' or a path ending in .npz"),
    (["--data", "missing.npz"], "must be digits, mnist1d or an existing .npz file"),
    (["--config", "missing.yaml"], "--config missing.yaml: load_config(): path must be an existing file"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--workers", "0"], "argument --workers: must be a whole number > 0"),
    (["--engine", "spark"], "argument --engine: invalid choice"),
    (["--resources", "cpu=1"], "compare(): resources must be given only with engine='ray'"),
    (["--address", "ray://x:1"], "compare(): address must be a Ray address, with engine='ray'"),
    (["--engine", "ray", "--resources", "cpu=one"], "compare(): resources must be NAME=NUMBER pairs"),
    (["--set", "noequals"], "argument --set: must be KEY=VALUE"),
    (["--prune", "median"], "argument --prune: invalid choice"),
    (["--steps-per-epoch", "10"], "compare(): steps_per_epoch must be None for the built-in training"),
])
def test_bad_arguments_exit_2_with_one_error_line(tmp_path, capsys, args, needle):
    out = tmp_path / "out"
    line = error_line(capsys, *args, "--out", str(out), "--no-progress")
    assert needle in line, line
    assert not out.exists()  # nothing trained, nothing written


def test_bad_config_file_names_the_file_and_setting(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epoch: 3\n")
    line = error_line(capsys, "--config", str(cfg))
    assert line.startswith(f"error: --config {cfg}: compare(): unknown setting 'epoch' (did you mean 'epochs'?)")


def test_every_flag_is_a_setting_of_the_config_file():
    """One table: each option of ``lrkit compare`` is the config key of the same name (or a flag about the job)."""
    from lrkit.cli import build_parser
    from lrkit.lab.config import SETTINGS

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["compare"]
    flags = {a.dest for a in sub._actions if a.option_strings} - {"help"}
    assert flags - set(SETTINGS) == {"set", "no_resume", "no_progress", "fresh"}
    assert set(SETTINGS) - flags == {"retries", "resume"}  # and --config names the file, not run.config


def test_lr_1e300_in_a_subprocess():
    p = lrkit("compare", "--lr", "1e300")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == ["error: compare(): lr must be <= 250000; got lr=1e+300"]


@pytest.mark.slow
def test_yaml_and_json_configs_run_the_same_job(tmp_path):
    yaml_text = ("schedule:\n  - cosine('100%')\n  - {schedule: constant(), plateau: {factor: 0.5, patience: 0}}\n"
                 "lrs: [0.1, 0.3]\nepochs: 2\nseeds: 2\ntune-seeds: 1\nmodel: linear\nbatch-size: 256\n")
    (tmp_path / "c.yaml").write_text(yaml_text)
    (tmp_path / "c.json").write_text(json.dumps({
        "schedule": ["cosine('100%')", {"schedule": "constant()", "plateau": {"factor": 0.5, "patience": 0}}],
        "lrs": [0.1, 0.3], "epochs": 2, "seeds": 2, "tune_seeds": 1, "config": {"model": "linear",
                                                                             "batch_size": 256}}))
    docs = []
    for name in ("c.yaml", "c.json"):
        p = lrkit("compare", "--config", str(tmp_path / name), "--out", str(tmp_path / name[2:]), "--no-progress")
        assert p.returncode == 0, p.stderr
        docs.append(results(tmp_path / name[2:]))
    assert numbers(docs[0]) == numbers(docs[1])
    assert [r["name"] for r in docs[0]["runs"]] == ["cosine('100%')", "constant() with Plateau(factor=0.5, patience=0)"]


def test_the_command_line_overrides_the_config_file(tmp_path):
    from lrkit.cli import build_parser
    from lrkit.cli.compare import _values

    (tmp_path / "c.yaml").write_text("lr: 0.3\nseeds: 2\nepochs: 4\nconfig: {a: 1}\n")
    args = build_parser().parse_args(["compare", "--config", str(tmp_path / "c.yaml"), "--seeds", "3",
                                      "--lrs", "0.1,0.2", "--set", "b=[1, 2]", "--set", "c=text"])
    assert _values(args) == {"seeds": 3, "epochs": 4, "lrs": [0.1, 0.2], "config": {"a": 1, "b": [1, 2], "c": "text"}}


def test_npz_data(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    p = lrkit("compare", "--data", str(tmp_path / "d.npz"), "--schedule", "constant()", "--schedule",
              "linear('100%')", "--epochs", "2", "--seeds", "2", "--tune-seeds", "1", "--out", str(tmp_path / "o"),
              "--no-progress")
    assert p.returncode == 0, p.stderr
    doc = results(tmp_path / "o")
    assert doc["setup"]["data"] == {"name": "d.npz", "train": 180, "val": 60, "test": 60}
    assert doc["setup"]["steps_per_epoch"] == math.ceil(180 / 64)
