"""``lrkit experiment NAME``: run one self-checking experiment (``--list`` lists them).

Each experiment prints its measured numbers and its checks, writes
``NAME.png``, ``NAME.md`` and ``NAME.csv`` into ``--out``, and exits 0 when
its claim holds, 1 when it does not (2 for a bad argument).
"""

from __future__ import annotations

import argparse
import sys

from . import UsageError, number_arg

_EPILOG = """examples:
  lrkit experiment --list
  lrkit experiment gradient-flow
  lrkit experiment decay-speed --out results/ --seed 1
  lrkit experiment all --quick          # every experiment, reduced size

exit status: 0 the claim holds, 1 it does not hold in this measurement, 2 bad arguments."""


_seed = number_arg(int, ge=0)


def register(sub) -> None:
    """Add ``lrkit experiment`` to the subparsers ``sub``."""
    p = sub.add_parser("experiment", help="run a self-checking experiment (--list to list them)",
                       description="Run a self-checking experiment: it prints its measured numbers and checks, writes "
                       "NAME.png, NAME.md and NAME.csv into --out, and exits 0 when its claim holds.", epilog=_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", metavar="NAME", help="the experiment (see --list), or 'all'")
    p.add_argument("--list", action="store_true", help="list the experiments and the question each answers")
    p.add_argument("--out", default="lrkit-out/experiments", metavar="DIR",
                   help="folder for the figure and tables (default: lrkit-out/experiments)")
    p.add_argument("--quick", action="store_true", help="a reduced size (seconds); the claim is checked all the same")
    p.add_argument("--seed", type=_seed, default=0, metavar="N", help="seed of every random draw (default 0)")
    p.set_defaults(run=run)


def run(args) -> int:
    """List the experiments, or run one (or ``all``); 0 when every claim holds, else 1."""
    from lrkit.lab import experiments

    if args.list:
        if args.name is not None:
            raise UsageError("give either NAME or --list, not both")
        width = max(len(n) for n in experiments.names())
        for name, question in experiments.describe().items():
            print(f"{name:<{width}}  {question}")
        return 0
    if args.name is None:
        raise UsageError("the experiment NAME is required (see 'lrkit experiment --list')")
    names = experiments.names() if args.name == "all" else [args.name]
    failed = []
    for name in names:
        result = experiments.run(name, args.out, quick=args.quick, seed=args.seed)
        print(result.report())
        print()
        sys.stdout.flush()
        if not result.holds:
            failed.append(name)
    if len(names) > 1:
        print(f"{len(names) - len(failed)}/{len(names)} claims hold" + (f"; not: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
