"""The NumPy experiments at reduced size: each claim holds, and the headline numbers
agree with the theory computed here independently."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import lrkit as lk
from lrkit.lab import experiments


def _assert_holds(result):
    failed = [c.line() for c in result.checks if not c.holds]
    assert not failed, "\n".join(failed)
    assert result.holds and result.checks


def test_noisy_quadratic():
    r = experiments.run("noisy-quadratic", quick=True)
    _assert_holds(r)
    h = np.logspace(-2, 0, 20)
    floor = sum(1.0 / (2 * (2 - hi)) for hi in h)  # lr 1, sigma 1: lr sigma^2 / (2 (2 - lr h))
    assert r.numbers["predicted_floor"] == pytest.approx(floor, rel=1e-12)
    assert r.numbers["final_constant"] == pytest.approx(floor, rel=0.15)
    assert r.numbers["final_cosine"] < 0.5 * r.numbers["final_constant"]


def test_half_life():
    r = experiments.run("half-life", quick=True)
    _assert_holds(r)
    assert r.numbers["max_rel_diff_at_multiples"] <= 1e-12
    assert r.numbers["lr_sum_ratio"] == pytest.approx(2 * math.log(2), rel=5e-3)


def test_gradient_flow():
    r = experiments.run("gradient-flow", quick=True)
    _assert_holds(r)
    m, big_m = 1.0, 10.0
    assert r.numbers["best_swept_lr"] == pytest.approx(2 / (m + big_m), rel=1e-12)
    assert r.numbers["best_rate"] == pytest.approx((big_m - m) / (big_m + m), rel=1e-6)
    diverged = {row["lr"]: row["diverged"] for row in r.rows}
    assert all(d == (lr > 2 / big_m) for lr, d in diverged.items())


def test_momentum():
    r = experiments.run("momentum", quick=True)
    _assert_holds(r)
    beta, q = 0.99, 0.5 ** (1 / 10)
    assert r.numbers["kept_099_fast"] == pytest.approx((1 - beta) / (1 - q * beta), rel=1e-3)
    assert r.numbers["kept_099_matched"] == pytest.approx(1 / (1 + beta), rel=1e-3)
    assert r.numbers["ratio_fast_over_matched"] > 10


def test_effective_lr_is_the_sum_over_later_steps():
    from lrkit.lab.experiments.momentum import effective_lr

    lrs = np.array([0.5, 0.25, 2.0, 1.0])
    beta = 0.9
    want = [sum(lrs[t] * beta ** (t - s) for t in range(s, 4)) for s in range(4)]
    np.testing.assert_allclose(effective_lr(lrs, beta), want, rtol=1e-14)


def test_restarts():
    r = experiments.run("restarts", quick=True)
    _assert_holds(r)
    assert r.numbers["good_4_restarts"] > r.numbers["good_single_decay"] + 0.1
    # the mechanism: a constant peak lr (0.12 * 25 = 3 > 2) never lets the sharp minimum hold a run
    assert r.numbers["caught_constant"] == 0.0


def test_restarts_landscape_has_the_two_minima():
    from lrkit.lab.experiments import restarts as mod

    xs = np.linspace(-5, 10, 30001)
    f = mod.loss(xs)
    interior = np.where((f[1:-1] < f[:-2]) & (f[1:-1] < f[2:]))[0] + 1
    minima = xs[interior]
    assert len(minima) == 2
    assert minima[0] == pytest.approx(0.0, abs=1e-3) and minima[1] == pytest.approx(3.0, abs=0.02)
    assert f[interior[0]] < f[interior[1]]  # the flat one is the good one
    g = np.gradient(f, xs)
    np.testing.assert_allclose(mod.grad(xs[::50]), g[::50], atol=2e-3)


def test_lr_noise():
    r = experiments.run("lr-noise", quick=True)
    _assert_holds(r)
    h, lr, std = np.linspace(0.1, 1.0, 10), 0.5, 0.5
    plain = sum(lr / (2 * (2 - lr * hi)) for hi in h)
    noisy = sum(lr * (1 + std**2) / (2 * (2 - lr * hi * (1 + std**2))) for hi in h)
    assert r.numbers["predicted_ratio"] == pytest.approx(noisy / plain, rel=1e-12)
    assert r.numbers["floor_plain"] == pytest.approx(plain, rel=0.05)


def test_outputs_are_written(tmp_path):
    r = experiments.run("gradient-flow", str(tmp_path), quick=True)
    names = sorted(os.listdir(tmp_path))
    assert names == ["gradient-flow.csv", "gradient-flow.md", "gradient-flow.png"]
    assert sorted(r.files) == sorted(str(tmp_path / n) for n in names)
    with open(tmp_path / "gradient-flow.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "gradient-flow.md").read_text()
    assert "| lr |" in md and "[PASS]" in md
    csv = (tmp_path / "gradient-flow.csv").read_text().splitlines()
    assert csv[0].startswith("lr,") and len(csv) == len(r.rows) + 1


def test_names_and_questions():
    names = experiments.names()
    assert names == ["noisy-quadratic", "half-life", "gradient-flow", "decay-speed", "restarts", "warmup",
                     "momentum", "weight-decay", "lr-noise"]
    questions = experiments.describe()
    assert list(questions) == names and all(q.endswith("?") for q in questions.values())


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="gradient_flow"), "experiment(): name must be one of noisy-quadratic"),
    (dict(name="warmpu"), "(did you mean 'warmup'?)"),
    (dict(name="momentum", seed=-1), "experiment(): seed must be a whole number >= 0; got seed=-1"),
    (dict(name="momentum", seed=1.5), "seed must be a whole number >= 0; got seed=1.5"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(lk.SpecError) as e:
        experiments.run(**kwargs)
    assert message in str(e.value)


def test_result_is_json_ready():
    import json

    r = experiments.run("momentum", quick=True)
    back = json.loads(json.dumps(r.to_dict()))
    assert back["holds"] is True and back["name"] == "momentum"
    assert len(back["checks"]) == len(r.checks) and back["rows"][0]["momentum"] == 0.0
