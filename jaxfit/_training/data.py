"""Eager validation of training data: shapes, dtypes, finiteness, sample weights."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

__all__ = ["Dataset", "as_dataset"]


class Dataset(NamedTuple):
    """Inputs, targets and per-sample weights of one data set, as JAX arrays.

    Attributes:
      x: inputs, shape ``(n, ...)``.
      y: targets, shape ``(n, ...)``.
      weight: non-negative per-sample weights, shape ``(n,)`` (ones when not given).

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> ds = jaxfit.Dataset(jnp.zeros((3, 2)), jnp.zeros(3), jnp.ones(3))
      >>> ds.x.shape, ds.weight.shape
      ((3, 2), (3,))
    """

    x: jax.Array
    y: jax.Array
    weight: jax.Array


def as_dataset(data: Any, *, arg: str = "data") -> Dataset:
    """Validates ``(x, y)`` or ``(x, y, weight)`` and returns it as a :class:`Dataset`.

    Checks are eager and run on the host: equal lengths, at least one sample, numeric
    dtypes, no NaN or inf, and weights that are non-negative with a positive sum. Value
    checks are skipped for tracers (data passed inside ``jit``); shape checks always run.

    Args:
      data: a tuple ``(x, y)`` or ``(x, y, weight)`` of array-likes, or a ``Dataset``.
      arg: the argument name to use in error messages.

    Returns:
      The validated data set, as JAX arrays (weights default to ones of x's float dtype).

    Raises:
      TypeError: for a malformed tuple or non-numeric arrays.
      ValueError: for empty data, mismatched lengths, wrong ranks or non-finite values.

    Examples:
      >>> import numpy as np, jaxfit
      >>> ds = jaxfit.as_dataset((np.arange(4.0), 2 * np.arange(4.0)))
      >>> ds.x.shape, ds.weight.tolist()
      ((4,), [1.0, 1.0, 1.0, 1.0])
    """
    if not isinstance(data, tuple | list) or len(data) not in (2, 3):
        raise TypeError(
            f"{arg} must be a tuple (x, y) or (x, y, weight); got {type(data).__name__}"
            + (f" of length {len(data)}" if isinstance(data, tuple | list) else "")
            + "."
        )
    x = _array(data[0], f"{arg}[0] (x)")
    y = _array(data[1], f"{arg}[1] (y)")
    if x.ndim == 0:
        raise ValueError(f"{arg}: x must have a leading sample axis; got a scalar.")
    if y.ndim == 0:
        raise ValueError(f"{arg}: y must have a leading sample axis; got a scalar.")
    n = x.shape[0]
    if n == 0:
        raise ValueError(f"{arg} is empty: x has shape {x.shape}; at least one sample is needed.")
    if y.shape[0] != n:
        raise ValueError(
            f"{arg}: x and y have different lengths: x has {n} samples (shape {x.shape}), "
            f"y has {y.shape[0]} (shape {y.shape})."
        )
    _check_finite(x, f"{arg}: x")
    _check_finite(y, f"{arg}: y")
    float_dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
    if len(data) == 3 and data[2] is not None:
        w = _array(data[2], f"{arg}[2] (weight)")
        if w.shape != (n,):
            raise ValueError(
                f"{arg}: weight must have shape ({n},) like x's length; got {w.shape}."
            )
        _check_finite(w, f"{arg}: weight")
        if not isinstance(w, Tracer):
            host = np.asarray(w)
            if np.any(host < 0):
                raise ValueError(f"{arg}: weight has negative entries; weights must be >= 0.")
            if not host.sum() > 0:
                raise ValueError(f"{arg}: weight sums to 0; at least one sample must count.")
        w = w.astype(float_dtype)
    else:
        w = jnp.ones((n,), float_dtype)
    return Dataset(x, y, w)


def _array(value: Any, where: str) -> jax.Array:
    if isinstance(value, Tracer):
        arr = value
    else:
        try:
            host = np.asarray(value)
        except Exception as e:
            raise TypeError(f"{where} cannot be converted to an array: {e}") from None
        if not (np.issubdtype(host.dtype, np.number) or host.dtype == np.bool_):
            raise TypeError(f"{where} must be numeric; got dtype {host.dtype}.")
        arr = jnp.asarray(value)
    if not (jnp.issubdtype(arr.dtype, jnp.number) or arr.dtype == jnp.bool_):
        raise TypeError(f"{where} must be numeric; got dtype {arr.dtype}.")
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise TypeError(f"{where} must be real; got dtype {arr.dtype}.")
    return arr


def _check_finite(arr: jax.Array, where: str) -> None:
    if isinstance(arr, Tracer) or not jnp.issubdtype(arr.dtype, jnp.floating):
        return
    host = np.asarray(arr)
    bad = ~np.isfinite(host)
    if bad.any():
        rows = np.unique(np.nonzero(bad.reshape(host.shape[0], -1))[0])
        kind = "NaN" if np.isnan(host).any() else "inf"
        raise ValueError(
            f"{where} contains {int(bad.sum())} non-finite value(s) ({kind}), first in rows "
            f"{rows[:5].tolist()}; remove or impute them before fitting."
        )
