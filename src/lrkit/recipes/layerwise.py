"""Layer-wise learning rates (layer-wise lr decay, the fine-tuning recipe).

Layers near the output adapt most to a new task; layers near the input hold
general features and should move least. With ``L`` layers, the layer at depth
``d`` from the top (``d = 0`` for the output layer, ``L - 1`` for the first)
gets

    lr_d = lr * decay**d        (0 < decay <= 1)

:func:`layerwise_groups` builds the optimizer's param groups;
:class:`lrkit.torch.Scheduler` then scales every group by the same schedule,
each from its own base (``lr_d * s(t)``), so the ratios hold all run long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..checks import fail, number
from ..errors import MissingDependencyError, SpecError

try:
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise MissingDependencyError("torch", "torch") from exc

__all__ = ["layerwise_groups"]

_FN = "layerwise_groups"


def _default_layers(model: nn.Module) -> list[tuple[str, list]]:
    """Every module that owns parameters itself, in registration (forward) order."""
    out = []
    for name, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False)]
        if own:
            out.append((name or type(module).__name__, own))
    return out


def _given_layers(model: nn.Module, layers: Sequence[Any]) -> list[tuple[str, list]]:
    named = dict(model.named_parameters())
    modules = {id(m): n for n, m in model.named_modules()}
    out = []
    for i, layer in enumerate(layers):
        if isinstance(layer, str):
            params = [p for n, p in named.items() if n == layer or n.startswith(layer + ".")]
            if not params:
                raise SpecError(f"{_FN}(): layers[{i}]={layer!r} names no parameter of the model "
                                f"(names look like {', '.join(list(named)[:3])})")
            out.append((layer, params))
        elif isinstance(layer, nn.Module):
            if id(layer) not in modules:
                raise fail(_FN, f"layers[{i}]", "a submodule of model", type(layer).__name__)
            out.append((modules[id(layer)] or type(layer).__name__, list(layer.parameters())))
        elif isinstance(layer, (list, tuple)) and all(isinstance(p, nn.Parameter) for p in layer):
            out.append((f"layers[{i}]", list(layer)))
        else:
            raise fail(_FN, f"layers[{i}]", "a submodule, a parameter-name prefix or a list of parameters", layer)
    return out


def layerwise_groups(model: nn.Module, lr: float, decay: float, *, layers: Sequence[Any] | None = None,
                     **options: Any) -> list[dict[str, Any]]:
    """Param groups with ``lr * decay**depth``, depth 0 for the layer nearest the output.

    ``layers`` lists the layers from the input to the output: submodules,
    parameter-name prefixes (``"encoder.layer.3"``) or lists of parameters;
    by default, every module that owns parameters, in registration order
    (for ``nn.Sequential`` and most models, the order of the forward pass).
    Every trainable parameter must be in exactly one layer; frozen ones
    (``requires_grad=False``) are left out. ``options`` (``weight_decay=...``,
    ``momentum=...``) are copied into every group. Each group also carries
    ``"name"`` and ``"depth"``.

    >>> import torch, lrkit as lk
    >>> from lrkit.torch import Scheduler
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> groups = layerwise_groups(model, lr=0.1, decay=0.5)
    >>> [(g["name"], g["depth"], g["lr"]) for g in groups]
    [('0', 1, 0.05), ('2', 0, 0.1)]
    >>> opt = torch.optim.SGD(groups, lr=0.1)
    >>> sched = Scheduler(opt, lk.cosine(10))
    >>> for _ in range(5):
    ...     opt.step(); sched.step()
    >>> [round(g["lr"], 6) for g in opt.param_groups]
    [0.025, 0.05]
    """
    if not isinstance(model, nn.Module):
        raise fail(_FN, "model", "a torch.nn.Module", model)
    lr = number(_FN, "lr", lr, gt=0)
    decay = number(_FN, "decay", decay, gt=0, le=1)
    found = _default_layers(model) if layers is None else _given_layers(model, list(layers))
    seen: dict[int, str] = {}
    chosen = []
    for name, params in found:
        mine = []
        for p in params:
            if not p.requires_grad:
                continue
            if id(p) in seen:
                raise SpecError(f"{_FN}(): a parameter of layer {name!r} is also in layer {seen[id(p)]!r}; "
                                "each parameter must be in one layer")
            seen[id(p)] = name
            mine.append(p)
        if mine:
            chosen.append((name, mine))
    missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in seen]
    if missing:
        raise SpecError(f"{_FN}(): layers must cover every trainable parameter; not covered: "
                        f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    if not chosen:
        raise SpecError(f"{_FN}(): the model has no trainable parameter")
    top = len(chosen) - 1
    return [{"params": params, "lr": lr * decay ** (top - i), "name": name, "depth": top - i, **options}
            for i, (name, params) in enumerate(chosen)]
