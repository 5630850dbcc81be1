"""The training loop: lr per step, determinism, plateau rules, batched == sequential."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lrkit as lk
from lrkit.lab.data import load_dataset
from lrkit.lab.models import make_model
from lrkit.lab.train import RunResult, steps_per_epoch, train, train_batched


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _numbers(run: RunResult) -> dict:
    d = run.to_dict()
    d.pop("wall_time")
    return d


def test_steps_per_epoch_counts_the_short_last_batch(digits):
    assert len(digits.x_train) == 1437
    assert steps_per_epoch(digits, 64) == 23  # 22 full batches + one of 29
    assert steps_per_epoch(digits, 1437) == 1
    assert steps_per_epoch(digits, 2000) == 1


def test_lr_of_every_step_is_base_times_the_bound_schedule(digits):
    r = train(make_model("linear", 64, 10, seed=0), digits, "warmup('1ep') >> cosine('rest', end=0.1)",
              epochs=3, batch_size=128, lr=0.2)
    spe = 12  # ceil(1437 / 128)
    want = 0.2 * (lk.warmup(spe) >> lk.cosine(2 * spe, end=0.1)).values(np.arange(3 * spe))
    np.testing.assert_allclose(r.lr, want, rtol=1e-15, atol=0)
    assert (r.epochs, r.total_steps, r.steps_per_epoch) == (3, 36, 12)
    assert len(r.train_loss) == len(r.val_loss) == len(r.val_acc) == 3
    assert r.schedule == "warmup(12) >> cosine(24, end=0.1)"
    assert r.spec == "warmup('1ep') >> cosine('rest', end=0.1)"
    assert r.label == "warmup('1ep') >> cosine('rest', end=0.1)"


def test_train_equals_a_plain_torch_loop(digits):
    """train() is: numpy-seeded batch order, cross-entropy, torch SGD, lr set before each update."""
    s = lk.parse("one_cycle('100%')").bind(total_steps=24, steps_per_epoch=12)
    got = train(make_model("mlp", 64, 10, seed=4), digits, s, epochs=2, batch_size=128, lr=0.05, seed=9)

    model = make_model("mlp", 64, 10, seed=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = torch.from_numpy(digits.x_train), torch.from_numpy(digits.y_train)
    rng, t, losses = np.random.default_rng(9), 0, []
    for _ in range(2):
        perm, total = torch.from_numpy(rng.permutation(len(y))), 0.0
        for b in range(12):
            idx = perm[b * 128:(b + 1) * 128]
            opt.param_groups[0]["lr"] = 0.05 * s(t)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            t += 1
        losses.append(total / len(y))
    with torch.no_grad():
        out = model(torch.from_numpy(digits.x_val))
    acc = (out.argmax(1).numpy() == digits.y_val).mean()
    np.testing.assert_allclose(got.train_loss, losses, rtol=1e-6)
    assert got.final_acc == pytest.approx(acc, abs=1e-12)


def test_same_seed_gives_identical_numbers(digits):
    def once(seed):
        return train(make_model("mlp", 64, 10, seed=1), digits, "cosine('100%')", epochs=2,
                     batch_size=64, lr=0.1, seed=seed)

    a, b, c = once(3), once(3), once(4)
    assert _numbers(a) == _numbers(b)
    assert a.train_loss != c.train_loss  # another seed, another batch order


def test_train_leaves_the_callers_torch_generator_as_it_was(digits):
    """train() seeds torch's generator for the run (a model with dropout repeats), then gives it back."""
    torch.manual_seed(123)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.Dropout(0.5), torch.nn.Linear(32, 10))
    init = [p.detach().clone() for p in model.parameters()]
    before = torch.random.get_rng_state()
    a = train(model, digits, "constant()", epochs=1, batch_size=256, lr=0.1, seed=4)
    assert torch.equal(torch.random.get_rng_state(), before)
    with torch.no_grad():
        for p, q in zip(model.parameters(), init):
            p.copy_(q)
    b = train(model, digits, "constant()", epochs=1, batch_size=256, lr=0.1, seed=4)
    assert _numbers(a) == _numbers(b)  # the same dropout masks: the seed, not the caller's state


def test_batched_is_deterministic_too(digits):
    def once():
        return [_numbers(r) for r in train_batched(make_model("mlp", 64, 10, seed=2), digits,
                                                   ["constant()", "noisy(linear('100%'), 0.2)"],
                                                   epochs=2, batch_size=64, lr=0.1, seed=5)]

    assert once() == once()


@pytest.mark.parametrize("optimizer,lr,momentum,weight_decay", [
    ("sgd", 0.1, 0.9, 0.0),
    ("sgd", 0.05, 0.5, 5e-3),
    ("sgd", 0.05, 0.0, 0.0),
    ("adamw", 3e-3, 0.9, 0.05),
])
def test_batched_matches_torch_optimizers_run_one_by_one(digits, optimizer, lr, momentum, weight_decay):
    specs = ["constant()", "warmup('20%') >> cosine('rest')", "cyclic(0.1, 1, '1ep')"]
    kw = {"epochs": 2, "batch_size": 64, "lr": lr, "optimizer": optimizer, "momentum": momentum,
              "weight_decay": weight_decay, "seed": 7}
    model = make_model("mlp", 64, 10, seed=3)
    before = [p.detach().clone() for p in model.parameters()]
    batched = train_batched(model, digits, specs, **kw)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # model untouched
    for spec, b in zip(specs, batched):
        s = train(make_model("mlp", 64, 10, seed=3), digits, spec, **kw)
        assert b.lr == s.lr
        assert (b.label, b.spec, b.schedule) == (s.label, s.spec, s.schedule) == (spec, spec, b.schedule)
        assert b.batched and not s.batched
        np.testing.assert_allclose(b.train_loss, s.train_loss, rtol=1e-5)
        np.testing.assert_allclose(b.val_loss, s.val_loss, rtol=1e-5)
        # float rounding may flip at most a borderline sample of the 360
        np.testing.assert_allclose(b.val_acc, s.val_acc, atol=1.01 / len(digits.y_val))


def test_batched_runs_a_cnn(digits):
    runs = train_batched(make_model("cnn1d", 64, 10, seed=0), digits, ["constant()", "cosine('100%')"],
                         epochs=1, batch_size=256, lr=0.05, seed=0)
    one = train(make_model("cnn1d", 64, 10, seed=0), digits, "cosine('100%')", epochs=1, batch_size=256,
                lr=0.05, seed=0)
    np.testing.assert_allclose(runs[1].val_loss, one.val_loss, rtol=1e-5)


def test_plateau_follows_torch_reduce_lr_on_plateau(digits):
    """The scale changes after an epoch's validation loss, from the next update on, by torch's rules."""
    plateau = lk.Plateau(factor=0.5, patience=0, threshold=0.5)
    r = train(make_model("mlp", 64, 10, seed=0), digits, "constant()", epochs=6, batch_size=128,
              lr=0.1, seed=0, plateau=plateau)
    spe = r.steps_per_epoch
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.5)
    for e in range(r.epochs):
        assert r.lr[e * spe:(e + 1) * spe] == [pytest.approx(opt.param_groups[0]["lr"], rel=1e-15)] * spe
        ref.step(r.val_loss[e])
    assert min(r.lr) < 0.1  # the plateau did act
    assert r.plateau == "Plateau(factor=0.5, patience=0, threshold=0.5)"
    assert r.label == "constant() with Plateau(factor=0.5, patience=0, threshold=0.5)"


def test_optimizer_instance_keeps_its_own_lr(digits):
    model = make_model("linear", 64, 10, seed=0)
    opt = torch.optim.RMSprop(model.parameters(), lr=0.01)
    r = train(model, digits, "linear('100%', end=0.5)", epochs=1, batch_size=512, lr=None, optimizer=opt)
    np.testing.assert_allclose(r.lr, 0.01 * lk.linear(3, end=0.5).values(np.arange(3)), rtol=1e-15)


def test_a_diverged_run_is_recorded_not_raised(digits):
    r = train(make_model("mlp", 64, 10, seed=0), digits, "constant()", epochs=2, batch_size=64, lr=1e6)
    (b,) = train_batched(make_model("mlp", 64, 10, seed=0), digits, ["constant()"], epochs=2,
                         batch_size=64, lr=1e6)
    for run in (r, b):
        assert run.diverged and math.isnan(run.train_loss[-1])
        assert len(run.val_acc) == 2 and 0.0 <= run.final_acc <= 1.0


def test_run_result_json_round_trip(digits):
    r = train(make_model("linear", 64, 10, seed=0), digits, "exponential(0.9)", epochs=1, batch_size=256, lr=0.1)
    assert RunResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    d = r.to_dict()
    d["train_loss"] = [None]
    assert math.isnan(RunResult.from_dict(d).train_loss[0])


@pytest.mark.parametrize("kwargs,message", [
    ({"epochs": 0}, "train(): epochs must be a whole number >= 1; got epochs=0"),
    ({"batch_size": 2.5}, "train(): batch_size must be a whole number >= 1; got batch_size=2.5"),
    ({"lr": -1.0}, "train(): lr must be > 0; got lr=-1"),
    ({"lr": None}, "train(): lr must be a number > 0; got lr=None"),
    ({"optimizer": "rmsprop"},
     "train(): optimizer must be 'sgd', 'adamw' or a torch.optim.Optimizer; got optimizer='rmsprop'"),
    ({"plateau": "yes"}, "train(): plateau must be an lk.Plateau or None; got plateau='yes'"),
    ({"momentum": -0.1}, "train(): momentum must be >= 0; got momentum=-0.1"),
    ({"seed": -1}, "train(): seed must be a whole number >= 0; got seed=-1"),
    ({"schedule": 3}, "train(): schedule must be a schedule or its text; got schedule=3"),
    ({"schedule": "cosine('rest') >> cosine('rest')"}, "at most one 'rest'"),
])
def test_bad_arguments_name_the_parameter(digits, kwargs, message):
    args = {"epochs": 1, "batch_size": 64, "lr": 0.1}
    schedule = kwargs.pop("schedule", "constant()")
    args.update(kwargs)
    with pytest.raises(lk.SpecError) as e:
        train(make_model("linear", 64, 10), digits, schedule, **args)
    assert message in str(e.value)


def test_batched_refuses_what_it_cannot_do(digits):
    bn = torch.nn.Sequential(torch.nn.Linear(64, 10), torch.nn.BatchNorm1d(10))
    with pytest.raises(lk.SpecError, match="model must be a model without buffers"):
        train_batched(bn, digits, ["constant()"], epochs=1, batch_size=64, lr=0.1)
    with pytest.raises(lk.SpecError, match="optimizer must be one of 'sgd', 'adamw'; got optimizer='rmsprop'"):
        train_batched(make_model("linear", 64, 10), digits, ["constant()"], epochs=1, batch_size=64,
                      lr=0.1, optimizer="rmsprop")
    with pytest.raises(lk.SpecError, match=r"schedules must be a list holding at least one schedule; got schedules"):
        train_batched(make_model("linear", 64, 10), digits, [], epochs=1, batch_size=64, lr=0.1)


def test_fit_batched_refuses_an_unknown_optimizer_and_no_members(digits):
    """An optimizer it does not have is an error, not AdamW in disguise."""
    from lrkit.lab.batched import Member, fit_batched

    members = [Member(lk.constant(), 0.1, 0, make_model("linear", 64, 10))]
    with pytest.raises(lk.SpecError,
                       match="fit_batched\\(\\): optimizer must be one of 'sgd', 'adamw'; got optimizer='adam'"):
        fit_batched(members, digits, epochs=1, batch_size=64, optimizer="adam")
    with pytest.raises(lk.SpecError, match="fit_batched\\(\\): members must be a list holding at least one Member"):
        fit_batched([], digits, epochs=1, batch_size=64)


def test_fit_batched_members_with_own_seeds_plateaus_and_drops(digits):
    """Every member of one batch equals its own one-by-one run (seed, lr, plateau); dropping one leaves the rest."""
    from lrkit.lab.batched import Member, fit_batched

    spe = steps_per_epoch(digits, 128)
    s = lk.parse("cosine('100%')").bind(total_steps=3 * spe, steps_per_epoch=spe)

    def members():
        return [Member(s, 0.1, 0, make_model("mlp", 64, 10, seed=0)),
                Member(s, 0.15, 5, make_model("mlp", 64, 10, seed=5)),
                Member(lk.constant(), 0.2, 5, make_model("mlp", 64, 10, seed=5),
                       plateau=lk.Plateau(factor=0.5, patience=0, threshold=0.5))]

    kw = {"epochs": 3, "batch_size": 128}
    full = members()
    fit_batched(full, digits, **kw)
    for m, plateau in zip(full, (None, None, lk.Plateau(factor=0.5, patience=0, threshold=0.5))):
        one = train(make_model("mlp", 64, 10, seed=m.seed), digits, m.schedule, lr=m.lr, seed=m.seed,
                    plateau=plateau, **kw)
        np.testing.assert_allclose(m.result.lr, one.lr, rtol=1e-6)
        np.testing.assert_allclose(m.result.val_loss, one.val_loss, rtol=1e-4)
    assert min(full[2].result.lr) < 0.2  # the plateau acted, in the batch as in the loop
    dropped = members()
    fit_batched(dropped, digits, on_epoch=lambda epoch, alive: [1] if epoch == 0 else [], **kw)
    assert dropped[1].stopped and len(dropped[1].result.val_loss) == 1
    for a, b in ((dropped[0], full[0]), (dropped[2], full[2])):
        assert not a.stopped
        np.testing.assert_allclose(a.result.val_loss, b.result.val_loss, rtol=1e-5)


class _StopAt:
    """A channel that prunes the run of key ``key`` at its report ``index``."""

    def __init__(self, key: str, index: int) -> None:
        self.key, self.index = key, index

    def report(self, task, index, entry) -> bool:
        return task.key == self.key and index >= self.index


@pytest.mark.parametrize("config", [
    {"optimizer": "sgd", "weight_decay": 1e-3},
    {"optimizer": "adamw", "weight_decay": 0.05},
])
def test_builtin_batch_equals_builtin_train_run_by_run(config):
    """builtin.batch (one vmap batch, lrkit.lab.batched) gives each run what builtin.train (torch.optim and
    lrkit.torch.Scheduler) gives it: the same lrs, the same fingerprints, the same losses to float rounding;
    a run pruned mid-batch stops there and leaves the others as they were."""
    from lrkit.lab.batched import epoch_orders
    from lrkit.lab.builtin import batch, check_config
    from lrkit.lab.builtin import train as train_one
    from lrkit.lab.run import Pruned, Run, Task, fingerprint

    cfg = check_config({**config, "batch_size": 128})
    lr = 0.1 if config["optimizer"] == "sgd" else 3e-3
    arms = [("cosine('100%')", None), ("warmup('1ep') >> linear('rest')", None),
            ("noisy(constant(), 0.3)", None), ("constant()", {"factor": 0.5, "patience": 0, "threshold": 0.9})]
    tasks = [Task(f"{i}-{seed}-{m}", s, s, p, lr * m, seed, 3, cfg)
             for seed in (0, 3) for i, (s, p) in enumerate(arms) for m in (1, 2)]
    alone = [Run(t) for t in tasks]
    one = [train_one(r) for r in alone]
    together = [Run(t) for t in tasks]
    out = batch(together)
    n_val, n_test = 360, 360
    rng = np.random.default_rng(3)  # digits with its test split keeps 1077 training samples
    assert alone[-1].fingerprints["batches"] == fingerprint([rng.permutation(1077) for _ in range(3)])
    for a, b, res_a, res_b in zip(alone, together, one, out):
        assert a.fingerprints == b.fingerprints
        assert b.fingerprints["batches"] == fingerprint(epoch_orders(b.seed, 1077, 3))
        assert [h["lr"] for h in a.history] == [h["lr"] for h in b.history]
        for key in ("val_loss", "train_loss"):
            np.testing.assert_allclose([h[key] for h in b.history], [h[key] for h in a.history], rtol=1e-4)
        np.testing.assert_allclose([h["val"] for h in b.history], [h["val"] for h in a.history], atol=1.01 / n_val)
        assert res_b["test"] == pytest.approx(res_a["test"], abs=2.01 / n_test)
        assert res_b["test_loss"] == pytest.approx(res_a["test_loss"], rel=1e-4)
    assert min(h["lr"] for h in together[-1].history) < 2 * lr  # the plateau acted
    stopped = [Run(t, _StopAt(tasks[2].key, 1)) for t in tasks]
    pruned = batch(stopped)
    assert isinstance(pruned[2], Pruned) and len(stopped[2].history) == 2
    assert stopped[2].history == together[2].history[:2]
    for i, (a, b) in enumerate(zip(pruned, out)):
        if i != 2:
            np.testing.assert_allclose([h["val_loss"] for h in stopped[i].history],
                                       [h["val_loss"] for h in together[i].history], rtol=1e-5)
            assert a["test"] == pytest.approx(b["test"], abs=1.01 / n_test)
