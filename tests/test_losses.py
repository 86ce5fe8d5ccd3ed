"""Losses and metrics against numpy and scikit-learn, weights as exact masks, jit and vmap."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn import metrics as skm

from jaxfit import (
    Metric,
    accuracy,
    binary_cross_entropy,
    check_targets,
    get_metric,
    huber,
    huber_loss,
    mae,
    mse,
    r2,
    softmax_cross_entropy,
)
from jaxfit._training.step import TRACES

FAST = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)
# Few distinct sizes: each new shape compiles, and compiling dominates the run time.
sizes = st.sampled_from([3, 8])

# (metric, kind of data it takes); "real1": pred (n, 1), y (n,); "real3": pred, y (n, 3).
CASES = [
    (mse, "real1"),
    (mse, "real3"),
    (mae, "real1"),
    (mae, "real3"),
    (huber, "real1"),
    (huber, "real3"),
    (r2, "real1"),
    (r2, "real3"),
    (binary_cross_entropy, "binary"),
    (softmax_cross_entropy, "class"),
    (accuracy, "binary"),
    (accuracy, "class"),
]
case_ids = [f"{m.name}-{kind}" for m, kind in CASES]


def make_data(kind, rng, n):
    """Numpy pred and y (float64, or int64 labels) for one kind of target; see f32."""
    if kind == "real1":
        return rng.normal(size=(n, 1)), rng.normal(size=n)
    if kind == "real3":
        return rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    if kind == "binary":
        return 3 * rng.normal(size=(n, 1)), rng.integers(0, 2, size=n)
    return 3 * rng.normal(size=(n, 4)), rng.integers(0, 4, size=n)


def make_weight(rng, n):
    w = rng.uniform(0.0, 2.0, size=n) * (rng.random(n) > 0.25)
    w[:2] = np.maximum(w[:2], 0.5)  # two examples weigh: r2 of one example is degenerate
    return w


def f32(*arrays):
    return [np.asarray(a, np.float32) if np.issubdtype(a.dtype, np.floating) else a for a in arrays]


@functools.partial(jax.jit, static_argnums=0)
def evaluate(metric, pred, y, weight=None):
    return metric(pred, y, weight)


def close(actual, expected, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(float(actual), float(expected), rtol=rtol, atol=atol)


# --- against independent references ---------------------------------------------------------


@FAST
@given(seed=seeds, n=sizes, k=st.sampled_from([None, 1, 3]))
def test_regression_matches_sklearn(seed, n, k):
    rng = np.random.default_rng(seed)
    shape = (n,) if k is None else (n, k)
    pred, y, w = f32(rng.normal(size=shape), rng.normal(size=shape), make_weight(rng, n))
    jpred = pred[:, None] if k is None else pred  # models output (n, 1) for y (n,)
    for metric, ref in [
        (mse, skm.mean_squared_error),
        (mae, skm.mean_absolute_error),
        (r2, skm.r2_score),
    ]:
        close(evaluate(metric, jpred, y, w), ref(y, pred, sample_weight=w), rtol=1e-4)
        close(evaluate(metric, jpred, y, np.ones_like(w)), ref(y, pred), rtol=1e-4)


@FAST
@given(seed=seeds, n=sizes, delta=st.sampled_from([0.3, 1.0, 2.5]))
def test_huber_matches_numpy(seed, n, delta):
    rng = np.random.default_rng(seed)
    pred, y, w = f32(2 * rng.normal(size=(n, 2)), rng.normal(size=(n, 2)), make_weight(rng, n))
    e = np.abs(pred.astype(np.float64) - y)
    per_element = np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta))
    expected = np.sum(w * per_element.mean(axis=1)) / np.sum(w)
    close(evaluate(huber_loss(delta), pred, y, w), expected)


@FAST
@given(seed=seeds, n=sizes, float_labels=st.booleans(), flat=st.booleans())
def test_binary_cross_entropy_and_accuracy_match_sklearn(seed, n, float_labels, flat):
    rng = np.random.default_rng(seed)
    logits, y = make_data("binary", rng, n)
    (logits,), w = f32(logits), np.float32(make_weight(rng, n))
    y = y.astype(np.float32) if float_labels else y
    jlogits = logits[:, 0] if flat else logits
    prob = 1 / (1 + np.exp(-logits[:, 0].astype(np.float64)))
    expected = skm.log_loss(y, prob, sample_weight=w, labels=[0, 1])
    close(evaluate(binary_cross_entropy, jlogits, y, w), expected, rtol=1e-4)
    expected_accuracy = skm.accuracy_score(y, logits[:, 0] > 0, sample_weight=w)
    close(evaluate(accuracy, jlogits, y, w), expected_accuracy)


@FAST
@given(seed=seeds, n=sizes)
def test_softmax_cross_entropy_and_accuracy_match_sklearn(seed, n):
    rng = np.random.default_rng(seed)
    logits, y = make_data("class", rng, n)
    (logits,), w = f32(logits), np.float32(make_weight(rng, n))
    z = np.exp(logits - logits.max(axis=1, keepdims=True)).astype(np.float64)
    expected = skm.log_loss(y, z / z.sum(axis=1, keepdims=True), sample_weight=w, labels=range(4))
    close(evaluate(softmax_cross_entropy, logits, y, w), expected, rtol=1e-4)
    expected_accuracy = skm.accuracy_score(y, logits.argmax(axis=1), sample_weight=w)
    close(evaluate(accuracy, logits, y, w), expected_accuracy)
    close(evaluate(accuracy, logits, y.astype(np.float32), w), expected_accuracy)


def test_cross_entropy_is_stable_for_large_logits():
    logits = jnp.array([[200.0], [-200.0]])
    assert float(evaluate(binary_cross_entropy, logits, jnp.array([1, 0]))) == 0.0
    np.testing.assert_allclose(
        float(evaluate(binary_cross_entropy, logits, jnp.array([0, 1]))), 200.0
    )
    big = jnp.array([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(float(evaluate(softmax_cross_entropy, big, jnp.array([1]))), 1000.0)


def test_r2_of_a_constant_target_follows_sklearn():
    y = np.ones(4, np.float32)
    assert float(evaluate(r2, y[:, None], y)) == skm.r2_score(y, y) == 1.0
    assert float(evaluate(r2, y[:, None] + 1, y)) == skm.r2_score(y, y + 1) == 0.0
    y2 = np.stack([y, np.arange(4, dtype=np.float32)], axis=1)  # one constant output
    pred = y2 + np.float32(0.5)
    close(evaluate(r2, pred, y2), skm.r2_score(y2, pred))
    # One example carries all the weight: y is constant, though sum(w*y)/sum(w) rounds.
    y, w = np.array([7.3, 5.0, 1.1, 0.2], np.float32), np.array([0.3, 0, 0, 0], np.float32)
    assert float(evaluate(r2, y[:, None], y, w)) == 1.0
    assert float(evaluate(r2, y[:, None] + 1, y, w)) == 0.0


# --- weights ---------------------------------------------------------------------------------


@FAST
@given(seed=seeds, case=st.sampled_from(CASES))
def test_integer_weights_equal_repeated_examples(seed, case):
    metric, kind = case
    rng, n = np.random.default_rng(seed), 8
    pred, y = f32(*make_data(kind, rng, n))
    counts = rng.multinomial(2 * n, np.full(n, 1 / n))  # a fixed total keeps shapes fixed
    repeated = evaluate(metric, np.repeat(pred, counts, axis=0), np.repeat(y, counts, axis=0))
    close(evaluate(metric, pred, y, counts), repeated, rtol=1e-4)


@FAST
@given(seed=seeds, n=sizes, case=st.sampled_from(CASES), scale=st.floats(1e-3, 1e3))
def test_weight_scale_invariance(seed, n, case, scale):
    metric, kind = case
    rng = np.random.default_rng(seed)
    pred, y = f32(*make_data(kind, rng, n))
    w = np.float32(make_weight(rng, n))
    scaled = evaluate(metric, pred, y, w * np.float32(scale))
    close(scaled, evaluate(metric, pred, y, w), rtol=1e-4)


@pytest.mark.parametrize(("metric", "kind"), CASES, ids=case_ids)
def test_zero_weight_rows_are_exactly_excluded(metric, kind):
    pred, y = f32(*make_data(kind, np.random.default_rng(0), 8))
    w = np.array([1, 0, 2, 0, 1, 1, 0, 3], np.float32)
    if kind.startswith("real"):  # padding garbage must not leak in, not even NaN or inf
        pred[1], y[3], y[6] = np.nan, np.inf, -np.inf
    keep = w > 0
    close(evaluate(metric, pred, y, w), evaluate(metric, pred[keep], y[keep], w[keep]), rtol=1e-6)


@pytest.mark.parametrize(("metric", "kind"), CASES, ids=case_ids)
def test_all_zero_weights_give_nan(metric, kind):
    pred, y = f32(*make_data(kind, np.random.default_rng(1), 8))
    assert np.isnan(float(evaluate(metric, pred, y, np.zeros(8, np.float32))))


@pytest.mark.parametrize("metric", [mse, accuracy])
def test_default_weight_is_ones(metric):
    pred, y = np.array([[1.0], [-2.0], [0.5]], np.float32), np.array([1.0, 0.0, 0.0], np.float32)
    assert float(metric(pred, y)) == float(metric(pred, y, np.ones(3, np.float32)))


def test_low_precision_predictions_reduce_in_float32():
    n = 3000  # beyond bf16's exact integers (256)
    loss = evaluate(mse, jnp.ones((n, 1), jnp.bfloat16), jnp.zeros(n, jnp.bfloat16))
    assert loss.dtype == jnp.float32
    assert float(loss) == 1.0


@pytest.mark.parametrize(
    ("metric", "pred", "y", "match"),
    [
        (mse, np.zeros((4, 2)), np.zeros(4), r"got pred \(4, 2\) and y \(4,\)"),
        (mse, np.zeros((4, 1)), np.zeros((4, 1, 1)), "regression needs"),
        (binary_cross_entropy, np.zeros((4, 2)), np.zeros(4), "binary metric needs"),
        (softmax_cross_entropy, np.zeros(4), np.zeros(4, int), r"needs logits pred \(n, k\)"),
        (accuracy, np.zeros((4, 3)), np.zeros((4, 3)), r"accuracy needs .* got pred \(4, 3\)"),
    ],
)
def test_shape_errors(metric, pred, y, match):
    with pytest.raises(ValueError, match=match):
        metric(pred, y)


def test_weight_shape_and_label_dtype_errors():
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\); got \(4, 1\)"):
        mse(np.zeros((4, 1)), np.zeros(4), np.ones((4, 1)))
    with pytest.raises(TypeError, match="needs integer labels y; got dtype float32"):
        softmax_cross_entropy(np.zeros((4, 3)), np.zeros(4, np.float32))


# --- jit, vmap, retracing --------------------------------------------------------------------


@pytest.mark.parametrize(("metric", "kind"), CASES, ids=case_ids)
def test_jit_and_vmap_over_predictions(metric, kind):
    rng = np.random.default_rng(2)
    preds = np.stack([f32(make_data(kind, rng, 8)[0])[0] for _ in range(3)])
    y = make_data(kind, rng, 8)[1]
    y = np.float32(y) if kind.startswith("real") else y
    w = np.float32(make_weight(rng, 8))
    expected = [float(evaluate(metric, p, y, w)) for p in preds]
    batched = jax.jit(jax.vmap(metric.__call__, in_axes=(0, None, None)))(preds, y, w)
    np.testing.assert_allclose(batched, expected, rtol=1e-6)
    by_weight = jax.jit(jax.vmap(lambda w: metric(preds[0], y, w)))(np.stack([w, 2 * w]))
    np.testing.assert_allclose(by_weight, [expected[0]] * 2, rtol=1e-5)


def test_metric_as_static_argument_does_not_retrace():
    traces = []

    @functools.partial(jax.jit, static_argnums=0)
    def evaluate(metric, pred, y):
        traces.append(metric.name)
        return metric(pred, y)

    def worst(pred, y):
        return jnp.abs(pred[:, 0] - y)

    pred, y = jnp.ones((3, 1)), jnp.zeros(3)
    for spec in ["mse", mse, "huber", worst, worst]:
        evaluate(get_metric(spec), pred, y)
    evaluate(huber_loss(2.0), pred, y)
    evaluate(huber_loss(2), pred, y)
    assert traces == ["mse", "huber", "worst", "huber(delta=2.0)"]


# --- Metric, huber_loss, get_metric ------------------------------------------------------------


def test_metric_fields():
    assert (mse.target, mse.greater_is_better) == ("real", False)
    assert (binary_cross_entropy.target, softmax_cross_entropy.target) == ("binary", "class")
    assert (accuracy.target, accuracy.greater_is_better) == (None, True)
    assert (r2.target, r2.greater_is_better) == ("real", True)
    assert all(not m.greater_is_better for m in (mse, mae, huber, binary_cross_entropy))
    with pytest.raises(dataclasses.FrozenInstanceError):
        mse.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": ""}, TypeError, "Metric.name must be a non-empty str"),
        ({"fn": 3}, TypeError, "Metric.fn must be callable"),
        ({"target": "regression"}, ValueError, r"Metric.target='regression'; allowed"),
        ({"greater_is_better": 1}, TypeError, "greater_is_better=1; need a bool"),
        ({"per_sample": 1}, TypeError, "per_sample=1; need a bool"),
        ({"fn": lambda pred: pred}, TypeError, r"fn must take \(pred, y\) -> values"),
        ({"fn": mse.fn, "per_sample": False}, TypeError, r"fn must take \(pred, y, weight\)"),
    ],
)
def test_metric_validation(kwargs, error, match):
    fields = {"name": "m", "fn": mse.fn, "target": None, "greater_is_better": False}
    kwargs = {**kwargs}
    with pytest.raises(error, match=match):
        Metric(**{**fields, **kwargs})


def test_huber_loss_is_cached_and_validated():
    assert huber_loss(1.0) is huber_loss(1) is huber
    assert huber_loss(0.5) is huber_loss(np.float64(0.5))
    assert huber_loss(0.5).name == "huber(delta=0.5)"
    assert hash(huber_loss(0.5)) == hash(huber_loss(0.5))
    for bad in [0.0, -1.0, float("inf"), float("nan")]:
        with pytest.raises(ValueError, match=f"delta must be finite and > 0; got {bad!r}"):
            huber_loss(bad)
    for bad in [True, "1.0", jnp.array(1.0)]:
        with pytest.raises(TypeError, match="delta must be a Python float"):
            huber_loss(bad)  # type: ignore[arg-type]


def test_get_metric():
    names = ["mse", "mae", "huber", "binary_cross_entropy", "softmax_cross_entropy", "accuracy"]
    for name in [*names, "r2"]:
        assert get_metric(name).name == name
        assert get_metric(get_metric(name)) is get_metric(name)

    def my_loss(pred, y):
        return jnp.abs(pred[:, 0] - y)

    wrapped = get_metric(my_loss)
    assert wrapped is get_metric(my_loss)
    assert wrapped == Metric("my_loss", my_loss, None, False, per_sample=True)
    assert float(wrapped(jnp.array([[1.0], [3.0]]), jnp.zeros(2))) == 2.0
    assert float(wrapped(jnp.array([[1.0], [3.0]]), jnp.zeros(2), jnp.array([0.0, 2.0]))) == 3.0
    assert get_metric(functools.partial(my_loss)).name == "partial"


def test_get_metric_errors():
    allowed = r"\['accuracy', 'binary_cross_entropy', 'huber', 'mae', 'mse', 'r2', 'softmax"
    with pytest.raises(ValueError, match=r"unknown metric 'rmse'; allowed names are " + allowed):
        get_metric("rmse")
    with pytest.raises(TypeError, match=r"expects a metric name.*got 3 of type int"):
        get_metric(3)  # type: ignore[arg-type]

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, pred, y):
            return 0.0

    with pytest.raises(TypeError, match="a callable must be hashable"):
        get_metric(Unhashable())


# --- check_targets ---------------------------------------------------------------------------


def test_check_targets_accepts_valid_targets():
    check_targets(mse, np.zeros(5))
    check_targets("r2", np.zeros((5, 3)), n_outputs=3)
    check_targets(binary_cross_entropy, np.array([0, 1, 1]), n_outputs=1)
    check_targets(binary_cross_entropy, jnp.array([0.0, 1.0]))
    check_targets(binary_cross_entropy, np.array([True, False]))
    check_targets(softmax_cross_entropy, [0, 3, 2], n_outputs=4)
    check_targets(softmax_cross_entropy, np.zeros(0, int))
    check_targets(accuracy, np.array(["anything"]))  # target None: unchecked


@pytest.mark.parametrize(
    ("metric", "y", "kwargs", "error", "match"),
    [
        (mse, np.arange(3), {}, TypeError, "y has dtype int64: integer labels for a regression"),
        (r2, np.array([True]), {"arg": "y_val"}, TypeError, "y_val has dtype bool: integer"),
        (mse, np.zeros((2, 2, 2)), {}, ValueError, r"shape \(n,\) or \(n, k\).*\(2, 2, 2\)"),
        (mse, np.zeros((4, 2)), {"n_outputs": 3}, ValueError, "needs n_outputs=2 for y"),
        (mse, np.array([0.0, np.nan]), {}, ValueError, "y contains NaN or infinite values"),
        (mse, np.array(["a"]), {}, TypeError, "y must be a real numeric array"),
        (binary_cross_entropy, np.zeros((3, 1)), {}, ValueError, r"shape \(n,\) .*\(3, 1\)"),
        (binary_cross_entropy, np.array([0, 1, 2, -1]), {}, ValueError, r"also \[-1, 2\]"),
        (binary_cross_entropy, np.array([0.5]), {}, ValueError, "only 0 and 1"),
        (binary_cross_entropy, np.array([0, 1]), {"n_outputs": 2}, ValueError, "n_outputs=1"),
        (softmax_cross_entropy, np.array([0.0, 1.0]), {}, TypeError, "integer class labels"),
        (softmax_cross_entropy, np.eye(3, dtype=int), {}, ValueError, "one-hot labels"),
        (softmax_cross_entropy, np.array([0, -2]), {}, ValueError, "negative class label -2"),
        (softmax_cross_entropy, np.array([0, 3]), {"n_outputs": 3}, ValueError, r"in \[0, 3\)"),
        (softmax_cross_entropy, np.array([0]), {"n_outputs": 1}, ValueError, "binary_cross"),
        (mse, np.zeros(3), {"n_outputs": 0}, ValueError, "n_outputs must be an int >= 1"),
    ],
)
def test_check_targets_errors(metric, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_targets(metric, y, **kwargs)


def test_check_targets_on_tracers_checks_dtype_and_rank_only():
    @jax.jit
    def binary(y):
        check_targets(binary_cross_entropy, y)  # values unknown: not checked
        return y

    binary(jnp.array([2, 3]))
    with pytest.raises(TypeError, match="integer labels for a regression"):
        jax.jit(lambda y: check_targets(mse, y))(jnp.arange(3))
    with pytest.raises(ValueError, match="one-hot"):
        jax.jit(lambda y: check_targets(softmax_cross_entropy, y))(jnp.eye(2, dtype=int))


@pytest.mark.parametrize(
    ("y", "kwargs", "match"),
    [
        (np.arange(10), {"n_outputs": 1, "model": "mlp"},
         r"y takes 10 classes \(0\.\.9\) but the model has 1 output: use jaxfit\.mlp\(10\)\.$"),
        (np.array([0, 1]), {"n_outputs": 1},
         r"takes 2 classes .* use a model with 2 outputs, or 'binary_cross_entropy'"),
        (np.array([3, 7, 42]), {"n_outputs": 3, "model": "softmax_regression"},
         r"holds 3 distinct labels \[3, 7, 42\], not 0\.\.2: .* labels in \[0, 3\) .*"
         r"`classes, y = np\.unique\(y, return_inverse=True\)`"),
        (np.array([1, 5, 9]), {"n_outputs": 1, "model": "linear"},
         r"not 0\.\.2.*, and use jaxfit\.softmax_regression\(3\)\.$"),
        (np.arange(3), {"n_outputs": 2, "model": "polynomial"}, r"use jaxfit\.polynomial\(3\)"),
    ],
)  # fmt: skip
def test_check_targets_names_the_model_to_use(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_targets(softmax_cross_entropy, y, **kwargs)


def test_check_targets_explains_non_integral_float_labels():
    with pytest.raises(TypeError, match=r"not whole numbers, e\.g\. \[0\.5\]. .* 'mse'"):
        check_targets(softmax_cross_entropy, np.array([0.0, 0.5, 1.0]))
    with pytest.raises(ValueError, match=r"use jaxfit\.linear\(2\)\.$"):
        check_targets(mse, np.zeros((3, 2)), n_outputs=1, model="logistic")


def test_as_class_labels_converts_only_whole_floats_exactly():
    from jaxfit._training.losses import as_class_labels

    y = as_class_labels(jnp.array([0.0, 2.0, 1.0]))
    assert y.dtype == jnp.int32 and y.tolist() == [0, 2, 1]
    for kept in (jnp.array([0.5, 1.0]), jnp.array([1, 2]), jnp.array([2.0**31])):
        assert as_class_labels(kept) is kept


# --- custom losses: per-example values, weighted by jaxfit (issue 11, 3b) ----------------------

_RNG = np.random.default_rng(11)
_X = _RNG.normal(size=(40, 3)).astype(np.float32)
_Y = (_X @ np.array([1.0, -2.0, 0.5]) + _RNG.normal(size=40)).astype(np.float32)
_HP = __import__("jaxfit").Hyperparams(steps=30, learning_rate=0.1, batch_size=16)


def _cv_sweep(loss, **kwargs):
    import jaxfit

    return jaxfit.sweep(
        jaxfit.linear(), loss, (_X, _Y), _HP, [_HP], key=jax.random.key(0), cv=5, **kwargs
    )


def test_the_leaking_loss_is_refused_before_compiling():
    import jaxfit

    def leaking(pred, y, weight):  # ignores weight: trained on the held-out fold
        return jnp.mean((pred - y) ** 2)

    def scalar(pred, y):  # the same without the weight argument: still one number
        return jnp.mean((pred[:, 0] - y) ** 2)

    def broadcast(pred, y):  # pred (n, 1) - y (n,) is (n, n)
        return (pred - y) ** 2

    before = dict(TRACES)
    with pytest.raises(TypeError, match=r"(?s)takes \(pred, y, weight\).*def my_loss\(pred, y\)"):
        _cv_sweep(leaking)
    with pytest.raises(
        ValueError,
        match=r"'scalar' must return one value per example, shape "
        r"\(40,\).*returned a scalar.*held-out fold",
    ):
        _cv_sweep(scalar)
    with (
        jax.numpy_rank_promotion("allow"),  # as users have it; the suite raises on it
        pytest.raises(
            ValueError,
            match=r"returned shape \(40, 40\): pred \(40, 1\) and y "
            r"\(40,\) broadcast.*pred\[:, 0\] - y",
        ),
    ):
        _cv_sweep(broadcast)
    with pytest.raises(ValueError, match="'scalar' must return one value per example"):
        jaxfit.fit(jaxfit.linear(), scalar, (_X, _Y), _HP, key=jax.random.key(0))
    with pytest.raises(ValueError, match="'scalar' must return one value per example"):
        _cv_sweep("mse", metrics=[scalar])
    assert dict(TRACES) == before  # nothing was traced, let alone compiled


def test_a_per_example_loss_is_weighted_by_folds_and_padding_like_the_built_in():
    # batch_size 16 of 32 training rows per fold, and 40 rows: folds and padding both apply.
    def squared(pred, y):
        return (pred[:, 0] - y) ** 2

    mine, built_in = _cv_sweep(squared), _cv_sweep("mse")
    for name in ("train_loss", "val_loss"):
        np.testing.assert_allclose(mine.metrics[name], built_in.metrics[name], rtol=1e-6)


def test_a_non_decomposable_metric_must_ignore_weight_zero_examples():
    import jaxfit

    def unmasked_max(pred, y, weight):
        return jnp.max(jnp.abs(pred[:, 0] - y))

    def masked_max(pred, y, weight):
        return jnp.max(jnp.where(weight > 0, jnp.abs(pred[:, 0] - y), 0.0))

    bad = Metric("unmasked_max", unmasked_max, per_sample=False)
    good = Metric("masked_max", masked_max, per_sample=False)
    with pytest.raises(
        ValueError,
        match=r"'unmasked_max' \(per_sample=False\) changes when "
        r"examples of weight 0 change",
    ):
        _cv_sweep("mse", metrics=[bad])
    pred = jax.ShapeDtypeStruct((40, 1), jnp.float32)
    jaxfit.check_metric_output(good, pred, _Y)
    not_scalar = Metric("rows", lambda pred, y, weight: pred[:, 0] * weight, per_sample=False)
    with pytest.raises(ValueError, match=r"must return a scalar; it returned \(40,\)"):
        jaxfit.check_metric_output(not_scalar, pred, _Y)


@FAST
@given(seed=seeds, n=sizes, k=st.sampled_from([1, 3]))
def test_a_per_example_metric_is_the_weighted_mean_of_its_values(seed, n, k):
    rng = np.random.default_rng(seed)
    pred, y = rng.normal(size=(n, k)), rng.normal(size=(n, k))
    weight = rng.integers(0, 3, size=n).astype(float)
    weight[0] = 1.0
    metric = Metric("cube", lambda p, t: (p - t) ** 3)
    expected = np.sum(weight * np.mean((pred - y) ** 3, axis=1)) / np.sum(weight)
    got = float(metric(pred.astype(np.float32), y.astype(np.float32), weight))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


# --- losses that read the hyperparameters -------------------------------------------------------


def _pinball(pred, y, hp):  # a swept quantile: one program for every tau
    e = y - pred[:, 0]
    return jnp.maximum(hp.tau * e, (hp.tau - 1) * e)


def test_a_loss_reading_a_swept_field_compiles_once_and_fits_each_value():
    import jaxfit

    @jaxfit.hyperparams
    class Quantile(jaxfit.Hyperparams):
        steps: int = jaxfit.static(300)
        tau: float = jaxfit.numeric(0.5)

    rng = np.random.default_rng(3)
    x = rng.uniform(size=200).astype(np.float32)
    y = (x + rng.normal(size=200)).astype(np.float32)
    taus = [0.1, 0.5, 0.9]
    before = TRACES["sweep"]
    result = jaxfit.sweep(
        jaxfit.linear(), _pinball, (x, y), Quantile(), jaxfit.grid(tau=taus),
        key=jax.random.key(0),
    )  # fmt: skip
    assert TRACES["sweep"] == before + 1
    assert get_metric(_pinball).reads_hp
    for i, tau in enumerate(taus):
        pred = np.asarray(jaxfit.predict(jaxfit.linear(), result.params(i), x, result.hp(i)))
        assert abs(np.mean(y < pred[:, 0]) - tau) < 0.03  # the tau-quantile line
    alone = jaxfit.fit(jaxfit.linear(), _pinball, (x, y), Quantile(tau=0.9),
                       key=jax.random.fold_in(jax.random.key(0), 0))  # fmt: skip
    np.testing.assert_allclose(result.metrics["train_loss"][2, 0], alone.metrics["train_loss"],
                               rtol=1e-6)  # fmt: skip


def test_reads_hp_is_declared_and_required():
    import jaxfit

    metric = get_metric(_pinball)
    pred, y = jnp.zeros((2, 1)), jnp.array([1.0, -1.0])
    with pytest.raises(TypeError, match=r"'_pinball' reads the hyperparameters.*hp="):
        metric(pred, y)
    hp = jaxfit.Hyperparams()
    with pytest.raises(AttributeError, match="tau"):  # the field it reads is missing
        metric(pred, y, hp=hp)
    with pytest.raises(TypeError, match=r"fn must take \(pred, y, hp\) -> values"):
        Metric("m", lambda pred, y: pred[:, 0], reads_hp=True)
    with pytest.raises(TypeError, match=r"reads_hp=1; need a bool"):
        Metric("m", _pinball, reads_hp=1)  # type: ignore[arg-type]

    def masked_max(pred, y, weight, hp):
        return hp.learning_rate * jnp.max(jnp.where(weight > 0, jnp.abs(pred[:, 0] - y), 0))

    whole = Metric("scaled_max", masked_max, per_sample=False, reads_hp=True)
    shape = jax.ShapeDtypeStruct((6, 1), jnp.float32)
    jaxfit.check_metric_output(whole, shape, np.zeros(6, np.float32), hp=hp)
    assert float(whole(pred, y, hp=hp)) == pytest.approx(hp.learning_rate)
