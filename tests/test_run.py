"""One run as init / advance / evaluate: a run that stops and continues is the run that never
stopped, bitwise on CPU, for every optimizer, with minibatches, schedules, validation points
and divergence mid-run; a traced step count compiles once for every length."""

from __future__ import annotations

import collections
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import jaxfit
from jaxfit._training import Run, RunState, check_inputs, run_fit

HORIZON = 12
X = jnp.linspace(-1, 1, 23)[:, None]
Y = 2 * X[:, 0] + 1 + 0.1 * jnp.sin(7 * X[:, 0])
XV, YV = X[::2] * 0.9, Y[::2]
TRACED = collections.Counter()

# Every optimizer, with minibatches, a schedule and validation where the optimizer allows;
# the last two diverge mid-run (sgd at a huge rate: an explosion; adam on a NaN target).
CASES = {
    "sgd": dict(optimizer="sgd", learning_rate=0.3, batch_size=5, schedule="cosine",
                hidden=(8,)),
    "momentum": dict(optimizer="momentum", learning_rate=0.1, batch_size=7),
    "nesterov": dict(optimizer="nesterov", learning_rate=0.1, schedule="warmup_cosine",
                     warmup_steps=3.0),
    "adam": dict(optimizer="adam", learning_rate=0.05, batch_size=4, schedule="exponential",
                 decay_rate=0.5),
    "adamw": dict(optimizer="adamw", learning_rate=0.05, weight_decay=0.1, batch_size=6),
    "rmsprop": dict(optimizer="rmsprop", learning_rate=0.01, schedule="step", decay_every=4.0,
                    decay_rate=0.5),
    "adagrad": dict(optimizer="adagrad", learning_rate=0.1, batch_size=9),
    "lbfgs": dict(optimizer="lbfgs"),
    "newton": dict(optimizer="newton", l2=0.1),
    "sgd-explodes": dict(optimizer="sgd", learning_rate=4.0),
}  # fmt: skip


STATIC_TOO = ("sgd", "adam", "sgd-explodes")


@functools.cache
def _case(name: str):
    hp = jaxfit.Hyperparams(steps=HORIZON, **CASES[name])
    model = jaxfit.mlp() if name == "sgd" else jaxfit.linear()  # one MLP: compiles cost
    inputs = check_inputs(model, "mse", (X, Y), (XV, YV), ("mae",), None, 1e4, 5)
    return Run(inputs.run_spec_for(hp), inputs.train, inputs.valid), hp


@jax.jit
def _init(run: Run, key, hp) -> RunState:
    return run.init(key, hp)


@jax.jit
def _advance(run: Run, state: RunState, n) -> RunState:
    TRACED[run.spec] += 1
    return run.advance(state, n)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _advance_static(run: Run, state: RunState, start: int, n: int) -> RunState:
    return run.advance(state, n, start=start)


@jax.jit
def _evaluate(run: Run, state: RunState):
    return run.evaluate(state)


@jax.jit
def _fit(run: Run, key, hp):
    return run_fit(run.spec, hp, key, run.train, run.valid)


def _assert_same(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for u, v in zip(la, lb, strict=True):
        if jnp.issubdtype(u.dtype, jax.dtypes.prng_key):
            u, v = jax.random.key_data(u), jax.random.key_data(v)
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


@pytest.mark.parametrize("name", list(CASES))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.integers(0, HORIZON), m=st.integers(0, HORIZON + 3))
def test_advance_twice_is_advance_once(name, k, m):
    run, hp = _case(name)
    s0 = _init(run, jax.random.key(7), hp)
    split = _advance(run, _advance(run, s0, k), m)
    whole = _advance(run, s0, k + m)
    _assert_same(split, whole)  # bitwise: the same loop body, the same steps
    assert int(whole.train.step) == min(k + m, HORIZON)


@pytest.mark.parametrize("name", list(CASES))
def test_advance_to_the_horizon_is_fit(name):
    """Any split of the horizon ends where ``fit`` ends.

    With lengths known on the host the loops are scans, as ``fit``'s are: bitwise equal.
    With traced lengths they are while loops, whose bodies XLA may fuse differently from a
    scan's: the same steps, equal to ``fit`` within float32 rounding (seen here: a reported
    loss 1 ulp apart for a few optimizers, parameters bitwise equal).
    """
    run, hp = _case(name)
    key = jax.random.key(7)
    ref = _fit(run, key, hp)
    s0 = _init(run, key, hp)
    exact = lambda a, b: np.testing.assert_array_equal(a, b)  # noqa: E731
    close = functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-7)
    checks = [(_advance(run, _advance(run, s0, 5), HORIZON), close)]  # traced, past the end
    if name in STATIC_TOO:  # static lengths compile once per split, so only a few
        checks.append((_advance_static(run, _advance_static(run, s0, 0, 7), 7, 5), exact))
    for state, same in checks:
        jax.tree.map(same, state.train.params, ref.params)
        same(state.train_loss, ref.train_loss)
        same(state.val_loss, ref.val_loss)
        # The final metrics are a program of their own, fused differently from fit's.
        jax.tree.map(close, _evaluate(run, state), ref.last_good_metrics)
        assert bool(~state.train.alive) == bool(ref.diverged)
        assert int(state.train.death_step) == int(ref.diverged_step)
    if name == "sgd-explodes":
        assert bool(ref.diverged) and 0 < int(ref.diverged_step) < HORIZON


def test_a_traced_length_compiles_once():
    run, hp = _case("adam")
    state = _init(run, jax.random.key(0), hp)
    before = TRACED[run.spec]
    for n in (1, 2, 3, 5):
        state = _advance(run, state, n)
    assert TRACED[run.spec] - before <= 1  # at most the first call traces
    assert int(state.train.step) == 11
    losses = np.asarray(state.train_loss)
    assert not np.isnan(losses[:11]).any() and np.isnan(losses[11])  # step 12 not taken yet
    state = _advance(run, state, 100)  # past the horizon: stops there
    assert int(state.train.step) == HORIZON and not np.isnan(np.asarray(state.train_loss)).any()


def test_vmapped_rows_share_the_step_count():
    """``RunState.axes()`` keeps the step unbatched; rows equal their single runs."""
    run, hp = _case("adam")
    lrs = [0.01, 0.05, 0.2]
    hps = jaxfit.stack([hp.replace(learning_rate=lr) for lr in lrs])
    keys = jax.random.split(jax.random.key(3), len(lrs))
    axes = RunState.axes()

    @jax.jit
    def batch(hps, keys, n):
        states = jax.vmap(run.init, out_axes=axes)(keys, hps)
        states = jax.vmap(run.advance, in_axes=(axes, None), out_axes=axes)(states, n)
        return states

    states = batch(hps, keys, 9)
    assert states.train.step.shape == ()  # shared, not one per row
    for i, lr in enumerate(lrs):
        one = _advance(run, _init(run, keys[i], hp.replace(learning_rate=lr)), 9)
        row = jax.tree.map(lambda a, i=i: a[i], states._replace(train=states.train._replace(
            step=jnp.broadcast_to(states.train.step, (len(lrs),)))))  # fmt: skip
        np.testing.assert_allclose(row.train_loss, one.train_loss, rtol=1e-6, equal_nan=True)
        np.testing.assert_allclose(row.val_loss, one.val_loss, rtol=1e-6, equal_nan=True)


def test_the_run_is_differentiable_with_static_lengths():
    """Static lengths are scans, so the validation loss has a gradient in the learning rate."""
    run, hp = _case("momentum")

    @jax.jit
    def val_loss(lr):
        h = hp.replace(learning_rate=lr)
        state = run.advance(run.init(jax.random.key(0), h), HORIZON, start=0)
        return run.evaluate(state)["val_loss"]

    lr, eps = 0.1, 1e-3
    grad = jax.jit(jax.grad(val_loss))(lr)
    fd = (val_loss(lr + eps) - val_loss(lr - eps)) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=2e-2)
