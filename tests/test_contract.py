"""The fields a run reads are declared (jaxfit._training.RunFields) and checked when a fit or a
sweep starts: a class that lacks one gets an error naming it and how to declare it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxfit
from jaxfit._training import RUN_FIELDS, RunFields

X = jnp.linspace(-1, 1, 8)
DATA = (X, 2 * X)


def _fit(hp, optimizer=None):
    sgd = optimizer or (lambda h: __import__("optax").sgd(0.1))
    return jaxfit.fit(jaxfit.linear(), "mse", DATA, hp, key=jax.random.key(0), optimizer=sgd)


def _sweep(hp):
    sgd = lambda h: __import__("optax").sgd(0.1)  # noqa: E731
    return jaxfit.sweep(jaxfit.linear(), "mse", DATA, hp, key=jax.random.key(0), optimizer=sgd)


@jaxfit.hyperparams
class NoSteps:
    lr: float = jaxfit.numeric(0.1)


@jaxfit.hyperparams
class NumericBatch:
    steps: int = jaxfit.static(5)
    batch_size: float = jaxfit.numeric(4.0)


@jaxfit.hyperparams
class StaticL2:
    steps: int = jaxfit.static(5)
    l2: float = jaxfit.static(0.1)


@jaxfit.hyperparams
class BadScaling:
    steps: int = jaxfit.static(5)
    l2_scaling: str = jaxfit.static("total")


@jaxfit.hyperparams
class Minimal:
    steps: int = jaxfit.static(5)


@pytest.mark.parametrize("run", [_fit, _sweep], ids=["fit", "sweep"])
@pytest.mark.parametrize(
    "hp, error, words",
    [
        (NoSteps(), TypeError, ["NoSteps", "'steps'", "jaxfit.static(500)", "jaxfit.Hyperparams"]),
        (NumericBatch(), TypeError, ["NumericBatch.batch_size", "static", "jaxfit.static(None)"]),
        (StaticL2(), TypeError, ["StaticL2.l2", "numeric", "jaxfit.numeric(0.0"]),
        (BadScaling(), ValueError, ["BadScaling.l2_scaling", "'mean' or 'sum'", "'total'"]),
    ],
    ids=["missing", "numeric-batch", "static-l2", "scaling"],
)  # fmt: skip
def test_a_class_that_breaks_the_contract_is_told_which_field(run, hp, error, words):
    with pytest.raises(error) as info:
        run(hp)
    for w in words:
        assert w in str(info.value)


def test_the_minimal_class_trains():
    """Only ``steps`` is required: no minibatches, no penalty."""
    assert isinstance(Minimal(), RunFields)
    r = _fit(Minimal())
    assert r.train_loss.shape == (5,) and not bool(r.diverged)


def test_the_standard_class_declares_every_run_field():
    hp = jaxfit.Hyperparams()
    spec_static, spec_numeric = set(jaxfit.static_fields(hp)), set(jaxfit.numeric_fields(hp))
    for name, rule in RUN_FIELDS.items():
        assert name in (spec_static if rule.kind == "static" else spec_numeric), name


@jaxfit.hyperparams
class StaticOnly:
    """A class whose every field is static: its batches have no leaf to carry a batch axis."""

    steps: int = jaxfit.static(5)
    width: int = jaxfit.static(1)


def test_a_class_without_numeric_fields_sweeps():
    sgd = lambda h: __import__("optax").sgd(0.1)  # noqa: E731
    space = jaxfit.grid(steps=[3, 5, 7])
    r = jaxfit.sweep(jaxfit.linear(), "mse", DATA, StaticOnly(), space, key=jax.random.key(0),
                     optimizer=sgd, seeds=2)  # fmt: skip
    assert [h["steps"] for h in r.hyperparams] == [3, 5, 7]
    assert r.train_curves.shape == (3, 2, 7)
    one = jaxfit.fit(jaxfit.linear(), "mse", DATA, StaticOnly(steps=5), optimizer=sgd,
                     key=jax.random.fold_in(jax.random.key(0), 1))  # fmt: skip
    np.testing.assert_array_equal(r.train_curves[1, 1, :5], one.train_loss)
