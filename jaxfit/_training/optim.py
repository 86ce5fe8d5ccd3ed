"""Optimizers and learning-rate schedules built from hyperparameter leaves, inside the trace.

The optax transformation is rebuilt every time the traced training function runs, from
the hyperparameters it receives. Numeric fields (``learning_rate``, ``momentum``, ``b1``,
...) may therefore be tracers under ``jit`` or ``vmap``: a batch of learning rates is
one compiled program, with no ``optax.inject_hyperparams`` and no recompilation. Only the
static fields ``optimizer``, ``schedule`` and ``steps`` choose code paths in Python.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax

from .penalty import weight_mask

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "eval_params_of",
    "make_optimizer",
    "make_schedule",
    "with_eval_params",
]

# optax.adagrad's default: the squared-gradient sum starts at 0.1 (PyTorch starts at 0).
_ADAGRAD_INITIAL_ACCUMULATOR = 0.1

_SCHEDULE_FIELDS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "cosine": ("steps", "end_factor"),
    "warmup_cosine": ("steps", "warmup_steps", "end_factor"),
    "exponential": ("steps", "decay_rate"),
    "step": ("decay_rate", "decay_every"),
}
_OPTIMIZER_FIELDS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum",),
    "nesterov": ("momentum",),
    "adam": ("b1", "b2", "eps"),
    "adamw": ("b1", "b2", "eps"),
    "rmsprop": ("decay", "eps"),
    "adagrad": ("eps",),
    "lbfgs": (),
    "newton": (),
}
_LBFGS_MEMORY = 10  # optax's default number of stored curvature pairs

# The names hp.optimizer and hp.schedule accept, in the order the docs list them.
OPTIMIZERS = tuple(_OPTIMIZER_FIELDS)
SCHEDULES = tuple(_SCHEDULE_FIELDS)


def make_schedule(hp: Any) -> optax.Schedule:
    r"""Returns the learning-rate schedule ``step -> lr`` that ``hp`` describes.

    ``hp.schedule`` (static) picks the shape; every number comes from a leaf of ``hp``,
    so any of them may be a tracer. With :math:`\eta` = ``learning_rate``, :math:`T` =
    ``steps``, :math:`W` = ``warmup_steps``, :math:`a` = ``end_factor``, :math:`\gamma`
    = ``decay_rate``, :math:`k` = ``decay_every`` and
    :math:`c(x) = a + (1 - a)\,\tfrac12 (1 + \cos \pi x)`:

    - ``"constant"``: :math:`\eta`.
    - ``"cosine"``: :math:`\eta\, c(\min(t, T) / T)`, as
      ``optax.cosine_decay_schedule(lr, steps, alpha=end_factor)``.
    - ``"warmup_cosine"``: :math:`\eta\, t / W` for :math:`t < W`, then
      :math:`\eta\, c(\min(t - W, T - W) / (T - W))`: the decay ends at step ``steps``,
      warm-up included, as ``optax.warmup_cosine_decay_schedule(0, lr, warmup_steps,
      steps, end_factor * lr)``. ``W`` may be fractional; ``W = 0`` skips the warm-up
      and ``W >= T`` never decays.
    - ``"exponential"``: :math:`\eta\, \gamma^{t / T}` (:math:`\gamma\eta` at step
      ``steps``), as ``optax.exponential_decay(lr, steps, decay_rate)``.
    - ``"step"``: :math:`\eta\, \gamma^{\lfloor t / k \rfloor}`.

    Args:
      hp: a :class:`jaxfit.Hyperparams` (or subclass) with the fields above.

    Returns:
      An optax-style schedule mapping an integer step count array to the learning rate.

    Raises:
      TypeError: if ``hp`` lacks a field the schedule reads, or ``hp.steps`` is not an int.
      ValueError: if ``hp.schedule`` is not a known name, or ``hp.steps < 1``.

    Examples:
      >>> import jaxfit
      >>> hp = jaxfit.Hyperparams(learning_rate=1.0, schedule="cosine", steps=100)
      >>> lr = jaxfit.make_schedule(hp)
      >>> [round(float(lr(t)), 3) for t in (0, 50, 100)]
      [1.0, 0.5, 0.0]
    """
    _require(hp, ("schedule", "learning_rate"), "make_schedule")
    name = hp.schedule
    _check_name("schedule", name, SCHEDULES)
    _require(hp, _SCHEDULE_FIELDS[name], f"the {name!r} schedule")
    if "steps" in _SCHEDULE_FIELDS[name]:
        _check_steps(hp)
    lr = jnp.asarray(hp.learning_rate)

    def schedule(count: jax.typing.ArrayLike) -> jax.Array:
        t = jnp.asarray(count).astype(lr.dtype)
        if name == "constant":
            return lr
        if name == "cosine":
            return lr * _cosine(jnp.minimum(t, hp.steps) / hp.steps, hp.end_factor)
        if name == "warmup_cosine":
            return lr * _warmup_cosine(t, hp.steps, hp.warmup_steps, hp.end_factor)
        if name == "exponential":
            return lr * hp.decay_rate ** (t / hp.steps)
        return lr * hp.decay_rate ** jnp.floor(t / hp.decay_every)

    return schedule


def make_optimizer(hp: Any) -> optax.GradientTransformation:
    """Returns the optax optimizer that ``hp`` describes; call it inside the traced function.

    ``hp.optimizer`` (static) picks the chain of optax building blocks; the learning
    rate follows :func:`jaxfit.make_schedule`. With ``weight_decay = 0`` each equals its
    optax alias:

    - ``"sgd"``: ``optax.sgd(lr)``.
    - ``"momentum"``: ``optax.sgd(lr, momentum)``.
    - ``"nesterov"``: ``optax.sgd(lr, momentum, nesterov=True)``.
    - ``"adam"``: ``optax.adam(lr, b1, b2, eps)`` (``eps`` outside the square root).
    - ``"adamw"``: ``optax.adamw(lr, b1, b2, eps, weight_decay=weight_decay)``.
    - ``"rmsprop"``: ``optax.rmsprop(lr, decay, eps)``.
    - ``"adagrad"``: ``optax.adagrad(lr, eps=eps)``; the squared-gradient sum starts at
      optax's default 0.1 (PyTorch's starts at 0).
    - ``"lbfgs"``: ``optax.lbfgs()`` with its zoom line search (no learning rate, no
      schedule, no weight decay); :func:`jaxfit.make_step` passes it the objective's value
      and ``value_fn`` as optax requires.
    - ``"newton"``: Newton's method, ``params - t H^{-1} g`` with the exact Hessian ``H``
      of the objective (data loss + ``l2`` penalty) from ``jax.hessian``, damped at the
      level of its rounding (softmax regression's is singular), and ``t`` from a
      backtracking line search on the objective (no learning rate). For a quadratic
      objective (ridge regression: ``linear`` model, ``"mse"`` loss) one full step is the
      closed-form solution; for logistic and softmax regression with ``l2 > 0`` it
      converges quadratically in a few steps. Each step builds and solves a ``P x P``
      system (``P`` parameters), so it suits small convex models.

    ``weight_decay`` acts on weight matrices only (leaves with ``ndim >= 2``, see
    :func:`jaxfit.weight_mask`). For ``"adamw"`` it is decoupled, as in ``optax.adamw``:
    ``wd * W`` is added after Adam's scaling and before the learning rate. For every other
    optimizer it is coupled, as PyTorch's ``weight_decay``: ``wd * W`` is added to the
    gradient before the optimizer scales it.

    The state's structure depends only on the static fields, so the optimizer can be
    vmapped over a batch of hyperparameters. Updates and state keep the dtypes of the
    gradients and of ``init(params)``: float64 hyperparameters (``jax_enable_x64``) do
    not promote a float32 model's state, which would break a ``lax.scan`` carry.

    Args:
      hp: a :class:`jaxfit.Hyperparams` (or subclass) with the fields the chosen
        optimizer and schedule read.

    Returns:
      An ``optax.GradientTransformation``; its ``update`` needs ``params``.

    Raises:
      TypeError: if ``hp`` lacks a field the optimizer or its schedule reads, or
        ``hp.steps`` is not an int.
      ValueError: if ``hp.optimizer`` or ``hp.schedule`` is not a known name, or
        ``hp.steps < 1``.

    References:
      Loshchilov & Hutter, `Decoupled Weight Decay Regularization
      <https://arxiv.org/abs/1711.05101>`_, 2019.

    Examples:
      >>> import jax, jax.numpy as jnp, optax, jaxfit
      >>> def train(hp, params):
      ...     opt = jaxfit.make_optimizer(hp)  # built inside: hp leaves may be tracers
      ...     state = opt.init(params)
      ...     for _ in range(3):
      ...         grads = jax.grad(lambda p: jnp.sum(p["w"] ** 2))(params)
      ...         updates, state = opt.update(grads, state, params)
      ...         params = optax.apply_updates(params, updates)
      ...     return params
      >>> hps = jaxfit.stack([jaxfit.Hyperparams(optimizer="sgd", learning_rate=lr)
      ...                     for lr in (0.1, 0.25)])
      >>> out = jax.jit(jax.vmap(train, in_axes=(0, None)))(hps, {"w": jnp.ones((1, 1))})
      >>> out["w"].ravel().round(3)
      Array([0.512, 0.125], dtype=float32)
    """
    _require(hp, ("optimizer", "weight_decay"), "make_optimizer")
    name = hp.optimizer
    _check_name("optimizer", name, OPTIMIZERS)
    _require(hp, _OPTIMIZER_FIELDS[name], f"the {name!r} optimizer")
    if name == "lbfgs":  # the line search picks step sizes; it needs value and value_fn
        return _keep_dtypes(optax.lbfgs(memory_size=_LBFGS_MEMORY))
    if name == "newton":
        return newton()
    lr = optax.scale_by_learning_rate(make_schedule(hp))
    weight_decay = optax.add_decayed_weights(hp.weight_decay, mask=weight_mask)
    if name == "adamw":
        chain = optax.chain(optax.scale_by_adam(hp.b1, hp.b2, hp.eps), weight_decay, lr)
    else:
        chain = optax.chain(weight_decay, _scaling(hp), lr)
    return _keep_dtypes(chain)


def newton() -> optax.GradientTransformationExtraArgs:
    r"""Newton's method with a backtracking line search, from ``value_fn``'s exact Hessian.

    A stateless optax transformation whose ``update`` needs ``params``, ``value_fn`` (the
    objective) and ``value`` (its value at ``params``), as :func:`jaxfit.make_step` passes
    them. With the gradient :math:`g` and Hessian :math:`H` of the flattened parameters,
    each step is

    .. math::
        d = -(H + E)^{-1} g, \qquad x \leftarrow x + t\, d,

    where :math:`E` is the diagonal correction of a modified Cholesky factorisation: a
    pivot within :math:`\delta = 10\, P\, \epsilon \max_i |H_{ii}|` of zero (:math:`P`
    parameters, :math:`\epsilon` the dtype's machine epsilon) is raised to :math:`\delta`,
    and every other pivot is left alone. The step size :math:`t` is the first of
    :math:`1, \tfrac12, \tfrac14, \dots, 2^{-(K-1)}` (:math:`K` = 24) that satisfies
    Armijo's condition :math:`f(x + t d) \le f(x) + 10^{-4}\, t\, g^\top d`, or whose
    value is within rounding (:math:`4 \epsilon |f(x)|`) of :math:`f(x)`. The :math:`K`
    trial values are computed together, with no loop, so the step vmaps and
    differentiates as any other.

    A positive definite :math:`H` has no pivot near zero, so :math:`E = 0` and one step is
    still ridge's closed form. :math:`H` is singular where the objective is flat along a
    direction: softmax regression's intercepts (adding one constant to every class's
    intercept changes no probability), and every weight shift of that kind when
    ``l2 = 0``; there plain Cholesky divides by a rounding-sized pivot of either sign
    (the cause of NaN within a few steps). The gradient has no component along such a
    direction, so the corrected step there is only rounding, and the fixed point
    (:math:`g = 0`) is unchanged. The line search keeps full Newton steps near the
    optimum, where they converge quadratically, and shortens the long first steps of a
    weakly regularised logistic problem, where the full step overshoots. If no trial step
    decreases the objective, the step is ``0`` (the run stays where it is); a Hessian with
    a clearly negative pivot (a non-convex model) gives a NaN step, which the divergence
    guard catches.

    References:
      Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006: Newton's method with a
      line search (section 3.3) and Hessian modification (section 3.4).
    """

    def init(params: Any) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update(updates, state, params=None, *, value=None, value_fn=None, **extra):
        del extra
        if params is None or value_fn is None:
            raise ValueError("the 'newton' optimizer needs params and value_fn in update().")
        flat, unravel = jax.flatten_util.ravel_pytree(params)
        grad, _ = jax.flatten_util.ravel_pytree(updates)
        grad = grad.astype(flat.dtype)

        def objective(v: jax.Array) -> jax.Array:
            return value_fn(unravel(v))

        hessian = jax.hessian(objective)(flat)
        hessian = 0.5 * (hessian + hessian.T)
        direction = -_cholesky_solve(hessian, grad, _pivot_floor(hessian))
        current = objective(flat) if value is None else jnp.asarray(value, flat.dtype)
        t = _line_search(objective, flat, current, grad, direction)
        step = jnp.where(t > 0, t * direction, jnp.zeros_like(direction))
        # A NaN direction (H not positive definite) stays NaN for the divergence guard.
        step = jnp.where(jnp.isnan(direction).any(), direction, step)
        return unravel(step), state

    return optax.GradientTransformationExtraArgs(init, update)


_LINE_SEARCH_TRIALS = 24  # step sizes 1, 1/2, ..., 2^-23
_ARMIJO = 1e-4  # the usual sufficient-decrease constant (Nocedal & Wright, section 3.1)


def _pivot_floor(hessian: jax.Array) -> jax.Array:
    """``10 P eps max|H_ii|``: the level of rounding in ``H``'s Cholesky pivots."""
    eps = jnp.finfo(hessian.dtype).eps
    scale = jnp.max(jnp.abs(jnp.diagonal(hessian)))
    return 10 * hessian.shape[-1] * eps * jnp.where(scale > 0, scale, 1.0)


def _line_search(objective, x, value, grad, direction) -> jax.Array:
    """The first ``t = 2^-i`` meeting Armijo's condition (or rounding), else the best
    decreasing trial, else 0; all trials are evaluated at once (vmap, no loop)."""
    ts = 0.5 ** jnp.arange(_LINE_SEARCH_TRIALS, dtype=x.dtype)
    values = jax.vmap(lambda t: objective(x + t * direction))(ts)
    values = jnp.where(jnp.isnan(values), jnp.inf, values)
    slope = jnp.dot(grad, direction)
    tolerance = 4 * jnp.finfo(x.dtype).eps * jnp.abs(value)
    accept = (values <= value + _ARMIJO * ts * slope) | (values <= value + tolerance)
    best = jnp.argmin(values)
    first = jnp.argmax(accept)
    t = jnp.where(accept.any(), ts[first], jnp.where(values[best] < value, ts[best], 0.0))
    return t.astype(x.dtype)


def _cholesky_solve(a: jax.Array, b: jax.Array, floor: jax.Array | float = 0.0) -> jax.Array:
    """``a^{-1} b`` for a symmetric positive definite ``a``, by Cholesky, in plain XLA ops.

    A pivot within ``floor`` of zero is raised to ``floor`` (a modified Cholesky: ``a``
    plus a diagonal correction only where it is singular to rounding, Nocedal & Wright,
    section 3.4), so a positive semi-definite ``a`` gives a finite solution; a pivot
    below ``-floor`` (``a`` clearly indefinite) gives NaN, which the divergence guard then
    catches. With ``floor = 0``, plain Cholesky.

    Not ``jax.scipy.linalg.cho_solve``: jaxlib's batched LAPACK kernels split a batch over
    the host's thread pool and wait for it, which deadlocks when every pool thread is one
    CPU device running such a kernel (seen with two CPU devices on two cores, vmapped
    over sweep rows). ``n`` sequential steps of ``O(n^2)`` work each.
    """
    n = a.shape[-1]
    index = jnp.arange(n)
    floor = jnp.asarray(floor, a.dtype)

    def column(j, low):
        rest = a[:, j] - low @ low[j]  # low's columns >= j are still zero
        pivot = jnp.where(jnp.abs(rest[j]) <= floor, floor, rest[j])
        root = jnp.sqrt(pivot)
        new = jnp.where(index == j, root, rest / root)
        return low.at[:, j].set(jnp.where(index >= j, new, 0.0))

    low = jax.lax.fori_loop(0, n, column, jnp.zeros_like(a))

    def forward(i, z):
        return z.at[i].set((b[i] - low[i] @ z) / low[i, i])

    def backward(k, x):
        i = n - 1 - k
        return x.at[i].set((z[i] - low[:, i] @ x) / low[i, i])

    z = jax.lax.fori_loop(0, n, forward, jnp.zeros_like(b))
    return jax.lax.fori_loop(0, n, backward, jnp.zeros_like(b))


def _scaling(hp: Any) -> optax.GradientTransformation:
    """The optimizer's own transformation, between coupled weight decay and the rate."""
    name = hp.optimizer
    if name == "sgd":
        return optax.identity()
    if name in ("momentum", "nesterov"):
        return optax.trace(decay=hp.momentum, nesterov=name == "nesterov")
    if name == "adam":
        return optax.scale_by_adam(hp.b1, hp.b2, hp.eps)
    if name == "rmsprop":
        return optax.scale_by_rms(decay=hp.decay, eps=hp.eps)
    return optax.scale_by_rss(initial_accumulator_value=_ADAGRAD_INITIAL_ACCUMULATOR, eps=hp.eps)


def _cosine(x: jax.Array, end_factor: Any) -> jax.Array:
    """``end_factor + (1 - end_factor) * 0.5 * (1 + cos(pi x))``: 1 at x=0, end_factor at 1."""
    return end_factor + (1 - end_factor) * 0.5 * (1 + jnp.cos(jnp.pi * x))


def _warmup_cosine(t: jax.Array, steps: Any, warmup: Any, end_factor: Any) -> jax.Array:
    """Linear 0 -> 1 over ``warmup`` steps, then cosine 1 -> end_factor until ``steps``."""
    warmup = jnp.asarray(warmup, t.dtype)
    span = steps - warmup
    # Safe denominators: jnp.where evaluates both branches, and a 0/0 there would put a
    # NaN into the gradient with respect to warmup_steps even where it is not selected.
    safe_warmup = jnp.where(warmup > 0, warmup, 1.0)
    safe_span = jnp.where(span > 0, span, 1.0)
    rising = t / safe_warmup
    progress = jnp.where(span > 0, jnp.clip((t - warmup) / safe_span, 0.0, 1.0), 1.0)
    return jnp.where(t < warmup, rising, _cosine(progress, end_factor))


def _keep_dtypes(inner: optax.GradientTransformation) -> optax.GradientTransformationExtraArgs:
    """Casts updates to the gradients' dtypes and the state to the previous state's.

    Without it, float64 hyperparameter leaves (``jax_enable_x64``) promote a float32
    model's moments to float64, and a ``lax.scan`` carrying the state fails to trace.
    """

    inner = optax.with_extra_args_support(inner)

    def update(updates: Any, state: Any, params: Any = None, **extra: Any) -> tuple[Any, Any]:
        new_updates, new_state = inner.update(updates, state, params, **extra)
        return optax.tree.cast_like(new_updates, updates), optax.tree.cast_like(new_state, state)

    return optax.GradientTransformationExtraArgs(inner.init, update)


def _require(hp: Any, fields: tuple[str, ...], user: str) -> None:
    missing = [f for f in fields if not hasattr(hp, f)]
    if missing:
        raise TypeError(
            f"{user} needs hyperparameter field(s) {missing}, which {type(hp).__name__} "
            "lacks. Subclass jaxfit.Hyperparams (decorated with @jaxfit.hyperparams) to "
            "get every standard field with its default, or add the fields yourself."
        )


def _check_name(field: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"hp.{field}={value!r} is not supported; allowed are {list(allowed)}.")


def _check_steps(hp: Any) -> None:
    steps = hp.steps
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(
            f"hp.steps={steps!r:.80} ({type(steps).__name__}) must be a Python int declared "
            "with jaxfit.static(...): the schedule's length is part of the program."
        )
    if steps < 1:
        raise ValueError(f"hp.steps={steps!r} must be a positive integer (>= 1).")


def with_eval_params(
    optimizer: Callable[[Any], optax.GradientTransformation] | None,
    eval_params: Callable[[Any, Any, Any], Any],
) -> Callable[[Any], optax.GradientTransformation]:
    """An optimizer factory that declares the parameters to evaluate at.

    Some optimizers train at one point and should be evaluated at another: schedule-free
    methods (``optax.contrib.schedule_free_eval_params``), Polyak / EMA averages kept in
    the optimizer state, Lookahead's slow weights. ``eval_params(params, opt_state, hp)``
    maps the training parameters and the optimizer state to the parameters that the
    validation curve, the final metrics and the returned parameters use. Training itself
    continues from the training parameters; :func:`jaxfit.fit` with
    ``keep_opt_state=True`` returns the final optimizer state too.

    Pass the result as ``optimizer=`` to :func:`jaxfit.fit` or :func:`jaxfit.sweep`.
    An optimizer factory may also declare the transform itself, as an attribute
    ``eval_params`` of the factory function.

    Args:
      optimizer: ``hp -> optax.GradientTransformation`` (``None``:
        :func:`jaxfit.make_optimizer`).
      eval_params: ``(params, opt_state, hp) -> params`` of the same structure, traceable.

    Returns:
      The factory (equal arguments return the same function, so compiled programs are
      reused).

    Raises:
      TypeError: when either argument is not callable.

    Examples:
      >>> import jax, jax.numpy as jnp, optax, jaxfit
      >>> def schedule_free(hp):
      ...     return optax.contrib.schedule_free_adamw(hp.learning_rate)
      >>> opt = jaxfit.with_eval_params(
      ...     schedule_free,
      ...     lambda params, state, hp: optax.contrib.schedule_free_eval_params(state, params))
      >>> x = jnp.linspace(-1, 1, 32); y = 2 * x + 1
      >>> hp = jaxfit.Hyperparams(learning_rate=0.1, steps=200)
      >>> r = jaxfit.fit(jaxfit.linear(), "mse", (x, y), hp, key=jax.random.key(0),
      ...                optimizer=opt, keep_opt_state=True)
      >>> round(float(r.params["w"][0, 0]), 1), type(r.opt_state).__name__
      (2.0, 'ScheduleFreeState')
    """
    if optimizer is None:
        optimizer = make_optimizer
    for name, fn in (("optimizer", optimizer), ("eval_params", eval_params)):
        if not callable(fn):
            raise TypeError(f"with_eval_params: {name}={fn!r:.80} must be callable.")
    return _with_eval_params(optimizer, eval_params)


@functools.cache
def _with_eval_params(optimizer: Callable, eval_params: Callable) -> Callable:
    def factory(hp: Any) -> optax.GradientTransformation:
        return optimizer(hp)

    factory.eval_params = eval_params  # type: ignore[attr-defined]
    factory.__name__ = factory.__qualname__ = getattr(optimizer, "__name__", "optimizer")
    return factory


def eval_params_of(optimizer: Any) -> Callable[[Any, Any, Any], Any] | None:
    """The evaluation transform an optimizer factory declares (its ``eval_params``), if any."""
    fn = getattr(optimizer, "eval_params", None)
    if fn is not None and not callable(fn):
        raise TypeError(
            f"the optimizer factory's eval_params={fn!r:.80} must be a callable "
            "(params, opt_state, hp) -> params."
        )
    return fn
