"""The built-in training as one ``train(run)`` function: the lab's own data and models.

``lrkit compare`` without ``--train`` compares schedules with :func:`train`,
exactly as it would a user's function: same protocol, same statistics, same
report. ``run.config`` holds the settings (:data:`DEFAULTS`):

- ``data``: ``digits``, ``mnist1d`` or a ``.npz`` path, loaded with a held-out
  test split (:func:`lrkit.lab.data.load_dataset` with ``test=True``);
- ``model``: ``mlp``, ``cnn1d`` or ``linear`` (:func:`lrkit.lab.models.make_model`,
  initial weights from ``run.seed``);
- ``optimizer`` (``sgd`` with ``momentum``, or ``adamw``), ``batch_size``, ``weight_decay``.

Each run reports the **validation accuracy** as ``val`` after every epoch
(NaN once the validation loss is not finite: a diverged run), with the
validation and training losses, and returns the **test accuracy** (and test
loss). One run trains with a real ``torch.optim`` optimizer and
:class:`lrkit.torch.Scheduler` (:func:`lrkit.lab.train.train`); the local
engine trains many runs at once through :func:`batch` (``torch.func.vmap``,
:func:`lrkit.lab.batched.fit_batched`), which gives the same numbers up to
float rounding, several times faster. Both record the fingerprints ``init``
(the model's initial weights) and ``batches`` (the sample order of every
epoch, :func:`lrkit.lab.batched.epoch_orders` of the seed: what both train on).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..checks import fail, integer, number, one_of, unknown
from .config import BUILTIN_DEFAULTS as DEFAULTS
from .data import Dataset, load_dataset
from .models import MODELS
from .run import Pruned, Run
from .train import RunResult, threads
from .train import steps_per_epoch as _spe

__all__ = ["DEFAULTS", "DEFAULT_LR", "batch", "check_config", "train"]

DEFAULT_LR = {"sgd": 0.1, "adamw": 1e-3}


def check_config(config: dict | None, where: str = "compare") -> dict:
    """The built-in settings, defaults filled in; a bad one is an error naming it.

    >>> check_config({"data": "mnist1d"})["model"]
    'mlp'
    """
    cfg = dict(DEFAULTS)
    for k, v in (config or {}).items():
        if k not in DEFAULTS:
            raise unknown(where, "setting of the built-in training", k, DEFAULTS)
        cfg[k] = v
    if not isinstance(cfg["data"], str) or not cfg["data"]:
        raise fail(where, "data", "'digits', 'mnist1d' or a .npz path", cfg["data"])
    one_of(where, "model", cfg["model"], MODELS)
    one_of(where, "optimizer", cfg["optimizer"], ("sgd", "adamw"))
    cfg["batch_size"] = integer(where, "batch_size", cfg["batch_size"], ge=1)
    cfg["momentum"] = float(number(where, "momentum", cfg["momentum"], ge=0, lt=1))
    cfg["weight_decay"] = float(number(where, "weight_decay", cfg["weight_decay"], ge=0))
    return cfg


def data_of(config: dict) -> Dataset:
    """The data set of the settings, with its test split."""
    return load_dataset(config["data"], test=True)


def steps_per_epoch(config: dict) -> int:
    """``ceil(n_train / batch_size)`` for these settings."""
    return _spe(data_of(config), config["batch_size"])


def _val(loss: float, acc: float) -> float:
    return acc if math.isfinite(loss) else math.nan


def _scores(logits, y) -> dict:
    import torch.nn.functional as F

    loss = F.cross_entropy(logits, y).item()
    acc = (logits.argmax(dim=-1) == y).double().mean().item()
    return {"test": _val(loss, acc), "test_loss": loss}


def _report(run: Run, r: RunResult) -> None:
    """Report the epoch ``r`` has just recorded (the validation accuracy as ``val``, NaN once diverged)."""
    run.report(epoch=r.epochs, val=_val(r.val_loss[-1], r.val_acc[-1]), val_loss=r.val_loss[-1],
               train_loss=r.train_loss[-1], lr=r.lr[-1])


def _fingerprints(run: Run, model: Any, data: Dataset) -> None:
    from .batched import epoch_orders

    run.fingerprint(init=model, batches=epoch_orders(run.seed, len(data.y_train), run.epochs))


def train(run: Run) -> dict:
    """Train the built-in model of ``run.config`` under ``run.schedule`` at ``run.lr`` (module doc)."""
    import torch

    from .models import make_model
    from .train import train as fit_one

    cfg = run.config
    data = data_of(cfg)
    model = make_model(cfg["model"], data.n_features, data.n_classes, seed=run.seed)
    _fingerprints(run, model, data)
    with threads(1):
        fit_one(model, data, run.bind(_spe(data, cfg["batch_size"])), epochs=run.epochs, batch_size=cfg["batch_size"],
                lr=run.lr, optimizer=cfg["optimizer"], seed=run.seed, plateau=run.plateau, momentum=cfg["momentum"],
                weight_decay=cfg["weight_decay"], callback=lambda r: _report(run, r))
        model.eval()
        with torch.no_grad():
            return _scores(model(torch.from_numpy(data.x_test)), torch.from_numpy(data.y_test))


def batch(runs: Sequence[Run]) -> list[Any]:
    """Train ``runs`` (same config) as one batch of models; return each one's result or exception."""
    import torch
    from torch.func import functional_call

    from .batched import Member, fit_batched
    from .models import make_model

    cfg = runs[0].config
    data = data_of(cfg)
    spe = _spe(data, cfg["batch_size"])
    inits = {s: make_model(cfg["model"], data.n_features, data.n_classes, seed=s) for s in {r.seed for r in runs}}
    members = [Member(r.bind(spe), r.lr, r.seed, inits[r.seed], r.plateau) for r in runs]
    for r in runs:
        _fingerprints(r, inits[r.seed], data)
    outcomes: list[Any] = [None] * len(runs)

    def on_epoch(epoch: int, alive: list[int]) -> list[int]:
        for i in alive:
            try:
                _report(runs[i], members[i].result)
            except Pruned as e:
                outcomes[i] = e
        return [i for i in alive if runs[i].stopped]

    with threads(1):
        finals = fit_batched(members, data, epochs=runs[0].epochs, batch_size=cfg["batch_size"],
                             optimizer=cfg["optimizer"], momentum=cfg["momentum"],
                             weight_decay=cfg["weight_decay"], on_epoch=on_epoch)
        net = inits[runs[0].seed]
        xt, yt = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
        with torch.no_grad():
            for i, (m, params) in enumerate(zip(members, finals)):
                if outcomes[i] is None:
                    outcomes[i] = Pruned("stopped") if m.stopped else _scores(functional_call(net, params, (xt,)), yt)
    return outcomes


train.batch = batch  # type: ignore[attr-defined]
