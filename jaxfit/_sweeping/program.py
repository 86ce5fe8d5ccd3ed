"""The compiled program of one static group: vmapped fits, sharded over devices, sized to memory."""

from __future__ import annotations

import collections
import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from .._training import TRACES, Dataset, FitResult, ObjectiveRun, RunSpec, run_fit
from .keys import row_keys

__all__ = ["Program", "ProgramChoice", "choose_program", "default_memory_budget", "make_mesh"]

AXIS = "sweep"
# Compiled programs, keyed by everything that decides them; a repeated sweep compiles nothing.
_CACHE: collections.OrderedDict[Any, Program] = collections.OrderedDict()
_CACHE_SIZE = 64


@dataclasses.dataclass(frozen=True)
class Program:
    """One compiled executable for ``width`` rows (setting x seed pairs) of one group."""

    executable: Any
    width: int
    bytes_total: int | None  # XLA's estimate per device: temporaries + arguments + outputs
    compile_s: float


def make_mesh(devices: Sequence[Any] | None) -> Mesh:
    """A 1-D mesh named ``"sweep"`` over ``devices`` (default: every device of every host)."""
    devs = list(jax.devices() if devices is None else devices)
    if not devs:
        raise ValueError("devices must name at least one device.")
    return Mesh(np.asarray(devs), (AXIS,))


def default_memory_budget(devices: Mesh | Any) -> int:
    """Bytes a sweep may use per device: 75% of an accelerator's limit, or half of the
    host's RAM shared among its CPU devices.

    ``devices`` is the sweep's mesh (or one of its devices). Only this process's own
    devices report memory, so one of those is asked. When the mesh spans several
    processes, all of them get the smallest of their answers: they must all choose the
    same chunk width, or their programs would not match.
    """
    mesh_devices = list(devices.devices.flat) if isinstance(devices, Mesh) else [devices]
    here = jax.process_index()
    local = [d for d in mesh_devices if d.process_index == here]
    if not local:  # a device of another process: ask one of ours of the same kind
        local = jax.local_devices(backend=mesh_devices[0].platform)
    budget = _device_budget(local[0])
    if isinstance(devices, Mesh) and len({d.process_index for d in mesh_devices}) > 1:
        # Each device's row holds its own process's answer, gathered over the mesh (so
        # uneven device counts work). Two int32 halves: without jax_enable_x64 an int64
        # would be truncated on the way to the device.
        rows = np.tile(np.array(divmod(budget, 2**30), np.int32), (devices.size, 1))
        parts = multihost_utils.process_allgather(put_rows(rows, devices), tiled=True)
        budget = int(min(int(hi) * 2**30 + int(lo) for hi, lo in parts))
    return budget


def _device_budget(device: Any) -> int:
    stats = None
    try:
        stats = device.memory_stats()
    except Exception:  # some backends do not implement it
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(0.75 * stats["bytes_limit"])
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        ram = 8 * 2**30
    # CPU devices of one process share the host's memory: each gets its part of half of it.
    n_cpu = max(1, len(jax.local_devices(backend=device.platform)))
    return int(0.5 * ram / n_cpu)


def run_row(
    spec: RunSpec | ObjectiveRun, h: Any, k: jax.Array, train: Any, valid: Any
) -> FitResult:
    """One row's whole run: a model's :func:`run_fit`, or an objective's run (which reads
    no data)."""
    if isinstance(spec, ObjectiveRun):
        return spec.fit(h, k)
    return run_fit(spec, h, k, train, valid)


def _rows_function(spec: RunSpec | ObjectiveRun, mesh: Mesh, keep_params: bool = True):
    """``(hps, key_ids, fold_ids, root, train, valid, folds) -> FitResult`` over rows.

    Row ``r`` trains with the key :func:`row_keys` derives from ``root`` and its
    ``key_ids[r]`` (its seed, and a salt in ``per_setting`` mode), whatever the grid: the
    same program serves both key modes. With cross-validation, ``folds``
    holds ``(train_weights, test_weights)`` of shape ``(F, n)`` and row ``r`` trains on
    fold ``fold_ids[r]``: the fold's masks multiply the data's sample weights, and the
    test fold is the validation set. Each device trains its own slice of rows. The
    result's ``hp`` is left out (the host has the rows' settings), and so are its
    ``params`` unless ``keep_params``: nothing is sent back that would be dropped.
    """

    def rows(hps, key_ids, fold_ids, root, train, valid, folds):
        TRACES["sweep"] += 1
        keys = row_keys(jax.random.wrap_key_data(root), key_ids)

        def one(h, k, f):
            if folds is None:
                return run_row(spec, h, k, train, valid)
            assert isinstance(spec, RunSpec)  # cross-validation is for a model's rows
            tr = train._replace(weight=train.weight * folds[0][f])
            te = valid._replace(weight=valid.weight * folds[1][f])
            return run_fit(spec, h, k, tr, te)

        return trim(jax.vmap(one)(hps, keys, fold_ids), keep_params)

    if mesh.size == 1:
        return rows
    # Rows are independent: each device trains its own slice, no communication. check_vma
    # is off because scan carries start from constants (jax's varying-manual-axes check
    # would otherwise ask for explicit casts on every one of them).
    return jax.shard_map(
        rows,
        mesh=mesh,
        in_specs=(P(AXIS), P(AXIS), P(AXIS), P(), P(), P(), P()),
        out_specs=P(AXIS),
        check_vma=False,
    )


def trim(result: FitResult, keep_params: bool) -> FitResult:
    """``result`` without what a sweep does not bring back: ``hp``, and maybe ``params``."""
    return dataclasses.replace(result, hp=(), params=result.params if keep_params else ())


def get_program(
    spec: RunSpec | ObjectiveRun,
    hp_row: Any,
    width: int,
    mesh: Mesh,
    root: np.ndarray,
    train: Dataset,
    valid: Dataset | None,
    folds: tuple[np.ndarray, np.ndarray] | None = None,
    keep_params: bool = True,
) -> Program:
    """Compiles (or fetches from the cache) the group's program at ``width`` rows."""
    treedef = jax.tree.structure(hp_row)
    leaf_dtypes = tuple(
        jax.dtypes.canonicalize_dtype(np.result_type(x)) for x in jax.tree.leaves(hp_row)
    )
    data_sig = jax.tree.map(lambda a: (a.shape, a.dtype), (train, valid, folds))
    key = (spec, treedef, leaf_dtypes, width, tuple(mesh.devices.flat), str(data_sig), keep_params)
    if key in _CACHE:  # compiled by an earlier call: nothing is compiled now
        _CACHE.move_to_end(key)
        return dataclasses.replace(_CACHE[key], compile_s=0.0)
    row_sharding = NamedSharding(mesh, P(AXIS))
    replicated = NamedSharding(mesh, P())
    hps = jax.tree.unflatten(
        treedef,
        [jax.ShapeDtypeStruct((width,), d, sharding=row_sharding) for d in leaf_dtypes],
    )
    key_ids = jax.ShapeDtypeStruct((width, 2), jnp.int32, sharding=row_sharding)
    fold_ids = jax.ShapeDtypeStruct((width,), jnp.int32, sharding=row_sharding)
    root_s = jax.ShapeDtypeStruct(root.shape, root.dtype, sharding=replicated)
    data = jax.tree.map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=replicated),
        (train, valid, folds),
    )
    t0 = time.perf_counter()
    fn = jax.jit(_rows_function(spec, mesh, keep_params))
    executable = fn.lower(hps, key_ids, fold_ids, root_s, *data).compile()
    compile_s = time.perf_counter() - t0
    program = Program(executable, width, memory_bytes(executable), compile_s)
    _CACHE[key] = program
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return program


def cached_programs() -> list[Program]:
    """The programs compiled in this process, least recently used first."""
    return list(_CACHE.values())


def memory_bytes(executable: Any) -> int | None:
    try:
        m = executable.memory_analysis()
    except Exception:  # not every backend reports it
        return None
    if m is None:
        return None
    total = m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes
    return int(total - getattr(m, "alias_size_in_bytes", 0))


def chunk_width(
    probe: tuple[Program, Program] | None,
    rows: int,
    n_devices: int,
    budget: int,
) -> tuple[int, float | None]:
    """Rows per call within ``budget`` bytes per device, from two compiled programs.

    Memory grows linearly with the number of rows per device, ``a + b * r``; two programs
    at different widths give ``a`` and ``b`` (one program alone, ``a = 0``). Returns the
    width (a multiple of ``n_devices``, at most the padded row count) and ``b``, the
    bytes per row. Raises ``MemoryError`` when one row per device does not fit.
    """
    per_device_rows = -(-rows // n_devices)
    if probe is None or probe[0].bytes_total is None or probe[1].bytes_total is None:
        return per_device_rows * n_devices, None
    m1, m2 = probe[0].bytes_total, probe[1].bytes_total
    r1, r2 = probe[0].width // n_devices, probe[1].width // n_devices
    per_row = max((m2 - m1) / (r2 - r1), 1.0) if r2 != r1 else m1 / r1
    fixed = max(m1 - per_row * r1, 0.0)
    fit = int((budget - fixed) // per_row)
    if fit < 1 or m1 > budget:
        raise MemoryError(
            f"one setting needs about {format_size(fixed + per_row)} per device, more than the "
            f"memory budget of {format_size(budget)}; raise memory_budget, or use a smaller "
            "model, batch size or validation set."
        )
    return min(fit, per_device_rows) * n_devices, per_row


@dataclasses.dataclass(frozen=True)
class ProgramChoice:
    """The program a group's rows run in, and what choosing it measured."""

    program: Program | None  # None when no row is left to train
    bytes_per_row: float | None  # the measured growth per row (only when chunked)
    compile_s: float  # seconds spent compiling every program tried (0 when cached)

    @property
    def width(self) -> int:
        """Rows per call (0 without a program)."""
        return 0 if self.program is None else self.program.width


def choose_program(
    compile_at: Callable[[int], Program],
    rows: int,
    n_devices: int,
    budget: int,
    chunk_size: int | None,
) -> ProgramChoice:
    """The program for a group's ``rows`` remaining rows, from ``compile_at(width)``.

    First the program for all rows at once; if XLA's memory analysis puts it over the
    budget, a second one at one row per device gives the linear growth ``fixed + per_row
    * rows`` over the widest range, from which the chunk width follows. Buffer assignment
    is only roughly linear, so the chosen program's own analysis is checked and the width
    shrunk until it fits. ``chunk_size`` skips all that: one program at that width.
    """
    if rows == 0:
        return ProgramChoice(None, None, 0.0)
    padded = -(-rows // n_devices) * n_devices
    if chunk_size is not None:
        program = compile_at(min(-(-chunk_size // n_devices) * n_devices, padded))
        return ProgramChoice(program, None, program.compile_s)
    whole = compile_at(padded)
    if whole.bytes_total is None or whole.bytes_total <= budget:
        return ProgramChoice(whole, None, whole.compile_s)
    compiled = [whole, whole if padded == n_devices else compile_at(n_devices)]
    width, per_row = chunk_width((compiled[1], whole), rows, n_devices, budget)
    program = compile_at(width)
    compiled.append(program)
    while program.bytes_total is not None and program.bytes_total > budget and width > n_devices:
        shrunk = int(width * budget / program.bytes_total) // n_devices * n_devices
        width = max(n_devices, min(shrunk, width - n_devices))
        program = compile_at(width)
        compiled.append(program)
    compile_s = sum(p.compile_s for p in {id(p): p for p in compiled}.values())
    return ProgramChoice(program, per_row, compile_s)


def format_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def put_rows(tree: Any, mesh: Mesh) -> Any:
    """A pytree of host arrays as arguments split over the mesh's rows (across processes too).

    In one process the host arrays are returned as they are: a compiled program places
    numpy arguments by its own input shardings, several times faster than ``device_put``
    (which costs more than a small model's whole training run). Across processes each
    one builds the global array from its own rows.
    """
    sharding = NamedSharding(mesh, P(AXIS))
    if jax.process_count() == 1:
        return tree

    def put(x: np.ndarray) -> jax.Array:
        return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

    return jax.tree.map(put, tree)


def put_replicated(tree: Any, mesh: Mesh) -> Any:
    """Places a pytree of arrays on every device of the mesh."""
    sharding = NamedSharding(mesh, P())
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    def put(a):
        host = np.asarray(a)
        return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])

    return jax.tree.map(put, tree)


def fetch(tree: Any) -> Any:
    """Brings a (possibly multi-host) sharded result back to every process as numpy."""
    if jax.process_count() == 1:
        return jax.tree.map(np.asarray, jax.device_get(tree))

    def get(a: Any) -> np.ndarray:
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(a, tiled=True))
        # A mesh of this process's devices only: gathering would concatenate every
        # process's (unrelated) result, and hang or crash when the others are not calling.
        return np.asarray(jax.device_get(a))

    return jax.tree.map(get, tree)
