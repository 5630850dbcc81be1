"""``lrkit find --data pycode``: the range test on the language model, as a user types it."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from lrkit.cli import main


@pytest.mark.slow
def test_find_on_pycode_end_to_end(tmp_path):
    out = tmp_path / "out"
    argv = ["find", "--data", "pycode", "--steps", "40", "--start", "1e-4", "--end", "1", "--batch-size", "8",
            "--out", str(out)]
    proc = subprocess.run([sys.executable, "-m", "lrkit", *argv],
                          capture_output=True, text=True, check=False, timeout=900,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr
    assert (out / "lr_find.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads((out / "lr_find.json").read_text())
    assert doc["data"] == "pycode" and doc["model"] == "transformer" and doc["optimizer"] == "adamw"
    assert doc["batch_size"] == 8 and doc["sweep"]["steps"] == 40
    assert 1e-4 < doc["suggestion"] < 1
    losses = doc["losses"]
    assert losses[0] == pytest.approx(math.log(128), abs=0.3)   # a fresh model: near uniform over 128 characters
    assert min(losses) < losses[0] - 1.0                          # it learned while the lr was sane
    assert proc.stdout.splitlines()[0] == f"suggested lr: {doc['suggestion']:.3g} ({doc['method']})"


@pytest.mark.parametrize("argv, message", [
    (["--data", "pycode", "--model", "mlp"], "error: --model must be transformer or gru with --data pycode; "
                                            "got --model='mlp'"),
    (["--data", "digits", "--model", "gru"], "error: --model must be linear or mlp or cnn1d with --data digits; "
                                            "got --model='gru'"),
    (["--data", "pycode", "--optimizer", "sgd"], "error: --optimizer must be adamw with --data pycode (the lab "
                                                "trains it with AdamW); got --optimizer='sgd'"),
    (["--data", "pycod"], "error: --data must be digits, mnist1d, pycode or a .npz path (did you mean 'pycode'?); "
                          "got --data='pycod'"),
])
def test_bad_pycode_arguments_are_one_line(argv, message, capsys, tmp_path):
    assert main(["find", "--out", str(tmp_path), *argv]) == 2
    assert capsys.readouterr().err == message + "\n"


def test_a_sweep_longer_than_the_stream_is_an_error(capsys, tmp_path):
    assert main(["find", "--data", "pycode", "--steps", "1000000", "--batch-size", "100000",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: find(): steps must be <= ") and "got steps=1000000" in err
