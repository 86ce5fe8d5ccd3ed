"""Errors that name the real cause: labels against the model's output width, checked from
shapes before anything compiles; and what users naturally pass (whole-number float labels,
one metric name, ``memory_budget=1e9``) accepted exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxfit
from jaxfit._sweeping.options import SweepOptions
from jaxfit._training import check_inputs

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 3)).astype(np.float32)
Y10 = np.arange(30) % 10
Y3 = np.arange(30) % 3
HP = jaxfit.Hyperparams(steps=3, hidden=(4,))
KEY = jax.random.key(0)


@pytest.mark.parametrize(
    ("model", "loss", "y", "match"),
    [
        (jaxfit.mlp(), "softmax_cross_entropy", Y10,
         r"data y takes 10 classes \(0\.\.9\) but the model has 1 output: use jaxfit\.mlp\(10\)"),
        (jaxfit.softmax_regression(3), "softmax_cross_entropy", np.array([3, 7, 42] * 10),
         r"3 distinct labels \[3, 7, 42\], not 0\.\.2.*np\.unique\(y, return_inverse=True\)"),
        (jaxfit.mlp(2), "softmax_cross_entropy", Y3,
         r"takes 3 classes \(0\.\.2\) but the model has 2 outputs: use jaxfit\.mlp\(3\)"),
        (jaxfit.logistic(), "softmax_cross_entropy", Y3, r"use jaxfit\.softmax_regression\(3\)"),
        (jaxfit.linear(), "mse", RNG.normal(size=(30, 2)),
         r"2 target columns\), but the model has 1 output: use jaxfit\.linear\(2\)"),
        (jaxfit.polynomial(3), "mse", RNG.normal(size=30),
         r"needs n_outputs=1 .* the model has 3 outputs: use jaxfit\.polynomial\(\)"),
        (jaxfit.mlp(3), "binary_cross_entropy", np.arange(30) % 2,
         r"needs n_outputs=1 \(one logit.*3 outputs: use jaxfit\.mlp\(\)"),
        (jaxfit.Model(lambda k, x, hp: jnp.zeros((x.shape[1], 1)), lambda p, x, hp: x @ p),
         "softmax_cross_entropy", Y10, r"use a model with 10 outputs"),
    ],
)  # fmt: skip
def test_fit_names_labels_and_output_width(model, loss, y, match):
    with pytest.raises(ValueError, match=match):
        jaxfit.fit(model, loss, (X, y), HP, key=KEY)


def test_validation_labels_are_checked_too():
    with pytest.raises(ValueError, match=r"val y takes 10 classes .* use jaxfit\.mlp\(10\)"):
        jaxfit.fit(jaxfit.mlp(3), "softmax_cross_entropy", (X, Y3), HP, key=KEY, val=(X, Y10))


def test_fit_under_vmap_checks_the_width():
    batch = jaxfit.stack([HP, HP.replace(learning_rate=0.1)])
    with pytest.raises(ValueError, match=r"use jaxfit\.mlp\(3\)"):
        jax.vmap(lambda h: jaxfit.fit(jaxfit.mlp(), "softmax_cross_entropy", (X, Y3), h, key=KEY))(
            batch
        )


@jaxfit.hyperparams
class Width(jaxfit.Hyperparams):
    width: int = jaxfit.static(3)


def _init(key, x, hp):
    return jnp.zeros((x.shape[1], hp.width))


def _apply(params, x, hp):
    return x @ params


WIDE = jaxfit.Model(_init, _apply, name="wide")


def test_sweep_checks_each_static_group():
    space = jaxfit.grid(width=[3, 2])  # the first group fits the labels, the second does not
    with pytest.raises(ValueError, match=r"takes 3 classes .* 2 outputs: use a model with 3"):
        jaxfit.sweep(WIDE, "softmax_cross_entropy", (X, Y3), Width(steps=2), space, key=KEY)


def test_grid_search_checks_the_width():
    pytest.importorskip("sklearn")
    est = jaxfit.JaxfitClassifier(model=jaxfit.mlp(), steps=2, hidden=(4,))
    search = jaxfit.GridSearchCV(est, {"learning_rate": [0.1]}, cv=2)
    with pytest.raises(ValueError, match=r"takes 10 classes .* use jaxfit\.mlp\(10\)"):
        search.fit(X, Y10)


def test_whole_float_labels_train_exactly_like_ints():
    model = jaxfit.softmax_regression(3)
    ints = jaxfit.fit(model, "softmax_cross_entropy", (X, Y3), HP, key=KEY)
    floats = jaxfit.fit(model, "softmax_cross_entropy", (X, Y3.astype(np.float64)), HP, key=KEY)
    np.testing.assert_array_equal(ints.params["w"], floats.params["w"])
    np.testing.assert_array_equal(ints.train_loss, floats.train_loss)
    with pytest.raises(TypeError, match=r"not whole numbers, e\.g\. \[0\.5, 1\.5"):
        jaxfit.fit(model, "softmax_cross_entropy", (X, Y3 + 0.5), HP, key=KEY)


def test_one_metric_name_where_a_list_is_expected():
    data = (X[:, 0], 2 * X[:, 0])
    assert check_inputs(jaxfit.linear(), "mse", data, None, "r2", None, None, None).metrics == (
        jaxfit.r2,
    )
    r = jaxfit.fit(jaxfit.linear(), "mse", data, HP, key=KEY, metrics="r2")
    assert set(r.metrics) == {"train_loss", "train_r2"}
    with pytest.raises(TypeError, match="metrics must be a list"):
        jaxfit.fit(jaxfit.linear(), "mse", data, HP, key=KEY, metrics=3)


def test_sweep_takes_one_metric_and_a_float_memory_budget():
    data = (X[:, 0], 2 * X[:, 0])
    space = jaxfit.grid(learning_rate=[0.1, 0.2])
    r = jaxfit.sweep(jaxfit.linear(), "mse", data, HP, space, key=KEY, metrics="r2",
                     memory_budget=1e9)  # fmt: skip
    assert "train_r2" in r.metrics


@pytest.mark.parametrize("budget", [1e9, np.float64(1e9), np.int64(10**9), 10**9])
def test_memory_budget_whole_floats_are_ints(budget):
    value = SweepOptions(memory_budget=budget).memory_budget
    assert value == 10**9 and type(value) is int


@pytest.mark.parametrize("budget", [1.5e3 + 0.5, float("inf"), float("nan"), -1e9, True, "1e9"])
def test_memory_budget_refuses_what_is_not_a_byte_count(budget):
    with pytest.raises(ValueError, match="memory_budget must be a positive"):
        SweepOptions(memory_budget=budget)
