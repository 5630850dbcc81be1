"""The experiments that train real models (torch), at reduced size: each claim holds,
and the table agrees with the checks' own reading of it."""

from __future__ import annotations

import pytest

from lrkit.lab import experiments


def _assert_holds(result):
    failed = [c.line() for c in result.checks if not c.holds]
    assert not failed, "\n".join(failed)
    assert result.holds and result.checks


def test_decay_speed():
    r = experiments.run("decay-speed", quick=True)
    _assert_holds(r)
    rows = {row["decay"]: row for row in r.rows}
    assert rows["too fast"]["final train loss"] > rows["moderate"]["final train loss"] > rows["too slow"]["final train loss"]
    assert rows["too slow"]["final val loss"] > 1.3 * rows["too slow"]["best val loss"]
    assert min(rows, key=lambda k: rows[k]["final val loss"]) == "moderate"


def test_warmup():
    r = experiments.run("warmup", quick=True)
    _assert_holds(r)
    by = {}
    for row in r.rows:
        by.setdefault(row["schedule"].startswith("0.7 x warmup"), []).append(row)
    assert len(by[True]) == len(by[False]) == 3
    assert min(row["spike ratio"] for row in by[False]) > max(row["spike ratio"] for row in by[True])
    # the mechanism: at initialisation the lr is far past 2/sharpness
    assert all(0.7 * row["sharpness at init"] > 4 for row in r.rows)


def test_weight_decay():
    r = experiments.run("weight-decay", quick=True)
    _assert_holds(r)
    rows = {row["weight decay"]: row for row in r.rows}
    # cosine to 1%: the mean of lr_t / lr over the run is about (1 + 0.01) / 2
    assert rows["keep wd"]["sum of lr*wd"] / rows["keep lr*wd"]["sum of lr*wd"] == pytest.approx(0.505, abs=0.01)
    assert rows["keep lr*wd"]["final weight norm"] < rows["keep wd"]["final weight norm"]
