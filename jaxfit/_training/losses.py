"""Losses and metrics: each is a ``Metric``, a weighted mean over examples of ``(pred, y)``.

A loss or metric returns one value per example; jaxfit applies the sample weights, the
cross-validation fold masks and the padding of the last minibatch itself, so no loss can
train on a held-out fold by forgetting a weight.

Examples:
  >>> import jax.numpy as jnp, jaxfit
  >>> pred, y = jnp.array([[1.0], [3.0]]), jnp.array([0.0, 1.0])
  >>> [float(m(pred, y)) for m in (jaxfit.mse, jaxfit.mae, jaxfit.huber)]
  [2.5, 1.5, 1.0]
  >>> float(jaxfit.mse(pred, y, weight=jnp.array([1, 0])))  # weight 0 drops an example
  1.0
  >>> float(jaxfit.r2(jnp.array([[1.0], [2.0], [4.0]]), jnp.array([1.0, 2.0, 3.0])))
  0.5
  >>> logits, labels = jnp.array([[2.0], [-1.0]]), jnp.array([1, 1])  # binary
  >>> [round(float(m(logits, labels)), 4) for m in (jaxfit.binary_cross_entropy, jaxfit.accuracy)]
  [0.7201, 0.5]
  >>> logits, labels = jnp.array([[0.0, 1.0], [3.0, 1.0]]), jnp.array([1, 0])  # 2 classes
  >>> [round(float(m(logits, labels)), 4) for m in (jaxfit.softmax_cross_entropy, jaxfit.accuracy)]
  [0.2201, 1.0]
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.core import Tracer

__all__ = [
    "Metric",
    "accuracy",
    "as_class_labels",
    "binary_cross_entropy",
    "check_metric_output",
    "check_targets",
    "get_metric",
    "huber",
    "huber_loss",
    "mae",
    "mse",
    "r2",
    "softmax_cross_entropy",
]

_TARGETS = ("real", "binary", "class")


@dataclasses.dataclass(frozen=True)
class Metric:
    """A named loss or score of predictions against targets; hashable, static metadata.

    ``pred`` is a model's output ``(n, k)``, ``y`` the targets ``(n,)`` or ``(n, k)``,
    ``weight`` non-negative sample weights ``(n,)``. By default (``per_sample=True``)
    ``fn(pred, y)`` returns one value per example, shape ``(n,)`` (or ``(n, k)``, averaged
    over the ``k`` outputs), and the metric is their weighted mean ``sum(w * l) / sum(w)``
    (NaN if ``sum(w) == 0``), computed by jaxfit: weight 0 adds exactly 0, even to an inf
    or NaN value, so the weights express cross-validation folds and padded minibatches
    exactly, whatever ``fn`` does. A metric that does not decompose over examples (R², a
    maximum) sets ``per_sample=False``: ``fn(pred, y, weight)`` returns the scalar itself,
    and an example of weight 0 must have no influence on it, which jaxfit checks on a few
    rows of the data before compiling. With ``reads_hp=True``, ``fn`` also receives the
    run's hyperparameters as its last argument (``fn(pred, y, hp)``): a swept numeric field
    (a quantile, a loss weight) is then a traced value, one compiled program for all its
    values. Metrics compare by value (``fn`` by identity): pass them to ``jit`` as static
    arguments.

    Attributes:
      name: a short name, used in results and by :func:`jaxfit.get_metric`.
      fn: a pure, jittable function: ``(pred, y) -> (n,)`` values per example, or
        ``(pred, y, weight) -> scalar`` when ``per_sample=False``.
      target: the ``y`` it expects, checked by :func:`jaxfit.check_targets`: ``"real"``
        (regression), ``"binary"`` (labels 0/1), ``"class"`` (integer labels) or ``None``.
      greater_is_better: ``False`` for losses, ``True`` for scores such as accuracy.
      per_sample: whether ``fn`` returns per-example values (jaxfit weights and averages
        them) rather than the weighted scalar.
      reads_hp: whether ``fn`` takes the hyperparameters as its last argument.

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> def squared_log_error(pred, y):  # one value per example
      ...     return (jnp.log1p(pred[:, 0]) - jnp.log1p(y)) ** 2
      >>> metric = jaxfit.Metric("msle", squared_log_error, target="real")
      >>> pred, y = jnp.array([[0.0], [3.0]]), jnp.array([0.0, 1.0])
      >>> round(float(metric(pred, y)), 4), round(float(metric(pred, y, jnp.array([1, 0]))), 4)
      (0.2402, 0.0)
      >>> def max_error(pred, y, weight):  # not a mean: it masks weight-0 examples itself
      ...     return jnp.max(jnp.where(weight > 0, jnp.abs(pred[:, 0] - y), 0.0))
      >>> metric = jaxfit.Metric("max_error", max_error, target="real", per_sample=False)
      >>> float(metric(jnp.array([[1.0], [3.0]]), jnp.array([0.0, 0.0])))
      3.0
      >>> def pinball(pred, y, hp):  # reads a swept quantile: no compile per value
      ...     e = y - pred[:, 0]
      ...     return jnp.maximum(hp.tau * e, (hp.tau - 1) * e)
      >>> @jaxfit.hyperparams
      ... class Quantile:
      ...     steps: int = jaxfit.static(100)
      ...     tau: float = jaxfit.numeric(0.9)
      >>> metric = jaxfit.Metric("pinball", pinball, reads_hp=True)
      >>> float(metric(jnp.array([[0.0], [0.0]]), jnp.array([1.0, -1.0]), hp=Quantile()))
      0.5
    """

    name: str
    fn: Callable[..., jax.Array]
    target: Literal["real", "binary", "class"] | None = None
    greater_is_better: bool = False
    per_sample: bool = True
    reads_hp: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Metric.name must be a non-empty str; got {self.name!r}.")
        if not callable(self.fn):
            raise TypeError(f"Metric.fn must be callable (pred, y); got {self.fn!r:.80}.")
        if self.target is not None and self.target not in _TARGETS:
            raise ValueError(f"Metric.target={self.target!r}; allowed: {_TARGETS} or None.")
        if not isinstance(self.greater_is_better, bool):
            raise TypeError(f"Metric.greater_is_better={self.greater_is_better!r}; need a bool.")
        if not isinstance(self.per_sample, bool):
            raise TypeError(f"Metric.per_sample={self.per_sample!r}; need a bool.")
        if not isinstance(self.reads_hp, bool):
            raise TypeError(f"Metric.reads_hp={self.reads_hp!r}; need a bool.")
        _check_signature(self.fn, self.name, self.per_sample, self.reads_hp)

    def __call__(self, pred: Any, y: Any, weight: Any = None, *, hp: Any = None) -> jax.Array:
        """Returns the scalar metric of ``pred`` against ``y``; ``weight=None`` means ones.

        ``hp`` (the hyperparameters) is required when the metric ``reads_hp``, else ignored.
        """
        pred, y = jnp.asarray(pred), jnp.asarray(y)
        weight = jnp.ones(y.shape[:1]) if weight is None else jnp.asarray(weight)
        extra = ()
        if self.reads_hp:
            if hp is None:
                raise TypeError(
                    f"metric {self.name!r} reads the hyperparameters (reads_hp=True): call it "
                    "with hp=<the setting>."
                )
            extra = (hp,)
        if not self.per_sample:
            return self.fn(pred, y, weight, *extra)
        values = jnp.asarray(self.fn(pred, y, *extra))
        _check_values(self, values.shape, pred.shape, y.shape)
        if values.ndim == 2:
            values = jnp.mean(values.astype(jnp.promote_types(values.dtype, jnp.float32)), axis=1)
        return _weighted_mean(values, weight)


def _check_signature(fn: Callable[..., Any], name: str, per_sample: bool, reads_hp: bool) -> None:
    """Refuses, eagerly, a ``fn`` that cannot take the arguments of its form."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins and some C callables have none: trust them
        return
    args = ("pred", "y") if per_sample else ("pred", "y", "weight")
    args += ("hp",) if reads_hp else ()
    if _binds(sig, args):
        return
    if per_sample and not reads_hp and _binds(sig, ("pred", "y", "weight")):
        raise TypeError(_three_arguments(name))
    form = f"({', '.join(args)}) -> " + ("values (n,)" if per_sample else "scalar")
    raise TypeError(f"metric {name!r}: fn must take {form}; its signature is {sig}.")


def _takes_hp(fn: Callable[..., Any]) -> bool:
    """Whether a plain callable's third positional parameter is named ``hp``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 3 and positional[2].name == "hp"


def _binds(sig: inspect.Signature, args: tuple) -> bool:
    try:
        sig.bind(*args)
    except TypeError:
        return False
    return True


def _three_arguments(name: str) -> str:
    return (
        f"loss/metric {name!r} takes (pred, y, weight), but a custom loss or metric takes "
        "(pred, y) and returns one value per example: jaxfit applies the sample weights, the "
        "cross-validation fold masks and the minibatch padding itself (a loss that averages "
        "without them trains on the held-out fold). Write it as, e.g.,\n"
        "    def my_loss(pred, y):\n"
        "        return (pred[:, 0] - y) ** 2   # shape (n,): no mean, no weight\n"
        "For a metric that does not decompose over examples, wrap it as "
        "jaxfit.Metric(name, fn, per_sample=False), where fn(pred, y, weight) -> scalar gives "
        "examples of weight 0 no influence. (If the third argument is the hyperparameters, "
        "name it hp: fn(pred, y, hp).)"
    )


def _check_values(metric: Metric, shape: tuple, pred: tuple, y: tuple) -> None:
    """Checks the shape of a per-sample ``fn``'s output: ``(n,)`` or ``(n, k)``."""
    n = y[0] if y else None
    widths = {d[1] for d in (pred, y) if len(d) == 2}
    if len(shape) == 1 and shape[0] == n:
        return
    if len(shape) == 2 and shape[0] == n and (shape[1] in widths):
        return
    example = "(pred[:, 0] - y) ** 2" if len(pred) == 2 and pred[1] == 1 else "(pred - y) ** 2"
    if shape == ():
        why = (
            "a scalar: it reduces over the examples itself, so sample weights, "
            "cross-validation fold masks and minibatch padding cannot apply (it would train "
            "on the held-out fold)"
        )
    elif len(shape) == 2 and shape[:1] == (n,) and len(y) == 1 and len(pred) == 2:
        why = f"shape {shape}: pred {pred} and y {y} broadcast against each other"
    else:
        why = f"shape {shape}"
    raise ValueError(
        f"loss/metric {metric.name!r} must return one value per example, shape ({n},) (or "
        f"({n}, k) for k outputs), given pred {pred} and y {y}; it returned {why}. Return "
        f"the per-example values without averaging, e.g. `return {example}`; jaxfit takes "
        "the weighted mean. For a metric that does not decompose over examples, use "
        "jaxfit.Metric(name, fn, per_sample=False) with fn(pred, y, weight) -> scalar."
    )


def check_metric_output(
    metric: Metric, pred: Any, y: Any, *, hp: Any = None, arg: str = "data y"
) -> None:
    """Checks, before compiling, that ``metric`` returns what its form promises.

    A per-sample metric must return ``(n,)`` or ``(n, k)`` values (shapes only, with
    ``jax.eval_shape``). A ``per_sample=False`` metric must return a scalar and, on a few
    concrete rows of ``y``, give examples of weight 0 no influence (they are perturbed and
    the value must not move), so a metric that ignores its weights cannot leak a held-out
    fold into a score. Built-in metrics are trusted.

    Args:
      metric: the metric.
      pred: the model's prediction, or its ``jax.ShapeDtypeStruct``.
      y: the targets (concrete, or a tracer: then only shapes are checked).
      hp: one setting's hyperparameters, for a metric that ``reads_hp``.
      arg: the targets' name in error messages.

    Returns:
      ``None``; the function only raises.

    Raises:
      ValueError: for a wrong output shape, or a metric moved by weight-0 examples.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> pred = jax.ShapeDtypeStruct((4, 1), jnp.float32)
      >>> leaky = jaxfit.Metric("leaky", lambda pred, y: jnp.mean((pred[:, 0] - y) ** 2))
      >>> jaxfit.check_metric_output(leaky, pred, jnp.zeros(4))  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: loss/metric 'leaky' must return one value per example, shape (4,) ...
    """
    if metric in _BUILT_IN:
        return
    y_aval = jax.ShapeDtypeStruct(jnp.shape(y), jnp.result_type(y))
    pred_aval = jax.ShapeDtypeStruct(tuple(pred.shape), pred.dtype)
    if metric.reads_hp and hp is None:
        raise TypeError(f"check_metric_output: metric {metric.name!r} reads_hp; pass hp=.")
    extra = (hp,) if metric.reads_hp else ()
    if metric.per_sample:
        out = jax.eval_shape(metric.fn, pred_aval, y_aval, *extra)
        _check_values(metric, tuple(getattr(out, "shape", ())), pred_aval.shape, y_aval.shape)
        return
    w_aval = jax.ShapeDtypeStruct(y_aval.shape[:1], jnp.float32)
    out = jax.eval_shape(metric.fn, pred_aval, y_aval, w_aval, *extra)
    if tuple(getattr(out, "shape", (None,))) != ():
        raise ValueError(
            f"metric {metric.name!r} (per_sample=False) must return a scalar; it returned "
            f"{getattr(out, 'shape', type(out).__name__)}."
        )
    if not isinstance(y, Tracer) and y_aval.shape[0] >= 2:
        _check_ignores_zero_weights(metric, pred_aval, np.asarray(y), arg, extra)


def _check_ignores_zero_weights(
    metric: Metric, pred: Any, y: np.ndarray, arg: str, extra: tuple
) -> None:
    m = min(y.shape[0], 16)
    y = y[:m]
    rng = np.random.default_rng(0)
    p = rng.normal(size=(m, *pred.shape[1:])).astype(pred.dtype)
    weight = (np.arange(m) % 2 == 0).astype(np.float32)
    dropped = weight == 0
    p2 = np.where(dropped.reshape((m,) + (1,) * (p.ndim - 1)), 3.0 - 4.0 * p, p).astype(p.dtype)
    y2 = y.copy()
    y2[dropped] = y[0]
    with jax.ensure_compile_time_eval():
        a = np.asarray(metric.fn(jnp.asarray(p), jnp.asarray(y), jnp.asarray(weight), *extra))
        b = np.asarray(metric.fn(jnp.asarray(p2), jnp.asarray(y2), jnp.asarray(weight), *extra))
    if not np.allclose(a, b, rtol=1e-5, atol=1e-7, equal_nan=True):
        raise ValueError(
            f"metric {metric.name!r} (per_sample=False) changes when examples of weight 0 "
            f"change ({float(a):.6g} vs {float(b):.6g} on {m} rows of {arg}): it ignores its "
            "weights, so it would score held-out folds and padded rows. Mask with the "
            "weights (e.g. jnp.where(weight > 0, ..., 0)), or return per-example values "
            "with per_sample=True and let jaxfit weight them."
        )


def _weighted_sum(values: jax.Array, weight: jax.Array, *, keepdims: bool = False) -> jax.Array:
    """``sum_i w_i * values_i`` over axis 0, in at least float32."""
    if weight.shape != values.shape[:1]:
        raise ValueError(f"weight must have shape {values.shape[:1]}; got {weight.shape}.")
    # At least float32: bf16 sums of weights stop being exact at 256.
    values = values.astype(jnp.promote_types(values.dtype, jnp.float32))
    w = weight.astype(values.dtype).reshape(weight.shape + (1,) * (values.ndim - 1))
    # where, not w * values alone: 0 * inf = NaN would leak padded rows into the sum.
    return jnp.sum(jnp.where(w != 0, w * values, 0), axis=0, keepdims=keepdims)


def _weighted_mean(values: jax.Array, weight: jax.Array, *, keepdims: bool = False) -> jax.Array:
    total = _weighted_sum(values, weight, keepdims=keepdims)
    return total / jnp.sum(weight.astype(total.dtype))


def _shape_error(needs: str, pred: jax.Array, y: jax.Array) -> ValueError:
    return ValueError(f"{needs}; got pred {pred.shape} and y {y.shape}.")


def _regression_pair(pred: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    if y.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if pred.shape != y.shape or y.ndim not in (1, 2):
        raise _shape_error("regression needs y (n,) and pred (n, 1), or both (n, k)", pred, y)
    return pred, y


def _pointwise(elementwise: Callable, pred: jax.Array, y: jax.Array) -> jax.Array:
    """``elementwise(pred - y)`` per example (and output)."""
    pred, y = _regression_pair(pred, y)
    return elementwise(pred - y)


def _binary_logits(pred: jax.Array, y: jax.Array) -> jax.Array:
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if pred.ndim != 1 or y.shape != pred.shape:
        raise _shape_error("a binary metric needs logits pred (n, 1) or (n,), y (n,)", pred, y)
    return pred


def huber_loss(delta: float) -> Metric:
    """The Huber loss: quadratic for errors up to ``delta``, linear beyond.

    Per element, with ``e = pred - y``: ``0.5 * e**2`` if ``|e| <= delta``, else
    ``delta * (|e| - 0.5 * delta)`` (``optax.huber_loss``); averaged over outputs, then
    weighted over examples. ``delta`` is static, so each value compiles its own program;
    equal deltas return the same ``Metric``, and ``huber_loss(1.0) is jaxfit.huber``.

    Args:
      delta: the threshold, a finite float ``> 0`` (else ``TypeError``/``ValueError``).

    Returns:
      A ``Metric`` with target ``"real"``.

    References:
      Huber (1964), Robust Estimation of a Location Parameter, Ann. Math. Statist. 35(1).

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> loss = jaxfit.huber_loss(2.0)
      >>> float(loss(jnp.array([[1.0], [5.0]]), jnp.array([0.0, 0.0])))  # (0.5 + 8) / 2
      4.25
      >>> loss is jaxfit.huber_loss(2)
      True
    """
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise TypeError(f"huber_loss: delta must be a Python float; got {delta!r:.80}.")
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"huber_loss: delta must be finite and > 0; got {delta!r}.")
    return _huber_metric(float(delta))


@functools.cache
def _huber_metric(delta: float) -> Metric:
    fn = functools.partial(_pointwise, functools.partial(optax.huber_loss, delta=delta))
    return Metric("huber" if delta == 1.0 else f"huber(delta={delta!r})", fn, "real")


def _binary_cross_entropy(pred: jax.Array, y: jax.Array) -> jax.Array:
    return optax.sigmoid_binary_cross_entropy(_binary_logits(pred, y), y)


def _softmax_cross_entropy(pred: jax.Array, y: jax.Array) -> jax.Array:
    if pred.ndim != 2 or y.shape != pred.shape[:1]:
        raise _shape_error("softmax_cross_entropy needs logits pred (n, k), y (n,)", pred, y)
    if not jnp.issubdtype(y.dtype, jnp.integer):
        raise TypeError(f"softmax_cross_entropy needs integer labels y; got dtype {y.dtype}.")
    return optax.softmax_cross_entropy_with_integer_labels(pred, y)


def _accuracy(pred: jax.Array, y: jax.Array) -> jax.Array:
    if pred.ndim == 2 and pred.shape[1] > 1:
        if y.shape != pred.shape[:1]:
            raise _shape_error("accuracy needs logits pred (n, k), y (n,)", pred, y)
        label = jnp.argmax(pred, axis=1)
    else:
        label = _binary_logits(pred, y) > 0
    return label.astype(y.dtype) == y


def _r2(pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    pred, y = _regression_pair(pred, y)
    y = y.astype(jnp.promote_types(y.dtype, jnp.float32))
    # Weighted means rather than sums (same ratio): sum(w) == 0 then gives NaN, not 1.0.
    residual = _weighted_mean(jnp.square(y - pred), weight)
    total = _weighted_mean(jnp.square(y - _weighted_mean(y, weight, keepdims=True)), weight)
    # Rounding in the mean leaves a constant y a variance ~(eps * y)**2, not exactly 0.
    noise = (8 * jnp.finfo(total.dtype).eps) ** 2 * _weighted_mean(jnp.square(y), weight)
    constant = total <= noise
    score = 1 - residual / jnp.where(constant, 1, total)
    return jnp.mean(jnp.where(constant, jnp.where(residual == 0, 1.0, 0.0), score))


mse = Metric("mse", functools.partial(_pointwise, jnp.square), "real")
"""Mean squared error ``sum_i w_i * mean_j (pred_ij - y_ij)**2 / sum_i w_i``."""
mae = Metric("mae", functools.partial(_pointwise, jnp.abs), "real")
"""Mean absolute error ``sum_i w_i * mean_j |pred_ij - y_ij| / sum_i w_i``."""
huber = _huber_metric(1.0)
"""The Huber loss with ``delta=1.0``; see :func:`jaxfit.huber_loss`."""
binary_cross_entropy = Metric("binary_cross_entropy", _binary_cross_entropy, "binary")
"""Binary cross-entropy of labels ``y`` (n,) in {0, 1} given logits ``pred`` (n, 1).

Per example ``-y * log(sigmoid(pred)) - (1 - y) * log(sigmoid(-pred))``, computed
stably from the logits (``optax.sigmoid_binary_cross_entropy``).
"""
softmax_cross_entropy = Metric("softmax_cross_entropy", _softmax_cross_entropy, "class")
"""Softmax cross-entropy of integer labels ``y`` (n,) in ``[0, k)`` given logits (n, k).

Per example ``logsumexp(pred_i) - pred_i[y_i]``
(``optax.softmax_cross_entropy_with_integer_labels``). Out-of-range labels give
meaningless values under ``jit``: check them first with :func:`jaxfit.check_targets`.
"""
accuracy = Metric("accuracy", _accuracy, None, greater_is_better=True)
"""Weighted fraction of correct labels, from binary or multi-class logits.

The predicted label is ``pred > 0`` for one logit per example (``pred`` (n, 1) or
(n,)) and ``argmax(pred)`` for ``k > 1`` logits. ``y`` (n,) holds integer or float
labels (0/1 for binary).
"""
r2 = Metric("r2", _r2, "real", greater_is_better=True, per_sample=False)
"""Weighted coefficient of determination ``1 - SS_res / SS_tot``, averaged over outputs.

Per output ``SS_res = sum w (y - pred)**2`` and ``SS_tot = sum w (y - ybar)**2``, with
``ybar`` the weighted mean of ``y``. Like ``sklearn.metrics.r2_score`` (defaults), a
constant output (variance at rounding level) scores 1.0 if predicted exactly, else 0.0.
"""

METRICS = {
    m.name: m for m in (mse, mae, huber, binary_cross_entropy, softmax_cross_entropy, accuracy, r2)
}
_BUILT_IN = set(METRICS.values())  # trusted: check_metric_output skips them


_REGISTERED: dict[str, Metric] = {}  # scikit-learn's scores (scores.py), by name


def register_metric(metric: Metric, *, named: bool = True) -> Metric:
    """Registers one of jaxfit's own metrics (``scores.py``'s): trusted, and by name if ``named``.

    Not for users: a user's metric is checked by :func:`check_metric_output` instead.
    """
    if named:
        if metric.name in METRICS or _REGISTERED.get(metric.name, metric) is not metric:
            raise ValueError(f"a metric named {metric.name!r} is already registered.")
        _REGISTERED[metric.name] = metric
    _BUILT_IN.add(metric)
    return metric


def get_metric(spec: str | Metric | Callable[..., Any]) -> Metric:
    """Resolves a metric name, a ``Metric`` or a plain callable to a ``Metric``.

    A callable ``(pred, y) -> values`` returning one value per example, shape ``(n,)``
    (or ``(n, k)``, averaged over outputs), becomes a loss (target ``None``,
    ``greater_is_better=False``) named by its ``__name__``; jaxfit takes the weighted mean
    (see :class:`jaxfit.Metric`). A callable ``(pred, y, hp)`` (third parameter named
    ``hp``) also reads the hyperparameters (``reads_hp=True``); one ``(pred, y, weight)``
    is refused with the form to write instead. The same callable always gives the same
    ``Metric`` object, so it never causes recompilation.

    Args:
      spec: ``"mse"``, ``"mae"``, ``"huber"``, ``"binary_cross_entropy"``,
        ``"softmax_cross_entropy"``, ``"accuracy"`` or ``"r2"``; a ``Metric``; or a
        hashable callable ``(pred, y) -> values (n,)``.

    Returns:
      The ``Metric``; raises ``ValueError`` for an unknown name, ``TypeError`` otherwise.

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> jaxfit.get_metric("mse") is jaxfit.mse
      True
      >>> def abs_error(pred, y):
      ...     return jnp.abs(pred[:, 0] - y)
      >>> metric = jaxfit.get_metric(abs_error)
      >>> metric.name, metric is jaxfit.get_metric(abs_error)
      ('abs_error', True)
      >>> float(metric(jnp.array([[1.0], [5.0]]), jnp.array([0.0, 0.0]), jnp.array([1, 0])))
      1.0
    """
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        if spec in _REGISTERED:
            return _REGISTERED[spec]
        if spec not in METRICS:
            raise ValueError(
                f"unknown metric {spec!r}; allowed names are {sorted(METRICS)} and "
                f"scikit-learn's scores ({', '.join(sorted(_REGISTERED)[:4])}, ...: "
                f"{len(_REGISTERED)} names), or pass a jaxfit.Metric or a callable "
                "(pred, y) -> values per example."
            )
        return METRICS[spec]
    if callable(spec):
        try:
            hash(spec)
        except TypeError:  # functools.cache cannot key on an unhashable callable
            raise TypeError(f"get_metric: a callable must be hashable; got {spec!r:.80}.") from None
        return _wrap_callable(spec)
    raise TypeError(
        "get_metric expects a metric name, a jaxfit.Metric or a callable (pred, y) -> values "
        f"per example; got {spec!r:.80} of type {type(spec).__name__}."
    )


@functools.cache
def _wrap_callable(fn: Callable[..., Any]) -> Metric:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return Metric(name, fn, reads_hp=_takes_hp(fn))


def as_class_labels(y: Any) -> Any:
    """Whole-number float labels (``0., 1., 2.``) as int32, exactly; anything else unchanged.

    Classification losses need integer labels, and ``np.loadtxt`` or pandas give floats.
    Only concrete floats whose every value is a whole number below ``2**31`` are converted;
    others are left for :func:`check_targets` to refuse with its message.
    """
    if isinstance(y, Tracer) or not jnp.issubdtype(y.dtype, jnp.floating):
        return y
    host = np.asarray(y)
    whole = np.all(np.isfinite(host) & (host == np.round(host)) & (np.abs(host) < 2**31))
    return jnp.asarray(host.astype(np.int32)) if whole else y


def check_targets(
    metric: str | Metric | Callable[..., Any],
    y: Any,
    *,
    arg: str = "y",
    n_outputs: int | None = None,
    model: str | None = None,
) -> None:
    """Checks, eagerly on the host, that the targets ``y`` suit ``metric``.

    Under ``jit`` wrong labels silently give wrong losses, so call it on the data first.
    Target ``"real"`` needs finite floats of shape (n,) or (n, k); ``"binary"`` values 0
    and 1 of shape (n,); ``"class"`` integer labels of shape (n,) in ``[0, n_outputs)``;
    ``None`` is not checked. For a JAX tracer only the dtype and rank are checked.

    Args:
      metric: the metric, or anything :func:`jaxfit.get_metric` accepts.
      y: the targets (a numpy or JAX array, or a nested list).
      arg: the argument's name in error messages.
      n_outputs: the model's output width ``k`` (``pred`` is ``(n, k)``), if known: the
        number of classes, 1 for binary, the number of targets for regression.
      model: the model's name (``Model.name``), if known: errors then name the built-in
        model to use instead, e.g. ``jaxfit.mlp(10)``.

    Returns:
      ``None``; the function only raises.

    Raises:
      TypeError: for a wrong dtype; ValueError for a wrong rank, values or ``n_outputs``.

    Examples:
      >>> import numpy as np, jaxfit
      >>> jaxfit.check_targets("softmax_cross_entropy", np.array([0, 2, 1]), n_outputs=3)
      >>> jaxfit.check_targets("mse", np.array([1, 2, 3]))  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      TypeError: y has dtype int64: integer labels for a regression loss ('mse'); cast to ...
      >>> y = np.arange(10)  # ten classes
      >>> jaxfit.check_targets("softmax_cross_entropy", y, n_outputs=1, model="mlp")
      Traceback (most recent call last):
      ...
      ValueError: y takes 10 classes (0..9) but the model has 1 output: use jaxfit.mlp(10).
    """
    metric = get_metric(metric)
    if n_outputs is not None and (type(n_outputs) is not int or n_outputs < 1):
        raise ValueError(f"n_outputs must be an int >= 1 or None; got {n_outputs!r}.")
    name, target = metric.name, metric.target
    if target is None:
        return
    concrete = not isinstance(y, Tracer)
    y = np.asarray(y) if concrete else y
    kind, shape = np.dtype(y.dtype).kind, tuple(y.shape)
    if target == "real" and kind in "biu":
        raise TypeError(
            f"{arg} has dtype {y.dtype}: integer labels for a regression loss ({name!r}); cast "
            "to float if you really mean regression on integers, or use a classification loss."
        )
    if target == "class" and kind not in "iu":
        raise TypeError(f"{arg} must hold integer class labels for {name!r}; {_not_labels(y)}")
    if kind not in "biuf":
        raise TypeError(f"{arg} must be a real numeric array for {name!r}; got dtype {y.dtype}.")
    if len(shape) not in ((1, 2) if target == "real" else (1,)):
        hint = " (one-hot labels? pass y.argmax(axis=1))" if target == "class" else ""
        allowed = "(n,) or (n, k)" if target == "real" else "(n,)"
        raise ValueError(f"{arg} must have shape {allowed} for {name!r}; got {shape}{hint}.")
    k = shape[1] if len(shape) == 2 else 1
    has = f"the model has {_plural(n_outputs or 0, 'output')}"
    if target == "real" and n_outputs not in (None, k):
        raise ValueError(
            f"{name!r} needs n_outputs={k} for {arg} {shape} ({_plural(k, 'target column')}), "
            f"but {has}: use {_model_with(model, k, target)}."
        )
    if target == "binary" and n_outputs not in (None, 1):
        raise ValueError(
            f"{name!r} needs n_outputs=1 (one logit per example), but {has}: use "
            f"{_model_with(model, 1, target)}, or 'softmax_cross_entropy' with labels "
            f"0..{n_outputs - 1}."
        )
    if target == "class" and n_outputs == 1 and not (concrete and y.size):
        raise ValueError(
            f"{name!r} with n_outputs=1 is always 0: give the model one output per class, or "
            "use 'binary_cross_entropy' (labels 0/1, one logit)."
        )
    if not concrete:
        return
    if target == "real" and not np.all(np.isfinite(y)):
        raise ValueError(f"{arg} contains NaN or infinite values.")
    if target == "binary" and not np.all((y == 0) | (y == 1)):
        bad = np.unique(y[(y != 0) & (y != 1)])[:5].tolist()
        raise ValueError(
            f"{arg} must contain only 0 and 1 for {name!r}; got also {bad}. For more classes "
            "use 'softmax_cross_entropy' with labels 0..k-1."
        )
    if target == "class" and y.size and y.min() < 0:
        raise ValueError(f"{arg} has negative class label {y.min()}; labels must be >= 0.")
    if target == "class" and y.size and n_outputs and (n_outputs == 1 or y.max() >= n_outputs):
        raise ValueError(_class_width_error(name, y, arg, n_outputs, model))


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _not_labels(y: Any) -> str:
    """Why float (or other) targets are not class labels, and what to do."""
    if isinstance(y, Tracer) or np.dtype(y.dtype).kind != "f":
        return f"got dtype {y.dtype}. Cast with y.astype(int) if the values are whole numbers."
    fractional = y[np.isfinite(y) & (y != np.round(y))]
    if fractional.size:
        return (
            f"got dtype {y.dtype} with values that are not whole numbers, e.g. "
            f"{fractional[:3].tolist()}. Class labels are 0..k-1; for a real-valued target use "
            "a regression loss such as 'mse'."
        )
    return f"got dtype {y.dtype}. Cast with y.astype(int)."


def _model_with(model: str | None, k: int, target: str) -> str:
    """The built-in model with ``k`` outputs that replaces ``model`` for ``target``."""
    if model in ("mlp", "polynomial"):
        return f"jaxfit.{model}({k if k > 1 else ''})"
    if model in ("linear", "logistic", "softmax_regression"):
        if target == "class":
            return f"jaxfit.softmax_regression({k})"
        return "jaxfit.logistic()" if target == "binary" else f"jaxfit.linear({k if k > 1 else ''})"
    return f"a model with {_plural(k, 'output')}"


def _class_width_error(name: str, y: np.ndarray, arg: str, k: int, model: str | None) -> str:
    """The message for class labels that a model with ``k`` outputs cannot score."""
    labels = np.unique(y)
    c, top = labels.size, int(labels[-1])
    shown = labels[:6].tolist() + (["..."] if c > 6 else [])
    fix = _model_with(model, max(c, 2), "class")
    binary = ", or 'binary_cross_entropy' with one output" if c <= 2 else ""
    if top != c - 1:  # labels are not exactly 0..c-1
        also = f", and use {fix}" if c > k or k == 1 else ""
        return (
            f"{arg} holds {c} distinct labels {shown}, not 0..{c - 1}: {name!r} needs labels in "
            f"[0, {k}) for a model with {_plural(k, 'output')}. Encode them first, e.g. "
            f"`classes, y = np.unique(y, return_inverse=True)` (classes[y] maps back){also}."
        )
    return (
        f"{arg} takes {c} class{'' if c == 1 else 'es'} (0..{top}) but the model has "
        f"{_plural(k, 'output')}: use {fix}{binary}."
    )
