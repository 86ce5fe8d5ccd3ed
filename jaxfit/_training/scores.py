"""scikit-learn's scores as jaxfit metrics, computed inside the compiled program.

Each function here computes what a ``sklearn.metrics`` function computes on the rows of
positive weight, weighted as its ``sample_weight``: a cross-validation fold is a weight
mask inside the program, so a fold's score is the score of its test rows, as
scikit-learn's ``GridSearchCV`` computes it on the split. Classifier predictions are
logits, ``(n, 1)`` for a binary logistic model (``sigmoid``) or ``(n, k)`` (``softmax``);
labels are ``y`` codes ``0..k-1``, and the positive class of a binary score is code 1
(``classes_[1]``). Labels are ``argmax`` (or ``logit > 0``), probabilities the softmax
(or sigmoid), scores for ranking metrics the positive logit (``z`` for one logit,
``z1 - z0`` for two), as ``JaxfitClassifier`` predicts them.

Where scikit-learn returns a conventional value (``zero_division``, a constant target in
``explained_variance``, ``matthews_corrcoef`` of a constant prediction), the same value
is returned; where it warns with a placeholder or raises (a ROC AUC or log loss with a
class missing from the fold, an average precision without positives, a squared log error
of a target ``<= -1``, no rows of positive weight), the metric is NaN, never a plausible
number. Computation is float32.

Examples:
  >>> import jax.numpy as jnp, jaxfit
  >>> logits = jnp.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
  >>> y = jnp.array([0, 1, 1, 2])
  >>> round(float(jaxfit.get_metric("f1_macro")(logits, y)), 4)  # F1 per class: 2/3, 2/3, 0
  0.4444
  >>> float(jaxfit.get_metric("roc_auc")(jnp.array([[0.1], [0.4], [0.35], [0.8]]),
  ...                                    jnp.array([0, 0, 1, 1])))
  0.75
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import xlogy

from .losses import Metric, register_metric

__all__ = [
    "AVERAGES",
    "SCORE_METRICS",
    "ZERO_DIVISION",
    "balanced_accuracy_metric",
    "set_metric",
]

AVERAGES = ("binary", "macro", "micro", "weighted")
"""The ``average`` values of the set-wise scores (``"samples"`` is multilabel only)."""
ZERO_DIVISION = ("warn", 0.0, 1.0, "nan")
"""The ``zero_division`` values, as scikit-learn's (``"warn"`` gives 0.0, ``np.nan`` NaN)."""

_EPS64 = float(np.finfo(np.float64).eps)  # scikit-learn's eps of float64 predictions
_F = jnp.float32


# --- predictions as labels, probabilities and scores ----------------------------------------


def _width(pred: jax.Array) -> int:
    """The number of classes the logits stand for: 2 for one logit, else ``k``."""
    if pred.ndim == 1 or (pred.ndim == 2 and pred.shape[1] == 1):
        return 2
    if pred.ndim == 2:
        return pred.shape[1]
    raise ValueError(f"classification scores need logits (n,), (n, 1) or (n, k); got {pred.shape}.")


def _logit(pred: jax.Array) -> jax.Array:
    return (pred[:, 0] if pred.ndim == 2 else pred).astype(_F)


def _labels(pred: jax.Array) -> jax.Array:
    """Predicted class codes, as ``JaxfitClassifier.predict`` (``z > 0``, else ``argmax``)."""
    if _width(pred) == 2 and (pred.ndim == 1 or pred.shape[1] == 1):
        return (_logit(pred) > 0).astype(jnp.int32)
    return jnp.argmax(pred, axis=1).astype(jnp.int32)


def _log_proba(pred: jax.Array) -> jax.Array:
    """Log-probabilities ``(n, k)``, ``k >= 2``: ``[log(1 - p), log(p)]`` for one logit."""
    if pred.ndim == 1 or pred.shape[1] == 1:
        z = _logit(pred)
        return jnp.stack([jax.nn.log_sigmoid(-z), jax.nn.log_sigmoid(z)], axis=1)
    return jax.nn.log_softmax(pred.astype(_F), axis=1)


def _binary_score(pred: jax.Array, name: str) -> jax.Array:
    """The positive class's decision score ``(n,)`` of a binary classifier."""
    k = _width(pred)
    if k != 2:
        raise ValueError(
            f"{name} is binary, but the logits have {k} classes (pred {pred.shape}); use its "
            "multi-class form (e.g. roc_auc_ovr) or a macro average."
        )
    if pred.ndim == 1 or pred.shape[1] == 1:
        return _logit(pred)
    return (pred[:, 1] - pred[:, 0]).astype(_F)


def _mask(weight: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Rows of positive weight, and the weights with every other row exactly 0."""
    keep = weight > 0
    return keep, jnp.where(keep, weight, 0).astype(_F)


def _codes(y: jax.Array, k: int) -> jax.Array:
    if y.ndim != 1:
        raise ValueError(f"classification scores need labels y (n,); got shape {y.shape}.")
    return jax.nn.one_hot(y.astype(jnp.int32), k, dtype=_F)


def _nan_unless(ok: jax.Array, value: jax.Array) -> jax.Array:
    return jnp.where(ok, value, jnp.nan)


# --- set-wise scores: precision, recall, F-beta, Jaccard ------------------------------------


def _confusion(pred: jax.Array, y: jax.Array, weight: jax.Array):
    """Per class: weighted true positives, true and predicted totals, and presence."""
    k = _width(pred)
    keep, w = _mask(weight)
    truth, guess = _codes(y, k), jax.nn.one_hot(_labels(pred), k, dtype=_F)
    tp = jnp.sum(w[:, None] * truth * guess, axis=0)
    true = jnp.sum(w[:, None] * truth, axis=0)
    predicted = jnp.sum(w[:, None] * guess, axis=0)
    present = jnp.any(keep[:, None] & ((truth > 0) | (guess > 0)), axis=0)
    return tp, true, predicted, present, jnp.any(keep)


def _divide(num: jax.Array, den: jax.Array, zero_division: Any) -> jax.Array:
    """scikit-learn's ``_prf_divide``: ``zero_division`` where the denominator is 0."""
    value = jnp.nan if zero_division == "nan" else 0.0 if zero_division == "warn" else zero_division
    return jnp.where(den == 0, value, num / jnp.where(den == 0, 1, den))


def _set_wise(
    kind: str, average: str, beta: float, zero_division: Any, pred: jax.Array, y: jax.Array,
    weight: jax.Array,
) -> jax.Array:  # fmt: skip
    tp, true, predicted, present, any_rows = _confusion(pred, y, weight)
    if average == "binary":
        if _width(pred) != 2:
            raise ValueError(
                f"average='binary' needs two classes; the logits have {_width(pred)} (pred "
                f"{pred.shape}). Use average='macro', 'micro' or 'weighted'."
            )
        tp, true, predicted, present = tp[1:], true[1:], predicted[1:], jnp.ones(1, bool)
    elif average == "micro":
        tp, true, predicted = (
            jnp.sum(jnp.where(present, v, 0))[None] for v in (tp, true, predicted)
        )
        present = jnp.ones(1, bool)
    if kind == "precision":
        value = _divide(tp, predicted, zero_division)
    elif kind == "recall":
        value = _divide(tp, true, zero_division)
    elif kind == "jaccard":
        value = _divide(tp, true + predicted - tp, zero_division)
    elif math.isinf(beta):
        value = _divide(tp, true, zero_division)
    elif beta == 0:
        value = _divide(tp, predicted, zero_division)
    else:
        b2 = beta * beta
        value = _divide((1 + b2) * tp, b2 * true + predicted, zero_division)
    # jaccard_score averages with np.average (NaN spreads); the others ignore NaN classes.
    ignore_nan = kind != "jaccard"
    use = present & ~jnp.isnan(value) if ignore_nan else present
    if average == "weighted":
        weights = jnp.where(use, true, 0)
        weights = jnp.where(jnp.sum(weights) > 0, weights, use.astype(_F))  # all 0: unweighted
    else:
        weights = use.astype(_F)
    total = jnp.sum(jnp.where(use, weights * jnp.where(use, value, 0), 0))
    score = total / jnp.sum(weights)
    if not ignore_nan:
        score = jnp.where(jnp.any(present & jnp.isnan(value)), jnp.nan, score)
    return _nan_unless(any_rows & jnp.any(use | ~ignore_nan), score)


def set_metric(kind: str, average: str = "binary", *, beta: float = 1.0,
               zero_division: Any = "warn") -> Metric:  # fmt: skip
    """Precision, recall, F-beta or Jaccard of predicted labels, averaged as scikit-learn's.

    ``sklearn.metrics.precision_score`` (``recall_score``, ``fbeta_score``,
    ``jaccard_score``) on the rows of positive weight, with ``sample_weight``. Classes
    present in neither the fold's labels nor its predictions are left out of a macro or
    weighted average, as scikit-learn leaves them out.

    Args:
      kind: ``"precision"``, ``"recall"``, ``"f"`` (F-beta) or ``"jaccard"``.
      average: ``"binary"`` (class 1 of two), ``"macro"``, ``"micro"`` or ``"weighted"``.
      beta: F-beta's ``beta`` (``"f"`` only); 1 is F1.
      zero_division: ``"warn"`` (0.0, as scikit-learn's value), ``0.0``, ``1.0`` or
        ``"nan"``.

    Returns:
      The cached :class:`jaxfit.Metric` (``per_sample=False``, greater is better).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxfit._training.scores import set_metric
      >>> f2 = set_metric("f", "binary", beta=2.0)
      >>> f2.name, round(float(f2(jnp.array([[1.0], [-1.0], [1.0]]), jnp.array([1, 1, 0]))), 4)
      ('fbeta2', 0.5)
    """
    if kind not in ("precision", "recall", "f", "jaccard"):
        raise ValueError(f"kind={kind!r}; allowed: 'precision', 'recall', 'f', 'jaccard'.")
    if average not in AVERAGES:
        raise ValueError(f"average={average!r} is not supported; allowed are {AVERAGES}.")
    zero_division = _zero_division(zero_division)
    if isinstance(beta, bool) or not isinstance(beta, int | float) or not beta >= 0:
        raise ValueError(f"beta={beta!r} must be a float >= 0.")
    return _set_metric(kind, average, float(beta), zero_division)


@functools.cache  # normalised arguments: one Metric per score, whatever the call's spelling
def _set_metric(kind: str, average: str, beta: float, zero_division: Any) -> Metric:
    name = ("f1" if beta == 1.0 else f"fbeta{beta:g}") if kind == "f" else kind
    name += "" if average == "binary" else f"_{average}"  # scikit-learn's scorer names
    if zero_division != "warn":
        name += f"(zero_division={zero_division})"
    fn = functools.partial(_set_wise, kind, average, beta, zero_division)
    return register_metric(
        Metric(name, fn, None, greater_is_better=True, per_sample=False), named=False
    )


def _zero_division(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if value in ("warn", "nan") or (not isinstance(value, bool) and value in (0, 1)):
        return value if isinstance(value, str) else float(value)
    raise ValueError(f"zero_division={value!r}; allowed are 'warn', 0.0, 1.0 or np.nan.")


# --- other label scores -------------------------------------------------------------------


def _balanced_accuracy(adjusted: bool, pred: jax.Array, y: jax.Array, weight: jax.Array):
    tp, true, _, _, any_rows = _confusion(pred, y, weight)
    seen = true > 0  # scikit-learn drops classes only predicted (their recall is 0/0)
    n = jnp.sum(seen)
    score = jnp.sum(jnp.where(seen, tp / jnp.where(seen, true, 1), 0)) / n
    if adjusted:
        chance = 1 / n
        score = jnp.where(n > 1, (score - chance) / (1 - chance), jnp.nan)
    return _nan_unless(any_rows, score)


def balanced_accuracy_metric(adjusted: bool = False) -> Metric:
    """``sklearn.metrics.balanced_accuracy_score``: the mean recall over the true classes.

    Args:
      adjusted: rescale so that chance scores 0 (NaN with a single true class).

    Returns:
      The cached :class:`jaxfit.Metric`.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxfit._training.scores import balanced_accuracy_metric
      >>> m = balanced_accuracy_metric()
      >>> float(m(jnp.array([[1.0], [1.0], [1.0], [-1.0]]), jnp.array([1, 1, 0, 0])))
      0.75
    """
    return _balanced_accuracy_metric(bool(adjusted))


@functools.cache
def _balanced_accuracy_metric(adjusted: bool) -> Metric:
    name = "balanced_accuracy" + ("(adjusted=True)" if adjusted else "")
    fn = functools.partial(_balanced_accuracy, adjusted)
    return register_metric(
        Metric(name, fn, None, greater_is_better=True, per_sample=False), named=False
    )


def _matthews(pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    tp, true, predicted, _, any_rows = _confusion(pred, y, weight)
    n_t, n_p = jnp.sum(true), jnp.sum(predicted)
    cov_tp = jnp.sum(tp) * n_p - jnp.dot(true, predicted)
    cov_pp = jnp.sum(predicted * (n_p - predicted))  # sum_c p_c (n - p_c) = n**2 - p.p
    cov_tt = jnp.sum(true * (n_t - true))
    # Zero exactly when one class holds all the weight; rounding (XLA may sum in another
    # order) must not turn that 0 into a tiny covariance and a plausible score.
    degenerate = (jnp.sum(predicted > 0) <= 1) | (jnp.sum(true > 0) <= 1)
    score = cov_tp / jnp.sqrt(jnp.where(degenerate, 1, cov_pp) * jnp.where(degenerate, 1, cov_tt))
    return _nan_unless(any_rows, jnp.where(degenerate, 0.0, score))


# --- ranking scores: ROC AUC and average precision ----------------------------------------


class _Ranked(NamedTuple):
    """Rows sorted by score: each row's weight, and the weights of positives and negatives
    scoring strictly below its score and equal to it (its tie group)."""

    positive: jax.Array  # (n,) weight of the row if positive, else 0
    pos_below: jax.Array
    neg_below: jax.Array
    pos_tied: jax.Array
    neg_tied: jax.Array
    pos_total: jax.Array
    neg_total: jax.Array


def _ranked(score: jax.Array, w: jax.Array, positive: jax.Array) -> _Ranked:
    score = jnp.where(w > 0, score, 0)  # a weight-0 row's score must not matter (NaN sorts)
    order = jnp.argsort(score)
    s = score[order]
    wp = jnp.where(positive, w, 0)[order]
    wn = jnp.where(positive, 0, w)[order]
    n, idx = s.shape[0], jnp.arange(s.shape[0])
    differs = s[1:] != s[:-1]
    # The first and last index of each row's tie group, by running max / min.
    start = jax.lax.cummax(jnp.where(jnp.concatenate([jnp.ones(1, bool), differs]), idx, 0))
    end = jax.lax.cummin(
        jnp.where(jnp.concatenate([differs, jnp.ones(1, bool)]), idx, n - 1), reverse=True
    )
    cum_pos = jnp.concatenate([jnp.zeros(1, _F), jnp.cumsum(wp)])
    cum_neg = jnp.concatenate([jnp.zeros(1, _F), jnp.cumsum(wn)])
    return _Ranked(
        wp, cum_pos[start], cum_neg[start], cum_pos[end + 1] - cum_pos[start],
        cum_neg[end + 1] - cum_neg[start], cum_pos[-1], cum_neg[-1],
    )  # fmt: skip


def _auc(score: jax.Array, w: jax.Array, positive: jax.Array) -> jax.Array:
    """Weighted ROC AUC: pairs ranked right count 1, ties 1/2 (the trapezoid's value)."""
    r = _ranked(score, w, positive)
    num = jnp.sum(r.positive * (r.neg_below + 0.5 * r.neg_tied))
    ok = (r.pos_total > 0) & (r.neg_total > 0)
    return _nan_unless(ok, num / jnp.where(ok, r.pos_total * r.neg_total, 1))


def _roc_auc(pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    _, w = _mask(weight)
    return _auc(_binary_score(pred, "roc_auc"), w, y == 1)


def _average_precision(pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    _, w = _mask(weight)
    r = _ranked(_binary_score(pred, "average_precision"), w, y == 1)
    tps = r.pos_total - r.pos_below  # weight scoring at or above each row's score
    fps = r.neg_total - r.neg_below
    precision = tps / jnp.where(tps + fps > 0, tps + fps, 1)
    p = r.pos_total
    ap = jnp.sum(r.positive * precision) / jnp.where(p > 0, p, 1)
    return _nan_unless(p > 0, ap)  # scikit-learn warns and returns 0 without positives


def _all_classes(y: jax.Array, keep: jax.Array, k: int) -> jax.Array:
    """Whether every class ``0..k-1`` has a row of positive weight."""
    return jnp.all(jnp.any(keep[:, None] & (_codes(y, k) > 0), axis=0))


def _roc_auc_multi(multi_class: str, average: str, pred: jax.Array, y: jax.Array,
                   weight: jax.Array) -> jax.Array:  # fmt: skip
    k = _width(pred)
    keep, w = _mask(weight)
    if k == 2:  # a binary target: scikit-learn scores the positive class, ignoring multi_class
        return _auc(_binary_score(pred, "roc_auc"), w, y == 1)
    logp = _log_proba(pred)  # monotone in the probabilities scikit-learn ranks
    ok = _all_classes(y, keep, k)  # else scikit-learn raises: columns != classes in y_true
    if multi_class == "ovr":
        aucs = jnp.stack([_auc(logp[:, c], w, y == c) for c in range(k)])
        counts = jnp.stack([jnp.sum(jnp.where(y == c, w, 0)) for c in range(k)])
        weights = counts if average == "weighted" else jnp.ones(k, _F)
        return _nan_unless(ok, jnp.sum(weights * aucs) / jnp.sum(weights))
    # One-vs-one has no weighted form in scikit-learn: equal weights only (a fold mask).
    wmax = jnp.max(w)
    ok = ok & jnp.all(jnp.where(keep, w == wmax, True))
    scores, prevalence = [], []
    for a in range(k):
        for b in range(a + 1, k):
            pair = w * ((y == a) | (y == b))
            scores.append(0.5 * (_auc(logp[:, a], pair, y == a) + _auc(logp[:, b], pair, y == b)))
            prevalence.append(jnp.sum(pair))
    s, prev = jnp.stack(scores), jnp.stack(prevalence)
    weights = prev if average == "weighted" else jnp.ones_like(prev)
    return _nan_unless(ok, jnp.sum(weights * s) / jnp.sum(weights))


@functools.cache
def _roc_auc_metric(multi_class: str, average: str) -> Metric:
    suffix = "" if average == "macro" else f"_{average}"
    fn = functools.partial(_roc_auc_multi, multi_class, average)
    return Metric(f"roc_auc_{multi_class}{suffix}", fn, None, True, per_sample=False)


# --- probabilistic scores: log loss, Brier ------------------------------------------------


def _log_loss(pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    k = _width(pred)
    keep, w = _mask(weight)
    logp = _log_proba(pred)
    # scikit-learn clips the probabilities to [eps, 1 - eps] (float64 eps).
    nll = jnp.clip(-jnp.sum(_codes(y, k) * logp, axis=1), -math.log1p(-_EPS64), -math.log(_EPS64))
    ok = _all_classes(y, keep, k)  # else scikit-learn raises (classes in y_true != columns)
    return _nan_unless(ok, jnp.sum(w * jnp.where(keep, nll, 0)) / jnp.sum(w))


def _brier(pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    k = _width(pred)
    keep, w = _mask(weight)
    proba = jnp.exp(_log_proba(pred))
    if k == 2:  # binary: (y - p)**2, as scikit-learn's with scale_by_half="auto"
        per_row = jnp.square((y == 1).astype(_F) - proba[:, 1])
        ok = jnp.any(keep)
    else:
        per_row = jnp.sum(jnp.square(_codes(y, k) - proba), axis=1)
        ok = _all_classes(y, keep, k)
    return _nan_unless(ok, jnp.sum(w * jnp.where(keep, per_row, 0)) / jnp.sum(w))


# --- regression ---------------------------------------------------------------------------


def _pair(pred: jax.Array, y: jax.Array, name: str, *, single: bool = False):
    if y.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if pred.shape != y.shape or y.ndim not in (1, 2):
        raise ValueError(f"{name} needs y (n,) and pred (n, 1), or both (n, k); got pred "
                         f"{pred.shape} and y {y.shape}.")  # fmt: skip
    if single and y.ndim != 1:
        raise ValueError(
            f"{name} does not support several outputs (as scikit-learn's); y {y.shape}."
        )
    return pred.astype(_F), y.astype(_F)


def _columns(x: jax.Array) -> jax.Array:
    return x if x.ndim == 2 else x[:, None]


def _wmean(values: jax.Array, w: jax.Array, keep: jax.Array) -> jax.Array:
    """Weighted mean over rows, per column; rows of weight 0 add exactly 0."""
    values = _columns(values)
    return jnp.sum(jnp.where(keep[:, None], w[:, None] * values, 0), axis=0) / jnp.sum(w)


def _rmse(log: bool, pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    name = "root_mean_squared_log_error" if log else "root_mean_squared_error"
    pred, y = _pair(pred, y, name)
    keep, w = _mask(weight)
    if log:  # scikit-learn raises for values <= -1
        bad = jnp.any(keep[:, None] & ((_columns(y) <= -1) | (_columns(pred) <= -1)))
        pred, y = (jnp.log1p(jnp.where(v > -1, v, 0)) for v in (pred, y))
    else:
        bad = jnp.zeros((), bool)
    rmse = jnp.mean(jnp.sqrt(_wmean(jnp.square(y - pred), w, keep)))  # uniform_average
    return _nan_unless(~bad, rmse)


def _squared_log_error(pred: jax.Array, y: jax.Array) -> jax.Array:
    pred, y = _pair(pred, y, "mean_squared_log_error")
    ok = (pred > -1) & (y > -1)  # scikit-learn raises for values <= -1
    safe = jnp.where(
        ok, jnp.square(jnp.log1p(jnp.where(ok, y, 0)) - jnp.log1p(jnp.where(ok, pred, 0))), 0
    )
    return jnp.where(ok, safe, jnp.nan)


def _percentage_error(pred: jax.Array, y: jax.Array) -> jax.Array:
    pred, y = _pair(pred, y, "mean_absolute_percentage_error")
    return jnp.abs(pred - y) / jnp.maximum(jnp.abs(y), _EPS64)


def _poisson(pred: jax.Array, y: jax.Array) -> jax.Array:
    pred, y = _pair(pred, y, "mean_poisson_deviance", single=True)
    ok = (y >= 0) & (pred > 0)  # scikit-learn raises otherwise
    p = jnp.where(ok, pred, 1.0)
    return jnp.where(ok, 2 * (xlogy(y, y / p) - y + p), jnp.nan)


def _gamma(pred: jax.Array, y: jax.Array) -> jax.Array:
    pred, y = _pair(pred, y, "mean_gamma_deviance", single=True)
    ok = (y > 0) & (pred > 0)
    p, t = jnp.where(ok, pred, 1.0), jnp.where(ok, y, 1.0)
    return jnp.where(ok, 2 * (jnp.log(p / t) + t / p - 1), jnp.nan)


def _explained_variance(pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    pred, y = _pair(pred, y, "explained_variance")
    keep, w = _mask(weight)
    y, diff = _columns(y), _columns(y - pred)
    numerator = _wmean(jnp.square(diff - _wmean(diff, w, keep)[None, :]), w, keep)
    denominator = _wmean(jnp.square(y - _wmean(y, w, keep)[None, :]), w, keep)
    # As jaxfit.r2: a variance at rounding level is a constant (scikit-learn: exactly 0).
    eps = 8 * jnp.finfo(_F).eps
    constant = denominator <= eps**2 * _wmean(jnp.square(y), w, keep)
    perfect = numerator <= eps**2 * _wmean(jnp.square(diff), w, keep) + eps**2 * denominator
    score = 1 - numerator / jnp.where(constant, 1, denominator)
    score = jnp.where(constant, jnp.where(perfect, 1.0, 0.0), score)
    return _nan_unless(jnp.any(keep), jnp.mean(score))


def _weighted_median(values: jax.Array, w: jax.Array, keep: jax.Array) -> jax.Array:
    """scikit-learn's ``_weighted_percentile(values, w, 50, average=True)`` per column.

    The "averaged inverted CDF": the first sorted value whose cumulative weight reaches half
    the total, averaged with the next one when it reaches it exactly (``np.median`` for
    equal weights).
    """
    values = jnp.where(keep, values, jnp.inf)  # weight-0 rows sort last, adding 0 weight
    order = jnp.argsort(values)
    v, cdf = values[order], jnp.cumsum(w[order])
    half = 0.5 * cdf[-1]
    i = jnp.clip(jnp.searchsorted(cdf, half, side="left"), 0, v.shape[0] - 1)
    nxt = jnp.clip(i + 1, 0, v.shape[0] - 1)
    exact = cdf[i] - half <= jnp.finfo(_F).eps * jnp.maximum(cdf[-1], 1)
    return jnp.where(exact, 0.5 * (v[i] + v[nxt]), v[i])


def _median_absolute_error(pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    pred, y = _pair(pred, y, "median_absolute_error")
    keep, w = _mask(weight)
    errors = _columns(jnp.abs(pred - y))
    medians = jax.vmap(_weighted_median, in_axes=(1, None, None))(errors, w, keep)
    return _nan_unless(jnp.any(keep), jnp.mean(medians))


def _max_error(pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:
    # scikit-learn's max_error has no sample_weight: the maximum over the fold's rows.
    pred, y = _pair(pred, y, "max_error", single=True)
    keep, _ = _mask(weight)
    return _nan_unless(jnp.any(keep), jnp.max(jnp.where(keep, jnp.abs(pred - y), 0)))


# --- the registry -------------------------------------------------------------------------


def _metric(name: str, fn: Callable[..., Any], target: str | None, better: bool,
            per_sample: bool = False) -> Metric:  # fmt: skip
    return Metric(name, fn, target, greater_is_better=better, per_sample=per_sample)  # type: ignore[arg-type]


_NAMED = [
    *(set_metric(kind, average) for kind in ("precision", "recall", "f", "jaccard")
      for average in AVERAGES),
    balanced_accuracy_metric(),
    _metric("matthews_corrcoef", _matthews, None, True),
    _metric("roc_auc", _roc_auc, None, True),
    _metric("average_precision", _average_precision, None, True),
    *(_roc_auc_metric(mc, av) for mc in ("ovr", "ovo") for av in ("macro", "weighted")),
    _metric("log_loss", _log_loss, None, False),
    _metric("brier_score", _brier, None, False),
    _metric("explained_variance", _explained_variance, "real", True),
    _metric("median_absolute_error", _median_absolute_error, "real", False),
    _metric("max_error", _max_error, "real", False),
    _metric("root_mean_squared_error", functools.partial(_rmse, False), "real", False),
    _metric("root_mean_squared_log_error", functools.partial(_rmse, True), "real", False),
    _metric("mean_squared_log_error", _squared_log_error, "real", False, per_sample=True),
    _metric("mean_absolute_percentage_error", _percentage_error, "real", False, per_sample=True),
    _metric("mean_poisson_deviance", _poisson, "real", False, per_sample=True),
    _metric("mean_gamma_deviance", _gamma, "real", False, per_sample=True),
]  # fmt: skip
for _m in _NAMED:
    register_metric(_m)
SCORE_METRICS: dict[str, Metric] = {m.name: m for m in _NAMED}
"""Every metric of this module by name, as :func:`jaxfit.get_metric` resolves them."""
