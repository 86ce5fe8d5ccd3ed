"""``sweep``: every (setting x seed) trained in one compiled program per static group."""

from __future__ import annotations

import dataclasses
import functools
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from .._cv import as_folds
from .._hp import Space
from .._training import (
    FitResult,
    Inputs,
    Metric,
    Model,
    OptimizerFactory,
    check_hp,
    check_inputs,
    check_key,
)
from .checkpoint import Checkpoint, fingerprint
from .program import (
    Program,
    default_memory_budget,
    fetch,
    get_program,
    make_mesh,
    plan_width,
    put_replicated,
    put_rows,
    trim,
)
from .result import GroupInfo, SweepResult
from .settings import Settings, settings_of

__all__ = ["sweep"]


def sweep(
    model: Model,
    loss: str | Metric | Callable,
    data: tuple,
    base: Any,
    space: Space | Sequence[Any] | None = None,
    *,
    key: jax.Array,
    seeds: int = 1,
    val: tuple | None = None,
    metrics: Sequence[str | Metric | Callable] = (),
    eval_every: int | None = None,
    optimizer: OptimizerFactory | None = None,
    explode_factor: float | None = 1e4,
    memory_budget: int | None = None,
    chunk_size: int | None = None,
    devices: Sequence[Any] | None = None,
    checkpoint_dir: str | None = None,
    progress: bool | None = None,
    keep_params: bool = True,
    cv: Any = None,
    groups: Any = None,
) -> SweepResult:
    """Trains every hyperparameter setting of ``space`` x ``seeds``, many at once.

    Settings are grouped by their static fields (:func:`jaxfit.static_key`); each group
    is compiled once and runs as one vmapped :func:`jaxfit.fit` over its (setting, seed)
    rows, sharded across ``devices`` (a 1-D mesh axis, one slice per device, no
    communication) and cut into chunks that fit ``memory_budget``. The chunk width comes
    from XLA's memory analysis of the program at one and two rows per device (memory
    grows linearly in the rows); the last chunk is padded so it reuses the same program.
    Numeric fields never recompile; running the same sweep again in one process compiles
    nothing. A diverging setting is frozen inside the program without affecting others.

    Row ``(i, s)`` (setting ``i``, seed ``s``) trains with key
    ``jax.random.fold_in(key, i * seeds + s)``, so a setting's numbers do not depend on
    chunk size, device count or resumption, and equal ``jaxfit.fit`` run on it alone.

    With ``checkpoint_dir``, every finished chunk is written atomically; running the
    same sweep again skips what is done (a directory from a different sweep is refused).
    Across hosts, call ``jax.distributed.initialize()`` first in every process and run the
    same ``sweep``: the rows are split over all hosts' devices and every process gets the
    whole result.

    Args:
      model: the model, as for :func:`jaxfit.fit`.
      loss: the training loss, as for :func:`jaxfit.fit`.
      data: training data ``(x, y)`` or ``(x, y, weight)``.
      base: the hyperparameters that the space modifies (a single setting).
      space: a :class:`jaxfit.Space` (e.g. :func:`jaxfit.grid`), or a list of settings;
        ``None`` trains ``base`` alone (with ``seeds`` seeds).
      key: the root PRNG key.
      seeds: the number of seeds per setting.
      val: optional validation data; ``val_loss`` is then the default ranking metric.
      metrics: extra metrics, as for :func:`jaxfit.fit`.
      eval_every: steps between validation evaluations (default as for :func:`jaxfit.fit`).
      optimizer: ``hp -> optax.GradientTransformation`` (default :func:`jaxfit.make_optimizer`).
      explode_factor: as for :func:`jaxfit.fit`.
      memory_budget: bytes per device a chunk may use (default: 75% of an accelerator's
        memory, half of the host's RAM on CPU).
      chunk_size: rows per compiled call, overriding the memory-based choice (rounded up
        to a multiple of the device count).
      devices: the devices to shard over (default: all devices of all processes).
      checkpoint_dir: a directory to write finished chunks to and resume from.
      progress: show a progress bar (default: when stderr is a terminal).
      keep_params: keep every setting's trained parameters in the result; with ``False``
        the program does not return them at all (less memory and transfer for big sweeps).
      cv: cross-validation folds, as :func:`jaxfit.as_folds` accepts (an int ``k``, a
        splitter such as :class:`jaxfit.KFold`, explicit ``(train, test)`` index pairs, or
        a scikit-learn splitter). Folds become one more vmap axis: each (setting, seed,
        fold) row trains on its fold's training samples (by weight masks, so unequal
        folds are exact) and reports ``val_*`` metrics on its test fold. Excludes ``val``.
      groups: group labels for group-aware splitters (:class:`jaxfit.GroupKFold`).

    Returns:
      A :class:`jaxfit.SweepResult` with one row per setting and seed.

    Raises:
      TypeError, ValueError: for invalid arguments, data or spaces, before compiling.
      MemoryError: when a single setting does not fit ``memory_budget``.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(-1, 1, 64); y = 2 * x + 1
      >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=100)
      >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 0.5, 5.0])
      >>> result = jaxfit.sweep(jaxfit.linear(), "mse", (x, y), base, space,
      ...                       key=jax.random.key(0), seeds=2)
      >>> result.best(1)[0]["varied"]
      {'learning_rate': 0.5}
      >>> result.diverged[:, 0].tolist()
      [False, False, False, True]
    """
    t_start = time.perf_counter()
    p = _prepare(
        model, loss, data, base, space, key, seeds, val, metrics, eval_every, optimizer,
        explode_factor, memory_budget, chunk_size, devices, cv, groups, keep_params,
    )  # fmt: skip
    setup, settings, root, mesh = p.setup, p.settings, p.root, p.mesh
    budget = p.budget
    n_folds, cells, n_dev, fold_arrays = p.n_folds, p.cells, p.mesh.size, p.fold_arrays
    dicts = settings.dicts
    ckpt = None
    if checkpoint_dir is not None:
        prints = _prints(setup, dicts, seeds, root, model, fold_arrays, p.keep_params)
        ckpt = Checkpoint.open(checkpoint_dir, prints)
    train, valid, folds_dev = put_replicated((setup.train, setup.valid, fold_arrays), mesh)

    # Compile every group first, so that the progress bar's rate and ETA exclude compiling.
    jobs = []
    for g, (group, plan) in enumerate(zip(settings.groups, p.plans, strict=True)):
        idx = group.indices
        hp_rows = jax.tree.map(lambda a: np.repeat(a, cells, axis=0), group.batch)
        # Rows are (setting, seed, fold), in that order. The key depends on (setting, seed)
        # only, so every fold of a seed starts from the same initialisation.
        key_ids = np.repeat(np.asarray(idx)[:, None] * seeds + np.arange(seeds), n_folds)
        fold_ids = np.tile(np.arange(n_folds), len(idx) * seeds)
        key_ids, fold_ids = key_ids.astype(np.int32), fold_ids.astype(np.int32)
        ids = key_ids * n_folds + fold_ids  # unique and increasing: the checkpoint's row ids
        done = ckpt.load(g) if ckpt is not None else []
        finished = np.zeros(len(ids), bool)
        for rows, _ in done:
            finished[np.searchsorted(ids, rows)] = True
        todo = np.nonzero(~finished)[0]
        hp_one = jax.tree.map(lambda a: a[0], hp_rows)
        compile_at = p.compiler(g, hp_one)
        program, per_row, compile_s = _choose_program(
            compile_at, len(todo), n_dev, budget, chunk_size
        )
        jobs.append((g, plan, hp_rows, (ids, key_ids, fold_ids), done, todo, program, per_row,
                     compile_s))  # fmt: skip

    bar = _progress_bar(progress, len(settings) * cells, sum(len(j[5]) for j in jobs))
    root_dev = put_replicated(root, mesh)
    group_results, infos = [], []
    for g, plan, hp_rows, (ids, key_ids, fold_ids), done, todo, program, per_row, compile_s in jobs:
        t0 = time.perf_counter()
        leaves: list[np.ndarray] | None = None
        treedef = None
        for rows, chunk_leaves in done:
            leaves = _scatter(leaves, np.searchsorted(ids, rows), chunk_leaves, len(ids))
        n_chunks = 0
        width = program.width if program is not None else 0
        for start in range(0, len(todo), max(width, 1)):
            pos = todo[start : start + width]
            padded = np.concatenate([pos, np.full(width - len(pos), pos[0])])
            rows = jax.tree.map(lambda a, padded=padded: a[padded], hp_rows)
            out = program.executable(  # type: ignore[union-attr]
                *put_rows((rows, key_ids[padded], fold_ids[padded]), mesh),
                root_dev,
                train,
                valid,
                folds_dev,
            )
            flat, treedef = jax.tree.flatten(fetch(out))
            flat = [leaf[: len(pos)] for leaf in flat]
            leaves = _scatter(leaves, pos, flat, len(ids))
            if ckpt is not None:
                ckpt.save(g, ids[pos], flat)
            bar.update(len(pos))
            n_chunks += 1
        if treedef is None:  # everything came from the checkpoint: rebuild the structure
            treedef = _result_treedef(plan, hp_rows, root, setup, p.keep_params)
        if leaves is None:  # unreachable: every row is either loaded or trained
            raise RuntimeError(f"sweep group {g} produced no rows; please report this bug.")
        group_results.append(jax.tree.unflatten(treedef, leaves))
        infos.append(
            GroupInfo(
                static_key=settings.groups[g].key,
                indices=np.asarray(settings.groups[g].indices),
                compile_s=compile_s,
                run_s=time.perf_counter() - t0,
                chunk_size=width,
                n_chunks=n_chunks,
                bytes_per_row=per_row,
                bytes_per_chunk=None if program is None else program.bytes_total,
            )
        )
    bar.close()
    info = {
        "devices": [str(d) for d in mesh.devices.flat],
        "device_kind": mesh.devices.flat[0].device_kind,
        "process_count": jax.process_count(),
        "memory_budget": budget,
        "wall_s": time.perf_counter() - t_start,
    }
    return _assemble(
        settings, (seeds, n_folds), setup, group_results, infos, keep_params, base, info
    )


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A sweep's validated inputs and static plan, before anything is compiled."""

    setup: Inputs
    settings: Settings
    seeds: int
    root: np.ndarray
    mesh: Any
    budget: int
    n_folds: int
    fold_arrays: tuple[np.ndarray, np.ndarray] | None
    plans: list[Any]
    keep_params: bool

    @property
    def cells(self) -> int:
        """Rows per setting: seeds x folds."""
        return self.seeds * self.n_folds

    def compiler(self, g: int, hp_one: Any) -> Callable[[int], Program]:
        """``width -> Program`` for static group ``g`` (``hp_one``: one of its rows)."""
        return functools.partial(
            get_program, self.plans[g], hp_one, mesh=self.mesh, root=self.root,
            train=self.setup.train, valid=self.setup.valid, folds=self.fold_arrays,
            keep_params=self.keep_params,
        )  # fmt: skip


def _prepare(
    model, loss, data, base, space, key, seeds, val, metrics, eval_every, optimizer,
    explode_factor, memory_budget, chunk_size, devices, cv, groups, keep_params,
) -> Prepared:  # fmt: skip
    """Validates a sweep's arguments and works out its static groups (no compiling)."""
    if not isinstance(keep_params, bool):
        raise TypeError(f"keep_params must be True or False; got {keep_params!r}.")
    check_hp(base)
    if base.batch_shape != ():
        raise ValueError("base must be a single setting, not a batch made by jaxfit.stack.")
    key = check_key(key)
    root = np.asarray(jax.random.key_data(key))
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive int; got {seeds!r}.")
    # Under cross-validation the test folds are the validation sets, set below.
    setup = check_inputs(
        model, loss, data, val, metrics, optimizer, explode_factor,
        eval_every if cv is None else None,
    )  # fmt: skip
    if cv is not None and eval_every is not None:
        _check_positive("eval_every", eval_every)
    settings = settings_of(base, space)
    folds = None
    if cv is not None:
        if val is not None:
            raise ValueError(
                "give either val= (one validation set) or cv= (cross-validation folds, whose "
                "test folds are the validation sets), not both."
            )
        folds = as_folds(
            cv, np.asarray(setup.train.x), np.asarray(setup.train.y), groups,
            classifier=setup.spec.loss.target in ("class", "binary"),
        )  # fmt: skip
        # The training data doubles as the validation set; each row's fold masks its weights.
        setup = dataclasses.replace(setup, valid=setup.train, eval_every=eval_every)
    elif groups is not None:
        raise ValueError("groups= is only used with cv= (e.g. cv=jaxfit.GroupKFold(5)).")
    n_folds = 1 if folds is None else folds.n_folds
    cells = seeds * n_folds
    if len(settings) * cells >= 2**31:
        raise ValueError(f"{len(settings)} settings x {cells} runs is too many rows (>= 2**31).")
    _check_positive("chunk_size", chunk_size)
    _check_positive("memory_budget", memory_budget)
    mesh = make_mesh(devices)
    fold_arrays = None
    if folds is not None:
        dtype = np.asarray(setup.train.weight).dtype
        fold_arrays = (folds.train.astype(dtype), folds.test.astype(dtype))
    budget = memory_budget or default_memory_budget(mesh)
    fold_train = None if fold_arrays is None else fold_arrays[0]
    plans = [setup.plan_for(g.first, fold_train) for g in settings.groups]
    return Prepared(
        setup, settings, seeds, root, mesh, budget, n_folds, fold_arrays, plans, keep_params
    )


def _check_positive(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive int or None; got {value!r}.")


def _choose_program(
    compile_at: Callable[[int], Program],
    rows: int,
    n_dev: int,
    budget: int,
    chunk_size: int | None,
) -> tuple[Program | None, float | None, float]:
    """The program for this group's remaining rows, its bytes per row, and compile seconds.

    First the program for all rows at once; if XLA's memory analysis puts it over the
    budget, a second one at one row per device gives the linear growth ``fixed + per_row
    * rows`` over the widest range, from which the chunk width follows. Buffer assignment
    is only roughly linear, so the chosen program's own analysis is checked and the width
    shrunk until it fits.
    """
    if rows == 0:
        return None, None, 0.0
    padded = -(-rows // n_dev) * n_dev
    if chunk_size is not None:
        program = compile_at(min(-(-chunk_size // n_dev) * n_dev, padded))
        return program, None, program.compile_s
    whole = compile_at(padded)
    if whole.bytes_total is None or whole.bytes_total <= budget:
        return whole, None, whole.compile_s
    compiled = [whole, whole if padded == n_dev else compile_at(n_dev)]
    width, per_row = plan_width((compiled[1], whole), rows, n_dev, budget)
    program = compile_at(width)
    compiled.append(program)
    while program.bytes_total is not None and program.bytes_total > budget and width > n_dev:
        shrunk = int(width * budget / program.bytes_total) // n_dev * n_dev
        width = max(n_dev, min(shrunk, width - n_dev))
        program = compile_at(width)
        compiled.append(program)
    compile_s = sum(p.compile_s for p in {id(p): p for p in compiled}.values())
    return program, per_row, compile_s


def _scatter(leaves, pos, chunk, n):
    if leaves is None:
        leaves = [np.empty((n, *c.shape[1:]), c.dtype) for c in chunk]
    for dst, src in zip(leaves, chunk, strict=True):
        dst[pos] = src
    return leaves


def _result_treedef(plan, hp_rows, root, setup: Inputs, keep_params: bool):
    from .._training import run_fit

    def one(h):
        r = run_fit(plan, h, jax.random.wrap_key_data(root), setup.train, setup.valid)
        return trim(r, keep_params)

    return jax.tree.structure(jax.eval_shape(one, jax.tree.map(lambda a: a[0], hp_rows)))


def _progress_bar(progress: bool | None, total: int, todo: int):
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else bool(progress)
    return tqdm(total=total, initial=total - todo, disable=not show, unit="fit", desc="sweep",
                smoothing=0.1)  # fmt: skip


def _prints(setup: Inputs, dicts, seeds, root, model, folds, keep_params) -> dict[str, str]:
    from .._version import __version__

    arrays = [np.asarray(a) for a in jax.tree.leaves((setup.train, setup.valid, folds))]
    return fingerprint(
        version=__version__,
        model=model,
        loss=setup.spec.loss.name,
        metrics=tuple(m.name for m in setup.metrics),
        optimizer=setup.spec.optimizer,
        options={"explode_factor": setup.spec.explode_factor, "eval_every": setup.eval_every},
        settings=dicts,
        seeds=seeds,
        root=root,
        arrays=arrays,
        keep_params=keep_params,
    )


def _assemble(settings, shape, setup, results, infos, keep_params, base, info):
    n = len(settings)
    seeds, n_folds = shape
    cells = seeds * n_folds
    steps_max = max(r.train_loss.shape[-1] for r in results)
    vals_max = max(r.val_loss.shape[-1] for r in results)
    metric_names = list(results[0].metrics)
    metrics = {m: np.full((n, cells), np.nan, results[0].metrics[m].dtype) for m in metric_names}
    diverged = np.zeros((n, cells), bool)
    diverged_step = np.full((n, cells), -1, np.int64)
    cause = np.zeros((n, cells), np.int64)
    dtype = results[0].train_loss.dtype
    train_curves = np.full((n, cells, steps_max), np.nan, dtype)
    val_curves = np.full((n, cells, vals_max), np.nan, dtype)
    val_steps: list[tuple[int, ...]] = [()] * n
    params = []
    for group, r in zip(settings.groups, results, strict=True):
        idx = group.indices
        shape = (len(idx), cells)
        r: FitResult = jax.tree.map(lambda a, shape=shape: a.reshape(*shape, *a.shape[1:]), r)
        for m in metric_names:
            metrics[m][idx] = r.metrics[m]
        diverged[idx] = r.diverged
        diverged_step[idx] = r.diverged_step
        cause[idx] = r.cause
        train_curves[idx, :, : r.train_loss.shape[-1]] = r.train_loss
        val_curves[idx, :, : r.val_loss.shape[-1]] = r.val_loss
        for i in idx:
            val_steps[i] = r.val_steps
        params.append(r.params)
    better = {"train_loss": False, "val_loss": False}
    for m in setup.metrics:
        better[f"train_{m.name}"] = better[f"val_{m.name}"] = m.greater_is_better
    return SweepResult(
        hyperparams=tuple(settings.dicts),
        varied=settings.varied,
        seeds=seeds,
        metrics=metrics,
        greater_is_better={k: v for k, v in better.items() if k in metrics},
        diverged=diverged,
        diverged_step=diverged_step,
        cause=cause,
        train_curves=train_curves,
        val_curves=val_curves,
        val_steps=tuple(val_steps),
        group_params=tuple(params) if keep_params else None,
        groups=tuple(infos),
        info=info,
        base=base,
        folds=n_folds,
    )
