"""``lrkit values SPEC --steps N``: a schedule's values, exactly."""

from __future__ import annotations

import json
import sys

from . import UsageError, load_spec, positive_float, step_count


def register(sub) -> None:
    p = sub.add_parser("values", help="print a schedule's values at steps 0..N-1",
                       description="Print the values of SPEC at steps 0..N-1 (times --base). "
                       "Each line is the shortest text that float() reads back exactly.")
    p.add_argument("spec", metavar="SPEC", help="schedule text, e.g. \"warmup(500) >> cosine(9500)\"")
    p.add_argument("--steps", type=step_count, required=True, metavar="N", help="number of steps (at most 10**7)")
    p.add_argument("--base", type=positive_float, default=1.0, metavar="B", help="multiply every value by B")
    p.add_argument("--format", choices=("lines", "json", "csv"), default="lines")
    p.add_argument("--steps-per-epoch", type=positive_float, default=None, metavar="K",
                   help="steps in one epoch (for durations like '3ep')")
    p.set_defaults(run=run)


def run(args) -> int:
    import numpy as np

    s = load_spec(args.spec, args.steps, args.steps_per_epoch)
    vals = s.values(np.arange(args.steps, dtype=np.float64))
    if args.base != 1.0:
        vals = vals * args.base
    out = vals.tolist()
    if args.format == "json":
        bad = np.flatnonzero(~np.isfinite(vals))
        if bad.size:  # strict JSON has no Infinity or NaN
            raise UsageError(f"the value at step {int(bad[0])} is {out[bad[0]]!r}, which JSON cannot hold; "
                             "use --format lines or csv")
        text = json.dumps(out, allow_nan=False)
    elif args.format == "csv":
        text = "step,value\n" + "\n".join(f"{i},{v!r}" for i, v in enumerate(out))
    else:
        text = "\n".join(map(repr, out))
    sys.stdout.write(text + "\n")
    return 0
