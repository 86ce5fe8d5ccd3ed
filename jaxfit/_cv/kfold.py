"""K-fold splitters (plain, stratified, grouped) with scikit-learn's allocation."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .folds import Folds, check_count, check_seed, class_labels, few, folds_from_ids, n_samples_of

__all__ = ["GroupKFold", "KFold", "StratifiedKFold"]


@dataclasses.dataclass(frozen=True)
class _KFoldBase:
    n_splits: int = 5
    _: dataclasses.KW_ONLY
    shuffle: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(
            self, "n_splits", check_count(self.n_splits, "n_splits", minimum=2, where=name)
        )
        if not isinstance(self.shuffle, bool | np.bool_):
            raise TypeError(f"{name}: shuffle must be True or False; got {self.shuffle!r}.")
        object.__setattr__(self, "shuffle", bool(self.shuffle))
        object.__setattr__(self, "seed", check_seed(self.seed, name))
        if self.seed is not None and not self.shuffle:
            raise ValueError(
                f"{name}: seed={self.seed} has no effect with shuffle=False; pass "
                "shuffle=True, or leave seed=None."
            )

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


@dataclasses.dataclass(frozen=True)
class KFold(_KFoldBase):
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
      array([2, 3, 4])
    """

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
        n = n_samples_of(x, self)
        order = self._rng().permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[: n % self.n_splits] += 1
        fold_of = np.empty(n, np.intp)
        fold_of[order] = np.repeat(np.arange(self.n_splits), sizes)
        return folds_from_ids(fold_of, self.n_splits)


@dataclasses.dataclass(frozen=True)
class StratifiedKFold(_KFoldBase):
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
        n = n_samples_of(x, self)
        where = f"{type(self).__name__}.split"
        if y is None:
            raise ValueError(f"{where} needs y, the integer class labels to stratify by.")
        labels = class_labels(y, n, where)
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
                f"{few(names)}), so some test fold would lack it. Use fewer splits, merge "
                "rare classes, or KFold. (scikit-learn only warns here; jaxfit refuses.)"
            )
        dealt = np.sort(encoded)  # deal the sorted labels round-robin to the folds
        allocation = np.stack(
            [
                np.bincount(dealt[f :: self.n_splits], minlength=counts.size)
                for f in range(self.n_splits)
            ]
        )
        rng = self._rng()
        fold_of = np.empty(n, np.intp)
        for c in range(counts.size):
            class_folds = np.repeat(np.arange(self.n_splits), allocation[:, c])
            if self.shuffle:
                rng.shuffle(class_folds)
            fold_of[encoded == c] = class_folds
        return folds_from_ids(fold_of, self.n_splits)


@dataclasses.dataclass(frozen=True)
class GroupKFold(_KFoldBase):
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
        n = n_samples_of(x, self)
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
            runs = np.array_split(self._rng().permutation(unique.size), self.n_splits)
            for f, run in enumerate(runs):
                fold_of_group[run] = f
        else:
            sizes = np.bincount(group_of)
            load = np.zeros(self.n_splits, np.int64)
            for group in np.argsort(sizes, kind="stable")[::-1]:
                lightest = int(np.argmin(load))
                load[lightest] += sizes[group]
                fold_of_group[group] = lightest
        return folds_from_ids(fold_of_group[group_of], self.n_splits)
