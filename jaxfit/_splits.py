"""Cross-validation splitters with scikit-learn's semantics, returning fixed-shape folds."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._folds import Folds, _count, _few, folds_from_indices

__all__ = [
    "Folds",
    "GroupKFold",
    "KFold",
    "ShuffleSplit",
    "StratifiedKFold",
    "TimeSeriesSplit",
    "as_folds",
    "folds_from_indices",
]


@dataclasses.dataclass(frozen=True)
class KFold:
    """K-fold cross-validation: ``n_splits`` contiguous test folds, each tested once.

    As :class:`sklearn.model_selection.KFold`: the first ``n % n_splits`` folds have
    ``n // n_splits + 1`` samples, the others ``n // n_splits``. Without shuffling the
    folds equal scikit-learn's exactly. With ``shuffle=True`` the samples are permuted
    first, by ``np.random.default_rng(seed)`` rather than scikit-learn's ``RandomState``,
    so the folds differ from scikit-learn's for the same seed; to reproduce those, pass
    scikit-learn's splitter (or its splits) to :func:`jaxfit.as_folds`.

    Args:
      n_splits: the number of folds, at least 2.
      shuffle: whether to permute the samples before cutting them into folds.
      seed: the seed of the permutation (``None``: fresh randomness on every ``split``);
        only allowed with ``shuffle=True``.

    Raises:
      TypeError: for a non-int ``n_splits`` or ``seed`` or a non-bool ``shuffle``.
      ValueError: for ``n_splits < 2``, a negative seed, or a seed without shuffling.

    Examples:
      >>> import numpy as np, jaxfit
      >>> jaxfit.KFold(3).split(np.zeros(7))
      Folds(n_folds=3, n_samples=7, test_sizes=[3, 2, 2])
      >>> jaxfit.KFold(3, shuffle=True, seed=0).split(np.zeros(7)).indices()[0][1]
      array([1, 4, 6])
    """

    n_splits: int = 5
    _: dataclasses.KW_ONLY
    shuffle: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        _check_kfold(self)

    def split(self, x: Any, y: Any = None, groups: Any = None) -> Folds:
        """Returns the folds of ``len(x)`` samples; ``y`` and ``groups`` are ignored.

        Raises:
          ValueError: if ``x`` has fewer samples than ``n_splits``.

        Examples:
          >>> import numpy as np, jaxfit
          >>> jaxfit.KFold(2).split(np.zeros((4, 3))).test.tolist()
          [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]
        """
        del y, groups
        n = _n_samples(x, self)
        order = _rng(self).permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[: n % self.n_splits] += 1
        fold_of = np.empty(n, np.intp)
        fold_of[order] = np.repeat(np.arange(self.n_splits), sizes)
        return _from_fold_ids(fold_of, self.n_splits)


@dataclasses.dataclass(frozen=True)
class StratifiedKFold:
    """K-fold cross-validation that keeps every class's share in every fold.

    The allocation is scikit-learn's (:class:`sklearn.model_selection.StratifiedKFold`):
    classes are numbered by first appearance, class ``c``'s count in fold ``f`` comes from
    dealing the sorted labels round-robin to the folds, so per-class counts, and fold
    sizes, differ by at most one across folds, and each class's samples are assigned to
    folds in order, in blocks. Without shuffling the folds equal scikit-learn's exactly.
    With ``shuffle=True`` each class's fold assignment is permuted, by
    ``np.random.default_rng(seed)``: not scikit-learn's permutation for the same seed.

    Unlike scikit-learn, which only warns, a class with fewer than ``n_splits`` members
    is refused: some test fold would lack that class and score a different problem.

    Args:
      n_splits: the number of folds, at least 2.
      shuffle: whether to permute each class's samples across the folds.
      seed: the seed of the permutation (``None``: fresh randomness on every ``split``);
        only allowed with ``shuffle=True``.

    Raises:
      TypeError: for a non-int ``n_splits`` or ``seed`` or a non-bool ``shuffle``.
      ValueError: for ``n_splits < 2``, a negative seed, or a seed without shuffling.

    Examples:
      >>> import numpy as np, jaxfit
      >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
      >>> folds = jaxfit.StratifiedKFold(2).split(np.zeros(10), y)
      >>> [y[test].tolist() for _, test in folds.indices()]
      [[0, 0, 1, 1, 1], [0, 0, 1, 1, 1]]
    """

    n_splits: int = 5
    _: dataclasses.KW_ONLY
    shuffle: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        _check_kfold(self)

    def split(self, x: Any, y: Any = None, groups: Any = None) -> Folds:
        """Returns the folds of ``len(x)`` samples stratified by the class labels ``y``.

        Raises:
          TypeError: if ``y`` is not numeric.
          ValueError: if ``y`` is missing, has the wrong shape or non-integer values,
            ``x`` has fewer samples than ``n_splits``, or a class has fewer members.

        Examples:
          >>> import numpy as np, jaxfit
          >>> jaxfit.StratifiedKFold(2).split(np.zeros(4), [1, 1, 0, 0]).test.tolist()
          [[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
        """
        del groups
        n = _n_samples(x, self)
        where = f"{type(self).__name__}.split"
        if y is None:
            raise ValueError(f"{where} needs y, the integer class labels to stratify by.")
        labels = _class_labels(y, n, where)
        _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
        # Number classes by first appearance, as scikit-learn does: the allocation below
        # depends on that order, and it makes the folds independent of the label values.
        encoded = np.argsort(np.argsort(first))[inverse]
        counts = np.bincount(encoded)
        rare = np.flatnonzero(counts < self.n_splits)
        if rare.size:
            names = labels[np.sort(first)[rare]]
            raise ValueError(
                f"{where}: class {names[0].item()!r} has only {counts[rare[0]]} member(s), "
                f"fewer than n_splits={self.n_splits} (classes with too few: "
                f"{_few(names)}), so some test fold would lack it. Use fewer splits, merge "
                "rare classes, or KFold. (scikit-learn only warns here; jaxfit refuses.)"
            )
        dealt = np.sort(encoded)  # deal the sorted labels round-robin to the folds
        allocation = np.stack(
            [
                np.bincount(dealt[f :: self.n_splits], minlength=counts.size)
                for f in range(self.n_splits)
            ]
        )
        rng = _rng(self)
        fold_of = np.empty(n, np.intp)
        for c in range(counts.size):
            class_folds = np.repeat(np.arange(self.n_splits), allocation[:, c])
            if self.shuffle:
                rng.shuffle(class_folds)
            fold_of[encoded == c] = class_folds
        return _from_fold_ids(fold_of, self.n_splits)


@dataclasses.dataclass(frozen=True)
class GroupKFold:
    """K-fold cross-validation in which no group straddles a fold's train and test sets.

    As :class:`sklearn.model_selection.GroupKFold`: without shuffling, groups go largest
    first (ties: the later-sorted group first) into the test fold with the fewest samples
    so far (ties: the first such fold), and the folds equal scikit-learn's exactly. With
    ``shuffle=True`` the distinct groups are permuted and cut into ``n_splits`` nearly
    equal runs of groups, like scikit-learn's but by ``np.random.default_rng(seed)``:
    not scikit-learn's permutation for the same seed.

    Args:
      n_splits: the number of folds, at least 2 and at most the number of distinct groups.
      shuffle: whether to permute the groups instead of balancing fold sizes.
      seed: the seed of the permutation (``None``: fresh randomness on every ``split``);
        only allowed with ``shuffle=True``.

    Raises:
      TypeError: for a non-int ``n_splits`` or ``seed`` or a non-bool ``shuffle``.
      ValueError: for ``n_splits < 2``, a negative seed, or a seed without shuffling.

    Examples:
      >>> import numpy as np, jaxfit
      >>> groups = np.array([0, 0, 2, 2, 3, 3])
      >>> folds = jaxfit.GroupKFold(2).split(np.zeros(6), groups=groups)
      >>> [groups[test].tolist() for _, test in folds.indices()]
      [[0, 0, 3, 3], [2, 2]]
    """

    n_splits: int = 5
    _: dataclasses.KW_ONLY
    shuffle: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        _check_kfold(self)

    def split(self, x: Any, y: Any = None, groups: Any = None) -> Folds:
        """Returns the folds of ``len(x)`` samples, keeping each group in one test fold.

        Raises:
          ValueError: if ``groups`` is missing, not 1-D of length ``len(x)``, or has fewer
            distinct values than ``n_splits``.

        Examples:
          >>> import numpy as np, jaxfit
          >>> jaxfit.GroupKFold(2).split(np.zeros(3), groups=["a", "b", "b"]).test.tolist()
          [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
        """
        del y
        n = _n_samples(x, self)
        where = f"{type(self).__name__}.split"
        if groups is None:
            raise ValueError(f"{where} needs groups=, one group label per sample.")
        g = np.asarray(groups)
        if g.ndim != 1 or g.shape[0] != n:
            raise ValueError(
                f"{where}: groups must have shape ({n},), one label per sample of x; "
                f"got shape {g.shape}."
            )
        try:
            unique, group_of = np.unique(g, return_inverse=True)
        except TypeError as e:
            raise TypeError(f"{where}: groups must be sortable labels: {e}") from None
        if unique.size < self.n_splits:
            raise ValueError(
                f"{where}: n_splits={self.n_splits} is more than the {unique.size} distinct "
                f"groups; use at most {unique.size} folds, or KFold."
            )
        fold_of_group = np.empty(unique.size, np.intp)
        if self.shuffle:
            runs = np.array_split(_rng(self).permutation(unique.size), self.n_splits)
            for f, run in enumerate(runs):
                fold_of_group[run] = f
        else:
            sizes = np.bincount(group_of)
            load = np.zeros(self.n_splits, np.int64)
            for group in np.argsort(sizes, kind="stable")[::-1]:
                lightest = int(np.argmin(load))
                load[lightest] += sizes[group]
                fold_of_group[group] = lightest
        return _from_fold_ids(fold_of_group[group_of], self.n_splits)


@dataclasses.dataclass(frozen=True)
class ShuffleSplit:
    """Random train/test splits, drawn independently: ``n_splits`` random permutations.

    As :class:`sklearn.model_selection.ShuffleSplit`: a float ``test_size`` is a fraction
    rounded up (``ceil(test_size * n)``), a float ``train_size`` a fraction rounded down;
    an int is a count. With neither given the test set is 10%; with one given, the other
    is the rest. Samples may be in several test sets, or (when the sizes sum to less than
    ``n``) in neither set of a split. The permutations come from
    ``np.random.default_rng(seed)``: not scikit-learn's for the same seed.

    Args:
      n_splits: the number of splits, at least 1.
      test_size: a fraction in (0, 1), a count in [1, n), or ``None``.
      train_size: a fraction in (0, 1), a count in [1, n), or ``None``.
      seed: the seed of the permutations (``None``: fresh randomness on every ``split``).

    Raises:
      TypeError: for a size that is not an int, float or None, or a non-int seed.
      ValueError: for a size out of range, fractions summing past 1, or ``n_splits < 1``.

    Examples:
      >>> import numpy as np, jaxfit
      >>> folds = jaxfit.ShuffleSplit(3, test_size=0.25, seed=0).split(np.zeros(10))
      >>> folds
      Folds(n_folds=3, n_samples=10, test_sizes=[3, 3, 3])
      >>> folds.train.sum(axis=1).tolist()
      [7.0, 7.0, 7.0]
    """

    n_splits: int = 10
    _: dataclasses.KW_ONLY
    test_size: float | int | None = None
    train_size: float | int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "n_splits", _count(self.n_splits, "n_splits", where="ShuffleSplit")
        )
        object.__setattr__(self, "seed", _seed(self.seed, "ShuffleSplit"))
        for name in ("test_size", "train_size"):
            size = getattr(self, name)
            if size is None:
                continue
            if isinstance(size, bool) or not isinstance(size, numbers.Real):
                raise TypeError(
                    f"ShuffleSplit: {name} must be a float fraction, an int count or None; "
                    f"got {type(size).__name__} {size!r}."
                )
            if isinstance(size, numbers.Integral) and size < 1:
                raise ValueError(f"ShuffleSplit: {name}={size} must be a count >= 1.")
            if not isinstance(size, numbers.Integral) and not 0 < size < 1:
                raise ValueError(f"ShuffleSplit: {name}={size} must be a fraction in (0, 1).")
        fractions = [s for s in (self.test_size, self.train_size) if _is_fraction(s)]
        if len(fractions) == 2 and sum(fractions) > 1:
            raise ValueError(
                f"ShuffleSplit: test_size + train_size = {sum(fractions)} exceeds 1; reduce "
                "one of them."
            )

    def split(self, x: Any, y: Any = None, groups: Any = None) -> Folds:
        """Returns ``n_splits`` random splits of ``len(x)`` samples.

        Raises:
          ValueError: if a count is not below ``len(x)``, the sizes exceed ``len(x)``, or
            the training set would be empty.

        Examples:
          >>> import numpy as np, jaxfit
          >>> jaxfit.ShuffleSplit(2, test_size=1, train_size=2, seed=0).split(np.zeros(4))
          Folds(n_folds=2, n_samples=4, test_sizes=[1, 1])
        """
        del y, groups
        n = _n_samples(x, self, check_folds=False)
        test_size = 0.1 if self.test_size is None and self.train_size is None else self.test_size
        counts = {}
        for name, size, rounding in (
            ("test_size", test_size, math.ceil),
            ("train_size", self.train_size, math.floor),
        ):
            if size is not None and not _is_fraction(size) and size >= n:
                raise ValueError(
                    f"ShuffleSplit: {name}={size} must be less than the {n} samples of x."
                )
            counts[name] = (
                None if size is None else rounding(size * n) if _is_fraction(size) else int(size)
            )
        n_test = (
            counts["test_size"] if counts["test_size"] is not None else n - counts["train_size"]
        )
        n_train = counts["train_size"] if counts["train_size"] is not None else n - n_test
        if n_train + n_test > n:
            raise ValueError(
                f"ShuffleSplit: train ({n_train}) and test ({n_test}) samples exceed the {n} "
                "samples of x; reduce test_size or train_size."
            )
        if n_train == 0:
            raise ValueError(
                f"ShuffleSplit: with {n} samples, test_size={self.test_size} and "
                f"train_size={self.train_size}, the training set is empty; adjust them."
            )
        rng = _rng(self)
        pairs = []
        for _ in range(self.n_splits):
            perm = rng.permutation(n)
            pairs.append((perm[n_test : n_test + n_train], perm[:n_test]))
        return _from_pairs(pairs, n)


@dataclasses.dataclass(frozen=True)
class TimeSeriesSplit:
    """Forward-chaining splits of time-ordered samples: train on the past, test on the next.

    As :class:`sklearn.model_selection.TimeSeriesSplit`, and equal to its folds exactly:
    the last ``n_splits * test_size`` samples form ``n_splits`` consecutive test sets
    (``test_size`` defaults to ``n // (n_splits + 1)``); each trains on every sample before
    its test set except the last ``gap`` ones, or only the latest ``max_train_size``.
    Samples before the first test set are never tested.

    Args:
      n_splits: the number of splits, at least 2.
      test_size: the samples in each test set (``None``: ``n // (n_splits + 1)``).
      gap: the samples left out between each training set and its test set.
      max_train_size: the most training samples per split (``None``: no limit).

    Raises:
      TypeError: for a non-int argument.
      ValueError: for ``n_splits < 2``, ``test_size < 1``, ``gap < 0`` or
        ``max_train_size < 1``.

    Examples:
      >>> import numpy as np, jaxfit
      >>> folds = jaxfit.TimeSeriesSplit(3, test_size=2, gap=1).split(np.zeros(10))
      >>> [(tr.tolist(), te.tolist()) for tr, te in folds.indices()]
      [([0, 1, 2], [4, 5]), ([0, 1, 2, 3, 4], [6, 7]), ([0, 1, 2, 3, 4, 5, 6], [8, 9])]
    """

    n_splits: int = 5
    _: dataclasses.KW_ONLY
    test_size: int | None = None
    gap: int = 0
    max_train_size: int | None = None

    def __post_init__(self) -> None:
        where = "TimeSeriesSplit"
        object.__setattr__(
            self, "n_splits", _count(self.n_splits, "n_splits", minimum=2, where=where)
        )
        object.__setattr__(self, "gap", _count(self.gap, "gap", minimum=0, where=where))
        for name in ("test_size", "max_train_size"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _count(getattr(self, name), name, where=where))

    def split(self, x: Any, y: Any = None, groups: Any = None) -> Folds:
        """Returns the ``n_splits`` forward-chaining splits of ``len(x)`` samples.

        Raises:
          ValueError: if ``len(x)`` is below ``n_splits + 1``, or too small for
            ``n_splits`` test sets of ``test_size`` plus ``gap`` and one training sample.

        Examples:
          >>> import numpy as np, jaxfit
          >>> jaxfit.TimeSeriesSplit(2).split(np.zeros(3)).train.tolist()
          [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
        """
        del y, groups
        n = _n_samples(x, self, check_folds=False)
        if self.n_splits + 1 > n:
            raise ValueError(
                f"TimeSeriesSplit: n_splits={self.n_splits} needs at least n_splits + 1 = "
                f"{self.n_splits + 1} samples; x has {n}."
            )
        size = self.test_size if self.test_size is not None else n // (self.n_splits + 1)
        if n - self.gap - size * self.n_splits <= 0:
            raise ValueError(
                f"TimeSeriesSplit: {self.n_splits} test sets of test_size={size} plus "
                f"gap={self.gap} leave no training sample among the {n} samples of x; "
                "reduce n_splits, test_size or gap."
            )
        pairs = []
        for start in range(n - self.n_splits * size, n, size):
            end = start - self.gap
            begin = max(0, end - self.max_train_size) if self.max_train_size else 0
            pairs.append((np.arange(begin, end), np.arange(start, start + size)))
        return _from_pairs(pairs, n)


_SPLITTERS = (KFold, StratifiedKFold, GroupKFold, ShuffleSplit, TimeSeriesSplit)


def as_folds(
    cv: Any, x: Any, y: Any = None, groups: Any = None, *, classifier: bool = False
) -> Folds:
    """Turns any cross-validation description into :class:`jaxfit.Folds` for ``x``.

    Like scikit-learn's ``check_cv`` followed by ``split``: an int ``k`` means
    ``KFold(k)``, or ``StratifiedKFold(k)`` when ``classifier=True`` and ``y`` holds
    integer class labels (with a continuous ``y`` a classifier also gets ``KFold``).

    Args:
      cv: an int number of folds; a jaxfit splitter (:class:`jaxfit.KFold`, ...); a
        :class:`jaxfit.Folds` for ``len(x)`` samples; a list of ``(train_idx, test_idx)``
        pairs (or an iterator of them, such as ``splitter.split(X, y)``); or any object
        with a ``split(X, y, groups)`` method yielding such pairs, such as a scikit-learn
        splitter, whose folds are then reproduced exactly.
      x: the inputs; only their number of samples (``len(x)``) matters to most splitters.
      y: the targets, for stratification.
      groups: one group label per sample, for group splitters.
      classifier: whether an int ``cv`` should stratify by integer labels ``y``.

    Returns:
      The folds, with ``n_samples == len(x)``.

    Raises:
      TypeError: for any other ``cv``, such as None, a bool or a splitter class.
      ValueError: for folds of another length than ``x``, or as the splitter raises.

    Examples:
      >>> import numpy as np, jaxfit
      >>> from sklearn.model_selection import GroupShuffleSplit
      >>> x, y = np.zeros((6, 2)), np.array([0, 1, 0, 1, 0, 1])
      >>> jaxfit.as_folds(3, x, y, classifier=True)
      Folds(n_folds=3, n_samples=6, test_sizes=[2, 2, 2])
      >>> gss = GroupShuffleSplit(2, test_size=1, random_state=0)
      >>> jaxfit.as_folds(gss, x, groups=[0, 0, 1, 1, 2, 2]).test.tolist()[0]
      [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    """
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if classifier and y is not None and _is_class_labels(y):
            return StratifiedKFold(int(cv)).split(x, y)
        return KFold(int(cv)).split(x)
    if isinstance(cv, _SPLITTERS):
        return cv.split(x, y, groups)
    if isinstance(cv, Folds):
        return _same_length(cv, x, "cv")
    if isinstance(cv, list | tuple | Iterator):
        return folds_from_indices(cv, _n_samples(x), arg="cv")
    split = getattr(cv, "split", None)
    if callable(split) and not isinstance(cv, type):
        y_host = None if y is None else np.asarray(y)
        g_host = None if groups is None else np.asarray(groups)
        out = split(x, y_host, g_host)
        name = f"{type(cv).__name__}.split"
        if isinstance(out, Folds):
            return _same_length(out, x, name)
        return folds_from_indices(list(out), _n_samples(x), arg=name)
    raise TypeError(
        "as_folds: cv must be an int number of folds, a jaxfit splitter (KFold, "
        "StratifiedKFold, GroupKFold, ShuffleSplit, TimeSeriesSplit), a jaxfit.Folds, a list "
        "of (train_idx, test_idx) pairs, or an object with a split(X, y, groups) method such "
        "as a scikit-learn splitter instance; got "
        + (
            f"the class {cv.__name__}; instantiate it, e.g. {cv.__name__}(5)."
            if isinstance(cv, type)
            else f"{type(cv).__name__} {cv!r:.60}."
        )
    )


def _check_kfold(splitter: Any) -> None:
    name = type(splitter).__name__
    object.__setattr__(
        splitter, "n_splits", _count(splitter.n_splits, "n_splits", minimum=2, where=name)
    )
    if not isinstance(splitter.shuffle, bool | np.bool_):
        raise TypeError(f"{name}: shuffle must be True or False; got {splitter.shuffle!r}.")
    object.__setattr__(splitter, "shuffle", bool(splitter.shuffle))
    object.__setattr__(splitter, "seed", _seed(splitter.seed, name))
    if splitter.seed is not None and not splitter.shuffle:
        raise ValueError(
            f"{name}: seed={splitter.seed} has no effect with shuffle=False; pass "
            "shuffle=True, or leave seed=None."
        )


def _seed(seed: Any, where: str) -> int | None:
    return None if seed is None else _count(seed, "seed", minimum=0, where=where)


def _rng(splitter: Any) -> np.random.Generator:
    return np.random.default_rng(splitter.seed)


def _n_samples(x: Any, splitter: Any = None, *, check_folds: bool = True) -> int:
    where = f"{type(splitter).__name__}.split" if splitter is not None else "as_folds"
    shape = np.shape(x)  # reads .shape without copying arrays (JAX's included) to the host
    if not shape:
        raise ValueError(f"{where}: x must have a leading sample axis; got a scalar.")
    n = shape[0]
    if check_folds and splitter is not None and splitter.n_splits > n:
        raise ValueError(
            f"{where}: n_splits={splitter.n_splits} is more than the {n} samples of x; "
            f"use at most {n} folds."
        )
    return n


def _same_length(folds: Folds, x: Any, where: str) -> Folds:
    n = _n_samples(x)
    if folds.n_samples != n:
        raise ValueError(
            f"as_folds: {where} has folds of {folds.n_samples} samples, but x has {n}; build "
            "the folds for this x."
        )
    return folds


def _class_labels(y: Any, n: int, where: str) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(
            f"{where}: y must be class labels of shape ({n},), one per sample of x; got "
            f"shape {labels.shape}"
            + (" (for one-hot y pass y.argmax(axis=1))." if labels.ndim == 2 else ".")
        )
    if not (np.issubdtype(labels.dtype, np.number) or labels.dtype == np.bool_):
        raise TypeError(
            f"{where}: y must hold integer class labels; got dtype {labels.dtype}. Encode "
            "them first, e.g. np.unique(y, return_inverse=True)[1]."
        )
    bad = ~_integral(labels)
    if bad.any():
        raise ValueError(
            f"{where}: y must hold integer class labels; got non-integer value "
            f"{labels[bad][0].item()!r}. For a continuous target use KFold."
        )
    return labels


def _is_class_labels(y: Any) -> bool:
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    numeric = np.issubdtype(labels.dtype, np.number) or labels.dtype == np.bool_
    return labels.ndim == 1 and numeric and bool(_integral(labels).all())


def _integral(values: np.ndarray) -> np.ndarray:
    if np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_:
        return np.ones(values.shape, bool)
    if np.issubdtype(values.dtype, np.complexfloating):
        return np.zeros(values.shape, bool)
    return np.isfinite(values) & (values == np.round(values))


def _is_fraction(size: Any) -> bool:
    return size is not None and not isinstance(size, numbers.Integral)


def _from_fold_ids(fold_of: np.ndarray, n_folds: int) -> Folds:
    test = fold_of[None, :] == np.arange(n_folds)[:, None]
    return Folds(~test, test)


def _from_pairs(pairs: list[tuple[np.ndarray, np.ndarray]], n: int) -> Folds:
    train = np.zeros((len(pairs), n), np.float32)
    test = np.zeros((len(pairs), n), np.float32)
    for f, (tr, te) in enumerate(pairs):
        train[f, tr] = 1.0
        test[f, te] = 1.0
    return Folds(train, test)
