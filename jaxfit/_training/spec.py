"""What is static about a run, checked before anything compiles: the step's spec (model,
loss, optimizer), the run's spec (the key of its compiled program) and the validated inputs
that every setting of a fit or a sweep shares."""

from __future__ import annotations

import dataclasses
import functools
import typing
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.core import Tracer

from .._hp import is_hyperparams
from .contract import steps_of
from .data import Dataset, as_dataset
from .losses import Metric, as_class_labels, check_metric_output, check_targets, get_metric
from .minibatch import epoch_batches
from .models import Model, Variables, apply_model, init_model
from .optim import make_optimizer

__all__ = [
    "Inputs",
    "OptimizerFactory",
    "RunSpec",
    "StepSpec",
    "check_hp",
    "check_inputs",
    "check_key",
    "check_model",
    "default_eval_every",
    "step_spec",
    "validate_inputs",
]

OptimizerFactory = Callable[[Any], optax.GradientTransformation]


@dataclasses.dataclass(frozen=True)
class StepSpec:
    """Everything static about a training run: the hashable key of its compiled program."""

    model: Model
    loss: Metric
    optimizer: OptimizerFactory
    explode_factor: float | None


def check_key(key: Any) -> jax.Array:
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"key must be a single PRNG key; got a batch of shape {key.shape}.")
        return key
    if isinstance(key, jax.Array) and key.dtype == jnp.uint32 and key.shape == (2,):
        return jax.random.wrap_key_data(key)
    raise TypeError(
        f"key must be a PRNG key from jax.random.key(seed); got {type(key).__name__} "
        f"{getattr(key, 'dtype', '')} {getattr(key, 'shape', '')}."
    )


def check_hp(hp: Any) -> None:
    if not is_hyperparams(hp):
        raise TypeError(
            f"hp must be an instance of a @jaxfit.hyperparams class (e.g. jaxfit.Hyperparams); "
            f"got {type(hp).__name__}."
        )


def check_model(model: Any) -> None:
    if not isinstance(model, Model):
        raise TypeError(
            f"model must be a jaxfit.Model (e.g. jaxfit.linear(), or "
            f"jaxfit.Model(init=..., apply=...) for your own); got {type(model).__name__}."
        )


def step_spec(model, loss, optimizer, explode_factor) -> StepSpec:
    check_model(model)
    if optimizer is None:
        optimizer = make_optimizer
    if not callable(optimizer):
        raise TypeError(
            "optimizer must be a callable hp -> optax.GradientTransformation (built inside the "
            f"traced program from the hyperparameter leaves); got {optimizer!r:.80}."
        )
    if explode_factor is not None and not (
        isinstance(explode_factor, int | float) and explode_factor > 1
    ):
        raise ValueError(f"explode_factor must be a number > 1 or None; got {explode_factor!r}.")
    return StepSpec(
        model, get_metric(loss), typing.cast(OptimizerFactory, optimizer), explode_factor
    )


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """The static description of a whole training run (the key of its compiled program).

    Attributes:
      step: the step's spec (model, loss, optimizer, explosion factor).
      metrics: the metrics reported at the end, besides the loss.
      eval_every: steps between validation points (``None``: no validation curve).
      epoch_batches: minibatches per epoch when known on the host (the same for every
        row): the epoch's shuffle is then computed once per epoch, not at every step.
      unit_weights: whether the training / validation weights are all ones (no weights
        given, no folds): the program then uses constant ones, which XLA folds away.
    """

    step: StepSpec
    metrics: tuple[Metric, ...]
    eval_every: int | None
    epoch_batches: int | None = None
    unit_weights: tuple[bool, bool] = (False, False)


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Validated inputs shared by every setting of a fit or a sweep."""

    spec: StepSpec
    train: Dataset
    valid: Dataset | None
    metrics: tuple[Metric, ...]
    eval_every: int | None

    def run_spec_for(self, hp: Any, fold_train: Any = None) -> RunSpec:
        """The run spec of one setting (its steps decide the default ``eval_every``).

        ``fold_train`` holds the cross-validation folds' training masks ``(F, n)``, if any.
        """
        steps = steps_of(hp)  # checks the fields a run reads (see RunFields)
        self.check_outputs(hp)
        every = self.eval_every
        if every is None and self.valid is not None:
            every = default_eval_every(steps, hp, self.train, self.valid)
        batches = None
        if not isinstance(self.train.weight, Tracer):
            weights = np.asarray(self.train.weight)[None]
            if fold_train is not None:
                weights = weights * np.asarray(fold_train)
            batches = epoch_batches(weights, getattr(hp, "batch_size", None))
            _warn_if_state_sees_held_out_rows(self.spec.model, hp, self.train.x, weights)
        # Under cross-validation each row's fold masks multiply both sets' weights.
        plain = fold_train is None
        unit = (plain and _all_ones(self.train), plain and _all_ones(self.valid))
        return RunSpec(self.spec, self.metrics, every, batches, unit)

    def check_outputs(self, hp: Any) -> None:
        """Checks the targets and the metrics against the model's prediction under ``hp``.

        From shapes (``jax.eval_shape``), before compiling. A width mismatch does not fail
        to compile: out-of-range labels make the loss NaN, and every setting would
        "diverge"; a loss that returns a scalar instead of per-example values would train
        on the held-out folds. The prediction may depend on static fields, so a sweep
        checks each static group.
        """
        pred = prediction_shape(self.spec.model, hp, self.train.x)
        k = _width(pred)
        sets = [("data", self.train)]
        if self.valid is not None and self.valid is not self.train:
            sets.append(("val", self.valid))
        for arg, data in sets:
            for m in dict.fromkeys((self.spec.loss, *self.metrics)):
                if k is not None:
                    check_targets(
                        m, data.y, arg=f"{arg} y", n_outputs=k, model=self.spec.model.name
                    )
                if arg == "data" and pred is not None:
                    check_metric_output(m, pred, data.y, hp=hp, arg=f"{arg} y")


def _warn_if_state_sees_held_out_rows(model: Model, hp: Any, x: Any, weights: Any) -> None:
    """Warns when a model's state changes in training steps (batch statistics) while its
    training batches hold rows of weight 0 that its ``apply`` cannot tell apart (it takes
    no ``weight``): the statistics would include another fold's rows, or a minibatch's
    padding."""
    if model.apply_takes_weight or not state_changes_in_training(model, hp, x):
        return
    n = weights.shape[1]
    bs = getattr(hp, "batch_size", None)
    counts = (weights > 0).sum(axis=1)
    if bs is None or bs >= n:
        zero_rows = bool((counts < n).any())
    else:
        zero_rows = bool(((counts > bs) & (counts % bs != 0)).any() or (counts < bs).any())
    if zero_rows:
        warnings.warn(
            f"model {model.name!r} updates a state in training (e.g. batch statistics), but "
            "its apply takes no `weight`: its training batches hold rows of weight 0 (another "
            "cross-validation fold's, or a minibatch's padding), which such statistics "
            "include, so held-out rows leak into training. Give apply a `weight` parameter "
            "and leave rows of weight 0 out of the statistics, or choose a batch_size that "
            "divides every fold's training rows.",
            UserWarning,
            stacklevel=4,
        )


def state_changes_in_training(model: Model, hp: Any, x: Any) -> bool:
    """Whether a training step of ``model`` can change its state (``False`` for a model
    without state, or whose ``apply`` returns its state as it came: traced, nothing runs)."""
    leaves, treedef = jax.tree.flatten(hp)
    avals = tuple((tuple(jnp.shape(v)), jnp.result_type(v)) for v in leaves)
    x_aval = (tuple(jnp.shape(x)), jnp.result_type(x))
    return _state_changes(model, treedef, avals, x_aval)


@functools.lru_cache(maxsize=256)
def _state_changes(model: Model, treedef: Any, avals: tuple, x_aval: tuple) -> bool:
    hp = jax.tree.unflatten(treedef, [jax.ShapeDtypeStruct(*a) for a in avals])
    x = jax.ShapeDtypeStruct(*x_aval)
    key = jax.ShapeDtypeStruct((), jax.random.key(0).dtype)
    variables = jax.eval_shape(lambda k, x: init_model(model, k, x, hp), key, x)
    if not isinstance(variables, Variables):
        return False

    def new_state(params, state, x, key):
        out = apply_model(model, Variables(params, state), x, hp, key=key, train=True)
        return out[1]

    jaxpr = jax.make_jaxpr(new_state)(variables.params, variables.state, x, key).jaxpr
    n_params = len(jax.tree.leaves(variables.params))
    state_in = jaxpr.invars[n_params : n_params + len(jax.tree.leaves(variables.state))]
    return any(out is not var for out, var in zip(jaxpr.outvars, state_in, strict=True))


def _all_ones(data: Dataset | None) -> bool:
    if data is None or isinstance(data.weight, Tracer):
        return False
    return bool(np.all(np.asarray(data.weight) == 1))


def prediction_shape(model: Model, hp: Any, x: Any) -> jax.ShapeDtypeStruct | None:
    """The shape and dtype of ``model``'s prediction on ``x`` under ``hp`` (``None`` if not
    a single array).

    Computed with ``jax.eval_shape`` (nothing runs on the device) and cached on the model,
    the shapes and the static fields.
    """
    leaves, treedef = jax.tree.flatten(hp)
    avals = tuple((tuple(jnp.shape(v)), jnp.result_type(v)) for v in leaves)
    return _prediction_shape(model, treedef, avals, (tuple(x.shape), jnp.result_type(x)))


def _width(pred: jax.ShapeDtypeStruct | None) -> int | None:
    """The width ``k`` of a prediction ``(n, k)``; ``(n,)`` counts as one output; ``None``
    for any other shape."""
    if pred is None or len(pred.shape) not in (1, 2):
        return None
    return pred.shape[1] if len(pred.shape) == 2 else 1


@functools.lru_cache(maxsize=256)
def _prediction_shape(
    model: Model, treedef: Any, avals: tuple, x_aval: tuple
) -> jax.ShapeDtypeStruct | None:
    def predict(key: jax.Array, x: jax.Array, hp: Any) -> Any:
        return apply_model(model, init_model(model, key, x, hp), x, hp)[0]

    hp = jax.tree.unflatten(treedef, [jax.ShapeDtypeStruct(*a) for a in avals])
    pred = jax.eval_shape(predict, jax.random.key(0), jax.ShapeDtypeStruct(*x_aval), hp)
    if not isinstance(pred, jax.ShapeDtypeStruct):
        return None
    return pred


def default_eval_every(steps: int, hp: Any, train: Dataset, valid: Dataset) -> int:
    """About 100 validation points, but evaluation at most ~10% of the training work.

    A validation pass costs ``len(valid)`` rows, a step ``batch_size`` rows (or the whole
    training set); under cross-validation the validation set is the whole data set, masked,
    so evaluating every step of a minibatch run would cost several times the training.
    """
    n_train = train.x.shape[0]
    rows_per_step = min(getattr(hp, "batch_size", None) or n_train, n_train)
    cheap_enough = -(-10 * valid.x.shape[0] // rows_per_step)
    return min(max(1, steps // 100, cheap_enough), steps)


def check_inputs(model, loss, data, val, metrics, optimizer, explode_factor, eval_every) -> Inputs:
    """Checks everything but the hyperparameters, eagerly, before anything compiles."""
    spec = step_spec(model, loss, optimizer, explode_factor)
    train = validate_inputs(spec, data, "data")
    valid = validate_inputs(spec, val, "val") if val is not None else None
    if isinstance(metrics, str | Metric) or (
        callable(metrics) and not isinstance(metrics, Sequence)
    ):
        metrics = (metrics,)  # one metric where a list is expected
    if not isinstance(metrics, Sequence):
        raise TypeError(f"metrics must be a list of metric names or Metrics; got {metrics!r:.80}.")
    metric_objs = tuple(get_metric(m) for m in metrics)
    for m in metric_objs:
        check_targets(m, train.y, arg="data y")
    if eval_every is not None:
        if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
            raise ValueError(f"eval_every must be a positive int; got {eval_every!r}.")
        if valid is None:
            raise ValueError("eval_every was given but there is no validation set (val=None).")
    return Inputs(spec, train, valid, metric_objs, eval_every)


def validate_inputs(spec: StepSpec, data: Any, arg: str) -> Dataset:
    """Host-side checks of a data set against the loss's target kind."""
    ds = as_dataset(data, arg=arg)
    if spec.loss.target == "class":  # 0., 1., 2. from a CSV file: whole numbers, converted
        ds = ds._replace(y=as_class_labels(ds.y))
    check_targets(spec.loss, ds.y, arg=f"{arg} y")
    return ds
