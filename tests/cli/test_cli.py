"""The CLI end to end, in a subprocess, as a user types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import lrkit as lk

pytestmark = pytest.mark.slow  # subprocesses, training, several processes or a compiler

ENV = dict(os.environ, MPLBACKEND="Agg")


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrkit", *args], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=300)


def assert_usage_error(p: subprocess.CompletedProcess, *needles: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: "), p.stderr
    assert "Traceback" not in p.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_help_lists_commands():
    p = run("--help")
    assert p.returncode == 0
    for cmd in ("values", "plot"):
        assert cmd in p.stdout


@pytest.mark.parametrize("cmd", ["values", "plot"])
def test_each_command_has_help(cmd):
    p = run(cmd, "--help")
    assert p.returncode == 0 and "usage:" in p.stdout


def test_values_lines_are_exact():
    spec = "warmup(7) >> cosine(13, end=0.01) >> constant(0.01)"
    p = run("values", spec, "--steps", "40")
    assert p.returncode == 0, p.stderr
    got = [float(line) for line in p.stdout.splitlines()]
    want = lk.parse(spec).values(np.arange(40)).tolist()
    assert got == want  # bit-exact through the text


def test_values_base_and_formats():
    spec = "noisy(cosine(50), 0.1, seed=3)"
    want = (lk.parse(spec).values(np.arange(50)) * 3e-4).tolist()
    p = run("values", spec, "--steps", "50", "--base", "3e-4", "--format", "json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == want
    p = run("values", spec, "--steps", "50", "--base", "3e-4", "--format", "csv")
    rows = p.stdout.strip().splitlines()
    assert rows[0] == "step,value"
    assert [int(r.split(",")[0]) for r in rows[1:]] == list(range(50))
    assert [float(r.split(",")[1]) for r in rows[1:]] == want


def test_values_binds_units_to_the_run():
    p = run("values", "warmup('10%') >> cosine('rest')", "--steps", "100")
    assert p.returncode == 0, p.stderr
    want = (lk.warmup(10) >> lk.cosine(90)).values(np.arange(100)).tolist()
    assert [float(x) for x in p.stdout.split()] == want
    p = run("values", "warmup('2ep') >> cosine('rest')", "--steps", "100", "--steps-per-epoch", "5")
    want = (lk.warmup(10) >> lk.cosine(90)).values(np.arange(100)).tolist()
    assert [float(x) for x in p.stdout.split()] == want


def test_values_epochs_without_steps_per_epoch():
    assert_usage_error(run("values", "warmup('2ep') >> cosine(10)", "--steps", "10"), "--steps-per-epoch")


@pytest.mark.parametrize("args, needle", [
    (["values", "cosin(10)", "--steps", "5"], "did you mean 'cosine'"),
    (["values", "cosine(-5)", "--steps", "5"], "cosine(): steps must be > 0; got steps=-5"),
    (["values", "cosine(10) - 1", "--steps", "5"], "operator '-'"),
    (["values", "__import__('os').system('echo hi')", "--steps", "5"], "parse()"),
    (["values", "cosine(10", "--steps", "5"], "invalid syntax"),
    (["values", "cosine(10)", "--steps", "0"], "--steps"),
    (["values", "cosine(10)", "--steps", "ten"], "--steps"),
    (["values", "cosine(10)"], "--steps"),
    (["values", "cosine(10)", "--steps", "5", "--format", "xml"], "--format"),
    (["values", "cosine(10)", "--steps", "5", "--base", "nan"], "--base"),
    (["values", "step(10) >> cosine(5)", "--steps", "5"], "phases[0] must be finite"),
    (["plot", "cosine(10)", "--steps", "5", "-o", "x.txt"], ".png"),
    (["nosuchcommand"], "invalid choice"),
])
def test_bad_input_is_one_error_line(args, needle, tmp_path):
    assert_usage_error(run(*args, cwd=tmp_path), needle)


def test_plot_writes_png(tmp_path):
    out = tmp_path / "curves.png"
    p = run("plot", "warmup(100) >> cosine(900)", "one_cycle(1000)", "restarts(cosine(200), period_mult=2)",
            "--steps", "1000", "-o", str(out))
    assert p.returncode == 0, p.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_plot_into_missing_folder_is_an_error(tmp_path):
    p = run("plot", "cosine(10)", "--steps", "10", "-o", str(tmp_path / "no" / "such" / "x.png"))
    assert_usage_error(p)


def test_console_script_is_installed():
    exe = os.path.join(os.path.dirname(sys.executable), "lrkit")
    p = subprocess.run([exe, "values", "linear(4)", "--steps", "5"], capture_output=True, text=True, env=ENV)
    assert p.returncode == 0, p.stderr
    assert [float(x) for x in p.stdout.split()] == [1.0, 0.75, 0.5, 0.25, 0.0]
