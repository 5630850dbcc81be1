"""The Keras and JAX rows of the "where lrkit plugs in" table (docs/torch.md, docs/keras-jax.md), run for real.

Keras fit and Keras mixed precision run on the torch backend here and on the JAX
backend in a subprocess (the backend is fixed per process); optax runs under a
real ``jax.jit``. The lr Keras used is read from the weights: a bias-free
Dense(1) on inputs of 1 with loss mean(y_pred) has gradient exactly 1, so SGD
moves the kernel by -lr at every update.
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

import lrkit as lk  # noqa: E402
import lrkit.keras  # noqa: E402

X, Y = np.ones((40, 1), np.float32), np.zeros((40, 1), np.float32)  # batch_size=4: 10 updates per epoch
SCHEDULE = lk.warmup(10) >> lk.cosine(50, end=0.1)


def loss(y_true, y_pred):
    return keras.ops.mean(y_pred)


def linear_model() -> keras.Model:
    return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])


def keras_fit_slot() -> dict:
    schedule = SCHEDULE
    model = linear_model()
    model.compile(optimizer=keras.optimizers.SGD(lrkit.keras.Schedule(schedule, base=0.01)), loss=loss)
    model.fit(X, Y, batch_size=4, epochs=6, shuffle=False, verbose=0)
    return {"kernel": float(model.layers[0].kernel.numpy()[0, 0]), "backend": keras.backend.backend()}


def keras_mixed_precision_slot() -> dict:
    """The Keras fit row under mixed_float16, with the plateau callback; the global policy is restored."""
    before = keras.mixed_precision.global_policy()
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        schedule = SCHEDULE
        plateau = lk.Plateau(mode="max", factor=0.5, patience=1)  # val_loss (the kernel) falls: reductions
        model = linear_model()
        model.compile(optimizer=keras.optimizers.SGD(lrkit.keras.Schedule(schedule, base=0.01)), loss=loss)
        callbacks = [lrkit.keras.PlateauCallback(plateau, monitor="val_loss")]
        history = model.fit(X, Y, batch_size=4, epochs=6, shuffle=False, verbose=0, validation_data=(X[:4], Y[:4]),
                            callbacks=callbacks)
        return {"kernel": float(model.layers[0].kernel.numpy()[0, 0]), "backend": keras.backend.backend(),
                "optimizer": type(model.optimizer).__name__, "compute_dtype": model.layers[0].compute_dtype,
                "val_loss": history.history["val_loss"], "lr_scale": history.history["lr_scale"]}
    finally:
        keras.mixed_precision.set_global_policy(before)


def check_fit(got: dict) -> None:
    want = -0.01 * SCHEDULE.values(np.arange(60)).sum()
    np.testing.assert_allclose(got["kernel"], want, rtol=1e-5)


def check_mixed_precision(got: dict) -> None:
    assert got["optimizer"] == "LossScaleOptimizer" and got["compute_dtype"] == "float16"
    ref = lk.Plateau(mode="max", factor=0.5, patience=1)
    scales = [ref.update(v) for v in got["val_loss"]]
    assert got["lr_scale"] == scales and scales[-1] < 1  # the plateau acted
    in_force = np.repeat([1.0, *scales[:-1]], 10)
    want = -(0.01 * SCHEDULE.values(np.arange(60)) * in_force).sum()
    np.testing.assert_allclose(got["kernel"], want, rtol=1e-5)


def test_slot_keras_fit():
    got = keras_fit_slot()
    assert got["backend"] == keras.backend.backend()  # torch under `make test` (KERAS_BACKEND=torch)
    check_fit(got)


def test_slot_keras_mixed_precision():
    got = keras_mixed_precision_slot()
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    check_mixed_precision(got)


@pytest.mark.slow
def test_slot_keras_rows_on_the_jax_backend():
    code = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import test_slots_keras_jax as t
print(json.dumps({{"fit": t.keras_fit_slot(), "mixed": t.keras_mixed_precision_slot()}}))
"""
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600,
                         check=False)
    assert out.returncode == 0, out.stderr[-3_000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["fit"]["backend"] == got["mixed"]["backend"] == "jax"
    check_fit(got["fit"])
    check_mixed_precision(got["mixed"])


# ------------------------------------------------------------------ optax
def test_slot_optax_jit():
    import jax
    import jax.numpy as jnp
    import optax

    import lrkit.jax

    schedule = SCHEDULE
    tx = optax.sgd(learning_rate=lrkit.jax.schedule(schedule, base=0.01))
    params = {"w": jnp.zeros(())}
    opt_state = tx.init(params)

    @jax.jit
    def train_step(params, opt_state):
        grads = jax.grad(lambda p: p["w"])(params)  # gradient 1: the update is -lr
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, updates["w"]

    used = []
    for _ in range(60):
        params, opt_state, update = train_step(params, opt_state)
        used.append(-float(update))
    np.testing.assert_allclose(used, 0.01 * SCHEDULE.values(np.arange(60)), rtol=1e-6, atol=1e-9)
    assert train_step._cache_size() == 1  # traced once: the count is a traced input, not a constant
