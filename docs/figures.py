"""Draw the figures of the docs: docs/img/families.png (one panel per schedule family of SPEC section 1)
and docs/img/recipes.png (docs/recipes.md).

Run: ``python docs/figures.py`` (needs matplotlib).
"""

from __future__ import annotations

import os

import numpy as np

import lrkit as lk
from lrkit.plot import figure, save
from lrkit.recipes import Phase, one_cycle_momentum, phased, weight_decay_schedule

IMG = os.path.join(os.path.dirname(__file__), "img")

FAMILIES = [
    "constant(0.5, steps=1000)",
    "linear(1000, start=1, end=0.1)",
    "warmup(200) >> constant()",
    "step(250, gamma=0.5)",
    "multistep([300, 600, 600], gamma=0.5)",
    "exponential(half_life=250)",
    "cosine(1000, end=0.05)",
    "polynomial(1000, power=2)",
    "inverse_time(100)",
    "warmup(100) >> inverse_sqrt(100)",
    "cyclic(0.1, 1, 125, mode='triangular2')",
    "one_cycle(1000)",
    "restarts(cosine(100, end=0.1), period_mult=2, decay=0.7)",
    "piecewise([250, 500, 750], [1, 0.5, 0.25, 0.1])",
    "interpolate([(0, 0.2), (300, 1), (1000, 0.1)], shape='cosine')",
    "wsd(1000, 100, 300, shape='1-sqrt')",
    "noisy(warmup(100) >> cosine(900), 0.1, seed=1)",
    "(warmup(100) >> cosine(900)) * step(500, gamma=0.5)",
]


def families(path: str = os.path.join(IMG, "families.png")) -> str:
    ts = np.arange(1000)
    cols = 3
    rows = -(-len(FAMILIES) // cols)
    fig = figure(12, 2.1 * rows, dpi=90)
    axes = fig.subplots(rows, cols, sharex=True)
    for ax, spec in zip(axes.flat, FAMILIES):
        s = lk.parse(spec)
        ax.plot(ts, s.values(ts), lw=1.3)
        ax.set_title(spec, fontsize=7)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(FAMILIES):]:
        ax.axis("off")
    fig.tight_layout()
    save(fig, path)
    return path


def recipes(path: str = os.path.join(IMG, "recipes.png")) -> str:
    """A phased plan; one cycle with inverse momentum; AdamW's decay per step under both ``keep`` choices."""
    fig = figure(15, 3.8, dpi=100)
    axes = fig.subplots(1, 3)
    t = np.arange(3000)
    plan = phased([Phase(1200, name="explore", lr=lk.cyclic(0.2, 1.0, up=200), momentum=1.0),
                   Phase(1500, name="anneal", lr=lk.cosine(1500, end=0.05), momentum=0.95),
                   Phase(300, name="settle", lr=0.02, momentum=0.0)])
    twin = _pair(axes[0], t, 0.1 * plan["lr"].values(t), "lr (base 0.1)",
                 0.9 * plan["momentum"].values(t), "momentum (base 0.9)")
    axes[0].set_title("phased: explore, anneal, settle")
    twin.set_ylabel("momentum")
    ts = np.arange(1000)
    lr = lk.one_cycle(1000, peak=0.4, div_factor=10)
    twin = _pair(axes[1], ts, lr.values(ts), f"lr: {lr}", one_cycle_momentum(1000).values(ts),
                 "momentum: one_cycle_momentum(1000)")
    axes[1].set_title("super-convergence: one cycle, inverse momentum")
    twin.set_ylabel("momentum")
    s, ts = lk.warmup(100) >> lk.cosine(1900, end=0.01), np.arange(2000)
    for keep in ("product", "wd"):
        decay = 1e-3 * s.values(ts) * 0.1 * weight_decay_schedule(s, keep=keep).values(ts)
        axes[2].plot(ts, decay, label=f"keep={keep!r}: lr_t * wd_t")
    axes[2].set_title("AdamW decay per step, lr 1e-3, wd 0.1")
    axes[2].set_ylabel("lr_t * wd_t")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


def _pair(ax, t, lr, lr_label, momentum, momentum_label):
    """The lr on ``ax`` and the momentum on a twin axis (orange), each with its legend; returns the twin."""
    ax.plot(t, lr, label=lr_label)
    ax.set_ylabel("lr")
    twin = ax.twinx()
    twin.plot(t, momentum, color="tab:orange", label=momentum_label)
    ax.legend(fontsize=7, loc="upper right")
    twin.legend(fontsize=7, loc="center right")
    return twin


if __name__ == "__main__":
    for spec in FAMILIES:
        print(lk.parse(spec).describe() if lk.parse(spec).duration else f"{spec}: endless")
    print("wrote", families())
    print("wrote", recipes())
