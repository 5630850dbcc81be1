"""``lrkit find`` as a user types it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lrkit.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def lrkit_command() -> list[str]:
    script = shutil.which("lrkit", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "lrkit"]


def test_find_end_to_end_on_digits(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(lrkit_command() + ["find", "--data", "digits", "--model", "linear", "--steps", "40",
                                             "--start", "1e-4", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "MPLBACKEND": "Agg"})
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
    (["--data", "imagenet"], "error: --data must be digits, mnist1d or a .npz path; got --data='imagenet'"),
    (["--data", "/no/such.npz"], "error: load_dataset(): no such file '/no/such.npz'"),
    (["--model", "resnet"], "error: argument --model: invalid choice: 'resnet' (choose from 'linear', 'mlp', "
                            "'cnn1d') (see 'lrkit find --help')"),
    (["--optimizer", "lion"], "error: argument --optimizer: invalid choice: 'lion' (choose from 'sgd', 'adamw') "
                              "(see 'lrkit find --help')"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys, tmp_path):
    assert main(["find", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err == message + "\n"


def test_bad_argument_in_a_subprocess_is_one_line_no_traceback(tmp_path):
    proc = subprocess.run(lrkit_command() + ["find", "--steps", "2", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr == "error: --steps must be >= 5; got --steps=2\n" and proc.stdout == ""
