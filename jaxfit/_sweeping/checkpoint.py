"""Resumable sweeps: a fingerprinted directory of atomically written chunk files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import tempfile
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

__all__ = ["Checkpoint", "fingerprint"]

_MANIFEST = "manifest.json"


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray | np.generic):
            a = np.ascontiguousarray(p)
            h.update(str((a.shape, a.dtype.str)).encode())
            h.update(a.tobytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=repr).encode())
        h.update(b"\x00")
    return h.hexdigest()[:16]


def _qualname(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def fingerprint(
    *,
    version: str,
    model: Any,
    loss: str,
    metrics: tuple[str, ...],
    optimizer: Any,
    options: Mapping[str, Any],
    settings: list[dict[str, Any]],
    seeds: int,
    root: np.ndarray,
    arrays: list[np.ndarray],
    keep_params: bool,
) -> dict[str, str]:
    """Hashes of everything that decides a sweep's numbers, one per component (and
    whether its chunks hold the trained parameters: a chunk without them cannot serve a
    sweep that keeps them)."""
    return {
        "jaxfit version": version,
        "model": _digest(model.name, _qualname(model.init), _qualname(model.apply)),
        "loss and metrics": _digest(loss, list(metrics)),
        "optimizer": _digest(_qualname(optimizer)),
        "options": _digest(dict(options)),
        "space": _digest(settings, seeds),
        "key": _digest(root),
        "data": _digest(*arrays),
        "keep_params": str(bool(keep_params)),
    }


@dataclasses.dataclass
class Checkpoint:
    """A directory holding one sweep's finished chunks.

    Each chunk is one ``.npz`` file written to a temporary name and renamed into place,
    so a sweep killed at any moment leaves only whole chunks behind.
    """

    path: pathlib.Path

    @classmethod
    def open(cls, path: str | os.PathLike, prints: dict[str, str]) -> Checkpoint:
        """Opens (or creates) ``path``, refusing one that belongs to a different sweep."""
        p = pathlib.Path(path)
        if p.exists() and not p.is_dir():
            raise ValueError(f"checkpoint_dir={str(p)!r} exists and is not a directory.")
        p.mkdir(parents=True, exist_ok=True)
        if jax.process_index() == 0:  # the only writer; others must not race it
            for stale in p.glob(".tmp-*"):  # left by a run killed while writing
                stale.unlink(missing_ok=True)
        manifest = p / _MANIFEST
        if manifest.exists():
            try:
                stored = json.loads(manifest.read_text())["fingerprint"]
            except (ValueError, KeyError) as e:
                raise ValueError(
                    f"checkpoint_dir={str(p)!r} has an unreadable {_MANIFEST} ({e}); it is not "
                    "a jaxfit sweep checkpoint. Use an empty or new directory."
                ) from None
            differ = sorted(
                k for k in prints.keys() | stored.keys() if prints.get(k) != stored.get(k)
            )
            if differ:
                raise ValueError(
                    f"checkpoint_dir={str(p)!r} holds a different sweep: it differs in "
                    f"{', '.join(differ)}. Refusing to mix results; use a new directory, or "
                    "delete this one to start over."
                )
        elif jax.process_index() == 0:  # the other processes of a multi-host sweep only read
            if any(p.iterdir()):
                raise ValueError(
                    f"checkpoint_dir={str(p)!r} is not empty and has no {_MANIFEST}: it is not a "
                    "jaxfit sweep checkpoint. Use an empty or new directory."
                )
            _atomic_write(manifest, json.dumps({"fingerprint": prints}, indent=2).encode())
        return cls(p)

    def load(self, group: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        """The finished chunks of ``group``: (global row ids, flattened result leaves)."""
        out = []
        for f in sorted(self.path.glob(f"group{group:04d}-*.npz")):
            with np.load(f, allow_pickle=False) as z:
                n = int(z["n_leaves"])
                out.append((z["rows"], [z[f"leaf{i}"] for i in range(n)]))
        return out

    def save(self, group: int, rows: np.ndarray, leaves: list[np.ndarray]) -> None:
        """Writes one finished chunk atomically (in a multi-host sweep, process 0 writes)."""
        if jax.process_index() != 0:  # every process holds the same gathered chunk
            return
        arrays: dict[str, Any] = {f"leaf{i}": leaf for i, leaf in enumerate(leaves)}
        arrays["rows"] = rows
        arrays["n_leaves"] = np.asarray(len(leaves))
        name = f"group{group:04d}-{int(rows[0]):010d}.npz"
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / name)
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise


def _atomic_write(path: pathlib.Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
