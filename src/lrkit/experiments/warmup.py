"""``warmup``: a large lr from the first step spikes; warmed up to the same peak, it does not.

Gradient descent is stable near a point only if ``lr < 2 / sharpness`` (the
largest Hessian eigenvalue; see ``gradient-flow``). An MLP whose output layer
starts ``scale`` times larger than usual (large initial logits, as in wide
networks in the standard parameterisation) starts sharp. SGD (batch 64, 300
steps, on digits) under a cosine decay from the peak lr, against a linear
warmup over 100 steps to the same peak followed by the same kind of decay.
The warmup lets the sharpness fall while the lr is still small.

Claims (per seed; the same init and batches for both schedules): (1) without
warmup the run spikes: the largest batch loss of steps 0-49 is >= 1.3x the
first one, or the run diverges; (2) with warmup it does not (< 1.15x, no
divergence); (3) with warmup it trains (held-out accuracy >= 0.95). Knobs: the
peak lr and the output-layer scale (which sets the initial sharpness).
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import cosine, warmup
from ..lab.batched import SGD, step_orders
from ..lab.data import load_dataset
from .base import Check, ExperimentResult, cell_at, sweep
from .figures import figure, finish, rate_map
from .nets import Nets, sharpness, threads, train

NAME = "warmup"
QUESTION = ("Does a large lr without warmup diverge or spike early, while the same peak "
            "reached by a warmup trains?")
CLAIM = ("without warmup the loss spikes early (max of steps 0-49 >= 1.3x the first, or diverges); warmed up to "
         "the same peak it does not (< 1.15x) and trains (held-out accuracy >= 0.95)")
KNOBS = ("peak lr", "output scale")

SPIKE, CALM, ACC = 1.3, 1.15, 0.95
PEAKS = (0.35, 0.7, 1.0, 1.4)
SCALES = (1.0, 3.0, 10.0)
DEFAULT = (0.7, 10.0)
WARMUP, WINDOW, BATCH, HIDDEN = 100, 50, 64, 128


def schedules(steps: int) -> dict:
    return {"no warmup": cosine(steps), "warmup": warmup(WARMUP) >> cosine(steps - WARMUP)}


def measure(seeds: list[int], steps: int, progress=None) -> dict:
    """Train every (seed, peak, scale, arm) at once: batch losses, held-out accuracy, initial sharpness."""
    data = load_dataset("digits")
    keys = [(s, p, sc, arm) for s in seeds for p in PEAKS for sc in SCALES for arm in schedules(steps)]
    net_seeds = [k[0] for k in keys]
    ts = np.arange(steps, dtype=np.float64)
    shapes = {k: s.values(ts) for k, s in schedules(steps).items()}
    lrs = np.stack([p * shapes[arm] for _, p, _, arm in keys], axis=1)
    sizes = [data.n_features, HIDDEN, HIDDEN, data.n_classes]
    with threads(1):
        probe = Nets(sizes, [s for s in seeds for _ in SCALES], [sc for _ in seeds for sc in SCALES])
        sharp = sharpness(probe, data.x_train[:256], data.y_train[:256])
        nets = Nets(sizes, net_seeds, [k[2] for k in keys])
        order = step_orders(net_seeds, len(data.y_train), BATCH, steps)
        tick = (lambda t: progress.advance(f"step {t}/{steps}")) if progress else None
        losses = train(nets, data.x_train, data.y_train, order, lrs, SGD(nets.params), every=steps // 10,
                       on_eval=tick)
        _, acc = nets.evaluate(data.x_val, data.y_val)
    lam = {(s, sc): float(sharp[i * len(SCALES) + j]) for i, s in enumerate(seeds) for j, sc in enumerate(SCALES)}
    return {k: {"losses": losses[:, i], "acc": float(acc[i]) if np.isfinite(losses[-1, i]) else 0.0,
                "sharpness": lam[k[0], k[2]]} for i, k in enumerate(keys)}


def _spike(losses: np.ndarray) -> float:
    head = losses[:WINDOW]
    return float(np.max(head) / head[0]) if np.all(np.isfinite(losses)) else np.inf


def _checks(no: dict, wu: dict) -> tuple[list[Check], dict]:
    a, b = _spike(no["losses"]), _spike(wu["losses"])
    return [
        Check(f"without warmup the loss spikes (>= {SPIKE:g}x the first in steps 0-{WINDOW - 1}) or diverges",
              a >= SPIKE, f"ratio {a:.2f}" if np.isfinite(a) else "diverged"),
        Check(f"with warmup it does not (< {CALM:g}x, no divergence)", b < CALM,
              f"ratio {b:.2f}" if np.isfinite(b) else "diverged"),
        Check(f"with warmup it trains (held-out accuracy >= {ACC:g})", wu["acc"] >= ACC, f"accuracy {wu['acc']:.3f}"),
    ], {"spike no warmup": a, "spike warmup": b, "acc no warmup": no["acc"], "acc warmup": wu["acc"],
        "diverged no warmup": float(not np.isfinite(no["losses"][-1])),
        "diverged warmup": float(not np.isfinite(wu["losses"][-1])), "sharpness at init": wu["sharpness"]}


def progress_total(seeds: int, quick: bool) -> int:
    return 10          # train() reports every tenth of the run


def run(seeds: list[int], *, quick: bool = False, progress=None):
    """Measure and check (see the module doc): 300 steps (``quick``: 120). Returns ``(result, figure)``."""
    steps = 120 if quick else 300
    res = measure(seeds, steps, progress)
    cells = sweep(KNOBS, itertools.product(PEAKS, SCALES), seeds,
                  lambda p, sc, s: _checks(res[s, p, sc, "no warmup"], res[s, p, sc, "warmup"]),
                  means=("diverged no warmup", "diverged warmup"))
    default = cell_at(cells, DEFAULT)
    rows = [{**c.setting, **{(k if "diverged" in k else f"median {k}"): v for k, v in c.numbers.items()},
             "pass rate": c.pass_rate} for c in cells]
    result = ExperimentResult(NAME, QUESTION, CLAIM, list(KNOBS), default, cells, rows, dict(default.numbers),
                              quick=quick)
    diff = np.array([res[(s, *DEFAULT, "warmup")]["acc"] - res[(s, *DEFAULT, "no warmup")]["acc"] for s in seeds])
    half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    result.numbers["acc_diff_mean"] = float(diff.mean())
    result.notes.append(f"held-out accuracy, warmup minus no warmup, at the default setting: {100 * diff.mean():+.2f} "
                        f"points (95% CI +-{100 * half:.2f}, {len(diff)} seeds, paired)")
    return result, _figure(res, seeds, steps, cells)


def _figure(res, seeds, steps, cells):
    """Batch losses of every seed at the default setting; the pass-rate map over peak lr and output scale."""
    fig, (ax, ax2) = figure(2, width=5.0)
    colors = {"no warmup": "tab:red", "warmup": "tab:blue"}
    for arm, color in colors.items():
        for i, s in enumerate(seeds):
            ax.plot(res[s, DEFAULT[0], DEFAULT[1], arm]["losses"], lw=0.6, color=color, alpha=0.7,
                    label=arm if i == 0 else None)
    ax.set(yscale="log", xlabel="step", ylabel="batch loss",
           title=f"peak lr {DEFAULT[0]:g}, output x{DEFAULT[1]:g}, {len(seeds)} seeds")
    rate_map(fig, ax2, cells, *KNOBS, default=DEFAULT)
    return finish(fig, (ax, ax2))
