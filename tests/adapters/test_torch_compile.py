"""A torch.compile'd optimizer.step is not recompiled as lrkit changes lr and beta1.

Graphs are counted with dynamo's CompileCounterWithBackend on "aot_eager"
(the same guards as inductor, without code generation, so the test is fast).
torch's own OneCycleLR with cycle_momentum replaces the beta1 tensor by a
float and recompiles on every step: that contrast is its own test.
"""

from __future__ import annotations

import logging

import pytest
import torch
from torch._dynamo.testing import CompileCounterWithBackend

import lrkit as lk
from lrkit.torch import Scheduler

STEPS = 8

# dynamo itself trips over torch.jit's deprecation while tracing Adam (torch-internal, not lrkit)
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")]


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    torch._logging.set_logs(dynamo=logging.ERROR)  # dynamo logs a profiler note on the first trace
    yield
    torch._dynamo.reset()
    torch._logging.set_logs()


def adam_with_tensor_hyperparameters():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    betas = (torch.tensor(0.95), torch.tensor(0.999))
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.01), betas=betas, foreach=False)
    return model, opt


def train(model, opt, sched, compiled_step, steps=STEPS - 1):
    seen = []
    for _ in range(steps):
        model(torch.randn(8, 4)).sum().backward()
        compiled_step()
        opt.zero_grad()
        if sched is not None:
            sched.step()
        g = opt.param_groups[0]
        seen.append((float(g["lr"]), float(g["betas"][0])))
    return seen


def one_cycle_plan():
    return {"lr": lk.one_cycle(STEPS), "beta1": lk.interpolate([(0, 1.0), (2, 0.9), (STEPS - 1, 1.0)])}


def test_lrkit_lr_and_beta1_changes_compile_once():
    model, opt = adam_with_tensor_hyperparameters()
    sched = Scheduler(opt, one_cycle_plan())
    counter = CompileCounterWithBackend("aot_eager")
    step = torch.compile(opt.step, backend=counter)
    seen = train(model, opt, sched, step)
    assert len(set(seen)) == len(seen)  # lr and beta1 changed on every step
    assert counter.frame_count == 1


def test_auto_step_inside_a_compiled_step_compiles_once():
    model, opt = adam_with_tensor_hyperparameters()
    plan = one_cycle_plan()
    sched = Scheduler(opt, plan, auto_step=True)
    counter = CompileCounterWithBackend("aot_eager")
    step = torch.compile(opt.step, backend=counter)
    seen = train(model, opt, None, step)
    assert sched.last_epoch == STEPS - 1
    assert seen[-1][0] == torch.tensor(torch.tensor(0.01).item() * plan["lr"](STEPS - 1)).item()
    assert counter.frame_count == 1


def test_known_difference_torch_one_cycle_recompiles_every_step():
    model, opt = adam_with_tensor_hyperparameters()
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=STEPS, cycle_momentum=True)
    counter = CompileCounterWithBackend("aot_eager")
    step = torch.compile(opt.step, backend=counter)
    train(model, opt, sched, step)
    assert isinstance(opt.param_groups[0]["betas"][0], float)  # the tensor was replaced
    assert counter.frame_count >= STEPS - 3
