"""Training: the founding example, vmap equivalence, divergence, minibatches, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

import jaxfit
from jaxfit._training import Batcher
from jaxfit._training.step import TRACES


@pytest.fixture(scope="module")
def line():
    """y = 2x + 1 + noise, the founding example."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 200).astype(np.float32)
    y = (2 * x + 1 + 0.1 * rng.normal(size=200)).astype(np.float32)
    return x, y


GD = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.5, steps=500)


def test_founding_example_matches_closed_form(line):
    x, y = line
    r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), GD, key=jax.random.key(0))
    a_ls, b_ls = np.linalg.lstsq(np.stack([x, np.ones_like(x)], 1), y, rcond=None)[0]
    a, b = float(r.params["w"][0, 0]), float(r.params["b"][0])
    assert abs(a - 2) < 0.05 and abs(b - 1) < 0.05
    np.testing.assert_allclose([a, b], [a_ls, b_ls], atol=1e-3)
    assert not bool(r.diverged) and r.cause_name == "none" and int(r.diverged_step) == -1
    assert r.train_loss.shape == (500,)
    assert float(r.train_loss[-1]) < float(r.train_loss[0])


def test_too_large_learning_rate_is_reported_as_diverged(line):
    x, y = line
    r = jaxfit.fit(
        jaxfit.linear(), "mse", (x, y), GD.replace(learning_rate=3.0), key=jax.random.key(0)
    )
    assert bool(r.diverged)
    assert r.cause_name in ("explode", "inf", "nan")
    step = int(r.diverged_step)
    assert 0 < step < 500
    assert np.all(np.isfinite(np.asarray(r.params["w"])))  # frozen before the failing step
    assert np.all(np.isnan(np.asarray(r.train_loss[step + 1 :])))
    # The frozen parameters are exactly those after `step` good steps.
    before = jaxfit.fit(
        jaxfit.linear(), "mse", (x, y), GD.replace(learning_rate=3.0, steps=step),
        key=jax.random.key(0),
    )  # fmt: skip
    np.testing.assert_array_equal(np.asarray(r.params["w"]), np.asarray(before.params["w"]))


def test_explode_factor_none_waits_for_non_finite(line):
    x, y = line
    hp = GD.replace(learning_rate=3.0, steps=2000)
    r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=jax.random.key(0), explode_factor=None)
    assert r.cause_name in ("inf", "nan")


# One compiled program shared by the property test below: 3 settings of a small MLP with
# minibatches and a validation curve.
CLS_HP = jaxfit.Hyperparams(
    optimizer="adam", hidden=(8,), steps=30, batch_size=16, learning_rate=0.01
)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(90, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32) + (x[:, 2] > 1).astype(np.int32)
    return x[:60], y[:60], x[60:], y[60:]


def _fit_cls(data, h, k):
    x, y, xv, yv = data
    return jaxfit.fit(
        jaxfit.mlp(3), "softmax_cross_entropy", (x, y), h, key=k, val=(xv, yv),
        metrics=["accuracy"], eval_every=7,
    )  # fmt: skip


@settings(max_examples=8, deadline=None)
@given(
    lrs=st.lists(st.floats(1e-4, 0.3), min_size=3, max_size=3),
    b1s=st.lists(st.floats(0.0, 0.95), min_size=3, max_size=3),
)
def test_vmapped_fit_equals_single_fits(blobs, lrs, b1s):
    hps = [CLS_HP.replace(learning_rate=lr, b1=b1) for lr, b1 in zip(lrs, b1s, strict=True)]
    keys = jax.random.split(jax.random.key(3), 3)
    batched = jax.vmap(lambda h, k: _fit_cls(blobs, h, k))(jaxfit.stack(hps), keys)
    for i, (h, k) in enumerate(zip(hps, keys, strict=True)):
        single = _fit_cls(blobs, h, k)
        np.testing.assert_allclose(batched.train_loss[i], single.train_loss, rtol=2e-4, atol=1e-5)
        np.testing.assert_allclose(batched.val_loss[i], single.val_loss, rtol=2e-4, atol=1e-5)
        for a, b in zip(
            jax.tree.leaves(batched.params), jax.tree.leaves(single.params), strict=True
        ):
            np.testing.assert_allclose(a[i], b, rtol=2e-4, atol=1e-5)
        assert bool(batched.diverged[i]) == bool(single.diverged)


def test_validation_curve_and_metrics(blobs):
    r = _fit_cls(blobs, CLS_HP, jax.random.key(0))
    assert r.val_steps == (7, 14, 21, 28, 30)
    assert r.val_loss.shape == (5,)
    assert set(r.metrics) == {"train_loss", "val_loss", "train_accuracy", "val_accuracy"}
    assert 0.0 <= float(r.metrics["val_accuracy"]) <= 1.0


def test_no_retrace_for_numeric_values_and_retrace_for_static(line):
    x, y = line
    hp = GD.replace(steps=20)
    jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=jax.random.key(0))
    before = TRACES["fit"]
    for lr in (0.01, 0.02, 0.3):
        jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp.replace(learning_rate=lr, l2=lr),
                   key=jax.random.key(1))  # fmt: skip
    assert TRACES["fit"] == before
    jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp.replace(steps=21), key=jax.random.key(0))
    assert TRACES["fit"] == before + 1


@pytest.mark.parametrize("x64", [False, True])
def test_dtypes_are_kept(x64):
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        x = jnp.linspace(-1, 1, 16, dtype=dtype)
        hp = jaxfit.Hyperparams(optimizer="adam", steps=5)
        r = jaxfit.fit(jaxfit.mlp(), "mse", (x, 2 * x), hp, key=jax.random.key(0))
        assert all(p.dtype == dtype for p in jax.tree.leaves(r.params))
        assert r.train_loss.dtype == dtype
        assert r.metrics["train_loss"].dtype == dtype


def _epochs(batch_at, n_epochs, n_batches):
    """The weighted samples of each epoch, stepping the batcher as the scan does."""
    order, out = batch_at.init, []
    for epoch in range(n_epochs):
        seen, xs = [], []
        for b in range(n_batches):
            batch, order = batch_at(jnp.int32(epoch * n_batches + b), order)
            seen += [int(v) for v, w in zip(batch.x, batch.weight, strict=True) if w > 0]
            xs.append(np.asarray(batch.x))
        out.append((seen, xs))
    return out


@pytest.mark.parametrize("static", [False, True])
def test_minibatches_cover_every_sample_once_per_epoch(static):
    n, bs = 10, 4
    ds = jaxfit.as_dataset((np.arange(n, dtype=np.float32), np.zeros(n, np.float32)))
    batch_at = Batcher(ds, bs, jax.random.key(0), 3 if static else None)
    epochs = _epochs(batch_at, 2, 3)  # ceil(10 / 4) batches; the last has 2 zero-weight pads
    for seen, _ in epochs:
        assert sorted(seen) == list(range(n))
    assert not np.array_equal(epochs[0][1][0], epochs[1][1][0])  # reshuffled per epoch


def test_epoch_order_drawn_once_equals_drawn_every_step():
    ds = jaxfit.as_dataset((np.arange(10, dtype=np.float32), np.zeros(10, np.float32)))
    once = _epochs(Batcher(ds, 4, jax.random.key(1), 3), 3, 3)
    every = _epochs(Batcher(ds, 4, jax.random.key(1), None), 3, 3)
    for (a, xa), (b, xb) in zip(once, every, strict=True):
        assert a == b and all(np.array_equal(u, v) for u, v in zip(xa, xb, strict=True))


def test_minibatch_fit_converges(line):
    x, y = line
    hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.2, steps=400, batch_size=32)
    r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=jax.random.key(0))
    np.testing.assert_allclose(
        [float(r.params["w"][0, 0]), float(r.params["b"][0])], [2, 1], atol=0.05
    )


def test_make_step_reproduces_fit(line):
    x, y = line
    hp = GD.replace(steps=50)
    r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=jax.random.key(0))
    init_key, _ = jax.random.split(jax.random.key(0))
    state = jaxfit.init_state(jaxfit.linear(), hp, x, key=init_key)
    step = jaxfit.make_step(jaxfit.linear(), "mse", hp)
    losses = []
    for _ in range(50):
        state, m = step(state, (x, y))
        losses.append(float(m.loss))
    np.testing.assert_allclose(losses, r.train_loss, rtol=1e-5)
    np.testing.assert_allclose(state.params["w"], r.params["w"], rtol=1e-5)


def test_make_step_does_not_retrace_for_new_values(line):
    x, y = line
    state = jaxfit.init_state(jaxfit.linear(), GD, x, key=jax.random.key(0))
    jaxfit.make_step(jaxfit.linear(), "mse", GD)(state, (x, y))
    before = TRACES["step"]
    for lr in (0.1, 0.2):
        jaxfit.make_step(jaxfit.linear(), "mse", GD.replace(learning_rate=lr))(state, (x, y))
    assert TRACES["step"] == before


def test_user_model_plugs_in(line):
    """A model given as two plain functions, as a flax/equinox model would be wrapped."""
    x, y = line

    def init(key, x, hp):
        del x, hp
        return {"a": jax.random.normal(key, ()), "b": jnp.zeros(())}

    def apply(params, x, hp):
        del hp
        return (params["a"] * x + params["b"])[:, None]

    model = jaxfit.Model(init=init, apply=apply, name="line")
    r = jaxfit.fit(model, "mse", (x, y), GD, key=jax.random.key(0))
    np.testing.assert_allclose([float(r.params["a"]), float(r.params["b"])], [2, 1], atol=0.05)
    batch = jaxfit.stack([GD, GD.replace(learning_rate=0.1)])
    rs = jax.vmap(lambda h, k: jaxfit.fit(model, "mse", (x, y), h, key=k))(
        batch, jax.random.split(jax.random.key(0), 2)
    )
    assert rs.params["a"].shape == (2,)


def test_fit_is_jittable_as_a_whole(line):
    x, y = line
    fitted = jax.jit(lambda x, y, h: jaxfit.fit(jaxfit.linear(), "mse", (x, y), h,
                                                key=jax.random.key(0)))  # fmt: skip
    r = fitted(x, y, GD)
    assert abs(float(r.params["w"][0, 0]) - 2) < 0.05


def test_custom_optimizer_factory(line):
    import optax

    x, y = line
    r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), GD.replace(steps=300), key=jax.random.key(0),
                   optimizer=lambda hp: optax.sgd(hp.learning_rate, momentum=0.5))  # fmt: skip
    assert abs(float(r.params["w"][0, 0]) - 2) < 0.05


def test_classification_models_learn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    y = (x[:, 0] - x[:, 1] > 0).astype(np.int32)
    hp = jaxfit.Hyperparams(optimizer="adam", learning_rate=0.1, steps=300)
    r = jaxfit.fit(jaxfit.logistic(), "binary_cross_entropy", (x, y), hp,
                   key=jax.random.key(0), metrics=["accuracy"])  # fmt: skip
    assert float(r.metrics["train_accuracy"]) > 0.97
    r = jaxfit.fit(jaxfit.softmax_regression(2), "softmax_cross_entropy", (x, y), hp,
                   key=jax.random.key(0), metrics=["accuracy"])  # fmt: skip
    assert float(r.metrics["train_accuracy"]) > 0.97


def test_predict_and_evaluate(line):
    x, y = line
    r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), GD, key=jax.random.key(0))
    pred = jaxfit.predict(jaxfit.linear(), r.params, x, GD)
    assert pred.shape == (200, 1)
    scores = jaxfit.evaluate(jaxfit.linear(), r.params, (x, y), GD, ["mse", "r2"])
    assert scores["mse"] == pytest.approx(float(r.metrics["train_loss"]), rel=1e-4)
    assert scores["r2"] > 0.95


X = np.linspace(-1, 1, 10).astype(np.float32)


@pytest.mark.parametrize(
    ("data", "loss", "error", "match"),
    [
        ((X, X[:9]), "mse", ValueError, "x has 10 samples.*y has 9"),
        ((X[:0], X[:0]), "mse", ValueError, "is empty"),
        ((np.float32(1.0), X), "mse", ValueError, "leading sample axis"),
        ((np.where(X > 0.5, np.nan, X), X), "mse", ValueError, r"x contains 3 non-finite.*NaN"),
        ((X, np.where(X > 0.9, np.inf, X)), "mse", ValueError, r"y contains 1 non-finite.*inf"),
        ((X, np.arange(10)), "mse", TypeError, "integer labels"),
        ((X, X, -np.ones(10)), "mse", ValueError, "negative"),
        ((X, X, np.ones(3)), "mse", ValueError, r"weight must have shape \(10,\)"),
        ((X,), "mse", TypeError, r"tuple \(x, y\)"),
        ((np.array(["a"] * 10), X), "mse", TypeError, "must be numeric"),
    ],
)
def test_bad_input_is_refused_before_compiling(data, loss, error, match):
    before = TRACES["fit"]
    hp = GD.replace(steps=3)
    with pytest.raises(error, match=match):
        jaxfit.fit(jaxfit.linear(), loss, data, hp, key=jax.random.key(0))
    assert TRACES["fit"] == before


def test_wrong_input_rank_for_a_builtin_model_is_refused():
    # Shapes are static, so the model refuses a rank-3 x while tracing, before compiling.
    with pytest.raises(ValueError, match=r"\(10, 1, 1\)"):
        jaxfit.fit(jaxfit.linear(), "mse", (X.reshape(10, 1, 1), X), GD, key=jax.random.key(0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"key": 0}, TypeError, "PRNG key"),
        ({"key": jax.random.split(jax.random.key(0), 2)}, ValueError, "single PRNG key"),
        ({"eval_every": 5}, ValueError, "no validation set"),
        ({"explode_factor": 0.5}, ValueError, "explode_factor"),
        ({"optimizer": "adam"}, TypeError, "optimizer must be a callable"),
    ],
)
def test_bad_options_are_refused(line, kwargs, error, match):
    x, y = line
    kwargs = {"key": jax.random.key(0)} | kwargs
    with pytest.raises(error, match=match):
        jaxfit.fit(jaxfit.linear(), "mse", (x, y), GD, **kwargs)


def test_bad_model_and_hp_are_refused(line):
    x, y = line
    with pytest.raises(TypeError, match=r"model must be a jaxfit\.Model"):
        jaxfit.fit(lambda p, x: x, "mse", (x, y), GD, key=jax.random.key(0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="hp must be an instance"):
        jaxfit.fit(jaxfit.linear(), "mse", (x, y), {"learning_rate": 0.1}, key=jax.random.key(0))


def test_lbfgs_matches_closed_form_ridge():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3)).astype(np.float32)
    y = (x @ np.array([1.0, 2.0, 3.0]) + 0.5 + 0.1 * rng.normal(size=100)).astype(np.float32)
    l2 = 0.1
    hp = jaxfit.Hyperparams(optimizer="lbfgs", steps=30, l2=l2)
    r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=jax.random.key(0))
    # mean((Xw + b - y)^2) + 0.5 * l2 * |w|^2 is minimised by the normal equations below.
    design = np.c_[x, np.ones(100)]
    penalty = np.diag([l2 * 100 / 2] * 3 + [0.0])
    exact = np.linalg.solve(design.T @ design + penalty, design.T @ y)
    got = np.r_[np.asarray(r.params["w"])[:, 0], np.asarray(r.params["b"])]
    np.testing.assert_allclose(got, exact, rtol=1e-4, atol=1e-5)


def test_lbfgs_refuses_what_its_line_search_cannot_see():
    with pytest.raises(ValueError, match="use l2"):
        jaxfit.Hyperparams(optimizer="lbfgs", weight_decay=0.1)
    with pytest.raises(ValueError, match="schedule='constant'"):
        jaxfit.Hyperparams(optimizer="lbfgs", schedule="cosine")


def test_sum_scaled_l2_is_sklearn_ridge():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(37, 4)).astype(np.float32)
    y = (x @ rng.normal(size=4) + 0.2 * rng.normal(size=37)).astype(np.float32)
    alpha = 3.0
    hp = jaxfit.Hyperparams(optimizer="lbfgs", steps=40, l2=2 * alpha, l2_scaling="sum")
    r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=jax.random.key(0))
    ridge = sklearn.Ridge(alpha=alpha).fit(x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(np.asarray(r.params["w"])[:, 0], ridge.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(float(r.params["b"][0]), ridge.intercept_, rtol=1e-4, atol=1e-5)


def test_default_eval_every_keeps_evaluation_cheap():
    from jaxfit._training.spec import default_eval_every

    big = jaxfit.as_dataset((np.zeros((1000, 2)), np.zeros(1000)))
    small = jaxfit.as_dataset((np.zeros((100, 2)), np.zeros(100)))
    full = jaxfit.Hyperparams(steps=1000)
    assert default_eval_every(1000, full, big, small) == 10  # 100 points
    mini = full.replace(batch_size=50)
    assert default_eval_every(1000, mini, big, big) == 200  # 10 * 1000 / 50
    assert default_eval_every(30, mini, big, big) == 30  # at least the final evaluation


def test_unit_weights_become_constants_with_the_same_numbers():
    """No weights (or all ones) compile as a plain mean; the numbers do not change."""
    from jaxfit._training import check_inputs

    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0]) + 0.5).astype(np.float32)
    hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.1, steps=30)
    plain = check_inputs(jaxfit.linear(), "mse", (x, y), (x, y), (), None, 1e4, None)
    assert plain.run_spec_for(hp).unit_weights == (True, True)
    assert plain.run_spec_for(hp, np.ones((2, 40))).unit_weights == (False, False)  # CV masks
    halves = np.where(np.arange(40) < 20, 1.0, 2.0).astype(np.float32)
    weighted = check_inputs(jaxfit.linear(), "mse", (x, y, halves), None, (), None, 1e4, None)
    assert weighted.run_spec_for(hp).unit_weights == (False, False)
    key = jax.random.key(0)
    ones = jaxfit.fit(jaxfit.linear(), "mse", (x, y, np.ones(40, np.float32) * 2), hp, key=key)
    none = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=key)
    np.testing.assert_allclose(ones.train_loss, none.train_loss, rtol=1e-6)


@pytest.mark.parametrize(
    "update, cause",
    [(optax.scale(-1e38), "inf"), (optax.scale(jnp.nan), "nan")],
    ids=["update-overflows", "update-is-nan"],
)
def test_a_bad_update_from_a_finite_gradient_freezes_the_last_finite_parameters(update, cause):
    """The guard checks what a step produces, not only its loss and gradient: a frozen setting
    keeps finite parameters (here the initial ones), never the NaN/inf its update made."""
    x = jnp.linspace(-1, 1, 16)
    hp = jaxfit.Hyperparams(steps=5)
    key = jax.random.key(0)
    y = 1e3 * (2 * x + 1)  # gradients ~1e3: a 1e38 step overflows float32
    r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=key, optimizer=lambda h: update)
    assert bool(r.diverged) and r.cause_name == cause and int(r.diverged_step) == 0
    init = jaxfit.init_state(jaxfit.linear(), hp, x, key=jax.random.split(key)[0]).params
    for got, want in zip(jax.tree.leaves(r.params), jax.tree.leaves(init), strict=True):
        np.testing.assert_array_equal(got, want)
    assert np.isnan(r.train_loss[1:]).all() and np.isfinite(r.train_loss[0])
