"""lrkit.torch.Scheduler as torch and its callers see it (issue 21): it runs ``LRScheduler.__init__``,
so every attribute torch, Lightning, the HF Trainer / accelerate and timm's loop read is torch's own,
and it still leaves the optimizer as it found it but for the scheduled values."""

from __future__ import annotations

import ast
import pathlib
import pickle
import warnings

import pytest
import torch
from test_torch_scheduler import sgd, train_step
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, StepLR

import lrkit as lk
import lrkit.timm
from lrkit.torch import Scheduler

# What each caller reads or writes on a scheduler, from its source (torch 2.13, lightning 2.6,
# transformers 5, accelerate 1.16): torch's LRScheduler (step, get_last_lr, state_dict, _initial_step),
# Lightning (_validate_scheduler_api, LearningRateMonitor, checkpoint connector), the HF Trainer
# (get_last_lr, state_dict), accelerate's AcceleratedScheduler (step, _step_count, get_lr).
READ = {
    "torch": ("optimizer", "last_epoch", "base_lrs", "_step_count", "_last_lr", "_is_initial",
              "_get_lr_called_within_step", "get_last_lr", "get_lr", "step", "state_dict", "load_state_dict"),
    "lightning": ("optimizer", "step", "state_dict", "load_state_dict"),
    "hf trainer": ("get_last_lr", "step", "state_dict", "load_state_dict"),
    "accelerate": ("step", "_step_count", "get_last_lr", "get_lr", "state_dict", "load_state_dict"),
}


def test_it_runs_torchs_own_init(monkeypatch):
    seen = []
    original = LRScheduler.__init__

    def spy(self, optimizer, *args, **kwargs):
        seen.append((type(self).__name__, optimizer))
        original(self, optimizer, *args, **kwargs)

    monkeypatch.setattr(LRScheduler, "__init__", spy)
    opt = sgd([0.1])
    Scheduler(opt, lk.cosine(10))
    assert seen == [("Scheduler", opt)]


def test_an_older_torchs_marks_are_taken_back_too(monkeypatch):
    """torch 2.2's __init__ (the oldest lrkit supports) marked the optimizer differently: a
    ``_with_counter`` wrapper counting into ``optimizer._step_count``, and set ``verbose`` on the
    scheduler. Emulated here: its attributes arrive on the scheduler, its marks leave the optimizer."""

    def torch22_init(self, optimizer, last_epoch=-1, verbose="deprecated"):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        step = optimizer.step

        def counted(*args, **kwargs):
            optimizer._step_count += 1
            return step(*args, **kwargs)

        counted._with_counter = True
        optimizer.step = counted
        self.verbose = False
        optimizer._step_count = 0
        self._step_count = 0
        self.step()

    monkeypatch.setattr(LRScheduler, "__init__", torch22_init)
    opt = sgd([0.3, 0.1])
    keys, attrs = [set(g) for g in opt.param_groups], dict(vars(opt))
    sched = Scheduler(opt, lk.warmup(4, start=0.5))
    assert [set(g) for g in opt.param_groups] == keys and vars(opt) == attrs
    assert (sched.verbose, sched._step_count, sched.last_epoch, sched.base_lrs) == (False, 1, 0, [0.3, 0.1])
    assert [g["lr"] for g in opt.param_groups] == [0.15, 0.05]


def test_every_attribute_torchs_init_sets_is_there():
    """Whatever this torch's __init__ sets on a stock scheduler, ours has (with torch's meaning where it has one)."""
    stock = vars(LambdaLR(sgd([0.1]), lambda t: 1.0)).keys() - {"lr_lambdas"}
    sched = Scheduler(sgd([0.1, 0.2]), lk.cosine(10))
    assert all(hasattr(sched, name) for name in stock), sorted(n for n in stock if not hasattr(sched, n))
    for caller, names in READ.items():
        assert all(hasattr(sched, name) for name in names), (caller, [n for n in names if not hasattr(sched, n)])
    assert (sched.optimizer, sched.last_epoch, sched.base_lrs, sched._step_count) == (sched.optimizer, 0, [0.1, 0.2], 1)
    assert sched._last_lr == sched.get_last_lr() == [0.1, 0.2] and sched._is_initial is False


def test_step_count_is_torchs():
    """_step_count counts step() calls, the first one inside __init__ included, as torch's own schedulers do."""
    ours, theirs = Scheduler(sgd([0.1]), lk.step(2, gamma=0.5)), StepLR(sgd([0.1]), 2, gamma=0.5)
    for _ in range(5):
        assert ours._step_count == theirs._step_count
        for s in (ours, theirs):
            train_step(s.optimizer)
            s.step()
    assert ours._step_count == theirs._step_count == 6
    assert ours.get_last_lr() == theirs.get_last_lr() == [0.1 * 0.5**2]


def test_the_optimizer_keeps_what_an_earlier_torch_scheduler_put_on_it():
    """torch's marks that were there before (initial_lr, the step wrapper) stay; nothing new is added."""
    opt = sgd([0.4, 0.2])
    StepLR(opt, 1, gamma=0.5)
    train_step(opt)
    wrapped = opt.step
    before = [dict(g) for g in opt.param_groups]
    assert [g["initial_lr"] for g in before] == [0.4, 0.2] and [g["lr"] for g in before] == [0.4, 0.2]
    sched = Scheduler(opt, lk.linear(4))
    assert opt.step is wrapped and getattr(opt, "_opt_called", None) is True
    assert [dict(g) for g in opt.param_groups] == before  # t = 0: linear(4) is 1.0
    assert sched.base_lrs == [0.4, 0.2] and sched.bases == [{"lr": 0.4}, {"lr": 0.2}]


def test_the_optimizer_is_untouched_with_tensor_lrs_and_several_params():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.ones(2))], lr=torch.tensor(0.01),
                           betas=(torch.tensor(0.9), torch.tensor(0.999)))
    keys, attrs, lr = set(opt.param_groups[0]), set(vars(opt)), opt.param_groups[0]["lr"]
    Scheduler(opt, {"lr": lk.warmup(4, start=0.5), "beta1": lk.constant(0.9)}, plateau=lk.Plateau())
    assert set(opt.param_groups[0]) == keys and set(vars(opt)) == attrs and "step" not in vars(opt)
    assert opt.param_groups[0]["lr"] is lr and lr.item() == pytest.approx(0.005)


def test_a_torch_scheduler_built_after_ours_works_as_usual():
    opt = sgd([0.1], momentum=0.9)
    ours = Scheduler(opt, lk.linear(10), param="momentum")
    theirs = StepLR(opt, 1, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch's call-order checks pass: its wrapper is in place
        for _ in range(3):
            train_step(opt)
            theirs.step()
            ours.step()
    assert opt.param_groups[0]["lr"] == 0.1 * 0.5**3 and opt.param_groups[0]["initial_lr"] == 0.1
    assert ours.last_epoch == 3 and opt.param_groups[0]["momentum"] == 0.9 * lk.linear(10)(3)


def test_set_step_is_the_public_way_to_move_t():
    opt = sgd([0.2])
    sched = Scheduler(opt, lk.linear(10), plateau=lk.Plateau(patience=0, factor=0.5))
    sched.set_step(7)
    assert (sched.last_epoch, opt.param_groups[0]["lr"], sched._step_count) == (7, 0.2 * lk.linear(10)(7), 1)
    sched.observe(1.0)
    sched.observe(2.0)  # a bad epoch with patience 0: halved
    sched.set_step(2)
    assert opt.param_groups[0]["lr"] == 0.2 * 0.8 * 0.5
    with pytest.raises(lk.SpecError, match=r"^Scheduler.set_step\(\): t must be a whole number >= 0; got t=-1$"):
        sched.set_step(-1)


def test_timm_adapter_uses_only_public_members_of_the_torch_scheduler():
    source = pathlib.Path(lrkit.timm.__file__).read_text()
    private = sorted({node.attr for node in ast.walk(ast.parse(source))
                      if isinstance(node, ast.Attribute) and node.attr.startswith("_")
                      and not node.attr.startswith("__")})
    assert private == []


def test_timm_step_names_itself_for_a_bad_metric():
    sched = lrkit.timm.Scheduler(sgd([0.1]), lk.cosine(10), plateau=lk.Plateau())
    with pytest.raises(lk.SpecError, match=r"^Scheduler.step\(\): metric must be a number; got metric='low'$"):
        sched.step(1, "low")


def test_a_scheduler_pickled_before_it_ran_torchs_init_loads_with_a_step_count():
    sched = Scheduler(sgd([0.1]), lk.cosine(10))
    for _ in range(3):
        sched.step()
    state = sched.__getstate__()
    del state["_step_count"], state["_is_initial"]  # what an lrkit 0.2 pickle holds: no torch attributes,
    state.update(_slots=[(0, "lr", -1, 0, 0.1, False)], _uniq=[lk.cosine(10)], _eps=[])  # the old unnamed plan
    old = Scheduler.__new__(Scheduler)
    old.__setstate__(state)
    assert old._step_count == 4 == sched._step_count
    back = pickle.loads(pickle.dumps(old))
    back.step()
    assert back.get_last_lr() == [0.1 * lk.cosine(10)(4)]


def test_accelerates_scheduler_wrapper_counts_micro_steps_on_it():
    """accelerate's AcceleratedScheduler adds 1 to scheduler._step_count on a gradient-accumulation
    micro-step when its gradient state says adjust_scheduler (an AttributeError before lrkit ran
    torch's __init__). The gradient state is accelerate's process-wide singleton: a stand-in here."""
    from types import SimpleNamespace

    from accelerate.scheduler import AcceleratedScheduler

    opt = sgd([0.1])
    sched = Scheduler(opt, lk.linear(4))
    wrapper = AcceleratedScheduler(sched, opt)
    wrapper.gradient_state = SimpleNamespace(sync_gradients=False, adjust_scheduler=True)
    wrapper.step()
    assert (sched._step_count, sched.last_epoch, wrapper.get_last_lr()) == (2, 0, [0.1])


@pytest.mark.slow
def test_accelerate_gradient_accumulation_steps_it_by_real_updates():
    """Prepared by a real Accelerator with gradient accumulation: one schedule step per real update."""
    from accelerate import Accelerator

    accelerator = Accelerator(gradient_accumulation_steps=2, cpu=True)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = lk.warmup(2) >> lk.cosine(6)
    model, opt, sched = accelerator.prepare(model, opt, Scheduler(opt, schedule))
    lrs = []
    for i in range(8):
        with accelerator.accumulate(model):
            accelerator.backward(model(torch.full((4, 3), float(i))).pow(2).mean())
            opt.step()
            sched.step()
            opt.zero_grad()
        lrs.append(opt.param_groups[0]["lr"])
    assert sched.scheduler.last_epoch == 4 and sched.scheduler._step_count == 5
    assert lrs == [0.1 * schedule(t) for t in (0, 1, 1, 2, 2, 3, 3, 4)]
