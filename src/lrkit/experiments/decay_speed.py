"""``decay-speed``: too fast a decay underfits, too slow a decay overfits.

An MLP (two hidden layers of 64) on 1000 training samples of MNIST-1D (a
fresh random subset per seed; held out: the 1000 test samples) can fit its
training set exactly and overfits. SGD (momentum 0.9, batch 50, 60 epochs)
under an exponential decay of half-life ``H``: the lr integrates to
``sum_t lr_t ~ lr H / ln 2``, the "training time" of gradient flow. Too short
a half-life (0.5 epoch) stops training before the model fits; too long a one
(the whole run: the lr halves once) keeps training after the held-out loss has
bottomed out; 4 epochs sits in between.

Claims, per seed: (1) too fast underfits: its final training loss is > 1.5x
the moderate one's; (2) too slow overfits: its held-out loss ends > 1.3x its
own best while its training loss ends below the moderate one's; (3) the
moderate decay ends with the lowest held-out loss, by > 10%. The knob is the
lr: the half-lives are in epochs, so the same three schedules spend 20x more
lr at lr 0.2 than at 0.01.
"""

from __future__ import annotations

import numpy as np

from .. import exponential
from ..lab.batched import SGD, step_orders
from ..lab.data import load_dataset
from .base import Check, ExperimentResult, cell_at, rng, sweep
from .figures import figure, finish, rate_curve
from .nets import Nets, threads, train

NAME = "decay-speed"
QUESTION = ("On real data with a model that can overfit, does too fast a decay underfit, too "
            "slow a decay overfit, and a moderate one win?")
CLAIM = ("too fast a decay underfits (training loss > 1.5x moderate's), too slow a decay overfits (held-out "
         "loss ends > 1.3x its best while training loss ends below moderate's), and the moderate decay ends "
         "with the lowest held-out loss by > 10%")
KNOB = "lr"

UNDERFIT, OVERFIT, MARGIN = 1.5, 1.3, 0.9
ARMS = {"too fast": 0.5, "moderate": 4.0, "too slow": None}    # half-life in epochs (None: the whole run)
LRS = (0.01, 0.02, 0.05, 0.1, 0.2)
DEFAULT = 0.05
N_TRAIN, BATCH, HIDDEN = 1000, 50, 64
TRAIN_EVERY = 5                                   # epochs between measurements of the training loss


def _lr_table(epochs: int) -> dict[str, np.ndarray]:
    spe = N_TRAIN // BATCH
    ts = np.arange(epochs * spe, dtype=np.float64)
    return {k: exponential(half_life=(h * spe if h else epochs * spe)).values(ts) for k, h in ARMS.items()}


def measure(seeds: list[int], epochs: int, progress=None) -> dict:
    """Train every (seed, lr, arm) at once; per-epoch training and held-out losses, shape ``(epochs, R)``."""
    data = load_dataset("mnist1d")
    keys = [(s, lr, arm) for s in seeds for lr in LRS for arm in ARMS]
    net_seeds = [s for s, _, _ in keys]
    subsets = {s: np.sort(rng(s, 41).choice(len(data.y_train), N_TRAIN, replace=False)) for s in seeds}
    spe = N_TRAIN // BATCH
    local = step_orders(net_seeds, N_TRAIN, BATCH, epochs * spe)
    order = np.stack([subsets[s][local[:, i]] for i, s in enumerate(net_seeds)], axis=1)
    shapes = _lr_table(epochs)
    lrs = np.stack([lr * shapes[arm] for _, lr, arm in keys], axis=1)
    xs = np.stack([data.x_train[subsets[s]] for s in net_seeds])
    ys = np.stack([data.y_train[subsets[s]] for s in net_seeds])
    hist: dict[str, list] = {"train": [], "test": [], "acc": []}
    with threads(1):
        nets = Nets([data.n_features, HIDDEN, HIDDEN, data.n_classes], net_seeds)

        def on_eval(t):
            epoch = t // spe
            if epoch % TRAIN_EVERY == 0 or epoch == epochs:        # the training loss: for the figure and the end
                hist["train"].append(nets.evaluate(xs, ys)[0])
            loss, acc = nets.evaluate(data.x_val, data.y_val)
            hist["test"].append(loss)
            hist["acc"].append(acc)
            if progress:
                progress.advance(f"epoch {epoch}/{epochs}")

        train(nets, data.x_train, data.y_train, order, lrs, SGD(nets.params, momentum=0.9), every=spe,
              on_eval=on_eval)
    return {key: {k: np.array(v)[:, i] for k, v in hist.items()} for i, key in enumerate(keys)}


def train_epochs(epochs: int) -> np.ndarray:
    """The epochs at which the training loss is measured."""
    return np.array([e for e in range(1, epochs + 1) if e % TRAIN_EVERY == 0 or e == epochs])


def _checks(c: dict) -> tuple[list[Check], dict]:
    fast, mid, slow = c["too fast"], c["moderate"], c["too slow"]
    under = fast["train"][-1] / mid["train"][-1]
    rise = slow["test"][-1] / slow["test"].min()
    final = {k: float(v["test"][-1]) for k, v in c.items()}
    others = min(final["too fast"], final["too slow"])
    return [
        Check(f"too fast underfits: final training loss > {UNDERFIT:g}x moderate's", under > UNDERFIT,
              f"{fast['train'][-1]:.3f} vs {mid['train'][-1]:.3f} (x{under:.2f})"),
        Check(f"too slow overfits: held-out loss ends > {OVERFIT:g}x its best, training loss below moderate's",
              rise > OVERFIT and slow["train"][-1] < mid["train"][-1],
              f"held-out {slow['test'].min():.3f} -> {slow['test'][-1]:.3f} (x{rise:.2f}); training "
              f"{slow['train'][-1]:.3f} vs moderate {mid['train'][-1]:.3f}"),
        Check(f"moderate ends with the lowest held-out loss, by > {1 - MARGIN:.0%}",
              final["moderate"] < MARGIN * others,
              ", ".join(f"{k}: {v:.3f}" for k, v in final.items())),
    ], {"too fast / moderate train loss": under, "too slow held-out rise": rise,
        **{f"{k} held-out loss": v for k, v in final.items()},
        **{f"{k} held-out acc": float(v["acc"][-1]) for k, v in c.items()}}


def _epochs(quick: bool) -> int:
    return 8 if quick else 60


def progress_total(seeds: int, quick: bool) -> int:
    return _epochs(quick)          # one unit per epoch


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Measure and check (see the module doc): 60 epochs (``quick``: 8, and half-lives as stated).
    Returns ``(result, figure)``."""
    epochs = _epochs(quick)
    curves = measure(seeds, epochs, progress)
    cells = sweep([KNOB], LRS, seeds, lambda lr, s: _checks({arm: curves[s, lr, arm] for arm in ARMS}))
    default = cell_at(cells, DEFAULT)
    rows = [{KNOB: c.setting[KNOB], **{f"median {k}": v for k, v in c.numbers.items() if "acc" not in k},
             "pass rate": c.pass_rate} for c in cells]
    result = ExperimentResult(NAME, QUESTION, CLAIM, [KNOB], default, cells, rows, dict(default.numbers),
                              quick=quick)
    acc = {k: default.numbers[f"{k} held-out acc"] for k in ARMS}
    result.notes.append("median held-out accuracy at the default lr: " + ", ".join(f"{k} {v:.3f}"
                                                                                    for k, v in acc.items()))
    return result, _figure(curves, seeds, epochs, cells)


def _figure(curves, seeds, epochs, cells):
    """Mean training and held-out loss per epoch at the default lr; the pass rate against the lr."""
    fig, (ax, ax2) = figure(2)
    ep = np.arange(1, epochs + 1)
    for arm in ARMS:
        test = np.mean([curves[s, DEFAULT, arm]["test"] for s in seeds], axis=0)
        tr = np.mean([curves[s, DEFAULT, arm]["train"] for s in seeds], axis=0)
        line, = ax.plot(ep, test, lw=1.3, label=f"{arm}: held-out")
        ax.plot(train_epochs(epochs), tr, lw=1.0, ls="--", color=line.get_color(), label=f"{arm}: training")
    ax.set(yscale="log", xlabel="epoch", ylabel="loss", title=f"lr {DEFAULT:g}, mean of {len(seeds)} seeds")
    rate_curve(ax2, cells, KNOB, default=DEFAULT)
    return finish(fig, (ax, ax2))
