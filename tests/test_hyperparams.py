"""Hyperparameter dataclasses: pytree behaviour, validation, stacking, no retracing."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jaxfit


@jaxfit.hyperparams
class Config:
    learning_rate: float = jaxfit.numeric(0.1, ge=0.0)
    penalty: float = 0.0
    hidden: tuple[int, ...] = jaxfit.static((8, 8))
    activation: str = jaxfit.static("relu")
    steps: int = jaxfit.static(10)
    batch_size: int | None = jaxfit.static(None)


rates = st.floats(0.0, 10.0, allow_nan=False, width=32)
penalties = st.floats(-5.0, 5.0, allow_nan=False, width=32)
widths = st.lists(st.integers(1, 64), min_size=0, max_size=4).map(tuple)


def _same(a, b):
    assert type(a) is type(b)
    assert jaxfit.static_key(a) == jaxfit.static_key(b)
    for name in jaxfit.numeric_fields(a):
        np.testing.assert_array_equal(np.asarray(getattr(a, name)), np.asarray(getattr(b, name)))


@settings(max_examples=25, deadline=None)
@given(lr=rates, pen=penalties, hidden=widths)
def test_flatten_unflatten_round_trip(lr, pen, hidden):
    c = Config(learning_rate=lr, penalty=pen, hidden=hidden)
    leaves, treedef = jax.tree.flatten(c)
    assert len(leaves) == 2  # exactly the numeric fields
    _same(jax.tree.unflatten(treedef, leaves), c)


@settings(max_examples=10, deadline=None)
@given(lr=rates, pen=penalties)
def test_survives_jit_and_vmap(lr, pen):
    c = Config(learning_rate=lr, penalty=pen)
    _same(jax.jit(lambda h: h)(c), c)
    batch = jaxfit.stack([c, c.replace(learning_rate=lr + 1.0)])
    out = jax.vmap(lambda h: h)(batch)
    _same(out, batch)
    _same(out[0], c)


def test_leaves_are_float_arrays_and_static_is_metadata():
    c = Config(learning_rate=1)  # an int becomes the default float dtype
    assert c.learning_rate.dtype == jnp.float32
    assert jax.tree.leaves(c)[0].dtype == jnp.float32
    assert jaxfit.static_fields(c) == ("hidden", "activation", "steps", "batch_size")
    assert jaxfit.static_key(c) == (
        "Config",
        (("hidden", (8, 8)), ("activation", "relu"), ("steps", 10), ("batch_size", None)),
    )
    hash(jaxfit.static_key(c))


def test_float64_kept_with_x64():
    with jax.enable_x64(True):
        c = Config(learning_rate=0.5)
        assert c.learning_rate.dtype == jnp.float64
        assert jax.jit(lambda h: h.learning_rate * 2)(c).dtype == jnp.float64


def test_no_retrace_for_new_numbers_retrace_for_new_static():
    traces = []

    @jax.jit
    def f(c):
        traces.append(1)
        return c.learning_rate * len(c.hidden) + c.penalty

    for lr in (0.1, 0.2, 0.3):
        f(Config(learning_rate=lr, penalty=lr))
    assert len(traces) == 1
    f(Config(hidden=(4,)))
    assert len(traces) == 2
    f(Config(hidden=(4,), learning_rate=5.0))
    assert len(traces) == 2


def test_validation_does_not_run_on_unflatten():
    c = Config(learning_rate=0.1)
    negative = jax.tree.map(lambda x: -x - 1.0, c)  # would fail construction's ge=0 check
    assert float(negative.learning_rate) == pytest.approx(-1.1)
    # JAX unflattens with placeholders (None, ints, object()) in many places.
    treedef = jax.tree.structure(c)
    assert jax.tree.unflatten(treedef, [None, object()]).learning_rate is None
    grads = jax.grad(lambda h: h.learning_rate**2 + h.penalty)(c)
    assert float(grads.learning_rate) == pytest.approx(0.2)


def test_replace_stack_unstack_index():
    c = Config()
    assert float(c.replace(learning_rate=0.5).learning_rate) == 0.5
    batch = jaxfit.stack([c.replace(learning_rate=lr) for lr in (0.1, 0.2, 0.3)])
    assert batch.batch_shape == (3,)
    assert c.batch_shape == ()
    singles = jaxfit.unstack(batch)
    assert [float(s.learning_rate) for s in singles] == pytest.approx([0.1, 0.2, 0.3])
    assert float(batch[2].learning_rate) == pytest.approx(0.3)
    assert jaxfit.to_dict(batch)["learning_rate"] == [0.1, 0.2, 0.3]
    with pytest.raises(TypeError, match="single setting"):
        c[0]
    with pytest.raises(ValueError, match="not batched"):
        jaxfit.unstack(c)


def test_frozen_and_value_equality():
    c = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.steps = 3  # type: ignore[misc]
    assert jaxfit.is_hyperparams(c) and not jaxfit.is_hyperparams(Config)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"learning_rate": -0.1}, ValueError, r"Config.learning_rate=-0.1 is out of range"),
        ({"learning_rate": float("nan")}, ValueError, r"learning_rate=nan must be finite"),
        ({"penalty": float("inf")}, ValueError, r"penalty=inf must be finite"),
        ({"learning_rate": "fast"}, TypeError, r"learning_rate='fast' is a str"),
        ({"learning_rate": True}, TypeError, r"is a bool"),
        ({"lr": 0.1}, TypeError, r"unknown field\(s\) \['lr'\]"),
        ({"hidden": [8, 8]}, TypeError, r"is a list.*use a tuple, e.g. \(8, 8\)"),
        ({"hidden": np.array([8.0, 8.0])}, TypeError, r"hidden=.* is an array"),
        ({"steps": jnp.ones(3)}, TypeError, r"steps=.* is an array"),
        ({"steps": 1.5}, TypeError, r"steps=1.5 does not match its annotation int"),
        ({"activation": lambda x: x}, TypeError, r"cannot be a static field"),
        ({"hidden": (8, "a")}, TypeError, r"does not match its annotation"),
    ],
)
def test_bad_construction_is_loud(kwargs, error, match):
    with pytest.raises(error, match=match):
        Config(**kwargs)


def test_bad_declarations_are_loud():
    with pytest.raises(
        TypeError, match=r"declared static: `hidden: ... = jaxfit.static\(\(8,\)\)`"
    ):

        @jaxfit.hyperparams
        class Bad:
            hidden: tuple[int, ...] = (8,)

    with pytest.raises(TypeError, match="field names may not"):

        @jaxfit.hyperparams
        class Bad2:
            replace: float = 1.0

    with pytest.raises(ValueError, match="out of range"):
        jaxfit.numeric(-1.0, ge=0.0)

    with pytest.raises(TypeError, match="is a list"):
        jaxfit.static([1, 2])


def test_subclass_without_decorator_is_refused():
    class Sub(Config):
        pass

    with pytest.raises(TypeError, match=r"not decorated with @jaxfit\.hyperparams"):
        Sub()


def test_subclass_extends_standard_set():
    @jaxfit.hyperparams
    class Mine(jaxfit.Hyperparams):
        dropout: float = jaxfit.numeric(0.1, ge=0.0, lt=1.0)
        n_heads: int = jaxfit.static(4)

    m = Mine(learning_rate=0.3, dropout=0.2)
    assert "dropout" in jaxfit.numeric_fields(m) and "n_heads" in jaxfit.static_fields(m)
    assert float(m.learning_rate) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="optimizer='lion' is not supported"):
        Mine(optimizer="lion")


def test_stack_refuses_mixed_static_parts():
    with pytest.raises(
        ValueError, match=r"differs from hps\[0\] in static field\(s\) \['hidden'\]"
    ):
        jaxfit.stack([Config(), Config(hidden=(4,))])
    with pytest.raises(ValueError, match="non-empty"):
        jaxfit.stack([])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optimizer": "adamax"}, "optimizer='adamax' is not supported"),
        ({"schedule": "linear"}, "schedule='linear' is not supported"),
        ({"activation": "swish"}, "activation='swish' is not supported"),
        ({"steps": 0}, "steps=0 must be a positive integer"),
        ({"batch_size": 0}, "batch_size=0 must be a positive integer"),
        ({"hidden": (8, 0)}, r"hidden\[1\]=0 must be a positive integer"),
        ({"momentum": 1.0}, "momentum=1.0 is out of range"),
    ],
)
def test_standard_set_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        jaxfit.Hyperparams(**kwargs)


def test_tracer_values_are_accepted_inside_jit():
    @jax.jit
    def f(lr):
        return jaxfit.Hyperparams(learning_rate=lr).learning_rate * 2

    assert float(f(0.25)) == 0.5


def test_leaves_are_read_only_host_arrays():
    c = Config(learning_rate=0.25)
    assert isinstance(c.learning_rate, np.ndarray)
    with pytest.raises(ValueError, match="read-only"):
        c.learning_rate[...] = 3.0  # shared by every copy made with replace
    assert float(c.replace(penalty=1.0).learning_rate) == 0.25


def test_replace_checks_changed_fields_and_everything_when_not_built_by_us():
    c = Config()
    with pytest.raises(ValueError, match="out of range"):
        c.replace(learning_rate=-1.0)
    negative = jax.tree.map(lambda x: -x - 1.0, c)  # unflattened by JAX: never validated
    with pytest.raises(ValueError, match=r"learning_rate=-1.1\d* is out of range"):
        negative.replace(penalty=0.0)


@jaxfit.hyperparams
class Ordered:
    low: float = 0.0
    high: float = 1.0

    def __check_init__(self):
        if float(self.low) > float(self.high):
            raise ValueError("low must not exceed high")


def test_replace_runs_cross_field_checks():
    with pytest.raises(ValueError, match="low must not exceed high"):
        Ordered().replace(low=2.0)


@settings(max_examples=25, deadline=None)
@given(
    lrs=st.lists(rates, min_size=1, max_size=6), pens=st.lists(penalties, min_size=6, max_size=6)
)
def test_group_stack_and_dicts_equal_the_general_path(lrs, pens):
    """The sweep's column-wise fast path gives what stack and to_dict give setting by setting."""
    from jaxfit._hp.batch import group_dicts, stack_group

    hps = [Config(learning_rate=lr, penalty=p) for lr, p in zip(lrs, pens, strict=False)]
    hps += [hps[0].replace(penalty=-0.0)]  # -0.0 keeps its sign, as to_dict does
    batch = stack_group(hps)
    _same(batch, jaxfit.stack(hps))
    assert group_dicts(batch) == [jaxfit.to_dict(h) for h in hps]
    assert [repr(d["penalty"]) for d in group_dicts(batch)] == [
        repr(jaxfit.to_dict(h)["penalty"]) for h in hps
    ]
