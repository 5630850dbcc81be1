"""CLI edges found by trying it as a user would: huge step counts, strict JSON, repeated keywords."""

from __future__ import annotations

import json

import pytest
from test_cli import assert_usage_error, run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("cmd", ["values", "plot"])
@pytest.mark.parametrize("steps", ["1000000000000", "1" + "0" * 300, "1e3", "0", "-5", "nan"])
def test_steps_out_of_range_is_one_error_line(cmd, steps, tmp_path):
    extra = ["-o", str(tmp_path / "x.png")] if cmd == "plot" else []
    p = run(cmd, "cosine(10)", "--steps", steps, *extra)
    assert_usage_error(p, "--steps", "must be a whole number from 1 to 10_000_000")
    assert len(p.stderr) < 300  # a 300-digit argument is shown cut, not in full


def test_json_output_is_strict(tmp_path):
    p = run("values", "step(1, gamma=10)", "--steps", "400", "--format", "json")
    assert_usage_error(p, "step 309", "JSON cannot hold", "--format lines")
    assert p.stdout == ""
    ok = run("values", "cosine(4)", "--steps", "5", "--format", "json")
    assert ok.returncode == 0 and json.loads(ok.stdout) == [1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0]


def test_lines_format_round_trips_infinity():
    p = run("values", "step(1, gamma=10)", "--steps", "400")
    assert p.returncode == 0
    vals = [float(x) for x in p.stdout.split()]
    assert vals[309] == float("inf") and vals[308] == 1e308 and vals[5] == 1e5


def test_repeated_keyword_is_an_error():
    assert_usage_error(run("values", "cosine(steps=10, steps=20)", "--steps", "3"), "steps given twice")
