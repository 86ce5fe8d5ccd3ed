"""Cross-validation folds as fixed-shape 0/1 weight matrices, and their validation."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["Folds", "folds_from_indices"]


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Folds:
    """The train and test sets of every fold, as 0/1 weight matrices of one shape.

    Folds are one more ``vmap`` axis of a sweep, so every fold must have the same array
    shapes. Instead of index lists of different lengths, fold ``f`` is row ``f`` of two
    ``float32`` matrices of shape ``(n_folds, n_samples)``: ``train[f, i]`` is 1.0 when
    sample ``i`` is in fold ``f``'s training set and ``test[f, i]`` when it is in its test
    set. Used as per-sample weights, they give each fold's loss and score exactly, however
    unequal the fold sizes: nothing is padded and no sample is dropped. A sample may be in
    neither set of a fold where the splitter says so (``ShuffleSplit`` with
    ``train_size + test_size < 1``, the samples before ``TimeSeriesSplit``'s first test
    fold). The arrays are read-only copies.

    Build folds with a splitter (:class:`jaxfit.KFold`, ...), from explicit indices with
    :func:`jaxfit.folds_from_indices`, or from anything with :func:`jaxfit.as_folds`.

    Attributes:
      train: ``float32`` array of shape ``(n_folds, n_samples)``, 1.0 where a sample trains.
      test: ``float32`` array of shape ``(n_folds, n_samples)``, 1.0 where it is scored.

    Raises:
      TypeError: for non-numeric arrays.
      ValueError: for arrays that are not two equal 2-D shapes, entries other than 0 and 1,
        a fold with no training or no test sample, or a sample in both sets of one fold.

    Examples:
      >>> import numpy as np, jaxfit
      >>> folds = jaxfit.KFold(3).split(np.zeros((5, 2)))
      >>> folds
      Folds(n_folds=3, n_samples=5, test_sizes=[2, 2, 1])
      >>> folds.test
      array([[1., 1., 0., 0., 0.],
             [0., 0., 1., 1., 0.],
             [0., 0., 0., 0., 1.]], dtype=float32)
      >>> folds.indices()[2]
      (array([0, 1, 2, 3]), array([4]))
      >>> jaxfit.Folds(train=[[1, 1, 0]], test=[[0, 0, 1]]).n_folds
      1
    """

    train: np.ndarray
    test: np.ndarray

    def __post_init__(self) -> None:
        train = _weights(self.train, "train")
        test = _weights(self.test, "test")
        if train.ndim != 2 or train.shape != test.shape:
            raise ValueError(
                "Folds: train and test must both have shape (n_folds, n_samples); got train "
                f"{train.shape} and test {test.shape}."
            )
        if train.shape[0] == 0:
            raise ValueError("Folds: there are no folds (shape (0, n)); at least one is needed.")
        for name, part in (("train", train), ("test", test)):
            empty = np.flatnonzero(part.sum(axis=1) == 0)
            if empty.size:
                raise ValueError(
                    f"Folds: fold {int(empty[0])} has no {name} sample (folds without one: "
                    f"{few(empty)}); every fold needs at least one {name} sample."
                )
        both = np.argwhere((train > 0) & (test > 0))
        if both.size:
            fold, sample = (int(v) for v in both[0])
            raise ValueError(
                f"Folds: sample {sample} is in both the train and the test set of fold {fold} "
                f"({len(both)} such entries); train and test must be disjoint within a fold."
            )
        object.__setattr__(self, "train", train)
        object.__setattr__(self, "test", test)

    @property
    def n_folds(self) -> int:
        """The number of folds (rows)."""
        return self.train.shape[0]

    @property
    def n_samples(self) -> int:
        """The number of samples (columns)."""
        return self.train.shape[1]

    def indices(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Returns ``(train_idx, test_idx)`` per fold, as sorted integer arrays.

        Examples:
          >>> import numpy as np, jaxfit
          >>> [test.tolist() for _, test in jaxfit.KFold(2).split(np.zeros(3)).indices()]
          [[0, 1], [2]]
        """
        return [
            (np.flatnonzero(tr), np.flatnonzero(te))
            for tr, te in zip(self.train, self.test, strict=True)
        ]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Folds):
            return NotImplemented
        # Defining __eq__ leaves __hash__ None: folds compare by value, like arrays, and
        # are data to pass to a program, never a static (hashed) argument.
        return np.array_equal(self.train, other.train) and np.array_equal(self.test, other.test)

    def __repr__(self) -> str:
        sizes = self.test.sum(axis=1).astype(int).tolist()
        return f"Folds(n_folds={self.n_folds}, n_samples={self.n_samples}, test_sizes={sizes})"


def folds_from_indices(pairs: Any, n_samples: int, *, arg: str = "pairs") -> Folds:
    """Returns exactly the folds given as ``(train_idx, test_idx)`` index pairs.

    This is the way to reproduce any scikit-learn splitter's folds exactly, shuffled ones
    included: pass ``list(splitter.split(X, y, groups))``. The order of indices within a set
    does not matter; :meth:`Folds.indices` returns them sorted.

    Args:
      pairs: a list (or tuple, or iterator) of ``(train_idx, test_idx)`` pairs of 1-D
        integer index arrays, one pair per fold.
      n_samples: the number of samples the indices point into.
      arg: the argument name to use in error messages.

    Returns:
      The folds, with ``n_folds == len(pairs)``.

    Raises:
      TypeError: if ``pairs`` is not a sequence of pairs, or an index array is not integer.
      ValueError: for no pairs, an empty set, an index out of ``[0, n_samples)``, an index
        repeated within a set, or a sample in both sets of one pair.

    Examples:
      >>> import numpy as np, jaxfit
      >>> from sklearn.model_selection import KFold
      >>> x = np.zeros((6, 2))
      >>> pairs = list(KFold(3, shuffle=True, random_state=0).split(x))
      >>> folds = jaxfit.folds_from_indices(pairs, len(x))
      >>> folds.test.astype(int)
      array([[0, 0, 1, 0, 0, 1],
             [0, 1, 0, 1, 0, 0],
             [1, 0, 0, 0, 1, 0]])
    """
    n = check_count(n_samples, "n_samples")
    if isinstance(pairs, Iterator):
        pairs = list(pairs)
    if not isinstance(pairs, list | tuple):
        raise TypeError(
            f"{arg} must be a list of (train_idx, test_idx) pairs, e.g. "
            f"list(splitter.split(X, y)); got {type(pairs).__name__}."
        )
    if not pairs:
        raise ValueError(f"{arg} is empty; give at least one (train_idx, test_idx) pair.")
    checked = []
    for f, pair in enumerate(pairs):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(
                f"{arg}[{f}] must be a pair (train_idx, test_idx); got {type(pair).__name__}"
                + (f" of length {len(pair)}" if isinstance(pair, tuple | list) else "")
                + ". For a single split pass [(train_idx, test_idx)]."
            )
        tr = _indices(pair[0], n, f"{arg}[{f}] train indices")
        te = _indices(pair[1], n, f"{arg}[{f}] test indices")
        both = np.intersect1d(tr, te)
        if both.size:
            raise ValueError(
                f"{arg}[{f}]: {both.size} sample(s) are in both train and test, e.g. "
                f"{few(both)}; train and test must be disjoint."
            )
        checked.append((tr, te))
    return folds_from_pairs(checked, n)


def _weights(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.array(value)  # a copy, so the caller's array can change without ours
    except Exception as e:
        raise TypeError(f"Folds: {name} cannot be converted to an array: {e}") from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"Folds: {name} must be numeric 0/1 weights; got dtype {arr.dtype}.")
    bad = np.argwhere((arr != 0) & (arr != 1))
    if bad.size:
        where = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"Folds: {name} must hold only 0.0 and 1.0 (1 = the sample is in that fold's "
            f"{name} set); found {arr[where]!r} at index {where}."
        )
    arr = arr.astype(np.float32)
    arr.flags.writeable = False
    return arr


def _indices(value: Any, n: int, where: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{where} must be a 1-D array of indices; got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{where} are empty; every fold needs at least one sample in each set.")
    if arr.dtype == np.bool_:
        raise TypeError(
            f"{where} are a boolean mask; pass integer indices, e.g. np.flatnonzero(mask)."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{where} must be integers; got dtype {arr.dtype}.")
    out = (arr < 0) | (arr >= n)
    if out.any():
        raise ValueError(
            f"{where}: index {int(arr[out][0])} is out of range for {n} samples; indices must "
            f"be in [0, {n}) (negative indices are not accepted)."
        )
    uniq, counts = np.unique(arr, return_counts=True)
    if uniq.size < arr.size:
        raise ValueError(
            f"{where}: index {int(uniq[counts > 1][0])} appears {int(counts.max())} times; "
            "each sample may appear at most once per set."
        )
    return arr.astype(np.intp)


def check_count(value: Any, name: str, *, minimum: int = 1, where: str = "") -> int:
    """Checks an integer argument (not a bool) is at least ``minimum``."""
    prefix = f"{where}: " if where else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{prefix}{name} must be an int; got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{prefix}{name} must be >= {minimum}; got {value}.")
    return int(value)


def few(values: Sequence[Any] | np.ndarray, limit: int = 5) -> str:
    items = [v.item() if isinstance(v, np.generic) else v for v in list(values)[:limit]]
    return str(items)[:-1] + (", ...]" if len(values) > limit else "]")


def check_seed(seed: Any, where: str) -> int | None:
    return None if seed is None else check_count(seed, "seed", minimum=0, where=where)


def n_samples_of(x: Any, splitter: Any = None, *, check_folds: bool = True) -> int:
    """Returns ``len(x)``, checking there are at least ``splitter.n_splits`` samples."""
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


def class_labels(y: Any, n: int, where: str) -> np.ndarray:
    """Returns ``y`` as 1-D integer-valued class labels of length ``n``, or raises."""
    labels = _squeeze(np.asarray(y))
    if labels.ndim != 1 or labels.shape[0] != n:
        hint = " (for one-hot y pass y.argmax(axis=1))" if labels.ndim == 2 else ""
        raise ValueError(
            f"{where}: y must be class labels of shape ({n},), one per sample of x; got "
            f"shape {labels.shape}{hint}."
        )
    if not _numeric(labels):
        raise TypeError(
            f"{where}: y must hold integer class labels; got dtype {labels.dtype}. Encode "
            "them first, e.g. np.unique(y, return_inverse=True)[1]."
        )
    bad = ~_integral(labels)
    if bad.any():
        raise ValueError(
            f"{where}: y must hold integer class labels; got the non-integer value "
            f"{labels[bad][0].item()!r}. For a continuous target use KFold."
        )
    return labels


def is_class_labels(y: Any) -> bool:
    """Whether ``y`` is 1-D integer-valued labels (scikit-learn's binary or multiclass)."""
    labels = _squeeze(np.asarray(y))
    return labels.ndim == 1 and _numeric(labels) and bool(_integral(labels).all())


def _squeeze(labels: np.ndarray) -> np.ndarray:
    return labels[:, 0] if labels.ndim == 2 and labels.shape[1] == 1 else labels


def _numeric(values: np.ndarray) -> bool:
    real = np.issubdtype(values.dtype, np.number) and values.dtype.kind != "c"
    return real or values.dtype == np.bool_


def _integral(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "biu":
        return np.ones(values.shape, bool)
    return np.isfinite(values) & (values == np.round(values))


def folds_from_ids(fold_of: np.ndarray, n_folds: int) -> Folds:
    """Folds where fold ``f`` tests the samples with ``fold_of == f`` and trains on the rest."""
    test = fold_of[None, :] == np.arange(n_folds)[:, None]
    return Folds(~test, test)


def folds_from_pairs(pairs: list[tuple[np.ndarray, np.ndarray]], n: int) -> Folds:
    train = np.zeros((len(pairs), n), np.float32)
    test = np.zeros((len(pairs), n), np.float32)
    for f, (tr, te) in enumerate(pairs):
        train[f, tr] = 1.0
        test[f, te] = 1.0
    return Folds(train, test)
