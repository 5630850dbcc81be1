"""Super-convergence: the momentum schedule equals torch OneCycleLR's; one call sets it all up and it trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lrkit as lk
from lrkit.lab.data import load_dataset
from lrkit.lab.models import make_model
from lrkit.recipes import one_cycle_momentum, super_convergence


def _torch_one_cycle(steps, low, high, pct, anneal, three_phase, max_lr=1.0, div=25.0, final_div=1e4):
    opt = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1, momentum=0.9)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=steps, pct_start=pct,
                                              anneal_strategy=anneal, base_momentum=low, max_momentum=high,
                                              three_phase=three_phase, div_factor=div, final_div_factor=final_div)
    lrs, moms = [], []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        ref.step() if len(moms) < steps else None
    return np.array(lrs), np.array(moms)


@pytest.mark.parametrize("steps, low, high, pct, anneal, three_phase", [
    (100, 0.85, 0.95, 0.3, "cos", False),
    (1000, 0.8, 0.99, 0.25, "cos", False),
    (97, 0.85, 0.95, 0.3, "linear", False),
    (200, 0.85, 0.95, 0.3, "cos", True),
    (333, 0.9, 0.95, 0.45, "linear", True),
])
def test_momentum_equals_torch_one_cycle(steps, low, high, pct, anneal, three_phase):
    _, want = _torch_one_cycle(steps, low, high, pct, anneal, three_phase)
    got = one_cycle_momentum(steps, low, high, pct, anneal, three_phase).values(np.arange(steps))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_momentum_moves_against_the_lr():
    steps = 300
    lr = lk.one_cycle(steps).values(np.arange(steps))
    mom = one_cycle_momentum(steps).values(np.arange(steps))
    dl, dm = np.diff(lr), np.diff(mom)
    assert np.all(dl * dm <= 1e-15)
    assert mom[np.argmax(lr)] == 0.85 and mom[0] == 0.95


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), "one_cycle_momentum(): steps must be > 0; got steps=0"),
    (dict(steps=100, low=0.95, high=0.85), "high must be >= 0.95; got high=0.85"),
    (dict(steps=3), "steps must be large enough that the peak step pct_start*steps - 1 lies strictly between 0"),
    (dict(steps=100, anneal="cosine"), "anneal must be one of 'cos', 'linear'; got anneal='cosine'"),
    (dict(steps=100, pct_start=0.6, three_phase=True), "pct_start must be < 0.5 with three_phase=True"),
])
def test_momentum_bad_arguments(kwargs, message):
    with pytest.raises(lk.SpecError) as e:
        one_cycle_momentum(**kwargs)
    assert message in str(e.value)


@pytest.fixture
def digits_batches():
    data = load_dataset("digits")
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(y)))
    batches = [(x[perm[i:i + 64]], y[perm[i:i + 64]]) for i in range(0, len(y), 64)]
    return data, batches


def test_super_convergence_on_digits_trains(digits_batches):
    data, batches = digits_batches
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = make_model("mlp", data.n_features, data.n_classes, seed=0)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        w0 = [p.detach().clone() for p in model.parameters()]
        steps = 3 * len(batches)
        sc = super_convergence(model, opt, F.cross_entropy, batches, steps,
                               range_test=dict(start=1e-4, end=10.0, steps=60))
        # the range test left the model as it was; the schedules come from its range
        assert all(torch.equal(a, b) for a, b in zip(w0, model.parameters()))
        low, high = sc.range_test.range
        assert sc.lr == lk.one_cycle(steps, peak=high, div_factor=high / low)
        assert sc.param == "momentum"
        assert opt.param_groups[0]["lr"] == pytest.approx(low) and opt.param_groups[0]["momentum"] == 0.95
        seen = []
        for _ in range(3):
            for xb, yb in batches:
                seen.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sc.scheduler.step()
        with torch.no_grad():
            out = model(torch.from_numpy(data.x_val))
        acc = (out.argmax(1) == torch.from_numpy(data.y_val)).double().mean().item()
    finally:
        torch.set_num_threads(before)
    lrs, moms = np.array(seen).T
    assert int(np.argmax(lrs)) == int(np.argmin(moms)) and lrs.max() <= high
    assert moms.min() == pytest.approx(0.85, abs=1e-4) and lrs.max() == pytest.approx(high, rel=1e-3)
    assert acc > 0.93, acc


def test_super_convergence_drives_beta1_for_adam(digits_batches):
    data, batches = digits_batches
    model = make_model("linear", data.n_features, data.n_classes, seed=0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sc = super_convergence(model, opt, F.cross_entropy, batches, 100, momentum=(0.8, 0.9),
                           range_test=dict(start=1e-5, end=10.0, steps=30))
    assert sc.param == "beta1"
    assert opt.param_groups[0]["betas"][0] == 0.9
    for _ in range(29):
        opt.step()
        sc.scheduler.step()
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.8)


def test_super_convergence_bad_arguments(digits_batches):
    _, batches = digits_batches
    model = torch.nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(lk.SpecError, match="super_convergence\\(\\): steps must be a whole number > 1; got steps=1"):
        super_convergence(model, opt, F.cross_entropy, batches, 1)
    with pytest.raises(lk.SpecError, match="momentum must be a \\(low, high\\) pair"):
        super_convergence(model, opt, F.cross_entropy, batches, 100, momentum=0.9)
    with pytest.raises(lk.SpecError, match="range_test must be a dict of find_lr options"):
        super_convergence(model, opt, F.cross_entropy, batches, 100, range_test=[1e-5, 1.0])
