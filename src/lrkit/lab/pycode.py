"""``--data pycode``: a character-level language model on Python's own standard library, for the lab.

The regime where today's schedule questions are asked: fresh data at every
step, AdamW, warmup, a cooldown. The text is the ``.py`` files of the running
interpreter's standard library (:mod:`lrkit.lab.corpus`: split by a stable
hash of each file's path, no download); the model a small causal transformer
(default) or a GRU (:mod:`lrkit.lab.lm`). Each run reads a stream of windows it
never repeats; the validation and test metric is the loss in **bits per
character** (lower is better: ``mode="min"``).

The interface the lab uses (like :mod:`lrkit.lab.builtin`'s):

- :data:`DEFAULTS`, :func:`check_config` (settings, defaults filled in, errors naming the setting);
- :func:`steps_per_epoch` (an "epoch" is an evaluation interval of the stream), :data:`DEFAULT_LR`
  (the centre of the AdamW lr grid), :data:`DEFAULT_SCHEDULES` (the schedules of this regime, run-relative);
- :func:`describe` (data, Python version, split sizes, model and its parameter count);
- :func:`train` (a ``train(run)`` of the lab's Run protocol).

Example (3 runs of 300 steps: a few seconds each)::

    import lrkit.lab, lrkit.lab.pycode as pycode
    cfg = {"steps_per_epoch": 100}
    result = lrkit.lab.compare(train=pycode.train, mode="min", config=cfg, steps_per_epoch=100, epochs=3,
                               schedules=["wsd('100%', '5%', '20%', shape='1-sqrt')", "constant()"],
                               lrs=[2e-3, 4e-3], seeds=3, out="lm-out")
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..checks import fail, integer, number, one_of, unknown
from .corpus import VOCAB, Stream, eval_windows, load_corpus, unigram_bits
from .lm import MODELS, Trainer, make_model, parameter_count

__all__ = ["DEFAULTS", "DEFAULT_LR", "DEFAULT_SCHEDULES", "MODEL_SIZES", "check_config", "describe", "model_of",
           "steps_per_epoch", "train"]

#: The settings of a ``pycode`` run (``run.config``) and their defaults. ``width`` and ``layers`` None: the
#: model's own size (:data:`MODEL_SIZES`). One run of the defaults (10 epochs: 1500 steps) took 45 s on one
#: core of a 2-core AMD EPYC (docs/lm.md).
DEFAULTS: dict[str, Any] = {
    "data": "pycode",
    "model": "transformer",     # or "gru"
    "width": None,              # transformer: model width; gru: hidden units
    "layers": None,             # transformer blocks or GRU layers
    "heads": 4,                 # attention heads (transformer; must divide width)
    "context": 64,              # characters a window feeds the model
    "batch_size": 16,           # windows per step
    "steps_per_epoch": 150,     # updates between two evaluations on the validation windows
    "weight_decay": 0.1,        # AdamW's decoupled decay, on matrices and embeddings only
    "clip": 1.0,                # gradient norm clipping (0: none)
    "val_windows": 256,         # validation windows scored after every epoch (the same for every run)
    "test_windows": 1024,       # test windows scored at the end
}
#: ``width`` and ``layers`` of each model when the settings leave them None.
MODEL_SIZES: dict[str, dict[str, int]] = {"transformer": {"width": 64, "layers": 2}, "gru": {"width": 128, "layers": 1}}
#: The centre of the lr grid (AdamW, betas (0.9, 0.95)); ``compare`` tries ``lr * (1/4 .. 4)`` around it.
DEFAULT_LR = 6e-3
#: The schedules of this regime, bound to the run by ``'%'`` and ``'rest'``.
DEFAULT_SCHEDULES: tuple[str, ...] = (
    "constant()",
    "wsd('100%', '5%', '20%', shape='1-sqrt')",
    "wsd('100%', '5%', '20%')",
    "warmup('5%') >> linear('rest')",
    "warmup('5%') >> cosine('rest')",
    "warmup('5%') >> cosine('rest', end=0.1)",
    "warmup('5%') >> inverse_sqrt('5%')",
)

_WHOLE = ("heads", "context", "batch_size", "steps_per_epoch", "val_windows", "test_windows")


def check_config(config: Mapping | None = None, where: str = "compare") -> dict:
    """The settings with defaults filled in (``width`` and ``layers`` from the model); a bad one is an
    error naming it.

    >>> cfg = check_config({"model": "gru"})
    >>> cfg["width"], cfg["layers"], cfg["context"]
    (128, 1, 64)
    >>> check_config({"batch": 8})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lrkit.errors.SpecError: compare(): unknown setting of pycode 'batch' (did you mean 'batch_size'?); known: ...
    """
    if config is not None and not isinstance(config, Mapping):
        raise fail(where, "config", "a mapping of pycode settings", config)
    cfg = dict(DEFAULTS)
    for k, v in (config or {}).items():
        if k not in DEFAULTS:
            raise unknown(where, "setting of pycode", k, DEFAULTS)
        cfg[k] = v
    if cfg["data"] != "pycode":
        raise fail(where, "data", "'pycode' for this training", cfg["data"])
    one_of(where, "model", cfg["model"], MODELS)
    for k in ("width", "layers"):
        cfg[k] = MODEL_SIZES[cfg["model"]][k] if cfg[k] is None else integer(where, k, cfg[k], ge=1)
    for k in _WHOLE:
        cfg[k] = integer(where, k, cfg[k], ge=1)
    if cfg["context"] > 4096:
        raise fail(where, "context", "<= 4096 characters", cfg["context"])
    if cfg["model"] == "transformer" and cfg["width"] % cfg["heads"]:
        raise fail(where, "heads", f"a divisor of width={cfg['width']}", cfg["heads"])
    cfg["weight_decay"] = float(number(where, "weight_decay", cfg["weight_decay"], ge=0))
    cfg["clip"] = float(number(where, "clip", cfg["clip"], ge=0))
    return cfg


def steps_per_epoch(config: Mapping | None = None) -> int:
    """Updates per "epoch" (one evaluation interval of the stream): the ``steps_per_epoch`` setting.

    >>> steps_per_epoch(), steps_per_epoch({"steps_per_epoch": 50})
    (150, 50)
    """
    return check_config(config)["steps_per_epoch"]


def model_of(cfg: dict, seed: int):
    """The model of checked settings ``cfg``, initialised from ``seed``."""
    return make_model(cfg["model"], width=cfg["width"], layers=cfg["layers"], heads=cfg["heads"],
                      context=cfg["context"], seed=seed)


def describe(config: Mapping | None = None) -> dict:
    """What fixes a ``pycode`` comparison, for the report: data, Python version, split sizes, model, size.

    Example::

        describe()["python"], describe()["characters"]["val"], describe()["parameters"]
        # ('3.11.7', 3148172, 120704)
    """
    cfg = check_config(config, "describe")
    corpus = load_corpus()
    model = model_of(cfg, 0)
    return {"data": "pycode", "python": corpus.python, "stdlib": corpus.root, "files": dict(corpus.files),
            "characters": corpus.sizes(), "vocabulary": VOCAB, "unigram_bits": unigram_bits(corpus.train),
            "model": cfg["model"], "width": cfg["width"], "layers": cfg["layers"],
            "parameters": parameter_count(model), "context": cfg["context"], "batch_size": cfg["batch_size"],
            "characters_per_step": cfg["batch_size"] * cfg["context"],
            "val_characters": cfg["val_windows"] * cfg["context"],
            "test_characters": cfg["test_windows"] * cfg["context"], "metric": "bits per character", "mode": "min"}


def train(run) -> dict:
    """Train the character model of ``run.config`` for ``run.epochs * steps_per_epoch`` updates.

    AdamW at ``run.lr`` times ``run.schedule`` (bound with ``run.bind(steps_per_epoch)``) through
    :class:`lrkit.torch.Scheduler` (a plateau, if the run has one, is fed each validation loss);
    torch on one thread inside the run (the caller's setting restored). After every epoch it
    reports ``val`` (validation bits per character; ``nan`` once diverged), ``train_bits`` and ``lr``;
    it returns ``{"test": test bits per character, "val": ..., "train_bits": ..., "diverged": ...}``.
    """
    from .train import threads

    cfg = check_config(run.config, "train")
    corpus = load_corpus()
    spe = cfg["steps_per_epoch"]
    schedule = run.bind(spe)
    steps = run.epochs * spe
    stream = Stream(corpus.train, context=cfg["context"], batch_size=cfg["batch_size"], seed=run.seed)
    stream.check(steps, "train")
    model = model_of(cfg, run.seed)
    run.fingerprint(init=model, batches=stream.order(steps))
    val = eval_windows(corpus.val, context=cfg["context"], count=cfg["val_windows"])
    test = eval_windows(corpus.test, context=cfg["context"], count=cfg["test_windows"])
    with threads(1):
        tr = Trainer(model, stream, schedule, lr=run.lr, weight_decay=cfg["weight_decay"], clip=cfg["clip"],
                     plateau=run.plateau)
        v = tb = math.nan
        for epoch in range(1, run.epochs + 1):
            tb = tr.advance(spe)
            v = tr.bits(*val)
            if run.plateau is not None and math.isfinite(v):
                tr.scheduler.observe(v)
            run.report(epoch=epoch, val=v, train_bits=tb, lr=tr.lr)
        return {"test": tr.bits(*test), "val": v, "train_bits": tb, "diverged": tr.diverged}
