"""One guarded training step: the state it carries, what it reports, and ``make_step``."""

from __future__ import annotations

import collections
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .data import Dataset
from .losses import Metric
from .models import Model, Variables, apply_model, init_model
from .penalty import l2_penalty
from .spec import OptimizerFactory, StepSpec, check_hp, check_key, step_spec

__all__ = ["TrainState", "StepMetrics", "init_state", "make_step"]

# Cause codes recorded when a setting stops training; see `CAUSES`.
CAUSES = ("none", "nan", "inf", "explode")
_NONE, _NAN, _INF, _EXPLODE = range(4)

# How often each compiled body was traced (tests use it to prove there is no retracing).
TRACES: collections.Counter[str] = collections.Counter()


class TrainState(NamedTuple):
    """The carry of a training run.

    Attributes:
      params: the model's parameters (an immutable pytree).
      opt_state: the optax optimizer state.
      step: number of steps taken so far (int32 scalar).
      alive: ``False`` once the loss or a gradient became non-finite or exploded; from then
        on ``params`` and ``opt_state`` no longer change.
      death_step: the step at which it stopped, or -1.
      cause: why it stopped: an index into ``jaxfit.CAUSES`` (0 = still alive).
      threshold: the objective above which a step counts as an explosion (set at step 0).
      model_state: a stateful model's non-trained state (batch statistics, ...), ``None``
        for a model without state (see :class:`jaxfit.Variables`); like ``params``, kept
        at its last good value once the run stops.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> hp = jaxfit.Hyperparams()
      >>> state = jaxfit.init_state(jaxfit.linear(), hp, jnp.zeros((4, 2)), key=jax.random.key(0))
      >>> state.params["w"].shape, int(state.death_step), jaxfit.CAUSES[int(state.cause)]
      ((2, 1), -1, 'none')
    """

    params: Any
    opt_state: Any
    step: jax.Array
    alive: jax.Array
    death_step: jax.Array
    cause: jax.Array
    threshold: jax.Array
    model_state: Any = None

    @property
    def variables(self) -> Any:
        """The parameters, or :class:`jaxfit.Variables` ``(params, model_state)`` for a
        stateful model: what ``apply`` and :func:`jaxfit.predict` take."""
        if self.model_state is None:
            return self.params
        return Variables(self.params, self.model_state)


class StepMetrics(NamedTuple):
    """What one step reports.

    Attributes:
      loss: the data loss on the step's batch before the update (NaN once not alive).
      objective: the loss plus the ``l2`` penalty, the quantity being minimised.
      alive: whether the setting is still training after this step.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(-1, 1, 8); hp = jaxfit.Hyperparams(optimizer="sgd")
      >>> step = jaxfit.make_step(jaxfit.linear(), "mse", hp)
      >>> state = jaxfit.init_state(jaxfit.linear(), hp, x, key=jax.random.key(0))
      >>> state, metrics = step(state, (x, 2 * x))
      >>> float(metrics.loss) > 0, bool(metrics.alive)
      (True, True)
    """

    loss: jax.Array
    objective: jax.Array
    alive: jax.Array


def new_train_state(
    spec: StepSpec, hp: Any, key: jax.Array, x: jax.Array, weight: Any = None
) -> TrainState:
    variables = init_model(spec.model, key, x, hp, weight)
    params, model_state = (
        (variables.params, variables.state)
        if isinstance(variables, Variables)
        else (variables, None)
    )
    tx = spec.optimizer(hp)
    dtype = jnp.result_type(*jax.tree.leaves(params)) if jax.tree.leaves(params) else x.dtype
    return TrainState(
        params=params,
        opt_state=tx.init(params),
        step=jnp.zeros((), jnp.int32),
        alive=jnp.ones((), bool),
        death_step=jnp.full((), -1, jnp.int32),
        cause=jnp.zeros((), jnp.int32),
        threshold=jnp.full((), jnp.inf, dtype),
        model_state=model_state,
    )


def guarded_step(
    spec: StepSpec,
    hp: Any,
    state: TrainState,
    batch: Dataset,
    n_train: Any = None,
    key: jax.Array | None = None,
):
    """One guarded optimizer step; a setting that fails keeps its last good state.

    ``n_train`` (the training set's total weight) scales the ``l2`` penalty when
    ``hp.l2_scaling == "sum"``; ``None`` means the batch is the whole training set.
    ``key`` is the step's key for a model whose ``apply`` takes one (dropout), and the
    model's ``apply`` gets ``train=True``; a stateful model's new state is kept with the
    parameters (and, like them, not when the step fails).
    """
    model = spec.model
    if model.takes_key and key is None:
        raise ValueError(
            f"model {model.name!r} takes a per-step key (its apply has a `key` parameter), but "
            "the step was given none: pass key= to the step."
        )
    tx = spec.optimizer(hp)
    l2 = getattr(hp, "l2", None)
    if l2 is not None and getattr(hp, "l2_scaling", "mean") == "sum":
        # scikit-learn sums the loss over outputs where the built-in losses average: a
        # y of shape (n, m) divides by m too, so l2 = 2 * alpha is Ridge(alpha) for any m.
        n_outputs = math.prod(batch.y.shape[1:])
        l2 = l2 / ((jnp.sum(batch.weight) if n_train is None else n_train) * n_outputs)

    def forward(params):
        variables = params if state.model_state is None else Variables(params, state.model_state)
        pred, model_state = apply_model(
            model, variables, batch.x, hp, key=key, train=True, weight=batch.weight
        )
        loss = spec.loss(pred, batch.y, batch.weight, hp=hp)
        total = loss if l2 is None else loss + l2 * l2_penalty(params)
        return total, (loss, model_state)

    def objective(params):
        return forward(params)[0]

    (total, (loss, model_state)), grads = jax.value_and_grad(forward, has_aux=True)(state.params)
    if isinstance(tx, optax.GradientTransformationExtraArgs):  # e.g. L-BFGS's line search
        updates, opt_state = tx.update(
            grads, state.opt_state, state.params,
            value=total, grad=grads, value_fn=objective,
        )  # fmt: skip
    else:
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)

    # The step's inputs (loss, gradient) and its outputs: an update can overflow or turn NaN
    # from finite gradients (a huge step, a singular solve), and a frozen setting must keep
    # its last finite state. The optimizer state is checked for NaN only: some hold an
    # infinite value by design (a line search's initial best value).
    grad_leaves = jax.tree.leaves(grads)
    new_params = [a for a in jax.tree.leaves(params) if jnp.issubdtype(a.dtype, jnp.inexact)]
    new_opt = [a for a in jax.tree.leaves(opt_state) if jnp.issubdtype(a.dtype, jnp.inexact)]
    new_model = [a for a in jax.tree.leaves(model_state) if jnp.issubdtype(a.dtype, jnp.inexact)]
    any_nan = (
        jnp.isnan(total) | _any(jnp.isnan, grad_leaves) | _any(jnp.isnan, new_params)
        | _any(jnp.isnan, new_opt) | _any(jnp.isnan, new_model)
    )  # fmt: skip
    any_inf = (
        jnp.isinf(total) | _any(jnp.isinf, grad_leaves) | _any(jnp.isinf, new_params)
        | _any(jnp.isinf, new_model)
    )  # fmt: skip
    threshold = state.threshold
    if spec.explode_factor is not None:
        floor = jnp.asarray(1e-6, total.dtype)
        first = spec.explode_factor * jnp.maximum(jnp.abs(total), floor)
        threshold = jnp.where(state.step == 0, first.astype(threshold.dtype), threshold)
    exploded = total > threshold
    cause = jnp.where(any_nan, _NAN, jnp.where(any_inf, _INF, jnp.where(exploded, _EXPLODE, 0)))
    ok = state.alive & (cause == _NONE)
    keep = functools.partial(jax.tree.map, lambda new, old: jnp.where(ok, new, old))
    newly_dead = state.alive & ~ok
    new_state = TrainState(
        params=keep(params, state.params),
        opt_state=keep(opt_state, state.opt_state),
        step=state.step + 1,
        alive=ok,
        death_step=jnp.where(newly_dead, state.step, state.death_step),
        cause=jnp.where(newly_dead, cause, state.cause).astype(jnp.int32),
        threshold=threshold,
        model_state=keep(model_state, state.model_state),
    )
    nan = jnp.asarray(jnp.nan, loss.dtype)
    metrics = StepMetrics(
        loss=jnp.where(state.alive, loss, nan),
        objective=jnp.where(state.alive, total, nan),
        alive=ok,
    )
    return new_state, metrics


def _any(pred: Callable[[jax.Array], jax.Array], leaves: Sequence[jax.Array]) -> jax.Array:
    out = jnp.zeros((), bool)
    for leaf in leaves:
        out = out | jnp.any(pred(leaf))
    return out


def init_state(
    model: Model,
    hp: Any,
    x: Any,
    *,
    key: jax.Array,
    optimizer: OptimizerFactory | None = None,
    weight: Any = None,
) -> TrainState:
    """Initialises parameters and optimizer state for :func:`make_step`.

    Args:
      model: the model (a built-in such as :func:`jaxfit.linear`, or your own
        :class:`jaxfit.Model`).
      hp: the hyperparameters.
      x: an example input batch (only its shape and dtype are used, unless the model's
        ``init`` computes statistics of the training data).
      key: a PRNG key for the parameter initialisation.
      optimizer: ``hp -> optax.GradientTransformation``; default :func:`jaxfit.make_optimizer`.
      weight: the sample weights of ``x``, for a model whose ``init`` takes them (default
        ones).

    Returns:
      The initial :class:`TrainState`.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.1)
      >>> state = jaxfit.init_state(jaxfit.linear(), hp, jnp.zeros((4, 1)), key=jax.random.key(0))
      >>> int(state.step), bool(state.alive)
      (0, True)
    """
    check_hp(hp)
    spec = step_spec(model, "mse", optimizer, None)
    x = jnp.asarray(x)
    if weight is not None:
        weight = jnp.asarray(weight)
        if weight.shape != x.shape[:1]:
            raise ValueError(f"weight has shape {weight.shape}; x has {x.shape[0]} rows.")
    return new_train_state(spec, hp, check_key(key), x, weight)


def make_step(
    model: Model,
    loss: str | Metric | Callable,
    hp: Any,
    *,
    optimizer: OptimizerFactory | None = None,
    explode_factor: float | None = 1e4,
) -> Callable[[TrainState, tuple], tuple[TrainState, StepMetrics]]:
    """Returns a pure, jitted training step ``(state, batch) -> (state, metrics)`` for ``hp``.

    The optimizer is built inside the compiled step from the hyperparameter leaves, and
    ``hp`` is passed to the compiled function as an argument, so steps made for new
    numeric values reuse the same compiled program; a new static value compiles anew.
    A step whose loss or gradient is non-finite, or whose objective exceeds
    ``explode_factor`` times the first step's, leaves the parameters and optimizer state
    unchanged and marks the state not alive (see :class:`TrainState`).

    Args:
      model: the model.
      loss: a loss name (``"mse"``, ``"softmax_cross_entropy"``, ...), a
        :class:`jaxfit.Metric`, or a callable ``(pred, y) -> values`` (one per example).
      hp: the hyperparameters the step is closed over.
      optimizer: ``hp -> optax.GradientTransformation``; default :func:`jaxfit.make_optimizer`.
      explode_factor: a step explodes when its objective exceeds this multiple of the first
        step's; ``None`` disables the check (non-finite values are always caught).

    Returns:
      ``step(state, batch, key=None)`` where ``batch`` is ``(x, y)`` or ``(x, y, weight)``;
      ``key`` is required for a model whose ``apply`` takes a per-step key (dropout).

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(-1, 1, 8)[:, None]; y = 2 * x[:, 0] + 1
      >>> hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.5)
      >>> step = jaxfit.make_step(jaxfit.linear(), "mse", hp)
      >>> state = jaxfit.init_state(jaxfit.linear(), hp, x, key=jax.random.key(0))
      >>> for _ in range(200):
      ...     state, metrics = step(state, (x, y))
      >>> [round(float(v), 3) for v in (state.params["w"][0, 0], state.params["b"][0])]
      [2.0, 1.0]
    """
    check_hp(hp)
    spec = step_spec(model, loss, optimizer, explode_factor)
    compiled = _jitted_step(spec)

    def step(
        state: TrainState, batch: tuple, key: jax.Array | None = None
    ) -> tuple[TrainState, StepMetrics]:
        x, y, *rest = batch
        x, y = jnp.asarray(x), jnp.asarray(y)
        w = jnp.asarray(rest[0]) if rest else jnp.ones((x.shape[0],), _float_dtype(x))
        if spec.model.takes_key and key is None:
            raise ValueError(
                f"model {spec.model.name!r} takes a per-step key (its apply has a `key` "
                "parameter, e.g. for dropout): call step(state, batch, key=...) with a new key "
                "each step."
            )
        return compiled(hp, state, Dataset(x, y, w), None if key is None else check_key(key))

    return step


@functools.cache
def _jitted_step(spec: StepSpec):
    def body(hp, state, batch, key):
        TRACES["step"] += 1
        return guarded_step(spec, hp, state, batch, key=key)

    return jax.jit(body)


def _float_dtype(x: jax.Array) -> Any:
    return x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
