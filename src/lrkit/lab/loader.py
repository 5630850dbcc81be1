"""Finding the user's training function: ``path/to/file.py:function`` or ``package.module:function``.

Everything is checked before anything trains: the file or module must import,
the name must be a callable, and it must accept one argument (the run).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

from ..checks import fail
from ..errors import SpecError

__all__ = ["check_train", "load_train"]

_LOADED: dict[str, Any] = {}


def check_train(fn: Any, where: str = "compare", shown: str | None = None) -> Callable:
    """``fn`` if it is a callable that takes one positional argument (the run); else an error."""
    if not callable(fn):
        raise fail(where, "train", "a function train(run)", fn if shown is None else shown)
    shown = shown or getattr(fn, "__qualname__", repr(fn))
    try:
        inspect.signature(fn).bind(object())
    except TypeError:
        raise SpecError(f"{where}(): train must take one argument, the run: def train(run); "
                        f"got train={shown}{_signature(fn)}") from None
    except ValueError:  # no signature (a builtin): it is tried when called
        pass
    return fn


def _signature(fn: Any) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return ""


def _module_from_file(path: str, where: str) -> Any:
    path = os.path.abspath(path)
    if path in _LOADED:
        return _LOADED[path]
    if not os.path.isfile(path):
        raise fail(where, "train", "FILE.py:FUNCTION naming an existing file", path)
    name = "lrkit_user_" + "".join(c if c.isalnum() else "_" for c in os.path.splitext(path)[0])[-60:]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise fail(where, "train", "FILE.py:FUNCTION naming a Python file", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so pickling by value (workers, Ray) can find it
    folder = os.path.dirname(path)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)  # the file's own imports of its neighbours work
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - any error in the user's module is theirs to read
        sys.modules.pop(name, None)
        raise SpecError(f"{where}(): importing {path} raised {type(e).__name__}: {e}") from None
    finally:
        if added:
            sys.path.remove(folder)
    _LOADED[path] = module
    return module


def load_train(text: str, where: str = "compare") -> Callable:
    """The function named by ``FILE.py:FUNCTION`` or ``MODULE:FUNCTION``, checked.

    >>> load_train("lrkit.lab.builtin:train").__name__
    'train'
    """
    if not isinstance(text, str) or ":" not in text:
        raise fail(where, "train", "FILE.py:FUNCTION or MODULE:FUNCTION", text)
    target, func = text.rsplit(":", 1)
    if not func.isidentifier() or not target:
        raise fail(where, "train", "FILE.py:FUNCTION or MODULE:FUNCTION", text)
    if target.endswith(".py") or os.sep in target or "/" in target:
        module = _module_from_file(target, where)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as e:
            raise SpecError(f"{where}(): train {text!r}: cannot import {target!r}: {e}") from None
        except Exception as e:  # noqa: BLE001 - any error in the user's module is theirs to read
            raise SpecError(f"{where}(): importing {target!r} raised {type(e).__name__}: {e}") from None
    if not hasattr(module, func):
        names = [n for n in vars(module) if callable(getattr(module, n)) and not n.startswith("_")]
        from ..checks import suggest

        raise SpecError(f"{where}(): train {text!r}: {target} has no function {func!r}{suggest(func, names)}")
    return check_train(getattr(module, func), where, text)
