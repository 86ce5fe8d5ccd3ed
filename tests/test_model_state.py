"""Models with a per-step key, a train/eval flag and non-trained state: dropout in the mlp,
a batch-statistics model trained by fit equal to a hand-written loop, the documented step
keys, a stopped-and-continued run, and the refusals."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxfit
from jaxfit._training import TRACES, Run, check_inputs


@jaxfit.hyperparams
class DropoutHP(jaxfit.Hyperparams):
    dropout: float = jaxfit.numeric(0.3, ge=0.0, lt=1.0)


X = jax.random.normal(jax.random.key(1), (24, 3))
Y = jnp.sin(X[:, 0]) + 0.5 * X[:, 1]
HP = DropoutHP(hidden=(8,), steps=6, learning_rate=0.05, optimizer="sgd")


# A model with batch statistics: train mode normalises by the batch's mean and updates a
# running mean (momentum 0.5); eval mode uses the running mean. Its state is not trained.
def _bn_init(key, x, hp):
    w = jax.random.normal(key, (x.shape[1], 1)) * 0.1
    return jaxfit.Variables({"w": w, "b": jnp.zeros(1)}, {"mean": jnp.zeros(x.shape[1])})


def _bn_apply(params, x, hp, *, state, train):
    if train:
        mean = jnp.mean(x, 0)
        state = {"mean": 0.5 * state["mean"] + 0.5 * mean}
    else:
        mean = state["mean"]
    return (x - mean[None, :]) @ params["w"] + params["b"][None, :], state


BN = jaxfit.Model(_bn_init, _bn_apply, name="bn")


def test_stateful_model_trains_as_a_hand_loop_and_returns_variables():
    hp = jaxfit.Hyperparams(steps=5, learning_rate=0.1, optimizer="sgd")
    key = jax.random.key(3)
    r = jaxfit.fit(BN, "mse", (X, Y), hp, key=key)
    assert isinstance(r.params, jaxfit.Variables)

    # By hand: the same init key (fit splits its key in two), the same sgd, the same data.
    init_key, _ = jax.random.split(key)
    v = _bn_init(init_key, X, hp)
    params, state = v.params, v.state
    tx = optax.sgd(0.1)
    opt = tx.init(params)
    for _ in range(5):

        def loss(p, state=state):
            pred, new = _bn_apply(p, X, hp, state=state, train=True)
            return jnp.mean((pred[:, 0] - Y) ** 2), new

        (_, state), g = jax.value_and_grad(loss, has_aux=True)(params)
        upd, opt = tx.update(g, opt, params)
        params = optax.apply_updates(params, upd)
    np.testing.assert_allclose(r.params.params["w"], params["w"], rtol=1e-6)
    np.testing.assert_allclose(r.params.state["mean"], state["mean"], rtol=1e-6)
    # Evaluation uses the running mean and changes nothing.
    pred = jaxfit.predict(BN, r.params, X, hp)
    np.testing.assert_allclose(
        pred, (X - state["mean"][None, :]) @ params["w"] + params["b"][None, :], rtol=1e-6
    )
    with pytest.raises(TypeError, match=r"stateful model's init returns jaxfit\.Variables"):
        jaxfit.predict(BN, r.params.params, X, hp)


def test_a_failed_step_keeps_the_last_good_state():
    hp = jaxfit.Hyperparams(steps=6, learning_rate=300.0, optimizer="sgd")  # explodes
    r = jaxfit.fit(BN, "mse", (X, Y), hp, key=jax.random.key(0))
    assert bool(r.diverged)
    d = int(r.diverged_step)
    assert 0 < d < 6
    good = jaxfit.fit(BN, "mse", (X, Y), hp.replace(steps=d), key=jax.random.key(0))
    assert not bool(good.diverged)
    np.testing.assert_array_equal(r.params.state["mean"], good.params.state["mean"])
    np.testing.assert_array_equal(r.params.params["w"], good.params.params["w"])


def test_dropout_fit_equals_a_hand_loop_with_the_documented_step_keys():
    model, key = jaxfit.mlp(), jax.random.key(7)
    r = jaxfit.fit(model, "mse", (X, Y), HP, key=key)
    init_key, _ = jax.random.split(key)
    params = model.init(init_key, X, HP)
    tx = optax.sgd(HP.learning_rate)
    opt = tx.init(params)
    for t in range(HP.steps):
        k = jaxfit.step_key(key, t)

        def loss(p, k=k):
            return jnp.mean((model.apply(p, X, HP, key=k, train=True)[:, 0] - Y) ** 2)

        g = jax.grad(loss)(params)
        upd, opt = tx.update(g, opt, params)
        params = optax.apply_updates(params, upd)
    for a, b in zip(jax.tree.leaves(r.params), jax.tree.leaves(params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    # Dropout changes training: without the field, the same key trains to other numbers.
    plain = jaxfit.fit(model, "mse", (X, Y), jaxfit.Hyperparams(**{
        k: getattr(HP, k) for k in ("hidden", "steps", "learning_rate", "optimizer")
    }), key=key)  # fmt: skip
    assert not np.allclose(plain.params[0]["w"], r.params[0]["w"])


def test_dropout_advance_twice_equals_advance_once_and_sweep_rows_equal_fit():
    inputs = check_inputs(jaxfit.mlp(), "mse", (X, Y), None, (), None, 1e4, None)
    run = Run(inputs.run_spec_for(HP), inputs.train, None)
    key = jax.random.key(2)
    s0 = run.init(key, HP)
    once = run.advance(s0, 6, start=0)
    twice = run.advance(run.advance(s0, 2, start=0), 4, start=2)
    for a, b in zip(jax.tree.leaves(once.train), jax.tree.leaves(twice.train), strict=True):
        np.testing.assert_array_equal(a, b)
    # The rate is a numeric leaf: one program for every rate; row (i, s) is fit's run with
    # fold_in(key, s).
    before = TRACES["sweep"]
    sw = jaxfit.sweep(jaxfit.mlp(), "mse", (X, Y), HP, jaxfit.grid(dropout=[0.0, 0.3, 0.6]),
                      key=key, seeds=2)  # fmt: skip
    assert TRACES["sweep"] - before == 1
    alone = jaxfit.fit(jaxfit.mlp(), "mse", (X, Y), HP, key=jax.random.fold_in(key, 1))
    np.testing.assert_allclose(sw.metrics["train_loss"][1, 1], alone.metrics["train_loss"],
                               rtol=1e-5)  # fmt: skip
    assert len(set(np.round(sw.metrics["train_loss"][:, 0], 6))) == 3


def test_init_weight_sees_each_folds_training_rows():
    # A model whose init records the weighted mean of the training inputs, as state.
    def init(key, x, hp, weight):
        mean = jnp.sum(weight[:, None] * x, 0) / jnp.sum(weight)
        return jaxfit.Variables({"w": jnp.zeros((x.shape[1], 1))}, {"mean": mean})

    def apply(params, x, hp, *, state):
        return (x - state["mean"][None, :]) @ params["w"], state

    model = jaxfit.Model(init, apply, name="centred")
    hp = jaxfit.Hyperparams(steps=2, optimizer="sgd")
    folds = jaxfit.KFold(3).split(np.asarray(X))
    sw = jaxfit.sweep(model, "mse", (X, Y), hp, key=jax.random.key(0), cv=folds)
    for f in range(3):
        mean = sw.params(0, seed=f).state["mean"]  # cell f: seed 0, fold f
        train = folds.train[f] == 1
        np.testing.assert_allclose(mean, np.asarray(X)[train].mean(0), rtol=1e-5)


def test_refusals_name_the_contract():
    step = jaxfit.make_step(jaxfit.mlp(), "mse", HP)
    state = jaxfit.init_state(jaxfit.mlp(), HP, X, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"step\(state, batch, key=\.\.\.\)"):
        step(state, (X, Y))
    state, m = step(state, (X, Y), key=jax.random.key(1))
    assert bool(m.alive)
    with pytest.raises(TypeError, match="state=None"):
        jaxfit.init_model(
            jaxfit.Model(lambda k, x, hp: jaxfit.Variables({}, None),
                         lambda p, x, hp, *, state: (x, state)),
            jax.random.key(0), X, HP,
        )  # fmt: skip
    no_state = jaxfit.Model(lambda k, x, hp: jaxfit.Variables({}, {}), lambda p, x, hp: x)
    with pytest.raises(TypeError, match="apply must take the state"):
        jaxfit.fit(no_state, "mse", (X, Y), HP, key=jax.random.key(0))
    bad = jaxfit.Model(_bn_init, lambda p, x, hp, *, state: x[:, :1])
    with pytest.raises(TypeError, match="must return \\(pred, new_state\\)"):
        jaxfit.fit(bad, "mse", (X, Y), HP, key=jax.random.key(0))


def _schedule_free(hp):
    return optax.contrib.schedule_free_adamw(hp.learning_rate)


def _sf_eval(params, state, hp):
    return optax.contrib.schedule_free_eval_params(state, params)


def test_eval_params_are_used_for_validation_metrics_and_returned_params():
    xv, yv = X[:8] * 0.5, Y[:8]
    hp = jaxfit.Hyperparams(learning_rate=0.05, steps=12, batch_size=8)
    opt = jaxfit.with_eval_params(_schedule_free, _sf_eval)
    assert jaxfit.with_eval_params(_schedule_free, _sf_eval) is opt  # no recompiles
    kw = dict(key=jax.random.key(0), val=(xv, yv), keep_opt_state=True, eval_every=6)
    r = jaxfit.fit(jaxfit.linear(), "mse", (X, Y), hp, optimizer=opt, **kw)
    raw = jaxfit.fit(jaxfit.linear(), "mse", (X, Y), hp, optimizer=_schedule_free, **kw)
    # Training is the same; evaluation happens at the schedule-free evaluation point.
    np.testing.assert_array_equal(r.train_loss, raw.train_loss)
    at = _sf_eval(raw.params, raw.opt_state, hp)
    for a, b in zip(jax.tree.leaves(r.params), jax.tree.leaves(at), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    want = jaxfit.evaluate(jaxfit.linear(), at, (xv, yv), hp, ["mse"])["mse"]
    np.testing.assert_allclose(r.metrics["val_loss"], want, rtol=1e-5)
    np.testing.assert_allclose(r.val_loss[-1], want, rtol=1e-5)
    assert abs(float(raw.metrics["val_loss"]) - want) > 1e-6  # the two points differ
    assert jaxfit.fit(jaxfit.linear(), "mse", (X, Y), hp, key=jax.random.key(0)).opt_state is None
    bad = jaxfit.with_eval_params(_schedule_free, lambda p, s, hp: p["w"])
    with pytest.raises(TypeError, match="same structure"):
        jaxfit.fit(jaxfit.linear(), "mse", (X, Y), hp, optimizer=bad, key=jax.random.key(0))
    with pytest.raises(TypeError, match="eval_params=3 must be callable"):
        jaxfit.with_eval_params(None, 3)


def test_batch_statistics_that_would_see_held_out_rows_warn_and_weight_silences_it():
    hp = jaxfit.Hyperparams(steps=2, optimizer="sgd")
    with pytest.warns(UserWarning, match="held-out rows leak into training"):
        jaxfit.sweep(BN, "mse", (X, Y), hp, key=jax.random.key(0), cv=3)

    # With the weights, the statistics leave out the other folds' rows: no warning, and
    # the running mean is the fold's own.
    def apply(params, x, hp, *, state, train, weight):
        if train:
            mean = jnp.sum(weight[:, None] * x, 0) / jnp.sum(weight)
            state = {"mean": 0.5 * state["mean"] + 0.5 * mean}
        return (x - state["mean"][None, :]) @ params["w"] + params["b"][None, :], state

    masked = jaxfit.Model(_bn_init, apply, name="masked-bn")
    folds = jaxfit.KFold(3).split(np.asarray(X))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sw = jaxfit.sweep(masked, "mse", (X, Y), hp, key=jax.random.key(0), cv=folds)
    fold_mean = np.asarray(X)[folds.train[0] == 1].mean(0)
    np.testing.assert_allclose(sw.params(0, seed=0).state["mean"], 0.75 * fold_mean, rtol=1e-5)
