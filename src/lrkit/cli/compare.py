"""``lrkit compare``: which schedule should I use here? Tuned, tested, with paired statistics.

Without ``--train``: the built-in data (digits) and model (an MLP), one
schedule per family plus a plateau run. With ``--train FILE.py:FUNC`` (or
``MODULE:FUNC``): the user's own ``train(run)``. Writes ``results.json``,
``report.md``, ``report.html``, ``config.json``, PNG figures and ``runs/``
into ``--out``. The last line printed is ``verdict: ...``. Exit status 0;
1 when a run failed (the others go on and are reported) or there is no
verdict (no schedule completed); 2 for bad input (and for a job the guards
stop: a validation metric that moves the wrong way for ``--mode``, a train
that ignores the schedule); 130 when interrupted (finished runs are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import number_arg, positive_float, positive_int

_EPILOG = """examples:
  lrkit compare                                   # built-in: digits, an MLP, the default set
  lrkit compare --data mnist1d --out demo-out     # make demo
  lrkit compare --schedule "cosine('100%')" --schedule "warmup('1ep') >> linear('rest')" --seeds 10
  lrkit compare --train my_train.py:train --lr 3e-4 --schedule "cosine('100%')" --schedule "constant()" \\
                --workers 2 --prune clearly-worse
  lrkit compare --train my_train.py:train --lr 3e-4 --engine ray --address ray://head:10001 --resources cpu=4,gpu=1
  lrkit compare --config OUT/config.json          # the same job again (finished runs are skipped)

protocol: each schedule's lr is chosen on the validation split (--lrs, or the grid --lr x 1/4, 1/2, 1,
2, 4), then the schedule is trained at it over final seeds and scored on a held-out test split.
--protocol adaptive (default) searches the lr coarse to fine and adds seeds by racing, up to --seeds,
only where the decision is open; --protocol full trains every grid lr and every seed. --budget caps
the epochs. A schedule is out of the top group only when a paired test against the others says so,
with a familywise error of at most 0.05 (the choice of the best and the interim looks included);
a winner is named only when every other schedule is out.
schedule durations may use the run's units: '3ep' (epochs), '10%' (of the run), 'rest'."""

_whole0 = number_arg(int, ge=0)
_fraction = number_arg(float, gt=0, lt=1, rule="a number in (0, 1)")
_nonneg = number_arg(float, ge=0, rule="a finite number >= 0")


def _lrs(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be numbers separated by commas, like 0.05,0.1,0.2; got {text!r}") \
            from None


def _setting(text: str) -> tuple[str, object]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE; got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="which schedule should I use? tune, train, test, decide",
        description="Compare schedules with evidence that holds up: each schedule's lr is tuned on the\n"
                    "validation split, the chosen setting is trained over several seeds and scored on a\n"
                    "held-out test split, and paired statistics decide. Runs the built-in data and models\n"
                    "or your own train(run) function, here or on a Ray cluster; resumable.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    job = p.add_argument_group("the comparison")
    job.add_argument("--train", metavar="FILE.py:FUNC|MODULE:FUNC", help="your training function (default: built-in)")
    job.add_argument("--schedule", action="append", metavar="SPEC", help="a schedule (repeat); default: one per family")
    job.add_argument("--plateau", nargs="?", const="constant()", metavar="SPEC",
                     help="add a plateau run: SPEC (default constant()) times a Plateau's scale")
    job.add_argument("--plateau-factor", type=_fraction, metavar="F", help="plateau factor (default 0.5)")
    job.add_argument("--plateau-patience", type=_whole0, metavar="N", help="plateau patience, epochs (default 1)")
    job.add_argument("--lrs", type=_lrs, metavar="LR,LR,...", help="the lr grid to tune over")
    job.add_argument("--lr", type=positive_float, metavar="LR",
                     help="centre of the default grid LR x (1/4, 1/2, 1, 2, 4) (built-in: 0.1 sgd, 0.001 adamw)")
    job.add_argument("--epochs", type=positive_int, metavar="N", help="epochs per run (default 10)")
    job.add_argument("--seeds", type=positive_int, metavar="N",
                     help="final seeds (default 5; adaptive: the most any schedule gets)")
    job.add_argument("--seed-offset", type=_whole0, metavar="K", help="first final seed (default 0)")
    job.add_argument("--tune-seeds", type=positive_int, metavar="N",
                     help="seeds of each tuning run (default 1 adaptive, 2 full)")
    job.add_argument("--mode", choices=("max", "min"),
                     help="max: val/test are scores (default; the job stops if val falls as training goes on, unless "
                          "--mode max is given); min: losses")
    job.add_argument("--protocol", choices=("adaptive", "full"),
                     help="adaptive (default): lr search and seeds where the decision is open; full: every run")
    job.add_argument("--budget", type=positive_int, metavar="EPOCHS", help="the most epochs the job may train")
    job.add_argument("--prune", choices=("clearly-worse", "none"),
                     help="stop a hopeless lr of a schedule on all seeds (default: clearly-worse adaptive, none full)")
    job.add_argument("--metric", metavar="NAME", help="the test metric's name in the report")
    job.add_argument("--set", type=_setting, action="append", metavar="KEY=VALUE",
                     help="a setting for your train (run.config[KEY]; VALUE read as JSON when it parses)")
    job.add_argument("--steps-per-epoch", type=positive_int, metavar="N",
                     help="binds '10%%' / '3ep' for your train (or call run.bind in it)")
    eng = p.add_argument_group("where it runs")
    eng.add_argument("--engine", choices=("local", "ray"), help="local (default) or ray")
    eng.add_argument("--workers", type=positive_int, metavar="N", help="local worker processes (default: this one)")
    eng.add_argument("--address", metavar="ADDR", help="Ray cluster address (default RAY_ADDRESS, else a local Ray)")
    eng.add_argument("--resources", metavar="cpu=1,gpu=1", help="Ray resources of each run")
    eng.add_argument("--threads", type=positive_int, metavar="N",
                     help="BLAS/OpenMP/torch threads of each run (default 1: small models run fastest so)")
    eng.add_argument("--run-timeout", type=positive_float, metavar="SECONDS",
                     help="fail a run that has not finished after SECONDS")
    blt = p.add_argument_group("the built-in training (without --train)")
    blt.add_argument("--data", metavar="digits|mnist1d|pycode|PATH.npz",
                     help="data set (default digits; pycode: a character language model on Python's stdlib)")
    blt.add_argument("--model", choices=("mlp", "cnn1d", "linear", "transformer", "gru"),
                     help="model (default mlp; pycode: transformer, or gru)")
    blt.add_argument("--optimizer", choices=("sgd", "adamw"), help="optimizer (default sgd, momentum 0.9)")
    blt.add_argument("--momentum", type=_nonneg, metavar="M", help="SGD momentum (default 0.9)")
    blt.add_argument("--weight-decay", type=_nonneg, metavar="WD", help="weight decay (default 0)")
    blt.add_argument("--batch-size", type=positive_int, metavar="B", help="batch size (default 64)")
    out = p.add_argument_group("files and output")
    out.add_argument("--config", metavar="FILE", help="YAML or JSON file with the same keys (OUT/config.json re-runs)")
    out.add_argument("--out", metavar="DIR", help="output folder (default lrkit-out)")
    out.add_argument("--no-resume", action="store_true", help="train every run again, ignoring OUT/runs")
    out.add_argument("--fresh", action="store_true", help="delete the finished runs in OUT/runs first")
    out.add_argument("--code-version", dest="version", metavar="TEXT",
                     help="a version of your training code (part of every run's key: a new one retrains)")
    out.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    p.set_defaults(run=run)


def _values(args) -> dict:
    from ..errors import SpecError
    from ..lab.config import SETTINGS, load_config

    values: dict = {}
    if args.config:
        try:
            values = load_config(args.config)
        except SpecError as e:
            raise SpecError(f"--config {args.config}: {e}") from None
    values = {k.replace("-", "_"): v for k, v in values.items()}
    # the flags named as the settings (args.config is the file's path, not the setting run.config)
    given = {k: v for k in SETTINGS if k != "config" and (v := getattr(args, k, None)) is not None}
    if "lr" in given or "lrs" in given:  # the command line's grid replaces the file's
        values.pop("lr", None)
        values.pop("lrs", None)
    if "train" in given and given["train"] != values.get("train"):
        values.pop("config", None)
    values.update(given)
    if args.set:
        values["config"] = {**(values.get("config") or {}), **dict(args.set)}
    return values


def _folder(path: str) -> None:
    """``--out`` must be a folder this user can write; checked before anything trains."""
    from ..errors import SpecError

    if os.path.exists(path) and not os.path.isdir(path):
        raise SpecError(f"--out must be a folder; {path!r} is a file")
    parent = path
    while parent and not os.path.exists(parent):  # the nearest folder that exists: it will hold the new ones
        parent = os.path.dirname(parent.rstrip(os.sep))
    parent = parent or "."
    if not os.path.isdir(parent):
        raise SpecError(f"--out {path}: {parent!r} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SpecError(f"--out {path}: the folder {parent!r} is not writable")


def run(args) -> int:
    from ..errors import SpecError
    from ..lab.config import normalise
    from ..lab.job import compare

    values = _values(args)
    try:
        kwargs = normalise(values)
    except SpecError as e:
        raise SpecError(f"--config {args.config}: {e}" if args.config else str(e)) from None
    kwargs.setdefault("out", "lrkit-out")
    _folder(kwargs["out"])
    try:
        result = compare(**kwargs, resume=not args.no_resume, progress=not args.no_progress, fresh=args.fresh)
    except KeyboardInterrupt:
        print(f"interrupted: the runs that finished are kept in {os.path.join(kwargs['out'], 'runs')}; "
              "run the same command again to resume", file=sys.stderr)
        return 130
    failed = result.failed_runs
    s, c = result.setup, result.setup["cost"]
    print(f"{c['runs_this_job']} runs trained, {c['runs_resumed']} resumed, in {s['wall_time']:.1f} s; "
          f"{c['epochs_trained']} epochs, {100 * c['epochs_trained'] / max(1, c['epochs_full']):.0f}% of the full "
          f"protocol's {c['epochs_full']}; report: {os.path.join(kwargs['out'], 'report.html')}")
    if failed:
        first = failed[0].task
        print(f"{len(failed)} run{'s' if len(failed) > 1 else ''} failed (see the report's Failures); "
              f"first: {first.name} lr {first.lr:g} seed {first.seed}: {failed[0].error}",
              file=sys.stderr)
    print(f"verdict: {result.headline}")
    return 1 if failed or result.verdict.best is None else 0
