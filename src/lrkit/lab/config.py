"""Settings of a ``lrkit compare`` job: the defaults, and reading them from YAML, JSON or the command line.

A config file holds the same keys as the command-line options (``batch-size``
or ``batch_size``), for example::

    train: my_training.py:train     # omit for the built-in data and models
    schedule:
      - cosine('100%')
      - warmup('1ep') >> linear('rest')
      - {schedule: constant(), plateau: {factor: 0.5, patience: 1}}
    lr: 0.1                         # the grid: lr * (1/4, 1/2, 1, 2, 4); or lrs: [0.05, 0.1, 0.2]
    epochs: 10
    seeds: 5
    config: {hidden: 64}            # handed to train as run.config

For the built-in training, ``data``, ``model``, ``optimizer``, ``batch_size``,
``momentum`` and ``weight_decay`` may be given at the top level (they are
``run.config``); ``plateau: SPEC`` (or ``true``) adds a plateau run with
``plateau_factor`` and ``plateau_patience``.

Options on the command line override the file. Every job writes the
settings it ran with to ``OUT/config.json`` (the lr grid spelled out), which
``--config`` reads back to run the same job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ..checks import fail, unknown
from ..errors import MissingDependencyError, SpecError

__all__ = ["BUILTIN_DEFAULTS", "BUILTIN_KEYS", "DEFAULT_PLATEAU", "DEFAULT_SCHEDULES", "KEYS", "SETTINGS",
           "load_config", "normalise"]

#: One schedule per family of SPEC section 1 (grouped), all bound to the run
#: by their units: "ep" epochs, "%" of the run, "rest" what is left.
DEFAULT_SCHEDULES: tuple[str, ...] = (
    "constant()",
    "warmup('10%') >> linear('rest')",
    "step('4ep', gamma=0.3)",
    "multistep(['50%', '75%'])",
    "exponential(half_life='3ep')",
    "cosine('100%')",
    "polynomial('100%', power=2)",
    "inverse_sqrt('1ep')",
    "cyclic(0.1, 1, '2.5ep', mode='triangular2')",
    "one_cycle('100%')",
    "restarts(cosine('25%'))",
    "interpolate([(0, 0.1), ('20%', 1), ('100%', 0.01)])",
    "wsd('100%', '5%', '20%')",
    "noisy(cosine('100%'), 0.3)",
)
#: The plateau run of the default set: constant() times the scale of Plateau(factor=0.5, patience=1),
#: fed the validation loss after every epoch.
DEFAULT_PLATEAU: dict[str, Any] = {"schedule": "constant()", "plateau": {"factor": 0.5, "patience": 1}}

#: The keys of compare() (and of config files, with ``-`` or ``_``).
KEYS = ("train", "schedule", "lr", "lrs", "epochs", "seeds", "seed_offset", "tune_seeds", "mode", "protocol",
        "budget", "engine", "workers", "address", "resources", "retries", "prune", "steps_per_epoch", "config",
        "metric", "out", "resume", "version", "threads", "run_timeout")
#: The settings of the built-in training (its ``run.config``) and their defaults; they may stand at the top level.
BUILTIN_DEFAULTS: dict[str, Any] = {"data": "digits", "model": "mlp", "optimizer": "sgd", "batch_size": 64,
                                    "momentum": 0.9, "weight_decay": 0.0}
BUILTIN_KEYS = tuple(BUILTIN_DEFAULTS)
_PLATEAU_KEYS = ("plateau", "plateau_factor", "plateau_patience")
#: Every key a config file may hold; ``lrkit compare`` has a flag of the same name for each but ``config``,
#: ``retries``, ``resume`` (``--config`` names the file; ``--no-resume``) and ``version`` (``--code-version``).
SETTINGS = KEYS + BUILTIN_KEYS + _PLATEAU_KEYS


def normalise(values: Mapping[str, Any], where: str = "compare") -> dict[str, Any]:
    """The keyword arguments of :func:`lrkit.lab.compare` for a mapping of settings.

    Keys may use ``-`` or ``_``; ``schedules`` is ``schedule``; built-in
    settings at the top level go into ``config``; ``plateau`` adds a plateau
    run. Without ``schedule`` the default set (with its plateau run) is used.
    Values are checked by ``compare`` itself; unknown keys are an error here.

    >>> kw = normalise({"batch-size": 32, "schedule": "cosine('100%')", "plateau": True})
    >>> kw["schedules"], kw["config"]
    (["cosine('100%')", {'schedule': 'constant()', 'plateau': {'factor': 0.5, 'patience': 1}}], {'batch_size': 32})
    """
    kw: dict[str, Any] = {}
    builtin: dict[str, Any] = {}
    plateau: dict[str, Any] = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        name = "schedule" if name == "schedules" else name
        if name in BUILTIN_KEYS:
            builtin[name] = value
        elif name in _PLATEAU_KEYS:
            plateau[name] = value
        elif name in KEYS:
            kw[name] = value
        else:
            raise unknown(where, "setting", key, SETTINGS)
    if builtin:
        if kw.get("train") is not None:
            raise SpecError(f"{where}(): {', '.join(builtin)} apply to the built-in training only; with train, "
                            "put your own settings under config (they reach train as run.config)")
        extra = kw.get("config") or {}
        if not isinstance(extra, Mapping):
            raise fail(where, "config", "a mapping of settings", extra)
        kw["config"] = {**extra, **builtin}
    schedule = kw.pop("schedule", None)
    items: list[Any]
    if schedule is None and builtin.get("data") == "pycode" and kw.get("train") is None:
        from .pycode import DEFAULT_SCHEDULES as LM  # the language model's own default set

        items = list(LM)
    elif schedule is None:
        items = list(DEFAULT_SCHEDULES) + ([] if "plateau" in plateau else [DEFAULT_PLATEAU])
    else:
        items = [schedule] if isinstance(schedule, (str, Mapping)) else schedule
        if not isinstance(items, (list, tuple)):
            raise fail(where, "schedule", "a list of schedule texts", schedule)
        items = list(items)
    item = _plateau_item(plateau, where)
    if item is not None:
        items.append(item)
    kw["schedules"] = items
    return kw


def _plateau_item(plateau: dict, where: str) -> dict | None:
    p = plateau.get("plateau")
    if p is None or p is False:
        if set(plateau) - {"plateau"}:
            raise SpecError(f"{where}(): plateau_factor and plateau_patience need a plateau run (plateau: SPEC)")
        return None
    if p is True:
        p = DEFAULT_PLATEAU["schedule"]
    if not isinstance(p, str):
        raise fail(where, "plateau", "a schedule text, true or false", p)
    settings = dict(DEFAULT_PLATEAU["plateau"])
    for k in ("factor", "patience"):
        if f"plateau_{k}" in plateau:
            settings[k] = plateau[f"plateau_{k}"]
    return {"schedule": p, "plateau": settings}


def load_config(path: str) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or JSON file holding a mapping of settings.

    Returns the raw mapping; :func:`normalise` and ``compare`` check it.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> _ = open(p, "w").write('{"epochs": 3, "schedule": ["cosine(\\'100%\\')"]}')
    >>> load_config(p)
    {'epochs': 3, 'schedule': ["cosine('100%')"]}
    """
    if not os.path.isfile(path):
        raise fail("load_config", "path", "an existing file", path)
    ext = os.path.splitext(path)[1].lower()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if ext in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise MissingDependencyError("pyyaml", "lab") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise SpecError(f"load_config(): {path!r} is not valid YAML: {str(e).splitlines()[0]}") from None
    elif ext == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"load_config(): {path!r} is not valid JSON: {e}") from None
    else:
        raise fail("load_config", "path", "a .yaml, .yml or .json file", path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"load_config(): {path!r} must hold a mapping of settings; got {type(data).__name__}")
    return data
