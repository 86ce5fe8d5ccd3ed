"""Construction-time checks of ``SweepResult`` and ``GroupInfo`` (shapes, dtypes, partitions)."""

from __future__ import annotations

import json
import numbers
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from .._checks import is_int
from .._hp import is_hyperparams
from .._training import CAUSES
from .serialize import is_plain

if TYPE_CHECKING:
    from .result import GroupInfo, SweepResult

_SCALARS = frozenset((type(None), bool, int, float, str))


def check_group(g: GroupInfo) -> None:
    """Checks a ``GroupInfo`` and stores its numbers as Python ``int``/``float``."""
    put = lambda name, v: object.__setattr__(g, name, v)  # noqa: E731
    if not isinstance(g.static_key, tuple) or not is_plain(g.static_key):
        raise TypeError(
            f"GroupInfo.static_key={g.static_key!r:.80} must be a tuple of plain values, as "
            "jaxfit.static_key returns."
        )
    idx = np.asarray(g.indices)
    if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
        raise ValueError(
            f"GroupInfo.indices must be a non-empty 1-D int array; got {idx.dtype} of shape "
            f"{idx.shape}."
        )
    put("indices", idx)
    for name in ("compile_s", "run_s", "bytes_per_row", "bytes_per_chunk"):
        v = getattr(g, name)
        if v is None and name.startswith("bytes"):
            continue
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not float(v) >= 0:
            raise ValueError(f"GroupInfo.{name}={v!r} must be a number >= 0.")
        put(name, float(v))
    for name in ("chunk_size", "n_chunks"):
        v = getattr(g, name)
        if not is_int(v) or v < 0:
            raise ValueError(f"GroupInfo.{name}={v!r} must be an int >= 0.")
        put(name, int(v))


def check_result(r: SweepResult, group_type: type[GroupInfo]) -> None:
    """Checks a ``SweepResult``'s fields against each other; stores tuples and numpy arrays.

    ``group_type`` is ``GroupInfo``, passed in because ``result.py`` imports this module.
    """
    put = lambda name, v: object.__setattr__(r, name, v)  # noqa: E731
    hps = tuple(_seq("hyperparams", r.hyperparams))
    if not hps:
        raise ValueError("SweepResult.hyperparams is empty; a sweep has at least one setting.")
    plain: set[int] = set()  # ids of containers already checked (settings share them)
    for i, h in enumerate(hps):
        if not isinstance(h, dict):
            raise TypeError(f"SweepResult.hyperparams[{i}] is a {type(h).__name__}; need a dict.")
        for k, v in h.items():
            if type(k) is str and (type(v) in _SCALARS or id(v) in plain):
                continue
            if isinstance(k, str) and is_plain(v):
                plain.add(id(v))
            else:
                raise TypeError(
                    f"SweepResult.hyperparams[{i}][{k!r}]={v!r:.60} ({type(v).__name__}): need "
                    "str keys and plain values (None, bool, int, float, str, tuples and lists "
                    "of them), as jaxfit.to_dict returns."
                )
    put("hyperparams", hps)
    put("varied", tuple(_seq("varied", r.varied)))
    for f in r.varied:
        if not all(f in h for h in hps):
            raise ValueError(f"SweepResult.varied names {f!r}, which is not in every setting.")
    if not is_int(r.seeds) or r.seeds < 1:
        raise ValueError(f"SweepResult.seeds={r.seeds!r} must be an int >= 1.")
    put("seeds", int(r.seeds))
    if not is_int(r.folds) or r.folds < 1:
        raise ValueError(f"SweepResult.folds={r.folds!r} must be an int >= 1.")
    put("folds", int(r.folds))
    _check_outcomes(r, (len(hps), r.seeds * r.folds))
    groups = tuple(_seq("groups", r.groups))
    if not groups or not all(isinstance(g, group_type) for g in groups):
        raise TypeError("SweepResult.groups must be a non-empty tuple of GroupInfo.")
    put("groups", groups)
    _check_partition(groups, len(hps))
    if r.group_params is not None:
        put("group_params", _check_params(r.group_params, groups, r.seeds * r.folds))
    if not isinstance(r.info, dict):
        raise TypeError(f"SweepResult.info must be a dict; got {type(r.info).__name__}.")
    try:
        json.dumps(r.info)
    except (TypeError, ValueError) as e:
        raise TypeError(f"SweepResult.info must be JSON-serialisable: {e}") from None
    if r.base is not None and not is_hyperparams(r.base):
        raise TypeError(
            f"SweepResult.base must be a hyperparameter instance or None; got {r.base!r:.80}."
        )


def _check_outcomes(r: SweepResult, shape: tuple[int, int]) -> None:
    """The (N, S) metrics and divergence fields, the curves and val_steps."""
    put = lambda name, v: object.__setattr__(r, name, v)  # noqa: E731
    if not isinstance(r.metrics, dict) or not isinstance(r.greater_is_better, dict):
        raise TypeError("SweepResult.metrics and greater_is_better must be dicts.")
    if not all(isinstance(m, str) for m in r.metrics):
        raise TypeError(f"SweepResult.metrics needs str names; got {list(r.metrics)}.")
    put("metrics", {m: _array(f"metrics[{m!r}]", v, shape, "f") for m, v in r.metrics.items()})
    directions = r.greater_is_better
    if set(directions) != set(r.metrics) or not all(
        isinstance(v, bool) for v in directions.values()
    ):
        raise ValueError(
            f"SweepResult.greater_is_better={directions!r} must map every metric "
            f"{list(r.metrics)} (and nothing else) to a bool."
        )
    diverged = _array("diverged", r.diverged, shape, "b")
    step = _array("diverged_step", r.diverged_step, shape, "iu")
    cause = _array("cause", r.cause, shape, "iu")
    if np.any((cause < 0) | (cause >= len(CAUSES))):
        raise ValueError(f"SweepResult.cause holds values outside 0..{len(CAUSES) - 1} (CAUSES).")
    if np.any(diverged != (cause != 0)) or np.any(diverged != (step >= 0)):
        raise ValueError(
            "SweepResult.diverged, cause and diverged_step disagree: a diverged run needs a "
            "cause other than 0 ('none') and a step >= 0; any other run cause 0 and step -1."
        )
    for name, v in (("diverged", diverged), ("diverged_step", step), ("cause", cause)):
        put(name, v)
    _mask_diverged(r, shape, diverged)
    for name in ("train_curves", "val_curves"):
        put(name, _array(name, getattr(r, name), shape, "f", curves=True))
    val_steps = tuple(tuple(v) for v in _seq("val_steps", r.val_steps))
    n, v_len = shape[0], r.val_curves.shape[2]
    if not all(is_int(step) for v in val_steps for step in v):
        raise TypeError(f"SweepResult.val_steps must hold ints; got {val_steps!r:.80}.")
    val_steps = tuple(tuple(int(step) for step in v) for v in val_steps)
    if len(val_steps) != n or any(len(v) > v_len for v in val_steps):
        raise ValueError(
            f"SweepResult.val_steps needs one tuple per setting ({n}), each at most {v_len} "
            f"long (val_curves' last axis); got {[len(v) for v in val_steps][:10]} lengths."
        )
    put("val_steps", val_steps)


def _mask_diverged(r: SweepResult, shape: tuple[int, int], diverged: np.ndarray) -> None:
    """Checks ``last_good_metrics`` and makes ``metrics`` NaN for every diverged run.

    A sweep's metrics arrive NaN already (``jaxfit.fit``'s rule); a result built by hand or
    saved before there was ``last_good_metrics`` may hold the last good values instead:
    they become ``last_good_metrics`` when that is not given.
    """
    given = r.last_good_metrics
    if not isinstance(given, dict):
        raise TypeError(
            f"SweepResult.last_good_metrics must be a dict; got {type(given).__name__}."
        )
    if not given:  # not given: the metrics as passed are the last good ones
        given = r.metrics
    elif set(given) != set(r.metrics):
        raise ValueError(
            f"SweepResult.last_good_metrics has the metrics {list(given)}; it needs the same "
            f"names as metrics, {list(r.metrics)}, or to be empty (then metrics are used)."
        )
    last_good, metrics = {}, {}
    for m, v in r.metrics.items():
        good = _array(f"last_good_metrics[{m!r}]", given[m], shape, "f")
        if not np.array_equal(good[~diverged], v[~diverged], equal_nan=True):
            raise ValueError(
                f"SweepResult.last_good_metrics[{m!r}] differs from metrics[{m!r}] for a run "
                "that did not diverge; the two differ only for diverged runs."
            )
        last_good[m] = good
        if np.isnan(v[diverged]).all():
            metrics[m] = v
        else:
            metrics[m] = v.copy()
            metrics[m][diverged] = np.nan
    object.__setattr__(r, "last_good_metrics", last_good)
    object.__setattr__(r, "metrics", metrics)


def _check_partition(groups: tuple[GroupInfo, ...], n: int) -> None:
    idx = np.concatenate([g.indices for g in groups])
    counts = np.bincount(idx[(idx >= 0) & (idx < n)], minlength=n)
    bad = {
        "out of range": sorted(set(idx[(idx < 0) | (idx >= n)].tolist())),
        "missing": np.flatnonzero(counts == 0).tolist(),
        "in several groups": np.flatnonzero(counts > 1).tolist(),
    }
    detail = "; ".join(f"{k}: {v[:10]}" for k, v in bad.items() if v)
    if detail:
        raise ValueError(f"SweepResult.groups' indices must partition range({n}): {detail}.")


def _check_params(params: Any, groups: tuple[GroupInfo, ...], seeds: int) -> tuple[Any, ...]:
    trees = tuple(_seq("group_params", params))
    if len(trees) != len(groups):
        raise ValueError(
            f"SweepResult.group_params has {len(trees)} trees; need one per group "
            f"({len(groups)}), aligned with groups."
        )
    for g, tree in enumerate(trees):
        lead = (groups[g].indices.size, seeds)
        for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
            if np.shape(leaf)[:2] != lead:
                raise ValueError(
                    f"SweepResult.group_params[{g}]{jax.tree_util.keystr(path)} has shape "
                    f"{np.shape(leaf)}; its leading axes must be (n_g, S) = {lead}."
                )
    return trees


def _array(name: str, value: Any, shape: tuple[int, int], kinds: str, curves: bool = False):
    arr = np.asarray(value)
    if arr.shape[:2] != shape or arr.ndim != 2 + curves or arr.dtype.kind not in kinds:
        want = {"f": "float", "b": "bool", "iu": "int"}[kinds]
        dims = f"({shape[0]}, {shape[1]}{', T' if curves else ''})"
        raise ValueError(
            f"SweepResult.{name} must be a {want} array of shape {dims} (settings, seeds"
            f"{', steps' if curves else ''}); got {arr.dtype} of shape {arr.shape}."
        )
    return arr


def _seq(name: str, value: Any) -> tuple | list:
    if not isinstance(value, tuple | list):
        raise TypeError(f"SweepResult.{name} must be a tuple; got {type(value).__name__}.")
    return value
