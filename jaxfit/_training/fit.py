"""``fit``: a whole training run as one compiled ``lax.scan``; ``predict`` and ``evaluate``."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from .data import Dataset
from .losses import Metric, check_targets, get_metric
from .models import Model
from .step import (
    CAUSES,
    TRACES,
    OptimizerFactory,
    StepSpec,
    TrainState,
    check_hp,
    check_key,
    check_model,
    guarded_step,
    new_train_state,
    step_spec,
    validate_inputs,
)

__all__ = ["FitResult", "evaluate", "fit", "predict"]


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=(
        "params", "hp", "train_loss", "val_loss", "metrics",
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
      metrics: final metrics at ``params`` over the whole data: ``train_loss``, and
        ``val_loss`` plus ``train_<name>`` / ``val_<name>`` for each requested metric.
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
    """

    params: Any
    hp: Any
    train_loss: jax.Array
    val_loss: jax.Array
    metrics: dict[str, jax.Array]
    diverged: jax.Array
    diverged_step: jax.Array
    cause: jax.Array
    val_steps: tuple[int, ...] = ()

    @property
    def cause_name(self) -> Any:
        """The cause as a string (or a numpy array of strings for a batched result)."""
        names = np.asarray(CAUSES)[np.asarray(self.cause)]
        return str(names) if names.ndim == 0 else names


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """The static description of a whole training run (the key of its compiled program)."""

    spec: StepSpec
    metrics: tuple[Metric, ...]
    eval_every: int | None
    # Minibatches per epoch when known on the host (the same for every row): the epoch's
    # shuffle is then computed once per epoch instead of at every step.
    epoch_batches: int | None = None
    # Whether the training / validation weights are all ones (no weights given, no folds):
    # the program then uses constant ones, which XLA folds away (a plain mean).
    unit_weights: tuple[bool, bool] = (False, False)


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
    the first step's, freezes the parameters and is reported in the result.

    ``fit`` is jittable and vmappable over ``(hp, key)``: ``jax.vmap(lambda h, k: fit(...,
    h, key=k))(jaxfit.stack(settings), keys)`` trains them all in one program. The data
    are checked eagerly (lengths, ranks, NaN/inf, label kinds) before compiling; the value
    checks are skipped when the data are tracers.

    Args:
      model: the model (:func:`jaxfit.linear`, :func:`jaxfit.mlp`, ... or your own
        :class:`jaxfit.Model`).
      loss: a loss name (``"mse"``, ``"mae"``, ``"huber"``, ``"binary_cross_entropy"``,
        ``"softmax_cross_entropy"``), a :class:`jaxfit.Metric` or a callable
        ``(pred, y, weight) -> scalar``.
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
    setup = check_inputs(model, loss, data, val, metrics, optimizer, explode_factor, eval_every)
    plan = setup.plan_for(hp)
    return _fit_compiled(plan, hp, key, setup.train, setup.valid)


@dataclasses.dataclass(frozen=True)
class Inputs:
    """Validated inputs shared by every setting of a fit or a sweep."""

    spec: StepSpec
    train: Dataset
    valid: Dataset | None
    metrics: tuple[Metric, ...]
    eval_every: int | None

    def plan_for(self, hp: Any, fold_train: Any = None) -> RunSpec:
        """The static plan of one setting (its steps decide the default ``eval_every``).

        ``fold_train`` holds the cross-validation folds' training masks ``(F, n)``, if any.
        """
        steps = steps_of(hp)
        _check_batch_size(hp)
        every = self.eval_every
        if every is None and self.valid is not None:
            every = default_eval_every(steps, hp, self.train, self.valid)
        batches = None
        if not isinstance(self.train.weight, Tracer):
            weights = np.asarray(self.train.weight)[None]
            if fold_train is not None:
                weights = weights * np.asarray(fold_train)
            batches = epoch_batches(weights, getattr(hp, "batch_size", None))
        # Under cross-validation each row's fold masks multiply both sets' weights.
        plain = fold_train is None
        unit = (plain and _all_ones(self.train), plain and _all_ones(self.valid))
        return RunSpec(self.spec, self.metrics, every, batches, unit)


def _all_ones(data: Dataset | None) -> bool:
    if data is None or isinstance(data.weight, Tracer):
        return False
    return bool(np.all(np.asarray(data.weight) == 1))


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
    if isinstance(metrics, str | Metric) or not isinstance(metrics, Sequence):
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


def steps_of(hp: Any) -> int:
    steps = getattr(hp, "steps", None)
    if steps is None:
        raise TypeError(
            f"{type(hp).__name__} has no static field 'steps'; subclass jaxfit.Hyperparams or "
            "add `steps: int = jaxfit.static(500)`."
        )
    return steps


def _check_batch_size(hp: Any) -> None:
    bs = getattr(hp, "batch_size", None)
    if bs is not None and (isinstance(bs, bool) or not isinstance(bs, int) or bs < 1):
        raise ValueError(
            f"{type(hp).__name__}.batch_size must be a positive int or None; got {bs!r}."
        )


@functools.partial(jax.jit, static_argnums=0)
def _fit_compiled(plan: RunSpec, hp: Any, key: jax.Array, train: Dataset, valid: Dataset | None):
    TRACES["fit"] += 1
    return run_fit(plan, hp, key, train, valid)


def run_fit(plan: RunSpec, hp: Any, key: jax.Array, train: Dataset, valid: Dataset | None):
    spec = plan.spec
    if plan.unit_weights[0]:  # the same values, but constants: weighted means fold to means
        train = train._replace(weight=jnp.ones(train.weight.shape, train.weight.dtype))
    if plan.unit_weights[1] and valid is not None:
        valid = valid._replace(weight=jnp.ones(valid.weight.shape, valid.weight.dtype))
    init_key, shuffle_key = jax.random.split(key)
    state = new_train_state(spec, hp, init_key, train.x)
    batch_at = Batcher(train, getattr(hp, "batch_size", None), shuffle_key, plan.epoch_batches)
    n_train = jnp.sum(train.weight)
    steps = hp.steps

    def one_step(carry, t):
        state, order = carry  # order: the current epoch's sample order
        batch, order = batch_at(t, order)
        state, m = guarded_step(spec, hp, state, batch, n_train)
        return (state, order), m.loss

    def run(carry, start: Any, length: int):
        # The step index comes from the scan's xs, not the (batched) state: it stays
        # unbatched under vmap, so the per-epoch reshuffle remains a real branch.
        ts = start + jnp.arange(length, dtype=jnp.int32)
        return jax.lax.scan(one_step, carry, ts)

    def val_loss(state: TrainState):
        assert valid is not None
        v = spec.loss(spec.model.apply(state.params, valid.x, hp), valid.y, valid.weight)
        return jnp.where(state.alive, v, jnp.nan)

    carry = (state, batch_at.init)
    if valid is None or plan.eval_every is None:
        carry, losses = run(carry, 0, steps)
        vals = jnp.zeros((0,), losses.dtype)
        val_steps: tuple[int, ...] = ()
    else:
        every = plan.eval_every
        q, r = divmod(steps, every)
        parts, val_parts = [], []
        if q:

            def segment(carry, i):
                carry, losses = run(carry, i * every, every)
                return carry, (losses, val_loss(carry[0]))

            carry, (seg_losses, seg_vals) = jax.lax.scan(
                segment, carry, jnp.arange(q, dtype=jnp.int32)
            )
            parts.append(seg_losses.reshape(-1))
            val_parts.append(seg_vals)
        if r:
            carry, tail = run(carry, q * every, r)
            parts.append(tail)
            val_parts.append(val_loss(carry[0])[None])
        losses, vals = jnp.concatenate(parts), jnp.concatenate(val_parts)
        val_steps = tuple(range(every, q * every + 1, every)) + ((steps,) if r else ())

    state = carry[0]
    final = final_metrics(plan, hp, state.params, train, valid)
    return FitResult(
        params=state.params,
        hp=hp,
        train_loss=losses,
        val_loss=vals,
        metrics=final,
        diverged=~state.alive,
        diverged_step=state.death_step,
        cause=state.cause,
        val_steps=val_steps,
    )


class Batcher:
    """``(step, order) -> (minibatch, order)``: an epoch-wise reshuffle of the samples that count.

    Samples with zero weight (another fold's, under cross-validation) are ordered after
    the others, so every epoch is ``ceil(n_active / batch_size)`` minibatches that see each
    weighted sample exactly once; the last one is padded with zero-weight samples. When
    the number of minibatches per epoch is known on the host (``epoch_batches``), the
    order is drawn once per epoch and carried; otherwise (weights only known inside the
    program) it is redrawn at every step, which costs a sort of the data per step.
    """

    def __init__(self, train: Dataset, batch_size: int | None, key: jax.Array,
                 epoch_batches: int | None) -> None:  # fmt: skip
        self.train, self.key = train, key
        n = train.x.shape[0]
        self.full = batch_size is None or batch_size >= n
        self.batch_size = batch_size or n
        self.size = -(-n // self.batch_size) * self.batch_size
        self.n_active = jnp.sum(train.weight > 0)
        dynamic = jnp.maximum((self.n_active + self.batch_size - 1) // self.batch_size, 1)
        self.n_batches = dynamic if epoch_batches is None else epoch_batches
        self.static = epoch_batches is not None
        self.init = jnp.zeros((0 if self.full else self.size,), jnp.int32)

    def order(self, epoch: jax.Array) -> jax.Array:
        n = self.train.x.shape[0]
        perm = jax.random.permutation(jax.random.fold_in(self.key, epoch), n)
        inactive = (self.train.weight <= 0).astype(jnp.int32)
        perm = perm[jnp.argsort(inactive[perm], stable=True)]  # active samples first
        return jnp.concatenate([perm, jnp.zeros((self.size - n,), perm.dtype)]).astype(jnp.int32)

    def __call__(self, step: jax.Array, order: jax.Array) -> tuple[Dataset, jax.Array]:
        if self.full:
            return self.train, order
        epoch, b = step // self.n_batches, step % self.n_batches
        if self.static:
            order = jax.lax.cond(b == 0, lambda: self.order(epoch), lambda: order)
        else:
            order = self.order(epoch)
        start = b * self.batch_size
        idx = jax.lax.dynamic_slice(order, (start,), (self.batch_size,))
        mask = (start + jnp.arange(self.batch_size)) < self.n_active
        t = self.train
        return Dataset(t.x[idx], t.y[idx], t.weight[idx] * mask), order


def epoch_batches(weights: Any, batch_size: int | None) -> int | None:
    """Minibatches per epoch if the same for every row of ``weights`` (``(rows, n)``)."""
    if batch_size is None:
        return None
    w = np.asarray(weights).reshape(-1, np.shape(weights)[-1])
    counts = {max(1, -(-int(k) // batch_size)) for k in (w > 0).sum(axis=1)}
    return counts.pop() if len(counts) == 1 else None


def final_metrics(plan: RunSpec, hp: Any, params: Any, train: Dataset, valid: Dataset | None):
    apply = plan.spec.model.apply
    out: dict[str, jax.Array] = {}
    sets = [("train", train)] + ([("val", valid)] if valid is not None else [])
    for prefix, ds in sets:
        pred = apply(params, ds.x, hp)
        out[f"{prefix}_loss"] = plan.spec.loss(pred, ds.y, ds.weight)
        for m in plan.metrics:
            out[f"{prefix}_{m.name}"] = m(pred, ds.y, ds.weight)
    return out


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
        out[m.name] = float(m(pred, ds.y, ds.weight))
    return out
