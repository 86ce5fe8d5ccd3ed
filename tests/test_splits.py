"""Cross-validation folds: equal to scikit-learn's where promised, sound always, strict input."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from sklearn import model_selection as skl

import jaxfit

FAST = settings(max_examples=25, deadline=None)


def as_sets(pairs):
    """Index pairs (in any order within a set) as sorted lists, for exact comparison."""
    return [(sorted(np.asarray(tr).tolist()), sorted(np.asarray(te).tolist())) for tr, te in pairs]


def assert_same_folds(folds, pairs):
    assert folds.n_folds == len(pairs)
    assert as_sets(folds.indices()) == as_sets(pairs)


def assert_partition(folds):
    """Every sample is tested exactly once, and trains in every other fold."""
    np.testing.assert_array_equal(folds.test.sum(axis=0), np.ones(folds.n_samples))
    np.testing.assert_array_equal(folds.train, 1.0 - folds.test)


@st.composite
def labels(draw, min_per_class=1):
    """(n_splits, y) with every class holding at least min_per_class (or n_splits) members."""
    k = draw(st.integers(2, 5))
    n_classes = draw(st.integers(1, 4))
    floor = max(k, min_per_class)
    counts = draw(st.lists(st.integers(floor, floor + 6), min_size=n_classes, max_size=n_classes))
    y = np.repeat(draw(st.permutations(range(10)))[:n_classes], counts)
    order = draw(st.permutations(range(len(y))))
    return k, y[np.asarray(order)]


@st.composite
def grouped(draw):
    k = draw(st.integers(2, 5))
    n_groups = draw(st.integers(k, 9))
    sizes = draw(st.lists(st.integers(1, 5), min_size=n_groups, max_size=n_groups))
    groups = np.repeat(np.arange(n_groups) * 3 + 1, sizes)  # not 0..G-1: labels are arbitrary
    order = draw(st.permutations(range(len(groups))))
    return k, groups[np.asarray(order)]


# --- exact equality with scikit-learn -----------------------------------------------------


@given(n=st.integers(2, 40), k=st.integers(2, 12))
@FAST
def test_kfold_equals_sklearn(n, k):
    assume(k <= n)
    x = np.zeros((n, 2))
    assert_same_folds(jaxfit.KFold(k).split(x), list(skl.KFold(k).split(x)))


@given(labels())
@FAST
def test_stratified_kfold_equals_sklearn(case):
    k, y = case
    x = np.zeros(len(y))
    assert_same_folds(
        jaxfit.StratifiedKFold(k).split(x, y), list(skl.StratifiedKFold(k).split(x, y))
    )


def test_stratified_kfold_does_not_depend_on_label_values():
    y = np.array([5, 2, 2, 5, 9, 9, 2, 5, 9, 2])
    recoded = np.unique(y, return_inverse=True)[1] * -3.0  # integral floats are labels too
    x = np.zeros(10)
    assert jaxfit.StratifiedKFold(3).split(x, y) == jaxfit.StratifiedKFold(3).split(x, recoded)


@given(grouped())
@FAST
def test_group_kfold_equals_sklearn(case):
    k, groups = case
    x = np.zeros(len(groups))
    expected = list(skl.GroupKFold(k).split(x, groups=groups))
    assert_same_folds(jaxfit.GroupKFold(k).split(x, groups=groups), expected)


TIME_SERIES = [
    dict(n_splits=k, test_size=t, gap=g, max_train_size=m)
    for k, t, g, m in itertools.product([2, 3, 5], [None, 1, 3], [0, 2], [None, 1, 4])
]


@pytest.mark.parametrize("n", [6, 13, 20])
def test_time_series_split_equals_sklearn(n):
    x = np.zeros(n)
    for kwargs in TIME_SERIES:
        try:
            expected = list(skl.TimeSeriesSplit(**kwargs).split(x))
        except ValueError:
            with pytest.raises(ValueError, match="TimeSeriesSplit"):
                jaxfit.TimeSeriesSplit(**kwargs).split(x)
            continue
        assert_same_folds(jaxfit.TimeSeriesSplit(**kwargs).split(x), expected)


SKLEARN_SPLITTERS = [
    skl.KFold(4, shuffle=True, random_state=1),
    skl.StratifiedKFold(3, shuffle=True, random_state=2),
    skl.ShuffleSplit(5, test_size=0.3, train_size=0.5, random_state=3),
    skl.GroupShuffleSplit(3, test_size=0.25, random_state=4),
    skl.GroupKFold(3, shuffle=True, random_state=5),
    skl.RepeatedStratifiedKFold(n_splits=2, n_repeats=3, random_state=6),
    skl.LeaveOneGroupOut(),
    skl.LeaveOneOut(),
    skl.PredefinedSplit(
        [0, 1, -1, 0, 1, 2, 2, -1, 0, 1, 2, 0, -1, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]
    ),
]


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored")
@pytest.mark.parametrize("splitter", SKLEARN_SPLITTERS, ids=lambda s: type(s).__name__)
def test_sklearn_splits_reproduced_exactly(splitter):
    x = np.zeros((24, 3))
    y = np.tile([0, 1, 1], 8)
    groups = np.repeat(np.arange(8), 3)
    pairs = list(splitter.split(x, y, groups))
    assert_same_folds(jaxfit.folds_from_indices(pairs, 24), pairs)
    assert_same_folds(jaxfit.as_folds(splitter, x, y, groups), pairs)  # called with jnp too:
    assert_same_folds(jaxfit.as_folds(splitter, jnp.asarray(x), jnp.asarray(y), groups), pairs)


@pytest.mark.parametrize(
    ("test_size", "train_size"),
    [
        (None, None),
        (0.25, None),
        (None, 0.3),
        (3, None),
        (None, 7),
        (0.2, 0.5),
        (2, 0.6),
        (0.33, 4),
    ],
)
def test_shuffle_split_sizes_equal_sklearn(test_size, train_size):
    x = np.zeros(11)
    sizes = dict(test_size=test_size, train_size=train_size)
    tr, te = next(skl.ShuffleSplit(1, **sizes).split(x))
    folds = jaxfit.ShuffleSplit(4, **sizes, seed=0).split(x)
    np.testing.assert_array_equal(folds.train.sum(axis=1), len(tr))
    np.testing.assert_array_equal(folds.test.sum(axis=1), len(te))
    assert not (folds.train * folds.test).any()


# --- properties -----------------------------------------------------------------------------


@given(n=st.integers(2, 50), k=st.integers(2, 10), shuffle=st.booleans(), seed=st.integers(0, 99))
@FAST
def test_kfold_partitions_with_sizes_within_one(n, k, shuffle, seed):
    assume(k <= n)
    folds = jaxfit.KFold(k, shuffle=shuffle, seed=seed if shuffle else None).split(np.zeros(n))
    assert_partition(folds)
    sizes = folds.test.sum(axis=1)
    assert sizes.max() - sizes.min() <= 1
    assert folds == jaxfit.KFold(k, shuffle=shuffle, seed=seed if shuffle else None).split(
        np.zeros(n)
    )  # a seed fixes the folds


@given(case=labels(), shuffle=st.booleans(), seed=st.integers(0, 99))
@FAST
def test_stratified_kfold_partitions_with_class_counts_within_one(case, shuffle, seed):
    k, y = case
    folds = jaxfit.StratifiedKFold(k, shuffle=shuffle, seed=seed if shuffle else None).split(
        np.zeros(len(y)), y
    )
    assert_partition(folds)
    for c in np.unique(y):
        per_fold = folds.test @ (y == c)
        assert per_fold.min() >= 1 and per_fold.max() - per_fold.min() <= 1
    sizes = folds.test.sum(axis=1)
    assert sizes.max() - sizes.min() <= 1


@given(case=grouped(), shuffle=st.booleans(), seed=st.integers(0, 99))
@FAST
def test_group_kfold_never_straddles(case, shuffle, seed):
    k, groups = case
    folds = jaxfit.GroupKFold(k, shuffle=shuffle, seed=seed if shuffle else None).split(
        np.zeros(len(groups)), groups=groups
    )
    assert_partition(folds)
    for g in np.unique(groups):
        in_test = folds.test[:, groups == g]
        assert (in_test == in_test[:, :1]).all()  # a group is tested wholly in one fold


@given(n=st.integers(3, 30), k=st.integers(1, 6), test=st.floats(0.05, 0.6), seed=st.integers(0, 9))
@FAST
def test_shuffle_split_sets_are_disjoint_and_sized(n, k, test, seed):
    folds = jaxfit.ShuffleSplit(k, test_size=test, seed=seed).split(np.zeros(n))
    n_test = int(np.ceil(test * n))
    assume(n_test < n)
    assert (folds.test.sum(axis=1) == n_test).all()
    np.testing.assert_array_equal(folds.train, 1.0 - folds.test)


def test_folds_are_weights_for_a_vmapped_program():
    values = jnp.arange(10.0)
    folds = jaxfit.KFold(3).split(values)
    means = jax.jit(jax.vmap(lambda w: jnp.sum(w * values) / jnp.sum(w)))(folds.test)
    expected = [values[te].mean() for _, te in folds.indices()]
    np.testing.assert_allclose(means, expected)


# --- Folds ----------------------------------------------------------------------------------


def test_folds_value_semantics():
    folds = jaxfit.Folds(train=[[1, 1, 0, 0]], test=[[0, 0, 1, 0]])
    assert folds.train.dtype == np.float32 and folds.test.shape == (1, 4)
    assert (folds.n_folds, folds.n_samples) == (1, 4)
    assert repr(folds) == "Folds(n_folds=1, n_samples=4, test_sizes=[1])"
    tr, te = folds.indices()[0]
    assert tr.tolist() == [0, 1] and te.tolist() == [2] and tr.dtype.kind == "i"
    assert folds == jaxfit.Folds(np.array([[True, True, False, False]]), [[0.0, 0.0, 1.0, 0.0]])
    assert folds != jaxfit.Folds([[1, 0, 0, 0]], [[0, 0, 1, 0]]) and folds != "folds"
    with pytest.raises(ValueError, match="read-only"):
        folds.train[0, 0] = 0.0
    with pytest.raises(TypeError, match="unhashable"):
        hash(folds)


@pytest.mark.parametrize(
    ("train", "test", "error", "match"),
    [
        ([[1, 0]], [[0, 1, 0]], ValueError, r"both have shape .* got train \(1, 2\) and test"),
        ([1, 0], [0, 1], ValueError, "both have shape"),
        (np.zeros((0, 3)), np.zeros((0, 3)), ValueError, "no folds"),
        ([[1, 0.5]], [[0, 1]], ValueError, r"train must hold only 0.0 and 1.0.*0.5.*\(0, 1\)"),
        ([[1, 0]], [[0, np.nan]], ValueError, "test must hold only 0.0 and 1.0"),
        ([["a", "b"]], [[0, 1]], TypeError, "train must be numeric 0/1 weights"),
        ([[1, 0], [0, 0]], [[0, 1], [1, 0]], ValueError, "fold 1 has no train sample"),
        ([[1, 0]], [[0, 0]], ValueError, "fold 0 has no test sample"),
        ([[1, 1, 0]], [[0, 1, 1]], ValueError, "sample 1 is in both the train and the test"),
    ],
)
def test_folds_refuses(train, test, error, match):
    with pytest.raises(error, match=match):
        jaxfit.Folds(train, test)


# --- folds_from_indices ---------------------------------------------------------------------


def test_folds_from_indices_keeps_exact_sets_and_samples_in_neither():
    folds = jaxfit.folds_from_indices(iter([([4, 0], np.array([2])), ((1,), [3, 0])]), 5)
    assert as_sets(folds.indices()) == [([0, 4], [2]), ([1], [0, 3])]
    assert folds.train[0, 1] == folds.test[0, 1] == 0.0  # sample 1: in neither set of fold 0


@pytest.mark.parametrize(
    ("pairs", "n", "error", "match"),
    [
        ({"a": 1}, 4, TypeError, "pairs must be a list of .*got dict"),
        ([], 4, ValueError, "pairs is empty"),
        ([np.array([0, 1])], 4, TypeError, r"pairs\[0\] must be a pair .*ndarray.*\[\(train_idx"),
        ([([0], [1], [2])], 4, TypeError, r"pairs\[0\] must be a pair .*of length 3"),
        ([([0], [1]), ([0, 4], [1])], 4, ValueError, r"pairs\[1\] train .*index 4 is out of range"),
        ([([-1], [1])], 4, ValueError, r"out of range .*negative indices are not accepted"),
        ([([0, 2, 2], [1])], 4, ValueError, "index 2 appears 2 times"),
        ([([0, 2], [1, 2])], 4, ValueError, r"pairs\[0\]: 1 sample\(s\) are in both .*\[2\]"),
        ([([0], [])], 4, ValueError, r"pairs\[0\] test indices are empty"),
        ([([True, False], [1])], 4, TypeError, "boolean mask; .*np.flatnonzero"),
        ([([0.0], [1])], 4, TypeError, "must be integers; got dtype float64"),
        ([([[0]], [1])], 4, ValueError, r"1-D array of indices; got shape \(1, 1\)"),
        ([([0], [1])], 0, ValueError, "n_samples must be >= 1; got 0"),
        ([([0], [1])], 4.0, TypeError, "n_samples must be an int; got float"),
    ],
)
def test_folds_from_indices_refuses(pairs, n, error, match):
    with pytest.raises(error, match=match):
        jaxfit.folds_from_indices(pairs, n)


# --- as_folds -------------------------------------------------------------------------------


class FoldsSplitter:  # a custom splitter may return Folds directly
    def split(self, x, y=None, groups=None):
        return jaxfit.KFold(2).split(x)


def test_as_folds_dispatch():
    x = np.zeros((12, 2))
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    assert jaxfit.as_folds(4, x) == jaxfit.KFold(4).split(x)
    assert jaxfit.as_folds(np.int64(4), x, y) == jaxfit.KFold(4).split(x)  # not a classifier
    assert jaxfit.as_folds(4, x, y, classifier=True) == jaxfit.StratifiedKFold(4).split(x, y)
    assert jaxfit.as_folds(4, x, y * 1.0, classifier=True) == jaxfit.StratifiedKFold(4).split(x, y)
    assert jaxfit.as_folds(4, x, y + 0.5, classifier=True) == jaxfit.KFold(4).split(x)  # continuous
    assert jaxfit.as_folds(4, x, classifier=True) == jaxfit.KFold(4).split(x)
    groups = np.arange(12) // 2
    splitter = jaxfit.GroupKFold(3)
    assert jaxfit.as_folds(splitter, x, y, groups) == splitter.split(x, y, groups)
    folds = jaxfit.ShuffleSplit(3, seed=1).split(x)
    assert jaxfit.as_folds(folds, x) is folds
    pairs = [p for p, _ in zip(skl.KFold(3).split(x), range(2), strict=False)]
    assert_same_folds(jaxfit.as_folds(pairs, x), pairs)
    assert_same_folds(jaxfit.as_folds(tuple(pairs), x), pairs)
    assert_same_folds(jaxfit.as_folds(skl.KFold(3).split(x), x), list(skl.KFold(3).split(x)))
    assert jaxfit.as_folds(FoldsSplitter(), x) == jaxfit.KFold(2).split(x)


@pytest.mark.parametrize(
    ("cv", "error", "match"),
    [
        (None, TypeError, r"cv must be an int number of folds, a jaxfit splitter .*got NoneType"),
        (True, TypeError, "got bool True"),
        (2.0, TypeError, "got float 2.0"),
        (skl.KFold, TypeError, r"got the class KFold; pass an instance, e.g. KFold\(5\)"),
        (jaxfit.KFold, TypeError, "got the class KFold"),
        (jaxfit.KFold(2).split(np.zeros(5)), ValueError, "cv gave folds of 5 samples, but x has 6"),
        (1, ValueError, "KFold: n_splits must be >= 2; got 1"),
        ([([0], [9])], ValueError, r"cv\[0\] test indices: index 9 is out of range for 6"),
    ],
)
def test_as_folds_refuses(cv, error, match):
    with pytest.raises(error, match=match):
        jaxfit.as_folds(cv, np.zeros(6))


def test_as_folds_names_a_foreign_splitter_in_errors():
    class Bad:
        def split(self, x, y=None, groups=None):
            yield [0, 1], [1]

    with pytest.raises(ValueError, match=r"Bad.split\[0\]: 1 sample\(s\) are in both"):
        jaxfit.as_folds(Bad(), np.zeros(3))


# --- splitter errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: jaxfit.KFold(1), ValueError, "KFold: n_splits must be >= 2; got 1"),
        (lambda: jaxfit.KFold(2.0), TypeError, "KFold: n_splits must be an int; got float"),
        (lambda: jaxfit.KFold(True), TypeError, "n_splits must be an int; got bool"),
        (lambda: jaxfit.KFold(3, shuffle=1), TypeError, "KFold: shuffle must be True or False"),
        (lambda: jaxfit.KFold(3, seed=0), ValueError, "seed=0 has no effect with shuffle=False"),
        (lambda: jaxfit.KFold(3, shuffle=True, seed=-1), ValueError, "seed must be >= 0"),
        (lambda: jaxfit.StratifiedKFold(0), ValueError, "StratifiedKFold: n_splits must be >= 2"),
        (lambda: jaxfit.GroupKFold(2, seed=3), ValueError, "GroupKFold: seed=3 has no effect"),
        (lambda: jaxfit.ShuffleSplit(0), ValueError, "ShuffleSplit: n_splits must be >= 1"),
        (lambda: jaxfit.ShuffleSplit(test_size=0), ValueError, "test_size=0 must be a count >= 1"),
        (lambda: jaxfit.ShuffleSplit(test_size=1.0), ValueError, r"test_size=1.0 .*in \(0, 1\)"),
        (lambda: jaxfit.ShuffleSplit(train_size=-0.2), ValueError, r"train_size=-0.2 .*\(0, 1\)"),
        (lambda: jaxfit.ShuffleSplit(test_size="10%"), TypeError, "test_size must be a float"),
        (lambda: jaxfit.ShuffleSplit(test_size=True), TypeError, "test_size must be a float"),
        (
            lambda: jaxfit.ShuffleSplit(test_size=0.5, train_size=0.6),
            ValueError,
            "test_size \\+ train_size = 1.1 exceeds 1",
        ),
        (lambda: jaxfit.ShuffleSplit(seed=1.5), TypeError, "seed must be an int"),
        (lambda: jaxfit.TimeSeriesSplit(1), ValueError, "TimeSeriesSplit: n_splits must be >= 2"),
        (lambda: jaxfit.TimeSeriesSplit(gap=-1), ValueError, "gap must be >= 0; got -1"),
        (lambda: jaxfit.TimeSeriesSplit(test_size=0), ValueError, "test_size must be >= 1"),
        (lambda: jaxfit.TimeSeriesSplit(max_train_size=0), ValueError, "max_train_size must be"),
    ],
)
def test_splitters_refuse_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    ("splitter", "args", "error", "match"),
    [
        (jaxfit.KFold(10), (np.zeros(5),), ValueError, "n_splits=10 is more than the 5 samples"),
        (jaxfit.KFold(2), (np.float32(1.0),), ValueError, "leading sample axis; got a scalar"),
        (jaxfit.StratifiedKFold(3), (np.zeros(2), [0, 1]), ValueError, "more than the 2 samples"),
        (jaxfit.StratifiedKFold(2), (np.zeros(4),), ValueError, "needs y, the integer class"),
        (
            jaxfit.StratifiedKFold(3),
            (np.zeros(8), [0, 0, 0, 7, 7, 1, 1, 1]),
            ValueError,
            r"class 7 has only 2 member\(s\), fewer than n_splits=3 .*only warns",
        ),
        (
            jaxfit.StratifiedKFold(2),
            (np.zeros(4), [0.0, 0.5, 1.0, 1.0]),
            ValueError,
            "non-integer value 0.5. For a continuous target use KFold",
        ),
        (jaxfit.StratifiedKFold(2), (np.zeros(2), ["a", "b"]), TypeError, "Encode them first"),
        (jaxfit.StratifiedKFold(2), (np.zeros(4), [0, 1, 0]), ValueError, r"shape \(4,\).*\(3,\)"),
        (jaxfit.StratifiedKFold(2), (np.zeros(2), np.eye(2)), ValueError, "y.argmax"),
        (jaxfit.GroupKFold(2), (np.zeros(4),), ValueError, "needs groups="),
        (jaxfit.GroupKFold(2), (np.zeros(4), None, [0, 1, 1]), ValueError, r"shape \(4,\)"),
        (
            jaxfit.GroupKFold(3),
            (np.zeros(4), None, [0, 1, 1, 0]),
            ValueError,
            "than the 2 distinct",
        ),
        (jaxfit.ShuffleSplit(test_size=5), (np.zeros(5),), ValueError, "test_size=5 must be less"),
        (
            jaxfit.ShuffleSplit(test_size=3, train_size=3),
            (np.zeros(5),),
            ValueError,
            "3 train and 3 test samples exceed the 5 samples",
        ),
        (jaxfit.ShuffleSplit(train_size=0.1), (np.zeros(5),), ValueError, "training set empty"),
        (jaxfit.TimeSeriesSplit(5), (np.zeros(5),), ValueError, "at least n_splits \\+ 1 = 6"),
        (
            jaxfit.TimeSeriesSplit(3, test_size=3),
            (np.zeros(9),),
            ValueError,
            "leave no training sample among the 9 samples",
        ),
    ],
)
def test_split_refuses_bad_data(splitter, args, error, match):
    with pytest.raises(error, match=match):
        splitter.split(*args)


def test_splitters_are_hashable_values():
    assert jaxfit.KFold(3) == jaxfit.KFold(np.int64(3))
    assert len({jaxfit.KFold(3), jaxfit.KFold(3), jaxfit.StratifiedKFold(3)}) == 2
    assert jaxfit.ShuffleSplit(test_size=np.float32(0.5)).test_size == 0.5
    with pytest.raises(TypeError, match="positional"):
        jaxfit.KFold(3, True)  # type: ignore[misc]  # options are keyword-only, as in sklearn
