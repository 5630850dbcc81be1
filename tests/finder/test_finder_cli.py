"""``lrkit find`` as a user types it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lrkit.checks import show
from lrkit.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def lrkit_command() -> list[str]:
    script = shutil.which("lrkit", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "lrkit"]


@pytest.mark.slow
def test_find_end_to_end_on_digits(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(lrkit_command() + ["find", "--data", "digits", "--model", "linear", "--steps", "40",
                                             "--start", "1e-4", "--out", str(out)],
                          capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr
    assert (out / "lr_find.png").read_bytes()[:8] == PNG
    doc = json.loads((out / "lr_find.json").read_text())
    assert doc["data"] == "digits" and doc["model"] == "linear" and doc["sweep"]["steps"] == 40
    assert len(doc["lrs"]) == len(doc["losses"]) == len(doc["smoothed"]) > 5
    lines = proc.stdout.splitlines()
    assert lines[0] == f"suggested lr: {doc['suggestion']:.3g} ({doc['method']})"
    for name in ("steepest", "valley", "min/10"):
        assert any(line.split()[:1] == [name] for line in lines)
    assert any(line.startswith("range: ") for line in lines)
    assert lines[-2:] == [f"wrote {out / 'lr_find.png'}", f"wrote {out / 'lr_find.json'}"]
    assert "lr sweep" in proc.stderr                       # the progress bar


@pytest.mark.slow
def test_find_on_a_users_npz(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    np.savez(tmp_path / "mine.npz", x=x, y=y)
    code = main(["find", "--data", str(tmp_path / "mine.npz"), "--model", "mlp", "--optimizer", "adamw",
                 "--batch-size", "32", "--steps", "30", "--out", str(tmp_path / "o"), "--no-progress"])
    assert code == 0
    assert (tmp_path / "o" / "lr_find.png").read_bytes()[:8] == PNG
    doc = json.loads((tmp_path / "o" / "lr_find.json").read_text())
    assert doc["data"] == "mine.npz" and doc["optimizer"] == "adamw" and doc["batch_size"] == 32
    assert capsys.readouterr().out.startswith("suggested lr: ")


@pytest.mark.parametrize("argv, message", [
    (["--steps", "3"], "error: --steps must be >= 5; got --steps=3"),
    (["--steps", "0"], "error: argument --steps: must be a whole number > 0; got '0' (see 'lrkit find --help')"),
    (["--start", "1", "--end", "0.1"], "error: --end must be > --start; got --start=1 --end=0.1"),
    (["--smooth", "1"], "error: --smooth must be in [0, 1); got --smooth=1"),
    (["--data", "imagenet"], "error: --data must be digits, mnist1d, pycode or a .npz path; got --data='imagenet'"),
    (["--data", "/no/such.npz"], ("error: --data must be digits, mnist1d or an existing .npz file; "
                                 "got --data='/no/such.npz'")),
    (["--model", "resnet"], ("error: argument --model: invalid choice: 'resnet' (choose from 'linear', 'mlp', "
                            "'cnn1d', 'transformer', 'gru') (see 'lrkit find --help')")),
    (["--optimizer", "lion"], ("error: argument --optimizer: invalid choice: 'lion' (choose from 'sgd', 'adamw') "
                              "(see 'lrkit find --help')")),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys, tmp_path):
    assert main(["find", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err == message + "\n"


@pytest.mark.slow
def test_bad_argument_in_a_subprocess_is_one_line_no_traceback(tmp_path):
    proc = subprocess.run(lrkit_command() + ["find", "--steps", "2", "--out", str(tmp_path)],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr == "error: --steps must be >= 5; got --steps=2\n" and proc.stdout == ""


def run_find(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(lrkit_command() + ["find", *argv], capture_output=True, text=True, check=False, timeout=300,
                          env={**os.environ, "MPLBACKEND": "Agg"})


def assert_one_error_line(proc, message: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr == message + "\n"


@pytest.mark.slow
@pytest.mark.parametrize("steps", ["1000000000000", str(10 ** 300)])
def test_huge_steps_is_an_error_not_a_traceback(steps, tmp_path):
    proc = run_find("--steps", steps, "--out", str(tmp_path), "--no-progress")
    assert_one_error_line(proc, f"error: --steps must be <= 1000000; got --steps={show(int(steps))}")


def bad_npz(tmp_path, kind: str) -> str:
    """A .npz that is wrong in one way; its path."""
    path = tmp_path / f"{kind}.npz"
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)).astype(np.float32), np.arange(40) % 2
    if kind == "text":
        path.write_text("x,y\n0.1,1\n0.2,0\n")
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, x)
    elif kind == "strings":
        np.savez(path, x=x.astype(str), y=y)
    elif kind == "string-labels":
        np.savez(path, x=x, y=np.array(["cat", "dog"] * 20))
    elif kind == "objects":
        np.savez(path, x=np.array([[None] * 3] * 40, dtype=object), y=y)
    elif kind == "negative-label":
        np.savez(path, x=x, y=np.where(np.arange(40) == 7, -1, y))
    elif kind == "float-labels":
        np.savez(path, x=x, y=rng.uniform(0, 1, 40))
    elif kind == "rows":
        np.savez(path, x=rng.normal(size=(60, 3)), y=np.arange(50) % 2)
    elif kind == "nan":
        np.savez(path, x_train=np.where(np.eye(40, 3) > 0, np.nan, x), y_train=y, x_val=x, y_val=y)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("kind, words", [        # the loader (lrkit.lab.data) words it; the CLI passes it on
    ("text", ["zip"]),
    ("npy", ["zip"]),
    ("strings", ["x", "dtype <U"]),
    ("string-labels", ["y", "dtype <U"]),
    ("objects", ["bject"]),
    ("negative-label", ["y", ">= 0", "-1"]),
    ("float-labels", ["y", "whole"]),
    ("rows", ["60", "50"]),
    ("nan", ["x_train", "NaN"]),
])
def test_a_bad_npz_is_one_error_line_naming_the_problem(kind, words, tmp_path):
    path = bad_npz(tmp_path, kind)
    proc = run_find("--data", path, "--steps", "10", "--out", str(tmp_path / "o"), "--no-progress")
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr, proc.stderr
    line = proc.stderr.rstrip("\n")
    assert "\n" not in line and line.startswith(f"error: load_dataset(): {path!r} ")
    assert all(w in line for w in words), line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "error: --seed must be a whole number in [0, 2**63); got --seed=-1"),
    (["--seed", str(2 ** 64)], f"error: --seed must be a whole number in [0, 2**63); got --seed={2 ** 64}"),
    (["--data", "digit"], ("error: --data must be digits, mnist1d, pycode or a .npz path (did you mean 'digits'?); "
                          "got --data='digit'")),
])
def test_more_bad_arguments(argv, message, capsys, tmp_path):
    assert main(["find", "--out", str(tmp_path), *argv]) == 2
    assert capsys.readouterr().err == message + "\n"
