"""``lrkit experiment`` end to end, in a subprocess, as a user types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lrkit import experiments

pytestmark = pytest.mark.slow  # subprocesses, training, several processes or a compiler

ENV = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1")


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lrkit", "experiment", *args], capture_output=True,
                          text=True, env=ENV, cwd=cwd, timeout=600, check=False)


def test_list():
    p = run("--list")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == experiments.names()
    assert all(line.rstrip().endswith("?") for line in lines)


def test_seeds_and_offset_are_honoured_and_written(tmp_path):
    p = run("lr-noise", "--quick", "--seeds", "3", "--seed-offset", "7", "--out", str(tmp_path / "out"))
    assert p.returncode in (0, 1), p.stderr
    data = json.loads((tmp_path / "out" / "lr-noise" / "result.json").read_text())
    assert data["seeds"] == [7, 8, 9]
    assert all([q["seed"] for q in c["per_seed"]] == [7, 8, 9] for c in data["checks"])
    assert "seeds 7..9" in p.stdout
    last = p.stdout.strip().splitlines()[-1]
    assert last.startswith(f"lr-noise: the claim held on {round(3 * data['pass_rate'])}/3 seeds")
    assert p.returncode == (0 if data["holds"] else 1)
    assert "lr-noise: 3/3" in p.stderr              # progress on stderr


def test_a_claim_that_holds_exits_0_with_no_progress(tmp_path):
    p = run("gradient-flow", "--quick", "--seeds", "2", "--no-progress", cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stderr == ""
    assert "gradient-flow: the claim held on 2/2 seeds (pass rate 100%" in p.stdout
    assert "region: holds at every setting swept" in p.stdout
    assert (tmp_path / "lrkit-out" / "experiments" / "gradient-flow" / "result.json").is_file()


def test_a_claim_that_fails_exits_1_and_says_so(tmp_path):
    """A failing check on every seed makes the claim fail: the command says so and exits 1."""
    script = (
        "import sys\n"
        "from lrkit.experiments import base, momentum\n"
        "real = momentum._checks\n"
        "def broken(loss):\n"
        "    checks, nums = real(loss)\n"
        "    return checks + [base.Check('an impossible claim', False, 'measured: no')], nums\n"
        "momentum._checks = broken\n"
        "from lrkit.cli import main\n"
        "sys.exit(main(['experiment', 'momentum', '--quick', '--seeds', '2', '--no-progress', '--out', sys.argv[1]]))\n"
    )
    p = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, env=ENV,
                       timeout=300, check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "[0/2 seeds] an impossible claim" in p.stdout and "seed 0 FAIL: measured: no" in p.stdout
    assert "momentum: the claim held on 0/2 seeds (pass rate 0%" in p.stdout
    assert "it does NOT hold (needs >= 80%)" in p.stdout
    data = json.loads((tmp_path / "momentum" / "result.json").read_text())
    assert data["holds"] is False and data["pass_rate"] == 0.0


@pytest.mark.parametrize("args, needle", [
    ((), "the experiment NAME is required"),
    (("warmpu",), "experiment(): unknown experiment 'warmpu' (did you mean 'warmup'?); known: noisy-quadratic"),
    (("al",), "(did you mean 'all'?)"),
    (("momentum", "--seeds", "x"), "experiment(): seeds must be a whole number >= 1; got seeds='x'"),
    (("momentum", "--seeds", "0"), "experiment(): seeds must be a whole number >= 1; got seeds=0"),
    (("momentum", "--seed-offset", "-3"), "experiment(): seed_offset must be a whole number >= 0; got seed_offset=-3"),
    (("momentum", "--list"), "give either NAME or --list, not both"),
    (("momentum", "--bogus"), "unrecognized arguments: --bogus"),
])
def test_bad_arguments_exit_2_with_one_line(args, needle):
    p = run(*args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], p.stderr
    assert "Traceback" not in p.stderr
