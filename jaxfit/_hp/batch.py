"""Batches of hyperparameter settings: ``stack`` and ``unstack``, and the sweep's fast path."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from .hyperparams import batch_shape_of, fields_of, getitem, shortest, static_key, to_python

__all__ = ["column_floats", "group_dicts", "stack", "stack_group", "unstack"]

T = TypeVar("T")


def stack_group(hps: Sequence[T]) -> T:
    """:func:`stack` for host settings already known to share one class and static part.

    A sweep groups its settings by :func:`static_key` before stacking them, so the
    per-setting checks of :func:`stack` would only repeat that work (they cost more than
    the stacking itself for a thousand settings).
    """
    spec = fields_of(hps[0], "hps[0]")
    columns = [np.stack([np.asarray(getattr(h, n)) for h in hps]) for n in spec.numeric]
    return jax.tree.unflatten(jax.tree.structure(hps[0]), columns)


def column_floats(a: np.ndarray) -> list[float]:
    """``[to_python(v) for v in a]`` for a 1-D float array, each distinct value once."""
    bits = a.view(f"u{a.dtype.itemsize}")  # exact: -0.0 and 0.0 stay apart
    values, inverse = np.unique(bits, return_inverse=True)
    floats = [shortest(a.dtype.str, v.tobytes()) for v in values]
    return [floats[i] for i in inverse.reshape(-1)]


def group_dicts(batch: Any, n: int | None = None) -> list[dict[str, Any]]:
    """``[to_dict(h) for h in unstack(batch)]`` for a host batch, a column at a time.

    ``n`` is the number of settings; it is read from the batch when the class has numeric
    fields, and must be given for a class whose fields are all static (its batch has no
    leaves to carry a batch axis).
    """
    spec = fields_of(batch, "batch")
    if spec.numeric:
        n = int(batch.batch_shape[0])
    if n is None:
        raise ValueError(
            f"{type(batch).__name__} has no numeric field, so its batch does not know how "
            "many settings it holds: pass n."
        )
    columns: dict[str, list[Any]] = {}
    for name in spec.numeric:
        a = np.asarray(getattr(batch, name))
        if a.ndim == 1:  # one scalar per setting
            columns[name] = column_floats(a)
        else:
            columns[name] = [to_python(row) for row in a]
    out = []
    for i in range(n):
        d: dict[str, Any] = {}
        for f in dataclasses.fields(batch):
            d[f.name] = columns[f.name][i] if f.name in columns else getattr(batch, f.name)
        out.append(d)
    return out


def stack(hps: Sequence[T]) -> T:
    """Stacks hyperparameter instances into one batched instance with a leading axis.

    All instances must be of the same class and share every static field (one compiled
    program); numeric leaves are stacked along a new leading axis.

    Args:
      hps: a non-empty sequence of instances of one hyperparameter class.

    Returns:
      One instance whose numeric fields have shape ``(len(hps), ...)``.

    Raises:
      ValueError: if ``hps`` is empty or the static parts differ.
      TypeError: if the instances are not of one hyperparameter class.

    Examples:
      >>> import jaxfit
      >>> batch = jaxfit.stack([jaxfit.Hyperparams(learning_rate=lr) for lr in (0.1, 0.2)])
      >>> batch.learning_rate.shape, batch.batch_shape
      ((2,), (2,))
    """
    if isinstance(hps, str | bytes) or not isinstance(hps, Sequence) or len(hps) == 0:
        raise ValueError(f"stack needs a non-empty sequence of hyperparameters; got {hps!r:.80}.")
    first = hps[0]
    fields_of(first, "hps[0]")
    key0 = static_key(first)
    for i, h in enumerate(hps):
        if type(h) is not type(first):
            raise TypeError(
                f"stack: hps[{i}] is a {type(h).__name__}, hps[0] a {type(first).__name__}; "
                "all must be of one class."
            )
        if static_key(h) != key0:
            diff = [n for (n, a), (_, b) in zip(key0[1], static_key(h)[1], strict=True) if a != b]
            raise ValueError(
                f"stack: hps[{i}] differs from hps[0] in static field(s) {diff}; settings with "
                "different static fields need different compiled programs. Group them by "
                "jaxfit.static_key first (jaxfit.sweep does this for you)."
            )
    on_host = all(isinstance(x, np.ndarray | np.generic) for h in hps for x in jax.tree.leaves(h))
    return jax.tree.map(lambda *xs: np.stack(xs) if on_host else jnp.stack(xs), *hps)


def unstack(batch: T) -> list[T]:
    """Splits a batched instance (from :func:`stack` or ``vmap``) back into single instances.

    Args:
      batch: an instance whose numeric leaves share a leading axis.

    Returns:
      The list of instances along the leading axis.

    Examples:
      >>> import jaxfit
      >>> batch = jaxfit.stack([jaxfit.Hyperparams(learning_rate=lr) for lr in (0.1, 0.2)])
      >>> [jaxfit.to_dict(h)["learning_rate"] for h in jaxfit.unstack(batch)]
      [0.1, 0.2]
    """
    shape = batch_shape_of(batch)
    if not shape:
        raise ValueError("unstack: the hyperparameters are not batched (no leading axis).")
    return [getitem(batch, i) for i in range(shape[0])]
