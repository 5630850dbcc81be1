"""lrkit.timm.Scheduler driven exactly as timm's train.py drives its lr_scheduler (no timm needed).

``run()`` below is timm's ``main()`` epoch loop and ``train_one_epoch`` update
loop cut down to what touches the scheduler, with the same call protocol
(huggingface/pytorch-image-models, train.py):

* ``updates_per_epoch = (len(loader) + grad_accum_steps - 1) // grad_accum_steps``;
* after every optimizer update: ``num_updates += 1`` then
  ``lr_scheduler.step_update(num_updates=num_updates, metric=losses_m.avg)``;
* after every epoch: ``lr_scheduler.step(epoch + 1, eval_metrics[eval_metric])``;
* on resume at ``start_epoch > 0``: ``lr_scheduler.step_update(start_epoch * updates_per_epoch)``
  when stepping on updates, else ``lr_scheduler.step(start_epoch)``.

The lr of every update is recorded where the optimizer uses it.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

import lrkit as lk
import lrkit.timm
from lrkit.timm import Scheduler

BASES = (0.1, 0.023)
N_BATCHES, ACCUM = 10, 3  # the last accumulation of an epoch is 1 batch: 4 updates per epoch, as timm counts
UPE = (N_BATCHES + ACCUM - 1) // ACCUM
EPOCHS = 9


class AverageMeter:  # timm.utils.AverageMeter
    def __init__(self):
        self.sum, self.count, self.avg = 0.0, 0, 0.0

    def update(self, val, n=1):
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


def make_run():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    groups = [{"params": model[0].parameters(), "lr": BASES[0]}, {"params": model[2].parameters(), "lr": BASES[1]}]
    return model, torch.optim.SGD(groups, lr=1.0, momentum=0.9)


def batches(epoch: int):
    """A deterministic loader: the same batches in the same order for an epoch, whatever ran before."""
    g = torch.Generator().manual_seed(1000 + epoch)
    x = torch.randn(N_BATCHES, 8, 6, generator=g)
    return [(x[i], x[i, :, :1] * 2 - x[i, :, 1:2]) for i in range(N_BATCHES)]


def validate(model) -> dict:
    g = torch.Generator().manual_seed(7)
    x = torch.randn(64, 6, generator=g)
    with torch.no_grad():
        return {"loss": torch.nn.functional.mse_loss(model(x), x[:, :1] * 2 - x[:, 1:2]).item()}


def train_one_epoch(epoch, model, loader, optimizer, lr_scheduler, lrs, start_batch=0, stop_batch=None):
    """timm's train_one_epoch: gradient accumulation, num_updates, step_update after each update.

    ``start_batch`` / ``stop_batch`` (multiples of the accumulation) cut the epoch for a checkpoint.
    """
    accum_steps = ACCUM
    last_accum_steps = len(loader) % accum_steps
    updates_per_epoch = (len(loader) + accum_steps - 1) // accum_steps
    num_updates = epoch * updates_per_epoch + start_batch // ACCUM
    last_batch_idx = len(loader) - 1
    last_batch_idx_to_accum = len(loader) - last_accum_steps
    losses_m = AverageMeter()
    optimizer.zero_grad()
    for batch_idx, (input, target) in enumerate(loader):
        if batch_idx < start_batch:
            continue
        if batch_idx == stop_batch:
            return None
        last_batch = batch_idx == last_batch_idx
        need_update = last_batch or (batch_idx + 1) % accum_steps == 0
        if batch_idx >= last_batch_idx_to_accum:
            accum_steps = last_accum_steps
        loss = torch.nn.functional.mse_loss(model(input), target)
        if accum_steps > 1:
            loss /= accum_steps
        loss.backward()
        if need_update:
            lrs.append([g["lr"] for g in optimizer.param_groups])
            optimizer.step()
        losses_m.update(loss.item() * accum_steps, input.size(0))
        if not need_update:
            continue
        num_updates += 1
        optimizer.zero_grad()
        if lr_scheduler is not None:
            lr_scheduler.step_update(num_updates=num_updates, metric=losses_m.avg)
    return {"loss": losses_m.avg}


def run(model, optimizer, lr_scheduler, lrs, start_epoch=0, num_epochs=EPOCHS, sched_on_updates=True,
        resume_protocol=True, stop=None):
    """timm's main() epoch loop; ``stop=(epoch, batch)`` returns just before that batch (a checkpoint point)."""
    if resume_protocol and lr_scheduler is not None and start_epoch > 0:
        if sched_on_updates:
            lr_scheduler.step_update(start_epoch * UPE)
        else:
            lr_scheduler.step(start_epoch)
    for epoch in range(start_epoch, num_epochs):
        stopping = stop is not None and stop[0] == epoch
        train_one_epoch(epoch, model, batches(epoch), optimizer, lr_scheduler, lrs,
                        stop_batch=stop[1] if stopping else None)
        if stopping:
            return
        eval_metrics = validate(model)
        if lr_scheduler is not None:
            lr_scheduler.step(epoch + 1, eval_metrics["loss"])


# ------------------------------------------------------------------- values
@pytest.mark.parametrize("schedule", [lk.warmup(5) >> lk.cosine(31, end=0.05),
                                      lk.noisy(lk.one_cycle(36), std=0.2, seed=5)], ids=str)
def test_lr_of_every_update_is_base_times_schedule_of_num_updates(schedule):
    model, opt = make_run()
    lrs: list = []
    run(model, opt, Scheduler(opt, schedule), lrs)
    assert len(lrs) == EPOCHS * UPE
    assert lrs == [[b * schedule(n) for b in BASES] for n in range(EPOCHS * UPE)]


def test_run_relative_durations_bind_to_updates():
    model, opt = make_run()
    lr_scheduler = Scheduler(opt, "warmup('2ep') >> cosine('rest')", steps_per_epoch=UPE, total_steps=EPOCHS * UPE)
    assert lr_scheduler.schedule == lk.warmup(2 * UPE) >> lk.cosine((EPOCHS - 2) * UPE)
    assert lr_scheduler.t_in_epochs is False  # train.py logs "LR stepped per update"
    lrs: list = []
    run(model, opt, lr_scheduler, lrs)
    assert lrs == [[b * lr_scheduler.schedule(n) for b in BASES] for n in range(EPOCHS * UPE)]


def test_t_in_epochs_holds_the_lr_for_a_whole_epoch():
    s = lk.step(3, gamma=0.5) * lk.warmup("1ep")
    model, opt = make_run()
    lr_scheduler = Scheduler(opt, s, t_in_epochs=True)
    assert lr_scheduler.schedule == lk.step(3, gamma=0.5) * lk.warmup(1)
    lrs: list = []
    run(model, opt, lr_scheduler, lrs, sched_on_updates=False)
    bound = lr_scheduler.schedule
    assert lrs == [[b * bound(e) for b in BASES] for e in range(EPOCHS) for _ in range(UPE)]


def test_timm_resume_protocol_alone_continues_a_plateau_free_run():
    """timm does not save its scheduler: a fresh one plus step_update(start_epoch * upe) resumes."""
    for sched_on_updates, kw in ((True, {}), (False, {"t_in_epochs": True})):
        s = lk.warmup(3) >> lk.cosine(33, end=0.01) if sched_on_updates else lk.linear(EPOCHS)
        model, opt = make_run()
        full: list = []
        run(model, opt, Scheduler(opt, s, **kw), full, sched_on_updates=sched_on_updates)
        model, opt = make_run()
        lrs: list = []
        run(model, opt, Scheduler(opt, s, **kw), lrs, num_epochs=4, sched_on_updates=sched_on_updates)
        state = (model.state_dict(), opt.state_dict())
        model, opt = make_run()
        model.load_state_dict(state[0])
        lr_scheduler = Scheduler(opt, s, **kw)  # built before the optimizer state is loaded, as in timm
        opt.load_state_dict(state[1])
        run(model, opt, lr_scheduler, lrs, start_epoch=4, sched_on_updates=sched_on_updates)
        assert lrs == full


def test_slot_timm_train_py():
    """The docs' table row: timm's train.py with its create_scheduler_v2(...) line replaced, nothing else."""
    model, optimizer = make_run()
    updates_per_epoch = UPE
    schedule = "warmup('1ep') >> cosine('8ep', end=0.05)"
    lr_scheduler = lrkit.timm.Scheduler(optimizer, schedule, steps_per_epoch=updates_per_epoch)
    lrs: list = []
    run(model, optimizer, lr_scheduler, lrs)
    bound = lk.warmup(UPE) >> lk.cosine(8 * UPE, end=0.05)
    assert lr_scheduler.schedule == bound
    assert lrs == [[b * bound(n) for b in BASES] for n in range(EPOCHS * UPE)]


# ------------------------------------------------------------------ plateau
def plateau():
    return lk.Plateau(factor=0.5, patience=0, threshold=0.05)


def test_plateau_takes_the_metric_of_step_and_ignores_step_update_metric():
    """The same run with the lrs set by hand from an lk.Plateau fed only each epoch's eval loss."""
    s = lk.warmup(4) >> lk.constant()
    model, opt = make_run()
    lr_scheduler = Scheduler(opt, s, plateau=plateau())
    lrs: list = []
    run(model, opt, lr_scheduler, lrs)
    assert lr_scheduler.plateau.updates == EPOCHS  # one reading per epoch, none per update
    assert lr_scheduler.plateau.reductions >= 2  # the plateau really acted

    model, opt = make_run()
    ref, scale, by_hand = plateau(), [1.0], []

    class Hand:
        def step_update(self, num_updates, metric=None):
            for g, b in zip(opt.param_groups, BASES):
                g["lr"] = b * s(num_updates) * scale[0]

    for epoch in range(EPOCHS):
        Hand().step_update(epoch * UPE)
        train_one_epoch(epoch, model, batches(epoch), opt, Hand(), by_hand)
        scale[0] = ref.update(validate(model)["loss"])
    assert lrs == by_hand


def test_step_without_metric_and_metric_without_plateau():
    _, opt = make_run()
    lr_scheduler = Scheduler(opt, lk.constant(), plateau=plateau())
    lr_scheduler.step(3)  # timm's resume call: no metric, the plateau is left alone
    assert lr_scheduler.plateau.updates == 0
    no_plateau = Scheduler(opt, lk.linear(10))
    no_plateau.step(1, 0.37)  # timm passes its eval metric to every scheduler; without a plateau it is unused
    assert [g["lr"] for g in opt.param_groups] == list(BASES)


@pytest.mark.parametrize("case", ["updates", "updates+plateau", "noisy+plateau", "epochs+plateau"])
def test_resume_from_random_points_is_bit_for_bit(case):
    """Save model, optimizer and lr_scheduler state at a random update (mid-epoch or at an epoch end),
    rebuild everything, load, continue: the lrs and the final weights equal an uninterrupted run."""
    t_in_epochs = case.startswith("epochs")
    schedule = {"updates": lk.warmup(5) >> lk.cosine(31),
                "updates+plateau": lk.warmup(5) >> lk.constant(),
                "noisy+plateau": lk.noisy(lk.cosine(36, end=0.1), std=0.3, seed=2),
                "epochs+plateau": lk.warmup(2) >> lk.constant()}[case]
    make_plateau = plateau if "plateau" in case else (lambda: None)
    kw = {"t_in_epochs": t_in_epochs}

    model, opt = make_run()
    full_sched = Scheduler(opt, schedule, plateau=make_plateau(), **kw)
    full: list = []
    run(model, opt, full_sched, full, sched_on_updates=not t_in_epochs)
    if full_sched.plateau is not None:
        assert full_sched.plateau.reductions >= 1
    final = [p.detach().clone() for p in model.parameters()]

    rng = np.random.default_rng(sum(map(ord, case)))
    points = {(0, 0), (4, 0), (EPOCHS - 1, N_BATCHES)}  # (epoch, batch): before that batch; N_BATCHES: epoch end
    mid = rng.integers(0, N_BATCHES // ACCUM + 1, 4) * ACCUM
    points |= {(int(e), int(b)) for e, b in zip(rng.integers(0, EPOCHS, 4), mid)}
    points |= {(int(e), N_BATCHES) for e in rng.integers(0, EPOCHS, 2)}
    for epoch, batch in sorted(points):
        model, opt = make_run()
        lr_scheduler = Scheduler(opt, schedule, plateau=make_plateau(), **kw)
        lrs: list = []
        run(model, opt, lr_scheduler, lrs, stop=(epoch, batch), sched_on_updates=not t_in_epochs)
        buf = io.BytesIO()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": lr_scheduler.state_dict()}, buf)
        buf.seek(0)
        ckpt = torch.load(buf, weights_only=True)
        model, opt = make_run()
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        lr_scheduler = Scheduler(opt, schedule, plateau=make_plateau(), **kw)
        lr_scheduler.load_state_dict(ckpt["sched"])
        if batch == N_BATCHES:  # saved at the end of an epoch's updates, before its step(epoch + 1, metric)
            eval_metrics = validate(model)
            lr_scheduler.step(epoch + 1, eval_metrics["loss"])
            run(model, opt, lr_scheduler, lrs, start_epoch=epoch + 1, resume_protocol=False,
                sched_on_updates=not t_in_epochs)
        else:  # mid-epoch (a recovery checkpoint): finish the epoch from that batch, then go on
            train_one_epoch(epoch, model, batches(epoch), opt, lr_scheduler, lrs, start_batch=batch)
            lr_scheduler.step(epoch + 1, validate(model)["loss"])
            run(model, opt, lr_scheduler, lrs, start_epoch=epoch + 1, resume_protocol=False,
                sched_on_updates=not t_in_epochs)
        assert lrs == full, (epoch, batch)
        assert all(torch.equal(a, b) for a, b in zip(model.parameters(), final)), (epoch, batch)


# ------------------------------------------------------------------- errors
def test_state_of_the_other_step_unit_is_an_error():
    _, opt = make_run()
    by_updates = Scheduler(opt, lk.cosine(10)).state_dict()
    with pytest.raises(lk.SpecError, match=r"saved with t_in_epochs=False, but this scheduler has t_in_epochs=True"):
        Scheduler(opt, lk.cosine(10), t_in_epochs=True).load_state_dict(by_updates)
    with pytest.raises(lk.SpecError, match=r"^Scheduler.load_state_dict\(\): state_dict must be a dict from "
                                           r"lrkit.timm.Scheduler.state_dict\(\)"):
        Scheduler(opt, lk.cosine(10)).load_state_dict({k: v for k, v in by_updates.items() if k != "t_in_epochs"})


@pytest.mark.parametrize("kwargs, message", [
    ({"t_in_epochs": 1}, r"t_in_epochs must be True or False; got t_in_epochs=1$"),
    ({"t_in_epochs": True, "steps_per_epoch": 10}, r"steps_per_epoch must be None with t_in_epochs=True"),
    ({"total_steps": -1}, r"total_steps must be > 0; got total_steps=-1$"),
    ({"plateau": "yes"}, r"plateau must be an lk.Plateau or None; got plateau='yes'$"),
])
def test_bad_arguments(kwargs, message):
    _, opt = make_run()
    with pytest.raises(lk.SpecError, match=r"^Scheduler\(\): " + message):
        Scheduler(opt, lk.cosine(10), **kwargs)


def test_bad_counts():
    _, opt = make_run()
    lr_scheduler = Scheduler(opt, lk.cosine(10))
    with pytest.raises(lk.SpecError, match=r"^Scheduler.step_update\(\): num_updates must be a whole number >= 0; "
                                           r"got num_updates=-1$"):
        lr_scheduler.step_update(-1)
    with pytest.raises(lk.SpecError, match=r"^Scheduler.step\(\): epoch must be a whole number >= 0; got epoch=1.5$"):
        lr_scheduler.step(1.5)
    assert math.isclose(opt.param_groups[0]["lr"], BASES[0])


def test_needs_no_timm_and_names():
    import sys

    assert "timm" not in sys.modules
    assert lrkit.timm.__all__ == ["Scheduler"]
    _, opt = make_run()
    assert repr(Scheduler(opt, "cosine(10)")) == ("lrkit.timm.Scheduler(optimizer=SGD (2 groups), "
                                                  "schedule={lr: cosine(10)}, step=0, t_in_epochs=False)")
