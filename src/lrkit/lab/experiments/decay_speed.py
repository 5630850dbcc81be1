"""``decay-speed``: too fast a decay underfits, too slow a decay overfits.

An MLP (two hidden layers of 128) on 1000 training samples of MNIST-1D
(validation: the 1000 held-out samples) can fit its training set exactly and
overfits badly. SGD (momentum 0.9, lr 0.05, batch 50) under an exponential
decay of half-life ``H``: the lr integrates to ``sum_t lr_t ~ lr H / ln 2``, the
"training time" of gradient flow. Too short a half-life (0.5 epoch) stops
training before the model fits (training loss stalls high); too long a one
(half the lr once over the run) keeps training long after the validation loss
has bottomed out: training loss falls, validation loss rises. A half-life of
4 epochs puts the end of training near the best early-stopping point.
"""

from __future__ import annotations

import numpy as np

from .base import Check, ExperimentResult, figure, finish, mnist1d_subset, torch_threads, write_outputs

NAME = "decay-speed"
QUESTION = ("On real data with a model that can overfit, does too fast a decay underfit, too "
            "slow a decay overfit, and a moderate one win?")

SCHEDULES = {"too fast": "exponential(half_life='0.5ep')", "moderate": "exponential(half_life='4ep')",
             "too slow": "exponential(half_life='100%')"}
N_TRAIN, LR, BATCH = 1000, 0.05, 50


def run(out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Measure and check (see the module doc): 60 epochs, 2 seeds (``quick``: 30 epochs, 1 seed).

    ``seed`` changes every random draw; with ``out``, the figure and tables are written there.
    """
    from ..models import make_model
    from ..train import train_batched

    epochs, seeds = (30, 1) if quick else (60, 2)
    data = mnist1d_subset(N_TRAIN)
    runs: dict[str, list] = {k: [] for k in SCHEDULES}
    with torch_threads(1):
        for s in range(seed, seed + seeds):
            model = make_model("mlp", data.n_features, data.n_classes, seed=s)
            out_runs = train_batched(model, data, list(SCHEDULES.values()), epochs=epochs, batch_size=BATCH,
                                     lr=LR, seed=s, momentum=0.9, labels=list(SCHEDULES))
            for r in out_runs:
                runs[r.label].append(r)
    curves = {k: {f: np.mean([getattr(r, f) for r in rs], axis=0) for f in ("train_loss", "val_loss", "val_acc")}
              for k, rs in runs.items()}
    rows = []
    for k, c in curves.items():
        best = int(np.argmin(c["val_loss"]))
        rows.append({"decay": k, "schedule": SCHEDULES[k], "final train loss": float(c["train_loss"][-1]),
                     "final val loss": float(c["val_loss"][-1]), "best val loss": float(c["val_loss"][best]),
                     "epoch of best val": best + 1, "final val acc": float(c["val_acc"][-1])})
    row = {r["decay"]: r for r in rows}
    fast, mid, slow = curves["too fast"], curves["moderate"], curves["too slow"]
    half = epochs // 2
    stall = abs(fast["train_loss"][-1] / fast["train_loss"][half - 1] - 1)
    rise = slow["val_loss"][-1] / slow["val_loss"].min()
    fall = slow["train_loss"][-1] / slow["train_loss"][int(np.argmin(slow["val_loss"]))]
    others = min(row["too fast"]["final val loss"], row["too slow"]["final val loss"])
    checks = [
        Check("too fast underfits: training loss stalls high (moves < 2% over the second half; > 1.5x moderate's)",
              stall < 0.02 and fast["train_loss"][-1] > 1.5 * mid["train_loss"][-1],
              f"final train loss {fast['train_loss'][-1]:.3f} (moderate {mid['train_loss'][-1]:.3f}), "
              f"change over the second half {stall:.2%}"),
        Check("too slow overfits: validation loss rises (> 1.3x its best) while training loss falls (< 0.5x)",
              rise > 1.3 and fall < 0.5,
              f"val loss {slow['val_loss'].min():.3f} -> {slow['val_loss'][-1]:.3f} (x{rise:.2f}), "
              f"train loss x{fall:.3f} over the same epochs"),
        Check("moderate wins: the lowest final validation loss, by > 10%",
              row["moderate"]["final val loss"] < 0.9 * others,
              ", ".join(f"{k}: {r['final val loss']:.3f}" for k, r in row.items())),
    ]
    numbers = {f"{k.replace(' ', '_')}_{m}": float(r[f"final {m.replace('_', ' ')}"])
               for k, r in row.items() for m in ("train_loss", "val_loss", "val_acc")}
    notes = [f"validation accuracy does not show the overfitting here: 'too slow' ends with the highest accuracy "
             f"({row['too slow']['final val acc']:.3f}, moderate {row['moderate']['final val acc']:.3f}); its "
             "confident mistakes cost loss, not accuracy"]
    result = ExperimentResult(NAME, QUESTION, checks, rows, numbers, notes)

    fig = _figure(curves, epochs, seeds)
    return write_outputs(result, out, fig)


def _figure(curves, epochs, seeds):
    """Validation and training loss per epoch (left), validation accuracy (right)."""
    fig, (ax, ax2) = figure(2)
    ep = np.arange(1, epochs + 1)
    for k, c in curves.items():
        line, = ax.plot(ep, c["val_loss"], lw=1.3, label=f"{k}: validation")
        ax.plot(ep, c["train_loss"], lw=1.0, ls="--", color=line.get_color(), label=f"{k}: training")
        ax2.plot(ep, c["val_acc"], lw=1.3, color=line.get_color(), label=k)
    ax.set(xlabel="epoch", ylabel="loss", title=f"MLP on MNIST-1D ({N_TRAIN} samples), mean of {seeds} seed(s)")
    ax2.set(xlabel="epoch", ylabel="validation accuracy", title="accuracy")
    return finish(fig, (ax, ax2))
