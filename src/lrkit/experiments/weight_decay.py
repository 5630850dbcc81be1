"""``weight-decay``: AdamW's effective decay ``lr * wd`` under a schedule.

torch's AdamW shrinks every weight each step by the factor ``1 - lr_t wd_t``:
its decay per step is the product ``lr_t wd_t``. With a constant ``wd`` and a
cosine lr (to 1% of its start) the product follows the lr down and totals
about half of ``T lr wd``. The recipe ``weight_decay_schedule(lr, keep="product")``
schedules ``wd_t`` so the product stays ``lr wd`` (about twice the total
decay). The decay-matched control keeps ``wd`` constant but raises it so its
total ``sum_t lr_t wd`` equals the recipe's: the same amount of decay, applied
early (with the lr) instead of evenly.

An MLP (two hidden layers of 128) on 1000 MNIST-1D samples (a random subset
per seed; held out: the 1000 test samples), AdamW lr 3e-3 under
``cosine(end=0.01)``, batch 64, 30 epochs, all three arms from the same init
and batches. Claims (per seed): keeping ``lr * wd`` constant (1) regularises
more than a constant ``wd``: weights > 5% smaller and a higher training loss;
(2) lowers the held-out loss by > 2%; (3) at equal total decay (the control)
still ends with weights > 2% smaller. Measured too: its held-out loss against
the control. The knob is ``wd``.
"""

from __future__ import annotations

import numpy as np

from .. import cosine
from ..lab.batched import AdamW, step_orders
from ..lab.data import load_dataset
from .base import Check, ExperimentResult, cell_at, rng, sweep
from .figures import figure, finish, rate_curve
from .nets import Nets, threads, train

NAME = "weight-decay"
QUESTION = ("Under a decaying lr AdamW's effective decay lr*wd shrinks; does keeping it "
            "constant change the result, beyond the total amount of decay?")
CLAIM = ("keeping lr*wd constant (vs constant wd) gives > 5% smaller weights and a higher training loss, a > 2% "
         "lower held-out loss, and > 2% smaller weights than constant wd at the same total decay")
KNOB = "wd"

SMALLER, LOWER, MATCHED_SMALLER = 0.95, 0.98, 0.98
WDS = (0.03, 0.1, 0.3, 1.0, 3.0)
DEFAULT = 0.3
LR, END, BATCH, HIDDEN, N_TRAIN = 3e-3, 0.01, 64, 128, 1000
ARMS = ("keep wd", "keep lr*wd", "matched control")


def decay_tables(wd: float, steps: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per arm, the lr and weight decay of every step."""
    from ..recipes import weight_decay_schedule

    shape = cosine(steps, end=END)
    ts = np.arange(steps, dtype=np.float64)
    lr = LR * shape.values(ts)
    product = wd * weight_decay_schedule(shape, keep="product").values(ts)
    matched = wd * steps * LR / lr.sum()          # sum_t lr_t * matched == sum_t LR * wd
    return {"keep wd": (lr, np.full(steps, wd)), "keep lr*wd": (lr, product),
            "matched control": (lr, np.full(steps, matched))}


def measure(seeds: list[int], epochs: int, progress=None) -> dict:
    """Train every (seed, wd, arm) at once; final weight norm, training and held-out loss."""
    data = load_dataset("mnist1d")
    keys = [(s, wd, arm) for s in seeds for wd in WDS for arm in ARMS]
    net_seeds = [k[0] for k in keys]
    spe = N_TRAIN // BATCH
    steps = epochs * spe
    subsets = {s: np.sort(rng(s, 81).choice(len(data.y_train), N_TRAIN, replace=False)) for s in seeds}
    local = step_orders(net_seeds, N_TRAIN, BATCH, steps)
    order = np.stack([subsets[s][local[:, i]] for i, s in enumerate(net_seeds)], axis=1)
    tables = {wd: decay_tables(wd, steps) for wd in WDS}
    lrs = np.stack([tables[wd][arm][0] for _, wd, arm in keys], axis=1)
    wds = np.stack([tables[wd][arm][1] for _, wd, arm in keys], axis=1)
    with threads(1):
        nets = Nets([data.n_features, HIDDEN, HIDDEN, data.n_classes], net_seeds)
        tick = (lambda t: progress.advance(f"step {t}/{steps}")) if progress else None
        train(nets, data.x_train, data.y_train, order, lrs, AdamW(nets.params), wds=wds, every=steps // 10,
              on_eval=tick)
        xs = np.stack([data.x_train[subsets[s]] for s in net_seeds])
        ys = np.stack([data.y_train[subsets[s]] for s in net_seeds])
        tr, _ = nets.evaluate(xs, ys)
        te, acc = nets.evaluate(data.x_val, data.y_val)
        norm = nets.norms()
    total = {(wd, arm): float(np.sum(tables[wd][arm][0] * tables[wd][arm][1])) for wd in WDS for arm in ARMS}
    return {k: {"norm": float(norm[i]), "train": float(tr[i]), "test": float(te[i]), "acc": float(acc[i]),
                "total": total[k[1], k[2]]} for i, k in enumerate(keys)}


def _checks(w: dict, p: dict, m: dict) -> tuple[list[Check], dict]:
    return [
        Check(f"keep lr*wd regularises more: weights > {1 - SMALLER:.0%} smaller, training loss higher",
              p["norm"] < SMALLER * w["norm"] and p["train"] > w["train"],
              f"norm {p['norm']:.2f} vs {w['norm']:.2f}, training loss {p['train']:.3f} vs {w['train']:.3f}"),
        Check(f"keep lr*wd lowers the held-out loss by > {1 - LOWER:.0%}", p["test"] < LOWER * w["test"],
              f"{p['test']:.4f} vs {w['test']:.4f} (accuracy {p['acc']:.3f} vs {w['acc']:.3f})"),
        Check(f"at equal total decay (control) keep lr*wd still ends with weights > {1 - MATCHED_SMALLER:.0%} smaller",
              p["norm"] < MATCHED_SMALLER * m["norm"],
              f"norm {p['norm']:.2f} vs {m['norm']:.2f} (sum of lr*wd {p['total']:.3g} vs {m['total']:.3g})"),
    ], {"norm ratio (vs keep wd)": p["norm"] / w["norm"], "held-out ratio (vs keep wd)": p["test"] / w["test"],
        "norm ratio (vs control)": p["norm"] / m["norm"], "held-out ratio (vs control)": p["test"] / m["test"],
        "beats control on held-out": float(p["test"] < LOWER * m["test"]),
        **{f"loss: {k}": d["test"] for k, d in zip(ARMS, (w, p, m))}}


def progress_total(seeds: int, quick: bool) -> int:
    return 10          # train() reports every tenth of the run


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Measure and check (see the module doc): 30 epochs (``quick``: 4). Returns ``(result, figure)``."""
    epochs = 4 if quick else 30
    res = measure(seeds, epochs, progress)
    cells = sweep([KNOB], WDS, seeds, lambda wd, s: _checks(*(res[s, wd, arm] for arm in ARMS)),
                  means=("beats control on held-out",))
    default = cell_at(cells, DEFAULT)
    rows = [{KNOB: c.setting[KNOB], **{(k if k.startswith("beats") else f"median {k}"): v
                                       for k, v in c.numbers.items() if not k.startswith("loss: ")},
             "pass rate": c.pass_rate} for c in cells]
    for r in rows:
        r["share of seeds: held-out > 2% below control"] = r.pop("beats control on held-out")
    result = ExperimentResult(NAME, QUESTION, CLAIM, [KNOB], default, cells, rows, dict(default.numbers),
                              quick=quick)
    result.notes.append("held-out loss of keep lr*wd against the decay-matched control (median ratio): "
                        + ", ".join(f"wd {c.setting[KNOB]:g}: {c.numbers['held-out ratio (vs control)']:.3f}"
                                    for c in cells))
    best = {arm: min(cells, key=lambda c: c.numbers[f"loss: {arm}"]) for arm in ARMS}
    result.notes.append("each arm at its own best wd of the sweep (median held-out loss): " + ", ".join(
        f"{arm} {best[arm].numbers[f'loss: {arm}']:.3f} (wd {best[arm].setting[KNOB]:g})" for arm in ARMS))
    result.numbers.update({f"best {arm}": best[arm].numbers[f"loss: {arm}"] for arm in ARMS})
    return result, _figure(cells)


def _figure(cells):
    """Held-out loss of the three arms against wd (medians); the pass rate against wd."""
    fig, (ax, ax2) = figure(2)
    wds = [c.setting[KNOB] for c in cells]
    for arm in ARMS:
        ax.plot(wds, [c.numbers[f"loss: {arm}"] for c in cells], "o-", lw=1.2, label=arm)
    ax.set(xscale="log", xlabel="wd", ylabel="held-out loss (median over seeds)",
           title=f"AdamW, lr {LR:g} x cosine(end={END:g})")
    rate_curve(ax2, cells, KNOB, default=DEFAULT)
    return finish(fig, (ax, ax2))
