"""lrkit.keras with real Keras 3 (torch backend here; the JAX backend in a
subprocess): model.fit, .keras save/reload, the plateau callback, and
conformance with Keras's own schedule classes on random configurations.

The lr actually used is read from the weights: a bias-free Dense(1) on
inputs of 1 with loss mean(y_pred) has gradient exactly 1, so plain SGD
moves the kernel by -lr at every update. After epoch e the kernel is minus
the sum of every lr used so far.

Float32 comparisons as in test_parity.py: ``|a - b| <= 1e-5 |b| + 4 eps32 peak``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _keras_tiny import SCORES, Feed, X, Y, mean_prediction, plateau, tiny_model  # noqa: E402

import lrkit as lk  # noqa: E402
import lrkit.keras  # noqa: E402

EPS32 = float(np.finfo(np.float32).eps)
KS = keras.optimizers.schedules


def close32(got, want) -> None:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    tol = 1e-5 * np.abs(want) + 4 * EPS32 * np.abs(want).max()
    bad = np.flatnonzero(~(np.abs(got - want) <= tol))  # NaN is never close
    assert bad.size == 0, f"{bad.size} values differ; first i={bad[0]}: got {got[bad[0]]!r}, want {want[bad[0]]!r}"


def at_steps(lr, steps) -> np.ndarray:
    """A Keras schedule (ours or Keras's) called once on a tensor of steps."""
    return keras.ops.convert_to_numpy(lr(keras.ops.convert_to_tensor(np.asarray(steps)))).astype(np.float64)


class Kernels(keras.callbacks.Callback):
    """Records the kernel at each epoch end."""

    def __init__(self):
        super().__init__()
        self.values = []

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(float(self.model.layers[0].kernel.numpy()[0, 0]))


def expected_kernels(lrs_per_step, scales_per_epoch, steps_per_epoch=10):
    """Kernel after each epoch: minus the running sum of lr * scale of that epoch."""
    lrs = np.asarray(lrs_per_step, np.float64).reshape(len(scales_per_epoch), steps_per_epoch)
    return -np.cumsum((lrs * np.asarray(scales_per_epoch)[:, None]).sum(axis=1))


def reference_scales(scores):
    """Scale in force during each epoch: 1.0, then the plateau after each epoch's metric."""
    p = plateau()
    return [1.0] + [p.update(m) for m in scores[:-1]]


def reference_plateau_state(scores):
    p = plateau()
    for m in scores:
        p.update(m)
    return p.state_dict()


# ---------------------------------------------------------------- model.fit
def test_model_fit_uses_base_times_schedule_at_every_step():
    s = lk.warmup(7) >> lk.cosine(30, end=0.1) >> lk.constant(0.2)
    rec = Kernels()
    tiny_model(lrkit.keras.Schedule(s, base=0.01)).fit(X, Y, batch_size=4, epochs=5, shuffle=False,
                                                         verbose=0, callbacks=[rec])
    close32(rec.values, expected_kernels(0.01 * s.values(np.arange(50)), [1.0] * 5))


def test_model_fit_with_run_relative_schedule():
    lr = lrkit.keras.Schedule("warmup('1ep') >> cosine('rest')", base=0.05, total_steps=40, steps_per_epoch=10)
    rec = Kernels()
    tiny_model(lr).fit(X, Y, batch_size=4, epochs=4, shuffle=False, verbose=0, callbacks=[rec])
    assert lr.schedule == lk.warmup(10) >> lk.cosine(30)
    close32(rec.values, expected_kernels(0.05 * lr.schedule.values(np.arange(40)), [1.0] * 4))


def test_save_as_keras_and_reload_keeps_the_schedule(tmp_path):
    s = lk.noisy(lk.warmup(20) >> lk.restarts(lk.cosine(50, end=0.1), period_mult=2), std=0.1, seed=4)
    lr = lrkit.keras.Schedule(s, base=3e-3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(64, 4)), rng.normal(size=(64, 1)), batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    got = loaded.optimizer._learning_rate  # Keras has no public getter for the schedule object
    assert isinstance(got, lrkit.keras.Schedule) and got is not lr
    assert got.schedule == s and got.base == 3e-3
    assert int(loaded.optimizer.iterations.numpy()) == 8
    steps = np.arange(0, 5_000)
    np.testing.assert_array_equal(at_steps(got, steps), at_steps(lr, steps))


def test_config_is_the_text_form_and_round_trips_through_json():
    lr = lrkit.keras.Schedule("warmup('10%') >> cosine('rest', end=0.01)", base=1e-3, total_steps=2_000)
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(lr)))
    assert config["registered_name"] == "lrkit>Schedule"
    assert config["config"] == {"schedule": "warmup('10%') >> cosine('rest', end=0.01)", "base": 0.001,
                                "total_steps": 2_000, "steps_per_epoch": None, "scale": 1.0}
    back = keras.saving.deserialize_keras_object(config)
    assert back.schedule == lk.warmup(200) >> lk.cosine(1_800, end=0.01)
    assert repr(back) == ("lrkit.keras.Schedule(\"warmup('10%') >> cosine('rest', end=0.01)\", base=0.001, "
                          "total_steps=2000)")


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(schedule=lk.cosine(10), base=-1), "lrkit.keras.Schedule(): base must be > 0; got base=-1"),
    (dict(schedule=0.1),
     "lrkit.keras.Schedule(): schedule must be an lrkit schedule or its text form; got schedule=0.1"),
    (dict(schedule=lk.cosine("rest")), "total_steps=...) to bind them"),
    (dict(schedule="warmup('1ep')", total_steps=100), "steps_per_epoch=...) to bind them"),
    (dict(schedule="cosine(10, ned=0.1)"), "did you mean 'end'"),
])
def test_bad_arguments_raise_spec_error(kwargs, message):
    with pytest.raises(lk.SpecError) as info:
        lrkit.keras.Schedule(**kwargs)
    assert message in str(info.value)


# ------------------------------------------------------------ the callback
@pytest.mark.parametrize("kind", ["float_lr", "lrkit_schedule"])
def test_plateau_callback_scales_the_lr_like_plateau_fed_the_same_metrics(kind):
    s = lk.warmup(10) >> lk.cosine(90)
    lr = 0.01 if kind == "float_lr" else lrkit.keras.Schedule(s, base=0.01)
    per_step = np.full(100, 0.01) if kind == "float_lr" else 0.01 * s.values(np.arange(100))
    rec, cb = Kernels(), lrkit.keras.PlateauCallback(plateau(), monitor="score")
    history = tiny_model(lr).fit(X, Y, batch_size=4, epochs=10, shuffle=False, verbose=0,
                                 callbacks=[Feed(SCORES), cb, rec])
    scales = reference_scales(SCORES)
    assert scales[-1] == 0.25  # the scripted metrics reduce twice (with a cooldown between)
    ref = plateau()
    assert history.history["lr_scale"] == [ref.update(m) for m in SCORES]
    close32(rec.values, expected_kernels(per_step, scales))


def test_plateau_callback_on_val_loss():
    """mode='max' on a val_loss that falls every epoch: a reduction after each patience."""
    cb = lrkit.keras.PlateauCallback(lk.Plateau(mode="max", factor=0.5, patience=2), monitor="val_loss")
    history = tiny_model(0.01).fit(X, Y, batch_size=4, epochs=8, verbose=0, validation_data=(X[:8], Y[:8]),
                                   callbacks=[cb])
    ref = lk.Plateau(mode="max", factor=0.5, patience=2)
    assert history.history["lr_scale"] == [ref.update(v) for v in history.history["val_loss"]]
    assert cb.plateau.scale == 0.25


def test_plateau_callback_resumes_from_saved_model_and_state(tmp_path):
    """4 epochs, save the model and the callback state, reload, 6 more epochs:
    the kernels equal those of one uninterrupted 10-epoch run."""
    s = lk.warmup(10) >> lk.cosine(90)
    full = Kernels()
    tiny_model(lrkit.keras.Schedule(s, base=0.01)).fit(
        X, Y, batch_size=4, epochs=10, shuffle=False, verbose=0,
        callbacks=[Feed(SCORES), lrkit.keras.PlateauCallback(plateau(), monitor="score"), full])

    first, cb = Kernels(), lrkit.keras.PlateauCallback(plateau(), monitor="score")
    model = tiny_model(lrkit.keras.Schedule(s, base=0.01))
    model.fit(X, Y, batch_size=4, epochs=4, shuffle=False, verbose=0, callbacks=[Feed(SCORES), cb, first])
    model.save(tmp_path / "m.keras")
    state = json.loads(json.dumps(cb.state_dict()))

    model = keras.saving.load_model(tmp_path / "m.keras", custom_objects={"mean_prediction": mean_prediction})
    second, cb2 = Kernels(), lrkit.keras.PlateauCallback(plateau(), monitor="score")
    cb2.load_state_dict(state)
    model.fit(X, Y, batch_size=4, epochs=10, initial_epoch=4, shuffle=False, verbose=0,
              callbacks=[Feed(SCORES), cb2, second])
    close32(first.values + second.values, full.values)
    assert cb2.plateau.state_dict() == reference_plateau_state(SCORES)


@pytest.mark.parametrize("seed", range(4))
def test_keras_reduce_lr_on_plateau_is_plateau_with_patience_and_cooldown_one_less(seed):
    """Keras reduces when its wait count reaches patience (torch: exceeds it) and
    counts the last cooldown epoch (torch skips it): Keras's
    ReduceLROnPlateau(patience=p, cooldown=c, min_delta=d) applies the scales of
    lk.Plateau(patience=p - 1, cooldown=c - 1, threshold=d, threshold_mode="abs")."""
    rng = np.random.default_rng(seed)
    scores = [float(v) for v in np.round(rng.uniform(0, 1, 12), 1)]  # ties and small steps on purpose
    p, c = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    theirs, ours = Kernels(), Kernels()
    keras_cb = keras.callbacks.ReduceLROnPlateau("score", mode="min", factor=0.5, patience=p, cooldown=c,
                                                 min_delta=0.05)
    tiny_model(0.01).fit(X, Y, batch_size=4, epochs=12, shuffle=False, verbose=0,
                         callbacks=[Feed(scores), keras_cb, theirs])
    same = lk.Plateau(factor=0.5, patience=p - 1, cooldown=c - 1, threshold=0.05, threshold_mode="abs")
    tiny_model(0.01).fit(X, Y, batch_size=4, epochs=12, shuffle=False, verbose=0,
                         callbacks=[Feed(scores), lrkit.keras.PlateauCallback(same, monitor="score"), ours])
    close32(ours.values, theirs.values)


def test_plateau_callback_rejects_a_keras_schedule():
    model = tiny_model(KS.ExponentialDecay(0.1, 10, 0.9))
    cb = lrkit.keras.PlateauCallback(plateau(), monitor="loss")
    with pytest.raises(lk.SpecError, match=r"must be a float or an lrkit.keras.Schedule to be scaled"):
        model.fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[cb])


def test_plateau_callback_bad_arguments():
    with pytest.raises(lk.SpecError, match=r"^PlateauCallback\(\): plateau must be an lrkit.Plateau; got plateau=0.5$"):
        lrkit.keras.PlateauCallback(0.5)
    with pytest.raises(lk.SpecError, match=r"^PlateauCallback\(\): monitor must be the name of a logged metric"):
        lrkit.keras.PlateauCallback(plateau(), monitor="")


def test_plateau_callback_warns_when_the_metric_is_missing():
    cb = lrkit.keras.PlateauCallback(plateau(), monitor="val_acc")
    with pytest.warns(UserWarning, match=r"metric 'val_acc' is not in the logs of epoch 1 \(logged: loss\)"):
        tiny_model(0.01).fit(X, Y, batch_size=4, epochs=1, verbose=0, callbacks=[cb])
    assert cb.plateau.updates == 0


# ------------------------------------------------------------ the docs
def test_docs_keras_jax_examples_run(capsys):
    """Every python block of docs/keras-jax.md, in order, in one namespace."""
    text = (Path(__file__).parents[2] / "docs" / "keras-jax.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    ns: dict = {}
    for block in blocks:
        exec(compile(block, "docs/keras-jax.md", "exec"), ns)  # noqa: S102 - our own docs
    assert ns["lr"].schedule == lk.warmup(20) >> lk.cosine(180, end=0.01)
    assert float(ns["loaded"].optimizer.learning_rate) == pytest.approx(3e-5, rel=1e-5)
    np.testing.assert_allclose(ns["params"]["w"], [1.0, -2.0, 0.5], atol=0.05)
    assert ns["resumed"].plateau.state_dict() == ns["plateau_cb"].plateau.state_dict()
    # the Plateau example's comments are what it prints (torch backend)
    said = {m.group(1): ast.literal_eval(m.group(2)) for m in re.finditer(r"^print\((.+)\)\n# (\[.*\])$", text, re.M)}
    history = ns["history"].history
    assert said == {"[round(v, 3) for v in history.history[\"val_loss\"]]": [round(v, 3) for v in history["val_loss"]],
                    "history.history[\"lr_scale\"]": history["lr_scale"]}
    assert history["lr_scale"] == [1.0] * 6 + [0.5] * 2


# ------------------------------------------------------ the JAX backend
@pytest.mark.slow
def test_jax_backend_fit_plateau_and_reload(tmp_path):
    """The same fit + plateau + .keras reload on KERAS_BACKEND=jax (a jitted
    train step: the callback must re-trace when the scale changes)."""
    code = f"""
import json, sys
import numpy as np, keras, lrkit as lk, lrkit.keras
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_keras import X, Y, Feed, Kernels, SCORES, plateau, tiny_model, mean_prediction
s = lk.noisy(lk.warmup(10) >> lk.cosine(90), std=0.05, seed=1)
rec = Kernels()
model = tiny_model(lrkit.keras.Schedule(s, base=0.01))
model.fit(X, Y, batch_size=4, epochs=10, shuffle=False, verbose=0,
          callbacks=[Feed(SCORES), lrkit.keras.PlateauCallback(plateau(), monitor="score"), rec])
model.save({str(tmp_path / "j.keras")!r})
back = keras.saving.load_model({str(tmp_path / "j.keras")!r}, custom_objects={{"mean_prediction": mean_prediction}})
lr = back.optimizer._learning_rate
values = keras.ops.convert_to_numpy(lr(keras.ops.arange(100))).tolist()
print(json.dumps(dict(backend=keras.backend.backend(), kernels=rec.values, values=values,
                      scale=float(lr.scale.numpy()), same=lr.schedule == s)))
"""
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3_000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    s = lk.noisy(lk.warmup(10) >> lk.cosine(90), std=0.05, seed=1)
    scales = reference_scales(SCORES)
    assert got["backend"] == "jax" and got["same"] is True
    close32(got["kernels"], expected_kernels(0.01 * s.values(np.arange(100)), scales))
    assert got["scale"] == reference_plateau_state(SCORES)["scale"]
    close32(got["values"], 0.01 * s.values(np.arange(100)) * got["scale"])


# --------------------------------------------------- Keras's own schedules
def configs(seed: int, n: int = 8):
    """``n`` independent random generators, one per configuration (ids cfg0, cfg1, ...)."""
    return [pytest.param(np.random.default_rng([seed, i]), id=f"cfg{i}") for i in range(n)]


STEPS = np.arange(3_000)


def conforms(s, base: float, theirs, steps=STEPS) -> None:
    """Keras's values (float32) and lrkit.keras.Schedule(s, base) both equal
    base * s.values (float64) to float32 precision."""
    ref = base * s.values(steps)
    close32(theirs, ref)
    close32(at_steps(lrkit.keras.Schedule(s, base=base), steps), ref)


def one_by_one(lr, steps) -> np.ndarray:
    """For Keras schedules that branch with ops.cond or update in place: one call per step."""
    return np.array([float(keras.ops.convert_to_numpy(lr(int(t)))) for t in steps])


@pytest.mark.parametrize("rng", configs(1))
def test_matches_keras_cosine_decay(rng):
    init, n, alpha = float(rng.uniform(1e-4, 1)), int(rng.integers(1, 2_500)), float(rng.uniform(0, 0.5))
    conforms(lk.cosine(n, end=alpha), init, at_steps(KS.CosineDecay(init, n, alpha), STEPS))


@pytest.mark.parametrize("rng", configs(2, 5))
def test_matches_keras_cosine_decay_with_warmup(rng):
    """Keras's decay_steps exclude the warmup (optax's include it)."""
    init, target = float(rng.uniform(0, 0.1)), float(rng.uniform(0.1, 1))
    w, n, alpha = int(rng.integers(1, 60)), int(rng.integers(1, 200)), float(rng.uniform(0, 0.5))
    theirs = KS.CosineDecay(init, n, alpha, warmup_target=target, warmup_steps=w)
    steps = np.arange(w + n + 5)
    conforms(lk.warmup(w, start=init / target) >> lk.cosine(n, end=alpha), target, one_by_one(theirs, steps), steps)


@pytest.mark.parametrize("rng", configs(3))
def test_matches_keras_exponential_decay_incl_staircase(rng):
    init, k, rate = float(rng.uniform(1e-3, 1)), int(rng.integers(75, 500)), float(rng.uniform(0.5, 0.99))
    for staircase, s in ((False, lk.exponential(gamma=rate ** (1 / k))), (True, lk.step(k, gamma=rate))):
        conforms(s, init, at_steps(KS.ExponentialDecay(init, k, rate, staircase=staircase), STEPS))


@pytest.mark.parametrize("rng", configs(4))
def test_matches_keras_polynomial_and_inverse_time_decay(rng):
    init, n, power = float(rng.uniform(1e-3, 1)), int(rng.integers(1, 2_500)), float(rng.uniform(0.3, 3))
    end = init * float(rng.uniform(0, 0.5))
    conforms(lk.polynomial(n, power, end=end / init), init, at_steps(KS.PolynomialDecay(init, n, end, power), STEPS))
    k, rate = int(rng.integers(1, 500)), float(rng.uniform(0.1, 5))
    conforms(lk.inverse_time(k / rate), init, at_steps(KS.InverseTimeDecay(init, k, rate), STEPS))


@pytest.mark.parametrize("rng", configs(5))
def test_keras_piecewise_constant_decay_switches_one_step_after_each_boundary(rng):
    """Keras's value changes when step > boundary; lrkit's piecewise when t >= boundary,
    so Keras's PiecewiseConstantDecay(bs, vs) is piecewise([b + 1 for b in bs], vs)."""
    bounds = sorted(int(b) for b in rng.choice(np.arange(1, 2_500), size=int(rng.integers(1, 5)), replace=False))
    levels = [float(v) for v in rng.uniform(0, 1, len(bounds) + 1)]
    steps = np.unique(np.concatenate([np.arange(0, 2_600, 13)] + [np.arange(b - 2, b + 3) for b in bounds]))
    theirs = one_by_one(KS.PiecewiseConstantDecay(bounds, levels), steps)
    conforms(lk.piecewise([b + 1 for b in bounds], levels), 1.0, theirs, steps)
    same_bounds = lk.piecewise(bounds, levels).values(steps)
    assert set(steps[~np.isclose(same_bounds, theirs, rtol=1e-6, atol=0)]) == set(bounds)  # only at t = b


def restarts_config(rng):
    init, n, alpha = float(rng.uniform(1e-3, 1)), int(rng.integers(20, 400)), float(rng.uniform(0.05, 0.5))
    t_mul, m_mul = float(rng.choice([1.0, 1.5, 2.0])), float(rng.uniform(0.5, 1.0))
    keras_form = alpha + (1 - alpha) * lk.restarts(lk.cosine(n), period_mult=t_mul, decay=m_mul)
    return init, n, alpha, t_mul, m_mul, keras_form


def restart_steps(n: int, t_mul: float) -> np.ndarray:
    """Integer steps where a cycle starts (cycle k starts at n * (t_mul**k - 1) / (t_mul - 1))."""
    starts = [n * k if t_mul == 1 else n * (t_mul**k - 1) / (t_mul - 1) for k in range(1, 40)]
    return np.array([int(x) for x in starts if float(x).is_integer() and x < len(STEPS)])


@pytest.mark.parametrize("rng", configs(6))
def test_matches_keras_cosine_decay_restarts_between_restarts(rng):
    """Every step but a cycle's first (see the next test for those)."""
    init, n, alpha, t_mul, m_mul, keras_form = restarts_config(rng)
    theirs = at_steps(KS.CosineDecayRestarts(init, n, t_mul, m_mul, alpha), STEPS)
    inside = ~np.isin(STEPS, restart_steps(n, t_mul))
    close32(theirs[inside], init * keras_form.values(STEPS)[inside])
    conforms(keras_form, init, theirs[inside], STEPS[inside])


@pytest.mark.parametrize("rng", configs(6))
def test_keras_cosine_decay_restarts_can_report_the_last_cycle_end_at_a_restart(rng):
    """Keras finds the cycle as floor(log(1 - f (1 - t_mul)) / log(t_mul)), which
    rounds below the integer at some restart steps: there it returns the end of
    the previous cycle (its floor, init * alpha) instead of the restart. lrkit
    finds the cycle with exact comparisons and restarts there."""
    init, n, alpha, t_mul, m_mul, keras_form = restarts_config(rng)
    firsts = restart_steps(n, t_mul)
    theirs = at_steps(KS.CosineDecayRestarts(init, n, t_mul, m_mul, alpha), firsts)
    ours = at_steps(lrkit.keras.Schedule(keras_form, base=init), firsts)
    close32(ours, init * keras_form.values(firsts))
    restarted = np.isclose(theirs, ours, rtol=1e-5)
    assert np.all(restarted | np.isclose(theirs, init * alpha, rtol=1e-5))


def test_keras_cosine_decay_restarts_misses_the_restart_at_step_540():
    theirs = KS.CosineDecayRestarts(1.0, 216, t_mul=1.5, m_mul=1.0, alpha=0.1)
    ours = lrkit.keras.Schedule(0.1 + 0.9 * lk.restarts(lk.cosine(216), period_mult=1.5), base=1.0)
    assert at_steps(theirs, [539, 540, 541]) == pytest.approx([0.1, 0.1, 1.0], abs=1e-4)
    assert at_steps(ours, [539, 540, 541]) == pytest.approx([0.1, 1.0, 1.0], abs=1e-4)


@pytest.mark.parametrize("rng", configs(7))
def test_keras_cosine_decay_restarts_does_not_decay_its_floor_alpha(rng):
    """Keras: init * (alpha + (1 - alpha) * m_mul**k * (1 + cos)/2) in cycle k, so
    alpha is not multiplied by m_mul: it is alpha + (1 - alpha) * restarts(cosine(n), t_mul, m_mul).
    restarts(cosine(n, end=alpha), decay=m_mul) decays the floor too: lower by
    init * alpha * (1 - m_mul**k) in cycle k (the same when m_mul = 1)."""
    init, n, alpha, t_mul, m_mul, _ = restarts_config(rng)
    decayed_floor = lk.restarts(lk.cosine(n, end=alpha), period_mult=t_mul, decay=m_mul)
    cycle_0, cycle_1 = np.arange(0, n - 1), np.arange(n + 1, n + int(n * t_mul) - 1)
    theirs = at_steps(KS.CosineDecayRestarts(init, n, t_mul, m_mul, alpha), STEPS)
    gap = theirs - init * decayed_floor.values(STEPS)
    assert np.abs(gap[cycle_0]).max() <= 4 * EPS32 * init
    close32(gap[cycle_1], np.full(cycle_1.size, init * alpha * (1 - m_mul)))
