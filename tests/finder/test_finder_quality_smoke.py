"""A tiny run of benchmarks/finder_quality.py (one problem, one seed, 40 steps): the script works end to end,
both tools read the same sweep, and the tables come out. The full benchmark is not part of the test suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a subprocess that trains

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "finder_quality.py"


def test_the_quality_benchmark_smoke_run(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, str(SCRIPT), "--smoke", "--cache", str(tmp_path / "cache"), "--no-progress"]
    first = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600, env=env)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "TUNE split" in out and "moons-mlp-adamw" in out
    for tool in ("lrkit ", "lrkit steepest", "lrkit valley", "lrkit min/10", "lrkit rise/4", "torch-lr-finder"):
        assert any(line.startswith(tool) for line in out.splitlines()), tool
    assert "near-best" in out and "the reference's own repeatability" in out and " in 1/1 (100%)" in out
    assert "lrkit's find_lr run directly = the replayed sweep in 1/1 cases" in out
    assert "torch-lr-finder run directly gives the replayed suggestion in 1/1" in out
    assert (tmp_path / "cache" / ".gitignore").read_text() == "*\n"
    again = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600, env=env)   # from the cache
    assert again.returncode == 0 and again.stdout == out
