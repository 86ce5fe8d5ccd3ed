"""Checkpoints: a resume never returns another sweep's numbers, damaged chunks are trained
again, one process writes a directory at a time, and a finished one resumes read-only."""

import errno
import functools
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxfit
from jaxfit._sweeping.checkpoint import Unfingerprintable, _temp_prefix, callable_digest

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 2)).astype(np.float32)
Y = (X @ np.array([1.0, -1.0]) + 0.1 * RNG.normal(size=32)).astype(np.float32)
LABELS = (X[:, 0] > 0).astype(np.int32) + (X[:, 1] > 0).astype(np.int32)  # 0, 1, 2
BASE = jaxfit.Hyperparams(optimizer="sgd", steps=4, hidden=(4,))
SPACE = jaxfit.grid(learning_rate=[0.1, 0.2])
KEY = jax.random.key(0)


def _sweep(model=None, loss="mse", data=(X, Y), **kw):
    kw = {"key": KEY, "chunk_size": 1, "progress": False, "devices": jax.devices()[:1]} | kw
    return jaxfit.sweep(model or jaxfit.linear(), loss, data, BASE, SPACE, **kw)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished checkpoint of two one-row chunks, and the sweep's result."""
    path = tmp_path_factory.mktemp("finished")
    return path, _sweep(checkpoint_dir=path)


def _copy(finished, tmp_path):
    path = tmp_path / "ckpt"
    shutil.copytree(finished[0], path)
    return path


def _same(a, b):
    np.testing.assert_array_equal(a.metrics["train_loss"], b.metrics["train_loss"])
    np.testing.assert_array_equal(a.train_curves, b.train_curves)


# ----------------------------------------------------------------------------- fingerprints


def _scaled(scale):
    def init(key, x, hp):
        return {"w": jnp.zeros((x.shape[1], 1))}

    def apply(params, x, hp):
        return scale * (x @ params["w"])

    return jaxfit.Model(init=init, apply=apply, name="scaled")


def _clipped(clip):
    def optimizer(hp):
        return optax.chain(optax.clip(clip), optax.sgd(hp.learning_rate))

    return optimizer


@pytest.mark.parametrize(
    ("first", "second", "differs"),
    [
        ({"model": jaxfit.softmax_regression(3), "loss": "softmax_cross_entropy",
          "data": (X, LABELS)},
         {"model": jaxfit.softmax_regression(4), "loss": "softmax_cross_entropy",
          "data": (X, LABELS)}, "model, parameter and output shapes"),
        ({"model": jaxfit.mlp(3), "loss": "softmax_cross_entropy", "data": (X, LABELS)},
         {"model": jaxfit.mlp(4), "loss": "softmax_cross_entropy", "data": (X, LABELS)},
         "model, parameter and output shapes"),
        ({"model": _scaled(1.0)}, {"model": _scaled(2.0)}, "model"),
        ({"loss": lambda p, y: jaxfit.mse.fn(p, y)},
         {"loss": lambda p, y: 2 * jaxfit.mse.fn(p, y)}, "loss and metrics"),
        ({"optimizer": _clipped(1.0)}, {"optimizer": _clipped(2.0)}, "optimizer"),
    ],
)  # fmt: skip
def test_a_sweep_with_other_numbers_is_refused(tmp_path, first, second, differs):
    _sweep(checkpoint_dir=tmp_path, **first)
    with pytest.raises(ValueError, match=f"different sweep: it differs in .*{differs}"):
        _sweep(checkpoint_dir=tmp_path, **second)


def test_equal_callables_built_twice_resume(tmp_path):
    first = _sweep(_scaled(2.0), checkpoint_dir=tmp_path, optimizer=_clipped(1.0))
    again = _sweep(_scaled(2.0), checkpoint_dir=tmp_path, optimizer=_clipped(1.0))
    _same(again, first)
    assert again.groups[0].n_chunks == 0  # everything was loaded


class _Opaque:
    def __init__(self, scale):
        self.scale = scale


class _Optimizer:
    def __call__(self, hp):
        return optax.sgd(hp.learning_rate)


def test_callables_that_cannot_be_fingerprinted_are_refused(tmp_path):
    opaque = _Opaque(2.0)
    model = jaxfit.Model(
        init=lambda key, x, hp: {"w": jnp.zeros((x.shape[1], 1))},
        apply=lambda params, x, hp: opaque.scale * (x @ params["w"]),
        name="opaque",
    )
    with pytest.raises(ValueError, match=r"model's init|model's apply|the model") as info:
        _sweep(model, checkpoint_dir=tmp_path / "a")
    assert "'opaque'" in str(info.value) and "checkpoint_key=" in str(info.value)
    with pytest.raises(ValueError, match="optimizer factory is a callable object without"):
        _sweep(checkpoint_dir=tmp_path / "b", optimizer=_Optimizer())
    # The user's promise stands in for what cannot be hashed; another promise is refused.
    first = _sweep(model, checkpoint_dir=tmp_path / "c", checkpoint_key="opaque v1")
    _same(_sweep(model, checkpoint_dir=tmp_path / "c", checkpoint_key="opaque v1"), first)
    with pytest.raises(ValueError, match="differs in checkpoint_key"):
        _sweep(model, checkpoint_dir=tmp_path / "c", checkpoint_key="opaque v2")
    with pytest.raises(ValueError, match="only used with checkpoint_dir"):
        _sweep(checkpoint_key="v1")


def _const(value):
    return lambda: value


def test_callable_digest_reads_code_and_captured_values():
    def f(x, k=2):
        return x * k

    assert callable_digest(f, "f") == callable_digest(f, "f")
    assert callable_digest(functools.partial(f, k=3), "p") != callable_digest(
        functools.partial(f, k=4), "p"
    )
    assert callable_digest(lambda x: x + 1, "l") != callable_digest(lambda x: x + 2, "l")
    # Ellipsis and slices are constants of code (x[..., :1]), digested by value.
    assert callable_digest(lambda x: x[..., :1], "e") != callable_digest(lambda x: x[..., :2], "e")
    a, b = np.arange(3.0), np.arange(3.0)
    assert callable_digest(_const(a), "a") == callable_digest(_const(b), "b")
    b[0] = 5.0
    assert callable_digest(_const(a), "a") != callable_digest(_const(b), "b")
    assert callable_digest(jnp.tanh, "t") != callable_digest(jax.nn.relu, "r")
    with pytest.raises(Unfingerprintable, match="closes over 'o'"):
        o = object()
        callable_digest(lambda: o, "the loss")


# ----------------------------------------------------------------------------- chunks


def _damage(kind, f):
    data = f.read_bytes()
    if kind == "empty":
        f.write_bytes(b"")
    elif kind == "truncated":
        f.write_bytes(data[: len(data) // 2])
    elif kind == "random":
        f.write_bytes(np.random.default_rng(1).bytes(len(data)))
    else:  # one flipped byte, in the middle of the biggest array's data
        with np.load(f) as z:
            biggest = max((z[k] for k in z.files), key=lambda a: a.nbytes).tobytes()
        i = data.index(biggest) + len(biggest) // 2
        f.write_bytes(data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1 :])


@pytest.mark.parametrize("kind", ["empty", "truncated", "random", "flipped"])
def test_a_damaged_chunk_is_trained_again_with_a_warning(finished, tmp_path, kind):
    path = _copy(finished, tmp_path)
    chunk = sorted(path.glob("group*.npz"))[1]
    _damage(kind, chunk)
    with pytest.warns(UserWarning, match=f"{chunk.name}.*trained again"):
        again = _sweep(checkpoint_dir=path)
    _same(again, finished[1])
    assert again.groups[0].n_chunks == 1  # only the damaged chunk was trained
    _same(_sweep(checkpoint_dir=path), finished[1])  # and it was written again


def test_a_chunk_of_another_sweep_is_never_loaded(finished, tmp_path):
    other = tmp_path / "other"
    _sweep(checkpoint_dir=other, key=jax.random.key(1))
    path = _copy(finished, tmp_path)
    chunk = sorted(path.glob("group*.npz"))[0]
    shutil.copyfile(other / chunk.name, chunk)  # same name and rows, other numbers
    with pytest.warns(UserWarning, match=f"{chunk.name}.*another sweep"):
        again = _sweep(checkpoint_dir=path)
    _same(again, finished[1])


# ----------------------------------------------------------------------------- processes


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_opening_keeps_live_writers_temporary_files(finished, tmp_path):
    path = _copy(finished, tmp_path)
    live = path / f"{_temp_prefix()}inflight.npz"  # this process is alive
    dead = path / f"{_temp_prefix().replace(str(os.getpid()), str(_dead_pid()))}x.npz"
    live.write_bytes(b"partial")
    dead.write_bytes(b"partial")
    with pytest.raises(ValueError, match="different sweep"):  # a foreign sweep touches nothing
        _sweep(checkpoint_dir=path, key=jax.random.key(1))
    assert live.exists() and dead.exists()
    _same(_sweep(checkpoint_dir=path), finished[1])
    assert live.exists() and not dead.exists()  # only the dead writer's file is removed


LOCK_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()} on here".encode())
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_second_writer_is_refused_naming_the_holder(finished, tmp_path):
    path = _copy(finished, tmp_path)
    for f in path.glob("group*.npz"):
        f.unlink()  # work left to do
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(path / ".lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == b"locked"
        with pytest.raises(RuntimeError, match=f"{path.name}.*another process \\(pid {holder.pid}"):
            _sweep(checkpoint_dir=path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    _same(_sweep(checkpoint_dir=path), finished[1])  # the lock is free again


def _read_only(monkeypatch, path):
    """Makes ``path`` read-only even for root (which chmod does not stop)."""
    path.chmod(0o555)
    inside = str(path)

    def refuse(real, writes=lambda *a: True):
        def call(p, *args, **kw):
            if os.fspath(p).startswith(inside) and writes(*args):
                raise PermissionError(errno.EACCES, "read-only (test)", os.fspath(p))
            return real(p, *args, **kw)

        return call

    monkeypatch.setattr(os, "open", refuse(os.open, lambda flags, *a: flags & 0o3 or
                                           flags & os.O_CREAT))  # fmt: skip
    for name in ("unlink", "remove", "replace", "rename", "mkdir"):
        monkeypatch.setattr(os, name, refuse(getattr(os, name)))


def test_a_finished_checkpoint_resumes_read_only(finished, tmp_path, monkeypatch):
    path = _copy(finished, tmp_path)
    (path / ".tmp-stale").write_bytes(b"partial")  # left by a writer killed long ago
    (path / f"{_temp_prefix().replace(str(os.getpid()), str(_dead_pid()))}x.npz").write_bytes(b"")
    for f in path.glob(".lock"):
        f.unlink()
    unfinished = _copy(finished, tmp_path / "u")
    sorted(unfinished.glob("group*.npz"))[0].unlink()
    try:
        _read_only(monkeypatch, path)
        _read_only(monkeypatch, unfinished)
        _same(_sweep(checkpoint_dir=path), finished[1])
        with pytest.raises(PermissionError, match="not writable and 1 row"):
            _sweep(checkpoint_dir=unfinished)
    finally:
        monkeypatch.undo()
        path.chmod(0o755)
        unfinished.chmod(0o755)
