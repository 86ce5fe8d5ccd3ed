"""Built-in models against numpy references, user models, transformations and errors."""

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jaxfit
from jaxfit._training.models import ACTIVATIONS

# name -> (model factory call, static hyperparameters, number of outputs k)
BUILTINS = {
    "linear": (lambda: jaxfit.linear(2), {}, 2),
    "polynomial": (lambda: jaxfit.polynomial(2), {"degree": 3}, 2),
    "logistic": (lambda: jaxfit.logistic(), {}, 1),
    "softmax_regression": (lambda: jaxfit.softmax_regression(3), {}, 3),
    "mlp": (lambda: jaxfit.mlp(2), {"hidden": (8, 4), "activation": "tanh"}, 2),
}

_erf = np.vectorize(math.erf)
NP_ACTIVATIONS = {
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)),
    "gelu": lambda h: 0.5 * h * (1.0 + _erf(h / np.sqrt(2.0))),
    "silu": lambda h: h / (1.0 + np.exp(-h)),
    "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0.0))),
    "softplus": lambda h: np.logaddexp(h, 0.0),
    "identity": lambda h: h,
}

fast = settings(max_examples=10, deadline=None)


def _x(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _randomise(params, seed=1):
    """Replaces every leaf by random numbers (zero-initialised models test nothing)."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), p.dtype), params)


def _weights_are_matrices(params):
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        is_weight = jax.tree_util.keystr(path).endswith("['w']")
        assert is_weight == (leaf.ndim >= 2), (path, leaf.shape)


def test_registry_lists_every_builtin():
    assert set(jaxfit.MODELS) == set(BUILTINS)
    for name, (make, _, _) in BUILTINS.items():
        assert jaxfit.MODELS[name] is getattr(jaxfit, name)
        assert make().name == name


# ----------------------------------------------------------------------------- conformance


@pytest.mark.parametrize("name", sorted(BUILTINS))
@pytest.mark.parametrize("x64", [False, True])
def test_shapes_and_dtypes(name, x64):
    make, static, k = BUILTINS[name]
    with jax.enable_x64(x64):
        model, hp = make(), jaxfit.Hyperparams(**static)
        dtype = jnp.float64 if x64 else jnp.float32
        x = jnp.asarray(_x((5, 3)), dtype)
        params = model.init(jax.random.key(0), x, hp)
        pred = model.apply(params, x, hp)
        assert pred.shape == (5, k)
        assert pred.dtype == dtype
        assert all(isinstance(p, jax.Array) and p.dtype == dtype for p in jax.tree.leaves(params))
        _weights_are_matrices(params)
        if name == "mlp":
            assert [layer["w"].shape for layer in params] == [(3, 8), (8, 4), (4, k)]
        # Integer inputs give parameters of JAX's default float dtype.
        params_int = model.init(jax.random.key(0), jnp.ones((5, 3), jnp.int32), hp)
        assert {p.dtype for p in jax.tree.leaves(params_int)} == {jnp.dtype(dtype)}


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_vector_input_is_one_column(name):
    make, static, k = BUILTINS[name]
    model, hp = make(), jaxfit.Hyperparams(**static)
    x = jnp.asarray(_x((5,)))
    params = _randomise(model.init(jax.random.key(0), x, hp))
    column = model.init(jax.random.key(0), x[:, None], hp)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, column)
    pred = model.apply(params, x, hp)
    assert pred.shape == (5, k)
    np.testing.assert_array_equal(pred, model.apply(params, x[:, None], hp))


def test_bfloat16_inputs_keep_their_dtype():
    x = jnp.ones((4, 2), jnp.bfloat16)
    hp = jaxfit.Hyperparams(degree=2)
    params = jaxfit.polynomial().init(jax.random.key(0), x, hp)
    assert params["w"].dtype == jnp.bfloat16
    assert jaxfit.polynomial().apply(params, x, hp).dtype == jnp.bfloat16


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_jit_vmap_grad(name):
    make, static, k = BUILTINS[name]
    model, hp = make(), jaxfit.Hyperparams(**static)
    x = jnp.asarray(_x((6, 3)))
    params = _randomise(model.init(jax.random.key(0), x, hp))
    apply = jax.jit(model.apply)
    np.testing.assert_allclose(apply(params, x, hp), model.apply(params, x, hp), rtol=1e-5)

    keys = jax.random.split(jax.random.key(1), 4)
    batch = jax.jit(jax.vmap(model.init, in_axes=(0, None, None)))(keys, x, hp)
    assert jax.tree.structure(batch) == jax.tree.structure(params)
    if name == "mlp":  # one random start per key
        assert not np.array_equal(batch[0]["w"][0], batch[0]["w"][1])
    batch = _randomise(batch, seed=2)
    preds = jax.jit(jax.vmap(model.apply, in_axes=(0, None, None)))(batch, x, hp)
    assert preds.shape == (4, 6, k)
    for i in range(4):
        one = jax.tree.map(lambda p, i=i: p[i], batch)
        np.testing.assert_allclose(preds[i], apply(one, x, hp), rtol=1e-5, atol=1e-6)

    grads = jax.jit(jax.grad(lambda p: jnp.mean(model.apply(p, x, hp) ** 2)))(params)
    assert jax.tree.structure(grads) == jax.tree.structure(params)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def test_vmap_over_hyperparameters():
    model = jaxfit.mlp(1)
    hps = jaxfit.stack([jaxfit.Hyperparams(learning_rate=lr, hidden=(4,)) for lr in (0.1, 0.2)])
    x = jnp.asarray(_x((3, 2)))
    params = model.init(jax.random.key(0), x, jaxfit.unstack(hps)[0])
    preds = jax.vmap(model.apply, in_axes=(None, None, 0))(params, x, hps)
    assert preds.shape == (2, 3, 1)


def test_same_model_object_does_not_retrace():
    traces = []

    @functools.partial(jax.jit, static_argnums=0)
    def predict(model, params, x, hp):
        traces.append(1)
        return model.apply(params, x, hp)

    x = jnp.ones((3, 2))
    hp = jaxfit.Hyperparams(hidden=(4,))
    params = jaxfit.mlp(2).init(jax.random.key(0), x, hp)
    predict(jaxfit.mlp(2), params, x, hp)
    predict(jaxfit.mlp(n_outputs=2), params, x, hp.replace(learning_rate=0.5))
    assert len(traces) == 1
    params = jaxfit.mlp(2).init(jax.random.key(0), x, hp.replace(hidden=(5,)))
    predict(jaxfit.mlp(2), params, x, hp.replace(hidden=(5,)))
    assert len(traces) == 2


# ----------------------------------------------------------------------------- numpy references


@fast
@given(n=st.integers(1, 6), d=st.integers(1, 4), k=st.integers(1, 3), seed=st.integers(0, 99))
def test_linear_matches_numpy(n, d, k, seed):
    x = _x((n, d), seed)
    model = jaxfit.linear(k)
    params = model.init(jax.random.key(0), x, None)
    assert all(not np.any(p) for p in jax.tree.leaves(params))  # zeros: deterministic
    params = _randomise(params, seed)
    w, b = np.asarray(params["w"], np.float64), np.asarray(params["b"], np.float64)
    np.testing.assert_allclose(model.apply(params, x, None), x @ w + b, rtol=1e-5, atol=1e-5)


@fast
@given(n=st.integers(1, 6), d=st.integers(1, 3), degree=st.integers(1, 4), seed=st.integers(0, 99))
def test_polynomial_matches_numpy(n, d, degree, seed):
    x = _x((n, d), seed)
    hp = jaxfit.Hyperparams(degree=degree)
    model = jaxfit.polynomial(2)
    params = _randomise(model.init(jax.random.key(0), x, hp), seed)
    assert params["w"].shape == (d * degree, 2)
    features = np.concatenate([x.astype(np.float64) ** p for p in range(1, degree + 1)], axis=1)
    expected = features @ np.asarray(params["w"], np.float64) + np.asarray(params["b"])
    np.testing.assert_allclose(model.apply(params, x, hp), expected, rtol=1e-4, atol=1e-4)


def test_polynomial_of_a_vector_is_a_column():
    x = np.array([1.0, 2.0, 3.0], np.float32)
    hp = jaxfit.Hyperparams(degree=2)
    params = {"w": jnp.array([[1.0], [10.0]]), "b": jnp.array([0.5])}
    np.testing.assert_allclose(
        jaxfit.polynomial().apply(params, x, hp), [[11.5], [42.5], [93.5]], rtol=1e-6
    )


@fast
@given(
    n=st.integers(1, 4),
    d=st.integers(1, 3),
    hidden=st.lists(st.integers(1, 4), max_size=2).map(tuple),
    k=st.integers(1, 2),
    activation=st.sampled_from(ACTIVATIONS),
    seed=st.integers(0, 99),
)
def test_mlp_matches_numpy(n, d, hidden, k, activation, seed):
    x = _x((n, d), seed)
    hp = jaxfit.Hyperparams(hidden=hidden, activation=activation)
    rng = np.random.default_rng(seed)
    widths = (d, *hidden, k)
    params = tuple(
        {
            "w": rng.normal(size=(i, o)).astype(np.float32),
            "b": rng.normal(size=o).astype(np.float32),
        }
        for i, o in itertools.pairwise(widths)
    )
    h = x.astype(np.float64)
    for i, layer in enumerate(params):
        h = h @ layer["w"].astype(np.float64) + layer["b"]
        if i < len(hidden):
            h = NP_ACTIVATIONS[activation](h)
    np.testing.assert_allclose(jaxfit.mlp(k).apply(params, x, hp), h, rtol=1e-4, atol=1e-5)


def test_every_activation_has_a_reference_and_runs():
    assert set(NP_ACTIVATIONS) == set(ACTIVATIONS)
    layer = {"w": jnp.ones((1, 2)), "b": jnp.zeros(2)}
    params = (layer, {"w": jnp.ones((2, 1)), "b": jnp.zeros(1)})
    for activation in ACTIVATIONS:
        hp = jaxfit.Hyperparams(hidden=(2,), activation=activation)
        pred = jaxfit.mlp().apply(params, jnp.array([-1.0, 0.5]), hp)
        expected = 2 * NP_ACTIVATIONS[activation](np.array([[-1.0], [0.5]]))
        np.testing.assert_allclose(pred, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("activation", "gain"), [("relu", 2.0), ("gelu", 2.0), ("tanh", 1.0)])
def test_mlp_init_scales(activation, gain):
    hp = jaxfit.Hyperparams(hidden=(400,), activation=activation)
    x = jnp.ones((1, 300))
    first, last = jaxfit.mlp(400).init(jax.random.key(0), x, hp)
    np.testing.assert_allclose(np.std(first["w"]), np.sqrt(gain / 300), rtol=0.03)
    np.testing.assert_allclose(np.std(last["w"]), np.sqrt(1 / 400), rtol=0.03)
    assert not np.any(first["b"]) and not np.any(last["b"])
    again = jaxfit.mlp(400).init(jax.random.key(0), x, hp)
    np.testing.assert_array_equal(first["w"], again[0]["w"])


# ----------------------------------------------------------------------------- user models


class TinyDense:
    """A hand-rolled module in the flax style: configuration on the object, params apart."""

    def __init__(self, features):
        self.features = features

    def init(self, key, x):
        kernel = jax.random.normal(key, (x.shape[-1], self.features)) / np.sqrt(x.shape[-1])
        return {"params": {"kernel": kernel, "bias": jnp.zeros(self.features)}}

    def apply(self, variables, x):
        p = variables["params"]
        return jnp.tanh(x) @ p["kernel"] + p["bias"][None, :]


def _check_user_model(model, x):
    hp = jaxfit.Hyperparams()
    params = model.init(jax.random.key(0), x, hp)
    pred = jax.jit(model.apply)(params, x, hp)
    assert pred.ndim == 2 and pred.shape[0] == x.shape[0]
    keys = jax.random.split(jax.random.key(1), 3)
    batch = jax.vmap(model.init, in_axes=(0, None, None))(keys, x, hp)
    preds = jax.vmap(model.apply, in_axes=(0, None, None))(batch, x, hp)
    assert preds.shape == (3, *pred.shape)
    grads = jax.grad(lambda p: jnp.sum(model.apply(p, x, hp) ** 2))(params)
    assert jax.tree.structure(grads) == jax.tree.structure(params)
    jax.jit(lambda m, p: m.apply(p, x, hp), static_argnums=0)(model, params)  # hashable


def test_user_model_from_two_functions():
    net = TinyDense(2)
    model = jaxfit.Model(
        init=lambda key, x, hp: net.init(key, x),
        apply=lambda params, x, hp: net.apply(params, x),
        name="tiny",
    )
    _check_user_model(model, jnp.asarray(_x((5, 3))))
    assert model == jaxfit.Model(init=model.init, apply=model.apply, name="tiny")
    assert hash(model) == hash(jaxfit.Model(init=model.init, apply=model.apply, name="tiny"))
    assert model != jaxfit.Model(init=model.init, apply=model.apply, name="other")


def test_flax_model():
    nn = pytest.importorskip("flax.linen")
    net = nn.Dense(2)
    model = jaxfit.Model(
        init=lambda key, x, hp: net.init(key, x), apply=lambda params, x, hp: net.apply(params, x)
    )
    _check_user_model(model, jnp.asarray(_x((5, 3))))


def test_equinox_model():
    eqx = pytest.importorskip("equinox")

    def make(key):
        return eqx.nn.MLP(3, 2, width_size=4, depth=1, key=key)

    _, static = eqx.partition(make(jax.random.key(0)), eqx.is_array)
    model = jaxfit.Model(
        init=lambda key, x, hp: eqx.partition(make(key), eqx.is_array)[0],
        apply=lambda params, x, hp: jax.vmap(eqx.combine(params, static))(x),
    )
    _check_user_model(model, jnp.asarray(_x((5, 3))))


def test_model_accepts_flexible_signatures():
    jaxfit.Model(init=lambda *args: None, apply=functools.partial(lambda a, b, c, d: c, 0))
    jaxfit.Model(init=lambda key, x, hp=None, *, extra=1: None, apply=max)  # max: uninspectable


# ----------------------------------------------------------------------------- errors


def _ok(a, b, c):
    return a


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"init": 3, "apply": _ok}, r"Model\.init=3 \(int\) is not callable"),
        ({"init": _ok, "apply": "f"}, r"Model\.apply='f' \(str\) is not callable"),
        ({"init": lambda key, x: 0, "apply": _ok}, r"cannot be called as init\(key, x, hp\)"),
        ({"init": _ok, "apply": lambda p, x, hp, y: 0}, r"as apply\(params, x, hp\)"),
        ({"init": _ok, "apply": lambda p, x, hp, *, y: 0}, r"as apply\(params, x, hp\)"),
        ({"init": _ok, "apply": _ok, "name": 3}, r"Model\.name=3 must be a str"),
    ],
)
def test_model_validation(kwargs, match):
    with pytest.raises(TypeError, match=match):
        jaxfit.Model(**kwargs)


def test_model_error_shows_how_to_wrap():
    with pytest.raises(TypeError, match=r"jaxfit\.Model\(init=lambda key, x, hp: net\.init"):
        jaxfit.Model(init=lambda key, x: 0, apply=_ok)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: jaxfit.linear(0), ValueError, r"linear: n_outputs=0 must be a positive"),
        (lambda: jaxfit.linear(True), TypeError, r"n_outputs=True \(bool\) must be an int"),
        (lambda: jaxfit.polynomial(2.0), TypeError, r"n_outputs=2\.0 \(float\)"),
        (lambda: jaxfit.mlp("3"), TypeError, r"mlp: n_outputs='3' \(str\)"),
        (lambda: jaxfit.mlp(-1), ValueError, r"mlp: n_outputs=-1"),
        (lambda: jaxfit.softmax_regression(1), ValueError, r"n_classes=1 must be >= 2.*logistic"),
        (lambda: jaxfit.softmax_regression(None), TypeError, r"n_classes=None"),
    ],
)
def test_factory_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("name", sorted(BUILTINS))
@pytest.mark.parametrize("shape", [(), (2, 3, 4)])
def test_bad_input_rank(name, shape):
    make, static, _ = BUILTINS[name]
    model, hp = make(), jaxfit.Hyperparams(**static)
    pattern = r"x has shape \(" + ", ".join(map(str, shape)) + r"\); .*\(n,\) or \(n, d\)"
    with pytest.raises(ValueError, match=pattern):
        model.init(jax.random.key(0), jnp.ones(shape), hp)
    params = model.init(jax.random.key(0), jnp.ones((2, 3)), hp)
    with pytest.raises(ValueError, match=pattern):
        jax.jit(model.apply)(params, jnp.ones(shape), hp)


def test_feature_mismatch():
    params = jaxfit.linear().init(jax.random.key(0), jnp.ones((2, 3)), None)
    with pytest.raises(ValueError, match=r"has 4 features but the parameters expect 3"):
        jaxfit.linear().apply(params, jnp.ones((2, 4)), None)


@jaxfit.hyperparams
class Bare:
    learning_rate: float = 0.1


@jaxfit.hyperparams
class Odd:
    hidden: tuple[int, ...] = jaxfit.static((4,))
    activation: str = jaxfit.static("swish")
    degree: int = jaxfit.static(0)


@pytest.mark.parametrize(
    ("model", "error", "match"),
    [
        (jaxfit.mlp(), TypeError, r"hp\.hidden, but Bare has no field 'hidden'.*jaxfit\.static"),
        (jaxfit.polynomial(), TypeError, r"no field 'degree'.*Subclass jaxfit\.Hyperparams"),
    ],
)
def test_missing_hyperparameter_field(model, error, match):
    with pytest.raises(error, match=match):
        model.init(jax.random.key(0), jnp.ones((2, 3)), Bare())


def test_linear_family_needs_no_fields():
    for model in (jaxfit.linear(), jaxfit.logistic(), jaxfit.softmax_regression(2)):
        params = model.init(jax.random.key(0), jnp.ones((2, 3)), Bare())
        model.apply(params, jnp.ones((2, 3)), Bare())


def test_invalid_hyperparameter_values():
    with pytest.raises(ValueError, match=r"hp\.activation='swish' is not supported"):
        jaxfit.mlp().init(jax.random.key(0), jnp.ones((2, 3)), Odd())
    with pytest.raises(ValueError, match=r"hp\.degree=0 is not supported: it must be a positive"):
        jaxfit.polynomial().init(jax.random.key(0), jnp.ones((2, 3)), Odd())


# ----------------------------------------------------------------------------- memoisation


def test_factories_return_the_same_object():
    assert jaxfit.mlp(3) is jaxfit.mlp(3)
    assert jaxfit.mlp(3) is jaxfit.mlp(n_outputs=3) is jaxfit.mlp(np.int64(3))
    assert jaxfit.linear() is jaxfit.linear(1)
    assert jaxfit.polynomial(2) is jaxfit.polynomial(2)
    assert jaxfit.softmax_regression(4) is jaxfit.softmax_regression(n_classes=4)
    assert jaxfit.logistic() is jaxfit.logistic()
    assert jaxfit.logistic() != jaxfit.linear(1)
    assert jaxfit.mlp(3) != jaxfit.mlp(2)
