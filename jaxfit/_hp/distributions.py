"""What a search space samples from: the distributions of ``random_space``, and candidate
values checked into plain, hashable Python values."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

__all__ = ["choice", "integers", "loguniform", "uniform"]

_SCALARS = (bool, int, float, str, type(None))


def plain_value(v: Any) -> Any:
    return [plain_value(e) for e in v] if isinstance(v, tuple) else v


def as_tuples(v: Any) -> Any:
    return tuple(as_tuples(e) for e in v) if isinstance(v, list | tuple) else v


def _value(where: str, v: Any) -> Any:
    """A candidate as a plain, hashable Python value (numpy scalars and arrays converted)."""
    if hasattr(v, "__array__") and not isinstance(v, list | tuple):  # numpy, JAX
        v = np.asarray(v)
        if v.ndim:
            return tuple(_value(where, e) for e in v)
        v = v[()]  # the shortest round-tripping decimal: float32(0.1) -> 0.1, not 0.1000000015
        v = float(np.format_float_positional(v, unique=True)) if v.dtype.kind == "f" else v.item()
    if isinstance(v, tuple):
        return tuple(_value(where, e) for e in v)
    if not isinstance(v, _SCALARS):
        raise TypeError(
            f"{where}={v!r:.60} is a {type(v).__name__}; values must be hashable: numbers, str, "
            "bool, None or tuples of them (write a list value as a tuple)."
        )
    return v


def candidates(fn: str, name: str, values: Any) -> tuple[Any, ...]:
    if isinstance(values, tuple):
        raise TypeError(
            f"{fn}: {name}={values!r:.60} is a tuple, which is ambiguous because a value may "
            f"itself be a tuple; pass a list: {name}=[{values!r:.60}] for this one value, or "
            f"{name}={list(values)!r:.60} for {len(values)} values."
        )
    if isinstance(values, np.generic | np.ndarray) and np.ndim(values) == 0:
        values = values.item()
    if not isinstance(values, list | range | np.ndarray):
        given, fix = f"{name} is a {type(values).__name__}", "a list"
        if isinstance(values, _SCALARS):
            given, fix = f"{name}={values!r:.60} is a single value", f"{name}=[{values!r:.60}]"
        raise TypeError(
            f"{fn}: {given}, not a list of candidate values; pass a list, range or numpy "
            f"array, e.g. {fix}."
        )
    if len(values) == 0:
        raise ValueError(f"{fn}: {name} is empty; give at least one value.")
    # A list inside the list is a tuple value (hidden=[[8], [16]]), as configs are read.
    values = [as_tuples(v) if isinstance(v, list) else v for v in values]
    return tuple(_value(f"{fn}: {name}[{i}]", v) for i, v in enumerate(values))


class Distribution:
    """What :func:`jaxfit.random_space` samples an axis from."""

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        raise NotImplementedError


class _Range(Distribution):
    """A distribution over ``[low, high]``; subclasses are dataclasses with these fields."""

    low: Any
    high: Any
    _integer: ClassVar[bool] = False

    def __post_init__(self) -> None:
        name = type(self).__name__
        kinds = (int, np.integer) if self._integer else (int, float, np.integer, np.floating)
        for arg in ("low", "high"):
            v = getattr(self, arg)
            if isinstance(v, bool) or not isinstance(v, kinds):
                need = "an int" if self._integer else "a real number"
                raise TypeError(f"{name}: {arg}={v!r} must be {need}; got {type(v).__name__}.")
            if not self._integer and not math.isfinite(v):
                raise ValueError(f"{name}: {arg}={v!r} must be finite.")
            object.__setattr__(self, arg, int(v) if self._integer else float(v))
        if self.low >= self.high:
            raise ValueError(f"{name}: low={self.low!r} must be < high={self.high!r}.")

    def to_dict(self) -> dict[str, list[Any]]:
        return {type(self).__name__: [self.low, self.high]}


@dataclasses.dataclass(frozen=True)
class uniform(_Range):  # lower case: it reads as a function, jaxfit.uniform(0.0, 1.0)
    """Real numbers drawn uniformly from ``[low, high]``; ``low < high``, both finite.

    Examples:
      >>> import jaxfit
      >>> space = jaxfit.random_space(8, momentum=jaxfit.uniform(0.8, 0.99))
      >>> all(0.8 <= p["momentum"] <= 0.99 for p in space)
      True
    """

    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        """Returns ``n`` Python floats."""
        return np.clip(rng.uniform(self.low, self.high, n), self.low, self.high).tolist()


@dataclasses.dataclass(frozen=True)
class loguniform(_Range):
    """Numbers whose log is uniform on ``[log(low), log(high)]``; ``0 < low < high``.

    The usual prior for learning rates and penalties, which span orders of magnitude.

    Examples:
      >>> import jaxfit
      >>> space = jaxfit.random_space(8, learning_rate=jaxfit.loguniform(1e-4, 1e-1))
      >>> all(1e-4 <= p["learning_rate"] <= 1e-1 for p in space)
      True
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.low <= 0:
            raise ValueError(
                f"loguniform: low={self.low!r}, but log-uniform ranges must be > 0; use "
                "jaxfit.uniform for a range that includes 0."
            )

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        """Returns ``n`` Python floats."""
        logs = rng.uniform(math.log(self.low), math.log(self.high), n)
        return np.clip(np.exp(logs), self.low, self.high).tolist()  # exp(log(x)) may miss x


@dataclasses.dataclass(frozen=True)
class integers(_Range):
    """Python ints drawn uniformly from ``low`` to ``high``, both included; ``low < high``.

    Examples:
      >>> import jaxfit
      >>> space = jaxfit.random_space(8, degree=jaxfit.integers(1, 3))
      >>> {p["degree"] for p in space} <= {1, 2, 3}
      True
    """

    low: int
    high: int
    _integer: ClassVar[bool] = True

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        """Returns ``n`` Python ints."""
        return rng.integers(self.low, self.high, size=n, endpoint=True).tolist()


@dataclasses.dataclass(frozen=True, repr=False)
class choice(Distribution):
    """One of ``values`` (a non-empty list), each equally likely; tuples stay tuples.

    A plain list given to :func:`jaxfit.random_space` means ``choice`` too.

    Examples:
      >>> import jaxfit
      >>> space = jaxfit.random_space(8, hidden=jaxfit.choice([(32,), (64, 64)]))
      >>> {p["hidden"] for p in space} <= {(32,), (64, 64)}
      True
    """

    values: Sequence[Any] | np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", candidates("choice", "values", self.values))

    def __repr__(self) -> str:
        return f"choice({list(self.values)!r})"

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        """Returns ``n`` of the values."""
        return [self.values[i] for i in rng.integers(0, len(self.values), size=n).tolist()]

    def to_dict(self) -> dict[str, list[Any]]:
        return {"choice": [plain_value(v) for v in self.values]}
