"""``fit``: a whole training run compiled as one program; ``predict`` and ``evaluate``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from .data import Dataset
from .losses import Metric, check_targets, get_metric
from .models import Model, apply_model
from .objective import Objective, fit_objective
from .result import FitResult
from .run import Run, RunState, eval_variables
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
from .step import TRACES

__all__ = ["FitResult", "evaluate", "fit", "predict"]


def fit(
    model: Model | Objective,
    loss: str | Metric | Callable | None = None,
    data: tuple | None = None,
    hp: Any = None,
    *,
    key: jax.Array,
    val: tuple | None = None,
    metrics: Sequence[str | Metric | Callable] = (),
    eval_every: int | None = None,
    optimizer: OptimizerFactory | None = None,
    explode_factor: float | None = 1e4,
    keep_opt_state: bool = False,
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
        :class:`jaxfit.Model`), or a :class:`jaxfit.Objective` (your own training code:
        then pass only ``hp=``, ``key=`` and optionally ``eval_every=``; ``eval_every``
        then records the objective's first metric).
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
      keep_opt_state: also return the final optimizer state (``FitResult.opt_state``),
        e.g. to continue training, or to recover the training point of an optimizer
        evaluated elsewhere (:func:`jaxfit.with_eval_params`).

    Returns:
      A :class:`FitResult`.

    Raises:
      TypeError: for a model, hyperparameters, key or data of the wrong kind; a missing
        ``loss``, ``data`` or ``hp`` with a model; data arguments with an objective.
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
    if isinstance(model, Objective):
        given = {"loss": loss is not None, "data": data is not None, "val": val is not None,
                 "metrics": len(metrics) > 0, "optimizer": optimizer is not None,
                 "explode_factor": explode_factor != 1e4,
                 "keep_opt_state": keep_opt_state is not False}  # fmt: skip
        extra = [name for name, was in given.items() if was]
        if extra:
            raise TypeError(
                f"fit: {', '.join(f'{n}=' for n in extra)} given with a jaxfit.Objective, which "
                "reads no data and writes its own step (loss, optimizer, metrics); pass "
                "fit(objective, hp=hp, key=key, eval_every=...)."
            )
        return fit_objective(model, hp, key, eval_every)
    missing = [name for name, v in (("loss", loss), ("data", data), ("hp", hp)) if v is None]
    if missing:
        raise TypeError(
            f"fit with a jaxfit.Model needs {', '.join(missing)}; got None: "
            "fit(model, loss, data, hp, key=...)."
        )
    check_hp(hp)
    key = check_key(key)
    inputs = check_inputs(model, loss, data, val, metrics, optimizer, explode_factor, eval_every)
    spec = inputs.run_spec_for(hp)
    if not isinstance(keep_opt_state, bool):
        raise TypeError(f"keep_opt_state must be a bool; got {keep_opt_state!r:.80}.")
    return _fit_compiled(spec, hp, key, inputs.train, inputs.valid, keep_opt_state)


@functools.partial(jax.jit, static_argnums=(0, 5))
def _fit_compiled(
    spec: RunSpec, hp: Any, key: jax.Array, train: Dataset, valid: Dataset | None,
    keep_opt_state: bool = False,
):  # fmt: skip
    TRACES["fit"] += 1
    return run_fit(spec, hp, key, train, valid, keep_opt_state)


def run_fit(
    spec: RunSpec, hp: Any, key: jax.Array, train: Dataset, valid: Dataset | None,
    keep_opt_state: bool = False,
):  # fmt: skip
    """One whole run, ``init`` then ``advance`` to ``hp.steps``, as a :class:`FitResult`.

    Traceable and vmappable over ``(hp, key)`` (and over the data's weights, as a sweep's
    cross-validation rows do); :func:`fit` jits it, a sweep's program vmaps it.
    """
    run = Run(spec, train, valid)
    state = run.advance(run.init(key, hp), int(hp.steps), start=0)
    return fit_result(run, state, keep_opt_state)


def fit_result(run: Run, state: RunState, keep_opt_state: bool = False) -> FitResult:
    """The :class:`FitResult` of a run's state: its parameters, curves and final metrics.

    Here a diverged run's metrics become NaN, for ``fit`` and a sweep's rows alike (a
    ``SweepResult`` masks only results built by hand or saved before): the numbers of its
    frozen parameters would read like a real score, so they go to ``last_good_metrics``.
    """
    ts = state.train
    last_good = run.evaluate(state)
    return FitResult(
        params=eval_variables(run.spec.step, ts, state.hp),
        hp=state.hp,
        train_loss=state.train_loss,
        val_loss=state.val_loss,
        metrics={k: jnp.where(ts.alive, v, jnp.nan) for k, v in last_good.items()},
        last_good_metrics=last_good,
        diverged=~ts.alive,
        diverged_step=ts.death_step,
        cause=ts.cause,
        val_steps=run.val_steps(state.hp),
        opt_state=ts.opt_state if keep_opt_state else None,
    )


def predict(model: Model, params: Any, x: Any, hp: Any) -> jax.Array:
    """Applies a trained model: ``model.apply(params, x, hp)``, jitted, in evaluation mode.

    A model that takes a ``train`` flag gets ``False`` and one that takes a key gets
    ``None`` (no dropout); a stateful model uses its state without changing it.

    Args:
      model: the model that was trained.
      params: its parameters (e.g. ``result.params``): :class:`jaxfit.Variables` for a
        stateful model.
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
    return jax.jit(lambda params, x, hp: apply_model(model, params, x, hp)[0])


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
      params: its parameters (:class:`jaxfit.Variables` for a stateful model).
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
