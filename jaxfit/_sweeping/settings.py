"""A sweep's settings, grouped by static part and held as columns.

A sweep needs, per static group, the numeric fields stacked along a leading axis (the
vmapped program's input) and, per setting, a plain dict (the result's record). Building a
validated object per setting first costs tens of microseconds each, more than training
a small model a thousand settings wide; so a :class:`jaxfit.Space` over a class whose
cross-field check is declared batch-safe (``__check_init_batched__ = True``, see
:func:`jaxfit.hyperparams`) is turned into columns directly: each numeric axis is
checked a column at a time against the same bounds, each static combination through
``replace`` once, and the class's ``__check_init__`` once on each group's stacked batch.
Anything the columns cannot check exactly as ``replace`` would (non-scalar values, a
value out of bounds, an undeclared ``__check_init__``) falls back to ``Space.apply``,
which validates every point and raises its usual errors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._hp import (
    BOUND_CHECKS,
    Space,
    column_floats,
    fields_of,
    group_dicts,
    stack_group,
    static_key,
    to_dict,
)
from .._training import check_hp

__all__ = ["Settings", "SettingsGroup", "settings_of"]


@dataclasses.dataclass(frozen=True)
class SettingsGroup:
    """The settings that share one static part: one compiled program."""

    key: Any  # static_key of every member
    indices: list[int]  # positions in the sweep's order
    first: Any  # the first member, a validated single setting
    batch: Any  # every member's numeric fields stacked on a leading axis


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of a sweep: its groups, one plain dict per setting, the varied names."""

    groups: list[SettingsGroup]
    dicts: list[dict[str, Any]]
    varied: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.dicts)


def settings_of(base: Any, space: Space | Sequence[Any] | None) -> Settings:
    """Validates ``space`` against ``base`` and returns its settings, grouped and stacked."""
    if space is None:
        return _from_list([base], ())
    if isinstance(space, Space):
        fast = _from_space(base, space)
        return fast if fast is not None else _from_list(space.apply(base), space.names)
    if isinstance(space, Sequence) and not isinstance(space, str) and len(space) > 0:
        for i, h in enumerate(space):
            check_hp(h)
            if type(h) is not type(base):
                raise TypeError(
                    f"space[{i}] is a {type(h).__name__}, base a {type(base).__name__}."
                )
        hps = list(space)
        dicts = [to_dict(h) for h in hps]
        varied = tuple(k for k in dicts[0] if any(d[k] != dicts[0][k] for d in dicts))
        return _from_list(hps, varied, dicts)
    raise TypeError(
        "space must be a jaxfit.Space (jaxfit.grid, jaxfit.random_space, ...), a non-empty list "
        f"of hyperparameter settings, or None; got {type(space).__name__}."
    )


def _from_list(
    hps: list[Any], varied: tuple[str, ...], dicts: list[dict[str, Any]] | None = None
) -> Settings:
    """Groups validated settings by static part (in order of first appearance), stacks them."""
    by_key: dict[Any, list[int]] = {}
    for i, h in enumerate(hps):
        by_key.setdefault(static_key(h), []).append(i)
    groups = [
        SettingsGroup(key, idx, hps[idx[0]], stack_group([hps[i] for i in idx]))
        for key, idx in by_key.items()
    ]
    if dicts is None:
        dicts = [{}] * len(hps)
        for g in groups:
            for i, d in zip(g.indices, group_dicts(g.batch, len(g.indices)), strict=True):
                dicts[i] = d
    return Settings(groups, dicts, tuple(varied))


def _batch_checkable(cls: type) -> bool:
    """Whether the class's cross-field check may run once on a stacked batch.

    It may when there is none, or when the class that defines the ``__check_init__`` in
    use declares ``__check_init_batched__ = True`` in its own body: a subclass that
    overrides an opted-in check without declaring it again is checked per setting (its
    check may compare a field with ``if``, which a batch cannot answer).
    """
    for klass in cls.__mro__:
        if "__check_init__" in vars(klass):
            return vars(klass).get("__check_init_batched__", False) is True
    return True


def _from_space(base: Any, space: Space) -> Settings | None:
    """The columns of ``space`` applied to ``base``, or ``None`` where only
    ``Space.apply`` can check the points exactly (it then raises, or builds them)."""
    space._check_names(base)  # unknown fields: the same error as apply
    if not _batch_checkable(type(base)):
        return None
    spec = fields_of(base)
    names = space.names
    points = space.points()
    numeric = [n for n in spec.numeric if n in names]
    static = [n for n in spec.static if n in names]
    dtype = np.dtype(jnp.result_type(float))
    columns: dict[str, np.ndarray] = {}
    for n in numeric:
        column = _numeric_column(base, n, points, spec.bounds[n], dtype)
        if column is None:
            return None
        columns[n] = column
    static_values = {n: [p.get(n, getattr(base, n)) for p in points] for n in static}
    by_static: dict[tuple[Any, ...], list[int]] = {}
    try:
        for i, combo in enumerate(zip(*static_values.values(), strict=True)):
            by_static.setdefault(tuple(_typed(v) for v in combo), []).append(i)
    except TypeError:  # an unhashable static value: replace names it
        return None
    if not static:
        by_static = {(): list(range(len(points)))}
    groups = []
    for idx in by_static.values():
        i0 = idx[0]
        changes = {n: static_values[n][i0] for n in static}
        changes |= {n: points[i0].get(n, getattr(base, n)) for n in numeric}
        try:  # the static part (and this point) checked exactly as replace checks it
            first = base.replace(**changes)
        except (TypeError, ValueError):
            return None
        leaves = []
        for n in spec.numeric:
            if n in columns:
                leaf = columns[n][idx]
            else:
                value = np.asarray(getattr(base, n))
                leaf = np.broadcast_to(value, (len(idx), *value.shape)).copy()
            leaf.flags.writeable = False
            leaves.append(leaf)
        batch = jax.tree.unflatten(jax.tree.structure(first), leaves)
        check = getattr(type(base), "__check_init__", None)
        if check is not None:
            try:
                check(batch)
            except (TypeError, ValueError):
                return None
        groups.append(SettingsGroup(static_key(first), idx, first, batch))
    return Settings(groups, _dicts(base, names, columns, static_values), names)


def _numeric_column(
    base: Any, name: str, points: list[dict[str, Any]], bounds: Any, dtype: np.dtype
) -> np.ndarray | None:
    """One numeric axis as an array of ``dtype``, if every value is a finite Python number
    within ``bounds`` (``replace``'s scalar checks, a column at once); else ``None``."""
    fallback = getattr(base, name)
    if np.ndim(fallback) != 0:
        return None
    default = float(np.asarray(fallback))
    values = [p.get(name, default) for p in points]
    if not all(type(v) in (float, int) for v in values):
        return None
    try:
        wide = np.array(values, np.float64)
    except OverflowError:
        return None
    if not np.all(np.isfinite(wide)):
        return None
    for op, bound in bounds.items():
        if not all(BOUND_CHECKS[op](v, bound) for v in (float(wide.min()), float(wide.max()))):
            return None
    column = wide.astype(dtype)
    column.flags.writeable = False
    return column


def _typed(value: Any) -> Any:
    """A grouping key that keeps ``1``, ``1.0`` and ``True`` apart (they compare equal)."""
    if isinstance(value, tuple):
        return (tuple, tuple(_typed(v) for v in value))
    hash(value)
    return (type(value), value)


def _dicts(
    base: Any,
    names: tuple[str, ...],
    columns: dict[str, np.ndarray],
    static_values: dict[str, list[Any]],
) -> list[dict[str, Any]]:
    """``to_dict`` of every setting: the base's dict with each point's values."""
    values: list[list[Any]] = []
    for n in names:
        if n in columns:  # as to_dict reads the stored float
            values.append(column_floats(columns[n]))
        else:
            values.append(static_values[n])
    plain = to_dict(base)
    return [plain | dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
