"""Snapshot ensembles: cycle ends, copies kept at the right steps, and an ensemble that beats its last member."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lrkit as lk
from lrkit.lab.data import load_dataset
from lrkit.lab.models import make_model
from lrkit.recipes import SnapshotEnsemble, Snapshots, cycle_ends
from lrkit.torch import Scheduler


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("schedule, total, expected", [
    (lk.restarts(lk.cosine(10), cycles=4), None, [10, 20, 30, 40]),
    (lk.restarts(lk.cosine(10), period_mult=2, cycles=3), None, [10, 30, 70]),
    (lk.restarts(lk.cosine(937.5), cycles=2), None, [938, 1875]),
    (lk.restarts(lk.cosine(25)), 100, [25, 50, 75, 100]),
    (lk.warmup(5) >> lk.restarts(lk.cosine(10), cycles=2), None, [15, 25]),
    (lk.restarts(lk.cosine("25%"), cycles=4), 200, [50, 100, 150, 200]),
])
def test_cycle_ends(schedule, total, expected):
    assert cycle_ends(schedule, total) == expected
    bound = schedule.bind(total_steps=total) if total else schedule
    # independent check: the lr jumps back up right after each cycle end (except the last)
    for end in expected[:-1]:
        assert bound(end) > bound(end - 1)


@pytest.mark.parametrize("schedule, total, message", [
    (lk.cosine(10), None, "cycle_ends(): schedule must be restarts(...), alone or as the last phase of >>"),
    (lk.restarts(lk.cosine(10)), None, "restarts without end; pass total_steps=..."),
    (3, None, "cycle_ends(): schedule must be a restarts(...) schedule"),
])
def test_cycle_ends_errors(schedule, total, message):
    with pytest.raises(lk.SpecError) as e:
        cycle_ends(schedule, total)
    assert message in str(e.value)


def test_snapshots_are_frozen_copies_taken_at_the_cycle_ends():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    schedule = lk.restarts(lk.cosine(4), cycles=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    sched, snaps = Scheduler(opt, schedule), Snapshots(model, schedule)
    expected = []
    for _ in range(12):
        model(torch.randn(4, 3)).pow(2).sum().backward()
        opt.step()
        opt.zero_grad()
        sched.step()
        if snaps.step():
            expected.append(model.weight.detach().clone())
    assert snaps.taken == [4, 8, 12]
    for snap, w in zip(snaps.models, expected):
        assert torch.equal(snap.weight, w) and not snap.training and not snap.weight.requires_grad
    assert not torch.equal(snaps.models[0].weight, model.weight)  # not a view of the live model


def test_ensemble_averages_probabilities():
    torch.manual_seed(1)
    members = [torch.nn.Linear(5, 4) for _ in range(3)]
    ens = SnapshotEnsemble(members)
    x = torch.randn(7, 5)
    want = sum(m(x).softmax(-1) for m in members) / 3
    torch.testing.assert_close(ens(x), want)
    torch.testing.assert_close(ens.log_proba(x).exp(), want)
    torch.testing.assert_close(ens(x).sum(-1), torch.ones(7))


def test_snapshot_errors():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(lk.SpecError, match="give exactly one of schedule"):
        Snapshots(model)
    with pytest.raises(lk.SpecError, match="Snapshots\\(\\): at must be a list of whole numbers > 0"):
        Snapshots(model, at=[0, 5])
    with pytest.raises(lk.SpecError, match="Snapshots.ensemble\\(\\): no snapshot yet"):
        Snapshots(model, at=[5]).ensemble()
    with pytest.raises(lk.SpecError, match="SnapshotEnsemble\\(\\): models must hold at least one model"):
        SnapshotEnsemble([])


@pytest.mark.slow
def test_ensemble_beats_its_last_snapshot_on_mnist1d(one_thread):
    """6 cycles of cosine(250) on MNIST-1D; the average of the last 3 snapshots has a
    clearly lower validation loss than the last snapshot alone (measured over seeds
    0-3: 14-19% lower; accuracy within a point either way)."""
    data = load_dataset("mnist1d")
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    xv, yv = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    model = make_model("mlp", data.n_features, data.n_classes, seed=0)
    schedule = lk.restarts(lk.cosine(250), cycles=6)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched, snaps = Scheduler(opt, schedule), Snapshots(model, schedule)
    rng = np.random.default_rng(0)
    for _ in range(int(schedule.duration)):
        idx = torch.from_numpy(rng.integers(0, len(y), 64))
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        snaps.step()
    assert snaps.taken == [250, 500, 750, 1000, 1250, 1500]
    with torch.no_grad():
        last = snaps.models[-1](xv)
        probs = snaps.ensemble(last=3)(xv)
    nll_last, nll_ens = F.cross_entropy(last, yv).item(), F.nll_loss(probs.log(), yv).item()
    acc_last = (last.argmax(1) == yv).double().mean().item()
    acc_ens = (probs.argmax(1) == yv).double().mean().item()
    assert nll_ens < 0.95 * nll_last, (nll_ens, nll_last)
    assert acc_ens > acc_last - 0.02, (acc_ens, acc_last)
