"""find_lr with real torch models and optimizers: exact restore, groups, accumulation, AMP."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import lrkit as lk
from lrkit.finder.torch import find_lr

torch.set_num_threads(1)


def bn_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))


def batches(n=6, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, 8, generator=g), torch.randint(0, 3, (size,), generator=g)) for _ in range(n)]


def warm(model, opt, data, steps=5):
    """Some real training first, so there are momenta, moments, step counts and BN statistics."""
    model.train()
    for x, y in data[:steps]:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def snapshot(model, opt, scaler=None):
    """An independent deep copy of everything the finder may touch."""
    return {
        "params": {k: v.detach().clone() for k, v in model.named_parameters()},
        "buffers": {k: v.detach().clone() for k, v in model.named_buffers()},
        "grads": {k: None if v.grad is None else v.grad.clone() for k, v in model.named_parameters()},
        "training": {k: m.training for k, m in model.named_modules()},
        "opt": copy.deepcopy(opt.state_dict()),
        "scaler": copy.deepcopy(scaler.state_dict()) if scaler is not None else None,
        "rng": torch.random.get_rng_state(),
    }


def same(a, b) -> bool:
    """Bit-identical nested values (tensors compared by dtype, shape and bytes)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


def assert_restored(before, model, opt, scaler=None):
    after = snapshot(model, opt, scaler)
    for key in before:
        assert same(before[key], after[key]), f"{key} changed"


OPTIMIZERS = {
    "sgd-momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01),
    "adam-amsgrad": lambda p: torch.optim.Adam(p, lr=1e-3, amsgrad=True),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=1e-3, momentum=0.5),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_exact_restore_after_a_full_sweep(name):
    model = bn_model()
    opt = OPTIMIZERS[name](model.parameters())
    data = batches()
    warm(model, opt, data)
    nn.functional.cross_entropy(model(data[0][0]), data[0][1]).backward()   # leave a gradient too
    model.eval()
    before = snapshot(model, opt)
    params = [id(p) for p in model.parameters()]
    state_ids = {k: id(v) for k, v in opt.state[next(model.parameters())].items()}
    r = find_lr(model, opt, nn.functional.cross_entropy, data, start=1e-5, end=1.0, steps=30)
    assert len(r.lrs) > 5
    assert_restored(before, model, opt)
    assert [id(p) for p in model.parameters()] == params                    # same tensors, in place
    assert {k: id(v) for k, v in opt.state[next(model.parameters())].items()} == state_ids
    assert not model.training


def test_exact_restore_after_divergence_and_nan():
    model = bn_model()
    opt = OPTIMIZERS["sgd-momentum"](model.parameters())
    data = batches()
    warm(model, opt, data)
    before = snapshot(model, opt)
    r = find_lr(model, opt, nn.functional.cross_entropy, data, start=1e-3, end=1e6, steps=60)
    assert r.stopped_early and len(r.lrs) < 60
    assert_restored(before, model, opt)


def test_exact_restore_on_a_fresh_optimizer_leaves_no_state_behind():
    model = bn_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = snapshot(model, opt)
    find_lr(model, opt, nn.functional.cross_entropy, batches(), start=1e-5, end=1e-1, steps=10)
    assert len(opt.state) == 0
    assert all(p.grad is None for p in model.parameters())
    assert_restored(before, model, opt)


def test_exact_restore_when_the_train_step_raises_mid_sweep():
    model = bn_model()
    opt = OPTIMIZERS["adamw"](model.parameters())
    data = batches()
    warm(model, opt, data)
    before = snapshot(model, opt)
    calls = []

    def step(m, batch):
        calls.append(1)
        if len(calls) == 7:
            raise RuntimeError("boom at step 7")
        return nn.functional.cross_entropy(m(batch[0]), batch[1])

    with pytest.raises(RuntimeError, match="boom at step 7"):
        find_lr(model, opt, None, data, steps=20, train_step=step)
    assert len(calls) == 7
    assert_restored(before, model, opt)


def test_per_group_lrs_keep_their_ratios_and_are_restored():
    model = bn_model()
    opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.01},
                           {"params": model[4].parameters(), "lr": 0.1},
                           {"params": model[1].parameters(), "lr": 0.0}], lr=0.5, momentum=0.9)
    seen = []

    def step(m, batch):
        seen.append([g["lr"] for g in opt.param_groups])
        return nn.functional.cross_entropy(m(batch[0]), batch[1])

    r = find_lr(model, opt, None, batches(), start=1e-4, end=1.0, steps=12, train_step=step)
    assert [s[0] for s in seen] == r.lrs.tolist() == lk.finder.sweep_lrs(1e-4, 1.0, 12).tolist()
    for lr0, lr1, lr2 in seen:
        assert lr1 == pytest.approx(10 * lr0, rel=1e-12) and lr2 == 0.0
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.1, 0.0]


def test_tensor_lr_is_set_and_restored_in_place():
    model = bn_model()
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(1e-3))
    lr_tensor = opt.param_groups[0]["lr"]
    seen = []

    def step(m, batch):
        seen.append(float(opt.param_groups[0]["lr"]))
        assert opt.param_groups[0]["lr"] is lr_tensor
        return nn.functional.cross_entropy(m(batch[0]), batch[1])

    find_lr(model, opt, None, batches(), start=1e-4, end=1e-2, steps=5, train_step=step)
    assert seen == pytest.approx(lk.finder.sweep_lrs(1e-4, 1e-2, 5).tolist(), rel=1e-6)
    assert opt.param_groups[0]["lr"] is lr_tensor and float(lr_tensor) == pytest.approx(1e-3)


def test_gradient_accumulation_matches_the_same_batches_taken_whole():
    torch.manual_seed(0)
    model_a = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    model_b = copy.deepcopy(model_a)
    halves = batches(n=8, size=8)
    whole = [(torch.cat([halves[i][0], halves[i + 1][0]]), torch.cat([halves[i][1], halves[i + 1][1]]))
             for i in range(0, 8, 2)]
    ra = find_lr(model_a, torch.optim.SGD(model_a.parameters(), lr=0.1), nn.functional.cross_entropy,
                 halves, start=1e-3, end=1.0, steps=12, accumulate=2)
    rb = find_lr(model_b, torch.optim.SGD(model_b.parameters(), lr=0.1), nn.functional.cross_entropy,
                 whole, start=1e-3, end=1.0, steps=12)
    torch.testing.assert_close(torch.tensor(ra.losses), torch.tensor(rb.losses), rtol=1e-5, atol=1e-6)


def test_data_restarts_when_exhausted_and_a_spent_generator_is_an_error():
    model = bn_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    used = []
    data = batches(n=3)

    def step(m, batch):
        used.append(next(i for i, b in enumerate(data) if b[0] is batch[0]))
        return nn.functional.cross_entropy(m(batch[0]), batch[1])

    find_lr(model, opt, None, data, start=1e-5, end=1e-3, steps=8, train_step=step)
    assert used == [0, 1, 2, 0, 1, 2, 0, 1]
    before = snapshot(model, opt)
    with pytest.raises(lk.SpecError, match=r"^find_lr\(\): data must yield batches again and again; it ran out"):
        find_lr(model, opt, nn.functional.cross_entropy, (b for b in data), start=1e-5, end=1e-3, steps=8)
    assert_restored(before, model, opt)


def test_a_dataloader_with_dict_batches_and_a_custom_step():
    xs, ys = torch.randn(64, 8), torch.randint(0, 3, (64,))
    ds = [{"x": x, "label": y} for x, y in zip(xs, ys)]
    loader = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    model = bn_model()
    opt = torch.optim.AdamW(model.parameters())
    r = find_lr(model, opt, None, loader, start=1e-5, end=1.0, steps=20,
                train_step=lambda m, b: nn.functional.cross_entropy(m(b["x"]), b["label"]))
    assert len(r.lrs) >= 5 and r.losses[0] == pytest.approx(r.smoothed[0])


def test_amp_with_grad_scaler_and_bfloat16_autocast_restores_the_scaler():
    model = bn_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3)
    data = batches()
    warm(model, opt, data)
    before = snapshot(model, opt, scaler)
    dtypes = []
    model[0].register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    r = find_lr(model, opt, nn.functional.cross_entropy, data, start=1e-4, end=10.0, steps=25,
                scaler=scaler, autocast=torch.bfloat16)
    assert set(dtypes) == {torch.bfloat16}
    assert len(r.lrs) >= 5
    assert_restored(before, model, opt, scaler)
    assert scaler.get_scale() == 2.0 ** 10


@pytest.mark.parametrize("kw, message", [
    ({"model": "m"}, "find_lr(): model must be a torch.nn.Module; got model='m'"),
    ({"optimizer": None}, "find_lr(): optimizer must be a torch.optim.Optimizer; got optimizer=None"),
    ({"loss_fn": None}, ("find_lr(): loss_fn must be a callable loss_fn(output, target) (or pass train_step=); "
                        "got loss_fn=None")),
    ({"accumulate": 0}, "find_lr(): accumulate must be >= 1; got accumulate=0"),
    ({"accumulate": 1.5}, "find_lr(): accumulate must be a whole number >= 1; got accumulate=1.5"),
    ({"steps": 2}, "find_lr(): steps must be >= 5; got steps=2"),
    ({"end": 1e-9}, "find_lr(): end must be > start=1e-07; got end=1e-09"),
    ({"autocast": "bf16"}, ("find_lr(): autocast must be a torch dtype (e.g. torch.bfloat16) or None; "
                           "got autocast='bf16'")),
    ({"data": 3}, "find_lr(): data must be an iterable of batches (a DataLoader, a list); got data=3"),
])
def test_bad_arguments(kw, message):
    model = bn_model()
    args = {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
            "loss_fn": nn.functional.cross_entropy, "data": batches(), **kw}
    with pytest.raises(lk.SpecError) as e:
        find_lr(**args)
    assert str(e.value) == message


def test_a_batch_that_is_not_a_pair_needs_a_train_step():
    model = bn_model()
    with pytest.raises(lk.SpecError, match=r"^find_lr\(\): each batch must be an \(inputs, targets\) pair"):
        find_lr(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.functional.cross_entropy,
                [{"x": torch.randn(4, 8)}], steps=5)


def test_tensors_the_optimizer_updates_outside_the_model_are_restored_too():
    model = bn_model()
    temperature = nn.Parameter(torch.tensor(1.5))
    opt = torch.optim.SGD([{"params": model.parameters()}, {"params": [temperature]}], lr=0.1, momentum=0.9)
    data = batches()
    before, t0 = snapshot(model, opt), temperature.detach().clone()

    def step(m, batch):
        return nn.functional.cross_entropy(m(batch[0]) / temperature, batch[1])

    with torch.no_grad():                       # the sweep turns gradients back on
        find_lr(model, opt, None, data, start=1e-4, end=1.0, steps=15, train_step=step)
    assert torch.equal(temperature.detach(), t0) and temperature.grad is None
    assert_restored(before, model, opt)


def test_the_suggestion_is_the_public_lrkit_torch_find_lr():
    import lrkit.torch

    assert lrkit.torch.find_lr is find_lr
