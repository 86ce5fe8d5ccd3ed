"""``sweep_plan``: what a sweep would compile, how it would be cut, and what it would cost."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._hp import Space
from .._training import (
    Batcher,
    Inputs,
    Metric,
    Model,
    Objective,
    ObjectiveRun,
    OptimizerFactory,
    RunSpec,
    apply_model,
    final_metrics,
    guarded_step,
    new_train_state,
    steps_of,
)
from .options import (
    SweepInputs,
    SweepOptions,
    check_model_args,
    check_objective_args,
    check_objective_inputs,
    check_sweep_inputs,
)
from .program import choose_program, format_size

__all__ = ["PlanGroup", "SweepPlan", "sweep_plan"]


@dataclasses.dataclass(frozen=True)
class PlanGroup:
    """One static group of a planned sweep: one compiled program.

    Attributes:
      static: the group's static hyperparameters (``{name: value}``).
      n_settings: settings in the group.
      n_rows: rows (setting x seed x fold) the group trains.
      chunk_size: rows per compiled call (a multiple of the device count).
      n_chunks: calls needed (the last one padded to ``chunk_size``).
      bytes_per_chunk: XLA's memory estimate per device for one call, where known.
      bytes_per_row: the growth per row, where it was measured (only when chunked).
      flops_per_row: floating-point operations to train and evaluate one row, where the
        backend reports them (XLA's count of one initialisation, one step, one validation
        pass and the final metrics, combined by the number of steps and evaluations).
      steps: training steps per row.
      compile_s: seconds spent compiling this group's program(s) for the plan (0 when
        they were cached).

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(-1, 1, 32); y = 2 * x + 1
      >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=20)
      >>> plan = jaxfit.sweep_plan(jaxfit.linear(), "mse", (x, y), base, seeds=4)
      >>> group = plan.groups[0]
      >>> group.n_rows, group.steps, group.static["optimizer"]
      (4, 20, 'sgd')
    """

    static: dict[str, Any]
    n_settings: int
    n_rows: int
    chunk_size: int
    n_chunks: int
    bytes_per_chunk: int | None
    bytes_per_row: float | None
    flops_per_row: float | None
    steps: int
    compile_s: float


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """What :func:`jaxfit.sweep` would do with the same arguments, without training.

    Attributes:
      groups: one :class:`PlanGroup` per static group (one compile each).
      n_settings: the number of settings.
      seeds: seeds per setting.
      folds: cross-validation folds per (setting, seed) (1 without ``cv``).
      memory_budget: bytes per device a chunk may use.
      devices: the devices the rows are sharded over.

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(-1, 1, 32); y = 2 * x + 1
      >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=20)
      >>> space = jaxfit.grid(learning_rate=[0.1, 0.5], steps=[10, 20])
      >>> plan = jaxfit.sweep_plan(jaxfit.linear(), "mse", (x, y), base, space, seeds=2)
      >>> len(plan.groups), plan.n_rows
      (2, 8)
      >>> print(plan)  # doctest: +ELLIPSIS
      4 settings x 2 seeds = 8 rows in 2 static group(s), one compile each; ...
    """

    groups: tuple[PlanGroup, ...]
    n_settings: int
    seeds: int
    folds: int
    memory_budget: int
    devices: tuple[str, ...]

    @property
    def n_rows(self) -> int:
        """Rows (setting x seed x fold) in the whole sweep."""
        return sum(g.n_rows for g in self.groups)

    @property
    def flops(self) -> float | None:
        """Total floating-point operations of the sweep, or ``None`` if any group lacks them."""
        per = [g.flops_per_row for g in self.groups]
        if any(f is None for f in per):
            return None
        return float(sum(f * g.n_rows for f, g in zip(per, self.groups, strict=True)))  # type: ignore[operator]

    def __str__(self) -> str:
        folds = f" x {self.folds} folds" if self.folds > 1 else ""
        lines = [
            f"{self.n_settings} settings x {self.seeds} seeds{folds} = "
            f"{self.n_rows} rows in {len(self.groups)} static group(s), one compile each; "
            f"{len(self.devices)} device(s), memory budget "
            f"{format_size(self.memory_budget)} per device",
        ]
        head = f"  {'group':<40} {'rows':>7} {'chunk':>6} {'calls':>6} {'memory/chunk':>13} "
        lines.append(head + f"{'FLOPs/row':>10} {'steps':>6}")
        shown = [
            k for k in self.groups[0].static if len({str(g.static[k]) for g in self.groups}) > 1
        ]
        for g in self.groups:
            static = ", ".join(f"{k}={g.static[k]}" for k in shown) or "(one group)"
            mem = "?" if g.bytes_per_chunk is None else format_size(g.bytes_per_chunk)
            flops = "?" if g.flops_per_row is None else f"{g.flops_per_row:.3g}"
            lines.append(
                f"  {static[:40]:<40} {g.n_rows:>7} {g.chunk_size:>6} {g.n_chunks:>6} "
                f"{mem:>13} {flops:>10} {g.steps:>6}"
            )
        return "\n".join(lines)


def sweep_plan(
    model: Model | Objective,
    loss: str | Metric | Callable | None = None,
    data: tuple | None = None,
    base: Any = None,
    space: Space | Sequence[Any] | None = None,
    *,
    key: jax.Array | None = None,
    seeds: int = 1,
    val: tuple | None = None,
    metrics: Sequence[str | Metric | Callable] = (),
    eval_every: int | None = None,
    optimizer: OptimizerFactory | None = None,
    explode_factor: float | None = 1e4,
    memory_budget: int | None = None,
    chunk_size: int | None = None,
    devices: Sequence[Any] | None = None,
    cv: Any = None,
    groups: Any = None,
    keep_params: bool = True,
    keys: str = "paired",
) -> SweepPlan:
    """Plans a :func:`jaxfit.sweep` without training: groups, chunks, memory and FLOPs.

    Takes the same arguments as :func:`jaxfit.sweep` (``key`` is optional here), a
    :class:`jaxfit.Objective` included, and validates them the same way. Each static
    group's program is compiled, exactly as the sweep would compile it (the programs are
    cached, so a sweep that follows compiles nothing), and XLA's memory and cost analyses
    give the chunk width, the memory per chunk and the FLOPs per row. Nothing is trained.

    Args:
      model: as for :func:`jaxfit.sweep`.
      loss: as for :func:`jaxfit.sweep`.
      data: as for :func:`jaxfit.sweep`.
      base: as for :func:`jaxfit.sweep`.
      space: as for :func:`jaxfit.sweep`.
      key: the root key (default ``jax.random.key(0)``; it does not change the plan).
      seeds: as for :func:`jaxfit.sweep`.
      val: as for :func:`jaxfit.sweep`.
      metrics: as for :func:`jaxfit.sweep`.
      eval_every: as for :func:`jaxfit.sweep`.
      optimizer: as for :func:`jaxfit.sweep`.
      explode_factor: as for :func:`jaxfit.sweep`.
      memory_budget: as for :func:`jaxfit.sweep`.
      chunk_size: as for :func:`jaxfit.sweep`.
      devices: as for :func:`jaxfit.sweep`.
      cv: as for :func:`jaxfit.sweep`.
      groups: as for :func:`jaxfit.sweep`.
      keep_params: as for :func:`jaxfit.sweep` (without them, a chunk brings back less).
      keys: as for :func:`jaxfit.sweep` (checked; it does not change the plan: both key
        modes run the same program).

    Returns:
      A :class:`jaxfit.SweepPlan`; ``print`` it for a table.

    Raises:
      TypeError, ValueError: as :func:`jaxfit.sweep` would, before compiling.
      MemoryError: when a single row does not fit ``memory_budget``.

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(-1, 1, 64); y = 2 * x + 1
      >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=100)
      >>> space = jaxfit.grid(learning_rate=[0.01, 0.1], steps=[50, 100])
      >>> plan = jaxfit.sweep_plan(jaxfit.linear(), "mse", (x, y), base, space, seeds=3)
      >>> [(g.static["steps"], g.n_rows) for g in plan.groups]
      [(50, 6), (100, 6)]
      >>> plan.flops > 0
      True
    """
    if isinstance(model, Objective):
        check_objective_args(
            "sweep_plan", loss=loss is not None, data=data is not None, val=val is not None,
            metrics=len(metrics) > 0, cv=cv is not None, groups=groups is not None,
            optimizer=optimizer is not None, explode_factor=explode_factor != 1e4,
        )  # fmt: skip
    options = SweepOptions(
        seeds=seeds, val=val, metrics=metrics, eval_every=eval_every, optimizer=optimizer,
        explode_factor=explode_factor, memory_budget=memory_budget, chunk_size=chunk_size,
        devices=devices, keep_params=keep_params, cv=cv, cv_groups=groups, keys=keys,
    )  # fmt: skip
    root_key = jax.random.key(0) if key is None else key
    if isinstance(model, Objective):
        inputs = check_objective_inputs(model, base, space, root_key, options, "sweep_plan")
    else:
        loss_, data_, _ = check_model_args("sweep_plan", loss, data, base)
        inputs = check_sweep_inputs(model, loss_, data_, base, space, root_key, options)
    return SweepPlan(
        groups=tuple(_plan_group(inputs, g) for g in range(len(inputs.settings.groups))),
        n_settings=len(inputs.settings),
        seeds=options.seeds,
        folds=inputs.n_folds,
        memory_budget=inputs.budget,
        devices=tuple(str(d) for d in inputs.mesh.devices.flat),
    )


def _plan_group(inputs: SweepInputs, g: int) -> PlanGroup:
    """Compiles group ``g``'s program as the sweep will (every row still to train)."""
    group = inputs.settings.groups[g]
    hp, n_rows = group.first, len(group.indices) * inputs.cells
    choice = choose_program(
        inputs.program_at(g, hp),
        n_rows,
        inputs.mesh.size,
        inputs.budget,
        inputs.options.chunk_size,
    )
    return PlanGroup(
        static=dict(group.key[1]),
        n_settings=len(group.indices),
        n_rows=n_rows,
        chunk_size=choice.width,
        n_chunks=-(-n_rows // max(choice.width, 1)),
        bytes_per_chunk=None if choice.program is None else choice.program.bytes_total,
        bytes_per_row=choice.bytes_per_row,
        flops_per_row=_group_flops(inputs, g, hp),
        steps=_steps(inputs, g, hp),
        compile_s=choice.compile_s,
    )


def _steps(inputs: SweepInputs, g: int, hp: Any) -> int:
    run = inputs.run_specs[g]
    return run.horizon(hp) if isinstance(run, ObjectiveRun) else steps_of(hp)


def _group_flops(inputs: SweepInputs, g: int, hp: Any) -> float | None:
    run = inputs.run_specs[g]
    if isinstance(run, ObjectiveRun):
        return objective_row_flops(run, hp, inputs.root)
    assert inputs.shared is not None  # a model's sweep
    return row_flops(run, hp, inputs.root, inputs.shared)


def objective_row_flops(run: ObjectiveRun, hp: Any, root: np.ndarray) -> float | None:
    """FLOPs of one row of an objective: ``init + steps * step + evaluations * evaluate +
    evaluate`` (the final metrics), each piece compiled on its own as :func:`row_flops`
    does."""
    objective = run.objective
    key = jax.random.wrap_key_data(jnp.asarray(root))
    state = jax.eval_shape(objective.init, key, hp)
    init = _flops(objective.init, key, hp)
    step = _flops(objective.step, state, hp)
    final = _flops(objective.evaluate, state, hp)
    if init is None or step is None or final is None:
        return None
    evals = len(run.val_steps(hp))
    return float(init + run.horizon(hp) * step + (evals + 1) * final)


def row_flops(run: RunSpec, hp: Any, root: np.ndarray, shared: Inputs) -> float | None:
    """FLOPs to train and evaluate one row, from XLA's cost analysis of its pieces.

    XLA counts a loop's body once, not once per iteration, so the whole program's count
    is no use; instead one initialisation, one step, one validation pass and the final
    metrics are compiled on their own (on one row, for one setting) and combined:
    ``init + steps * step + evaluations * validation + final``.
    """
    spec, train, valid = run.step, shared.train, shared.valid
    key = jax.random.wrap_key_data(jnp.asarray(root))
    steps = steps_of(hp)

    def init(hp, key, train):
        return new_train_state(spec, hp, key, train.x)

    def step(hp, state, key, train):
        batch_at = Batcher(train, getattr(hp, "batch_size", None), key, run.epoch_batches)
        batch, _ = batch_at(jnp.int32(1), batch_at.init)
        step_key = key if spec.model.takes_key else None
        return guarded_step(spec, hp, state, batch, jnp.sum(train.weight), step_key)

    def validate(hp, params, valid):
        pred, _ = apply_model(spec.model, params, valid.x, hp)
        return spec.loss(pred, valid.y, valid.weight, hp=hp)

    def final(hp, params, train, valid):
        return final_metrics(run, hp, params, train, valid)

    state = jax.eval_shape(init, hp, key, train)
    total = _flops(init, hp, key, train)
    one_step = _flops(step, hp, state, key, train)
    last = _flops(final, hp, state.variables, train, valid)
    if total is None or one_step is None or last is None:
        return None
    total += steps * one_step + last
    if valid is not None and run.eval_every is not None:
        evals = -(-steps // run.eval_every)
        per_eval = _flops(validate, hp, state.variables, valid)
        if per_eval is None:
            return None
        total += evals * per_eval
    return float(total)


def _flops(fn: Callable, *args: Any) -> float | None:
    try:
        analysis = jax.jit(fn).lower(*args).compile().cost_analysis()
    except Exception:  # not every backend implements cost analysis
        return None
    if isinstance(analysis, Sequence) and not isinstance(analysis, dict):
        analysis = analysis[0] if analysis else None
    if analysis is None:
        return None
    return float(analysis.get("flops", 0.0))  # no entry: nothing to count (e.g. zeros)
