"""lrkit.jax: a real jitted optax training loop, inject_hyperparams, and
conformance with optax's own schedules on random configurations.

Two float32 evaluations are compared as in test_parity.py:
``|a - b| <= 1e-5 |b| + 4 eps32 peak`` (see that module for the reasoning).
Each configuration range keeps optax's own float32 error inside that bound
(e.g. ``decay_rate ** (count / k)`` with ``count / k <= 40``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrkit as lk
import lrkit.jax

EPS32 = float(np.finfo(np.float32).eps)


def close32(got, want) -> None:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    tol = 1e-5 * np.abs(want) + 4 * EPS32 * np.abs(want).max()
    bad = np.flatnonzero(~(np.abs(got - want) <= tol))  # NaN is never close
    assert bad.size == 0, f"{bad.size} steps differ; first t={bad[0]}: got {got[bad[0]]!r}, want {want[bad[0]]!r}"


STEPS = jnp.arange(3_500)  # one shape for every configuration: jax's op cache is reused


def on_steps(fn, n: int, jit: bool = False):
    """``fn`` (ours or optax's, a count -> value function) at steps 0..n-1 (n <= 3500)."""
    vfn = jax.vmap(fn)
    return (jax.jit(vfn) if jit else vfn)(STEPS)[:n]


def configs(seed: int, n: int = 8):
    """``n`` independent random generators, one per configuration (ids cfg0, cfg1, ...)."""
    return [pytest.param(np.random.default_rng([seed, i]), id=f"cfg{i}") for i in range(n)]


# ------------------------------------------------------------------ adapter
def test_traces_once_under_jit_for_every_count():
    lr = lrkit.jax.schedule(lk.warmup(10) >> lk.cosine(90), base=0.1)
    traces = []

    @jax.jit
    def f(count):
        traces.append(1)
        return lr(count)

    got = [float(f(jnp.int32(t))) for t in range(0, 120, 7)]
    assert len(traces) == 1
    close32(got, 0.1 * (lk.warmup(10) >> lk.cosine(90)).values(np.arange(0, 120, 7)))


def test_values_are_float32_and_shaped_like_the_count():
    lr = lrkit.jax.schedule(lk.cosine(100), base=2.0)
    assert lr(3).shape == () and lr(3).dtype == jnp.float32
    out = lr(np.arange(12).reshape(3, 4))
    assert out.shape == (3, 4) and out.dtype == jnp.float32
    close32(out.ravel(), 2.0 * lk.cosine(100).values(np.arange(12)))


def test_jax_enable_x64_keeps_float32_by_default_and_allows_float64():
    s = lk.noisy(lk.warmup(100) >> lk.exponential(0.997), std=0.2, seed=5)
    with jax.enable_x64(True):
        lr32 = lrkit.jax.schedule(s, base=1.0)
        lr64 = lrkit.jax.schedule(s, base=1.0, dtype=jnp.float64)
        ts = jnp.arange(3_000, dtype=jnp.int64)
        assert jax.jit(lr32)(ts).dtype == jnp.float32
        close32(jax.jit(lr32)(ts), s.values(np.arange(3_000)))
        np.testing.assert_allclose(jax.jit(lr64)(ts), s.values(np.arange(3_000)), rtol=1e-12, atol=1e-15)


def test_text_form_and_units_are_bound():
    lr = lrkit.jax.schedule("warmup('2ep') >> cosine('rest')", base=0.5, total_steps=1_000, steps_per_epoch=50)
    assert lr.schedule == lk.warmup(100) >> lk.cosine(900)
    assert lr == lrkit.jax.schedule(lk.warmup(100) >> lk.cosine(900), base=0.5)
    assert repr(lr) == "lrkit.jax.schedule('warmup(100) >> cosine(900)', base=0.5)"


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(schedule=lk.cosine(10), base=0), "lrkit.jax.schedule(): base must be > 0; got base=0"),
    (dict(schedule=lk.cosine(10), base="1e-3"), "lrkit.jax.schedule(): base must be a number; got base='1e-3'"),
    (dict(schedule=42), "lrkit.jax.schedule(): schedule must be an lrkit schedule or its text form; got schedule=42"),
    (dict(schedule=lk.cosine("rest")), "total_steps=...) to bind them"),
    (dict(schedule=lk.cosine("2ep"), total_steps=100), "steps_per_epoch=...) to bind them"),
    (dict(schedule=lk.cosine("10%"), total_steps=0),
     "lrkit.jax.schedule(): total_steps must be > 0; got total_steps=0"),
    (dict(schedule="cosin(10)"), "did you mean 'cosine'"),
    (dict(schedule=lk.cosine(10), dtype=jnp.int32), "lrkit.jax.schedule(): dtype must be a float dtype"),
    (dict(schedule=lk.cosine(10), dtype=jnp.float64), "dtype must be float32 unless jax_enable_x64 is on"),
])
def test_bad_arguments_raise_spec_error(kwargs, message):
    with pytest.raises(lk.SpecError) as info:
        lrkit.jax.schedule(**kwargs)
    assert message in str(info.value)


def test_unbound_schedule_raises_unbound_error():
    with pytest.raises(lk.UnboundError, match=r"uses run-relative durations \('%', 'rest'\)"):
        lrkit.jax.schedule(lk.warmup("5%") >> lk.cosine("rest"))


def test_negative_concrete_count_is_an_error():
    with pytest.raises(lk.SpecError, match=r"count must be a step >= 0; got count=-1"):
        lrkit.jax.schedule(lk.cosine(10))(-1)


def test_a_concrete_jax_step_is_a_step_and_a_traced_one_is_a_clear_error():
    s = lk.warmup(100) >> lk.cosine(900)
    assert s(jnp.array(700)) == s(jnp.array(700.0)) == s(700)
    with pytest.raises(lk.SpecError, match=r"real number >= 0; got t="):
        s(jnp.array(True))

    @jax.jit
    def inside(t):
        return s(t)

    with pytest.raises(lk.SpecError, match=r"^step t must be a concrete number >= 0; got t=.*inside jax.jit or "
                       r"torch.compile use s.evaluate\(t, ops\) or the framework adapter"):
        inside(jnp.array(3))


# ------------------------------------------------------------ training loops
def _train(learning_rate, steps: int = 80):
    """adamw on a least-squares problem, one jitted step per update."""
    x = jax.random.normal(jax.random.PRNGKey(0), (64, 3))
    y = x @ jnp.array([1.0, -2.0, 0.5])
    tx = optax.adamw(learning_rate=learning_rate, weight_decay=1e-4)
    params = {"w": jnp.zeros(3)}
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(lambda p: jnp.mean((x @ p["w"] - y) ** 2))(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    losses = []
    for _ in range(steps):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    return params["w"], losses


def test_jitted_adamw_loop_with_lrkit_schedule_matches_optax_own_schedule():
    ours = lrkit.jax.schedule(lk.warmup(10, start=0.1) >> lk.cosine(60, end=0.05), base=0.2)
    theirs = optax.warmup_cosine_decay_schedule(0.02, 0.2, warmup_steps=10, decay_steps=70, end_value=0.01)
    w_ours, losses = _train(ours)
    w_theirs, _ = _train(theirs)
    assert losses[-1] < 0.01 * losses[0]
    np.testing.assert_allclose(w_ours, w_theirs, rtol=1e-5, atol=1e-6)


def test_inject_hyperparams_schedules_b1_and_weight_decay():
    """With zero gradients adamw only decays: w_T = w_0 * prod_k (1 - lr * wd(k)),
    which pins down the weight decay used at every update (k = 0 first)."""
    wd_s, b1_s = lk.warmup(5) >> lk.cosine(25), lk.linear(30, start=0.85 / 0.95, end=1.0)
    tx = optax.inject_hyperparams(optax.adamw)(
        learning_rate=0.1,
        weight_decay=lrkit.jax.schedule(wd_s, base=0.5),
        b1=lrkit.jax.schedule(b1_s, base=0.95),
    )
    params = {"w": jnp.full(4, 2.0)}
    state = tx.init(params)
    step = jax.jit(lambda p, s: tx.update(jax.tree.map(jnp.zeros_like, p), s, p))
    seen_wd, seen_b1 = [], []
    for _ in range(40):
        updates, state = step(params, state)
        params = optax.apply_updates(params, updates)
        seen_wd.append(float(state.hyperparams["weight_decay"]))
        seen_b1.append(float(state.hyperparams["b1"]))
    ks = np.arange(40)
    close32(seen_wd, 0.5 * wd_s.values(ks))
    close32(seen_b1, 0.95 * b1_s.values(ks))
    expected = 2.0 * np.prod(1 - 0.1 * 0.5 * wd_s.values(ks))
    np.testing.assert_allclose(params["w"], np.full(4, expected), rtol=1e-5)


# ----------------------------------------------------- optax's own schedules
def conforms(s, base: float, theirs, n: int, jit: bool = False) -> None:
    """optax's function and lrkit.jax.schedule(s, base), both float32, equal
    base * s.values (float64) at steps 0..n-1 to float32 precision."""
    ref = base * s.values(np.arange(n))
    close32(on_steps(theirs, n, jit), ref)
    close32(on_steps(lrkit.jax.schedule(s, base=base), n, jit), ref)


@pytest.mark.parametrize("rng", configs(1))
def test_reproduces_optax_warmup_cosine_decay_schedule(rng):
    peak = float(rng.uniform(1e-4, 1.0))
    init, end = peak * rng.uniform(0, 0.5), peak * rng.uniform(0, 0.3)
    w = int(rng.integers(1, 300))
    n = w + int(rng.integers(1, 3_000))  # optax's decay_steps includes the warmup; n < 3400
    s = lk.warmup(w, start=init / peak) >> lk.cosine(n - w, end=end / peak)
    conforms(s, peak, optax.warmup_cosine_decay_schedule(init, peak, w, n, end_value=end), n + 100, jit=True)


@pytest.mark.parametrize("rng", configs(2))
def test_reproduces_optax_linear_and_polynomial_schedules(rng):
    a, b = (float(v) for v in rng.uniform(0, 1, 2))
    n, begin, power = int(rng.integers(1, 2_000)), int(rng.integers(0, 300)), float(rng.uniform(0.3, 3))
    lead = [lk.constant(a, steps=begin)] if begin else []
    conforms(lk.sequence(lead + [lk.linear(n, start=a, end=b)]), 1.0,
             optax.linear_schedule(a, b, n, transition_begin=begin), n + begin + 50)
    conforms(lk.sequence(lead + [lk.polynomial(n, power, start=a, end=b)]), 1.0,
             optax.polynomial_schedule(a, b, power, n, begin), n + begin + 50)


@pytest.mark.parametrize("rng", configs(3))
def test_reproduces_optax_cosine_decay_schedule(rng):
    init, alpha, n = float(rng.uniform(1e-4, 1)), float(rng.uniform(0, 0.5)), int(rng.integers(1, 3_000))
    conforms(lk.cosine(n, end=alpha), init, optax.cosine_decay_schedule(init, n, alpha, exponent=1.0), n + 50)


def exponential_decay_config(rng):
    init, k, rate = float(rng.uniform(1e-3, 1)), int(rng.integers(50, 500)), float(rng.uniform(0.5, 0.99))
    begin = int(rng.integers(0, 200))
    lead = [lk.constant(1.0, steps=begin)] if begin else []
    return init, k, rate, begin, lead


@pytest.mark.parametrize("rng", configs(4))
def test_reproduces_optax_exponential_decay(rng):
    init, k, rate, begin, lead = exponential_decay_config(rng)
    conforms(lk.sequence(lead + [lk.exponential(gamma=rate ** (1 / k))]), init,
             optax.exponential_decay(init, k, rate, transition_begin=begin), 2_000)


@pytest.mark.parametrize("rng", configs(4))
def test_reproduces_optax_exponential_decay_staircase_between_stairs(rng):
    """Equal at every step but the first of a stair (see the next test for those)."""
    init, k, rate, begin, lead = exponential_decay_config(rng)
    s = lk.sequence(lead + [lk.step(k, gamma=rate)])
    ref = init * s.values(np.arange(2_000))
    close32(on_steps(lrkit.jax.schedule(s, base=init), 2_000), ref)
    theirs = on_steps(optax.exponential_decay(init, k, rate, transition_begin=begin, staircase=True), 2_000)
    inside = (np.arange(2_000) < begin) | ((np.arange(2_000) - begin) % k != 0)
    close32(np.asarray(theirs)[inside], ref[inside])


@pytest.mark.parametrize("rng", configs(4))
def test_optax_staircase_can_switch_one_step_late_under_xla(rng):
    """XLA turns ``count / k`` into ``count * (1/k)``, so optax's
    ``floor(count / k)`` is one less at some exact multiples of k: the stair
    starts one step late (e.g. k=94: 188 * (1/94) = 1.9999999 in float32).
    lrkit's jitted staircase is exact; optax's value at a stair's first step
    is either the exact one or the previous stair's."""
    init, k, rate, begin, lead = exponential_decay_config(rng)
    theirs = np.asarray(on_steps(optax.exponential_decay(init, k, rate, transition_begin=begin, staircase=True), 2_000))
    firsts = np.arange(begin + k, 2_000, k)
    exact = init * rate ** ((firsts - begin) // k)
    late = np.isclose(theirs[firsts], exact / rate, rtol=1e-5)
    assert np.all(late | np.isclose(theirs[firsts], exact, rtol=1e-5))
    s = lk.sequence(lead + [lk.step(k, gamma=rate)])
    close32(on_steps(lrkit.jax.schedule(s, base=init), 2_000)[firsts], exact)


def test_optax_staircase_late_step_example():
    theirs = jax.jit(optax.exponential_decay(1.0, 94, 0.5, transition_begin=0, staircase=True))
    ours = jax.jit(lrkit.jax.schedule(lk.step(94, gamma=0.5), base=1.0))
    assert float(theirs(jnp.int32(188))) == 0.5 and float(ours(jnp.int32(188))) == 0.25
    assert float(theirs(jnp.int32(189))) == 0.25 and float(ours(jnp.int32(189))) == 0.25


@pytest.mark.parametrize("rng", configs(5, 8))
def test_reproduces_optax_piecewise_constant_and_interpolate(rng):
    init = float(rng.uniform(0.01, 1))
    bounds = sorted(int(b) for b in rng.choice(np.arange(1, 1_500), size=int(rng.integers(1, 5)), replace=False))
    scales = [float(x) for x in rng.uniform(0.1, 2.0, len(bounds))]
    levels = [float(v) for v in init * np.cumprod([1.0] + scales)]
    table = dict(zip(bounds, scales))
    conforms(lk.piecewise(bounds, levels), 1.0, optax.piecewise_constant_schedule(init, table), 1_600)
    for shape in ("linear", "cosine"):
        conforms(lk.interpolate(list(zip([0] + bounds, levels)), shape=shape), 1.0,
                 optax.piecewise_interpolate_schedule(shape, init, table), 1_600)


@pytest.mark.parametrize("rng", configs(6, 6))
def test_reproduces_optax_warmup_exponential_decay_schedule(rng):
    peak, w = float(rng.uniform(0.01, 1)), int(rng.integers(1, 200))
    k, rate = int(rng.integers(50, 300)), float(rng.uniform(0.5, 0.99))
    conforms(lk.warmup(w) >> lk.exponential(gamma=rate ** (1 / k)), peak,
             optax.warmup_exponential_decay_schedule(0.0, peak, w, k, rate), 2_000)


# -------------------------------------------------------- known differences
def test_optax_cosine_onecycle_peaks_at_int_pct_steps_not_at_torch_pct_steps_minus_one():
    """optax's cosine_onecycle_schedule is interpolate() through (0, p/div),
    (int(pct*T), p), (T, p/(div*fdiv)); lk.one_cycle follows torch's OneCycleLR,
    which peaks one step earlier (pct*T - 1) and ends at T - 1."""
    T, p, pct, div, fdiv = 1_000, 0.5, 0.3, 25.0, 1e4
    theirs = optax.cosine_onecycle_schedule(T, p, pct, div, fdiv)
    conforms(lk.interpolate([(0, p / div), (int(pct * T), p), (T, p / (div * fdiv))], shape="cosine"),
             1.0, theirs, T + 10)
    torch_like = lk.one_cycle(T, peak=p, pct_start=pct).values(np.arange(T + 10))
    optax_values = on_steps(theirs, T + 10)
    assert int(np.argmax(optax_values)) == 300 and int(np.argmax(torch_like)) == 299
    assert torch_like[T - 1] == pytest.approx(p / (div * fdiv), rel=1e-12)
    assert float(optax_values[T - 1]) > 2 * p / (div * fdiv)


def test_optax_sgdr_with_equal_cycles_is_restarts():
    kw = dict(init_value=0.0, peak_value=0.1, warmup_steps=20, decay_steps=200, end_value=0.001)
    inner = lk.warmup(20) >> lk.cosine(180, end=0.01)
    conforms(lk.restarts(inner, cycles=3), 0.1, optax.sgdr_schedule([kw] * 3), 700)


def test_optax_sgdr_with_growing_cycles_keeps_warmup_length_unlike_period_mult():
    """sgdr lists each cycle, so a growing cycle keeps a 20-step warmup: it is
    a sequence of phases. restarts(period_mult=2) stretches the whole cycle,
    warmup included (40 steps in cycle 2)."""
    kws = [dict(init_value=0.0, peak_value=0.1, warmup_steps=20, decay_steps=d, end_value=0.0) for d in (100, 200, 400)]
    phases = [lk.warmup(20) >> lk.cosine(d - 20) for d in (100, 200, 400)]
    conforms(lk.sequence(phases), 0.1, optax.sgdr_schedule(kws), 750)
    stretched = lk.restarts(phases[0], period_mult=2)
    assert lk.sequence(phases)(100 + 20) == 1.0 and stretched(100 + 20) == 0.5


def test_optax_cosine_decay_integer_exponent_is_a_product_of_cosines():
    """exponent=2 has no parameter in lrkit: ((1 + cos)/2)**2 is cosine * cosine."""
    n, alpha = 500, 0.1
    theirs = optax.cosine_decay_schedule(1.0, n, alpha, exponent=2.0)
    conforms(alpha + (1 - alpha) * lk.cosine(n) * lk.cosine(n), 1.0, theirs, n + 10)
    assert not np.allclose(lk.cosine(n, end=alpha).values(np.arange(n + 10)), on_steps(theirs, n + 10))


def test_optax_zero_transition_steps_is_a_constant_but_an_error_in_lrkit():
    assert float(optax.linear_schedule(0.1, 0.0, transition_steps=0)(5)) == pytest.approx(0.1)
    with pytest.raises(lk.SpecError, match=r"^linear\(\): steps must be > 0; got steps=0$"):
        lk.linear(0, start=0.1)
