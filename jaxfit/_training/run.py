"""One training run as three pure functions: ``init``, ``advance`` and ``evaluate``.

A run can stop and continue: :meth:`Run.advance` carries everything a step reads (the
parameters, the optimizer state with its step count for schedules, the alive flag, the
global step, the shuffle key and the current epoch's sample order) and writes the loss
curves into buffers as long as the whole run, so ``advance(advance(s, k), m)`` is
``advance(s, k + m)``: the same steps on the same minibatches, the same validation points.
``n_steps`` may be a traced value, so one compiled program advances any number of steps
(successive halving continues runs for lengths that change from rung to rung);
:func:`jaxfit.fit` and a sweep's program are ``init`` then ``advance`` to the end, with
the segment structure known on the host.

Under ``jax.vmap`` over rows that share their step count (a sweep's chunk, a rung of
survivors), map the state with ``RunState.axes()``: the step count then stays unbatched,
so the per-epoch reshuffle and the validation points remain real branches and loops rather
than both sides of a ``select`` evaluated at every step.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .data import Dataset
from .minibatch import Batcher
from .models import Variables, apply_model
from .optim import eval_params_of
from .spec import RunSpec, StepSpec
from .step import TrainState, guarded_step, new_train_state

__all__ = ["Run", "RunState", "eval_variables", "final_metrics", "step_key", "val_steps"]

# Folded into a run's shuffle key to derive the per-step keys a model's apply may take.
_STEP_KEY_SALT = 0x5EED


def step_key(key: jax.Array, step: Any) -> jax.Array:
    """The key a model's ``apply`` receives at training step ``step`` of a run keyed ``key``.

    :func:`jaxfit.fit` with ``key`` splits it into an initialisation key and a shuffle key
    ``s``; step ``t`` (counted from 0 over the whole run) gets
    ``fold_in(fold_in(s, 0x5EED), t)``. In a sweep, ``key`` is the row's key (see
    :func:`jaxfit.sweep`). A hand-written loop that draws its dropout keys this way trains
    exactly as jaxfit does; a run that stops and continues draws the same keys.

    Args:
      key: the run's key (what :func:`jaxfit.fit` was given).
      step: the global step (an int or an int32 scalar).

    Returns:
      The step's PRNG key.

    Examples:
      >>> import jax, jaxfit
      >>> k = jax.random.key(0)
      >>> bool((jax.random.key_data(jaxfit.step_key(k, 3))
      ...       == jax.random.key_data(jaxfit.step_key(k, 3))).all())
      True
    """
    _, shuffle = jax.random.split(key)
    return _step_key(shuffle, step)


def eval_variables(spec: StepSpec, ts: TrainState, hp: Any) -> Any:
    """The parameters a run is evaluated at: the training parameters, or what the
    optimizer's evaluation transform (:func:`jaxfit.with_eval_params`) makes of them and
    the optimizer state; with the model's state as :class:`jaxfit.Variables` if it has one."""
    fn = eval_params_of(spec.optimizer)
    params = ts.params if fn is None else fn(ts.params, ts.opt_state, hp)
    if fn is not None and jax.tree.structure(params) != jax.tree.structure(ts.params):
        raise TypeError(
            "the optimizer's eval_params returned a tree of structure "
            f"{jax.tree.structure(params)}, but the parameters have structure "
            f"{jax.tree.structure(ts.params)}; it must return parameters of the same structure."
        )
    return params if ts.model_state is None else Variables(params, ts.model_state)


def _step_key(shuffle_key: jax.Array, step: Any) -> jax.Array:
    return jax.random.fold_in(jax.random.fold_in(shuffle_key, _STEP_KEY_SALT), step)


class RunState(NamedTuple):
    """Everything a run carries between calls of :meth:`Run.advance` (a pytree).

    Attributes:
      hp: the hyperparameters of this run.
      train: the step's carry (:class:`jaxfit.TrainState`); ``train.step`` is the global
        step count, which keys the minibatch order and the validation points.
      key: the key the minibatch order is drawn from (one reshuffle per epoch).
      order: the current epoch's sample order (empty for full-batch training).
      train_loss: the data loss of every step's batch, shape ``(horizon,)``, NaN for steps
        not taken yet and after divergence.
      val_loss: the validation loss at :func:`val_steps`, NaN where not reached yet.
    """

    hp: Any
    train: TrainState
    key: jax.Array
    order: jax.Array
    train_loss: jax.Array
    val_loss: jax.Array

    @staticmethod
    def axes(axis: int = 0) -> RunState:
        """``vmap`` axes for a batch of states whose step count is shared (unbatched):
        ``axis`` for every leaf but ``train.step``, which gets ``None``. Pass it as
        ``in_axes`` / ``out_axes`` for the state."""
        train = TrainState._make([axis, axis, None, axis, axis, axis, axis, axis])
        return RunState._make([axis, train, axis, axis, axis, axis])


def val_steps(horizon: int, eval_every: int | None, has_valid: bool) -> tuple[int, ...]:
    """The global steps after which the validation loss is recorded: every ``eval_every``
    steps and at the end of the run (``horizon``)."""
    if not has_valid or eval_every is None:
        return ()
    q, r = divmod(horizon, eval_every)
    return tuple(range(eval_every, q * eval_every + 1, eval_every)) + ((horizon,) if r else ())


@functools.partial(jax.tree_util.register_dataclass, data_fields=("train", "valid"),
                   meta_fields=("spec",))  # fmt: skip
@dataclasses.dataclass(frozen=True)
class Run:
    """One run's static spec and data: ``init``, ``advance`` and ``evaluate`` are its methods.

    A pytree whose leaves are the data, so a ``Run`` passes through ``jax.jit`` as an
    argument (the spec is static metadata: the key of the compiled program).

    Attributes:
      spec: the run's static description (model, loss, optimizer, metrics, evaluation).
      train: the training data (their weights may carry a cross-validation fold's mask).
      valid: the validation data, or ``None``.
    """

    spec: RunSpec
    train: Dataset
    valid: Dataset | None

    def _sets(self) -> tuple[Dataset, Dataset | None]:
        # Unit weights become constants inside the program: XLA folds weighted means away.
        train, valid = self.train, self.valid
        if self.spec.unit_weights[0]:
            train = train._replace(weight=jnp.ones(train.weight.shape, train.weight.dtype))
        if self.spec.unit_weights[1] and valid is not None:
            valid = valid._replace(weight=jnp.ones(valid.weight.shape, valid.weight.dtype))
        return train, valid

    def _batcher(self, hp: Any, key: jax.Array, train: Dataset) -> Batcher:
        return Batcher(train, getattr(hp, "batch_size", None), key, self.spec.epoch_batches)

    def val_steps(self, hp: Any) -> tuple[int, ...]:
        """The global steps at which this run records its validation loss."""
        return val_steps(int(hp.steps), self.spec.eval_every, self.valid is not None)

    def init(self, key: jax.Array, hp: Any) -> RunState:
        """The state before the first step: initial parameters and optimizer state.

        ``key`` is split in two, one half for the parameters and one for the minibatch
        order, exactly as :func:`jaxfit.fit` does with its key.
        """
        train, _ = self._sets()
        init_key, shuffle_key = jax.random.split(key)
        state = new_train_state(self.spec.step, hp, init_key, train.x, train.weight)
        model = self.spec.step.model
        params_pred = jax.eval_shape(
            lambda v, x: apply_model(model, v, x, hp)[0], state.variables, train.x
        )
        loss = functools.partial(self.spec.step.loss, hp=hp)
        dtype = jax.eval_shape(loss, params_pred, train.y, train.weight).dtype
        n_val = len(self.val_steps(hp))
        return RunState(
            hp=hp,
            train=state,
            key=shuffle_key,
            order=self._batcher(hp, shuffle_key, train).init,
            train_loss=jnp.full((int(hp.steps),), jnp.nan, dtype),
            val_loss=jnp.full((n_val,), jnp.nan, dtype),
        )

    def advance(self, state: RunState, n_steps: Any, *, start: int | None = None) -> RunState:
        """Trains ``n_steps`` more steps (never past ``hp.steps``, the run's horizon).

        Args:
          state: the run's state, from :meth:`init` or an earlier ``advance``.
          n_steps: how many steps to take: a Python int or an int scalar array (a traced
            value compiles once for every length).
          start: the state's step count when it is known on the host (a Python int); with
            a Python int ``n_steps`` the loops then have static lengths, which reverse-mode
            differentiation needs. Leave ``None`` when it is not known.

        Returns:
          The state after the steps, bitwise the state a single longer ``advance`` would
          have passed through (on CPU; other backends may reorder float reductions).
        """
        hp = state.hp
        horizon = int(hp.steps)
        train, valid = self._sets()
        batch_at = self._batcher(hp, state.key, train)
        n_train = jnp.sum(train.weight)
        spec = self.spec.step
        every = self.spec.eval_every if valid is not None else None
        n_val = len(self.val_steps(hp))

        takes_key = spec.model.takes_key

        def step(carry, t):
            ts, order = carry
            batch, order = batch_at(t, order)
            key = _step_key(state.key, t) if takes_key else None
            ts, m = guarded_step(spec, hp, ts, batch, n_train, key)
            return (ts, order), m.loss

        def val_loss(ts: TrainState) -> jax.Array:
            assert valid is not None
            variables = eval_variables(spec, ts, hp)
            pred, _ = apply_model(spec.model, variables, valid.x, hp, weight=valid.weight)
            return jnp.where(ts.alive, spec.loss(pred, valid.y, valid.weight, hp=hp), jnp.nan)

        if isinstance(start, int) and isinstance(n_steps, int):
            return self._advance_static(state, start, n_steps, horizon, every, step, val_loss)
        return self._advance_dynamic(state, n_steps, horizon, every, n_val, step, val_loss)

    def _advance_static(self, state, start, n_steps, horizon, every, step, val_loss):
        """Loops of lengths known on the host: ``lax.scan`` throughout (differentiable)."""
        end = min(max(start + n_steps, start), horizon)
        if end == start:
            return state

        def run(carry, first: Any, length: int):
            # The step index comes from the scan's xs, not the (batched) state: it stays
            # unbatched under vmap, so the per-epoch reshuffle remains a real branch.
            return jax.lax.scan(step, carry, first + jnp.arange(length, dtype=jnp.int32))

        carry = (state.train, state.order)
        train_loss, val = state.train_loss, state.val_loss
        for seg_start, length, count, record in _segments(start, end, horizon, every):
            if count == 1:
                carry, losses = run(carry, seg_start, length)
                vals = val_loss(carry[0])[None] if record else None
            else:  # `count` whole evaluation periods: one scan over them

                def period(carry, i, seg_start=seg_start, length=length):
                    carry, losses = run(carry, seg_start + i * length, length)
                    return carry, (losses, val_loss(carry[0]))

                carry, (losses, vals) = jax.lax.scan(
                    period, carry, jnp.arange(count, dtype=jnp.int32)
                )
                losses = losses.reshape(-1)
            train_loss = jax.lax.dynamic_update_slice(train_loss, losses, (seg_start,))
            if vals is not None:
                at = _val_index(seg_start + length, horizon, every, val.shape[0])
                val = jax.lax.dynamic_update_slice(val, vals.astype(val.dtype), (at,))
        ts, order = carry
        return state._replace(train=ts, order=order, train_loss=train_loss, val_loss=val)

    def _advance_dynamic(self, state, n_steps, horizon, every, n_val, step, val_loss):
        """Loops whose lengths are traced values: ``while_loop``s, one program for any length."""
        start = state.train.step
        n = jnp.asarray(n_steps, jnp.int32)
        end = jnp.clip(start + n, start, horizon).astype(start.dtype)

        def body(t, c: RunState) -> RunState:
            (ts, order), loss = step((c.train, c.order), t)
            train_loss = jax.lax.dynamic_update_slice(c.train_loss, loss[None], (t,))
            return c._replace(train=ts, order=order, train_loss=train_loss)

        if every is None:
            return jax.lax.fori_loop(start, end, body, state)

        def segment(c: RunState) -> RunState:
            s = c.train.step
            stop = jnp.minimum((s // every + 1) * every, end).astype(s.dtype)
            c = jax.lax.fori_loop(s, stop, body, c)
            record = (stop % every == 0) | (stop == horizon)
            at = jnp.where(stop % every == 0, stop // every - 1, n_val - 1)

            def write(c: RunState) -> RunState:
                v = val_loss(c.train).astype(c.val_loss.dtype)
                return c._replace(val_loss=jax.lax.dynamic_update_slice(c.val_loss, v[None], (at,)))

            return jax.lax.cond(record, write, lambda c: c, c)

        return jax.lax.while_loop(lambda c: c.train.step < end, segment, state)

    def evaluate(self, state: RunState) -> dict[str, jax.Array]:
        """The loss and the spec's metrics at the state's parameters (after the
        optimizer's evaluation transform, if it declares one), over the whole training set
        (``train_*``) and the validation set (``val_*``).

        A diverged run's parameters are its last finite ones, and so are these values:
        what ``fit`` keeps as ``last_good_metrics`` (its ``metrics`` are then NaN).
        """
        train, valid = self._sets()
        variables = eval_variables(self.spec.step, state.train, state.hp)
        return final_metrics(self.spec, state.hp, variables, train, valid)


def final_metrics(
    spec: RunSpec, hp: Any, params: Any, train: Dataset, valid: Dataset | None
) -> dict[str, jax.Array]:
    """``train_loss``, ``val_loss`` and ``train_<m>`` / ``val_<m>`` for the spec's metrics.

    ``params`` are the parameters, or :class:`jaxfit.Variables` for a stateful model."""
    model = spec.step.model
    out: dict[str, jax.Array] = {}
    sets = [("train", train)] + ([("val", valid)] if valid is not None else [])
    for prefix, ds in sets:
        pred, _ = apply_model(model, params, ds.x, hp, weight=ds.weight)
        out[f"{prefix}_loss"] = spec.step.loss(pred, ds.y, ds.weight, hp=hp)
        for m in spec.metrics:
            out[f"{prefix}_{m.name}"] = m(pred, ds.y, ds.weight, hp=hp)
    return out


def _segments(start: int, end: int, horizon: int, every: int | None):
    """``(first step, length, count, record)`` pieces of the steps ``[start, end)``.

    Without validation, one piece. Otherwise pieces end at validation points (multiples
    of ``every``, and the horizon) and at ``end``; consecutive whole periods are merged
    into one piece with ``count > 1`` (a scan over periods, as small a program as one).
    """
    if every is None:
        return [(start, end - start, 1, False)]
    pieces: list[tuple[int, int, int, bool]] = []
    s = start
    while s < end:
        stop = min((s // every + 1) * every, end)
        record = stop % every == 0 or stop == horizon
        length = stop - s
        if pieces and record and length == every and s % every == 0:
            first, plen, count, prec = pieces[-1]
            if prec and plen == every and first % every == 0 and count >= 1:
                pieces[-1] = (first, plen, count + 1, True)
                s = stop
                continue
        pieces.append((s, length, 1, record))
        s = stop
    return pieces


def _val_index(stop: int, horizon: int, every: int | None, n_val: int) -> int:
    """Where in the validation buffer the first record of a piece ending at ``stop`` goes
    (for a merged piece of ``count`` periods, the first of its ``count`` slots)."""
    assert every is not None
    if stop % every == 0:
        return stop // every - 1
    return n_val - 1
