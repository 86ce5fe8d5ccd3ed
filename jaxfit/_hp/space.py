"""Search spaces: finite, deterministic lists of hyperparameter settings to train together."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import itertools
import math
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from .distributions import (
    Distribution,
    as_tuples,
    candidates,
    choice,
    integers,
    loguniform,
    plain_value,
    uniform,
)
from .hyperparams import is_hyperparams, numeric_fields, static_fields

__all__ = [
    "Space",
    "grid",
    "random_space",
    "space_from_dict",
    "zipped",
]

H = TypeVar("H")
_KINDS = ("grid", "zip", "random", "product", "concat")


@dataclasses.dataclass(frozen=True, repr=False)
class Space:
    """An immutable, finite, ordered list of points: dicts from field name to value.

    Build one with :func:`jaxfit.grid`, :func:`jaxfit.zipped`, :func:`jaxfit.random_space`
    or :func:`jaxfit.space_from_dict`, then compose: ``a * b`` pairs every point of ``a``
    with every point of ``b`` (their names must differ); ``a + b`` lists ``a``'s points,
    then ``b``'s (a point sets only the fields it names). The length is known before
    anything runs and every iteration gives the same points.

    Examples:
      >>> import jaxfit
      >>> space = jaxfit.grid(learning_rate=[0.1, 0.01]) * jaxfit.grid(hidden=[(32,), (64, 64)])
      >>> space
      grid(learning_rate=[2 values]) * grid(hidden=[2 values]) → 4 points
      >>> len(space), space.names
      (4, ('learning_rate', 'hidden'))
      >>> space.points()[1]
      {'learning_rate': 0.1, 'hidden': (64, 64)}
      >>> [hp.hidden for hp in space.apply(jaxfit.Hyperparams())]
      [(32,), (64, 64), (32,), (64, 64)]
    """

    _kind: str  # one of _KINDS
    _axes: tuple[tuple[str, Any], ...] = ()  # (name, values) or (name, distribution)
    _parts: tuple[Space, ...] = ()  # the operands of "product" and "concat"
    _n: int = 0  # the length of "zip" and "random"
    _seed: int = 0

    def __len__(self) -> int:
        if self._kind == "grid":
            return math.prod(len(values) for _, values in self._axes)
        if self._kind in ("zip", "random"):
            return self._n
        sizes = [len(p) for p in self._parts]
        return math.prod(sizes) if self._kind == "product" else sum(sizes)

    @property
    def names(self) -> tuple[str, ...]:
        """Every field name some point sets, in first-seen order."""
        if self._parts:
            return tuple(dict.fromkeys(n for p in self._parts for n in p.names))
        return tuple(name for name, _ in self._axes)

    def points(self) -> list[dict[str, Any]]:
        """Returns the points: a new list of new dicts of plain, JSON-friendly values."""
        return list(self)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names, columns = [n for n, _ in self._axes], [v for _, v in self._axes]
        if self._kind == "grid":
            rows: Iterator[tuple[Any, ...]] = itertools.product(*columns)
        elif self._kind == "zip":
            rows = zip(*columns, strict=True)
        elif self._kind == "random":  # one generator, axes in order: the seed fixes all
            rng = np.random.default_rng(self._seed)
            rows = zip(*(dist.sample(rng, self._n) for dist in columns), strict=True)
        elif self._kind == "product":
            for combo in itertools.product(*(p.points() for p in self._parts)):
                yield functools.reduce(operator.or_, combo, {})
            return
        else:
            for part in self._parts:
                yield from part
            return
        for row in rows:
            yield dict(zip(names, row, strict=True))

    def __mul__(self, other: object) -> Space:
        if not isinstance(other, Space):
            return NotImplemented
        shared = [n for n in self.names if n in other.names]
        if shared:
            raise ValueError(
                f"Cannot multiply spaces that share field(s) {shared}: each point would set "
                "them twice. Put each field in one factor, or use + to concatenate spaces."
            )
        return Space("product", _parts=self._operands("product") + other._operands("product"))

    def __add__(self, other: object) -> Space:
        if not isinstance(other, Space):
            return NotImplemented
        return Space("concat", _parts=self._operands("concat") + other._operands("concat"))

    def _operands(self, kind: str) -> tuple[Space, ...]:
        return self._parts if self._kind == kind else (self,)  # both operators associate

    def __repr__(self) -> str:
        return f"{self._describe()} → {_count(len(self), 'point')}"

    def _describe(self, in_product: bool = False) -> str:
        if self._kind in ("grid", "zip"):
            args = ", ".join(f"{n}=[{_count(len(v), 'value')}]" for n, v in self._axes)
            return f"{'grid' if self._kind == 'grid' else 'zipped'}({args})"
        if self._kind == "random":
            args = "".join(f", {n}={d!r}" for n, d in self._axes)
            return f"random_space({self._n}, seed={self._seed}{args})"
        op = " * " if self._kind == "product" else " + "
        text = op.join(p._describe(self._kind == "product") for p in self._parts)
        return f"({text})" if in_product and self._kind == "concat" else text

    def apply(self, base: H) -> list[H]:
        """Returns ``[base.replace(**point) for point in self]``, checking the names first.

        Args:
          base: a single (unbatched) ``@jaxfit.hyperparams`` instance; each point replaces
            the fields it names and keeps the others.

        Returns:
          One validated hyperparameter object per point, in order.

        Raises:
          TypeError: if ``base`` is not a single hyperparameter instance.
          ValueError: if the space names a field ``base`` lacks (suggesting the closest).
            An invalid value raises ``replace``'s error, prefixed with its point and axis.

        Examples:
          >>> import jaxfit
          >>> [hp.steps for hp in jaxfit.grid(steps=[10, 20]).apply(jaxfit.Hyperparams())]
          [10, 20]
        """
        self._check_names(base)
        hp: Any = base
        out = []
        for i, point in enumerate(self):
            try:
                out.append(hp.replace(**point))
            except (TypeError, ValueError) as e:
                for name, value in point.items():  # find the axis whose value alone fails
                    try:
                        hp.replace(**{name: value})
                    except (TypeError, ValueError) as bad:
                        raise _like(bad, f"Space.apply: point {i}, axis {name}: {bad}") from bad
                raise _like(e, f"Space.apply: point {i} {point}: {e}") from e
        return out

    def _check_names(self, base: Any) -> None:
        """Raises apply's errors for a batch or non-hyperparameter ``base`` or unknown names."""
        hp: Any = base
        if not is_hyperparams(hp):
            raise TypeError(
                "Space.apply: base must be an instance of a @jaxfit.hyperparams class, e.g. "
                f"jaxfit.Hyperparams(); got {type(hp).__name__}: {hp!r:.80}."
            )
        if hp.batch_shape:
            raise TypeError(
                f"Space.apply: base is a batch (batch_shape={hp.batch_shape}); pass one "
                "setting, e.g. batch[0]."
            )
        allowed = numeric_fields(hp) + static_fields(hp)
        unknown = [n for n in self.names if n not in allowed]
        if unknown:
            guesses = [difflib.get_close_matches(n, allowed, n=1) for n in unknown]
            named = ", ".join(
                repr(n) + (f" (did you mean {g[0]!r}?)" if g else "")
                for n, g in zip(unknown, guesses, strict=True)
            )
            raise ValueError(
                f"Space.apply: {type(hp).__name__} has no field {named}; allowed fields are "
                f"{sorted(allowed)}."
            )

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON/TOML-friendly description that :func:`jaxfit.space_from_dict` reads.

        Examples:
          >>> import jaxfit
          >>> jaxfit.grid(hidden=[(32,), (64, 64)]).to_dict()
          {'grid': {'hidden': [[32], [64, 64]]}}
        """
        if self._kind in ("grid", "zip"):
            return {self._kind: {n: [plain_value(v) for v in values] for n, values in self._axes}}
        if self._kind == "random":
            dists = {n: d.to_dict() for n, d in self._axes}
            return {"random": {"n": self._n, "seed": self._seed, **dists}}
        return {self._kind: [p.to_dict() for p in self._parts]}


def _like(error: Exception, message: str) -> Exception:
    return ValueError(message) if isinstance(error, ValueError) else TypeError(message)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _axes(fn: str, axes: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    if not axes:
        raise ValueError(f"{fn} needs at least one axis, e.g. {fn}(learning_rate=[0.1, 0.01]).")
    return tuple((name, candidates(fn, name, values)) for name, values in axes.items())


def grid(**axes: Any) -> Space:
    """The Cartesian product of the axes, ordered like ``itertools.product``.

    Args:
      **axes: field name to a non-empty list, range or numpy array of candidate values.
        A tuple is refused as ambiguous (a static value such as ``hidden`` may itself be
        a tuple): write ``hidden=[(64, 64)]``. Lists inside the list become tuples
        (``hidden=[[8], [16]]`` is ``hidden=[(8,), (16,)]``). Numpy scalars become Python
        scalars.

    Returns:
      A :class:`jaxfit.Space` of ``prod(len(values))`` points; the last axis varies fastest.

    Examples:
      >>> import jaxfit
      >>> jaxfit.grid(learning_rate=[0.1, 0.01], optimizer=["sgd", "adam"]).points()[:2]
      [{'learning_rate': 0.1, 'optimizer': 'sgd'}, {'learning_rate': 0.1, 'optimizer': 'adam'}]
    """
    return Space("grid", _axes("grid", axes))


def zipped(**axes: Any) -> Space:
    """Axes that move together: point ``i`` takes value ``i`` of every axis.

    Args:
      **axes: field name to a list, range or numpy array; all of one non-zero length.

    Returns:
      A :class:`jaxfit.Space` with as many points as each axis has values.

    Examples:
      >>> import jaxfit
      >>> jaxfit.zipped(learning_rate=[0.1, 0.01], steps=[100, 1000]).points()
      [{'learning_rate': 0.1, 'steps': 100}, {'learning_rate': 0.01, 'steps': 1000}]
    """
    checked = _axes("zipped", axes)
    if len({len(values) for _, values in checked}) > 1:
        lengths = ", ".join(f"{n}: {len(values)}" for n, values in checked)
        raise ValueError(f"zipped: all axes must have the same length; got {lengths}.")
    return Space("zip", checked, _n=len(checked[0][1]))


def _int_arg(arg: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"random_space: {arg}={value!r:.60} must be an int >= {minimum}.")
    if value < minimum:
        raise ValueError(f"random_space: {arg}={value!r} must be >= {minimum}.")
    return int(value)


def random_space(n: int, *, seed: int = 0, **distributions: Any) -> Space:
    """``n`` points sampled independently, the same ones every time for one ``seed``.

    One ``numpy.random.default_rng(seed)`` samples the axes in the order given, all ``n``
    values of an axis at a time. (Fields named ``n`` or ``seed`` cannot be sampled here.)

    Args:
      n: the number of points (``>= 1``).
      seed: the generator's seed (``>= 0``).
      **distributions: field name to :class:`jaxfit.uniform`, :class:`jaxfit.loguniform`,
        :class:`jaxfit.integers`, :class:`jaxfit.choice`, or a list (a choice; lists in it
        become tuples, as in :func:`jaxfit.grid`).

    Returns:
      A :class:`jaxfit.Space` of ``n`` points.

    Examples:
      >>> import jaxfit
      >>> space = jaxfit.random_space(
      ...     10, seed=1, learning_rate=jaxfit.loguniform(1e-4, 1e-1), optimizer=["sgd", "adam"]
      ... )
      >>> len(space), space.points() == space.points()
      (10, True)
    """
    n, seed = _int_arg("n", n, 1), _int_arg("seed", seed, 0)
    if not distributions:
        raise ValueError("random_space needs at least one axis, e.g. optimizer=['sgd', 'adam'].")
    dists = []
    for name, d in distributions.items():
        if isinstance(d, list | range | np.ndarray):
            d = choice(d)
        if not isinstance(d, Distribution):
            kind = "a tuple, which is ambiguous" if isinstance(d, tuple) else "not a distribution"
            raise TypeError(
                f"random_space: {name}={d!r:.60} is {kind}; use jaxfit.uniform(low, high), "
                "jaxfit.loguniform(low, high), jaxfit.integers(low, high), or a list of values "
                "to choose from."
            )
        dists.append((name, d))
    return Space("random", tuple(dists), _n=n, _seed=seed)


_DISTRIBUTIONS = {"uniform": uniform, "loguniform": loguniform, "integers": integers}


def _one_key(where: str, d: Any, allowed: Sequence[str]) -> tuple[str, Any]:
    if not isinstance(d, Mapping):
        raise TypeError(
            f"{where} must be a dict with one of the keys {list(allowed)}; got {d!r:.60}."
        )
    unknown = [k for k in d if k not in allowed]
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed keys are {list(allowed)}.")
    if len(d) != 1:
        raise ValueError(f"{where} must have exactly one key of {list(allowed)}; got {list(d)}.")
    return next(iter(d.items()))


def _fields(where: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise TypeError(f"{where} must be a dict from field names; got {body!r:.60}.")
    return {k: [as_tuples(v) for v in a] if isinstance(a, list) else a for k, a in body.items()}


def _distribution(name: str, d: Any) -> Any:
    if not isinstance(d, Mapping):
        return d  # a list (choice), or something random_space explains
    kind, args = _one_key(f"space_from_dict: {name}", d, ("choice", *_DISTRIBUTIONS))
    if kind == "choice":
        return choice([as_tuples(v) for v in args] if isinstance(args, list) else args)
    if not isinstance(args, list | tuple) or len(args) != 2:
        raise ValueError(f"space_from_dict: {name}: {kind} takes [low, high]; got {args!r:.60}.")
    return _DISTRIBUTIONS[kind](*args)


def space_from_dict(d: Mapping[str, Any]) -> Space:
    """Builds the space that a description from :meth:`jaxfit.Space.to_dict` describes.

    A description has one key: ``{"grid": {name: [values]}}``, ``{"zip": {...}}``,
    ``{"random": {"n": 10, "seed": 0, name: {"loguniform": [low, high]}}}`` (also
    ``"uniform"``, ``"integers"``, ``"choice": [values]``, or a plain list),
    ``{"product": [d1, d2]}`` or ``{"concat": [d1, d2]}``. Lists inside values become
    tuples, since JSON and TOML write tuples as lists.

    Args:
      d: the description, e.g. read from JSON or TOML.

    Returns:
      The :class:`jaxfit.Space`; ``space_from_dict(s.to_dict())`` has the points of ``s``.

    Raises:
      ValueError: for unknown keys (naming them and the allowed keys) or bad values.
      TypeError: for a part of the wrong type.

    Examples:
      >>> import jaxfit
      >>> jaxfit.space_from_dict({"grid": {"hidden": [[32], [64, 64]]}}).points()
      [{'hidden': (32,)}, {'hidden': (64, 64)}]
    """
    kind, body = _one_key("space_from_dict", d, _KINDS)
    if kind in ("grid", "zip"):
        axes = _fields(f"space_from_dict: {kind}", body)
        return grid(**axes) if kind == "grid" else zipped(**axes)
    if kind == "random":
        fields = _fields("space_from_dict: random", body)
        if "n" not in fields:
            raise ValueError('space_from_dict: "random" needs "n", the number of points.')
        n, seed = fields.pop("n"), fields.pop("seed", 0)
        return random_space(n, seed=seed, **{k: _distribution(k, v) for k, v in fields.items()})
    if not isinstance(body, list) or not body:
        raise ValueError(f"space_from_dict: {kind} takes a non-empty list; got {body!r:.60}.")
    parts = [space_from_dict(part) for part in body]
    return functools.reduce(operator.mul if kind == "product" else operator.add, parts)
