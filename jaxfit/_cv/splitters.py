"""Cross-validation splitters with scikit-learn's semantics, returning fixed-shape folds.

Every splitter is a frozen dataclass whose ``split(x, y=None, groups=None)`` returns a
:class:`jaxfit.Folds`; :func:`jaxfit.as_folds` accepts any of them, explicit indices or a
scikit-learn splitter. The k-fold splitters live in ``_kfold.py``, ``Folds`` in
``_folds.py``; this module is the one to import them from.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from .folds import (
    Folds,
    check_count,
    check_seed,
    folds_from_indices,
    folds_from_pairs,
    is_class_labels,
    n_samples_of,
)
from .kfold import GroupKFold, KFold, StratifiedKFold

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
class ShuffleSplit:
    """Random train/test splits, drawn independently: ``n_splits`` random permutations.

    As :class:`sklearn.model_selection.ShuffleSplit`: a float size is a fraction of the
    ``n`` samples, rounded up for ``test_size`` (``ceil(test_size * n)``) and down for
    ``train_size``; an int size is a count. With neither given the test set is 10% (as
    scikit-learn's ``test_size=None`` default); with one given, the other set is the rest.
    A sample may be in several test sets, or, when the sizes sum to less than ``n``, in
    neither set of a split. The permutations come from ``np.random.default_rng(seed)``:
    not scikit-learn's for the same seed.

    Args:
      n_splits: the number of splits, at least 1.
      test_size: a fraction in (0, 1), a count in [1, n), or ``None``.
      train_size: a fraction in (0, 1), a count in [1, n), or ``None``.
      seed: the seed of the permutations (``None``: fresh randomness on every ``split``).

    Raises:
      TypeError: for a size that is not an int, a float or None, or a non-int seed.
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
            self, "n_splits", check_count(self.n_splits, "n_splits", where="ShuffleSplit")
        )
        object.__setattr__(self, "seed", check_seed(self.seed, "ShuffleSplit"))
        for name in ("test_size", "train_size"):
            object.__setattr__(self, name, _size(getattr(self, name), name))
        test, train = self.test_size, self.train_size
        if isinstance(test, float) and isinstance(train, float) and test + train > 1:
            raise ValueError(
                f"ShuffleSplit: test_size + train_size = {test + train} exceeds 1; reduce one "
                "of them."
            )

    def split(self, x: Any, y: Any = None, groups: Any = None) -> Folds:
        """Returns ``n_splits`` random splits of ``len(x)`` samples.

        Raises:
          ValueError: if a count is not below ``len(x)``, the two sets exceed ``len(x)``,
            or the training set would be empty.

        Examples:
          >>> import numpy as np, jaxfit
          >>> jaxfit.ShuffleSplit(2, test_size=1, train_size=2, seed=0).split(np.zeros(4))
          Folds(n_folds=2, n_samples=4, test_sizes=[1, 1])
        """
        del y, groups
        n = n_samples_of(x, self, check_folds=False)
        test, train = self.test_size, self.train_size
        if test is None and train is None:
            test = 0.1
        for name, size in (("test_size", test), ("train_size", train)):
            if isinstance(size, int) and size >= n:
                raise ValueError(
                    f"ShuffleSplit: {name}={size} must be less than the {n} samples of x."
                )
        n_test = math.ceil(test * n) if isinstance(test, float) else test
        n_train = math.floor(train * n) if isinstance(train, float) else train
        if n_train is None:
            n_train = n - (n_test or 0)
        if n_test is None:
            n_test = n - n_train
        if n_train + n_test > n:
            raise ValueError(
                f"ShuffleSplit: {n_train} train and {n_test} test samples exceed the {n} "
                "samples of x; reduce test_size or train_size."
            )
        if n_train == 0:
            raise ValueError(
                f"ShuffleSplit: with {n} samples, test_size={self.test_size} and "
                f"train_size={self.train_size} leave the training set empty; adjust them."
            )
        rng = np.random.default_rng(self.seed)
        pairs = []
        for _ in range(self.n_splits):
            perm = rng.permutation(n)  # as scikit-learn: test first, then train
            pairs.append((perm[n_test : n_test + n_train], perm[:n_test]))
        return folds_from_pairs(pairs, n)


@dataclasses.dataclass(frozen=True)
class TimeSeriesSplit:
    """Forward-chaining splits of time-ordered samples: train on the past, test on the next.

    As :class:`sklearn.model_selection.TimeSeriesSplit`, and equal to its splits exactly:
    the last ``n_splits * test_size`` samples form ``n_splits`` consecutive test sets
    (``test_size`` defaults to ``n // (n_splits + 1)``); each split trains on the samples
    before its test set except the last ``gap`` of them, and on at most the latest
    ``max_train_size``. Samples before the first test set are never tested.

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
            self, "n_splits", check_count(self.n_splits, "n_splits", minimum=2, where=where)
        )
        object.__setattr__(self, "gap", check_count(self.gap, "gap", minimum=0, where=where))
        for name in ("test_size", "max_train_size"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_count(getattr(self, name), name, where=where))

    def split(self, x: Any, y: Any = None, groups: Any = None) -> Folds:
        """Returns the ``n_splits`` forward-chaining splits of ``len(x)`` samples.

        Raises:
          ValueError: if ``len(x)`` is below ``n_splits + 1``, or leaves no training sample
            before ``n_splits`` test sets of ``test_size`` and the ``gap``.

        Examples:
          >>> import numpy as np, jaxfit
          >>> jaxfit.TimeSeriesSplit(2).split(np.zeros(3)).train.tolist()
          [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
        """
        del y, groups
        n = n_samples_of(x, self, check_folds=False)
        if self.n_splits + 1 > n:
            raise ValueError(
                f"TimeSeriesSplit: n_splits={self.n_splits} needs at least n_splits + 1 = "
                f"{self.n_splits + 1} samples; x has {n}."
            )
        size = self.test_size if self.test_size is not None else n // (self.n_splits + 1)
        if n - self.gap - size * self.n_splits <= 0:
            raise ValueError(
                f"TimeSeriesSplit: {self.n_splits} test sets of test_size={size} and "
                f"gap={self.gap} leave no training sample among the {n} samples of x; "
                "reduce n_splits, test_size or gap."
            )
        pairs = []
        for start in range(n - self.n_splits * size, n, size):
            end = start - self.gap
            begin = max(0, end - self.max_train_size) if self.max_train_size else 0
            pairs.append((np.arange(begin, end), np.arange(start, start + size)))
        return folds_from_pairs(pairs, n)


_SPLITTERS = (KFold, StratifiedKFold, GroupKFold, ShuffleSplit, TimeSeriesSplit)


def as_folds(
    cv: Any, x: Any, y: Any = None, groups: Any = None, *, classifier: bool = False
) -> Folds:
    """Turns any description of cross-validation folds into :class:`jaxfit.Folds`.

    Like scikit-learn's ``check_cv`` followed by ``split``: an int ``k`` means
    ``KFold(k)``, or ``StratifiedKFold(k)`` when ``classifier=True`` and ``y`` holds
    integer class labels (a classifier with a continuous ``y`` also gets ``KFold``).

    Args:
      cv: an int number of folds; a jaxfit splitter (:class:`jaxfit.KFold`, ...); a
        :class:`jaxfit.Folds` for ``len(x)`` samples; a list of ``(train_idx, test_idx)``
        pairs (or an iterator of them, such as ``splitter.split(X, y)``); or any object
        with a ``split(X, y, groups)`` method yielding such pairs, such as a scikit-learn
        splitter, whose folds are then reproduced exactly, shuffled ones included.
      x: the inputs; most splitters only use their number of samples, ``len(x)``.
      y: the targets, for stratification.
      groups: one group label per sample, for group splitters.
      classifier: whether an int ``cv`` stratifies by integer class labels ``y``.

    Returns:
      The folds, with ``n_samples == len(x)``.

    Raises:
      TypeError: for any other ``cv``, such as None, a bool or a splitter class.
      ValueError: for folds of another length than ``x``, and as the splitter raises.

    Examples:
      >>> import numpy as np, jaxfit
      >>> from sklearn.model_selection import GroupShuffleSplit
      >>> x, y = np.zeros((6, 2)), np.array([0, 1, 0, 1, 0, 1])
      >>> jaxfit.as_folds(3, x, y, classifier=True).test.astype(int)
      array([[1, 1, 0, 0, 0, 0],
             [0, 0, 1, 1, 0, 0],
             [0, 0, 0, 0, 1, 1]])
      >>> gss = GroupShuffleSplit(2, test_size=1, random_state=0)
      >>> jaxfit.as_folds(gss, x, groups=[0, 0, 1, 1, 2, 2])
      Folds(n_folds=2, n_samples=6, test_sizes=[2, 2])
    """
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if classifier and y is not None and is_class_labels(y):
            return StratifiedKFold(int(cv)).split(x, y)
        return KFold(int(cv)).split(x)
    if isinstance(cv, _SPLITTERS):
        return cv.split(x, y, groups)
    if isinstance(cv, Folds):
        return _same_length(cv, x, "cv")
    if isinstance(cv, list | tuple | Iterator):
        return folds_from_indices(cv, n_samples_of(x), arg="cv")
    split = getattr(cv, "split", None)
    if callable(split) and not isinstance(cv, type):
        y_host = None if y is None else np.asarray(y)
        groups_host = None if groups is None else np.asarray(groups)
        out: Any = split(x, y_host, groups_host)
        name = f"{type(cv).__name__}.split"
        if isinstance(out, Folds):
            return _same_length(out, x, name)
        return folds_from_indices(list(out), n_samples_of(x), arg=name)
    got = (
        f"the class {cv.__name__}; pass an instance, e.g. {cv.__name__}(5)"
        if isinstance(cv, type)
        else f"{type(cv).__name__} {cv!r:.60}"
    )
    raise TypeError(
        "as_folds: cv must be an int number of folds, a jaxfit splitter (KFold, "
        "StratifiedKFold, GroupKFold, ShuffleSplit, TimeSeriesSplit), a jaxfit.Folds, a list "
        "of (train_idx, test_idx) pairs, or an object with a split(X, y, groups) method (a "
        f"scikit-learn splitter); got {got}."
    )


def _size(size: Any, name: str) -> float | int | None:
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise TypeError(
            f"ShuffleSplit: {name} must be a float fraction, an int count or None; got "
            f"{type(size).__name__} {size!r}."
        )
    if isinstance(size, numbers.Integral):
        if size < 1:
            raise ValueError(f"ShuffleSplit: {name}={size} must be a count >= 1 or a fraction.")
        return int(size)
    if not 0 < float(size) < 1:
        raise ValueError(f"ShuffleSplit: {name}={size} must be a fraction in (0, 1), or a count.")
    return float(size)


def _same_length(folds: Folds, x: Any, where: str) -> Folds:
    n = n_samples_of(x)
    if folds.n_samples != n:
        raise ValueError(
            f"as_folds: {where} gave folds of {folds.n_samples} samples, but x has {n}; "
            "build the folds for this x."
        )
    return folds
