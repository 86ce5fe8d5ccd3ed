"""Frozen hyperparameter dataclasses: numeric fields are pytree leaves, structure is static."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
from typing import Any, TypeVar, dataclass_transform

import jax
import numpy as np
from jax.core import Tracer

from .fields import (
    ClassFields,
    check_bounds,
    check_static_value,
    mark_plain_fields,
    resolve_hints,
    validate_fields,
)

__all__ = [
    "hyperparams",
    "is_hyperparams",
    "numeric",
    "numeric_fields",
    "static",
    "static_fields",
    "static_key",
    "to_dict",
]

T = TypeVar("T")

_KIND = "jaxfit_kind"  # dataclasses.Field.metadata key: "static" or "numeric"
_BOUNDS = "jaxfit_bounds"
_MARK = "__jaxfit_hyperparams__"  # set in the class's own __dict__ by the decorator
_RESERVED = {"replace", "batch_shape"}
# Declared by a class beside its __check_init__: the check also accepts a stacked batch.
_BATCHED = "__check_init_batched__"
# Set on instances built by the validating constructor (not on JAX's unflattened ones), so
# replace() need only check the fields it changes.
_VALIDATED = "_jaxfit_validated"


def static(default: Any = dataclasses.MISSING) -> Any:
    """Marks a hyperparameter field as static: part of the compiled program's structure.

    A static field holds a small hashable value (``int``, ``bool``, ``str``, ``float``,
    ``None`` or tuples of those). Two settings that differ in a static field need two
    compiled programs, so sweeps group settings by their static fields. Use it for layer
    widths, depth, activation, optimizer name, schedule name, number of steps, batch size.

    Args:
      default: the default value; omit it to make the field required.

    Returns:
      A dataclass field descriptor (use it as the field's default).

    Examples:
      >>> import jaxfit
      >>> @jaxfit.hyperparams
      ... class Config:
      ...     learning_rate: float = 0.1
      ...     hidden: tuple[int, ...] = jaxfit.static((32, 32))
      >>> Config().hidden
      (32, 32)
    """
    if default is not dataclasses.MISSING:
        check_static_value("<default>", default, None)
    return dataclasses.field(default=default, metadata={_KIND: "static"})


def numeric(
    default: float | dataclasses._MISSING_TYPE = dataclasses.MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """Declares a numeric hyperparameter (an array leaf that ``vmap`` can batch) with bounds.

    A field annotated ``float`` without any marker is already numeric and must only be
    finite; use ``numeric`` to add bounds that construction checks eagerly.

    Args:
      default: the default value; omit it to make the field required.
      ge: the value must be greater than or equal to this.
      gt: the value must be strictly greater than this.
      le: the value must be less than or equal to this.
      lt: the value must be strictly less than this.

    Returns:
      A dataclass field descriptor (use it as the field's default).

    Examples:
      >>> import jaxfit
      >>> @jaxfit.hyperparams
      ... class Config:
      ...     momentum: float = jaxfit.numeric(0.9, ge=0.0, lt=1.0)
      >>> Config(momentum=1.5)
      Traceback (most recent call last):
      ...
      ValueError: Config.momentum=1.5 is out of range: it must be >= 0.0 and < 1.0.
    """
    bounds = {"ge": ge, "gt": gt, "le": le, "lt": lt}
    bounds = {k: v for k, v in bounds.items() if v is not None}
    if default is not dataclasses.MISSING:
        check_bounds("<default>", np.asarray(default, dtype=float), bounds)
    return dataclasses.field(default=default, metadata={_KIND: "numeric", _BOUNDS: bounds})


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(static, numeric))
def hyperparams(cls: type[T]) -> type[T]:
    """Turns a class into a frozen hyperparameter dataclass registered as a JAX pytree.

    Fields annotated as numbers (``float`` or ``int``, or declared with
    :func:`jaxfit.numeric`) are *numeric*: they are stored as host (numpy) arrays of
    JAX's default float dtype (a floating ``jax.Array`` or tracer you pass is kept as it
    is) and are the pytree's leaves, so ``jax.vmap`` batches them and new values never
    recompile. Fields declared with :func:`jaxfit.static` are *static*: hashable
    metadata that decides the compiled program.

    Construction validates eagerly: an unknown field name, a non-finite or out-of-range
    number, or an array, list or other unhashable value in a static field raises a
    ``TypeError`` or ``ValueError`` naming the field, the value and what is allowed.
    Validation runs only when *you* construct an instance: when JAX rebuilds the pytree
    (under ``jit``, ``vmap``, ``tree_map``) the fields are set directly, so tracers and
    JAX's placeholder objects pass through untouched. An optional method
    ``__check_init__(self)`` runs after the field checks for cross-field validation.

    A sweep over a :class:`jaxfit.Space` can check a whole static group's settings at
    once, stacked into one batch, instead of one object per setting (much faster for
    large spaces). It does so only when the class that defines ``__check_init__`` also
    sets the plain class attribute ``__check_init_batched__ = True`` (no annotation): a
    promise that the check accepts such a batch and raises exactly when one of its
    settings would, which holds when it reads numeric fields only through ``np.any`` or
    ``np.all`` and never as a single number (``if self.rate > 1``). The declaration
    covers the ``__check_init__`` defined beside it: a subclass that overrides the method
    must declare it again, or its settings are checked one at a time. A class without
    ``__check_init__`` needs nothing; :class:`jaxfit.Hyperparams` declares it.

    Instances are keyword-only, frozen and compared by value. ``replace(**changes)``
    returns a validated copy; ``batch[i]`` indexes a batch made by :func:`jaxfit.stack`.

    Subclassing a hyperparameter class adds fields; decorate the subclass too.

    Note:
      The pytree registration mirrors ``jax.tree_util.register_dataclass`` (numeric fields
      are data fields, static fields are metadata, keys are attribute names), but uses
      ``register_pytree_with_keys`` because ``register_dataclass`` rebuilds nodes by
      calling the constructor, which would re-run validation on tracers.

    Args:
      cls: the class to convert; its annotations declare the fields.

    Returns:
      The same class, now a frozen, keyword-only dataclass and a registered pytree.

    Raises:
      TypeError: when a field's default cannot be a numeric leaf and is not marked static,
        a field name is reserved, or ``__check_init_batched__`` is annotated or not a bool.

    Examples:
      >>> import jax, jaxfit
      >>> @jaxfit.hyperparams
      ... class Config:
      ...     learning_rate: float = 0.1
      ...     steps: int = jaxfit.static(100)
      >>> c = Config(learning_rate=0.5)
      >>> jax.tree.leaves(c)
      [array(0.5, dtype=float32)]
      >>> jaxfit.static_key(c)
      ('Config', (('steps', 100),))
    """
    if not isinstance(cls, type):
        raise TypeError(f"@jaxfit.hyperparams decorates a class; got {cls!r}.")
    for base in cls.__mro__[1:]:
        if dataclasses.is_dataclass(base) and _MARK not in base.__dict__ and base is not object:
            raise TypeError(
                f"{cls.__name__} inherits from dataclass {base.__name__}, which is not a "
                "jaxfit hyperparameter class; decorate it with @jaxfit.hyperparams too."
            )
    _check_batched_declaration(cls)
    mark_plain_fields(cls)
    cls = dataclasses.dataclass(frozen=True, kw_only=True)(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    for f in fields:
        if f.name in _RESERVED or f.name.startswith("_"):
            raise TypeError(
                f"{cls.__name__}.{f.name}: field names may not start with '_' or be one of "
                f"{sorted(_RESERVED)}."
            )
    hints = resolve_hints(cls)
    numeric_names = tuple(f.name for f in fields if f.metadata.get(_KIND) != "static")
    static_names = tuple(f.name for f in fields if f.metadata.get(_KIND) == "static")
    spec = ClassFields(
        numeric=numeric_names,
        static=static_names,
        bounds={f.name: f.metadata.get(_BOUNDS, {}) for f in fields},
        hints=hints,
    )
    setattr(cls, _MARK, spec)

    dataclass_init = cls.__init__

    def __init__(self, **kwargs: Any) -> None:
        own = type(self).__dict__.get(_MARK)
        if own is None:
            raise TypeError(
                f"{type(self).__name__} subclasses a jaxfit hyperparameter class but is not "
                "decorated with @jaxfit.hyperparams; add the decorator."
            )
        allowed = own.numeric + own.static
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unknown field(s) {unknown}; allowed fields are "
                f"{sorted(allowed)}."
            )
        try:
            dataclass_init(self, **kwargs)
        except TypeError as e:  # missing required fields
            raise TypeError(f"{type(self).__name__}: {e}") from None
        validate_fields(self, own)
        object.__setattr__(self, _VALIDATED, True)

    __init__.__doc__ = dataclass_init.__doc__
    cls.__init__ = __init__  # type: ignore[method-assign]
    cls.replace = _replace  # type: ignore[attr-defined]
    cls.__getitem__ = getitem  # type: ignore[attr-defined]
    cls.batch_shape = property(batch_shape_of)  # type: ignore[attr-defined]
    cls.__repr__ = _repr  # type: ignore[method-assign]

    def flatten_with_keys(obj):
        children = [(jax.tree_util.GetAttrKey(n), getattr(obj, n)) for n in spec.numeric]
        return children, tuple(getattr(obj, n) for n in spec.static)

    def flatten(obj):
        return [getattr(obj, n) for n in spec.numeric], tuple(getattr(obj, n) for n in spec.static)

    def unflatten(meta, children):
        # Bypass __init__: JAX passes tracers, in_axes ints, None and other placeholders.
        obj = object.__new__(cls)
        for n, v in zip(spec.numeric, children, strict=True):
            object.__setattr__(obj, n, v)
        for n, v in zip(spec.static, meta, strict=True):
            object.__setattr__(obj, n, v)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    return cls


def _check_batched_declaration(cls: type) -> None:
    if _BATCHED in inspect.get_annotations(cls):
        raise TypeError(
            f"{cls.__name__}.{_BATCHED} is annotated, which would make it a field; declare it "
            f"as a plain class attribute: `{_BATCHED} = True`."
        )
    declared = cls.__dict__.get(_BATCHED, False)
    if not isinstance(declared, bool):
        raise TypeError(f"{cls.__name__}.{_BATCHED} must be True or False; got {declared!r}.")


def is_hyperparams(obj: Any) -> bool:
    """Returns whether ``obj`` is an instance of a ``@jaxfit.hyperparams`` class.

    Args:
      obj: any object.

    Returns:
      ``True`` for instances of decorated classes, ``False`` otherwise (classes included).

    Examples:
      >>> import jaxfit
      >>> jaxfit.is_hyperparams(jaxfit.Hyperparams()), jaxfit.is_hyperparams(1.0)
      (True, False)
    """
    return not isinstance(obj, type) and _MARK in type(obj).__dict__


def fields_of(obj: Any, arg: str = "hp") -> ClassFields:
    if not is_hyperparams(obj):
        raise TypeError(
            f"{arg} must be an instance of a @jaxfit.hyperparams class; got "
            f"{type(obj).__name__}: {obj!r:.80}."
        )
    return type(obj).__dict__[_MARK]


def numeric_fields(hp: Any) -> tuple[str, ...]:
    """Returns the names of the numeric (leaf, vmappable) fields of a hyperparameter object.

    Args:
      hp: a hyperparameter instance.

    Returns:
      The numeric field names, in declaration order.

    Examples:
      >>> import jaxfit
      >>> "learning_rate" in jaxfit.numeric_fields(jaxfit.Hyperparams())
      True
    """
    return fields_of(hp).numeric


def static_fields(hp: Any) -> tuple[str, ...]:
    """Returns the names of the static (structural, compile-deciding) fields.

    Args:
      hp: a hyperparameter instance.

    Returns:
      The static field names, in declaration order.

    Examples:
      >>> import jaxfit
      >>> "steps" in jaxfit.static_fields(jaxfit.Hyperparams())
      True
    """
    return fields_of(hp).static


def static_key(hp: Any) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """Returns a hashable key of the static part: settings with equal keys share a compile.

    Args:
      hp: a hyperparameter instance (single or batched).

    Returns:
      ``(class_name, ((field, value), ...))`` over the static fields.

    Examples:
      >>> import jaxfit
      >>> a = jaxfit.Hyperparams(learning_rate=0.1)
      >>> b = jaxfit.Hyperparams(learning_rate=0.2)
      >>> jaxfit.static_key(a) == jaxfit.static_key(b)
      True
    """
    spec = fields_of(hp)
    return type(hp).__qualname__, tuple((n, getattr(hp, n)) for n in spec.static)


def to_dict(hp: Any) -> dict[str, Any]:
    """Returns every field as a plain Python value (numbers as floats or nested lists).

    Args:
      hp: a hyperparameter instance.

    Returns:
      A dict from field name to value; numeric leaves become Python floats (or lists of
      floats for a batch).

    Examples:
      >>> import jaxfit
      >>> jaxfit.to_dict(jaxfit.Hyperparams(learning_rate=0.5))["learning_rate"]
      0.5
    """
    spec = fields_of(hp)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(hp):
        v = getattr(hp, f.name)
        out[f.name] = to_python(v) if f.name in spec.numeric else v
    return out


def to_python(v: Any) -> Any:
    """Array -> float or nested lists, each float the shortest decimal that round-trips."""
    a = np.asarray(v)
    if a.ndim == 0:
        return shortest(a.dtype.str, a.tobytes())
    return [to_python(e) for e in a]


@functools.lru_cache(maxsize=4096)  # a sweep's settings share most of their values
def shortest(dtype: str, data: bytes) -> float:
    scalar: Any = np.frombuffer(data, dtype=dtype)[0]  # float32 prints as float32
    return float(np.format_float_positional(scalar, unique=True, trim="0"))


def batch_shape_of(self: Any) -> tuple[int, ...]:
    """The common leading shape of the numeric leaves: () for a single setting."""
    shapes = [np.shape(getattr(self, n)) for n in fields_of(self).numeric]
    if not shapes:
        return ()
    common = shapes[0]
    for s in shapes[1:]:
        k = 0
        while k < min(len(common), len(s)) and common[k] == s[k]:
            k += 1
        common = common[:k]
    return tuple(common)


def getitem(self: T, index: Any) -> T:
    shape = batch_shape_of(self)
    if not shape:
        raise TypeError(
            f"{type(self).__name__} is a single setting, not a batch; index a batch made by "
            "jaxfit.stack."
        )
    return jax.tree.map(lambda x: x[index], self)


def _replace(self: T, **changes: Any) -> T:
    """Returns a validated copy with the given fields changed.

    Examples:
      >>> import jaxfit
      >>> jaxfit.Hyperparams().replace(learning_rate=0.3).learning_rate
      array(0.3, dtype=float32)
    """
    current = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
    unknown = sorted(set(changes) - set(current))
    if unknown:
        raise TypeError(
            f"{type(self).__name__}.replace got unknown field(s) {unknown}; allowed fields are "
            f"{sorted(current)}."
        )
    if not getattr(self, _VALIDATED, False):  # e.g. made by jax.tree.map: check everything
        return type(self)(**(current | changes))
    spec = fields_of(self)
    new = object.__new__(type(self))
    for name, value in (current | changes).items():
        object.__setattr__(new, name, value)
    validate_fields(new, spec, only=set(changes))
    object.__setattr__(new, _VALIDATED, True)
    return new


def _repr(self: Any) -> str:
    parts = []
    spec = fields_of(self)
    for f in dataclasses.fields(self):
        v = getattr(self, f.name)
        if f.name in spec.numeric and not isinstance(v, Tracer):
            with contextlib.suppress(Exception):  # placeholders inside JAX transformations
                v = to_python(v)
        parts.append(f"{f.name}={v!r}")
    return f"{type(self).__name__}({', '.join(parts)})"
