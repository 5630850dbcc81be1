"""lrkit.keras.PlateauCallback: torch's decisions on the absolute lr (eps included), and mixed precision.

The Keras backend is fixed per process: torch here, JAX in a subprocess that
imports this module with KERAS_BACKEND=jax. Every test that sets the global
dtype policy restores it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from _keras_tiny import SCORES, Feed, X, Y, plateau, tiny_model  # noqa: E402

import lrkit as lk  # noqa: E402
import lrkit.keras  # noqa: E402

SCHEDULE = lk.warmup(10) >> lk.cosine(90)


class Record(keras.callbacks.Callback):
    """The kernel after each epoch and the lr in force at the start of each epoch."""

    def __init__(self):
        super().__init__()
        self.kernels, self.lrs = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.lrs.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def on_epoch_end(self, epoch, logs=None):
        self.kernels.append(float(self.model.layers[0].kernel.numpy()[0, 0]))


# ------------------------------------------------------------ mixed precision
def mixed_precision_run(kind: str) -> dict:
    """fit() under mixed_float16 with the plateau callback; the global policy is restored afterwards."""
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        lr = 0.01 if kind == "float_lr" else lrkit.keras.Schedule(SCHEDULE, base=0.01)
        model = tiny_model(lr)
        rec, cb = Record(), lrkit.keras.PlateauCallback(plateau(), monitor="score")
        history = model.fit(X, Y, batch_size=4, epochs=10, shuffle=False, verbose=0, callbacks=[Feed(SCORES), cb, rec])
        return {"optimizer": type(model.optimizer).__name__, "compute_dtype": model.layers[0].compute_dtype,
                "kernels": rec.kernels, "lr_scale": history.history["lr_scale"], "backend": keras.backend.backend()}
    finally:
        keras.mixed_precision.set_global_policy(before)


def check_mixed_precision(kind: str, got: dict) -> None:
    ref = plateau()
    scales = [ref.update(m) for m in SCORES]
    assert got["optimizer"] == "LossScaleOptimizer" and got["compute_dtype"] == "float16"
    assert got["lr_scale"] == scales
    assert scales[-1] == 0.25  # two reductions, with a cooldown between
    in_force = np.repeat([1.0, *scales[:-1]], 10)
    per_step = np.full(100, 0.01) if kind == "float_lr" else 0.01 * SCHEDULE.values(np.arange(100))
    want = -np.cumsum((per_step * in_force).reshape(10, 10).sum(axis=1))
    np.testing.assert_allclose(got["kernels"], want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", ["float_lr", "lrkit_schedule"])
def test_mixed_precision_in_process(kind):
    got = mixed_precision_run(kind)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert got["backend"] == keras.backend.backend()  # torch under `make test` (KERAS_BACKEND=torch)
    check_mixed_precision(kind, got)


@pytest.mark.slow
def test_mixed_precision_jax_backend():
    code = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import test_keras_plateau as t
print(json.dumps({{kind: t.mixed_precision_run(kind) for kind in ("float_lr", "lrkit_schedule")}}))
"""
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600,
                         check=False)
    assert out.returncode == 0, out.stderr[-3_000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    for kind in ("float_lr", "lrkit_schedule"):
        assert got[kind]["backend"] == "jax"
        check_mixed_precision(kind, got[kind])


# ------------------------------------------------- torch's decisions, eps on the lr
def torch_lrs(lr0: float, cfg: dict, metrics) -> list[float]:
    """The lr in force during each epoch under torch's ReduceLROnPlateau fed ``metrics``."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr0)
    kw = dict(cfg)
    kw["min_lr"] = lr0 * kw.pop("min_scale")
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        out.append(opt.param_groups[0]["lr"])
        sched.step(m)
    return out


def keras_lrs(lr0: float, cfg: dict, metrics, kind: str) -> list[float]:
    """The lr in force during each epoch of fit() (one update per epoch) with the callback fed ``metrics``."""
    lr = lr0 if kind == "float_lr" else lrkit.keras.Schedule(lk.constant(), base=lr0)
    rec = Record()
    tiny_model(lr).fit(X[:4], Y[:4], batch_size=4, epochs=len(metrics), shuffle=False, verbose=0,
                       callbacks=[Feed(metrics), lrkit.keras.PlateauCallback(lk.Plateau(**cfg), monitor="score"), rec])
    return rec.lrs


def random_case(rng: np.random.Generator):
    cfg = {"mode": str(rng.choice(["min", "max"])), "threshold_mode": str(rng.choice(["rel", "abs"])),
           "factor": float(rng.choice([0.1, 0.3, 0.5])), "patience": int(rng.integers(0, 3)),
           "threshold": float(rng.choice([0.0, 1e-4, 0.05])), "cooldown": int(rng.integers(0, 3)),
           "min_scale": float(rng.choice([0.0, 0.0, 1e-4])), "eps": float(rng.choice([1e-8, 1e-9]))}
    lr0 = float(10 ** rng.uniform(-7, -1))
    n = 24
    metrics = 1.0 + rng.choice([0.0, -0.01, 0.01]) * np.arange(n) + rng.choice([0.0, 0.05]) * rng.standard_normal(n)
    return lr0, cfg, [float(m) for m in np.round(metrics, 3)]


@pytest.mark.parametrize("kind", ["float_lr", "lrkit_schedule"])
@pytest.mark.parametrize("seed", range(4))
def test_decisions_are_torch_reduce_lr_on_plateau_eps_on_the_lr(kind, seed):
    """Random configurations, base lrs from 1e-7 to 0.1: the lr of every epoch is torch's (float32)."""
    rng = np.random.default_rng([seed, kind == "float_lr"])
    for _ in range(6):
        lr0, cfg, metrics = random_case(rng)
        if kind == "float_lr":
            lr0 = float(np.float32(lr0))  # Keras keeps the lr in a float32 variable; the callback starts there
        want = torch_lrs(lr0, cfg, metrics)
        np.testing.assert_allclose(keras_lrs(lr0, cfg, metrics, kind), want, rtol=2e-7, atol=0, err_msg=str(cfg))


@pytest.mark.parametrize("kind", ["float_lr", "lrkit_schedule"])
def test_reductions_stop_where_torch_stops(kind):
    """lr 1e-4, factor 0.1, patience 0, a metric that never improves: torch stops at 1e-8 (one more cut
    would lower the lr by 9e-9 <= eps); a Plateau alone (eps on the scale) would go on to 1e-12."""
    cfg = {"factor": 0.1, "patience": 0, "min_scale": 0.0, "eps": 1e-8}
    metrics = [1.0] * 12
    lrs = keras_lrs(1e-4, cfg, metrics, kind)
    assert torch_lrs(1e-4, cfg, metrics)[-1] == pytest.approx(1e-8, rel=1e-6)
    np.testing.assert_allclose(lrs, torch_lrs(1e-4, cfg, metrics), rtol=2e-7)
    alone = lk.Plateau(**cfg)
    assert [alone.update(m) for m in metrics][-1] == pytest.approx(1e-8)  # the scale: lr would be 1e-12
