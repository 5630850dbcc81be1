"""layerwise_groups: lr * decay**depth per layer, ratios kept by the Scheduler, real SGD steps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lrkit as lk
from lrkit.recipes import layerwise_groups
from lrkit.torch import Scheduler


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))


def test_default_layers_in_forward_order_with_geometric_lrs():
    groups = layerwise_groups(_net(), lr=0.1, decay=0.5)
    assert [(g["name"], g["depth"]) for g in groups] == [("0", 2), ("2", 1), ("4", 0)]
    assert [g["lr"] for g in groups] == [0.1 * 0.25, 0.1 * 0.5, 0.1]
    assert all(len(g["params"]) == 2 for g in groups)  # weight and bias


def test_scheduler_keeps_every_group_on_its_own_base():
    model = _net()
    opt = torch.optim.SGD(layerwise_groups(model, lr=0.2, decay=0.7, momentum=0.9), lr=0.2)
    schedule = lk.warmup(5) >> lk.cosine(20)
    sched = Scheduler(opt, schedule)
    bases = [0.2 * 0.7**2, 0.2 * 0.7, 0.2]
    x = torch.randn(16, 4)
    for t in range(25):
        for g, base in zip(opt.param_groups, bases):
            assert g["lr"] == pytest.approx(base * schedule(t), rel=1e-12, abs=1e-15)
            assert g["momentum"] == 0.9
        model(x).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
        sched.step()


def test_a_plain_sgd_step_moves_each_layer_by_its_own_lr():
    model = _net()
    opt = torch.optim.SGD(layerwise_groups(model, lr=0.1, decay=0.1), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    model(torch.randn(5, 4)).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    opt.step()
    lrs = [0.001, 0.001, 0.01, 0.01, 0.1, 0.1]  # weight, bias per layer, input to output
    for p, b, g, lr in zip(model.parameters(), before, grads, lrs):
        torch.testing.assert_close(p.detach(), b - lr * g, rtol=0, atol=1e-7)


def test_explicit_layers_by_prefix_module_or_parameter_list():
    model = _net()
    groups = layerwise_groups(model, lr=1.0, decay=0.5, layers=["0", model[2], list(model[4].parameters())])
    assert [(g["name"], g["lr"]) for g in groups] == [("0", 0.25), ("2", 0.5), ("layers[2]", 1.0)]


def test_frozen_parameters_are_left_out():
    model = _net()
    for p in model[0].parameters():
        p.requires_grad_(False)
    groups = layerwise_groups(model, lr=1.0, decay=0.5)
    assert [(g["name"], g["depth"]) for g in groups] == [("2", 1), ("4", 0)]


def test_nested_models_use_the_modules_that_own_parameters():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.body = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))
            self.head = nn.Linear(4, 2)

    groups = layerwise_groups(Net(), lr=1.0, decay=0.5)
    assert [g["name"] for g in groups] == ["embed", "body.0", "body.2", "head"]
    assert [g["depth"] for g in groups] == [3, 2, 1, 0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.0, decay=0.5), "layerwise_groups(): lr must be > 0; got lr=0"),
    (dict(lr=0.1, decay=1.5), "layerwise_groups(): decay must be <= 1; got decay=1.5"),
    (dict(lr=0.1, decay=0.0), "layerwise_groups(): decay must be > 0; got decay=0"),
    (dict(lr=0.1, decay=0.5, layers=["0", "2"]),
     "layers must cover every trainable parameter; not covered: 4.weight, 4.bias"),
    (dict(lr=0.1, decay=0.5, layers=["0", "0", "2", "4"]), "a parameter of layer '0' is also in layer '0'"),
    (dict(lr=0.1, decay=0.5, layers=["encoder"]), "layers[0]='encoder' names no parameter of the model"),
    (dict(lr=0.1, decay=0.5, layers=[3]),
     "layers[0] must be a submodule, a parameter-name prefix or a list of parameters"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(lk.SpecError) as e:
        layerwise_groups(_net(), **kwargs)
    assert message in str(e.value)


def test_model_must_be_a_module():
    with pytest.raises(lk.SpecError, match="layerwise_groups\\(\\): model must be a torch.nn.Module"):
        layerwise_groups([torch.zeros(2)], lr=0.1, decay=0.5)
