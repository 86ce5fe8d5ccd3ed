"""A sweep's arguments, validated once: the options ``sweep`` and ``sweep_plan`` share, and
the inputs they lead to before anything compiles."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from .._cv import as_folds
from .._hp import Space
from .._training import (
    Inputs,
    Metric,
    Model,
    Objective,
    ObjectiveRun,
    OptimizerFactory,
    RunSpec,
    check_eval_every,
    check_hp,
    check_inputs,
    check_key,
    check_objective_hp,
    check_run_fields,
    objective_run,
)
from .keys import check_keys
from .program import Program, default_memory_budget, get_program, make_mesh
from .settings import Settings, settings_of

__all__ = [
    "SweepInputs",
    "SweepOptions",
    "check_model_args",
    "check_objective_args",
    "check_objective_inputs",
    "check_sweep_inputs",
]


@dataclasses.dataclass(frozen=True)
class SweepOptions:
    """The keyword options of :func:`jaxfit.sweep` that :func:`jaxfit.sweep_plan` shares.

    The checks that need nothing but the options run here, at construction; the rest
    (data, metrics, optimizer, devices) in :func:`check_sweep_inputs`. Each field is the
    sweep's argument of the same name, except ``cv_groups`` (its ``groups=``, the group
    labels of a group-aware splitter: not the sweep's static groups).
    """

    seeds: int = 1
    val: tuple | None = None
    metrics: Sequence[str | Metric | Callable] = ()
    eval_every: int | None = None
    optimizer: OptimizerFactory | None = None
    explode_factor: float | None = 1e4
    memory_budget: int | None = None
    chunk_size: int | None = None
    devices: Sequence[Any] | None = None
    keep_params: bool = True
    cv: Any = None
    cv_groups: Any = None
    keys: str = "paired"

    def __post_init__(self) -> None:
        check_keys(self.keys)
        if not isinstance(self.keep_params, bool):
            raise TypeError(f"keep_params must be True or False; got {self.keep_params!r}.")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise ValueError(f"seeds must be a positive int; got {self.seeds!r}.")
        if self.cv is not None:
            # Without cv, check_inputs checks eval_every against the validation set.
            _check_positive("eval_every", self.eval_every)
            if self.val is not None:
                raise ValueError(
                    "give either val= (one validation set) or cv= (cross-validation folds, "
                    "whose test folds are the validation sets), not both."
                )
        elif self.cv_groups is not None:
            raise ValueError("groups= is only used with cv= (e.g. cv=jaxfit.GroupKFold(5)).")
        _check_positive("chunk_size", self.chunk_size)
        object.__setattr__(self, "memory_budget", _bytes("memory_budget", self.memory_budget))


def _check_positive(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive int or None; got {value!r}.")


def _bytes(name: str, value: Any) -> int | None:
    """A byte count as an int: ``1e9`` is a natural way to write one, so whole floats pass."""
    if isinstance(value, np.integer) or (
        isinstance(value, float | np.floating) and math.isfinite(value) and value.is_integer()
    ):
        value = int(value)
    elif isinstance(value, float | np.floating):
        raise ValueError(
            f"{name} must be a positive whole number of bytes or None; got {value!r} (e.g. "
            "memory_budget=4e9 or 4 * 2**30)."
        )
    _check_positive(name, value)
    return value


@dataclasses.dataclass(frozen=True)
class SweepInputs:
    """A sweep's validated inputs and static layout, before anything is compiled."""

    options: SweepOptions
    base: Any  # the single setting the space modifies
    shared: Inputs | None  # model, loss, data and metrics (None for an Objective's sweep)
    settings: Settings
    root: np.ndarray  # the root key's data
    mesh: Mesh
    budget: int  # bytes per device a chunk may use
    n_folds: int  # 1 without cross-validation
    folds: tuple[np.ndarray, np.ndarray] | None  # the folds' (train, test) weight masks (F, n)
    run_specs: tuple[RunSpec, ...] | tuple[ObjectiveRun, ...]  # one per static group
    objective: Objective | None = None  # what the rows run instead of a model

    @property
    def train(self) -> Any:
        """The training data every row reads (``None`` for an objective)."""
        return None if self.shared is None else self.shared.train

    @property
    def valid(self) -> Any:
        """The validation data (``None`` without, and for an objective)."""
        return None if self.shared is None else self.shared.valid

    @property
    def cells(self) -> int:
        """Rows per setting: seeds x folds."""
        return self.options.seeds * self.n_folds

    def program_at(self, g: int, hp_row: Any) -> Callable[[int], Program]:
        """``width -> Program`` for static group ``g`` (``hp_row``: one of its rows)."""
        return functools.partial(
            get_program, self.run_specs[g], hp_row, mesh=self.mesh, root=self.root,
            train=self.train, valid=self.valid, folds=self.folds,
            keep_params=self.options.keep_params,
        )  # fmt: skip


def check_sweep_inputs(
    model: Model,
    loss: str | Metric | Callable,
    data: tuple,
    base: Any,
    space: Space | Sequence[Any] | None,
    key: jax.Array,
    options: SweepOptions,
) -> SweepInputs:
    """Validates what the options alone could not, and works out the static groups."""
    check_hp(base)
    if base.batch_shape != ():
        raise ValueError("base must be a single setting, not a batch made by jaxfit.stack.")
    check_run_fields(base)  # the contract, before the space is applied (see RunFields)
    root = np.asarray(jax.random.key_data(check_key(key)))
    o = options
    # Under cross-validation the test folds are the validation sets, set below.
    shared = check_inputs(
        model, loss, data, o.val, o.metrics, o.optimizer, o.explode_factor,
        o.eval_every if o.cv is None else None,
    )  # fmt: skip
    settings = settings_of(base, space)
    folds = None
    n_folds = 1
    if o.cv is not None:
        split = as_folds(
            o.cv, np.asarray(shared.train.x), np.asarray(shared.train.y), o.cv_groups,
            classifier=shared.spec.loss.target in ("class", "binary"),
        )  # fmt: skip
        n_folds = split.n_folds
        dtype = np.asarray(shared.train.weight).dtype
        folds = (split.train.astype(dtype), split.test.astype(dtype))
        # The training data doubles as the validation set; each row's fold masks its weights.
        shared = dataclasses.replace(shared, valid=shared.train, eval_every=o.eval_every)
    cells = o.seeds * n_folds
    if len(settings) * cells >= 2**31:
        raise ValueError(f"{len(settings)} settings x {cells} runs is too many rows (>= 2**31).")
    mesh = make_mesh(o.devices)
    budget = o.memory_budget or default_memory_budget(mesh)
    fold_train = None if folds is None else folds[0]
    run_specs = tuple(shared.run_spec_for(g.first, fold_train) for g in settings.groups)
    return SweepInputs(o, base, shared, settings, root, mesh, budget, n_folds, folds, run_specs)


def check_model_args(caller: str, loss: Any, data: Any, base: Any) -> tuple[Any, tuple, Any]:
    """With a model, ``loss``, ``data`` and ``base`` are required (they are optional in the
    signature only so that an :class:`jaxfit.Objective` can go without them); returns them."""
    missing = [n for n, v in (("loss", loss), ("data", data), ("base", base)) if v is None]
    if missing:
        raise TypeError(
            f"{caller} with a jaxfit.Model needs {', '.join(missing)}: "
            f"{caller}(model, loss, data, base, space, key=...)."
        )
    return loss, data, base


def check_objective_args(caller: str, **given: Any) -> None:
    """Refuses the arguments that describe a model's training when sweeping an objective.

    ``given`` maps each such argument's name to whether the caller set it (a value other
    than its default).
    """
    set_ = [name for name, was in given.items() if was]
    if not set_:
        return
    name = set_[0]
    why = {
        "loss": "an Objective's step computes its own loss (if you meant base or space, pass "
        "them by keyword: base=..., space=...)",
        "data": "an Objective reads no data (close over them in init or step)",
        "val": "an Objective reads no data; its evaluate reports the metrics",
        "metrics": "an Objective's evaluate returns its metrics",
        "cv": "cross-validation splits data, and an Objective reads none",
        "groups": "group labels split data for cv=, and an Objective reads none",
        "optimizer": "an Objective's step applies its own optimizer (build it from hp inside)",
        "explode_factor": "an Objective's step is guarded against NaN and inf only; compare "
        "the loss with a threshold in your step if you need more",
    }[name]
    others = f" (also given: {', '.join(set_[1:])})" if len(set_) > 1 else ""
    raise TypeError(f"{caller}: {name}= cannot be used with a jaxfit.Objective: {why}.{others}")


def check_objective_inputs(
    objective: Objective,
    base: Any,
    space: Space | Sequence[Any] | None,
    key: jax.Array,
    options: SweepOptions,
    caller: str = "sweep",
) -> SweepInputs:
    """An objective's sweep: settings grouped by static part, each group's run checked
    with ``jax.eval_shape`` (nothing compiled) and given its :class:`ObjectiveRun`."""
    if base is None:
        raise TypeError(f"{caller} with a jaxfit.Objective needs base= (the hyperparameters).")
    check_objective_hp(objective, base, "base")
    check_eval_every(options.eval_every)
    key = check_key(key)
    root = np.asarray(jax.random.key_data(key))
    settings = settings_of(base, space)
    if len(settings) * options.seeds >= 2**31:
        raise ValueError(
            f"{len(settings)} settings x {options.seeds} seeds is too many rows (>= 2**31)."
        )
    runs = []
    for group in settings.groups:
        check_objective_hp(objective, group.first, "a setting of space")
        runs.append(objective_run(objective, group.first, options.eval_every, key))
    names = {run.metric_names for run in runs}
    if len(names) > 1:
        raise ValueError(
            f"Objective {objective.name!r}: evaluate returns different metric names for "
            f"different static groups ({sorted(names)}); every setting must report the same."
        )
    mesh = make_mesh(options.devices)
    budget = options.memory_budget or default_memory_budget(mesh)
    return SweepInputs(
        options, base, None, settings, root, mesh, budget, 1, None, tuple(runs), objective
    )
