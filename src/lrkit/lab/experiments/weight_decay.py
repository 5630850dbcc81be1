"""``weight-decay``: AdamW's effective decay ``lr * wd`` under a schedule.

torch's AdamW shrinks every weight each step by the factor ``1 - lr_t wd_t``:
its decay per step is the product ``lr_t wd_t``. With a constant ``wd`` and a
cosine lr, that product follows the lr down to 1% of its start at the end;
over the run it totals half of ``T lr wd``. The recipe
``lrkit.recipes.weight_decay_schedule(lr, keep="product")`` schedules ``wd_t``
so the product stays ``lr wd`` (twice the total decay). The same MLP is
trained with AdamW (lr 3e-3, wd 0.3, cosine to 1%) on 1000 MNIST-1D samples
(it overfits) both ways, plus a control with the total decay matched
(``keep="wd"`` with ``wd`` doubled).

Claims: the measured ``lr_t wd_t`` of the optimizer's groups shrinks with the
lr under ``keep="wd"`` and stays constant under ``keep="product"``; keeping
it constant regularises more (smaller weights, higher training loss) and, on
this overfitting task, lowers the validation loss; at equal total decay,
decay applied late (keep="product") still ends with smaller weights than
decay applied early.
"""

from __future__ import annotations

import math

import numpy as np

from ... import cosine
from .base import Check, ExperimentResult, figure, finish, mnist1d_subset, torch_threads, write_outputs

NAME = "weight-decay"
QUESTION = ("Under a decaying lr AdamW's effective decay lr*wd shrinks; does keeping it "
            "constant change the result?")

LR, WD, BATCH = 3e-3, 0.3, 64
ARMS = (("keep wd", "wd", WD), ("keep lr*wd", "product", WD), ("keep wd, wd x2", "wd", 2 * WD))


def _train(data, keep: str, wd: float, seed: int, epochs: int) -> dict:
    import torch
    import torch.nn.functional as F

    from ...recipes import weight_decay_schedule
    from ...torch import Scheduler
    from ..models import make_model

    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    spe = -(-len(y) // BATCH)
    lr_schedule = cosine(epochs * spe, end=0.01)
    model = make_model("mlp", data.n_features, data.n_classes, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=wd)
    sched = Scheduler(opt, {"lr": lr_schedule, "weight_decay": weight_decay_schedule(lr_schedule, keep=keep)})
    rng = np.random.default_rng(seed)
    product, norms = [], []
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(len(y)))
        for b in range(spe):
            idx = perm[b * BATCH:(b + 1) * BATCH]
            g = opt.param_groups[0]
            product.append(g["lr"] * g["weight_decay"])
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        norms.append(math.sqrt(sum(float((p.detach() ** 2).sum()) for p in model.parameters())))
    with torch.no_grad():
        out = model(torch.from_numpy(data.x_val))
        yv = torch.from_numpy(data.y_val)
        val, acc = F.cross_entropy(out, yv).item(), float((out.argmax(1) == yv).double().mean())
        train = F.cross_entropy(model(x), y).item()
    return {"product": np.array(product), "norms": np.array(norms), "train": train, "val": val, "acc": acc,
            "lr": LR * lr_schedule.values(np.arange(epochs * spe))}


def run(out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Measure and check (see the module doc): 30 epochs, 2 seeds (``quick``: 20 epochs, 1 seed).

    ``seed`` changes every random draw; with ``out``, the figure and tables are written there.
    """
    epochs, seeds = (20, 1) if quick else (30, 2)
    data = mnist1d_subset(1000)
    res: dict[str, list[dict]] = {label: [] for label, _, _ in ARMS}
    with torch_threads(1):
        for s in range(seed, seed + seeds):
            for label, keep, wd in ARMS:
                res[label].append(_train(data, keep, wd, s, epochs))
    mean = {label: {k: float(np.mean([r[k] for r in rs])) for k in ("train", "val", "acc")}
            for label, rs in res.items()}
    for label, rs in res.items():
        mean[label]["norm"] = float(np.mean([r["norms"][-1] for r in rs]))
        mean[label]["total"] = float(np.sum(rs[0]["product"]))
    rows = [{"weight decay": label, "wd": wd, "keep": keep, "sum of lr*wd": mean[label]["total"],
             "final weight norm": mean[label]["norm"], "train loss": mean[label]["train"],
             "val loss": mean[label]["val"], "val acc": mean[label]["acc"]} for label, keep, wd in ARMS]
    a, b, c = (res[label][0] for label, _, _ in ARMS)
    shrink_err = float(np.max(np.abs(a["product"] - WD * a["lr"]) / (WD * a["lr"])))
    const_err = float(np.max(np.abs(b["product"] / (LR * WD) - 1)))
    w, p, m = (mean[label] for label, _, _ in ARMS)
    checks = [
        Check("keep wd: the measured lr_t*wd_t is wd*lr_t, falling with the lr (to 1% at the end)",
              shrink_err < 1e-9 and a["product"][-1] < 0.02 * a["product"][0],
              f"{a['product'][0]:.3g} -> {a['product'][-1]:.3g}; largest gap to wd*lr_t {shrink_err:.1g}"),
        Check("keep lr*wd: the measured lr_t*wd_t stays lr*wd at every step", const_err < 1e-9,
              f"{LR * WD:.3g} at every step (largest relative gap {const_err:.1g})"),
        Check("keeping it constant regularises more: weights > 5% smaller, training loss higher",
              p["norm"] < 0.95 * w["norm"] and p["train"] > w["train"],
              f"norm {p['norm']:.2f} vs {w['norm']:.2f}, train loss {p['train']:.3f} vs {w['train']:.3f}"),
        Check("on this overfitting task it lowers the validation loss (by > 2%)", p["val"] < 0.98 * w["val"],
              f"{p['val']:.4f} vs {w['val']:.4f} (accuracy {p['acc']:.3f} vs {w['acc']:.3f})"),
        Check("at equal total decay (wd x2, keep wd), decay kept to the end still gives smaller weights (> 2%)",
              p["norm"] < 0.98 * m["norm"],
              f"norm {p['norm']:.2f} vs {m['norm']:.2f} (sum of lr*wd {p['total']:.3f} vs {m['total']:.3f})"),
    ]
    numbers = {f"{k}_{label.replace(' ', '_').replace('*', '').replace(',', '')}": v
               for label, d in mean.items() for k, v in d.items()}
    notes = [f"validation accuracy hardly moves: {p['acc']:.3f} (keep lr*wd) vs {w['acc']:.3f} (keep wd) "
             f"vs {m['acc']:.3f} (wd x2)"]
    result = ExperimentResult(NAME, QUESTION, checks, rows, numbers, notes)

    fig = _figure(res, epochs)
    return write_outputs(result, out, fig)


def _figure(res, epochs):
    """lr_t * wd_t per step (left), the weight norm per epoch (right)."""
    fig, (ax, ax2) = figure(2)
    for label, _, _ in ARMS:
        r = res[label][0]
        line, = ax.plot(r["product"], lw=1.2, label=label)
        ax2.plot(np.arange(1, epochs + 1), r["norms"], lw=1.2, color=line.get_color(), label=label)
    ax.set(xlabel="step", ylabel="lr_t * wd_t (decay per step)", title=f"AdamW, lr {LR:g} x cosine, wd {WD:g}")
    ax2.set(xlabel="epoch", ylabel="weight norm", title="weights")
    return finish(fig, (ax, ax2))
