"""Pickle-free storage of sweep results: tagged JSON for values and trees, atomic directories.

A saved result is a directory holding ``result.json`` (everything that is not an array) and
``arrays.npz`` (every array, read back with ``allow_pickle=False``). Nothing is pickled, so
loading a result from an untrusted source cannot run code.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import jax
import ml_dtypes
import numpy as np

FORMAT = "jaxfit.SweepResult"
VERSION = 1
_JSON, _NPZ = "result.json", "arrays.npz"
_PLAIN = (type(None), bool, int, float, str)


def is_plain(value: Any) -> bool:
    """Whether ``value`` is what ``jaxfit.to_dict`` returns: scalars, tuples and lists."""
    if type(value) in _PLAIN:  # the common case, without isinstance's subclass walk
        return True
    if isinstance(value, tuple | list):
        return all(is_plain(v) for v in value)
    return isinstance(value, _PLAIN)


def encode_value(value: Any) -> Any:
    """A plain value as JSON, tuples tagged ``{"tuple": [...]}`` so they come back as tuples.

    Plain values never contain dicts, so every JSON object in the encoding is a tag.
    """
    if isinstance(value, tuple):
        return {"tuple": [encode_value(v) for v in value]}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    return value


def decode_value(value: Any) -> Any:
    """Inverse of :func:`encode_value`."""
    if isinstance(value, dict):
        return tuple(decode_value(v) for v in value["tuple"])
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def encode_tree(tree: Any, leaves: list[np.ndarray], where: str) -> Any:
    """The structure of a pytree as JSON; its array leaves are appended to ``leaves``.

    Only ``dict`` (with ``str`` keys), ``list``, ``tuple`` and ``None`` nodes are supported:
    other node types would need their class, which only pickle could restore.
    """
    kind = type(tree)
    if tree is None:
        return None
    if kind is dict:
        for k in tree:
            if type(k) is not str:
                raise TypeError(
                    f"{where} has the dict key {k!r} ({type(k).__name__}); only str keys can be "
                    "saved. Convert the keys to strings, or save with params=False."
                )
        return {"dict": {k: encode_tree(v, leaves, f"{where}[{k!r}]") for k, v in tree.items()}}
    if kind is list or kind is tuple:
        items = [encode_tree(v, leaves, f"{where}[{i}]") for i, v in enumerate(tree)]
        return {kind.__name__: items}
    if isinstance(tree, np.ndarray | np.generic | jax.Array):
        arr = np.asarray(tree)
        node: dict[str, Any] = {"leaf": len(leaves)}
        if arr.dtype.kind == "O":
            raise TypeError(f"{where} is an object array; only numeric arrays can be saved.")
        if np.dtype(arr.dtype.str) != arr.dtype:  # bfloat16 & co.: npz stores them as raw bytes
            node["dtype"] = arr.dtype.name
            arr = arr.view(f"u{arr.dtype.itemsize}")
        leaves.append(arr)
        return node
    what = "pytree node type" if not jax.tree_util.all_leaves([tree]) else "leaf type"
    raise TypeError(
        f"{where} is a {kind.__module__}.{kind.__qualname__}, a {what} that cannot be saved "
        "without pickle. Convert the parameters to nested dicts, lists and tuples of arrays "
        "(for a dataclass, dataclasses.asdict), or save with params=False."
    )


def decode_tree(node: Any, leaves: dict[int, np.ndarray]) -> Any:
    """Inverse of :func:`encode_tree`, given the leaves by their number."""
    if node is None:
        return None
    if "leaf" in node:
        arr = leaves[node["leaf"]]
        return arr.view(np.dtype(getattr(ml_dtypes, node["dtype"]))) if "dtype" in node else arr
    if "dict" in node:
        return {k: decode_tree(v, leaves) for k, v in node["dict"].items()}
    if "list" in node:
        return [decode_tree(v, leaves) for v in node["list"]]
    return tuple(decode_tree(v, leaves) for v in node["tuple"])


_OUTCOMES = ("diverged", "diverged_step", "cause", "train_curves", "val_curves")


def to_files(r: Any, params: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A ``SweepResult`` as ``(doc, arrays)``: the JSON document and the npz arrays."""
    arrays = {f"metric_{j}": a for j, a in enumerate(r.metrics.values())}
    arrays |= {f"last_good_{j}": r.last_good_metrics[m] for j, m in enumerate(r.metrics)}
    arrays |= {f: getattr(r, f) for f in _OUTCOMES}
    arrays |= {f"indices_{g}": grp.indices for g, grp in enumerate(r.groups)}
    trees = None
    if params and r.group_params is not None:
        trees = []
        for g, tree in enumerate(r.group_params):
            leaves: list[np.ndarray] = []
            trees.append(encode_tree(tree, leaves, f"params[{g}]"))
            arrays |= {f"params_{g}_{j}": a for j, a in enumerate(leaves)}
    meta = (
        "static_key",
        "compile_s",
        "run_s",
        "chunk_size",
        "n_chunks",
        "bytes_per_row",
        "bytes_per_chunk",
    )
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "hyperparams": [{k: encode_value(v) for k, v in h.items()} for h in r.hyperparams],
        "varied": list(r.varied),
        "seeds": r.seeds,
        "folds": r.folds,
        "metrics": list(r.metrics),
        "greater_is_better": r.greater_is_better,
        "val_steps": [list(v) for v in r.val_steps],
        "groups": [{k: encode_value(getattr(grp, k)) for k in meta} for grp in r.groups],
        "params": trees,
        "info": r.info,
    }
    return doc, arrays


def from_files(path: str | os.PathLike) -> dict[str, Any]:
    """Reads a saved result: the ``SweepResult`` fields, groups as dicts of ``GroupInfo``."""
    doc, arrays = read_dir(path)
    try:
        trees = doc["params"]
        if trees is not None:
            trees = tuple(
                decode_tree(t, _numbered(arrays, f"params_{g}_")) for g, t in enumerate(trees)
            )
        return {
            "hyperparams": tuple(
                {k: decode_value(v) for k, v in h.items()} for h in doc["hyperparams"]
            ),
            "varied": tuple(doc["varied"]),
            "seeds": doc["seeds"],
            "folds": doc.get("folds", 1),
            "metrics": {m: arrays[f"metric_{j}"] for j, m in enumerate(doc["metrics"])},
            # Saved before last_good_metrics existed: its metrics are the last good values
            # (an empty dict has the constructor take them and mask the diverged runs).
            "last_good_metrics": {
                m: arrays[f"last_good_{j}"]
                for j, m in enumerate(doc["metrics"])
                if f"last_good_{j}" in arrays
            },
            "greater_is_better": doc["greater_is_better"],
            **{f: arrays[f] for f in _OUTCOMES},
            "val_steps": tuple(tuple(v) for v in doc["val_steps"]),
            "group_params": trees,
            "groups": [
                {**{k: decode_value(v) for k, v in meta.items()}, "indices": arrays[f"indices_{g}"]}
                for g, meta in enumerate(doc["groups"])
            ],
            "info": doc["info"],
        }
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"{str(path)!r} holds an incomplete or damaged SweepResult: {e!r}.") from e


def _numbered(arrays: dict[str, np.ndarray], prefix: str) -> dict[int, np.ndarray]:
    return {int(k[len(prefix) :]): v for k, v in arrays.items() if k.startswith(prefix)}


def _is_result_dir(path: Path) -> bool:
    if path.is_symlink() or not path.is_dir():
        return False
    if not set(os.listdir(path)) <= {_JSON, _NPZ}:
        return False
    try:
        with open(path / _JSON) as f:
            return json.load(f).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def write_dir(path: str | os.PathLike, doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Writes ``doc`` and ``arrays`` into directory ``path``, atomically.

    Everything is written into a hidden sibling directory first and renamed onto ``path``
    only when complete, so a crash never leaves a half-written result. An existing saved
    result at ``path`` is replaced; anything else there is refused.
    """
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not _is_result_dir(path):
        raise FileExistsError(
            f"{str(path)!r} exists and is not a saved SweepResult; refusing to overwrite it. "
            "Choose another path or remove it first."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:12]}")
    tmp.mkdir()
    try:
        with open(tmp / _NPZ, "wb") as f:
            np.savez(f, allow_pickle=False, **arrays)
            f.flush()
            os.fsync(f.fileno())
        with open(tmp / _JSON, "w") as f:
            json.dump(doc, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        _swap(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(tmp: Path, path: Path) -> None:
    # POSIX cannot rename a directory onto a non-empty one: move the old result aside first.
    if not path.exists():
        os.replace(tmp, path)
        return
    old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:12]}")
    os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def read_dir(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Reads what :func:`write_dir` wrote: ``(doc, arrays)``, arrays loaded without pickle."""
    path = Path(path)
    if not (path / _JSON).is_file() or not (path / _NPZ).is_file():
        raise FileNotFoundError(
            f"{str(path)!r} is not a saved SweepResult: it needs {_JSON} and {_NPZ} (written by "
            "SweepResult.save)."
        )
    with open(path / _JSON) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{str(path / _JSON)!r} is not a saved SweepResult (format {FORMAT!r}).")
    if doc.get("version") != VERSION:
        raise ValueError(
            f"{str(path)!r} was saved in format version {doc.get('version')!r}; this jaxfit reads "
            f"version {VERSION}. Load it with the jaxfit version that saved it."
        )
    with np.load(path / _NPZ, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return doc, arrays
