"""Draw docs/img/families.png: one panel per schedule family of SPEC section 1.

Run: ``python docs/figures.py`` (needs matplotlib).
"""

from __future__ import annotations

import os

import numpy as np

import lrkit as lk
from lrkit.plot import figure, save

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


def main(path: str = os.path.join(os.path.dirname(__file__), "img", "families.png")) -> str:
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


if __name__ == "__main__":
    for spec in FAMILIES:
        print(lk.parse(spec).describe() if lk.parse(spec).duration else f"{spec}: endless")
    print("wrote", main())
