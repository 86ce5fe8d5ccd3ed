"""Data sources of sweep configs: what each source loads, every error found in the data, and
group labels for GroupKFold."""

import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from test_sweep_config import error, load  # the same helpers: parse, then load the data

import jaxfit
from jaxfit._cli.config import parse_config
from jaxfit._cli.datasources import split_validation, standardize

FAST = settings(max_examples=25, deadline=None)
HEAD = '[model]\nname = "linear"\n[data]\nsource = "linear"\n'


def test_linear_generator_follows_its_equation():
    config = parse_config(HEAD + "n_samples = 50\nn_features = 2\na = [1.5, -2.0]\nb = 0.5\n"
                          "noise = 0.0\n")  # fmt: skip
    data = load(config)
    assert data.x.shape == (50, 2) and data.task == "regression" and data.classes is None
    np.testing.assert_allclose(data.y, data.x @ [1.5, -2.0] + 0.5, rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(data.x) <= 1) and load(config).x.tolist() == data.x.tolist()


def test_classification_generator_is_balanced():
    text = '[model]\nname = "mlp"\n[data]\nsource = "classification"\nn_samples = 90\n'
    data = load(parse_config(text + "n_classes = 3\n"))
    assert data.x.shape == (90, 2) and data.y.dtype == np.int32 and data.classes == (0, 1, 2)
    assert np.bincount(data.y).tolist() == [30, 30, 30]


def test_sklearn_sources_and_the_missing_extra(monkeypatch):
    sklearn = '[model]\nname = "linear"\n[data]\nsource = "sklearn"\nname = "load_{}"\n'
    diabetes = load(parse_config(sklearn.format("diabetes")))
    assert diabetes.x.shape == (442, 10) and diabetes.task == "regression"
    wine = load(parse_config(sklearn.format("wine")))
    assert wine.task == "classification" and wine.classes == (0, 1, 2)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    message = str(error(sklearn.format("iris")))
    assert message.startswith("config.toml: [data] name:")
    assert "pip install 'jaxfit[sklearn]'" in message


def csv_config(tmp_path, text, extra=""):
    (tmp_path / "d.csv").write_text(text)
    return ('[model]\nname = "linear"\n[data]\nsource = "csv"\npath = "d.csv"\n'
            f'target = "y"\n{extra}')  # fmt: skip


def test_csv_loads_named_columns(tmp_path):
    text = csv_config(tmp_path, "id,a,b,y\n1,0.5,2,1.0\n2,1.5,-1,2.0\n\n3,2.5,0,3.5\n",
                      'features = ["b", "a"]\n')  # fmt: skip
    data = load(parse_config(text, base_dir=tmp_path))
    assert data.features == ("b", "a") and data.x.tolist() == [[2, 0.5], [-1, 1.5], [0, 2.5]]
    assert data.y.tolist() == [1.0, 2.0, 3.5] and data.task == "regression"


def test_csv_text_labels_are_classes(tmp_path):
    text = csv_config(tmp_path, "a,y\n1,cat\n2,dog\n3,cat\n")
    data = load(parse_config(text, base_dir=tmp_path))
    assert data.task == "classification" and data.classes == ("cat", "dog")
    assert data.y.tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    ("csv", "extra", "where", "fragment"),
    [
        (None, "", "[data] path:", "no such file"),
        ("a,b\n1,2\n", "", "[data] target:", "no column 'y' in d.csv"),
        ("a,Y\n1,2\n", "", "[data] target:", "did you mean 'Y'"),
        ("a,y\n1,2\n", 'features = ["c"]\n', "[data] features:", "no column 'c'"),
        ("a,y\n1,2\nx,3\n", "", "[data] path:", "d.csv line 3, column 'a': the value 'x' is not a"),
        ("a,y\n1,2\nnan,3\n", "", "[data] path:", "line 3, column 'a': the value 'nan' is not fin"),
        ("a,y\n1,2\n,3\n", "", "[data] path:", "line 3, column 'a': the value '' is empty"),
        ("a,y\n1,2\n3,\n", "", "[data] target:", "line 3, column 'y': the value '' is empty"),
        ("a,y\n1,2\n3,4,5\n", "", "[data] path:", "line 3 has 3 fields but the header has 2"),
        ("a,y\n1,cat\n", 'task = "regression"\n', "[data] task:", "cannot be regressed"),
        ("", "", "[data] path:", "empty; it needs a header row"),
        ("a,y\n", "", "[data] path:", "no data rows"),
        ("a,y\n1,0.5\n2,1\n", 'task = "classification"\n', "[data] task:", "whole-number"),
    ],
)  # fmt: skip
def test_csv_errors(tmp_path, csv, extra, where, fragment):
    text = csv_config(tmp_path, csv or "", extra)
    if csv is None:
        (tmp_path / "d.csv").unlink()
    message = str(error(text, tmp_path))
    assert message.startswith(f"config.toml: {where}") and fragment in message, message


@FAST
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3), min_size=n, max_size=n),
    st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n))))  # fmt: skip
def test_csv_written_from_arrays_loads_back_equal(tmp_path_factory, arrays):
    x, y = np.asarray(arrays[0]), np.asarray(arrays[1])
    tmp = tmp_path_factory.mktemp("csv")
    rows = "".join(
        ",".join(map(repr, [*r, t])) + "\n" for r, t in zip(x.tolist(), y.tolist(), strict=True)
    )
    data = load(parse_config(csv_config(tmp, "f0,f1,f2,y\n" + rows), base_dir=tmp))
    assert data.x.tolist() == x.astype(np.float32).tolist()
    assert data.y.tolist() == y.astype(np.float32).tolist()


def npy_config(tmp_path, x, y, source="npy"):
    if source == "npy":
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "y.npy", y)
        return '[model]\nname = "linear"\n[data]\nsource = "npy"\nx = "x.npy"\ny = "y.npy"\n'
    np.savez(tmp_path / "d.npz", features=x, labels=y)
    return ('[model]\nname = "linear"\n[data]\nsource = "npz"\npath = "d.npz"\n'
            'x = "features"\ny = "labels"\n')  # fmt: skip


@pytest.mark.parametrize("source", ["npy", "npz"])
def test_npy_and_npz(tmp_path, source):
    x, y = np.arange(12.0).reshape(6, 2), np.array([0, 1, 2, 0, 1, 2])
    data = load(parse_config(npy_config(tmp_path, x, y, source), base_dir=tmp_path))
    assert data.x.tolist() == x.tolist() and data.task == "classification"  # integer y
    assert data.y.tolist() == y.tolist() and data.classes == (0, 1, 2)
    one = load(parse_config(npy_config(tmp_path, x[:, 0], y * 0.5, source), base_dir=tmp_path))
    assert one.x.shape == (6, 1) and one.task == "regression"


@pytest.mark.parametrize(
    ("x", "y", "source", "where", "fragment"),
    [
        (np.zeros((5, 2)), np.zeros(4), "npy", "[data] y:", "y has 4 rows but x has 5"),
        (np.zeros((5, 2)), np.zeros(4), "npz", "[data] path:", "y has 4 rows but x has 5"),
        (np.array([[0.0], [np.nan]]), np.zeros(2), "npy", "[data] x:", "first at row 1"),
        (np.zeros(2), np.array([1.0, np.inf]), "npz", "[data] y:", "non-finite"),
        (np.array(["a", "b"]), np.zeros(2), "npy", "[data] x:", "must hold numbers"),
        (np.zeros((2, 2, 2)), np.zeros(2), "npy", "[data] x:", "shape (2, 2, 2)"),
    ],
)  # fmt: skip
def test_npy_errors(tmp_path, x, y, source, where, fragment):
    message = str(error(npy_config(tmp_path, x, y, source), tmp_path))
    assert message.startswith(f"config.toml: {where}") and fragment in message, message


def test_npz_missing_key(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 1)), y=np.zeros(3))
    text = '[model]\nname = "linear"\n[data]\nsource = "npz"\npath = "d.npz"\n'
    message = str(error(text, tmp_path))
    assert message.startswith("config.toml: [data] x:") and "did you mean 'X'" in message


def test_standardize_and_validation_split():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0], [7.0, 5.0]], np.float32)
    z = standardize(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-6)
    assert z[:, 1].tolist() == [0, 0, 0, 0] and math.isclose(z[:, 0].std(), 1, rel_tol=1e-6)
    assert standardize(x, np.array([0, 1]))[:2, 0].tolist() == [-1, 1]
    train, val = split_validation(10, 0.25, seed=0)
    assert len(val) == 3 and sorted([*train, *val]) == list(range(10))
    assert split_validation(10, 0.25, seed=0)[1].tolist() == val.tolist()


# ----------------------------------------------------------------------------- group labels

GROUP_CV = "[cv]\nsplitter = 'GroupKFold'\nn_splits = 2\n"


def grouped(tmp_path, text, groups="g", cv=GROUP_CV):
    """A CSV config (target y) whose [data] groups names ``groups``, cross-validated by ``cv``."""
    return csv_config(tmp_path, text, f"groups = {groups!r}\n{cv}")


def test_group_column_is_loaded_and_kept_out_of_the_features(tmp_path):
    text = grouped(tmp_path, "g,a,y,b\nu,1,2,3\nv,4,5,6\nu,7,8,9\n")
    config = parse_config(text, base_dir=tmp_path)
    assert config.cv == jaxfit.GroupKFold(2) and config.data.options["groups"] == "g"
    data = load(config)
    assert data.features == ("a", "b") and data.x.tolist() == [[1, 3], [4, 6], [7, 9]]
    assert data.groups is not None and data.groups.tolist() == ["u", "v", "u"]
    shuffled = parse_config(grouped(tmp_path, "g,a,y\n", cv=GROUP_CV + "shuffle = true\n"))
    assert shuffled.cv == jaxfit.GroupKFold(2, shuffle=True, seed=0)  # reproducible folds
    assert parse_config(csv_config(tmp_path, "")).digest != config.digest


def test_numeric_group_labels_are_numbers_so_folds_sort_them_as_numbers(tmp_path):
    # As text, "10" < "2"; GroupKFold breaks ties between equal groups by the sorted labels.
    labels = [2, 10, 1, 2, 10, 1, 7, 7, 30, 30]
    rows = "".join(f"{g},{i},{i}\n" for i, g in enumerate(labels))
    text = grouped(tmp_path, "g,a,y\n" + rows, cv=GROUP_CV.replace("2", "3"))
    config = parse_config(text, base_dir=tmp_path)
    data = load(config)
    assert data.groups is not None and data.groups.dtype.kind == "f"
    expected = jaxfit.GroupKFold(3).split(data.x, groups=np.array(labels)).test
    as_text = jaxfit.GroupKFold(3).split(data.x, groups=np.array(labels).astype(str)).test
    assert not np.array_equal(as_text, expected)  # so the test below tells them apart
    np.testing.assert_array_equal(config.cv.split(data.x, groups=data.groups).test, expected)


@FAST
@given(
    labels=st.lists(st.sampled_from(["ann", "bob", "cy", "dee", "ed", "flo", "7"]), min_size=3,
                    max_size=40).filter(lambda g: len(set(g)) >= 3),
    k=st.integers(2, 3), shuffle=st.booleans(),
)  # fmt: skip
def test_config_folds_are_group_kfolds_and_never_share_a_group(tmp_path_factory, labels, k,
                                                               shuffle):  # fmt: skip
    tmp = tmp_path_factory.mktemp("groups")
    rows = "".join(f"{g},{i},{i % 2}\n" for i, g in enumerate(labels))
    cv = f"[cv]\nsplitter = 'GroupKFold'\nn_splits = {k}\nshuffle = {str(shuffle).lower()}\n"
    config = parse_config(grouped(tmp, "g,a,y\n" + rows, cv=cv), base_dir=tmp)
    data = load(config)
    folds = config.cv.split(data.x, groups=data.groups)
    splitter = jaxfit.GroupKFold(k, shuffle=shuffle, seed=0 if shuffle else None)
    expected = splitter.split(np.zeros(len(labels)), groups=np.array(labels))
    np.testing.assert_array_equal(folds.test, expected.test)
    np.testing.assert_array_equal(folds.train, expected.train)
    tested = [set(np.array(labels)[test]) for _, test in folds.indices()]
    assert sum(map(len, tested)) == len(set(labels))  # each group in exactly one test fold


@pytest.mark.parametrize(
    ("extra", "where", "fragment"),
    [
        ("groups = 'g'\n", "[data] groups:", "source 'linear' has no group labels"),
        (GROUP_CV, "[cv] splitter:", "source 'linear' has none; use data from a file"),
    ],
)  # fmt: skip
def test_synthetic_sources_have_no_groups(extra, where, fragment):
    message = str(error(HEAD + extra))
    assert message.startswith(f"config.toml: {where}") and fragment in message, message
    sklearn = '[model]\nname = "linear"\n[data]\nsource = "sklearn"\nname = "diabetes"\n'
    assert "source 'sklearn' has no group labels" in str(error(sklearn + "groups = 'g'\n"))


# (CSV text, groups, [cv] and more, the message's start, a fragment it contains)
GROUP_ERRORS = [
    ("g,a,y\nu,1,2\n", "y", GROUP_CV, "[data] groups:", "is the target column 'y'; the group "
     "labels need a column of their own"),
    ("g,a,y\nu,1,2\n", "g", "features = ['a', 'g']\n" + GROUP_CV, "[data] features:",
     "lists the groups column 'g'; group labels decide the folds and must not be a feature"),
    ("g,a,y\nu,1,2\n", "g", "", "[data] groups:", "only used by [cv] splitter = 'GroupKFold', "
     "but there is no [cv] section"),
    ("g,a,y\nu,1,2\n", "g", "[validation]\nfraction = 0.5\n", "[data] groups:",
     "there is no [cv] section"),
    ("g,a,y\nu,1,2\n", "g", "[cv]\nk = 3\n", "[data] groups:",
     "[cv] k = 3 means KFold or StratifiedKFold, which ignore them; use it, or remove groups"),
    ("g,a,y\nu,1,2\n", "g", "[cv]\nsplitter = 'KFold'\n", "[data] groups:",
     "[cv] is KFold, which ignores them"),
    ("g,a,y\nu,1,2\n", "G", GROUP_CV, "[data] groups:", "no column 'G' in d.csv (did you mean "
     "'g'?); its columns are ['g', 'a', 'y']"),
    ("g,a,y\nu,1,2\n,3,4\n", "g", GROUP_CV, "[data] groups:", "d.csv line 3, column 'g': the "
     "group label is empty; every sample needs one"),
    ("g,a,y\nu,1,2\n", "g", "[cv]\nsplitter = 'GroupKFold'\nshufle = true\n", "[cv] shufle:",
     "did you mean 'shuffle'"),
]  # fmt: skip


@pytest.mark.parametrize(("csv", "groups", "extra", "where", "fragment"), GROUP_ERRORS)
def test_group_errors_name_the_key(tmp_path, csv, groups, extra, where, fragment):
    message = str(error(grouped(tmp_path, csv, groups, extra), tmp_path))
    assert message.startswith(f"config.toml: {where}") and fragment in message, message


def test_group_kfold_without_groups_says_where_to_name_them(tmp_path):
    message = str(error(csv_config(tmp_path, "a,y\n1,2\n", GROUP_CV), tmp_path))
    assert message.startswith("config.toml: [cv] splitter: 'GroupKFold' needs a group label per "
                              "sample; add groups = ... to [data], the column")  # fmt: skip


@pytest.mark.parametrize("source", ["npy", "npz"])
def test_npy_and_npz_groups(tmp_path, source):
    x, y, g = np.arange(12.0).reshape(6, 2), np.arange(6.0), np.array(["a", "b", "c"] * 2)
    text = npy_config(tmp_path, x, y, source)
    if source == "npy":
        np.save(tmp_path / "g.npy", g)
        text += "groups = 'g.npy'\n" + GROUP_CV
    else:
        np.savez(tmp_path / "d.npz", features=x, labels=y, subject=g)
        text += "groups = 'subject'\n" + GROUP_CV
    data = load(parse_config(text, base_dir=tmp_path))
    assert data.groups is not None and data.groups.tolist() == g.tolist()


@pytest.mark.parametrize(
    ("source", "groups", "name", "where", "fragment"),
    [
        ("npz", None, "labels", "[data] groups:", "is the target array 'labels'"),
        ("npz", None, "features", "[data] groups:", "is the features array 'features'"),
        ("npz", None, "subjct", "[data] groups:", "has no array 'subjct'"),
        ("npy", None, "y.npy", "[data] groups:", "is the target file 'y.npy'"),
        ("npy", None, "nope.npy", "[data] groups:", "no such file"),
        ("npy", np.array([0.0, np.nan, 1.0, 1.0, 2.0, 2.0]), "g.npy", "[data] groups:",
         "g.npy holds NaN or infinite values; every sample needs a group label"),
        ("npy", np.ones(6, complex), "g.npy", "[data] groups:", "dtype complex128; group labels "
         "must be numbers or strings"),
    ],
)  # fmt: skip
def test_npy_and_npz_group_errors(tmp_path, source, groups, name, where, fragment):
    text = npy_config(tmp_path, np.zeros((6, 2)), np.zeros(6), source)
    if groups is not None:
        np.save(tmp_path / name, groups)
    if source == "npz":
        np.savez(tmp_path / "d.npz", features=np.zeros((6, 2)), labels=np.zeros(6), subject=[1] * 6)
    message = str(error(text + f"groups = {name!r}\n" + GROUP_CV, tmp_path))
    assert message.startswith(f"config.toml: {where}") and fragment in message, message
