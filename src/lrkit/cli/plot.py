"""``lrkit plot SPEC [SPEC ...] --steps N -o FILE.png``: the curves, labelled."""

from __future__ import annotations

from . import load_spec, positive_float, step_count


def register(sub) -> None:
    p = sub.add_parser("plot", help="plot one or more schedules to a PNG",
                       description="Plot each SPEC over steps 0..N-1 into one labelled PNG.")
    p.add_argument("specs", metavar="SPEC", nargs="+", help="schedule texts")
    p.add_argument("--steps", type=step_count, required=True, metavar="N", help="number of steps (at most 10**7)")
    p.add_argument("-o", "--out", required=True, metavar="FILE.png", help="where to write the PNG")
    p.add_argument("--base", type=positive_float, default=1.0, metavar="B", help="multiply every value by B")
    p.add_argument("--log", action="store_true", help="log scale for the value axis")
    p.add_argument("--steps-per-epoch", type=positive_float, default=None, metavar="K")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..plot import plot_schedules
    from . import UsageError

    if not args.out.lower().endswith(".png"):
        raise UsageError(f"-o must name a .png file; got {args.out!r}")
    schedules = [load_spec(t, args.steps, args.steps_per_epoch) for t in args.specs]
    plot_schedules(schedules, args.steps, args.out, base=args.base, log=args.log)
    print(f"wrote {args.out}")
    return 0
