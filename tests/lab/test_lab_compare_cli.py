"""``lrkit compare`` end to end, in a subprocess, as a user types it (small budgets)."""

from __future__ import annotations

import json
import os
from html.parser import HTMLParser
import subprocess
import sys

import numpy as np
import pytest

import lrkit as lk
from lrkit.cli import main
from lrkit.lab.config import DEFAULT_SCHEDULES

ENV = dict(os.environ, MPLBACKEND="Agg")
FILES = {"results.json", "report.md", "report.html", "config.json",
         "lr.png", "train_loss.png", "val_acc.png", "final_acc.png"}
COLUMNS = ["#", "run", "final val acc (%)", "best val acc (%)", "final val loss", "steps to", "wall time / run (s)"]


def lrkit(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrkit", *args], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=600)


def numbers(doc):
    """results.json without its wall times (the only numbers allowed to differ between runs)."""
    if isinstance(doc, dict):
        return {k: numbers(v) for k, v in doc.items() if k != "wall_time"}
    if isinstance(doc, list):
        return [numbers(v) for v in doc]
    return doc


def table_rows(md: str) -> list[list[str]]:
    lines = [line for line in md.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines]


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


SMALL = ["--schedule", "cosine('100%')", "--schedule", "warmup('1ep') >> linear('rest')",
         "--schedule", "step('1ep', gamma=0.5)", "--plateau", "--epochs", "2", "--seeds", "2",
         "--model", "linear", "--batch-size", "128", "--no-progress"]
LABELS = ["cosine('100%')", "warmup('1ep') >> linear('rest')", "step('1ep', gamma=0.5)",
          "constant() with Plateau(factor=0.5, patience=1)"]


def test_compare_end_to_end_and_again_from_its_config(tmp_path, html_checks):
    assert_self_contained, assert_png = html_checks
    out = tmp_path / "out"
    p = lrkit("compare", *SMALL, "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("winner: ") or p.stdout.startswith("no winner: ")
    assert str(out / "report.html") in p.stdout
    assert {f.name for f in out.iterdir()} == FILES

    doc = json.loads((out / "results.json").read_text())
    spe, total = 12, 24  # ceil(1437 / 128), 2 epochs
    assert doc["setup"]["steps_per_epoch"] == spe and doc["setup"]["total_steps"] == total
    assert sorted((r["label"], r["seed"]) for r in doc["runs"]) == sorted((lab, s) for lab in LABELS for s in (0, 1))
    for r in doc["runs"]:
        assert len(r["lr"]) == total and len(r["train_loss"]) == len(r["val_acc"]) == len(r["val_loss"]) == 2
        assert r["wall_time"] > 0 and 0 <= r["val_acc"][-1] <= 1
    assert {r["label"]: r["spec"] for r in doc["runs"]}[LABELS[3]] == "constant()"
    assert {r["label"]: r["plateau"] for r in doc["runs"]}[LABELS[3]] == "Plateau(factor=0.5, patience=1)"
    cos = next(r for r in doc["runs"] if r["label"] == "cosine('100%')")
    assert (cos["spec"], cos["schedule"], cos["plateau"]) == ("cosine('100%')", "cosine(24)", None)
    np.testing.assert_allclose(cos["lr"], 0.1 * lk.cosine(total).values(np.arange(total)), rtol=1e-15)
    step = next(r for r in doc["runs"] if r["label"] == "step('1ep', gamma=0.5)")
    assert step["lr"] == [0.1] * spe + [0.05] * spe
    assert doc["verdict"]["winner"] == doc["rows"][0]["label"]

    rows = table_rows((out / "report.md").read_text())
    head, body = rows[0], rows[2:]
    assert len(head) == len(COLUMNS) and all(h.startswith(c) for h, c in zip(head, COLUMNS))
    assert sorted(r[1].strip("`") for r in body) == sorted(LABELS)
    for r in body:
        assert len(r) == len(COLUMNS) and all(r), r
        assert " ± " in r[2] and " ± " in r[3]  # mean ± spread over the 2 seeds
    page = (out / "report.html").read_text()
    assert_self_contained(page, n_images=4)
    cells = html_table(page)
    assert cells[0] == [h.replace("\\|", "|") for h in head]
    assert [[c.replace("`", "") for c in r] for r in body] == cells[1:]  # the same table as report.md
    for png in ("lr.png", "train_loss.png", "val_acc.png", "final_acc.png"):
        assert_png((out / png).read_bytes())

    # the same job again from the config it wrote: the same numbers (same seeds -> same results)
    again = tmp_path / "again"
    p2 = lrkit("compare", "--config", str(out / "config.json"), "--out", str(again), "--no-progress")
    assert p2.returncode == 0, p2.stderr
    doc2 = json.loads((again / "results.json").read_text())
    assert doc2["config"] == dict(doc["config"], out=str(again))
    assert numbers(doc2["runs"]) == numbers(doc["runs"])
    assert numbers(doc2["rows"]) == numbers(doc["rows"]) and doc2["verdict"] == doc["verdict"]


def test_default_job_on_one_epoch_runs_every_default_schedule(tmp_path):
    """The demo's set, cut to 1 epoch and 1 seed: every schedule binds and trains; progress on stderr."""
    p = lrkit("compare", "--epochs", "1", "--seeds", "1", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "epoch" in p.stderr and "Traceback" not in p.stderr  # the progress bar
    doc = json.loads((tmp_path / "lrkit-out" / "results.json").read_text())
    labels = [r["label"] for r in doc["runs"]]
    assert labels == list(DEFAULT_SCHEDULES) + ["constant() with Plateau(factor=0.5, patience=1)"]
    assert doc["setup"]["data"]["name"] == "digits" and doc["setup"]["model"] == "mlp"
    assert all(len(r["lr"]) == 23 for r in doc["runs"])


@pytest.mark.parametrize("args,needle", [
    (["--epochs", "0"], "argument --epochs: must be a whole number > 0"),
    (["--seeds", "two"], "argument --seeds"),
    (["--model", "resnet"], "argument --model: invalid choice"),
    (["--optimizer", "adam"], "argument --optimizer: invalid choice"),
    (["--target", "95"], "argument --target: must be an accuracy in (0, 1]"),
    (["--lr", "nan"], "argument --lr"),
    (["--plateau-factor", "2"], "argument --plateau-factor: must be a number in (0, 1)"),
    (["--schedule", "cosine("], "--schedule 'cosine(': parse(): invalid syntax"),
    (["--schedule", "coisne(10)"], "did you mean 'cosine'?"),
    (["--schedule", "cosine('rest') >> cosine('rest')"], "at most one 'rest'"),
    (["--schedule", "cosine(10)", "--schedule", "cosine(10)"], "is given twice"),
    (["--schedule", "cosine(10)", "--schedule", "cosine(steps=10)"], "is given twice"),
    (["--data", "nope"], "load_dataset(): name must be one of digits, mnist1d or a .npz path"),
    (["--data", "missing.npz"], "no such file"),
    (["--config", "missing.yaml"], "--config missing.yaml: load_config(): path must be an existing file"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_exit_2_with_one_error_line(tmp_path, capsys, args, needle):
    out = tmp_path / "out"
    assert main(["compare", *args, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert not out.exists()  # nothing trained, nothing written


def test_bad_config_file_names_the_file_and_setting(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epoch: 3\n")
    assert main(["compare", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --config {cfg}: compare(): unknown setting 'epoch' (did you mean 'epochs'?); "
                   "settings are data, model, schedule, plateau, epochs, seeds, lr, optimizer, batch_size, "
                   "momentum, weight_decay, target, plateau_factor, plateau_patience, out"]


def test_bad_argument_in_a_subprocess():
    p = lrkit("compare", "--schedule", "cosine(-5)")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "error: --schedule 'cosine(-5)': cosine(): steps must be > 0; got steps=-5"]


def test_npz_data(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    p = lrkit("compare", "--data", str(tmp_path / "d.npz"), "--schedule", "constant()", "--schedule",
              "linear('100%')", "--epochs", "2", "--seeds", "1", "--model", "mlp", "--out", str(tmp_path / "o"),
              "--no-progress")
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    assert doc["setup"]["data"] == {"name": "d.npz", "n_train": 240, "n_val": 60, "n_features": 6, "n_classes": 2}
    assert all(len(r["lr"]) == 2 * 4 for r in doc["runs"])  # ceil(240 / 64) = 4 steps per epoch
