"""``warmup``: a large lr from the first step spikes; warmed up to the same peak, it does not.

Gradient descent is stable near a point only if ``lr < 2 / sharpness``
(the largest Hessian eigenvalue; see ``gradient-flow``). An MLP whose output
layer starts 10x larger than usual (large initial logits, as in wide networks
in the standard parameterisation) has a sharpness near 20 at initialisation:
stable only below lr 0.1. SGD under a cosine decay from lr 0.7 is, from the first step, 7x over that
limit: the loss shoots up within a few steps (a "catapult"), the sharpness
collapses, and only then does training proceed. A linear warmup over 100
steps to the same 0.7 (then the same cosine decay) lets the sharpness fall
while the lr is still small: the loss goes down from the start. Claims, over several seeds: without warmup
every run spikes (the largest loss of the first 50 steps is >= 1.3x the first
loss), with warmup none does (< 1.15x), and the warmed-up runs train (>= 95%
validation accuracy). Measured too: both end equally well here — the
catapulted runs recover.
"""

from __future__ import annotations

import math

import numpy as np

from ... import cosine, warmup
from .base import Check, ExperimentResult, figure, finish, torch_threads, write_outputs

NAME = "warmup"
QUESTION = ("Does a large lr without warmup diverge or spike early, while the same peak "
            "reached by a warmup trains?")

LR, SCALE, WARMUP, WINDOW, BATCH = 0.7, 10.0, 100, 50, 64


def sharpness(model, x, y, iters: int = 20) -> float:
    """Largest Hessian eigenvalue of the mean cross-entropy on ``(x, y)`` (power iteration)."""
    import torch

    params = [p for p in model.parameters()]
    loss = torch.nn.functional.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    gen = torch.Generator().manual_seed(0)
    v = [torch.randn(p.shape, generator=gen) for p in params]
    lam = 0.0
    for _ in range(iters):
        norm = torch.sqrt(sum((a * a).sum() for a in v))
        v = [a / norm for a in v]
        hv = torch.autograd.grad(grads, params, v, retain_graph=True)
        lam = float(sum((a * b).sum() for a, b in zip(hv, v)))
        v = [h.detach() for h in hv]
    return lam


def _train(data, schedule, seed: int, steps: int) -> dict:
    import torch

    from ...torch import Scheduler
    from ..models import make_model

    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    model = make_model("mlp", data.n_features, data.n_classes, seed=seed)
    with torch.no_grad():
        model[-1].weight.mul_(SCALE)
        model[-1].bias.mul_(SCALE)
    lam0 = sharpness(model, x[:512], y[:512])
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    sched = Scheduler(opt, schedule)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        idx = torch.from_numpy(rng.integers(0, len(y), BATCH))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
    with torch.no_grad():
        out = model(torch.from_numpy(data.x_val))
        acc = float((out.argmax(1) == torch.from_numpy(data.y_val)).double().mean())
    finite = math.isfinite(losses[-1])
    return {"losses": np.array(losses), "acc": acc, "lam0": lam0,
            "lam_end": sharpness(model, x[:512], y[:512]) if finite else math.nan}


def run(out: str | None = None, *, quick: bool = False, seed: int = 0) -> ExperimentResult:
    """Measure and check (see the module doc): 6 seeds, 300 steps (``quick``: 3 seeds, 200 steps).

    ``seed`` changes every random draw; with ``out``, the figure and tables are written there.
    """
    from ..data import load_dataset

    seeds, steps = (3, 200) if quick else (6, 300)
    data = load_dataset("digits")
    arms = {"no warmup": cosine(steps), "warmup": warmup(WARMUP) >> cosine(steps - WARMUP)}
    res: dict[str, list[dict]] = {k: [] for k in arms}
    with torch_threads(1):
        for s in range(seed, seed + seeds):
            for k, sched in arms.items():
                res[k].append(_train(data, sched, s, steps))
    spike = {k: [float(np.max(r["losses"][:WINDOW]) / r["losses"][0]) if np.all(np.isfinite(r["losses"][:WINDOW]))
                 else math.inf for r in rs] for k, rs in res.items()}
    rows = []
    for k, rs in res.items():
        for i, r in enumerate(rs):
            rows.append({"schedule": f"{LR:g} x {arms[k]}", "seed": seed + i, "first loss": float(r["losses"][0]),
                         f"max loss, steps 0-{WINDOW - 1}": float(np.max(r["losses"][:WINDOW])),
                         "spike ratio": spike[k][i], "val acc": r["acc"],
                         "sharpness at init": r["lam0"], "sharpness at end": r["lam_end"]})
    accs = {k: [r["acc"] for r in rs] for k, rs in res.items()}
    checks = [
        Check(f"without warmup every run spikes early (max loss of steps 0-{WINDOW - 1} >= 1.3x the first, or diverges)",
              all(v >= 1.3 for v in spike["no warmup"]), "ratios " + ", ".join(f"{v:.2f}" for v in spike["no warmup"])),
        Check("with warmup no run spikes (< 1.15x)", all(v < 1.15 for v in spike["warmup"]),
              "ratios " + ", ".join(f"{v:.2f}" for v in spike["warmup"])),
        Check("with warmup every run trains (validation accuracy >= 0.95)", all(a >= 0.95 for a in accs["warmup"]),
              "accuracies " + ", ".join(f"{a:.3f}" for a in accs["warmup"])),
        Check("the peak lr is far above the stability limit 2/sharpness at initialisation",
              all(LR > 2 * 2 / r["lam0"] for rs in res.values() for r in rs),
              f"lr {LR:g} vs 2/sharpness = {2 / np.mean([r['lam0'] for r in res['warmup']]):.3f} (mean over seeds)"),
    ]
    numbers = {"mean_spike_no_warmup": float(np.mean(spike["no warmup"])),
               "mean_spike_warmup": float(np.mean(spike["warmup"])),
               "mean_acc_no_warmup": float(np.mean(accs["no warmup"])), "mean_acc_warmup": float(np.mean(accs["warmup"])),
               "sharpness_init": float(np.mean([r["lam0"] for r in res["warmup"]]))}
    notes = [f"the runs without warmup recover from the spike (a catapult: the sharpness collapses) and end as "
             f"well: mean validation accuracy {numbers['mean_acc_no_warmup']:.3f} vs {numbers['mean_acc_warmup']:.3f}"]
    result = ExperimentResult(NAME, QUESTION, checks, rows, numbers, notes)

    fig = _figure(res, arms, steps, 2 / numbers["sharpness_init"])
    return write_outputs(result, out, fig)


def _figure(res, arms, steps, limit):
    """Every run's batch loss (left), the two schedules and 2/sharpness (right)."""
    fig, (ax, ax2) = figure(2)
    colors = {"no warmup": "tab:red", "warmup": "tab:blue"}
    for k, rs in res.items():
        for i, r in enumerate(rs):
            ax.plot(r["losses"], lw=0.8, color=colors[k], alpha=0.8, label=k if i == 0 else None)
        ax2.plot(np.arange(steps), LR * arms[k].values(np.arange(steps)), color=colors[k], label=str(arms[k]))
    ax2.axhline(limit, color="gray", ls=":", label="2 / sharpness at init")
    ax.set(yscale="log", xlabel="step", ylabel="training loss (batch)",
           title=f"MLP, output layer x{SCALE:g}, SGD lr {LR:g}")
    ax2.set(xlabel="step", ylabel="lr", title="schedules")
    return finish(fig, (ax, ax2))
