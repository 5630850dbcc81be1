"""What identifies a training function in a run's key, so that a finished run is reused only when nothing that
can change its result has changed.

:func:`train_id` hashes the **code** that trains:

- the user's function: the source file that defines it, and every module of the user's own code it has
  imported by then (modules loaded from that file's folder or below, outside ``site-packages`` and the
  standard library), byte for byte; for a ``functools.partial`` the bound arguments too, for a callable
  object its attributes. A model class or a helper changed in that file or beside it is a new run.
- the built-in training: lrkit's version and the files it trains with (data, models, loops, the schedule
  core, the torch adapter: :data:`_TRAINING`).
- ``version`` (``compare(version=...)``): a version the user declares, for what the hash cannot see
  (data read at run time from elsewhere, code imported inside ``train``, another machine's library).

The rest of a run's identity (schedule, plateau, lr, seed, epochs, steps per epoch, ``run.config``, a
built-in data file's bytes) is added by :meth:`lrkit.lab.protocol.Design.task`.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import sys
import sysconfig
from typing import Any

__all__ = ["file_hash", "train_id", "user_files"]

_LIBRARY = tuple(os.path.realpath(p) + os.sep for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib",
                                                                                            "purelib", "platlib")})
#: The files of lrkit that the built-in training runs (its data, models, loops, the schedules and the torch
#: adapter); the lab's decisions, statistics and reports are not among them: they do not change a run.
_TRAINING = ("lab/builtin.py", "lab/train.py", "lab/models.py", "lab/data.py", "lab/run.py", "lab/pycode.py",
             "lab/lm.py", "lab/corpus.py", "lab/batched", "schedules", "__init__.py", "torch.py", "_torch_groups.py",
             "_torch_ops.py", "plateau.py", "spec.py", "checks.py")


def file_hash(path: str) -> str:
    """The sha256 of a file's bytes (16 hex digits).

    >>> len(file_hash(__file__))
    16
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _target(train: Any) -> tuple[Any, str]:
    if isinstance(train, functools.partial):
        return train.func, repr((train.args, sorted(train.keywords.items())))
    if not inspect.isroutine(train) and not inspect.isclass(train):
        return type(train), repr(sorted(vars(train).items())) if hasattr(train, "__dict__") else ""
    return train, ""


def _library(path: str) -> bool:
    real = os.path.realpath(path)
    return real.startswith(_LIBRARY) or f"{os.sep}site-packages{os.sep}" in real


def user_files(module_file: str) -> list[str]:
    """The source files of the user's own code loaded so far: ``module_file`` and every module loaded from its
    folder or below that is not a library's (sorted)."""
    root = os.path.dirname(os.path.realpath(module_file)) + os.sep
    found = {os.path.realpath(module_file)}
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None)  # some modules carry a relative or made-up one (torch._classes)
        if (isinstance(f, str) and f.endswith(".py") and os.path.isabs(f) and os.path.isfile(f)
                and os.path.realpath(f).startswith(root) and not _library(f)):
            found.add(os.path.realpath(f))
    return sorted(found)


def _lrkit_files() -> list[str]:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = []
    for part in _TRAINING:
        path = os.path.join(here, part)
        if os.path.isfile(path):
            out.append(path)
        for folder, _, files in os.walk(path):
            out += [os.path.join(folder, f) for f in files if f.endswith(".py")]
    return sorted(out)


def train_id(train: Any, version: str | None = None) -> dict:
    """The identity of a training function in a run's key (module doc): ``{"train": "module:name", "code":
    hash, "version": version}``.

    >>> from lrkit.lab import builtin
    >>> ident = train_id(builtin.train)
    >>> ident["train"], len(ident["code"]), train_id(builtin.train, "v2")["version"]
    ('lrkit.lab.builtin:train', 16, 'v2')
    """
    from .. import __version__

    target, extra = _target(train)
    name = f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
    module = sys.modules.get(getattr(target, "__module__", ""), None)
    path = getattr(module, "__file__", None)
    h = hashlib.sha256((name + extra).encode())
    if name.startswith("lrkit.lab."):
        files = _lrkit_files()
        h.update(__version__.encode())
    elif path and os.path.exists(path) and not _library(path):
        files = user_files(path)
        files.remove(os.path.realpath(path))
        files.insert(0, os.path.realpath(path))  # the train's own file first: its folder is the root
    else:  # a library's function or one defined interactively: its own source (or name) only
        files = []
        try:
            h.update(inspect.getsource(target).encode())
        except (OSError, TypeError):
            pass
    root = os.path.dirname(files[0]) if files else ""
    if name.startswith("lrkit.lab."):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for f in files:  # paths relative to the code's folder: the same code elsewhere is the same code
        h.update(os.path.relpath(f, root).encode())
        h.update(file_hash(f).encode())
    return {"train": name, "code": h.hexdigest()[:16], "version": version}
