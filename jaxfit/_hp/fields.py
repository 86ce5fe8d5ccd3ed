"""Construction-time validation of hyperparameter fields (never run on unflatten)."""

from __future__ import annotations

import dataclasses
import inspect
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer


@dataclasses.dataclass(frozen=True)
class ClassFields:
    numeric: tuple[str, ...]
    static: tuple[str, ...]
    bounds: Mapping[str, Mapping[str, float]]
    hints: Mapping[str, Any]


def mark_plain_fields(cls: type) -> None:
    """Refuses defaults that cannot be numeric leaves unless marked static."""
    for name in inspect.get_annotations(cls):
        default = cls.__dict__.get(name, dataclasses.MISSING)
        if isinstance(default, dataclasses.Field) or default is dataclasses.MISSING:
            continue
        if isinstance(default, bool) or not _is_number_like(default):
            raise TypeError(
                f"{cls.__name__}.{name} has default {default!r} ({type(default).__name__}), "
                "which cannot be a numeric (vmappable) hyperparameter. Structural values "
                f"must be declared static: `{name}: ... = jaxfit.static({default!r})`."
            )


def _is_number_like(v: Any) -> bool:
    if isinstance(v, bool | str | bytes):
        return False
    return isinstance(v, int | float | np.number | np.ndarray | jax.Array)


def resolve_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: skip annotation checks
        return {}


def validate_fields(obj: Any, spec: ClassFields, only: set[str] | None = None) -> None:
    """Converts and checks the fields (``only`` those named), then ``__check_init__``."""
    name = type(obj).__name__
    dtype = np.dtype(jnp.result_type(float))  # once per setting: it is not free
    for n in spec.numeric:
        if only is not None and n not in only:
            continue
        value = getattr(obj, n)
        converted = _convert_numeric(f"{name}.{n}", value, spec.bounds[n], dtype)
        object.__setattr__(obj, n, converted)
    for n in spec.static:
        if only is not None and n not in only:
            continue
        check_static_value(f"{name}.{n}", getattr(obj, n), spec.hints.get(n))
    check = getattr(obj, "__check_init__", None)
    if check is not None:
        check()


BOUND_CHECKS: dict[str, Callable[[float, float], bool]] = {
    "ge": lambda v, b: v >= b,
    "gt": lambda v, b: v > b,
    "le": lambda v, b: v <= b,
    "lt": lambda v, b: v < b,
}


def _convert_scalar(
    where: str, value: Any, bounds: Mapping[str, float], dtype: np.dtype
) -> np.ndarray | None:
    """The fast path for a Python number or a leaf this module made: plain float checks.

    A sweep builds thousands of settings, so this path avoids numpy reductions and device
    transfers. Returns ``None`` for anything else.
    """
    if type(value) in (float, int) or (
        type(value) is np.ndarray
        and value.ndim == 0
        and value.dtype == dtype
        and not value.flags.writeable
    ):
        v = float(value)
    else:
        return None
    if not math.isfinite(v):
        raise ValueError(f"{where}={v!r} must be finite (no NaN or inf).")
    for k, b in bounds.items():
        if not BOUND_CHECKS[k](v, b):
            check_bounds(where, np.asarray(v), bounds)  # raises with the full message
    if type(value) is np.ndarray:
        return value
    arr = np.array(v, dtype=dtype)
    arr.flags.writeable = False  # leaves are shared between frozen settings
    return arr


def _convert_numeric(where: str, value: Any, bounds: Mapping[str, float], dtype: np.dtype) -> Any:
    fast = _convert_scalar(where, value, bounds, dtype)
    if fast is not None:
        return fast
    if isinstance(value, Tracer):
        if not jnp.issubdtype(value.dtype, jnp.floating):
            raise TypeError(f"{where} must be a floating-point value; got a {value.dtype} tracer.")
        return value
    if isinstance(value, bool | np.bool_) or not _is_number_like(value):
        raise TypeError(
            f"{where}={value!r:.80} is a {type(value).__name__}; a numeric hyperparameter must "
            "be a real number or an array of real numbers. If this field is structural "
            "(it changes shapes or control flow), declare it with jaxfit.static(...)."
        )
    given = getattr(value, "dtype", None)
    if given is not None and not (
        jnp.issubdtype(given, jnp.floating) or jnp.issubdtype(given, jnp.integer)
    ):
        raise TypeError(f"{where} has dtype {given}; a numeric hyperparameter must be real.")
    # Host numpy arrays, not jax.Arrays: building thousands of settings for a sweep must not
    # cost a device transfer per field (jit and vmap take numpy leaves as they are).
    if isinstance(value, jax.Array) and jnp.issubdtype(value.dtype, jnp.floating):
        arr = value
    elif given is not None and jnp.issubdtype(given, jnp.floating):
        arr = np.array(value)
    else:  # Python numbers and integer arrays become JAX's default float dtype
        arr = np.array(value, dtype=dtype)
    if isinstance(arr, np.ndarray):
        arr.flags.writeable = False  # leaves are shared between frozen settings
    host = np.asarray(value, dtype=float)  # the value as given, for messages
    if not np.all(np.isfinite(host)):
        raise ValueError(f"{where}={_show(host)} must be finite (no NaN or inf).")
    check_bounds(where, host, bounds)
    return arr


_BOUND_TEXT = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_BOUND_OK: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "ge": np.greater_equal,
    "gt": np.greater,
    "le": np.less_equal,
    "lt": np.less,
}


def check_bounds(where: str, host: np.ndarray, bounds: Mapping[str, float]) -> None:
    if np.any(np.isnan(host)):
        raise ValueError(f"{where}={_show(host)} must not be NaN.")
    for k, b in bounds.items():
        if not np.all(_BOUND_OK[k](host, b)):
            allowed = " and ".join(f"{_BOUND_TEXT[k2]} {b2}" for k2, b2 in bounds.items())
            raise ValueError(f"{where}={_show(host)} is out of range: it must be {allowed}.")


def _show(host: np.ndarray) -> str:
    return repr(host.item()) if host.ndim == 0 else np.array2string(host, threshold=8)


_STATIC_SCALARS = (int, float, bool, str, type(None))


def check_static_value(where: str, value: Any, hint: Any) -> None:
    if isinstance(value, np.ndarray | jax.Array) or hasattr(value, "__jax_array__"):
        raise TypeError(
            f"{where}={value!r:.80} is an array; static fields hold hashable Python values "
            "(int, float, bool, str, None or tuples of them). If you want to sweep this value "
            "with vmap, make the field numeric instead."
        )
    if isinstance(value, list):
        raise TypeError(
            f"{where}={value!r:.80} is a list; static fields must be hashable: use a tuple, "
            f"e.g. {tuple(value)!r}."
        )
    if not _is_static_value(value):
        raise TypeError(
            f"{where}={value!r:.80} ({type(value).__name__}) cannot be a static field: allowed "
            "are int, float, bool, str, None and (nested) tuples of them. Callables, optax "
            "objects and arrays compare by identity and would recompile on every call."
        )
    if hint is not None and not _matches(value, hint):
        raise TypeError(f"{where}={value!r} does not match its annotation {_hint_text(hint)}.")


def _is_static_value(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_is_static_value(v) for v in value)
    return isinstance(value, _STATIC_SCALARS)


def _matches(value: Any, hint: Any) -> bool:
    """A small structural type check for the annotations static fields use; lenient else."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is Literal:
        return value in args
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        if args == ((),):
            return value == ()
        return len(args) == len(value) and all(
            _matches(v, a) for v, a in zip(value, args, strict=True)
        )
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if hint is str:
        return isinstance(value, str)
    return True


def _hint_text(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
