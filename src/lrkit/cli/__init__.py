"""The ``lrkit`` command line: one module per command, each with
``register(subparsers)`` and ``run(args) -> int``.

A bad spec or argument exits with status 2 and one ``error: ...`` line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..checks import number
from ..errors import MissingDependencyError, SpecError

__all__ = ["main"]

COMMANDS = ("values", "plot", "find", "compare", "experiment")


class UsageError(Exception):
    """A bad command-line argument (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one ``error:`` line and status 2."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = Parser(prog="lrkit", description="Learning-rate schedules: preview, plot, find, compare.")
    parser.add_argument("--version", action="version", version=f"lrkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:  # a command whose module is not written yet
            if e.name == f"{__name__}.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 a failed check, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        return int(args.run(args) or 0)
    except (UsageError, SpecError, MissingDependencyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e.strerror or e}: {e.filename}" if e.filename else f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def number_arg(kind: type = float, *, gt: float | None = None, ge: float | None = None,
               lt: float | None = None, le: float | None = None, rule: str | None = None):
    """An argparse ``type``: a finite ``int`` or ``float`` within the given bounds.

    Its error reads ``must be a whole number > 0; got '-3'`` (``rule``
    overrides the wording after "must be").

    >>> number_arg(int, ge=0)("3")
    3
    """
    noun = "a whole number" if kind is int else "a number"
    bounds = [f"{op} {v:g}" for op, v in ((">", gt), (">=", ge), ("<", lt), ("<=", le)) if v is not None]
    text_rule = rule or f"{noun} {' and '.join(bounds)}".strip()

    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {text_rule}; got {_short(text)}") from None
        try:  # the one checker decides (finite, within the bounds); argparse words the error
            number("--", "value", v, gt=gt, ge=ge, lt=lt, le=le)
        except SpecError:
            raise argparse.ArgumentTypeError(f"must be {text_rule}; got {_short(text)}") from None
        return v

    parse.__name__ = f"{kind.__name__}_arg"
    return parse


positive_int = number_arg(int, gt=0)
positive_float = number_arg(float, gt=0, rule="a finite number > 0")
MAX_STEPS = 10**7  # values and plots hold every value in memory: 80 MB at this size
step_count = number_arg(int, gt=0, le=MAX_STEPS, rule=f"a whole number from 1 to {MAX_STEPS:_}")


def _short(text: str) -> str:
    """A user's argument quoted, its middle cut if it is very long (a 300-digit number)."""
    return repr(text) if len(text) <= 60 else repr(text[:25] + "..." + text[-10:]) + f" ({len(text)} characters)"


def load_spec(text: str, total_steps: int | None = None, steps_per_epoch: float | None = None):
    """Parse a SPEC argument and bind its run units to the command's run length."""
    import lrkit as lk

    s = lk.parse(text)
    if "ep" in s.units and steps_per_epoch is None:
        raise UsageError(f"{text!r} uses epochs ('ep'); pass --steps-per-epoch")
    return s.bind(total_steps=total_steps, steps_per_epoch=steps_per_epoch)
