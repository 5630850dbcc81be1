"""``lrkit experiment`` end to end, in a subprocess, as a user types it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lrkit.lab import experiments

ENV = dict(os.environ, MPLBACKEND="Agg")


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrkit", "experiment", *args], capture_output=True,
                          text=True, env=ENV, cwd=cwd, timeout=300)


def test_list():
    p = run("--list")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == experiments.names()
    assert all(line.rstrip().endswith("?") for line in lines)


def test_a_quick_run_prints_its_numbers_writes_its_files_and_exits_0(tmp_path):
    p = run("momentum", "--quick", "--out", str(tmp_path / "out"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[PASS] momentum 0.99: the fast decay" in p.stdout
    assert "momentum: the claim holds" in p.stdout
    assert "| 0.99 | fast |" in p.stdout
    assert sorted(os.listdir(tmp_path / "out")) == ["momentum.csv", "momentum.md", "momentum.png"]


def test_default_out_folder(tmp_path):
    p = run("gradient-flow", "--quick", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "lrkit-out" / "experiments" / "gradient-flow.png").is_file()


@pytest.mark.parametrize("args, needle", [
    ((), "the experiment NAME is required"),
    (("warmpu",), "did you mean 'warmup'?"),
    (("momentum", "--seed", "x"), "argument --seed: must be a whole number >= 0; got 'x'"),
    (("momentum", "--list"), "give either NAME or --list, not both"),
    (("momentum", "--bogus"), "unrecognized arguments: --bogus"),
])
def test_bad_arguments_exit_2_with_one_line(args, needle):
    p = run(*args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], p.stderr
    assert "Traceback" not in p.stderr


def test_a_claim_that_fails_exits_1(tmp_path):
    """A failing check makes the command exit 1 (the experiment's result drives the status)."""
    script = (
        "import sys\n"
        "from lrkit.lab.experiments import base, momentum\n"
        "real = momentum.run\n"
        "def broken(out=None, *, quick=False, seed=0):\n"
        "    r = real(out, quick=quick, seed=seed)\n"
        "    r.checks.append(base.Check('an impossible claim', False, 'measured: no'))\n"
        "    return r\n"
        "momentum.run = broken\n"
        "from lrkit.cli import main\n"
        "sys.exit(main(['experiment', 'momentum', '--quick', '--out', sys.argv[1]]))\n"
    )
    p = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=ENV,
                       timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "[FAIL] an impossible claim: measured: no" in p.stdout
    assert "momentum: the claim does NOT hold in this measurement" in p.stdout
