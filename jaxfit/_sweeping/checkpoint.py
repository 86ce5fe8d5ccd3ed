"""Resumable sweeps: a fingerprinted directory of checksummed, atomically written chunks.

A checkpoint must never hand one sweep's numbers to another, so its fingerprint covers what
decides them: the data, the settings, the key and the rule that derives each row's key
from it, the shapes of the parameters and outputs, and the *code and captured values* of
every user callable (model, loss, metrics, optimizer factory), not just their names. Each
chunk carries the sweep's fingerprint, its row ids and a checksum of its arrays; a damaged
or foreign chunk is trained again, with a warning.

One process writes a directory at a time: it holds an advisory lock (``fcntl.flock`` on
``.lock``, which also names its pid) for as long as the sweep runs; a second process that
would write there is refused with an error naming the directory and the holder's pid. A
finished checkpoint in a read-only directory resumes without writing anything.
"""

from __future__ import annotations

import dataclasses
import enum
import errno
import fcntl
import functools
import hashlib
import json
import os
import pathlib
import re
import socket
import tempfile
import types
import warnings
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from .._training import apply_model, init_model

__all__ = [
    "Checkpoint",
    "callable_digest",
    "fingerprint",
    "model_shapes",
    "objective_fingerprint",
]

_MANIFEST = "manifest.json"
_LOCK = ".lock"
# Temporary files are named after their writer (host, pid), so that only a dead writer's
# leftovers are removed: deleting a live writer's file would kill its sweep.
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMP = re.compile(r"^\.tmp-([0-9a-f]{8})-(\d+)-")
# Callables of these packages are named, not hashed: their behaviour is fixed by their
# version (jaxfit's own version is part of the fingerprint).
_LIBRARIES = frozenset(
    {"builtins", "math", "operator", "functools", "numpy", "jax", "jaxlib", "optax", "scipy",
     "jaxfit", "flax", "equinox", "chex"}
)  # fmt: skip
_FIX = (
    "Use a named top-level function that reads only numbers, strings, tuples and arrays "
    "(pass other choices as static hyperparameters), or pass checkpoint_key='...' to "
    "jaxfit.sweep: a string you promise identifies the callables' behaviour (change it "
    "whenever that behaviour changes)."
)


# ----------------------------------------------------------------------------- fingerprints


class Unfingerprintable(ValueError):
    """A value whose behaviour cannot be told from its contents."""


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


def _is_library(obj: Any) -> bool:
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and module.split(".")[0] in _LIBRARIES


class _Hasher:
    """Feeds a value's behaviour-deciding contents into a sha256, depth first."""

    def __init__(self) -> None:
        self.h = hashlib.sha256()
        self.active: set[int] = set()  # ids on the current path: a cycle is hashed once

    def put(self, *tokens: Any) -> None:
        for t in tokens:
            self.h.update(t if isinstance(t, bytes) else repr(t).encode())
            self.h.update(b"\x00")

    def feed(self, obj: Any, where: str) -> None:
        if obj is None or type(obj) in (bool, int, float, complex, str, bytes):
            return self.put(type(obj).__name__, obj)
        if obj is Ellipsis or type(obj) in (slice, range):  # x[..., :1]: constants in code
            return self.put(type(obj).__name__, repr(obj))
        if isinstance(obj, types.ModuleType):
            return self.put("module", obj.__name__)
        if isinstance(obj, type):
            return self.put("type", obj.__module__, obj.__qualname__)
        if isinstance(obj, np.dtype):
            return self.put("dtype", obj.str)
        if isinstance(obj, enum.Enum):
            return self.put("enum", type(obj).__qualname__, obj.name)
        if isinstance(obj, np.ndarray | np.generic | jax.Array):
            return self.array(obj, where)
        if id(obj) in self.active:
            return self.put("cycle")
        self.active.add(id(obj))
        try:
            self.compound(obj, where)
        finally:
            self.active.discard(id(obj))

    def array(self, obj: Any, where: str) -> None:
        if isinstance(obj, jax.Array) and jax.dtypes.issubdtype(obj.dtype, jax.dtypes.prng_key):
            obj = jax.random.key_data(obj)
        a = np.ascontiguousarray(np.asarray(obj))
        if a.dtype.hasobject:
            raise Unfingerprintable(f"{where} is an array of Python objects")
        self.put("array", a.shape, a.dtype.str, hashlib.sha256(a.tobytes()).digest())

    def compound(self, obj: Any, where: str) -> None:
        if isinstance(obj, tuple | list):
            self.put(type(obj).__qualname__, len(obj))
            for i, v in enumerate(obj):
                self.feed(v, f"{where}[{i}]")
        elif isinstance(obj, dict):
            self.put("dict", len(obj))
            for k, v in sorted(obj.items(), key=lambda kv: repr(kv[0])):
                self.feed(k, where)
                self.feed(v, f"{where}[{k!r}]")
        elif isinstance(obj, set | frozenset):
            self.put("set", sorted(callable_digest(v, where) for v in obj))
        elif isinstance(obj, functools.partial):
            self.put("partial")
            self.feed(obj.func, where)
            self.feed(obj.args, f"{where}'s partial arguments")
            self.feed(obj.keywords, f"{where}'s partial keywords")
        elif isinstance(obj, types.MethodType):
            self.put("method")
            self.feed(obj.__func__, where)
            self.feed(obj.__self__, f"{where}'s object")
        elif isinstance(obj, types.FunctionType):
            self.function(obj, where)
        elif isinstance(obj, types.CodeType):
            self.code(obj, where)
        elif dataclasses.is_dataclass(obj):
            self.put("dataclass", type(obj).__module__, type(obj).__qualname__)
            for f in dataclasses.fields(obj):
                self.put(f.name)
                self.feed(getattr(obj, f.name), f"{where}.{f.name}")
        elif callable(obj) and _is_library(obj):  # builtins, ufuncs, jitted jax functions
            self.put("library", obj.__module__, getattr(obj, "__qualname__", type(obj).__name__))
        elif callable(obj) and callable(getattr(obj, "__wrapped__", None)):  # jax.jit(f), ...
            self.put("wrapper", type(obj).__qualname__)
            self.feed(obj.__wrapped__, where)  # pyright: ignore[reportFunctionMemberAccess]
        else:
            kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
            why = (
                "a callable object without __code__"
                if callable(obj)
                else "an object without a stable value"
            )
            raise Unfingerprintable(f"{where} is {why} ({kind})")

    def function(self, fn: types.FunctionType, where: str) -> None:
        self.put("function")
        self.code(fn.__code__, where)
        self.feed(fn.__defaults__, f"{where}'s defaults")
        self.feed(fn.__kwdefaults__, f"{where}'s keyword defaults")
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
            try:
                value = cell.cell_contents
            except ValueError:  # a cell not yet filled
                value = None
            self.put(name)
            self.feed(value, f"{where} (which closes over {name!r})")
        if _is_library(fn):  # its globals are the library's own
            return
        for name in sorted(_global_names(fn.__code__)):
            if name in fn.__globals__:
                self.put(name)
                self.feed(fn.__globals__[name], f"{where} (which reads the global {name!r})")

    def code(self, code: types.CodeType, where: str) -> None:
        self.put("code", code.co_code, code.co_names, code.co_argcount, code.co_kwonlyargcount)
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                self.code(c, where)
            else:
                self.feed(c, where)


def _global_names(code: types.CodeType) -> set[str]:
    """The names a code object and its nested ones look up (globals and attributes)."""
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _global_names(c)
    return names


def callable_digest(obj: Any, where: str) -> str:
    """A hash of what decides ``obj``'s behaviour: code, captured values and defaults.

    Numbers, strings and tuples count by value, arrays by content, functions by their code
    and what they capture (closure cells, defaults, the globals they read, a
    ``functools.partial``'s arguments), dataclasses by their fields, library functions by
    name. Raises :class:`Unfingerprintable` (a ValueError) naming ``where`` for anything else.
    """
    hasher = _Hasher()
    hasher.feed(obj, where)
    return hasher.h.hexdigest()[:16]


def model_shapes(model: Any, key: jax.Array, x: Any, hps: list[Any]) -> list[str]:
    """The structure, shapes and dtypes of the parameters and predictions of ``model`` on
    ``x`` under each setting of ``hps`` (one per static group), traced, nothing computed."""
    out = []
    for hp in hps:
        params = jax.eval_shape(lambda k, x, hp=hp: init_model(model, k, x, hp), key, x)
        pred = jax.eval_shape(lambda p, x, hp=hp: apply_model(model, p, x, hp)[0], params, x)
        for tree in (params, pred):
            leaves = [(tuple(a.shape), str(a.dtype)) for a in jax.tree.leaves(tree)]
            out.append(f"{jax.tree.structure(tree)} {leaves}")
    return out


def fingerprint(
    *,
    version: str,
    model: Any,
    shapes: Any,
    loss: Any,
    metrics: tuple[Any, ...],
    optimizer: Any,
    options: Mapping[str, Any],
    settings: list[dict[str, Any]],
    seeds: int,
    keys: str,
    root: np.ndarray,
    arrays: list[np.ndarray],
    keep_params: bool,
    checkpoint_key: str | None = None,
) -> dict[str, str]:
    """Hashes of everything that decides a sweep's numbers, one per component (and
    whether its chunks hold the trained parameters: a chunk without them cannot serve a
    sweep that keeps them).

    ``shapes`` describes the parameters and outputs of every static group; ``keys`` names
    the rule that derives each row's key (its mode and scheme version), so rows keyed by
    another rule are never resumed. A callable that
    cannot be fingerprinted is refused with a ValueError, unless ``checkpoint_key`` stands
    in for it.
    """

    def of(obj: Any, where: str) -> str:
        return _callable_print(obj, where, checkpoint_key)

    return {
        "jaxfit version": version,
        "model": of(model, "the model"),
        "parameter and output shapes": _digest(shapes),
        "loss and metrics": _digest(
            of(loss, "the loss"), [of(m, f"the metric {m.name!r}") for m in metrics]
        ),
        "optimizer": of(optimizer, "the optimizer factory"),
        "options": _digest(dict(options)),
        "space": _digest(settings, seeds),
        "key": _digest(root),
        "key rule": keys,
        "data": _digest(*arrays),
        "keep_params": str(bool(keep_params)),
        "checkpoint_key": _digest(checkpoint_key),
    }


def _callable_print(obj: Any, where: str, checkpoint_key: str | None) -> str:
    """``callable_digest``, or the stand-in ``checkpoint_key`` for what cannot be digested."""
    try:
        return callable_digest(obj, where)
    except Unfingerprintable as e:
        if checkpoint_key is not None:
            return _digest("checkpoint_key")
        raise ValueError(
            f"checkpoint_dir: a checkpoint must recognise the sweep that wrote it, but {e}, "
            f"so another sweep's numbers could be resumed. {_FIX}"
        ) from None


def objective_fingerprint(
    *,
    version: str,
    objective: Any,
    shapes: Any,
    options: Mapping[str, Any],
    settings: list[dict[str, Any]],
    seeds: int,
    keys: str,
    root: np.ndarray,
    keep_params: bool,
    checkpoint_key: str | None = None,
) -> dict[str, str]:
    """:func:`fingerprint` for a sweep of a :class:`jaxfit.Objective`: the code and
    captured values of its functions (``init``, ``step``, ``evaluate``, ``params``; a
    ``from_train`` objective's ``train``) stand where the model, loss, metrics and
    optimizer would, and the state's shapes where the parameters' would. There are no data.
    """

    def of(obj: Any, where: str) -> str:
        return _callable_print(obj, where, checkpoint_key)

    return {
        "jaxfit version": version,
        "objective": of(objective, "the objective"),
        "state shapes": _digest(shapes),
        "options": _digest(dict(options)),
        "space": _digest(settings, seeds),
        "key": _digest(root),
        "key rule": keys,
        "keep_params": str(bool(keep_params)),
        "checkpoint_key": _digest(checkpoint_key),
    }


# ----------------------------------------------------------------------------- the directory


class _Unusable(Exception):
    def __init__(self, why: str, damaged: bool = True) -> None:
        super().__init__(why)
        self.damaged = damaged


@dataclasses.dataclass
class Checkpoint:
    """A directory holding one sweep's finished chunks.

    Each chunk is one ``.npz`` file written to a temporary name and renamed into place,
    so a sweep killed at any moment leaves only whole chunks behind. ``lock`` is the file
    descriptor holding the directory's write lock (``None``: read-only, or not the process
    that writes). Call :meth:`close` when the sweep ends.
    """

    path: pathlib.Path
    sweep_id: str  # the digest of the fingerprint, stored in every chunk
    lock: int | None = None

    @classmethod
    def open(cls, path: str | os.PathLike, prints: dict[str, str]) -> Checkpoint:
        """Opens (or creates) ``path``, refusing one that belongs to a different sweep or
        that another live process is writing."""
        p = pathlib.Path(path)
        if p.exists() and not p.is_dir():
            raise ValueError(f"checkpoint_dir={str(p)!r} exists and is not a directory.")
        manifest = p / _MANIFEST
        # The manifest first: a foreign sweep is refused before anything is touched.
        if manifest.exists():
            _check_manifest(p, prints)
        elif jax.process_index() == 0:
            if not p.exists():
                p.mkdir(parents=True)
            if any(q.name != _LOCK for q in p.iterdir()):
                raise ValueError(
                    f"checkpoint_dir={str(p)!r} is not empty and has no {_MANIFEST}: it is not a "
                    "jaxfit sweep checkpoint. Use an empty or new directory."
                )
        ckpt = cls(p, _digest(prints))
        if jax.process_index() != 0:  # the other processes of a multi-host sweep only read
            return ckpt
        ckpt.lock = _acquire(p)
        if ckpt.lock is None:  # read-only: resumable only if the sweep wrote its manifest
            if not manifest.exists():
                raise PermissionError(f"checkpoint_dir={str(p)!r} is not writable.")
            return ckpt
        try:
            if manifest.exists():  # perhaps written meanwhile by another process
                _check_manifest(p, prints)
            else:
                _atomic_write(manifest, json.dumps({"fingerprint": prints}, indent=2).encode())
            _remove_dead_temporaries(p)
        except BaseException:
            ckpt.close()
            raise
        return ckpt

    def close(self) -> None:
        """Releases the write lock (the lock file stays: removing it would race)."""
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None

    def check_writable(self, n_rows: int) -> None:
        """Refuses, before training, to train ``n_rows`` rows it could not save."""
        if n_rows and self.lock is None and jax.process_index() == 0:
            raise PermissionError(
                f"checkpoint_dir={str(self.path)!r} is not writable and {n_rows} row(s) are "
                "left to train; make it writable or use another directory."
            )

    def load(self, group: int, row_ids: np.ndarray) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        """The finished chunks of ``group``: (global row ids, flattened result leaves).

        ``row_ids`` are the group's row ids. A chunk that is damaged, belongs to another
        sweep or holds other rows is skipped with a warning naming it (damaged ones are
        removed when this process may write), so its rows are trained again.
        """
        out = []
        for f in sorted(self.path.glob(f"group{group:04d}-*.npz")):
            try:
                out.append(self._read(f, group, row_ids))
            except _Unusable as e:
                warnings.warn(
                    f"checkpoint chunk {str(f)!r} {e}; its rows will be trained again.",
                    stacklevel=3,
                )
                if e.damaged and self.lock is not None:
                    f.unlink(missing_ok=True)
        return out

    def _read(
        self, f: pathlib.Path, group: int, row_ids: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        try:
            with np.load(f, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        # Any error: an empty, truncated or overwritten file fails in zipfile, numpy or the OS.
        except Exception as e:
            raise _Unusable(f"is unreadable ({type(e).__name__}: {e})") from None
        stored = arrays.pop("sha256", None)
        if stored is None or str(stored) != _checksum(arrays):
            raise _Unusable("fails its checksum (the file is damaged)")
        if str(arrays.get("sweep")) != self.sweep_id or int(arrays.get("group", -1)) != group:
            raise _Unusable("was written by another sweep", damaged=False)
        rows = arrays["rows"]
        leaves = [arrays[f"leaf{i}"] for i in range(int(arrays["n_leaves"]))]
        if not np.isin(rows, row_ids).all() or any(len(leaf) != len(rows) for leaf in leaves):
            raise _Unusable("holds rows this sweep does not have", damaged=False)
        return rows, leaves

    def save(self, group: int, rows: np.ndarray, leaves: list[np.ndarray]) -> None:
        """Writes one finished chunk atomically (in a multi-host sweep, process 0 writes)."""
        if jax.process_index() != 0:  # every process holds the same gathered chunk
            return
        self.check_writable(len(rows))
        arrays: dict[str, Any] = {f"leaf{i}": leaf for i, leaf in enumerate(leaves)}
        arrays["rows"] = np.asarray(rows)
        arrays["n_leaves"] = np.asarray(len(leaves))
        arrays["group"] = np.asarray(group)
        arrays["sweep"] = np.asarray(self.sweep_id)
        arrays["sha256"] = np.asarray(_checksum(arrays))
        name = f"group{group:04d}-{int(rows[0]):010d}.npz"
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=_temp_prefix(), suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path / name)
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise


def _check_manifest(p: pathlib.Path, prints: dict[str, str]) -> None:
    try:
        stored = json.loads((p / _MANIFEST).read_text())["fingerprint"]
        if not isinstance(stored, dict):
            raise ValueError("its fingerprint is not a mapping")
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(
            f"checkpoint_dir={str(p)!r} has an unreadable {_MANIFEST} ({e}); it is not "
            "a jaxfit sweep checkpoint. Use an empty or new directory."
        ) from None
    differ = sorted(k for k in prints.keys() | stored.keys() if prints.get(k) != stored.get(k))
    if differ:
        raise ValueError(
            f"checkpoint_dir={str(p)!r} holds a different sweep: it differs in "
            f"{', '.join(differ)}. Refusing to mix results; use a new directory, or "
            "delete this one to start over."
        )


def _checksum(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.shape}:{a.dtype.str}\x00".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _acquire(p: pathlib.Path) -> int | None:
    """The directory's write lock, or ``None`` if it is read-only; refuses a held lock."""
    if not os.access(p, os.W_OK):  # a lock file may still be writable in a read-only directory
        return None
    try:
        fd = os.open(p / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return None
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise RuntimeError(
            f"checkpoint_dir={str(p)!r} is being written by another process (pid {holder}); "
            "two sweeps writing one directory would race. Wait for it to finish, then run "
            "again to resume, or use another directory."
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    return fd


def _temp_prefix() -> str:
    return f".tmp-{_HOST}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _remove_dead_temporaries(p: pathlib.Path) -> None:
    """Removes the temporary files of writers on this host that are gone (killed mid-write)."""
    for tmp in p.glob(".tmp-*"):
        m = _TEMP.match(tmp.name)
        if m and m[1] == _HOST and not _alive(int(m[2])):
            tmp.unlink(missing_ok=True)


def _atomic_write(path: pathlib.Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix())
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
