"""``lrkit compare``: train one model under several schedules and report which wins.

With no arguments: sklearn's digits, an MLP, SGD with momentum, one schedule
per family plus a plateau run, 3 seeds, about half a minute on 2 CPU cores.
Writes ``results.json``, ``report.md``, ``report.html``, ``config.json`` and
PNG figures into ``--out`` (default ``lrkit-out``).
"""

from __future__ import annotations

import argparse
import os

from . import number_arg, positive_float, positive_int

_EPILOG = """examples:
  lrkit compare                                   # the default set, digits, 3 seeds
  lrkit compare --schedule "cosine('100%')" --schedule "warmup('1ep') >> linear('rest')" --seeds 5
  lrkit compare --data mnist1d --model cnn1d --optimizer adamw --epochs 8
  lrkit compare --config my.yaml --out results/    # a YAML/JSON file with the same keys

schedule durations may use the run's units: '3ep' (epochs), '10%' (of the run), 'rest'.
The lr of step t is LR * schedule(t); a plateau run multiplies it by a Plateau's scale,
fed the validation loss after every epoch."""


_fraction = number_arg(float, gt=0, lt=1, rule="a number in (0, 1)")
_accuracy = number_arg(float, gt=0, le=1, rule="an accuracy in (0, 1], like 0.95")
_whole0 = number_arg(int, ge=0)
_nonneg = number_arg(float, ge=0, rule="a finite number >= 0")


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="train a model under several schedules and report which wins",
        description="Train the same model from the same seed on the same data once per schedule\n"
                    "(equal step budgets, several seeds) and write a report: results.json, report.md,\n"
                    "report.html and PNG figures. Without options: a default set covering every\n"
                    "schedule family plus a plateau run, on built-in data (digits), 3 seeds.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", metavar="digits|mnist1d|PATH.npz", help="data set (default digits)")
    p.add_argument("--model", choices=("mlp", "cnn1d", "linear"), help="model (default mlp)")
    p.add_argument("--schedule", action="append", metavar="SPEC",
                   help="a schedule text (repeat for more); default: one per family")
    p.add_argument("--plateau", nargs="?", const="constant()", metavar="SPEC",
                   help="add a plateau run: SPEC (default constant()) times a Plateau's scale")
    p.add_argument("--plateau-factor", type=_fraction, metavar="F", help="plateau factor (default 0.5)")
    p.add_argument("--plateau-patience", type=_whole0, metavar="N", help="plateau patience in epochs (default 1)")
    p.add_argument("--epochs", type=positive_int, metavar="N", help="epochs per run (default 10)")
    p.add_argument("--seeds", type=positive_int, metavar="N", help="seeds 0..N-1 (default 3)")
    p.add_argument("--lr", type=positive_float, metavar="LR", help="base lr (default 0.1 sgd, 0.001 adamw)")
    p.add_argument("--optimizer", choices=("sgd", "adamw"), help="optimizer (default sgd, momentum 0.9)")
    p.add_argument("--momentum", type=_nonneg, metavar="M", help="SGD momentum (default 0.9)")
    p.add_argument("--weight-decay", type=_nonneg, metavar="WD", help="weight decay (default 0)")
    p.add_argument("--batch-size", type=positive_int, metavar="B", help="batch size (default 64)")
    p.add_argument("--target", type=_accuracy, metavar="ACC",
                   help="accuracy for 'steps to target' (default 98%% of the best mean final accuracy)")
    p.add_argument("--config", metavar="FILE", help="YAML or JSON file with the same keys as these options")
    p.add_argument("--out", metavar="DIR", help="output folder (default lrkit-out)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


_KEYS = ("data", "model", "schedule", "plateau", "plateau_factor", "plateau_patience", "epochs", "seeds",
         "lr", "optimizer", "momentum", "weight_decay", "batch_size", "target", "out")


def run(args) -> int:
    from ..errors import SpecError
    from ..lab.compare import compare
    from ..lab.config import CompareConfig, load_config
    from ..lab.report import write_report

    values = {}
    if args.config:
        try:
            values = load_config(args.config)
            CompareConfig.from_mapping(values)
        except SpecError as e:
            raise SpecError(f"--config {args.config}: {e}") from None
    values.update({k: getattr(args, k) for k in _KEYS if getattr(args, k) is not None})
    config = CompareConfig.from_mapping(values)
    result = compare(config, progress=not args.no_progress)
    summary = write_report(config.out, result.runs, setup=result.setup(), config=config.to_dict(),
                           target=config.target)
    print(_headline(summary.verdict))
    print(f"trained {len(result.runs)} runs in {result.wall_time:.1f} s; report: "
          f"{os.path.join(config.out, 'report.html')}")
    return 0


def _headline(v) -> str:
    if v.runner_up is None:
        return f"one run: {v.winner}"
    if v.tie:
        return f"no winner: {v.winner} and {v.runner_up} tie"
    spread = ("one seed, no spread to compare with" if v.exceeds_spread is None
              else "larger than the seed-to-seed spread" if v.exceeds_spread
              else "within the seed-to-seed spread")
    ahead = f"+{100 * v.gap:.2f} points" if v.gap > 0 else "tied on accuracy, lower validation loss"
    return f"winner: {v.winner}  ({ahead} over {v.runner_up}; {spread})"
