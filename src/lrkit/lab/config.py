"""Settings of a ``lrkit compare`` job, and reading them from YAML or JSON.

A config file holds the same keys as the command-line options (``batch-size``
or ``batch_size``), for example::

    data: digits
    model: mlp
    schedule:
      - cosine("100%")
      - warmup("1ep") >> linear("rest")
    plateau: constant()        # or true, or false / omitted
    epochs: 10
    seeds: 3
    optimizer: sgd

Options given on the command line override the file; the file overrides the
defaults. ``lrkit compare`` writes the settings it ran with to
``OUT/config.json``, which ``--config`` reads back to repeat the run.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import numbers
import os
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import MissingDependencyError, SpecError

__all__ = ["DEFAULT_PLATEAU", "DEFAULT_SCHEDULES", "CompareConfig", "load_config"]

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
#: The schedule the default plateau run multiplies by its plateau scale.
DEFAULT_PLATEAU = "constant()"
DEFAULT_LR = {"sgd": 0.1, "adamw": 1e-3}
OPTIMIZERS = ("sgd", "adamw")


@dataclass(frozen=True)
class CompareConfig:
    """Everything a comparison depends on (seeds are ``0 .. seeds-1``).

    ``lr`` None means the optimizer's default (sgd 0.1, adamw 0.001);
    ``target`` None means 98% of the best mean final accuracy (see
    :mod:`lrkit.lab.report`); ``plateau`` is the schedule text of the plateau
    run, or None for no plateau run. ``CompareConfig()`` is the default job;
    :meth:`from_mapping` (what the command line and config files use) drops the
    default plateau run when schedules are given and ``plateau`` is not.

    >>> CompareConfig(epochs=2, seeds=1).base_lr
    0.1
    >>> CompareConfig(epochs=0)
    Traceback (most recent call last):
    ...
    lrkit.errors.SpecError: compare(): epochs must be a whole number > 0; got epochs=0
    """

    data: str = "digits"
    model: str = "mlp"
    schedule: tuple[str, ...] = DEFAULT_SCHEDULES
    plateau: str | None = DEFAULT_PLATEAU
    epochs: int = 10
    seeds: int = 3
    lr: float | None = None
    optimizer: str = "sgd"
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 0.0
    target: float | None = None
    plateau_factor: float = 0.5
    plateau_patience: int = 1
    out: str = "lrkit-out"

    def __post_init__(self) -> None:
        for name in ("data", "model", "out"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise _fail(name, "a non-empty string", getattr(self, name))
        from .models import MODELS

        if self.model not in MODELS:
            raise _fail("model", "one of " + ", ".join(MODELS), self.model)
        if self.optimizer not in OPTIMIZERS:
            raise _fail("optimizer", "one of " + ", ".join(OPTIMIZERS), self.optimizer)
        sched = self.schedule
        if isinstance(sched, str):
            sched = (sched,)
        if not isinstance(sched, (list, tuple)) or not all(isinstance(s, str) and s.strip() for s in sched):
            raise _fail("schedule", "a list of schedule texts", self.schedule)
        object.__setattr__(self, "schedule", tuple(sched))
        if len(set(sched)) != len(sched):
            dup = next(s for s in sched if sched.count(s) > 1)
            raise SpecError(f"compare(): schedule {dup!r} is given twice")
        if self.plateau is not None and (not isinstance(self.plateau, str) or not self.plateau.strip()):
            raise _fail("plateau", "a schedule text, true or false", self.plateau)
        if not sched and self.plateau is None:
            raise SpecError("compare(): nothing to compare: give at least one schedule or a plateau run")
        for name in ("epochs", "seeds", "batch_size", "plateau_patience"):
            _whole(name, getattr(self, name), low=0 if name == "plateau_patience" else 1)
        _real("momentum", self.momentum, 0.0, 1.0, "in [0, 1)", hi_open=True)
        _real("weight_decay", self.weight_decay, 0.0, math.inf, ">= 0")
        _real("plateau_factor", self.plateau_factor, 0.0, 1.0, "in (0, 1)", lo_open=True, hi_open=True)
        if self.lr is not None:
            _real("lr", self.lr, 0.0, math.inf, "> 0", lo_open=True)
        if self.target is not None:
            _real("target", self.target, 0.0, 1.0, "an accuracy in (0, 1]", lo_open=True)

    @property
    def base_lr(self) -> float:
        """``lr``, or the optimizer's default when ``lr`` is None."""
        return float(self.lr) if self.lr is not None else DEFAULT_LR[self.optimizer]

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON types (``schedule`` a list)."""
        d = dataclasses.asdict(self)
        d["schedule"] = list(self.schedule)
        return d

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "CompareConfig":
        """Build from option names (``-`` or ``_``); unknown keys are an error.

        Without ``schedule`` the default set is used and, unless ``plateau``
        is given, the default plateau run too; with ``schedule`` and no
        ``plateau`` there is no plateau run. ``plateau: true`` means
        ``constant()``, ``false`` / None none.

        >>> c = CompareConfig.from_mapping({"batch-size": 32, "schedule": ["cosine('100%')"]})
        >>> c.batch_size, c.schedule, c.plateau
        (32, ("cosine('100%')",), None)
        """
        names = [f.name for f in dataclasses.fields(cls)]
        kw: dict[str, Any] = {}
        for key, value in values.items():
            name = str(key).replace("-", "_")
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise SpecError(f"compare(): unknown setting {key!r}{hint}; settings are {', '.join(names)}")
            kw[name] = value
        if "plateau" in kw:
            p = kw["plateau"]
            kw["plateau"] = DEFAULT_PLATEAU if p is True else (None if p is False else p)
        elif "schedule" in kw:
            kw["plateau"] = None
        return cls(**kw)


def load_config(path: str) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or JSON file holding a mapping of settings.

    Returns the raw mapping; :meth:`CompareConfig.from_mapping` checks it.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> _ = open(p, "w").write('{"epochs": 3, "schedule": ["cosine(\\'100%\\')"]}')
    >>> load_config(p)
    {'epochs': 3, 'schedule': ["cosine('100%')"]}
    """
    if not os.path.isfile(path):
        raise SpecError(f"load_config(): path must be an existing file; got path={path!r}")
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
        raise SpecError(f"load_config(): path must name a .yaml, .yml or .json file; got path={path!r}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"load_config(): {path!r} must hold a mapping of settings; got {type(data).__name__}")
    return data


def _fail(name: str, rule: str, value: Any) -> SpecError:
    return SpecError(f"compare(): {name} must be {rule}; got {name}={value!r}")


def _whole(name: str, v: Any, low: int) -> None:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        raise _fail(name, f"a whole number {'> 0' if low == 1 else '>= 0'}", v)


def _real(name: str, v: Any, lo: float, hi: float, rule: str, *, lo_open=False, hi_open=False) -> None:
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        raise _fail(name, rule, v)
