"""Data for ``jaxfit sweep``: synthetic generators, scikit-learn's bundled sets, CSV/NPY/NPZ files.

``parse_data``, ``parse_cv`` and ``parse_validation`` check a config's ``[data]``, ``[cv]``
and ``[validation]`` tables (no file is read), ``check_groups`` that group labels and a
group splitter come together; ``load_data`` loads the data into host arrays, checking what
a file holds (missing columns, non-numeric or NaN values with their line and column,
mismatched lengths), and raises a :class:`ConfigError` that names the config file, the key
and the data file.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._cv import GroupKFold, KFold, ShuffleSplit, StratifiedKFold, TimeSeriesSplit
from .schema import (
    REQUIRED,
    ConfigError,
    Invalid,
    Section,
    boolean,
    describe,
    integer,
    number,
    string,
    string_list,
    suggest,
)

__all__ = ["SOURCES", "Data", "DataSpec", "check_groups", "load_data", "parse_cv",
           "parse_data", "parse_validation", "split_validation", "standardize"]  # fmt: skip

TASKS = ("regression", "classification")
SPLITTERS = {c.__name__: c for c in (KFold, StratifiedKFold, GroupKFold, ShuffleSplit,
                                     TimeSeriesSplit)}  # fmt: skip
SKLEARN = {"diabetes": "regression", "digits": "classification",
           "breast_cancer": "classification", "iris": "classification",
           "wine": "classification"}  # fmt: skip
_COMMON = ("source", "standardize", "task")


def _coefficients(v: Any) -> tuple[float, ...]:
    values = v if isinstance(v, list) else [v]
    if not values or any(isinstance(e, bool) or not isinstance(e, int | float) for e in values):
        raise Invalid(f"must be a number or an array of numbers; got {describe(v)}.")
    return tuple(float(e) for e in values)


_Check = Callable[[Any], Any]
# source -> key -> (check, default); REQUIRED marks a key without a default.
SOURCES: dict[str, dict[str, tuple[_Check, Any]]] = {
    "linear": {"n_samples": (integer(2), 200), "n_features": (integer(1), 1),
               "a": (_coefficients, (2.0,)), "b": (number(), 1.0),
               "noise": (number(0.0), 0.1), "seed": (integer(0), 0)},
    "classification": {"n_samples": (integer(2), 300), "n_features": (integer(1), 2),
                       "n_classes": (integer(2), 2), "separation": (number(0.0, above=True), 2.0),
                       "noise": (number(0.0, above=True), 1.0), "seed": (integer(0), 0)},
    "sklearn": {"name": (string((*SKLEARN, *(f"load_{n}" for n in SKLEARN))), REQUIRED)},
    "csv": {"path": (string(), REQUIRED), "target": (string(), REQUIRED),
            "features": (string_list, None), "delimiter": (string(), ","),
            "groups": (string(), None)},
    "npy": {"x": (string(), REQUIRED), "y": (string(), REQUIRED), "groups": (string(), None)},
    "npz": {"path": (string(), REQUIRED), "x": (string(), "x"), "y": (string(), "y"),
            "groups": (string(), None)},
}  # fmt: skip
# What [data] groups names (the group labels for GroupKFold), in the sources that have it.
GROUPS = {"csv": "column", "npz": "array", "npy": "file"}


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """A checked ``[data]`` table; ``options`` holds every key of its source's (defaults in)."""

    source: str  # a key of SOURCES
    options: Mapping[str, Any]
    standardize: bool  # features to mean 0 and standard deviation 1
    task: str | None  # "regression", "classification" or None: the source decides


@dataclasses.dataclass(frozen=True)
class Data:
    """Loaded data: ``x`` ``(n, d)`` float32; ``y`` ``(n,)`` int32 labels or float32 targets."""

    x: np.ndarray
    y: np.ndarray  # class indices 0 .. k-1, or real targets (n,) or (n, k)
    task: str
    classes: tuple[Any, ...] | None  # for classification: the label of each class index
    features: tuple[str, ...]
    description: str  # one line for the console
    groups: np.ndarray | None = None  # [data] groups: a group label per sample, as given


def parse_data(s: Section) -> DataSpec:
    """Checks a ``[data]`` table: its source, the source's keys and their types."""
    source = s.get("source", string(tuple(SOURCES)))
    if "groups" in s.table and source not in GROUPS:
        raise s.error("groups", f"source {source!r} has no group labels; group-aware "
                      "cross-validation needs data from a file: a CSV column, an NPZ array or "
                      "an .npy file (source = 'csv', 'npz' or 'npy').")  # fmt: skip
    s.only((*_COMMON, *SOURCES[source]))
    options = {key: s.get(key, check, default) for key, (check, default) in SOURCES[source].items()}
    if options.get("groups") is not None:
        _check_group_source(s, source, options)
    if source == "linear":
        a = options["a"]
        n_features = options["n_features"] if "n_features" in s.table else len(a)
        if len(a) not in (1, n_features):
            raise s.error("a", f"has {len(a)} coefficients but n_features = {n_features}.")
        options["n_features"], options["a"] = n_features, a * (n_features // len(a))
    if source == "sklearn":
        options["name"] = options["name"].removeprefix("load_")
    task = s.get("task", string(TASKS), None)
    return DataSpec(source, options, s.get("standardize", boolean, False), task)


def _check_group_source(s: Section, source: str, o: dict[str, Any]) -> None:
    """The groups must not be the target, nor (a column of) the features."""
    groups, kind = o["groups"], GROUPS[source]
    target, x = (o["target"], None) if source == "csv" else (o["y"], o["x"])
    if groups in (target, x):
        what = "target" if groups == target else "features"
        raise s.error("groups", f"is the {what} {kind} {groups!r}; the group labels need a "
                      f"{kind} of their own.")  # fmt: skip
    if source == "csv" and groups in (o["features"] or ()):
        raise s.error("features", f"lists the groups column {groups!r}; group labels decide "
                      "the folds and must not be a feature: leave it out.")  # fmt: skip


def check_groups(file: str, data: DataSpec, cv: Any) -> None:
    """Refuses group labels without ``[cv] splitter = "GroupKFold"``, and the splitter without
    them: each is useless alone."""
    named, grouped = data.options.get("groups"), isinstance(cv, GroupKFold)
    if grouped and named is None:
        how = (f"add groups = ... to [data], the {GROUPS[data.source]} that holds them"
               if data.source in GROUPS else f"source {data.source!r} has none; use data from a "
               "file (source = 'csv', 'npz' or 'npy') with groups = ... in [data]")  # fmt: skip
        raise ConfigError(file, "cv", "splitter", f"'GroupKFold' needs a group label per "
                          f"sample; {how}.")  # fmt: skip
    if named is not None and not grouped:
        if cv is None:
            now = "there is no [cv] section"
        elif isinstance(cv, int):
            now = f"[cv] k = {cv} means KFold or StratifiedKFold, which ignore them"
        else:
            now = f"[cv] is {type(cv).__name__}, which ignores them"
        raise ConfigError(file, "data", "groups", f"group labels are only used by [cv] splitter "
                          f"= 'GroupKFold', but {now}; use it, or remove groups.")  # fmt: skip


def load_data(spec: DataSpec, *, file: str, base_dir: pathlib.Path, task: str | None) -> Data:
    """Loads the data a spec names; ``task`` (if not ``None``) decides how ``y`` is read.

    ``[data] groups`` are loaded as given (numbers, or text where a CSV cell is not a
    number) and checked for missing labels only: their length and count are GroupKFold's
    to check, with the features.

    Raises:
      ConfigError: naming ``file``, the ``[data]`` key and, for data files, the line and
        column of a bad value.
    """
    o, task, groups = spec.options, task or spec.task, None

    def error(key: str, message: str) -> ConfigError:
        return ConfigError(file, "data", key, message)

    def resolve(key: str) -> pathlib.Path:
        path = (base_dir / pathlib.Path(o[key]).expanduser()).resolve()
        if not path.is_file():
            raise error(key, f"no such file: {path}.")
        return path

    if spec.source == "linear":
        rng = np.random.default_rng(o["seed"])
        x = rng.uniform(-1.0, 1.0, (o["n_samples"], o["n_features"]))
        y = x @ np.asarray(o["a"]) + o["b"] + o["noise"] * rng.normal(size=o["n_samples"])
        names, natural, label = _names(x), "regression", "linear y = a·x + b + noise"
    elif spec.source == "classification":
        rng = np.random.default_rng(o["seed"])
        centres = o["separation"] * rng.normal(size=(o["n_classes"], o["n_features"]))
        y = rng.permutation(np.arange(o["n_samples"]) % o["n_classes"])
        x = centres[y] + o["noise"] * rng.normal(size=(o["n_samples"], o["n_features"]))
        names, natural, label = _names(x), "classification", f"{o['n_classes']} Gaussian blobs"
    elif spec.source == "sklearn":
        x, y, names = _sklearn(o["name"], error)
        natural, label = SKLEARN[o["name"]], f"scikit-learn {o['name']}"
    elif spec.source == "csv":
        path = resolve("path")
        x, y, names, groups = _csv(path, o, error)
        natural = "classification" if y.dtype.kind not in "biuf" else "regression"
        label = path.name
    else:
        if spec.source == "npy":
            path_x, path_y = resolve("x"), resolve("y")
            x, y = _npy(path_x, "x", error), _npy(path_y, "y", error)
            label, where = f"{path_x.name}, {path_y.name}", ("x", "y")
            if o["groups"] is not None:
                groups = _npy(resolve("groups"), "groups", error, check=_group_labels)
        else:
            path = resolve("path")
            x, y = _npz(path, o["x"], "x", error), _npz(path, o["y"], "y", error)
            label, where = path.name, ("path", "path")
            if o["groups"] is not None:
                groups = _npz(path, o["groups"], "groups", error, check=_group_labels)
        if x.ndim == 1:
            x = x[:, None]
        if len(x) != len(y):
            raise error(where[1], f"{label}: y has {len(y)} rows but x has {len(x)}; they must "
                        "have one row per sample.")  # fmt: skip
        _check_finite(x, label, "x", where[0], error)
        names, natural = _names(x), "classification" if y.dtype.kind in "biu" else "regression"
    task = task or natural
    if task == "classification":
        y, classes = _labels(y, label, error)
    else:
        if y.dtype.kind not in "biuf":
            raise error("task", f"{label}: the target holds text such as {y.flat[0]!r}, which "
                        "cannot be regressed; set task = 'classification'.")  # fmt: skip
        _check_finite(y, label, "y", "target" if spec.source == "csv" else "y", error)
        y, classes = y.astype(np.float32), None
    x = np.asarray(x, np.float32)
    shape = f"{x.shape[0]} samples x {x.shape[1]} feature{'s' * (x.shape[1] != 1)}"
    kind = task if classes is None else f"{task}, {len(classes)} classes"
    return Data(x, y, task, classes, names, f"{label}: {shape}, {kind}", groups)


def parse_cv(s: Section) -> Any:
    """Checks a ``[cv]`` table: an int ``k``, or a splitter built from its options."""
    if "k" in s.table or "splitter" not in s.table:
        if set(s.table) - {"k"}:
            raise s.error(None, f"give either k = 5 (KFold, or StratifiedKFold for class labels) "
                          f"or splitter = one of {list(SPLITTERS)} with its options; got keys "
                          f"{list(s.table)}.")  # fmt: skip
        return s.get("k", integer(2))
    cls = SPLITTERS[s.get("splitter", string(tuple(SPLITTERS)))]
    args = [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]
    kwargs = {a: s.table[a] for a in args if a in s.only(("splitter", *args)).table}
    if kwargs.get("shuffle") or cls is ShuffleSplit:  # fixed folds, so that a resume matches
        kwargs.setdefault("seed", 0)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        named = [a for a in kwargs if a in str(e)]
        raise s.error(named[0] if named else "splitter", str(e)) from None


def parse_validation(s: Section) -> tuple[float, int]:
    """Checks a ``[validation]`` table: the held-out fraction and the split's seed."""
    fraction = s.only(("fraction", "seed")).get("fraction", number(0.0, above=True))
    if not fraction < 1:
        raise s.error("fraction", f"must be a fraction in (0, 1); got {fraction!r}.")
    return fraction, s.get("seed", integer(0), 0)


def standardize(x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """``(x - mean) / std`` per feature, the statistics taken over ``rows`` (default all).

    A constant feature (standard deviation 0) is only centred.
    """
    fit = x if rows is None else x[rows]
    std = fit.std(axis=0)
    return ((x - fit.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(x.dtype)


def split_validation(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (train, validation) row indices: ``ceil(fraction * n)`` held out, at least one."""
    n_val = min(max(1, math.ceil(fraction * n)), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _names(x: np.ndarray) -> tuple[str, ...]:
    return tuple(f"x{j}" for j in range(x.shape[1]))


def _sklearn(name: str, error: Callable[[str, str], ConfigError]):
    try:
        from sklearn import datasets
    except ImportError:
        raise error(
            "name",
            f"scikit-learn's {name!r} data set needs scikit-learn: pip install 'jaxfit[sklearn]'.",
        ) from None
    bunch = getattr(datasets, f"load_{name}")()  # bundled with scikit-learn: no download
    return np.asarray(bunch.data), np.asarray(bunch.target), tuple(map(str, bunch.feature_names))


def _csv(path: pathlib.Path, o: Mapping[str, Any], error):
    """Features, target, feature names and the groups column (or None) of a CSV file."""
    target, features, delimiter, group = o["target"], o["features"], o["delimiter"], o["groups"]
    if len(delimiter) != 1:
        raise error("delimiter", f"must be one character; got {delimiter!r}.")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader, None)
        rows, lines = [], []
        for row in reader:
            if row and any(cell.strip() for cell in row):  # blank lines are not samples
                rows.append(row)
                lines.append(reader.line_num)
    if not header:
        raise error("path", f"{path.name} is empty; it needs a header row naming the columns.")
    header = [h.strip() for h in header]
    if len(set(header)) < len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise error("path", f"{path.name}: the header names the columns {twice} more than once.")
    if target not in header:
        raise error("target", f"no column {target!r} in {path.name}{suggest(target, header)}; "
                    f"its columns are {header}.")  # fmt: skip
    names = [h for h in header if h not in (target, group)] if features is None else features
    for key, wanted in (("features", names), ("groups", [group] if group is not None else [])):
        for f in wanted:
            if f not in header:
                raise error(key, f"no column {f!r} in {path.name}{suggest(f, header)}; its "
                            f"columns are {header}.")  # fmt: skip
    if target in names:
        raise error("features", f"lists the target column {target!r}.")
    if not names:
        raise error("features", f"{path.name} has no feature columns besides {target!r}.")
    if not rows:
        raise error("path", f"{path.name} has a header but no data rows.")
    for row, line in zip(rows, lines, strict=True):
        if len(row) != len(header):
            raise error(
                "path",
                f"{path.name} line {line} has {len(row)} fields but the header has {len(header)}.",
            )
    columns = {h: [row[j].strip() for row in rows] for j, h in enumerate(header)}
    x = np.stack([_floats(columns[f], f, path.name, lines, "path", error) for f in names], axis=1)
    y_text = columns[target]
    try:
        y = _floats(y_text, target, path.name, lines, "target", error)
    except ConfigError:
        if any(not v for v in y_text):  # a missing label is an error for any task
            raise
        y = np.asarray(y_text)  # text labels: fine for classification, refused for regression
    groups = None
    if group is not None:
        groups = _csv_groups(columns[group], group, path.name, lines, error)
    return x, y, tuple(names), groups


def _csv_groups(cells: list[str], column: str, name: str, lines: list[int], error) -> np.ndarray:
    """A group label per row: numbers if every cell is a finite number, else the text."""
    for cell, line in zip(cells, lines, strict=True):
        if not cell:
            raise error("groups", f"{name} line {line}, column {column!r}: the group label is "
                        "empty; every sample needs one.")  # fmt: skip
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        return np.asarray(cells)
    return values if np.isfinite(values).all() else np.asarray(cells)


def _floats(cells: list[str], column: str, name: str, lines: list[int], key: str, error):
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.isfinite(values).all():
        return values
    for cell, line in zip(cells, lines, strict=True):
        try:
            ok = math.isfinite(float(cell))
            problem = "is not finite (NaN or infinite)"
        except ValueError:
            ok, problem = False, "is empty" if not cell else "is not a number"
        if not ok:
            raise error(key, f"{name} line {line}, column {column!r}: the value {cell!r} "
                        f"{problem}; every value must be a finite number (remove or impute "
                        "missing values first).")  # fmt: skip
    raise AssertionError("unreachable: some cell failed")  # pragma: no cover


def _npy(path: pathlib.Path, key: str, error, check=None) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise error(key, f"{path.name} is not a readable .npy array: {e}.") from None
    return (check or _array)(a, path.name, key, error)


def _npz(path: pathlib.Path, name: str, key: str, error, check=None) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError) as e:
        raise error(key, f"{path.name} is not a readable .npz archive: {e}.") from None
    if name not in arrays:
        raise error(key, f"{path.name} has no array {name!r}{suggest(name, list(arrays))}; it "
                    f"holds {list(arrays)}.")  # fmt: skip
    return (check or _array)(arrays[name], f"{path.name}[{name!r}]", key, error)


def _array(a: np.ndarray, label: str, key: str, error) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise error(key, f"{label} has dtype {a.dtype}; it must hold numbers.")
    if a.ndim not in (1, 2) or len(a) == 0:
        raise error(key, f"{label} has shape {a.shape}; it must be (n,) or (n, d) with n >= 1.")
    return a


def _group_labels(a: np.ndarray, label: str, key: str, error) -> np.ndarray:
    """Group labels from a NumPy file: numbers or strings, none missing (NaN)."""
    if a.dtype.kind not in "biufUS":
        raise error(key, f"{label} has dtype {a.dtype}; group labels must be numbers or strings.")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise error(key, f"{label} holds NaN or infinite values; every sample needs a group "
                    "label.")  # fmt: skip
    return a


def _check_finite(a: np.ndarray, label: str, what: str, key: str, error) -> None:
    if a.dtype.kind != "f":
        return
    bad = ~np.isfinite(a.reshape(len(a), -1))
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        where = f"row {row}" + (f", column {col}" if a.ndim == 2 else "")
        raise error(key, f"{label}: {what} has {int(bad.sum())} non-finite value(s) (NaN or "
                    f"infinite), the first at {where}; remove or impute them.")  # fmt: skip


def _labels(y: np.ndarray, label: str, error) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Class labels as indices ``0 .. k-1`` into the sorted distinct values."""
    if y.ndim != 1:
        raise error(
            "task", f"{label}: classification needs one label per sample; y has shape {y.shape}."
        )
    if y.dtype.kind == "f" and not (np.isfinite(y).all() and (y == np.round(y)).all()):
        raise error("task", f"{label}: classification needs whole-number or text labels; the "
                    "target holds fractions (for regression set task = 'regression').")  # fmt: skip
    classes, index = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise error(
            "task",
            f"{label}: classification needs at least 2 classes; y holds only {classes.tolist()}.",
        )
    plain = tuple(int(c) if y.dtype.kind == "f" else c.item() for c in classes)
    return index.astype(np.int32), plain
