"""``fit``: a whole training run compiled as one program; ``predict`` and ``evaluate``."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .data import Dataset
from .losses import Metric, check_targets, get_metric
from .models import Model
from .run import Run, RunState
from .spec import (
    OptimizerFactory,
    RunSpec,
    check_hp,
    check_inputs,
    check_key,
    check_model,
    step_spec,
    validate_inputs,
)
from .step import CAUSES, TRACES

__all__ = ["FitResult", "evaluate", "fit", "predict"]


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=(
        "params", "hp", "train_loss", "val_loss", "metrics", "last_good_metrics",
        "diverged", "diverged_step", "cause",
    ),
    meta_fields=("val_steps",),
)  # fmt: skip
@dataclasses.dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit` (a pytree: ``vmap`` over ``fit`` gives a batched one).

    Attributes:
      params: the trained parameters; for a diverged run, the last parameters before the
        failing step.
      hp: the hyperparameters used.
      train_loss: data loss of each step's batch, shape ``(steps,)``; NaN after divergence.
      val_loss: validation loss after every ``eval_every`` steps and at the end, shape
        ``(len(val_steps),)``; empty without a validation set; NaN after divergence.
      val_steps: the step counts at which ``val_loss`` was evaluated.
      metrics: final metrics over the whole data: ``train_loss``, and ``val_loss`` plus
        ``train_<name>`` / ``val_<name>`` for each requested metric; NaN for a diverged
        run, as scikit-learn's ``error_score=np.nan`` reports a failed fit.
      last_good_metrics: the same metrics at ``params``, diverged or not: for a diverged
        run, those of its last parameters before the failing step, which are not a score
        of the setting (they equal ``metrics`` for a run that did not diverge).
      diverged: whether the loss or a gradient became non-finite or exploded.
      diverged_step: the step at which that happened, or -1.
      cause: an index into ``jaxfit.CAUSES`` (``"none"``, ``"nan"``, ``"inf"``,
        ``"explode"``); see :attr:`cause_name`.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(-1, 1, 20)
      >>> hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=5.0, steps=50)
      >>> r = jaxfit.fit(jaxfit.linear(), "mse", (x, 2 * x + 1), hp, key=jax.random.key(0))
      >>> bool(r.diverged), r.cause_name, int(r.diverged_step) > 0
      (True, 'explode', True)
      >>> bool(jnp.isnan(r.metrics["train_loss"])), bool(r.last_good_metrics["train_loss"] > 0)
      (True, True)
    """

    params: Any
    hp: Any
    train_loss: jax.Array
    val_loss: jax.Array
    metrics: dict[str, jax.Array]
    last_good_metrics: dict[str, jax.Array]
    diverged: jax.Array
    diverged_step: jax.Array
    cause: jax.Array
    val_steps: tuple[int, ...] = ()

    @property
    def cause_name(self) -> Any:
        """The cause as a string (or a numpy array of strings for a batched result)."""
        names = np.asarray(CAUSES)[np.asarray(self.cause)]
        return str(names) if names.ndim == 0 else names


def fit(
    model: Model,
    loss: str | Metric | Callable,
    data: tuple,
    hp: Any,
    *,
    key: jax.Array,
    val: tuple | None = None,
    metrics: Sequence[str | Metric | Callable] = (),
    eval_every: int | None = None,
    optimizer: OptimizerFactory | None = None,
    explode_factor: float | None = 1e4,
) -> FitResult:
    """Trains ``model`` on ``data`` with hyperparameters ``hp`` as one compiled ``lax.scan``.

    Runs ``hp.steps`` optimizer steps, full-batch when ``hp.batch_size`` is ``None`` (or
    at least the number of samples), otherwise on minibatches from a reshuffle per epoch
    drawn from ``key``: every sample is seen exactly once per epoch (the last minibatch is
    padded with zero-weight samples, nothing is dropped). Divergence is recorded, never
    raised: a non-finite loss or gradient, or an objective above ``explode_factor`` times
    the first step's, freezes the parameters and is reported in the result, whose
    ``metrics`` are then NaN (those of the frozen parameters are in ``last_good_metrics``).

    ``fit`` is jittable and vmappable over ``(hp, key)``: ``jax.vmap(lambda h, k: fit(...,
    h, key=k))(jaxfit.stack(settings), keys)`` trains them all in one program. The data
    are checked eagerly (lengths, ranks, NaN/inf, label kinds) before compiling; the value
    checks are skipped when the data are tracers.

    Args:
      model: the model (:func:`jaxfit.linear`, :func:`jaxfit.mlp`, ... or your own
        :class:`jaxfit.Model`).
      loss: a loss name (``"mse"``, ``"mae"``, ``"huber"``, ``"binary_cross_entropy"``,
        ``"softmax_cross_entropy"``), a :class:`jaxfit.Metric` or a callable
        ``(pred, y) -> values`` (one per example).
      data: the training data ``(x, y)`` or ``(x, y, weight)``.
      hp: the hyperparameters (an instance of a ``@jaxfit.hyperparams`` class with a static
        ``steps`` field, such as :class:`jaxfit.Hyperparams`).
      key: a PRNG key (``jax.random.key(seed)``) for initialisation and shuffling.
      val: optional validation data ``(x, y)`` or ``(x, y, weight)``.
      metrics: extra metrics reported at the end on the training and validation data.
      eval_every: steps between validation evaluations (default: about 100 evaluations,
        but no more often than every ``10 * len(val) / batch_size`` steps, so that
        evaluation costs at most about a tenth of training).
      optimizer: ``hp -> optax.GradientTransformation``, built inside the compiled program
        (default :func:`jaxfit.make_optimizer`).
      explode_factor: the objective multiple (of the first step's) that counts as an
        explosion; ``None`` to only catch non-finite values.

    Returns:
      A :class:`FitResult`.

    Raises:
      TypeError: for a model, hyperparameters, key or data of the wrong kind.
      ValueError: for invalid data (mismatched lengths, empty, NaN or inf, wrong ranks).

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(-1, 1, 50); y = 2 * x + 1
      >>> hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.5, steps=200)
      >>> r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=jax.random.key(0))
      >>> round(float(r.params["w"][0, 0]), 3), round(float(r.params["b"][0]), 3)
      (2.0, 1.0)
      >>> bool(r.diverged), r.train_loss.shape
      (False, (200,))
    """
    check_hp(hp)
    key = check_key(key)
    inputs = check_inputs(model, loss, data, val, metrics, optimizer, explode_factor, eval_every)
    spec = inputs.run_spec_for(hp)
    return _fit_compiled(spec, hp, key, inputs.train, inputs.valid)


@functools.partial(jax.jit, static_argnums=0)
def _fit_compiled(spec: RunSpec, hp: Any, key: jax.Array, train: Dataset, valid: Dataset | None):
    TRACES["fit"] += 1
    return run_fit(spec, hp, key, train, valid)


def run_fit(spec: RunSpec, hp: Any, key: jax.Array, train: Dataset, valid: Dataset | None):
    """One whole run, ``init`` then ``advance`` to ``hp.steps``, as a :class:`FitResult`.

    Traceable and vmappable over ``(hp, key)`` (and over the data's weights, as a sweep's
    cross-validation rows do); :func:`fit` jits it, a sweep's program vmaps it.
    """
    run = Run(spec, train, valid)
    state = run.advance(run.init(key, hp), int(hp.steps), start=0)
    return fit_result(run, state)


def fit_result(run: Run, state: RunState) -> FitResult:
    """The :class:`FitResult` of a run's state: its parameters, curves and final metrics.

    Here a diverged run's metrics become NaN, for ``fit`` and a sweep's rows alike (a
    ``SweepResult`` masks only results built by hand or saved before): the numbers of its
    frozen parameters would read like a real score, so they go to ``last_good_metrics``.
    """
    ts = state.train
    last_good = run.evaluate(state)
    return FitResult(
        params=ts.params,
        hp=state.hp,
        train_loss=state.train_loss,
        val_loss=state.val_loss,
        metrics={k: jnp.where(ts.alive, v, jnp.nan) for k, v in last_good.items()},
        last_good_metrics=last_good,
        diverged=~ts.alive,
        diverged_step=ts.death_step,
        cause=ts.cause,
        val_steps=run.val_steps(state.hp),
    )


def predict(model: Model, params: Any, x: Any, hp: Any) -> jax.Array:
    """Applies a trained model: ``model.apply(params, x, hp)``, jitted.

    Args:
      model: the model that was trained.
      params: its parameters (e.g. ``result.params``).
      x: inputs of shape ``(n, ...)``.
      hp: the hyperparameters (their static fields decide the architecture).

    Returns:
      Predictions of shape ``(n, k)`` (logits for classification models).

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> hp = jaxfit.Hyperparams()
      >>> params = {"w": jnp.array([[2.0]]), "b": jnp.array([1.0])}
      >>> jaxfit.predict(jaxfit.linear(), params, jnp.array([0.0, 1.0]), hp).tolist()
      [[1.0], [3.0]]
    """
    check_model(model)
    check_hp(hp)
    return _jitted_apply(model)(params, jnp.asarray(x), hp)


@functools.cache
def _jitted_apply(model: Model):
    return jax.jit(model.apply)


def evaluate(
    model: Model,
    params: Any,
    data: tuple,
    hp: Any,
    metrics: Sequence[str | Metric | Callable] = ("mse",),
) -> dict[str, float]:
    """Computes metrics of trained parameters on a data set.

    Args:
      model: the model that was trained.
      params: its parameters.
      data: ``(x, y)`` or ``(x, y, weight)``, validated like :func:`fit`'s.
      hp: the hyperparameters.
      metrics: metric names, :class:`jaxfit.Metric` objects or callables.

    Returns:
      A dict from metric name to a Python float.

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> params = {"w": jnp.array([[2.0]]), "b": jnp.array([1.0])}
      >>> x = jnp.array([0.0, 1.0]); y = jnp.array([1.0, 3.5])
      >>> jaxfit.evaluate(jaxfit.linear(), params, (x, y), jaxfit.Hyperparams(), ["mse", "mae"])
      {'mse': 0.125, 'mae': 0.25}
    """
    metric_objs = [get_metric(m) for m in metrics]
    check_model(model)
    check_hp(hp)
    spec = step_spec(model, metric_objs[0] if metric_objs else "mse", None, None)
    ds = validate_inputs(spec, data, "data")
    pred = predict(model, params, ds.x, hp)
    out = {}
    for m in metric_objs:
        check_targets(m, ds.y, arg="data y")
        out[m.name] = float(m(pred, ds.y, ds.weight, hp=hp))
    return out
