"""Your own training code as a sweepable objective: ``Objective`` and the run that drives it.

A :class:`jaxfit.Model` hands jaxfit the parameters and lets it write the loop (loss,
optimizer, minibatches). An :class:`Objective` hands it the loop's pieces instead:
``init(key, hp) -> state``, ``step(state, hp) -> state`` (or ``(state, loss)``) and
``evaluate(state, hp) -> {name: scalar}``; or, with :meth:`Objective.from_train`, a whole
PureJaxRL-style ``train(hp, key) -> metrics``. Nothing here reads data: fitting a
physical model's constants, a bandit or a variational bound are objectives as much as a
network's loss is.

:class:`ObjectiveRun` is the run seam, shaped like :class:`jaxfit._training.run.Run`:
``init``, ``advance`` (by a possibly traced number of steps, so that ``advance(advance(s,
k), m)`` is ``advance(s, k + m)``) and ``evaluate``, with the same divergence guard as a
model's step: a step whose loss is non-finite, or whose new state has a NaN in an inexact
leaf, is not applied, and the run is marked diverged. Its :meth:`ObjectiveRun.result` is a
:class:`jaxfit.FitResult`, so a sweep's program, checkpoints and ``SweepResult`` treat an
objective's rows exactly like a model's.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import is_int
from .._hp import fields_of
from .result import FitResult
from .run import val_steps
from .spec import check_hp, check_key
from .step import CAUSES, TRACES

__all__ = ["Objective", "ObjectiveRun", "ObjectiveState", "fit_objective", "objective_run"]

_NONE, _NAN, _INF = CAUSES.index("none"), CAUSES.index("nan"), CAUSES.index("inf")

_HINT = (
    "An Objective is init(key, hp) -> state, step(state, hp) -> state or (state, loss), "
    "evaluate(state, hp) -> {name: scalar} and optionally params(state) -> pytree; ignore "
    "the arguments you do not need (e.g. init=lambda key, hp: jnp.zeros(2)). For a whole "
    "PureJaxRL-style train(hp, key) -> metrics, use jaxfit.Objective.from_train(train)."
)


@dataclasses.dataclass(frozen=True, eq=False)
class Objective:
    """Your own training code, swept by :func:`jaxfit.sweep` like a built-in model.

    Three pure functions of a state you define (any pytree) and the hyperparameters:

    - ``init(key, hp) -> state``: the state before the first step.
    - ``step(state, hp) -> state`` or ``-> (state, loss)``: one step. Which of the two is
      decided from shapes (``jax.eval_shape``): an output with the state's structure is a
      state; otherwise it must be a pair ``(state, scalar loss)``. The losses form the
      run's training curve (NaN when ``step`` returns none).
    - ``evaluate(state, hp) -> {name: scalar}``: the run's final metrics. The *first* name
      is the one a sweep ranks by and records every ``eval_every`` steps as its
      validation curve; names in ``maximize`` are better when greater, all others when
      smaller.

    A run takes ``hp.steps`` steps (a static field of the hyperparameters, so
    ``jaxfit.Hyperparams`` or any ``@jaxfit.hyperparams`` class with ``steps:
    int = jaxfit.static(...)``), or ``steps`` when the objective fixes it. Numeric
    hyperparameters are traced leaves: read them with ``hp.name`` inside the functions
    and a sweep over their values compiles once. There is no data argument: an
    objective that needs data closes over it (as constants) or reads them from the state.

    Each step is guarded: a step whose loss is NaN or infinite, or whose new state holds
    a NaN in any floating-point leaf, is not applied (the state stays at its last good
    value, so infinities a state holds by design are allowed) and the run is marked
    diverged with its cause (``"nan"`` or ``"inf"``) and step; a non-finite final metric
    marks it diverged too. A diverged run's ``metrics`` are NaN; its
    ``last_good_metrics`` are those of its frozen state, as for a model.

    An ``Objective`` is a static argument of compiled programs, hashable and compared by
    the identity of its functions (as :class:`jaxfit.Model`): build it once and reuse it.

    Attributes:
      init: ``init(key, hp) -> state``.
      step: ``step(state, hp) -> state`` or ``-> (state, loss)``.
      evaluate: ``evaluate(state, hp) -> dict[str, scalar]``.
      params: ``params(state) -> pytree``, what results keep as a run's ``params``
        (default: the whole state; PRNG keys in it are kept as their ``key_data``).
      name: a label for reports.
      maximize: the metric names that are better when greater (e.g. ``("return",)``).
      steps: a run length fixed by the objective; ``None`` (the default) reads the static
        field ``hp.steps``.

    Raises:
      TypeError: for a function that is not callable or cannot take its arguments, a
        ``name`` that is not a string, or ``maximize`` that is not a tuple of strings.
      ValueError: for an empty name or a ``steps`` that is not a positive int.

    Examples:
      Gradient descent on ``(w - 3)^2``, its learning rate a swept hyperparameter:

      >>> import jax, jax.numpy as jnp, jaxfit
      >>> objective = jaxfit.Objective(
      ...     init=lambda key, hp: jnp.zeros(()),
      ...     step=lambda w, hp: (w - hp.learning_rate * 2 * (w - 3.0), (w - 3.0) ** 2),
      ...     evaluate=lambda w, hp: {"cost": (w - 3.0) ** 2, "w": w},
      ... )
      >>> hp = jaxfit.Hyperparams(learning_rate=0.25, steps=20)
      >>> r = jaxfit.fit(objective, hp=hp, key=jax.random.key(0))
      >>> round(float(r.metrics["w"]), 4), r.train_loss.shape
      (3.0, (20,))
    """

    init: Callable[[jax.Array, Any], Any]
    step: Callable[[Any, Any], Any]
    evaluate: Callable[[Any, Any], Mapping[str, Any]]
    params: Callable[[Any], Any] | None = None
    name: str = "objective"
    maximize: tuple[str, ...] = ()
    steps: int | None = None

    def __post_init__(self) -> None:
        _check_callable("init", self.init, "(key, hp)", 2)
        _check_callable("step", self.step, "(state, hp)", 2)
        _check_callable("evaluate", self.evaluate, "(state, hp)", 2)
        if self.params is not None:
            _check_callable("params", self.params, "(state)", 1)
        if not isinstance(self.name, str):
            raise TypeError(f"Objective.name must be a str; got {self.name!r:.80}.")
        if not self.name:
            raise ValueError("Objective.name must not be empty.")
        if isinstance(self.maximize, str):
            raise TypeError(
                f"Objective.maximize must be a tuple of metric names; got the str "
                f"{self.maximize!r}: write maximize=({self.maximize!r},)."
            )
        if not isinstance(self.maximize, tuple) or not all(
            isinstance(m, str) and m for m in self.maximize
        ):
            raise TypeError(
                f"Objective.maximize must be a tuple of non-empty metric names; got "
                f"{self.maximize!r:.80}."
            )
        if self.steps is not None and (not is_int(self.steps) or self.steps < 1):
            raise ValueError(
                f"Objective.steps must be a positive int or None (read hp.steps); got "
                f"{self.steps!r:.80}."
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Objective):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def _identity(self) -> tuple:
        functions = (self.init, self.step, self.evaluate, self.params)
        return (*(id(f) for f in functions), self.name, self.maximize, self.steps)

    @classmethod
    def from_train(
        cls,
        train: Callable[[Any, jax.Array], Mapping[str, Any]],
        *,
        metrics: Sequence[str] | None = None,
        maximize: tuple[str, ...] = (),
        name: str = "train",
    ) -> Objective:
        """An objective from a whole training run ``train(hp, key) -> metrics``.

        PureJaxRL's pattern: a factory ``make_train(config)`` returns a pure ``train(key)``
        whose loops are ``lax.scan``; pass ``lambda hp, key: make_train(hp)(key)`` (with
        the numbers you sweep as numeric fields of ``hp``, read inside as traced values,
        so one program serves every value). ``train`` must return a dict of numeric
        arrays, each either a scalar (the final value) or a history whose leading axis is
        time: its final value is the mean of its last entry ``a[-1]`` (e.g. the episode
        returns of the last update, averaged over steps and environments).

        The run is one step long (``hp`` needs no ``steps`` field); ``train`` gets the
        row's key as it is (a sweep's ``fold_in(key, seed)``). Its result's ``params`` are
        empty and its training curve is one NaN; a non-finite final value marks the run
        diverged.

        Args:
          train: ``train(hp, key) -> dict[str, array]``.
          metrics: the names to keep, in order (the first ranks a sweep); default every
            name ``train`` returns, in its order (a dict that went through ``lax.scan``
            or ``jax.vmap`` comes back with its keys sorted). Leave out non-numeric ones (e.g. a
            boolean ``returned_episode`` flag) this way.
          maximize: the names that are better when greater (e.g. ``("return",)``).
          name: a label for reports.

        Returns:
          An :class:`Objective`.

        Raises:
          TypeError: when ``train`` is not callable as ``train(hp, key)``, or ``metrics``
            is not a sequence of names.

        Examples:
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> def train(hp, key):
          ...     noise = jax.random.normal(key, (10,))
          ...     return {"score": jnp.cumsum(hp.learning_rate + 0.01 * noise)}
          >>> objective = jaxfit.Objective.from_train(train, maximize=("score",))
          >>> r = jaxfit.sweep(objective, base=jaxfit.Hyperparams(),
          ...                  space=jaxfit.grid(learning_rate=[0.1, 1.0]),
          ...                  key=jax.random.key(0), seeds=2)
          >>> r.best(1)[0]["varied"]
          {'learning_rate': 1.0}
        """
        _check_callable("train", train, "(hp, key)", 2, owner="Objective.from_train")
        names: tuple[str, ...] | None = None
        if metrics is not None:
            if (
                isinstance(metrics, str)
                or not isinstance(metrics, Sequence)
                or not all(isinstance(m, str) and m for m in metrics)
            ):
                raise TypeError(
                    f"Objective.from_train(metrics=...) must be a sequence of metric names; got "
                    f"{metrics!r:.80}."
                )
            if not metrics:
                raise ValueError("Objective.from_train(metrics=...) must name at least one metric.")
            names = tuple(metrics)
        one_shot = _OneShot(train, names)
        return cls(
            init=one_shot.init,
            step=one_shot.step,
            evaluate=one_shot.evaluate,
            params=_no_params,
            name=name,
            maximize=maximize,
            steps=1,
        )


def _check_callable(field: str, fn: Any, args: str, n: int, owner: str = "Objective") -> None:
    if not callable(fn):
        raise TypeError(
            f"{owner}: {field}={fn!r:.80} ({type(fn).__name__}) is not callable. {_HINT}"
        )
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins and some C extensions: trust the caller
        return
    try:
        signature.bind(*([None] * n))
    except TypeError as e:
        raise TypeError(
            f"{owner}: {field}={fn!r:.80} has signature {signature}, which cannot be called "
            f"as {field}{args} ({e}). {_HINT}"
        ) from None


def _no_params(state: Any) -> Any:
    del state
    return {}


class _OneShotState(NamedTuple):
    key: jax.Array
    metrics: dict[str, jax.Array]


@dataclasses.dataclass(frozen=True, eq=False)
class _OneShot:
    """``train(hp, key) -> metrics`` as a one-step objective whose state is the final values."""

    train: Callable[[Any, jax.Array], Any]
    names: tuple[str, ...] | None

    def finals(self, hp: Any, key: jax.Array) -> dict[str, jax.Array]:
        out = self.train(hp, key)
        if not isinstance(out, Mapping):
            raise TypeError(
                f"Objective.from_train: train(hp, key) must return a dict of metric arrays; got "
                f"{type(out).__name__}. Return e.g. {{'return': returns}}, or pick the dict "
                "out of a bigger result: lambda hp, key: make_train(hp)(key)['metrics']."
            )
        names = tuple(out) if self.names is None else self.names
        missing = [m for m in names if m not in out]
        if missing:
            raise ValueError(
                f"Objective.from_train(metrics=...) names {missing}, which train does not "
                f"return; it returns {list(out)}."
            )
        return {m: _final_value(m, out[m]) for m in names}

    def init(self, key: jax.Array, hp: Any) -> _OneShotState:
        shapes = jax.eval_shape(self.finals, hp, key)
        nan = {m: jnp.full((), jnp.nan, s.dtype) for m, s in shapes.items()}
        return _OneShotState(key, nan)

    def step(self, state: _OneShotState, hp: Any) -> _OneShotState:
        return _OneShotState(state.key, self.finals(hp, state.key))

    def evaluate(self, state: _OneShotState, hp: Any) -> dict[str, jax.Array]:
        del hp
        # A dict rebuilt in the order train gave (a pytree's dict comes back sorted).
        names = self.names or tuple(state.metrics)
        return {m: state.metrics[m] for m in names}


def _final_value(name: str, value: Any) -> jax.Array:
    a = jnp.asarray(value)
    if a.dtype == jnp.bool_ or not jnp.issubdtype(a.dtype, jnp.number):
        raise TypeError(
            f"Objective.from_train: train's metric {name!r} has dtype {a.dtype}, not a number; "
            "pass metrics=[...] naming only the numeric ones."
        )
    final = a if a.ndim == 0 else a[-1]
    if final.ndim > 0:
        final = jnp.mean(final)
    if not jnp.issubdtype(final.dtype, jnp.inexact):
        final = final.astype(jnp.result_type(float))
    return final


# ----------------------------------------------------------------------------- the run


class ObjectiveState(NamedTuple):
    """Everything an objective's run carries between calls of :meth:`ObjectiveRun.advance`.

    Attributes:
      hp: the hyperparameters of this run.
      state: the objective's own state.
      step: steps taken so far (int32); shared by the rows of a vmapped batch.
      alive: ``False`` once a step failed; from then on ``state`` no longer changes.
      death_step: the step that failed, or -1.
      cause: an index into ``jaxfit.CAUSES``.
      train_loss: each step's loss, shape ``(horizon,)``, NaN where not taken or not given.
      val_loss: the first metric at the validation points, NaN where not reached yet.
    """

    hp: Any
    state: Any
    step: jax.Array
    alive: jax.Array
    death_step: jax.Array
    cause: jax.Array
    train_loss: jax.Array
    val_loss: jax.Array

    @staticmethod
    def axes(axis: int = 0) -> ObjectiveState:
        """``vmap`` axes for a batch of states that share their step count: ``axis`` for
        every field but ``step``, which gets ``None``."""
        return ObjectiveState._make([axis, axis, None, axis, axis, axis, axis, axis])


@dataclasses.dataclass(frozen=True)
class ObjectiveRun:
    """One static group's run of an objective: ``init``, ``advance``, ``evaluate``.

    Hashable (the key of a compiled program). Built by :func:`objective_run`, which
    checks the objective's functions against one setting with ``jax.eval_shape``.

    Attributes:
      objective: the objective.
      eval_every: steps between records of the first metric (the validation curve), or
        ``None`` for none.
      returns_loss: whether ``step`` returns ``(state, loss)``.
      metric_names: ``evaluate``'s names, in its order (the first ranks).
      loss_dtype: the dtype of the loss curve.
    """

    objective: Objective
    eval_every: int | None
    returns_loss: bool
    metric_names: tuple[str, ...]
    loss_dtype: str

    def horizon(self, hp: Any) -> int:
        """The run's length: the objective's ``steps``, else ``hp.steps``."""
        steps = self.objective.steps
        return int(hp.steps) if steps is None else steps

    def val_steps(self, hp: Any) -> tuple[int, ...]:
        """The steps after which the first metric is recorded."""
        return val_steps(self.horizon(hp), self.eval_every, True)

    def init(self, key: jax.Array, hp: Any) -> ObjectiveState:
        """The state before the first step; ``key`` goes to ``init`` as it is."""
        dtype = jnp.dtype(self.loss_dtype)
        return ObjectiveState(
            hp=hp,
            state=self.objective.init(key, hp),
            step=jnp.zeros((), jnp.int32),
            alive=jnp.ones((), bool),
            death_step=jnp.full((), -1, jnp.int32),
            cause=jnp.zeros((), jnp.int32),
            train_loss=jnp.full((self.horizon(hp),), jnp.nan, dtype),
            val_loss=jnp.full((len(self.val_steps(hp)),), jnp.nan, dtype),
        )

    def advance(
        self, state: ObjectiveState, n_steps: Any, *, start: int | None = None
    ) -> ObjectiveState:
        """Takes ``n_steps`` more steps, never past the horizon.

        ``n_steps`` is a Python int or an int scalar array (a traced value: one compiled
        program advances any number of steps), and ``advance(advance(s, k), m)`` equals
        ``advance(s, k + m)`` bitwise: the same steps, the same validation points.

        Args:
          state: from :meth:`init` or an earlier ``advance``.
          n_steps: how many steps to take.
          start: the state's step count when the caller knows it on the host (a whole
            run passes 0): with an int ``n_steps`` too, the loops are ``lax.scan``s of
            known length rather than ``while_loop``s.
        """
        if isinstance(start, int) and isinstance(n_steps, int):
            return self._advance_static(state, start, n_steps)
        hp = state.hp
        horizon = self.horizon(hp)
        first = state.step
        end = jnp.clip(first + jnp.asarray(n_steps, jnp.int32), first, horizon).astype(jnp.int32)
        body = self._body
        every = self.eval_every
        if every is None:
            return jax.lax.fori_loop(first, end, body, state)

        def segment(c: ObjectiveState) -> ObjectiveState:
            s = c.step
            stop = jnp.minimum((s // every + 1) * every, end).astype(s.dtype)
            c = jax.lax.fori_loop(s, stop, body, c)
            record = (stop % every == 0) | (stop == horizon)
            return jax.lax.cond(record, lambda c: self._record(c, stop), lambda c: c, c)

        return jax.lax.while_loop(lambda c: c.step < end, segment, state)

    def _advance_static(self, state: ObjectiveState, start: int, n_steps: int) -> ObjectiveState:
        """The steps ``[start, start + n_steps)`` in loops of lengths known on the host."""
        horizon, every = self.horizon(state.hp), self.eval_every
        end = min(max(start + n_steps, start), horizon)

        def run(c: ObjectiveState, first: Any, length: int) -> ObjectiveState:
            # The step index comes from the scan's xs: unbatched under vmap.
            ts = first + jnp.arange(length, dtype=jnp.int32)
            return jax.lax.scan(lambda c, t: (self._body(t, c), None), c, ts)[0]

        if every is None:
            return run(state, start, end - start) if end > start else state
        s = start
        if s % every:  # up to the next validation point (or the end)
            stop = min((s // every + 1) * every, end)
            state = run(state, s, stop - s)
            if stop % every == 0 or stop == horizon:
                state = self._record(state, stop)
            s = stop
        periods = (end - s) // every
        if periods:  # whole periods, one scan over them

            def period(c: ObjectiveState, i: jax.Array, s: int = s) -> tuple[ObjectiveState, None]:
                first = s + i * every
                return self._record(run(c, first, every), first + every), None

            state = jax.lax.scan(period, state, jnp.arange(periods, dtype=jnp.int32))[0]
            s += periods * every
        if end > s:
            state = run(state, s, end - s)
            if end == horizon:
                state = self._record(state, end)
        return state

    def _record(self, c: ObjectiveState, stop: Any) -> ObjectiveState:
        """Writes the first metric into the validation slot of the point ``stop``."""
        every = self.eval_every
        assert every is not None
        n_val = len(self.val_steps(c.hp))
        at = jnp.where(stop % every == 0, stop // every - 1, n_val - 1)
        v = self._metrics(c)[self.metric_names[0]]
        v = jnp.where(c.alive, v, jnp.nan).astype(c.val_loss.dtype)
        return c._replace(val_loss=jax.lax.dynamic_update_slice(c.val_loss, v[None], (at,)))

    def _body(self, t: jax.Array, c: ObjectiveState) -> ObjectiveState:
        out = self.objective.step(c.state, c.hp)
        dtype = c.train_loss.dtype
        if self.returns_loss:
            new, loss = out
            loss = jnp.asarray(loss).astype(dtype)
            bad_nan, bad_inf = jnp.isnan(loss), jnp.isinf(loss)
        else:
            new, loss = out, jnp.asarray(jnp.nan, dtype)
            bad_nan = bad_inf = jnp.zeros((), bool)
        # NaN anywhere in the new state; infinities it may hold by design (a best-so-far).
        for leaf in jax.tree.leaves(new):
            if jnp.issubdtype(leaf.dtype, jnp.inexact):
                bad_nan = bad_nan | jnp.any(jnp.isnan(leaf))
        cause = jnp.where(bad_nan, _NAN, jnp.where(bad_inf, _INF, _NONE))
        ok = c.alive & (cause == _NONE)
        newly_dead = c.alive & ~ok
        kept = jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, c.state)
        # A step that is not applied (or after one) has no loss: NaN, as for steps not taken.
        shown = jnp.where(ok, loss, jnp.asarray(jnp.nan, dtype))
        return c._replace(
            state=kept,
            step=c.step + 1,
            alive=ok,
            death_step=jnp.where(newly_dead, t, c.death_step).astype(jnp.int32),
            cause=jnp.where(newly_dead, cause, c.cause).astype(jnp.int32),
            train_loss=jax.lax.dynamic_update_slice(c.train_loss, shown[None], (t,)),
        )

    def _metrics(self, c: ObjectiveState) -> dict[str, jax.Array]:
        out = self.objective.evaluate(c.state, c.hp)
        return {m: _as_float(jnp.asarray(out[m])) for m in self.metric_names}

    def evaluate(self, state: ObjectiveState) -> dict[str, jax.Array]:
        """``evaluate``'s metrics at the run's state (its last good one, once diverged)."""
        return self._metrics(state)

    def result(self, state: ObjectiveState) -> FitResult:
        """The run as a :class:`jaxfit.FitResult`: a non-finite final metric marks it
        diverged (at its last step), and a diverged run's ``metrics`` are NaN."""
        raw = self.evaluate(state)
        values = list(raw.values())
        final_nan = _any_of(jnp.isnan, values)
        final_inf = _any_of(jnp.isinf, values)
        late = state.alive & (final_nan | final_inf)
        alive = state.alive & ~late
        cause = jnp.where(late, jnp.where(final_nan, _NAN, _INF), state.cause)
        last = jnp.maximum(state.step - 1, 0)
        params = self.objective.params
        kept = state.state if params is None else params(state.state)
        return FitResult(
            params=jax.tree.map(_key_data, kept),
            hp=state.hp,
            train_loss=state.train_loss,
            val_loss=state.val_loss,
            metrics={k: jnp.where(alive, v, jnp.nan) for k, v in raw.items()},
            last_good_metrics=raw,
            diverged=~alive,
            diverged_step=jnp.where(late, last, state.death_step).astype(jnp.int32),
            cause=cause.astype(jnp.int32),
            val_steps=self.val_steps(state.hp),
        )

    def fit(self, hp: Any, key: jax.Array) -> FitResult:
        """One whole run, ``init`` then ``advance`` to the horizon, as a ``FitResult``
        (traceable and vmappable over ``(hp, key)``: a sweep's rows)."""
        state = self.init(key, hp)
        return self.result(self.advance(state, self.horizon(hp), start=0))


def _as_float(v: jax.Array) -> jax.Array:
    return v if jnp.issubdtype(v.dtype, jnp.inexact) else v.astype(jnp.result_type(float))


def _any_of(pred: Callable[[jax.Array], jax.Array], values: list[jax.Array]) -> jax.Array:
    out = jnp.zeros((), bool)
    for v in values:
        out = out | pred(v)
    return out


def _key_data(a: Any) -> Any:
    # Typed PRNG keys cannot become numpy arrays (fetching, checkpoints): keep their bits.
    if isinstance(a, jax.Array) and jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(a)
    return a


# ----------------------------------------------------------------------------- checks


def check_objective_hp(objective: Objective, hp: Any, arg: str = "hp") -> None:
    """``hp`` is a single ``@jaxfit.hyperparams`` setting with a static positive ``steps``
    field (unless the objective fixes its own)."""
    check_hp(hp)
    if hp.batch_shape != ():
        raise ValueError(f"{arg} must be a single setting, not a batch made by jaxfit.stack.")
    if objective.steps is not None:
        return
    cls = type(hp).__name__
    spec = fields_of(hp)
    if "steps" not in spec.static:
        kind = "numeric" if "steps" in spec.numeric else "missing"
        raise TypeError(
            f"{cls}.steps is {kind}, but an Objective's run length is the static field "
            "hp.steps: add `steps: int = jaxfit.static(100)` to the class (jaxfit.Hyperparams "
            "has it), or fix the length with jaxfit.Objective(..., steps=100)."
        )
    if not is_int(hp.steps) or hp.steps < 1:
        raise ValueError(f"{cls}.steps must be a positive int; got {hp.steps!r:.80}.")


def check_eval_every(eval_every: Any) -> None:
    if eval_every is not None and (
        isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1
    ):
        raise ValueError(f"eval_every must be a positive int or None; got {eval_every!r:.80}.")


def objective_run(
    objective: Objective, hp: Any, eval_every: int | None, key: jax.Array | None = None
) -> ObjectiveRun:
    """Checks ``objective``'s functions on one setting with ``jax.eval_shape`` (nothing is
    compiled or computed) and returns its :class:`ObjectiveRun`.

    Raises:
      TypeError: ``step``'s output is neither the state nor ``(state, scalar loss)``,
        ``evaluate`` does not return a dict of numeric scalars (naming the key), or
        ``maximize`` names a metric ``evaluate`` does not return.
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be a jaxfit.Objective; got {type(objective).__name__}.")
    check_eval_every(eval_every)
    key = jax.random.key(0) if key is None else key
    state = jax.eval_shape(objective.init, key, hp)
    out = jax.eval_shape(objective.step, state, hp)
    state_def = jax.tree.structure(state)
    if jax.tree.structure(out) == state_def:
        returns_loss, new = False, out
    elif (
        isinstance(out, tuple)
        and len(out) == 2
        and jax.tree.structure(out[0]) == state_def
        and isinstance(out[1], jax.ShapeDtypeStruct)
    ):
        returns_loss, new = True, out[0]
        loss = out[1]
        if loss.shape != () or not jnp.issubdtype(loss.dtype, jnp.number):
            raise TypeError(
                f"Objective {objective.name!r}: step returned (state, loss) with a loss of shape "
                f"{loss.shape} and dtype {loss.dtype}; the loss must be a numeric scalar."
            )
    else:
        raise TypeError(
            f"Objective {objective.name!r}: step(state, hp) must return the state (structure "
            f"{state_def}) or a pair (state, scalar loss); it returned the structure "
            f"{jax.tree.structure(out)}."
        )
    for i, (a, b) in enumerate(zip(jax.tree.leaves(state), jax.tree.leaves(new), strict=True)):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise TypeError(
                f"Objective {objective.name!r}: step changes the state's leaf {i} from "
                f"{a.dtype}{list(a.shape)} (as init returns it) to {b.dtype}{list(b.shape)}; "
                "a step must keep every leaf's shape and dtype (cast in init or step)."
            )
    names = _metric_names(objective, state, hp)
    unknown = [m for m in objective.maximize if m not in names]
    if unknown:
        raise ValueError(
            f"Objective {objective.name!r}: maximize names {unknown}, which evaluate does not "
            f"return; it returns {list(names)}."
        )
    if objective.params is not None:
        jax.eval_shape(objective.params, state)
    if returns_loss:
        loss_dtype = jnp.result_type(out[1].dtype, jnp.float32)
        loss_dtype = loss_dtype if jnp.issubdtype(loss_dtype, jnp.inexact) else jnp.float32
    else:
        loss_dtype = jnp.result_type(float)
    return ObjectiveRun(objective, eval_every, returns_loss, names, jnp.dtype(loss_dtype).name)


def _metric_names(objective: Objective, state: Any, hp: Any) -> tuple[str, ...]:
    names: list[str] = []

    def probe(s, h):
        out = objective.evaluate(s, h)
        if not isinstance(out, Mapping):
            raise TypeError(
                f"Objective {objective.name!r}: evaluate(state, hp) must return a dict "
                f"{{name: scalar}}; got {type(out).__name__}."
            )
        names.extend(out)
        return dict(out)

    out = jax.eval_shape(probe, state, hp)
    if not names:
        raise ValueError(f"Objective {objective.name!r}: evaluate returned an empty dict.")
    for m in names:
        if not isinstance(m, str) or not m:
            raise TypeError(
                f"Objective {objective.name!r}: evaluate's keys must be non-empty strings; got "
                f"{m!r:.80}."
            )
        v = out[m]
        if not isinstance(v, jax.ShapeDtypeStruct) or v.shape != ():
            shape = getattr(v, "shape", type(v).__name__)
            raise TypeError(
                f"Objective {objective.name!r}: evaluate's {m!r} must be a scalar; got shape "
                f"{shape}. Reduce it (e.g. jnp.mean) or return several named scalars."
            )
        if v.dtype == jnp.bool_ or not jnp.issubdtype(v.dtype, jnp.number):
            raise TypeError(
                f"Objective {objective.name!r}: evaluate's {m!r} has dtype {v.dtype}; a metric "
                "must be a number."
            )
    return tuple(names)


def fit_objective(
    objective: Objective, hp: Any, key: jax.Array, eval_every: int | None = None
) -> FitResult:
    """:func:`jaxfit.fit` for an objective: its whole run compiled as one program."""
    check_objective_hp(objective, hp)
    key = check_key(key)
    run = objective_run(objective, hp, eval_every, key)
    return _fit_compiled(run, hp, key)


def _fit_body(run: ObjectiveRun, hp: Any, key: jax.Array) -> FitResult:
    TRACES["objective"] += 1
    return run.fit(hp, key)


_fit_compiled = jax.jit(_fit_body, static_argnums=0)
