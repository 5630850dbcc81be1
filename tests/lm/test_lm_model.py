"""The character models and their training loop: seeding, causality, bits, AdamW + Scheduler, branching."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

import lrkit as lk
from lrkit.lab.corpus import VOCAB, Stream, load_corpus
from lrkit.lab.lm import BETAS, Trainer, evaluate_bits, make_model, param_groups, parameter_count
from lrkit.torch import Scheduler

SMALL = {"width": 16, "layers": 2, "heads": 2, "context": 32}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def stream(seed=0, context=32, batch=4, n=20_000):
    return Stream(load_corpus().train[:n], context=context, batch_size=batch, seed=seed)


@pytest.mark.parametrize("kind", ["transformer", "gru"])
def test_same_seed_same_weights_and_torch_rng_untouched(kind):
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b, c = (make_model(kind, seed=s, **SMALL) for s in (4, 4, 5))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_default_sizes():
    assert parameter_count(make_model("transformer", width=64, layers=2, heads=4, context=64)) == 120_704
    # gru: embedding 128*w, 3 gates of (w*w + w*w + 2w), head w*128 + 128
    w = 128
    assert parameter_count(make_model("gru", width=w, layers=1)) == 128 * w + 3 * (2 * w * w + 2 * w) + w * 128 + 128


@pytest.mark.parametrize("kind", ["transformer", "gru"])
def test_the_models_are_causal(kind):
    model = make_model(kind, seed=0, **SMALL).eval()
    x = torch.randint(0, VOCAB, (3, 32), generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[:, 20] = (y[:, 20] + 1) % VOCAB
    with torch.no_grad():
        a, b = model(x), model(y)
    assert a.shape == (3, 32, VOCAB)
    assert torch.equal(a[:, :20], b[:, :20])            # positions before the change do not see it
    assert not torch.allclose(a[:, 20:], b[:, 20:])


def test_bits_are_the_mean_negative_log2_probability():
    model = make_model("transformer", seed=1, **SMALL)
    x, y = stream().batch(0)
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.from_numpy(x)).double(), dim=-1).numpy()
    expected = -np.mean(np.take_along_axis(logp, y[..., None], axis=-1)) / math.log(2)
    assert evaluate_bits(model, x, y, chunk=3) == pytest.approx(expected, rel=1e-5)
    assert model.training                                # the mode it had is restored


def test_the_trainer_is_adamw_driven_by_the_scheduler_step_for_step():
    """Trainer's updates equal a hand-written loop of torch.optim.AdamW + lrkit.torch.Scheduler + clipping."""
    sched = lk.warmup(3) >> lk.cosine(7, end=0.1)
    s = stream(seed=2)
    ours = make_model("transformer", seed=3, **SMALL)
    ref = copy.deepcopy(ours)
    tr = Trainer(ours, s, sched, lr=3e-3, weight_decay=0.1, clip=0.5)
    tr.advance(10)
    opt = torch.optim.AdamW(param_groups(ref, 0.1), lr=3e-3, betas=BETAS)
    groups_wd = [g["weight_decay"] for g in opt.param_groups]
    sc = Scheduler(opt, sched)
    lrs = []
    for i in range(10):
        x, y = (torch.from_numpy(a) for a in s.batch(i))
        lrs.append(opt.param_groups[0]["lr"])
        loss = torch.nn.functional.cross_entropy(ref(x).reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
        opt.step()
        sc.step()
    assert groups_wd == [0.1, 0.0]
    assert lrs == [3e-3 * sched(t) for t in range(10)]
    assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), ref.parameters()))
    assert tr.step == 10 and tr.lr == 3e-3 * sched(10)


def test_no_decay_on_biases_norms_and_positions():
    model = make_model("transformer", seed=0, **SMALL)
    decay, rest = param_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    assert {names[id(p)] for p in rest["params"]} == {n for n, p in model.named_parameters()
                                                      if p.dim() < 2 or n == "pos"}
    assert "embed.weight" in {names[id(p)] for p in decay["params"]}


def test_a_branch_continues_exactly_like_the_run_planned_from_step_0():
    """A cooldown branched at step 12 from a constant-lr run (state saved and loaded, new_schedule=True)
    is the run planned with the same schedule from step 0, bit for bit; the run it left is not disturbed."""
    planned = lk.wsd(20, 2, 8)
    s = stream(seed=1)
    a = Trainer(make_model("transformer", seed=7, **SMALL), s, lk.warmup(2) >> lk.constant(), lr=5e-3,
                weight_decay=0.1)
    a.advance(12)
    branch = a.branch(planned)
    branch.advance(8)
    a.advance(8)                                     # the constant run goes on after the branch left it
    b = Trainer(make_model("transformer", seed=7, **SMALL), s, planned, lr=5e-3, weight_decay=0.1)
    b.advance(20)
    c = Trainer(make_model("transformer", seed=7, **SMALL), s, lk.warmup(2) >> lk.constant(), lr=5e-3,
                weight_decay=0.1)
    c.advance(20)
    assert branch.step == b.step == 20 and branch.lr == b.lr == 0.0
    assert all(torch.equal(p, q) for p, q in zip(branch.model.parameters(), b.model.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), c.model.parameters()))
    assert branch.scheduler.state_dict()["schedules"] != a.scheduler.state_dict()["schedules"]


def test_a_diverged_run_stops_and_scores_nan():
    s = stream()
    tr = Trainer(make_model("transformer", seed=0, **SMALL), s, lk.constant(), lr=1e6, weight_decay=0.0, clip=0.0)
    with torch.no_grad():
        next(tr.model.parameters()).fill_(float("nan"))
    assert math.isnan(tr.advance(5)) and tr.diverged and tr.step == 0
    x, y = s.batch(0)
    assert math.isnan(tr.bits(x, y))


def test_schedule_free_trains_and_is_evaluated_at_its_averaged_weights():
    pytest.importorskip("schedulefree")
    s = stream(seed=4)
    model = make_model("transformer", seed=4, **SMALL)
    tr = Trainer(model, s, lk.constant(), lr=1e-2, weight_decay=0.1, optimizer="schedulefree", warmup_steps=3)
    x, y = stream(seed=9).batch(3)
    start = tr.bits(x, y)
    tr.advance(30)
    trained = [p.detach().clone() for p in model.parameters()]       # the weights it trains at (y)
    bits = tr.bits(x, y)
    assert bits < start
    # back at the weights it trains at afterwards (schedule-free's swap is exact up to float rounding)
    assert all(torch.allclose(p, q, rtol=0, atol=1e-6) for p, q in zip(trained, model.parameters()))
    tr.optimizer.eval()
    assert evaluate_bits(model, x, y) == pytest.approx(bits, rel=1e-5)   # read at the averaged weights (x)
    assert not all(torch.allclose(p, q, rtol=0, atol=1e-4) for p, q in zip(trained, model.parameters()))
    tr.optimizer.train()


def test_bad_model_settings_name_the_parameter():
    with pytest.raises(lk.SpecError, match=r"make_model\(\): kind must be one of 'transformer', 'gru'; got kind='lst"):
        make_model("lstm")
    with pytest.raises(lk.SpecError, match=r"make_model\(\): width must be a whole number >= 1; got width=0"):
        make_model("gru", width=0)
    with pytest.raises(lk.SpecError, match=r"Trainer\(\): optimizer must be one of 'adamw', 'schedulefree'"):
        Trainer(make_model(seed=0, **SMALL), stream(), lk.constant(), lr=1e-3, weight_decay=0.0, optimizer="sgd")
