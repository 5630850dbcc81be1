"""``lrkit find``: the learning-rate range test on built-in data or a ``.npz``.

    lrkit find --data digits --model mlp --optimizer sgd --out lrkit-out
    lrkit find --data pycode --out lrkit-out      # the character transformer, AdamW, 16 windows a step

With ``--data pycode`` (:mod:`lrkit.lab.pycode`) the sweep trains the language
model (``--model transformer`` or ``gru``) with AdamW as the lab does (betas
0.9, 0.95; weight decay 0.1 on matrices), one fresh batch of windows per step:
no window is seen twice.

Prints the suggestion, every heuristic and the (low, high) range, and writes
``DIR/lr_find.png`` (the curve) and ``DIR/lr_find.json`` (the curve and the
findings).
"""

from __future__ import annotations

import json
import os
import sys

from ..checks import show, suggest
from ..finder.core import MAX_STEPS
from . import UsageError, positive_float, positive_int

OPTIMIZERS = ("sgd", "adamw")
CLASSIFIERS = ("linear", "mlp", "cnn1d")
LANGUAGE_MODELS = ("transformer", "gru")


def register(sub) -> None:
    p = sub.add_parser(
        "find", help="learning-rate range test: suggest an lr and a one-cycle range",
        description="Sweep the lr from --start to --end over --steps training steps, stop on divergence, "
                    "and suggest an lr (model and optimizer are restored afterwards).")
    p.add_argument("--data", default="digits", metavar="digits|mnist1d|pycode|PATH.npz",
                   help="built-in data, the character language model on Python's standard library (pycode), "
                        "or a .npz with x_train, y_train, x_val, y_val (or x, y); default digits")
    p.add_argument("--model", default=None, choices=CLASSIFIERS + LANGUAGE_MODELS,
                   help="default mlp (pycode: transformer, or gru)")
    p.add_argument("--optimizer", default=None, choices=OPTIMIZERS,
                   help="sgd (momentum 0.9) or adamw (torch defaults; pycode: the lab's); default sgd "
                        "(pycode: adamw)")
    p.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                   help="default 64 (pycode: 16 windows)")
    p.add_argument("--steps", type=positive_int, default=100, metavar="N",
                   help=f"sweep length, 5 .. {MAX_STEPS}; default 100")
    p.add_argument("--start", type=positive_float, default=1e-7, metavar="LR", help="first lr; default 1e-7")
    p.add_argument("--end", type=positive_float, default=10.0, metavar="LR", help="last lr; default 10")
    p.add_argument("--mode", default="exp", choices=("exp", "linear"), help="lr spacing; default exp")
    p.add_argument("--smooth", type=float, default=0.98, metavar="B",
                   help="moving-average factor in [0, 1); default 0.98")
    p.add_argument("--seed", type=int, default=0, help="model init and batch order; default 0")
    p.add_argument("--out", default="lrkit-out", metavar="DIR", help="output folder; default lrkit-out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _check(args) -> None:
    if args.steps < 5:
        raise UsageError(f"--steps must be >= 5; got --steps={args.steps}")
    if args.steps > MAX_STEPS:
        raise UsageError(f"--steps must be <= {MAX_STEPS}; got --steps={show(args.steps)}")
    if not 0 <= args.seed < 2 ** 63:
        raise UsageError(f"--seed must be a whole number in [0, 2**63); got --seed={show(args.seed)}")
    if not args.end > args.start:
        raise UsageError(f"--end must be > --start; got --start={args.start:g} --end={args.end:g}")
    if not 0 <= args.smooth < 1:
        raise UsageError(f"--smooth must be in [0, 1); got --smooth={args.smooth:g}")
    if args.data not in ("digits", "mnist1d", "pycode") and not args.data.endswith(".npz"):
        raise UsageError(f"--data must be digits, mnist1d, pycode or a .npz path"
                         f"{suggest(args.data, ('digits', 'mnist1d', 'pycode'))}; got --data={args.data!r}")
    lm = args.data == "pycode"
    models = LANGUAGE_MODELS if lm else CLASSIFIERS
    if args.model is not None and args.model not in models:
        what = "--data pycode" if lm else f"--data {args.data}"
        raise UsageError(f"--model must be {' or '.join(models)} with {what}; got --model={args.model!r}")
    if lm and args.optimizer == "sgd":
        raise UsageError("--optimizer must be adamw with --data pycode (the lab trains it with AdamW); "
                         "got --optimizer='sgd'")
    if args.data.endswith(".npz") and not os.path.isfile(args.data):
        raise UsageError(f"--data must be digits, mnist1d or an existing .npz file; got --data={args.data!r}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out must be a folder; got --out={args.out!r}, which is a file")


class _Progress:
    """tqdm on stderr when it is installed, else a plain bar."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.bar, self.enabled = total, None, enabled
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc="lr sweep", unit="step", file=sys.stderr, leave=False)
            except ImportError:
                pass

    def __call__(self, i: int, lr: float, loss: float, smoothed: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(lr=f"{lr:.2e}", loss=f"{smoothed:.3f}", refresh=False)
        elif self.enabled and (i % max(1, self.total // 20) == 0 or i == self.total - 1):
            done = int(20 * (i + 1) / self.total)
            print(f"\rlr sweep [{'#' * done}{'.' * (20 - done)}] {i + 1}/{self.total} lr={lr:.2e}",
                  end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(file=sys.stderr)


def _pycode(args):
    """The language model's sweep: model, optimizer, loss, ``steps`` fresh batches and a title."""
    import torch

    from ..lab.corpus import VOCAB, Stream, load_corpus
    from ..lab.lm import BETAS, param_groups
    from ..lab.pycode import check_config, model_of

    cfg = check_config({"model": args.model, "batch_size": args.batch_size or 16}, "find")
    model = model_of(cfg, args.seed)
    optimizer = torch.optim.AdamW(param_groups(model, cfg["weight_decay"]), lr=args.start, betas=BETAS)
    stream = Stream(load_corpus().train, context=cfg["context"], batch_size=cfg["batch_size"], seed=args.seed)
    stream.check(args.steps, "find")
    batches = [tuple(torch.from_numpy(a) for a in stream.batch(i)) for i in range(args.steps)]

    def loss_fn(logits, y):
        return torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))

    return model, optimizer, loss_fn, batches, cfg["batch_size"], "pycode"


def _classifier(args):
    """A classifier's sweep on built-in data or a ``.npz``."""
    from ..lab.data import load_dataset
    from ..lab.models import make_model

    data = load_dataset(args.data)
    import torch

    model = make_model(args.model, data.n_features, data.n_classes, seed=args.seed)
    optimizer: torch.optim.Optimizer
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=args.start, momentum=0.9)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.start)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(args.seed))
    size = min(args.batch_size or 64, len(x))
    batches = [(x[order[i:i + size]], y[order[i:i + size]]) for i in range(0, len(x) - size + 1, size)]
    return model, optimizer, torch.nn.functional.cross_entropy, batches, size, data.name


def run(args) -> int:
    _check(args)
    lm = args.data == "pycode"
    args.model = args.model or ("transformer" if lm else "mlp")
    args.optimizer = args.optimizer or ("adamw" if lm else "sgd")
    model, optimizer, loss_fn, batches, size, name = (_pycode if lm else _classifier)(args)
    from ..torch import find_lr

    progress = _Progress(args.steps, enabled=not args.no_progress)
    try:
        result = find_lr(model, optimizer, loss_fn, batches, start=args.start, end=args.end, steps=args.steps,
                         mode=args.mode, smooth=args.smooth, callback=progress)
    finally:
        progress.close()
    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "lr_find.png")
    what = "windows of 64 characters" if lm else "samples"
    result.plot(png, title=f"lrkit find: {name}, {args.model}, {args.optimizer}, batch {size} {what}")
    doc = {"data": name, "model": args.model, "optimizer": args.optimizer, "batch_size": size,
           "seed": args.seed, **result.to_dict()}
    path = os.path.join(args.out, "lr_find.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(result.summary())
    if result.range:
        low, high = result.range
        print(f"one-cycle: lk.one_cycle(STEPS, peak={high:.3g}, div_factor={high / low:g})")
    print(f"wrote {png}")
    print(f"wrote {path}")
    return 0
