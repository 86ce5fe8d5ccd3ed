"""``sweep``: every (setting x seed) trained in one compiled program per static group."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._hp import Space
from .._training import FitResult, Metric, Model, Objective, OptimizerFactory
from .checkpoint import Checkpoint, fingerprint, model_shapes, objective_fingerprint
from .keys import KEY_SCHEME, key_ids as key_ids_of
from .options import (
    SweepInputs,
    SweepOptions,
    check_model_args,
    check_objective_args,
    check_objective_inputs,
    check_sweep_inputs,
)
from .program import (
    ProgramChoice,
    choose_program,
    fetch,
    put_replicated,
    put_rows,
    run_row,
    trim,
)
from .result import GroupInfo, SweepResult

__all__ = ["sweep"]


def sweep(
    model: Model | Objective,
    loss: str | Metric | Callable | None = None,
    data: tuple | None = None,
    base: Any = None,
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
    checkpoint_key: str | None = None,
    progress: bool | None = None,
    keep_params: bool = True,
    cv: Any = None,
    groups: Any = None,
    keys: str = "paired",
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

    Row ``(i, s)`` (setting ``i``, seed ``s``, any fold) trains with key
    ``jax.random.fold_in(key, s)``: every setting of seed ``s`` starts from the same
    initialisation and sees the same minibatch order (common random numbers), so settings
    are compared paired, and adding, removing or reordering settings changes no other
    setting's numbers. Nor do chunk size, device count or resumption; a row equals
    ``jaxfit.fit`` run on it alone with that key. ``keys="per_setting"`` gives each setting
    its own stream instead, ``fold_in(fold_in(key, s), h)`` with ``h`` a 31-bit hash of the
    setting's fields (names and values), so it is just as independent of the position, and
    identical settings share a stream.

    With ``checkpoint_dir``, every finished chunk is written atomically; running the
    same sweep again skips what is done. A directory from a different sweep is refused:
    its fingerprint covers the data, settings, key and key mode, parameter and output
    shapes, and the code and captured values of the model, loss, metrics and optimizer
    factory. One process writes a directory at a time (a second one is refused, naming
    the first's pid); a damaged chunk is trained again with a warning.
    Across hosts, call ``jax.distributed.initialize()`` first in every process and run the
    same ``sweep``: the rows are split over all hosts' devices and every process gets the
    whole result.

    A :class:`jaxfit.Objective` (your own ``init``/``step``/``evaluate``, or a whole
    ``train(hp, key)``) is swept the same way: ``sweep(objective, base=..., space=...,
    key=..., seeds=...)``. Its rows run the objective's own steps (guarded as a model's
    are) and report its ``evaluate``'s metrics, ranked by the first; grouping, chunking,
    devices, keys, checkpoints (fingerprinting the objective's functions) and the result
    work unchanged. ``loss``, ``data``, ``val``, ``metrics``, ``cv``, ``groups``,
    ``optimizer`` and ``explode_factor`` describe a model's training and are refused.

    Args:
      model: the model, as for :func:`jaxfit.fit`, or a :class:`jaxfit.Objective`.
      loss: the training loss, as for :func:`jaxfit.fit` (required with a model).
      data: training data ``(x, y)`` or ``(x, y, weight)`` (required with a model).
      base: the hyperparameters that the space modifies (a single setting; required).
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
      checkpoint_key: with ``checkpoint_dir``, a string you promise identifies the
        behaviour of callables that cannot be fingerprinted (a closure over an arbitrary
        object, a C function, a callable object); without it they are refused. Change it
        whenever their behaviour changes: a resume trusts it.
      progress: show a progress bar (default: when stderr is a terminal).
      keep_params: keep every setting's trained parameters in the result; with ``False``
        the program does not return them at all (less memory and transfer for big sweeps).
      cv: cross-validation folds, as :func:`jaxfit.as_folds` accepts (an int ``k``, a
        splitter such as :class:`jaxfit.KFold`, explicit ``(train, test)`` index pairs, or
        a scikit-learn splitter). Folds become one more vmap axis: each (setting, seed,
        fold) row trains on its fold's training samples (by weight masks, so unequal
        folds are exact) and reports ``val_*`` metrics on its test fold. Excludes ``val``.
      groups: group labels for group-aware splitters (:class:`jaxfit.GroupKFold`).
      keys: ``"paired"`` (the default): seed ``s`` of every setting trains with
        ``fold_in(key, s)``, for paired comparisons; ``"per_setting"``: each setting gets
        its own stream, derived from the setting's content rather than its position.

    Returns:
      A :class:`jaxfit.SweepResult` with one row per setting and seed (its
      ``info["keys"]`` records the key mode).

    Raises:
      TypeError, ValueError: for invalid arguments, data or spaces, before compiling
        (a model without ``loss``, ``data`` or ``base``; an objective with any of them but
        ``base``, or whose functions do not fit together, checked by ``jax.eval_shape``); a
        ``checkpoint_dir`` of another sweep, or with callables that cannot be fingerprinted.
      RuntimeError: when another process is writing ``checkpoint_dir``.
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

      Seed ``s`` of every setting starts from ``fold_in(key, s)``, so a setting's numbers
      do not depend on the others:

      >>> alone = jaxfit.sweep(jaxfit.linear(), "mse", (x, y), base,
      ...                      jaxfit.grid(learning_rate=[0.1]), key=jax.random.key(0), seeds=2)
      >>> bool(jnp.allclose(alone.metrics["train_loss"][0], result.metrics["train_loss"][1]))
      True
    """
    t_start = time.perf_counter()
    if isinstance(model, Objective):
        check_objective_args(
            "sweep", loss=loss is not None, data=data is not None, val=val is not None,
            metrics=len(metrics) > 0, cv=cv is not None, groups=groups is not None,
            optimizer=optimizer is not None, explode_factor=explode_factor != 1e4,
        )  # fmt: skip
    options = SweepOptions(
        seeds=seeds, val=val, metrics=metrics, eval_every=eval_every, optimizer=optimizer,
        explode_factor=explode_factor, memory_budget=memory_budget, chunk_size=chunk_size,
        devices=devices, keep_params=keep_params, cv=cv, cv_groups=groups, keys=keys,
    )  # fmt: skip
    if isinstance(model, Objective):
        inputs = check_objective_inputs(model, base, space, key, options)
    else:
        loss_, data_, _ = check_model_args("sweep", loss, data, base)
        inputs = check_sweep_inputs(model, loss_, data_, base, space, key, options)
    if checkpoint_key is not None and not isinstance(checkpoint_key, str):
        raise TypeError(f"checkpoint_key must be a str or None; got {checkpoint_key!r:.80}.")
    if checkpoint_key is not None and checkpoint_dir is None:
        raise ValueError("checkpoint_key is only used with checkpoint_dir=.")
    ckpt = None
    if checkpoint_dir is not None:
        prints = (
            _objective_fingerprint(inputs, checkpoint_key)
            if isinstance(model, Objective)
            else _fingerprint(inputs, model, checkpoint_key)
        )
        ckpt = Checkpoint.open(checkpoint_dir, prints)
    try:
        # Compile every group first, so that the progress bar's rate and ETA exclude compiling.
        jobs = [_compile_group(inputs, g, ckpt) for g in range(len(inputs.settings.groups))]
        if ckpt is not None:
            ckpt.check_writable(sum(len(job.todo) for job in jobs))
        whole = Replicated(inputs.root, inputs.train, inputs.valid, inputs.folds)
        replicated = put_replicated(whole, inputs.mesh)
        total = len(inputs.settings) * inputs.cells
        bar = _progress_bar(progress, total, sum(len(job.todo) for job in jobs))
        runs = [_run_group(inputs, job, replicated, ckpt, bar) for job in jobs]
        bar.close()
    finally:
        if ckpt is not None:
            ckpt.close()
    return _assemble(inputs, runs, _info(inputs, t_start))


@dataclasses.dataclass(frozen=True)
class GroupRows:
    """A static group's rows: (setting, seed, fold), in that order."""

    hp: Any  # the settings' numeric fields, one row each
    key_ids: np.ndarray  # (rows, 2) int32 (seed, salt): what the row's key folds in
    fold_ids: np.ndarray  # int32: the row's cross-validation fold (0 without cv)
    ids: np.ndarray  # (setting * seeds + seed) * folds + fold, unique and increasing:
    # checkpoint row ids (a row's key does not depend on its setting's position; its id does)


def _group_rows(inputs: SweepInputs, g: int) -> GroupRows:
    group, seeds, n_folds = inputs.settings.groups[g], inputs.options.seeds, inputs.n_folds
    hp = jax.tree.map(lambda a: np.repeat(a, seeds * n_folds, axis=0), group.batch)
    indices = np.asarray(group.indices)
    # The key depends on the seed (and in per_setting mode the setting's content) only, so
    # every fold of a seed starts from the same initialisation.
    key_ids = key_ids_of(inputs.options.keys, inputs.settings.dicts, indices, seeds, n_folds)
    cells = np.repeat(indices[:, None] * seeds + np.arange(seeds), n_folds)
    fold_ids = np.tile(np.arange(n_folds), len(indices) * seeds)
    ids = (cells * n_folds + fold_ids).astype(np.int32)
    return GroupRows(hp, key_ids, fold_ids.astype(np.int32), ids)


@dataclasses.dataclass(frozen=True)
class GroupJob:
    """One static group, compiled and ready to run."""

    index: int  # the group's position in the sweep (and in its checkpoint)
    rows: GroupRows
    done: list[tuple[np.ndarray, list[np.ndarray]]]  # checkpointed (row ids, result leaves)
    todo: np.ndarray  # positions of the rows still to train
    choice: ProgramChoice


class Replicated(NamedTuple):
    """What every device holds whole: a program's last arguments, after its rows."""

    root: Any
    train: Any
    valid: Any
    folds: Any


@dataclasses.dataclass(frozen=True)
class GroupRun:
    """One static group's trained rows and its report."""

    result: FitResult  # every row, in the group's row order, without hp
    info: GroupInfo


def _compile_group(inputs: SweepInputs, g: int, ckpt: Checkpoint | None) -> GroupJob:
    """Group ``g``'s rows, those the checkpoint already holds, and the program for the rest."""
    rows = _group_rows(inputs, g)
    done = ckpt.load(g, rows.ids) if ckpt is not None else []
    finished = np.zeros(len(rows.ids), bool)
    for ids, _ in done:
        finished[np.searchsorted(rows.ids, ids)] = True
    todo = np.nonzero(~finished)[0]
    choice = choose_program(
        inputs.program_at(g, jax.tree.map(lambda a: a[0], rows.hp)),
        len(todo),
        inputs.mesh.size,
        inputs.budget,
        inputs.options.chunk_size,
    )
    return GroupJob(g, rows, done, todo, choice)


def _run_group(
    inputs: SweepInputs, job: GroupJob, replicated: Replicated, ckpt: Checkpoint | None, bar: Any
) -> GroupRun:
    """Trains a group's remaining rows chunk by chunk, saving each; merges the loaded ones."""
    t0 = time.perf_counter()
    n = len(job.rows.ids)
    leaves: list[np.ndarray] | None = None
    treedef = None
    for ids, chunk in job.done:
        leaves = _scatter(leaves, np.searchsorted(job.rows.ids, ids), chunk, n)
    program = job.choice.program
    n_chunks = 0
    if program is not None:  # else every row came from the checkpoint
        for start in range(0, len(job.todo), program.width):
            pos = job.todo[start : start + program.width]
            padded = np.concatenate([pos, np.full(program.width - len(pos), pos[0])])
            hp = jax.tree.map(lambda a, padded=padded: a[padded], job.rows.hp)
            ids = (hp, job.rows.key_ids[padded], job.rows.fold_ids[padded])
            out = program.executable(*put_rows(ids, inputs.mesh), *replicated)
            flat, treedef = jax.tree.flatten(fetch(out))
            flat = [leaf[: len(pos)] for leaf in flat]  # the padding's results are dropped
            leaves = _scatter(leaves, pos, flat, n)
            if ckpt is not None:
                ckpt.save(job.index, job.rows.ids[pos], flat)
            bar.update(len(pos))
            n_chunks += 1
    if treedef is None:  # everything came from the checkpoint: rebuild the structure
        treedef = _result_treedef(inputs, job)
    if leaves is None:  # unreachable: every row is either loaded or trained
        raise RuntimeError(f"sweep group {job.index} produced no rows; please report this bug.")
    group = inputs.settings.groups[job.index]
    info = GroupInfo(
        static_key=group.key,
        indices=np.asarray(group.indices),
        compile_s=job.choice.compile_s,
        run_s=time.perf_counter() - t0,
        chunk_size=job.choice.width,
        n_chunks=n_chunks,
        bytes_per_row=job.choice.bytes_per_row,
        bytes_per_chunk=None if program is None else program.bytes_total,
    )
    return GroupRun(jax.tree.unflatten(treedef, leaves), info)


def _scatter(leaves, pos, chunk, n):
    if leaves is None:
        leaves = [np.empty((n, *c.shape[1:]), c.dtype) for c in chunk]
    for dst, src in zip(leaves, chunk, strict=True):
        dst[pos] = src
    return leaves


def _result_treedef(inputs: SweepInputs, job: GroupJob):
    spec = inputs.run_specs[job.index]

    def one(h):
        key = jax.random.wrap_key_data(jnp.asarray(inputs.root))
        r = run_row(spec, h, key, inputs.train, inputs.valid)
        return trim(r, inputs.options.keep_params)

    return jax.tree.structure(jax.eval_shape(one, jax.tree.map(lambda a: a[0], job.rows.hp)))


def _progress_bar(progress: bool | None, total: int, todo: int):
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if progress is None else bool(progress)
    return tqdm(total=total, initial=total - todo, disable=not show, unit="fit", desc="sweep",
                smoothing=0.1)  # fmt: skip


def _fingerprint(inputs: SweepInputs, model: Model, checkpoint_key: str | None) -> dict[str, str]:
    from .._version import VERSION

    shared = inputs.shared
    assert shared is not None  # a model's sweep
    arrays = [np.asarray(a) for a in jax.tree.leaves((shared.train, shared.valid, inputs.folds))]
    return fingerprint(
        version=VERSION,
        model=model,
        shapes=model_shapes(
            model,
            jax.random.wrap_key_data(jnp.asarray(inputs.root)),
            shared.train.x,
            [group.first for group in inputs.settings.groups],
        ),
        loss=shared.spec.loss,
        metrics=shared.metrics,
        optimizer=shared.spec.optimizer,
        options={"explode_factor": shared.spec.explode_factor, "eval_every": shared.eval_every},
        settings=inputs.settings.dicts,
        seeds=inputs.options.seeds,
        keys=f"{inputs.options.keys} (scheme {KEY_SCHEME})",
        root=inputs.root,
        arrays=arrays,
        keep_params=inputs.options.keep_params,
        checkpoint_key=checkpoint_key,
    )


def _objective_fingerprint(inputs: SweepInputs, checkpoint_key: str | None) -> dict[str, str]:
    from .._version import VERSION

    assert inputs.objective is not None
    key = jax.random.wrap_key_data(jnp.asarray(inputs.root))
    return objective_fingerprint(
        version=VERSION,
        objective=inputs.objective,
        shapes=[_state_shapes(inputs.objective, key, g.first) for g in inputs.settings.groups],
        options={"eval_every": inputs.options.eval_every},
        settings=inputs.settings.dicts,
        seeds=inputs.options.seeds,
        keys=f"{inputs.options.keys} (scheme {KEY_SCHEME})",
        root=inputs.root,
        keep_params=inputs.options.keep_params,
        checkpoint_key=checkpoint_key,
    )


def _state_shapes(objective: Objective, key: jax.Array, hp: Any) -> str:
    state = jax.eval_shape(objective.init, key, hp)
    leaves = [(tuple(a.shape), str(a.dtype)) for a in jax.tree.leaves(state)]
    return f"{jax.tree.structure(state)} {leaves}"


def _info(inputs: SweepInputs, t_start: float) -> dict[str, Any]:
    mesh = inputs.mesh
    extra: dict[str, Any] = {}
    if inputs.objective is not None:
        first = inputs.run_specs[0]
        extra = {"objective": inputs.objective.name, "rank_by": first.metric_names[0]}  # type: ignore[union-attr]
    return {
        **extra,
        "devices": [str(d) for d in mesh.devices.flat],
        "device_kind": mesh.devices.flat[0].device_kind,
        "process_count": jax.process_count(),
        "memory_budget": inputs.budget,
        "keys": inputs.options.keys,
        "wall_s": time.perf_counter() - t_start,
    }


def _assemble(inputs: SweepInputs, runs: list[GroupRun], info: dict[str, Any]) -> SweepResult:
    """The groups' rows as one result: (setting, seed x fold) arrays in the sweep's order."""
    settings, n = inputs.settings, len(inputs.settings)
    cells = inputs.cells
    results = [run.result for run in runs]
    steps_max = max(r.train_loss.shape[-1] for r in results)
    vals_max = max(r.val_loss.shape[-1] for r in results)
    metric_names = list(results[0].metrics)
    metrics = {m: np.full((n, cells), np.nan, results[0].metrics[m].dtype) for m in metric_names}
    last_good = {m: np.full_like(metrics[m], np.nan) for m in metric_names}
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
            last_good[m][idx] = r.last_good_metrics[m]
        diverged[idx] = r.diverged
        diverged_step[idx] = r.diverged_step
        cause[idx] = r.cause
        train_curves[idx, :, : r.train_loss.shape[-1]] = r.train_loss
        val_curves[idx, :, : r.val_loss.shape[-1]] = r.val_loss
        for i in idx:
            val_steps[i] = r.val_steps
        params.append(r.params)
    better = {"train_loss": False, "val_loss": False}
    if inputs.shared is not None:
        for m in inputs.shared.metrics:
            better[f"train_{m.name}"] = better[f"val_{m.name}"] = m.greater_is_better
    else:  # an objective's metrics: its maximize names are better when greater
        assert inputs.objective is not None
        better = {m: m in inputs.objective.maximize for m in metric_names}
    keep_params = inputs.options.keep_params
    return SweepResult(
        hyperparams=tuple(settings.dicts),
        varied=settings.varied,
        seeds=inputs.options.seeds,
        metrics=metrics,
        greater_is_better={k: v for k, v in better.items() if k in metrics},
        diverged=diverged,
        diverged_step=diverged_step,
        cause=cause,
        train_curves=train_curves,
        val_curves=val_curves,
        val_steps=tuple(val_steps),
        group_params=tuple(params) if keep_params else None,
        groups=tuple(run.info for run in runs),
        info=info,
        base=inputs.base,
        folds=inputs.n_folds,
        last_good_metrics=last_good,
    )
