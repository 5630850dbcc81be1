"""The tiny Keras model of test_keras.py and test_keras_plateau.py: it reads the lr from the weights.

A bias-free Dense(1) on inputs of 1 with loss mean(y_pred) has gradient
exactly 1, so plain SGD moves the kernel by -lr at every update. ``X``, ``Y``
with ``batch_size=4`` give 10 updates per epoch. ``Feed`` scripts a metric
(``SCORES``: two reductions under ``plateau()``, with a cooldown between).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrkit as lk  # noqa: E402

X, Y = np.ones((40, 1), np.float32), np.zeros((40, 1), np.float32)  # batch_size=4: 10 steps per epoch
SCORES = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85]


def mean_prediction(y_true, y_pred):
    return keras.ops.mean(y_pred)


def tiny_model(learning_rate) -> keras.Model:
    """A bias-free Dense(1) on inputs of 1 with loss mean(y_pred): SGD moves the kernel by -lr per update."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss=mean_prediction)
    return model


class Feed(keras.callbacks.Callback):
    """Puts a scripted metric into the logs as 'score' (runs before the plateau callback)."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]


def plateau():
    return lk.Plateau(factor=0.5, patience=1, cooldown=1)
