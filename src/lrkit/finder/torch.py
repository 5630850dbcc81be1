"""The range test for a torch model and optimizer, leaving both as they were.

``find_lr`` (also at ``lrkit.torch.find_lr``) trains ``model`` with
``optimizer`` on batches of ``data`` while the lr sweeps from ``start`` to
``end`` (:func:`lrkit.finder.range_test`), then puts everything back.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

from ..checks import fail, number
from ..errors import MissingDependencyError, SpecError
from .core import check_args, run_sweep
from .result import RangeTestResult

try:
    import torch
except ImportError:  # pragma: no cover - exercised without torch only
    raise MissingDependencyError("torch", "torch") from None

__all__ = ["find_lr"]

_FN = "find_lr"


class _OnCpu:
    """A tensor copied to the CPU, with the device it goes back to."""

    __slots__ = ("device", "tensor")

    def __init__(self, tensor, device):
        self.tensor, self.device = tensor, device


def _rebuild(seq, items):
    return type(seq)(*items) if hasattr(seq, "_fields") else type(seq)(items)


def _to_cpu(obj: Any) -> Any:
    """A deep copy with every tensor cloned to the CPU."""
    if isinstance(obj, torch.Tensor):
        return _OnCpu(obj.detach().to("cpu", copy=True), obj.device)
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return _rebuild(obj, [_to_cpu(v) for v in obj])
    return copy.deepcopy(obj)


def _back(obj: Any) -> Any:
    """A fresh copy of what ``_to_cpu`` saved, tensors on their devices again."""
    if isinstance(obj, _OnCpu):
        return obj.tensor.to(obj.device, copy=True)
    if isinstance(obj, dict):
        return {k: _back(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return _rebuild(obj, [_back(v) for v in obj])
    return copy.deepcopy(obj)


def _put(container: dict, key: Any, saved: Any) -> None:
    """Restore ``container[key]`` from ``saved``, in place when it is a tensor of the same kind."""
    now = container.get(key)
    value = _back(saved)
    if isinstance(now, torch.Tensor) and isinstance(value, torch.Tensor) and now.shape == value.shape \
            and now.dtype == value.dtype and now.device == value.device:
        with torch.no_grad():
            now.copy_(value)
    else:
        container[key] = value


class _Snapshot:
    """Everything a training step can change: parameters, buffers, gradients,
    train/eval flags, optimizer state and hyperparameters, a GradScaler and
    the torch random number generators; copied to the CPU, put back exactly."""

    def __init__(self, model, optimizer, scaler):
        self.model, self.optimizer, self.scaler = model, optimizer, scaler
        self.tensors = {name: _to_cpu(t) for name, t in self._named_tensors()}
        self.grads = {name: None if p.grad is None else _to_cpu(p.grad) for name, p in self._named_params()}
        self.training = {name: m.training for name, m in model.named_modules(remove_duplicate=False)}
        self.extra = {name: copy.deepcopy(m.get_extra_state()) for name, m in model.named_modules()
                      if type(m).get_extra_state is not torch.nn.Module.get_extra_state}
        self.state = {p: _to_cpu(dict(s)) for p, s in optimizer.state.items()}
        self.groups = [_to_cpu({k: v for k, v in g.items() if k != "params"}) for g in optimizer.param_groups]
        self.scaler_state = copy.deepcopy(scaler.state_dict()) if scaler is not None else None
        self.rng = torch.random.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None

    def _named_params(self):
        """The model's parameters, then any other tensor the optimizer updates."""
        yield from (("p:" + n, t) for n, t in self.model.named_parameters(remove_duplicate=False))
        own = {id(t) for t in self.model.parameters()}
        others = (t for g in self.optimizer.param_groups for t in g["params"] if id(t) not in own)
        yield from ((f"o:{i}", t) for i, t in enumerate(others))

    def _named_tensors(self):
        yield from self._named_params()
        yield from (("b:" + n, t) for n, t in self.model.named_buffers(remove_duplicate=False))

    def restore(self) -> None:
        """Put everything back as it was copied, tensors in place (references held elsewhere stay valid)."""
        self._restore_model()
        self._restore_optimizer()
        if self.scaler is not None:
            self.scaler.load_state_dict(copy.deepcopy(self.scaler_state))
        torch.random.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)

    def _restore_model(self) -> None:
        with torch.no_grad():
            for name, t in self._named_tensors():
                t.copy_(_back(self.tensors[name]))
        for name, p in self._named_params():
            _put_grad(p, self.grads[name])
        for name, m in self.model.named_modules(remove_duplicate=False):
            m.training = self.training[name]
        modules = dict(self.model.named_modules())
        for name, extra in self.extra.items():
            modules[name].set_extra_state(copy.deepcopy(extra))

    def _restore_optimizer(self) -> None:
        opt = self.optimizer
        for p in [p for p in opt.state if p not in self.state]:
            del opt.state[p]
        for p, saved in self.state.items():
            _put_all(opt.state[p], saved)
        for group, saved in zip(opt.param_groups, self.groups):
            _put_all(group, saved, keep=frozenset({"params"}))


def _put_all(container: dict, saved: dict, keep: frozenset[str] = frozenset()) -> None:
    """``container`` made to hold exactly ``saved`` (and its keys in ``keep``), tensors restored in place."""
    for k in [k for k in container if k not in keep and k not in saved]:
        del container[k]
    for k, v in saved.items():
        _put(container, k, v)


def _put_grad(p, saved: Any) -> None:
    """Restore ``p.grad`` from ``saved`` (None: no gradient), in place when it can be."""
    if saved is None:
        p.grad = None
        return
    holder = {"grad": p.grad}
    _put(holder, "grad", saved)
    if holder["grad"] is not p.grad:
        p.grad = holder["grad"]


def _move(batch: Any, device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _move(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return _rebuild(batch, [_move(v, device) for v in batch])
    return batch


def _batches(data: Iterable):
    """Cycle through ``data``, starting it again when it runs out."""
    for round_ in itertools.count():
        n = 0
        for batch in data:
            n += 1
            yield batch
        if n == 0:
            what = "yielded no batch" if round_ == 0 else \
                "ran out and gave nothing when iterated again (a generator?); pass a list or a DataLoader"
            raise SpecError(f"{_FN}(): data must yield batches again and again; it {what}")


def _set_lr(groups: list[dict], ratios: list[float], lr: float) -> None:
    for g, r in zip(groups, ratios):
        if isinstance(g["lr"], torch.Tensor):
            g["lr"].fill_(lr * r)
        else:
            g["lr"] = lr * r


def _check_training(model, optimizer, loss_fn, train_step) -> None:
    """What ``find_lr`` trains: a module, an optimizer, and a loss_fn or a train_step."""
    if not isinstance(model, torch.nn.Module):
        raise fail(_FN, "model", "a torch.nn.Module", model)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise fail(_FN, "optimizer", "a torch.optim.Optimizer", optimizer)
    if train_step is None and not callable(loss_fn):
        raise fail(_FN, "loss_fn", "a callable loss_fn(output, target) (or pass train_step=)", loss_fn)
    if train_step is not None and not callable(train_step):
        raise fail(_FN, "train_step", "a callable train_step(model, batch) -> loss, or None", train_step)


def _check_options(accumulate, scaler, autocast, data, callback) -> None:
    """How ``find_lr`` trains: batches per step, a GradScaler, an autocast dtype, the data, a callback."""
    if isinstance(accumulate, bool) or not isinstance(accumulate, int):
        raise fail(_FN, "accumulate", "a whole number >= 1", accumulate)
    number(_FN, "accumulate", accumulate, ge=1)
    if scaler is not None and not all(hasattr(scaler, a) for a in ("scale", "step", "update", "state_dict")):
        raise fail(_FN, "scaler", "a torch.amp.GradScaler or None", scaler)
    if autocast is not None and not isinstance(autocast, torch.dtype):
        raise fail(_FN, "autocast", "a torch dtype (e.g. torch.bfloat16) or None", autocast)
    if not hasattr(data, "__iter__"):
        raise fail(_FN, "data", "an iterable of batches (a DataLoader, a list)", data)
    if callback is not None and not callable(callback):
        raise fail(_FN, "callback", "a callable callback(i, lr, loss, smoothed) or None", callback)


def _device(model, device) -> torch.device:
    """Where batches go: ``device``, or the device of the model's first parameter."""
    if device is None:
        device = next(iter(model.parameters()), torch.empty(0)).device
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise fail(_FN, "device", "a torch device (e.g. 'cpu', 'cuda:0') or None", device) from None


def find_lr(model, optimizer, loss_fn: Callable | None, data: Iterable, start: float = 1e-7,
            end: float = 10.0, steps: int = 100, mode: str = "exp", smooth: float = 0.98,
            diverge: float = 4.0, *, train_step: Callable | None = None, accumulate: int = 1,
            scaler=None, autocast=None, device=None,
            callback: Callable[[int, float, float, float], Any] | None = None) -> RangeTestResult:
    """Learning-rate range test for a torch ``model`` and ``optimizer``.

    Each of the ``steps`` sweep steps sets the lr, takes ``accumulate``
    batches from ``data`` (restarting it when it runs out), computes the loss
    ``loss_fn(model(x), y)`` of each ``(x, y)`` batch (or ``train_step(model,
    batch) -> loss`` for any other batch), back-propagates ``loss /
    accumulate`` (through ``scaler.scale`` when a ``GradScaler`` is given) and
    takes one optimizer step. The recorded loss is the mean over the batches.
    The model is in train mode during the sweep.

    Per-group lrs keep their ratios: group ``g`` gets ``lr * lr_g / lr_0``,
    ``lr_0`` the first group's lr when ``find_lr`` is called (all groups get
    ``lr`` if ``lr_0`` is 0); the reported ``lrs`` are the first group's.

    Before the sweep, the parameters (the model's and any other tensor the
    optimizer updates), buffers, gradients, train/eval flags, optimizer state
    (momenta, Adam moments, step counts) and hyperparameters, the scaler and
    the torch RNG states are copied to the CPU (no second copy on the GPU);
    afterwards, whether the sweep ran through, diverged or raised, they are
    put back bit for bit, tensors in place, so references held elsewhere (a
    compiled step, a scheduler) stay valid. Optimizers whose ``step`` needs a
    closure (LBFGS) are not supported.

    ``device``: where batches are moved (default: the device of the model's
    first parameter). ``autocast``: a dtype such as ``torch.bfloat16`` to run
    the forward pass under ``torch.autocast``. Other arguments and the result:
    :func:`lrkit.finder.range_test`.

    >>> import torch, lrkit.finder.torch as ft
    >>> torch.manual_seed(0); x = torch.randn(256, 4); y = x @ torch.tensor([1., -2., 3., .5])
    <torch._C.Generator object at ...>
    >>> model = torch.nn.Linear(4, 1); opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> before = [p.clone() for p in model.parameters()]
    >>> batches = [(x[i:i + 32], y[i:i + 32, None]) for i in range(0, 256, 32)]
    >>> r = ft.find_lr(model, opt, torch.nn.functional.mse_loss, batches, start=1e-4, end=10)
    >>> all(torch.equal(a, b) for a, b in zip(before, model.parameters())), opt.param_groups[0]["lr"]
    (True, 0.1)
    >>> 0.01 < r.suggestion < 1.0
    True
    """
    sweep = check_args(_FN, start, end, steps, mode, smooth, diverge)
    _check_training(model, optimizer, loss_fn, train_step)
    _check_options(accumulate, scaler, autocast, data, callback)
    device = _device(model, device)
    groups = optimizer.param_groups
    lr0 = float(groups[0]["lr"])
    ratios = [float(g["lr"]) / lr0 if lr0 > 0 else 1.0 for g in groups]

    def forward(batch) -> torch.Tensor:
        if train_step is not None:
            return train_step(model, batch)
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise SpecError(f"{_FN}(): each batch must be an (inputs, targets) pair for loss_fn; got a "
                            f"{type(batch).__name__}; pass train_step=lambda model, batch: loss")
        assert loss_fn is not None  # checked above: a train_step or a loss_fn
        return loss_fn(model(batch[0]), batch[1])

    def one_step(lr: float) -> float:
        _set_lr(groups, ratios, lr)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for _ in range(accumulate):
            batch = _move(next(stream), device)
            with torch.autocast(device.type, dtype=autocast) if autocast is not None else nullcontext():
                loss = forward(batch)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                what = f"a tensor of shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) \
                    else f"a {type(loss).__name__}"
                raise SpecError(f"{_FN}(): the loss (of loss_fn or train_step) must be a one-element tensor "
                                f"that backward() can start from; got {what}")
            part = loss.float() / accumulate
            (scaler.scale(part) if scaler is not None else part).backward()
            total += float(loss.detach())
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        elif math.isfinite(total):
            optimizer.step()
        return total / accumulate

    snapshot = _Snapshot(model, optimizer, scaler)
    stream = _batches(data)
    try:
        model.train()
        with torch.enable_grad():
            return run_sweep(one_step, *sweep, callback=callback)
    finally:
        stream.close()
        snapshot.restore()
