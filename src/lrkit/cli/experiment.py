"""``lrkit experiment NAME``: run a self-checking experiment over several seeds (``--list`` lists them).

Each experiment prints its table, each check's pass rate over the seeds, the
region of its knob where the claim holds and its verdict; it writes
``OUT/NAME/result.json``, the figure and the table. A claim holds when it held
on at least 80% of the seeds. Exit status: 0 when every claim run holds, 1
when one does not, 2 for a bad argument.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import UsageError

_EPILOG = """examples:
  lrkit experiment --list
  lrkit experiment gradient-flow
  lrkit experiment restarts --seeds 20 --seed-offset 100 --out results/
  lrkit experiment all                  # every experiment (a few minutes on 2 CPU cores)
  lrkit experiment all --quick --seeds 3

exit status: 0 every claim holds (pass rate >= 80%), 1 one does not, 2 bad arguments."""


def register(sub) -> None:
    """Add ``lrkit experiment`` to the subparsers ``sub``."""
    p = sub.add_parser("experiment", help="run a self-checking experiment over several seeds (--list to list them)",
                       description="Run a self-checking experiment over several seeds: it prints each check's pass "
                       "rate, the region of its knob where the claim holds (pass rate >= 80%) and its verdict, and "
                       "writes OUT/NAME/result.json, a figure and a table.", epilog=_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", metavar="NAME", help="the experiment (see --list), or 'all'")
    p.add_argument("--list", action="store_true", help="list the experiments and the question each answers")
    p.add_argument("--out", default="lrkit-out/experiments", metavar="DIR",
                   help="output folder (default: lrkit-out/experiments)")
    p.add_argument("--seeds", default="10", metavar="N", help="number of seeds (default 10)")
    p.add_argument("--seed-offset", default="0", metavar="K", help="first seed (default 0): seeds K..K+N-1")
    p.add_argument("--quick", action="store_true", help="a reduced size; the claims are checked all the same")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.set_defaults(run=run)


def _whole(text: str, param: str, ge: int) -> int:
    from ..checks import integer

    value: int | str
    try:
        value = int(text)
    except ValueError:
        value = text
    return integer("experiment", param, value, ge=ge)


def run(args) -> int:
    """List the experiments, or run one (or ``all``); 0 when every claim holds, else 1."""
    from .. import experiments
    from ..checks import unknown

    if args.list:
        if args.name is not None:
            raise UsageError("give either NAME or --list, not both")
        width = max(len(n) for n in experiments.names())
        for name, question in experiments.describe().items():
            print(f"{name:<{width}}  {question}")
        return 0
    if args.name is None:
        raise UsageError("the experiment NAME is required (see 'lrkit experiment --list')")
    if args.name != "all" and args.name not in experiments.names():
        raise unknown("experiment", "experiment", args.name, [*experiments.names(), "all"])
    seeds, offset = _whole(args.seeds, "seeds", 1), _whole(args.seed_offset, "seed_offset", 0)
    names = experiments.names() if args.name == "all" else [args.name]
    results, seconds = [], []
    for name in names:
        t0 = time.perf_counter()
        result = experiments.run(name, args.out, seeds=seeds, seed_offset=offset, quick=args.quick,
                                 progress=not args.no_progress)
        seconds.append(time.perf_counter() - t0)
        if not args.no_progress:
            print(f"{name}: done in {seconds[-1]:.1f} s", file=sys.stderr)
        print(result.report() + "\n")
        sys.stdout.flush()
        results.append(result)
    if len(names) > 1:
        _summary(results, seconds)
    return 0 if all(r.holds for r in results) else 1


def _summary(results, seconds: list[float]) -> None:
    width = max(len(r.name) for r in results)
    print(f"{'experiment':<{width}}  pass rate  holds  region (settings where it holds)  seconds")
    for r, sec in zip(results, seconds):
        region = r.region()
        where = f"{len(region['holds_at'])}/{len(region['cells'])}"
        print(f"{r.name:<{width}}  {r.pass_rate:>9.0%}  {'yes' if r.holds else 'NO':<5}  {where:<32}  {sec:7.1f}")
    held = [r.name for r in results if r.holds]
    not_held = [r.name for r in results if not r.holds]
    print(f"{len(held)}/{len(results)} claims hold (pass rate >= 80% over seeds {results[0].seeds[0]}.."
          f"{results[0].seeds[-1]})" + (f"; not: {', '.join(not_held)}" if not_held else "")
          + f"; {sum(seconds):.0f} s")
