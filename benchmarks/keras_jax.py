"""Keras and JAX adapters against the frameworks' own schedules, in one run.

Prints the cost per call of lrkit.keras.Schedule vs keras CosineDecay (torch
backend, eager), of a jitted lrkit.jax.schedule over 10k steps vs optax's
warmup_cosine_decay_schedule, and of a jitted adamw step with each.
Run: ``python benchmarks/keras_jax.py``.
"""

import os
import timeit

os.environ["KERAS_BACKEND"] = "torch"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import optax  # noqa: E402

import lrkit as lk  # noqa: E402
import lrkit.jax  # noqa: E402
import lrkit.keras  # noqa: E402


def best(fn, n, r=5):
    return min(timeit.repeat(fn, number=n, repeat=r)) / n


def adamw_step(lr):
    """A jitted adamw step on a tiny least-squares problem, warmed up; returns a callable running one step."""
    x = jax.random.normal(jax.random.PRNGKey(0), (256, 32))
    y = x @ jnp.ones(32)
    tx = optax.adamw(lr)
    params = {"w": jnp.zeros(32)}

    @jax.jit
    def train(p, st):
        g = jax.grad(lambda p: jnp.mean((x @ p["w"] - y) ** 2))(p)
        u, st = tx.update(g, st, p)
        return optax.apply_updates(p, u), st

    state = list(train(params, tx.init(params)))
    jax.block_until_ready(state[0])

    def run():
        state[0], state[1] = train(state[0], state[1])
        jax.block_until_ready(state[0])

    return run


def main() -> None:
    s = lk.warmup(500) >> lk.cosine(9_500, end=0.01)
    # Keras, eager torch backend: one call per optimizer step
    ours = lrkit.keras.Schedule(s, base=1e-3)
    theirs = keras.optimizers.schedules.CosineDecay(0.0, 9_500, alpha=0.01, warmup_target=1e-3, warmup_steps=500)
    step = keras.Variable(1234, dtype="int64", trainable=False)
    a, b = best(lambda: ours(step), 300), best(lambda: theirs(step), 300)
    print(f"keras/torch per call: lrkit {a * 1e6:.0f} us, CosineDecay {b * 1e6:.0f} us, ratio {a / b:.2f}")
    noisy = lrkit.keras.Schedule(lk.noisy(s, 0.1), base=1e-3)
    c = best(lambda: noisy(step), 300)
    print(f"keras/torch per call: lrkit noisy {c * 1e6:.0f} us, ratio vs CosineDecay {c / b:.2f}")
    # JAX: jitted, 10k steps at once
    ts = jnp.arange(10_000)
    fo = jax.jit(lrkit.jax.schedule(s, base=1e-3))
    ft = jax.jit(optax.warmup_cosine_decay_schedule(0.0, 1e-3, 500, 10_000, 1e-5))
    fo(ts).block_until_ready()
    ft(ts).block_until_ready()
    a, b = best(lambda: fo(ts).block_until_ready(), 200), best(lambda: ft(ts).block_until_ready(), 200)
    print(f"jax jit 10k steps: lrkit {a * 1e6:.0f} us, optax {b * 1e6:.0f} us, ratio {a / b:.2f}")
    # JAX: a jitted adamw step (tiny model), lrkit schedule vs optax schedule
    ro = adamw_step(lrkit.jax.schedule(s, base=1e-3))
    rt = adamw_step(optax.warmup_cosine_decay_schedule(0.0, 1e-3, 500, 10_000, 1e-5))
    a, b = best(ro, 300), best(rt, 300)
    print(f"jax adamw train step: lrkit {a * 1e6:.0f} us, optax {b * 1e6:.0f} us, ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
