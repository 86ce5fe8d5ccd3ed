"""scikit-learn's scoring names, mapped onto jaxfit metrics evaluated inside the sweep.

``SCORERS`` is the one table of names. A scoring name, a ``sklearn.metrics.make_scorer``
of a function jaxfit implements (``fbeta_score, beta=2``), a ``make_scorer`` of a user
function written with ``jax.numpy``, a :class:`jaxfit.Metric` or a per-example callable all
become a :class:`Scorer`: a metric computed inside the compiled program on each test fold
(a weight mask), and a sign that makes greater better.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from .._training import Metric, balanced_accuracy_metric, get_metric, set_metric

__all__ = ["SCORERS", "Scorer", "get_scorers", "is_multimetric"]

Task = Literal["regression", "single-output regression", "classification", "binary"]


@dataclasses.dataclass(frozen=True)
class Scorer:
    """A score (greater is better) computed from a jaxfit metric on each test fold.

    Attributes:
      name: the scoring name, as in scikit-learn (``"neg_mean_squared_error"``, ...).
      metric: the jaxfit metric evaluated inside the compiled program, or ``None`` for the
        training loss itself.
      sign: +1 if the metric is a score, -1 if it is a loss.
      sklearn_name: the scikit-learn scoring name it computes, which scores a fitted
        estimator on new data; ``None`` otherwise.
      sklearn_scorer: the ``make_scorer`` object it was built from, which scores a fitted
        estimator on new data; ``None`` otherwise.
      min_rows: a fold with fewer rows scores NaN, as scikit-learn's (R² of one row).
    """

    name: str
    metric: Metric | None
    sign: float
    sklearn_name: str | None = None
    sklearn_scorer: Any = None
    min_rows: int = 0

    def from_metric(self, values: np.ndarray) -> np.ndarray:
        """Turns metric values into scores."""
        return self.sign * values


@dataclasses.dataclass(frozen=True)
class _Name:
    """One row of ``SCORERS``: the jaxfit metric, its sign, the estimators it applies to."""

    metric: str
    sign: float
    task: Task
    pos_label: bool = False  # a binary score of label 1, as scikit-learn's pos_label=1
    min_rows: int = 0  # fewer rows in a fold: NaN (scikit-learn's R² warns and gives NaN)


def _names() -> dict[str, _Name]:
    reg, reg1, clf, binary = "regression", "single-output regression", "classification", "binary"
    table: dict[str, _Name] = {
        "explained_variance": _Name("explained_variance", 1.0, reg),
        "r2": _Name("r2", 1.0, reg, min_rows=2),
        "neg_max_error": _Name("max_error", -1.0, reg1),
        "neg_median_absolute_error": _Name("median_absolute_error", -1.0, reg),
        "neg_mean_absolute_error": _Name("mae", -1.0, reg),
        "neg_mean_absolute_percentage_error": _Name("mean_absolute_percentage_error", -1.0, reg),
        "neg_mean_squared_error": _Name("mse", -1.0, reg),
        "neg_mean_squared_log_error": _Name("mean_squared_log_error", -1.0, reg),
        "neg_root_mean_squared_error": _Name("root_mean_squared_error", -1.0, reg),
        "neg_root_mean_squared_log_error": _Name("root_mean_squared_log_error", -1.0, reg),
        "neg_mean_poisson_deviance": _Name("mean_poisson_deviance", -1.0, reg1),
        "neg_mean_gamma_deviance": _Name("mean_gamma_deviance", -1.0, reg1),
        "accuracy": _Name("accuracy", 1.0, clf),
        "balanced_accuracy": _Name("balanced_accuracy", 1.0, clf),
        "matthews_corrcoef": _Name("matthews_corrcoef", 1.0, clf),
        "roc_auc": _Name("roc_auc", 1.0, binary),
        "average_precision": _Name("average_precision", 1.0, binary, pos_label=True),
        "roc_auc_ovr": _Name("roc_auc_ovr", 1.0, clf),
        "roc_auc_ovr_weighted": _Name("roc_auc_ovr_weighted", 1.0, clf),
        "roc_auc_ovo": _Name("roc_auc_ovo", 1.0, clf),
        "roc_auc_ovo_weighted": _Name("roc_auc_ovo_weighted", 1.0, clf),
        "neg_log_loss": _Name("log_loss", -1.0, clf),
        "neg_brier_score": _Name("brier_score", -1.0, clf),
    }
    for kind in ("precision", "recall", "f1", "jaccard"):
        table[kind] = _Name(kind, 1.0, binary, pos_label=True)
        for average in ("macro", "micro", "weighted"):
            table[f"{kind}_{average}"] = _Name(f"{kind}_{average}", 1.0, clf)
    return table


SCORERS: dict[str, _Name] = _names()
"""Every scikit-learn scoring name jaxfit computes in the compiled program.

Each maps to a registered jaxfit metric (``jaxfit.get_metric(SCORERS[name].metric)``), its
sign and the estimators it applies to (``"regression"``, ``"single-output regression"``,
``"classification"`` or ``"binary"``).
"""

# scikit-learn's names that jaxfit refuses, and why (not merely unknown).
_NOT_IN_GRAPH = {
    "top_k_accuracy": "it needs k (use make_scorer(top_k_accuracy_score, k=...)), which "
    "jaxfit does not implement",
    "positive_likelihood_ratio": "jaxfit does not implement it",
    "neg_negative_likelihood_ratio": "jaxfit does not implement it",
    "d2_absolute_error_score": "jaxfit does not implement it",
    "d2_log_loss_score": "jaxfit does not implement it",
    "d2_brier_score": "jaxfit does not implement it",
}


def is_multimetric(scoring: Any) -> bool:
    """Whether ``scoring`` is multi-metric in scikit-learn's sense: a list, tuple, set or dict.

    Then ``cv_results_`` keys end in each scorer's name (``mean_test_<name>``) even for one
    scorer, and ``refit`` must name one (or be a callable, or ``False``).
    """
    return isinstance(scoring, list | tuple | set | Mapping)


def get_scorers(
    scoring: str | Callable | Sequence[str] | Mapping[str, Any] | None,
    *,
    classifier: bool,
    classes: Any = None,
    n_outputs: int = 1,
) -> dict[str, Scorer]:
    """Resolves a ``scoring`` argument into named scorers (the first one is the default).

    Args:
      scoring: ``None`` (R² for a regressor, accuracy for a classifier, as scikit-learn's
        ``estimator.score``), a scoring name (a key of ``SCORERS``), a
        ``sklearn.metrics.make_scorer`` object (of a function jaxfit implements, or of a
        function written with ``jax.numpy`` that takes ``sample_weight``), a
        :class:`jaxfit.Metric` (a loss such as ``jaxfit.mse`` scores negated, as
        ``"neg_mse"``, so that greater is better), a plain callable ``(pred, y) -> scores``
        (one per example; jaxfit takes their weighted mean) whose greater values are
        better, or a list, tuple, set or dict of those.
      classifier: whether the estimator is a classifier.
      classes: the sorted class labels of a classifier (``classes_``), if known.
      n_outputs: the number of regression targets.

    Returns:
      An ordered dict from name to :class:`Scorer`.

    Raises:
      ValueError: for an unknown name or a scorer that does not suit the estimator.
      TypeError: for anything else.
    """
    if scoring is None:
        scoring = "accuracy" if classifier else "r2"
    if isinstance(scoring, str) or (callable(scoring) and not isinstance(scoring, Mapping)):
        items: list[tuple[str | None, Any]] = [(None, scoring)]
    elif isinstance(scoring, Mapping) and scoring:
        items = list(scoring.items())
        bad = [k for k in scoring if not isinstance(k, str)]
        if bad:
            raise TypeError(f"scoring dict keys must be str names; got {bad!r:.80}.")
    elif isinstance(scoring, list | tuple | set) and scoring:
        values = sorted(scoring) if isinstance(scoring, set) else list(scoring)
        items = [(None, s) for s in values]
    else:
        raise TypeError(
            "scoring must be None, a scoring name, a callable (pred, y) -> scores per example, "
            "a sklearn make_scorer, or a non-empty list, tuple, set or dict of those; got "
            f"{scoring!r:.80}."
        )
    context = _Context(classifier, None if classes is None else np.asarray(classes), n_outputs)
    out: dict[str, Scorer] = {}
    for key, spec in items:
        scorer = _one(spec, context)
        name = key if key is not None else scorer.name
        if name in out:
            raise ValueError(f"scoring names {name!r} twice.")
        out[name] = dataclasses.replace(scorer, name=name)
    return out


@dataclasses.dataclass(frozen=True)
class _Context:
    classifier: bool
    classes: np.ndarray | None
    n_outputs: int

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    def kind(self) -> str:
        return "a classifier" if self.classifier else "a regressor"


def _one(spec: Any, context: _Context) -> Scorer:
    if isinstance(spec, str):
        return _named(spec, context)
    if callable(spec):
        if _looks_like_sklearn_scorer(spec):
            return _from_sklearn_scorer(spec, context)
        if isinstance(spec, Metric):  # it knows its direction: a loss scores negated
            sign = 1.0 if spec.greater_is_better else -1.0
            return Scorer(spec.name if sign > 0 else f"neg_{spec.name}", spec, sign)
        metric = get_metric(spec)  # memoised: the same callable keeps its compiled programs
        return Scorer(metric.name, metric, 1.0)
    raise TypeError(f"a scorer must be a name or a callable; got {spec!r:.80}.")


def _named(spec: str, context: _Context) -> Scorer:
    if spec not in SCORERS:
        why = _NOT_IN_GRAPH.get(spec)
        if why is not None:
            raise ValueError(f"scoring={spec!r} is not supported: {why}.")
        raise ValueError(f"scoring={spec!r} is not supported; allowed are {sorted(SCORERS)}.")
    entry = SCORERS[spec]
    _check_task(f"scoring={spec!r}", entry.task, context, pos_label=1 if entry.pos_label else None)
    metric = get_metric(entry.metric)
    return Scorer(spec, metric, entry.sign, sklearn_name=spec, min_rows=entry.min_rows)


def _check_task(what: str, task: Task, context: _Context, *, pos_label: Any = None) -> None:
    """Refuses, before anything compiles, a score that does not suit the estimator."""
    if context.classifier != (task in ("classification", "binary")):
        raise ValueError(f"{what} does not apply to {context.kind()}.")
    if task == "single-output regression" and context.n_outputs != 1:
        raise ValueError(
            f"{what} does not support several outputs (scikit-learn's raises); y has "
            f"{context.n_outputs} columns."
        )
    k = context.n_classes
    if task == "binary" and k is not None and k != 2:
        raise ValueError(
            f"{what} is binary, but y has {k} classes: use a macro, micro or weighted average "
            "(e.g. 'f1_macro'), or 'roc_auc_ovr' for ROC AUC, as scikit-learn's."
        )
    if task == "binary" and pos_label is not None and context.classes is not None:
        classes = context.classes
        if not _same_label(classes[1], pos_label):
            raise ValueError(
                f"{what} scores pos_label={pos_label!r} as the positive class, as "
                f"scikit-learn's, but the classes are {classes.tolist()} and jaxfit's positive "
                f"class is the second, {classes[1]!r}. Use sklearn.metrics.make_scorer(..., "
                f"pos_label={classes[1]!r}), or a macro average."
            )


def _same_label(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a == b) is not np.ndarray
    except Exception:  # incomparable labels are different
        return False


def _looks_like_sklearn_scorer(fn: Any) -> bool:
    return type(fn).__name__.endswith("Scorer") or hasattr(fn, "_score_func")


# --- make_scorer --------------------------------------------------------------------------

_PROBA, _DECISION, _PREDICT = "predict_proba", "decision_function", "predict"


def _methods(response_method: Any) -> tuple[str, ...]:
    return (response_method,) if isinstance(response_method, str) else tuple(response_method)


def _from_sklearn_scorer(scorer: Any, context: _Context) -> Scorer:
    """A ``make_scorer`` object: a function jaxfit implements, or a traceable ``jnp`` one."""
    func = getattr(scorer, "_score_func", None)
    kwargs = dict(getattr(scorer, "_kwargs", None) or {})
    sign = float(getattr(scorer, "_sign", 1))
    methods = _methods(getattr(scorer, "_response_method", _PREDICT))
    if func is None or type(scorer).__name__ not in ("_Scorer",):
        raise TypeError(
            f"scoring={scorer!r:.80} is a scikit-learn scorer jaxfit cannot run inside its "
            "compiled program (it calls the estimator). Pass a scoring name, "
            "sklearn.metrics.make_scorer(f, ...) with f one of "
            f"{sorted(_KNOWN)} or a function written with jax.numpy, or a callable "
            "(pred, y) -> scores per example."
        )
    name = getattr(func, "__name__", type(func).__name__)
    what = f"make_scorer({name}{''.join(f', {k}={v!r}' for k, v in kwargs.items())})"
    if _is_sklearn_metric(func):
        if name not in _KNOWN:
            raise ValueError(
                f"{what}: jaxfit does not implement sklearn.metrics.{name} inside its compiled "
                f"program. Implemented are {sorted(_KNOWN)}; or write the score with jax.numpy "
                "as f(y_true, y_pred, sample_weight=None) and pass make_scorer(f)."
            )
        metric, task, pos_label = _KNOWN[name](what, kwargs, methods, context)
        _check_task(what, task, context, pos_label=pos_label)
        rows = 2 if name == "r2_score" else 0
        return Scorer(
            _scorer_name(metric, sign), metric, sign, sklearn_scorer=scorer, min_rows=rows
        )
    metric = _traced(func, kwargs, methods, context, what)
    # No sklearn_scorer: scikit-learn would call it with sample_weight=None; `score` runs
    # the traced metric on the refitted estimator's outputs instead, as inside the search.
    return Scorer(_scorer_name(metric, sign), metric, sign)


def _scorer_name(metric: Metric, sign: float) -> str:
    return metric.name if sign > 0 else f"neg_{metric.name}"


def _is_sklearn_metric(func: Any) -> bool:
    module = getattr(func, "__module__", "") or ""
    if not module.startswith("sklearn."):
        return False
    import sklearn.metrics

    return getattr(sklearn.metrics, getattr(func, "__name__", ""), None) is func


def _refuse(what: str, message: str) -> ValueError:
    return ValueError(f"{what}: {message}")


def _take(what: str, kwargs: dict, allowed: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments jaxfit implements, with their defaults; refuses the others."""
    extra = sorted(set(kwargs) - set(allowed))
    if extra:
        raise _refuse(
            what,
            f"jaxfit does not implement the keyword argument(s) {extra} inside its compiled "
            f"program; it takes {sorted(allowed) or 'none'}.",
        )
    return {k: kwargs.get(k, default) for k, default in allowed.items()}


def _need(what: str, methods: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    """Refuses a response method that would change what the function computes."""
    if methods[0] not in allowed and not (set(methods) <= set(allowed)):
        shown = "|".join(methods)
        raise _refuse(
            what,
            f"response_method={shown!r} is not "
            f"supported for this function; jaxfit computes it from {allowed}.",
        )


def _labels_fn(kind: str) -> Callable[..., tuple[Metric, Task, Any]]:
    def build(what: str, kwargs: dict, methods: tuple[str, ...], context: _Context):
        _need(what, methods, (_PREDICT,))
        allowed: dict[str, Any] = {"average": "binary", "zero_division": "warn", "pos_label": 1}
        if kind == "f":
            allowed["beta"] = 1.0
        if kind == "fbeta" and "beta" not in kwargs:
            raise _refuse(what, "fbeta_score needs beta=, as scikit-learn's.")
        if kind == "fbeta":
            allowed["beta"] = None
        a = _take(what, kwargs, allowed)
        if a["average"] not in ("binary", "macro", "micro", "weighted"):
            raise _refuse(
                what,
                f"average={a['average']!r} is not supported; jaxfit computes 'binary', "
                "'macro', 'micro' and 'weighted' ('samples' and None are not a score of one "
                "label per example).",
            )
        beta = float(a["beta"]) if "beta" in a else 1.0
        try:
            metric = set_metric(
                "f" if kind in ("f", "fbeta") else kind,
                a["average"],
                beta=beta,
                zero_division=a["zero_division"],
            )
        except ValueError as e:
            raise _refuse(what, str(e)) from None
        binary = a["average"] == "binary"
        return metric, "binary" if binary else "classification", a["pos_label"] if binary else None

    return build


def _simple(metric: str, task: Task, allowed: Mapping[str, Any], methods_ok: tuple[str, ...]):
    def build(what: str, kwargs: dict, methods: tuple[str, ...], context: _Context):
        _need(what, methods, methods_ok)
        a = _take(what, kwargs, allowed)
        for key, default in allowed.items():
            if key != "pos_label" and not _equal(a[key], default):
                raise _refuse(
                    what, f"{key}={a[key]!r} is not supported; jaxfit computes {key}={default!r}."
                )
        pos_label = a.get("pos_label", 1) if task == "binary" and "pos_label" in allowed else None
        return get_metric(metric), task, pos_label

    return build


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # e.g. arrays: not the default
        return False


def _balanced(what: str, kwargs: dict, methods: tuple[str, ...], context: _Context):
    _need(what, methods, (_PREDICT,))
    a = _take(what, kwargs, {"adjusted": False})
    return balanced_accuracy_metric(bool(a["adjusted"])), "classification", None


def _roc_auc(what: str, kwargs: dict, methods: tuple[str, ...], context: _Context):
    a = _take(what, kwargs, {"average": "macro", "multi_class": "raise"})
    if context.n_classes in (None, 2):  # a binary y: scikit-learn ignores multi_class
        _need(what, methods, (_PROBA, _DECISION))
        return get_metric("roc_auc"), "binary", None
    if a["multi_class"] not in ("ovr", "ovo"):
        raise _refuse(what, "y is multi-class: pass multi_class='ovr' or 'ovo', as scikit-learn.")
    if a["average"] not in ("macro", "weighted"):
        raise _refuse(what, f"average={a['average']!r}; jaxfit computes 'macro' and 'weighted'.")
    if methods[0] != _PROBA:
        raise _refuse(
            what,
            "multi-class ROC AUC needs probabilities: response_method='predict_proba' (with "
            "decision_function scores scikit-learn raises).",
        )
    suffix = "" if a["average"] == "macro" else "_weighted"
    return get_metric(f"roc_auc_{a['multi_class']}{suffix}"), "classification", None


_REGRESSION = {"multioutput": "uniform_average"}
_KNOWN: dict[str, Callable[..., tuple[Metric, Task, Any]]] = {
    "accuracy_score": _simple("accuracy", "classification", {"normalize": True}, (_PREDICT,)),
    "balanced_accuracy_score": _balanced,
    "precision_score": _labels_fn("precision"),
    "recall_score": _labels_fn("recall"),
    "f1_score": _labels_fn("f"),
    "fbeta_score": _labels_fn("fbeta"),
    "jaccard_score": _labels_fn("jaccard"),
    "matthews_corrcoef": _simple("matthews_corrcoef", "classification", {}, (_PREDICT,)),
    "roc_auc_score": _roc_auc,
    "average_precision_score": _simple(
        "average_precision", "binary", {"average": "macro", "pos_label": 1}, (_PROBA, _DECISION)
    ),
    "log_loss": _simple("log_loss", "classification", {"normalize": True}, (_PROBA,)),
    "brier_score_loss": _simple("brier_score", "classification", {}, (_PROBA,)),
    "mean_squared_error": _simple("mse", "regression", _REGRESSION, (_PREDICT,)),
    "root_mean_squared_error": _simple(
        "root_mean_squared_error", "regression", _REGRESSION, (_PREDICT,)
    ),
    "mean_absolute_error": _simple("mae", "regression", _REGRESSION, (_PREDICT,)),
    "r2_score": _simple("r2", "regression", {**_REGRESSION, "force_finite": True}, (_PREDICT,)),
    "explained_variance_score": _simple(
        "explained_variance", "regression", {**_REGRESSION, "force_finite": True}, (_PREDICT,)
    ),
    "median_absolute_error": _simple(
        "median_absolute_error", "regression", _REGRESSION, (_PREDICT,)
    ),
    "max_error": _simple("max_error", "single-output regression", {}, (_PREDICT,)),
    "mean_absolute_percentage_error": _simple(
        "mean_absolute_percentage_error", "regression", _REGRESSION, (_PREDICT,)
    ),
    "mean_squared_log_error": _simple(
        "mean_squared_log_error", "regression", _REGRESSION, (_PREDICT,)
    ),
    "root_mean_squared_log_error": _simple(
        "root_mean_squared_log_error", "regression", _REGRESSION, (_PREDICT,)
    ),
    "mean_poisson_deviance": _simple(
        "mean_poisson_deviance", "single-output regression", {}, (_PREDICT,)
    ),
    "mean_gamma_deviance": _simple(
        "mean_gamma_deviance", "single-output regression", {}, (_PREDICT,)
    ),
}


# --- a user's function, traced with jax.numpy ----------------------------------------------


def _response(method: str, classifier: bool, pred: jax.Array, y: jax.Array) -> jax.Array:
    """What ``estimator.<method>`` returns, from the logits or predictions, in-graph."""
    if not classifier:
        return pred[:, 0] if y.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1 else pred
    one_logit = pred.ndim == 2 and pred.shape[1] == 1
    if method == _PREDICT:  # class codes 0..k-1, as y
        return (
            (pred[:, 0] > 0).astype(y.dtype) if one_logit else jnp.argmax(pred, 1).astype(y.dtype)
        )
    if method == _DECISION:
        if one_logit:
            return pred[:, 0]
        return pred[:, 1] - pred[:, 0] if pred.shape[1] == 2 else pred
    if one_logit:  # predict_proba, as scikit-learn's scorers take it: the positive column
        return jax.nn.sigmoid(pred[:, 0])
    proba = jax.nn.softmax(pred, axis=1)
    return proba[:, 1] if pred.shape[1] == 2 else proba


def _call_user(func: Callable, kwargs: tuple, method: str, classifier: bool,
               pred: jax.Array, y: jax.Array, weight: jax.Array) -> jax.Array:  # fmt: skip
    return func(y, _response(method, classifier, pred, y), sample_weight=weight, **dict(kwargs))


def _traced(func: Callable, kwargs: dict, methods: tuple[str, ...], context: _Context,
            what: str) -> Metric:  # fmt: skip
    """A user's ``f(y_true, y_pred, sample_weight=None, **kwargs)`` as an in-graph metric."""
    known = f"sklearn.metrics functions jaxfit implements ({', '.join(sorted(_KNOWN))})"
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        params = {}
    takes_weight = "sample_weight" in params or any(
        p.kind == p.VAR_KEYWORD for p in params.values()
    )
    if not takes_weight:
        raise TypeError(
            f"{what}: jaxfit scores each cross-validation fold inside one compiled program, "
            "where the fold is a weight mask over all rows, so the function must take "
            "sample_weight and give rows of weight 0 no influence: write it as "
            "f(y_true, y_pred, sample_weight=None) with jax.numpy, or use one of the "
            f"{known}."
        )
    method = next((m for m in methods if m in (_PREDICT, _PROBA, _DECISION)), None)
    if method is None or (method != _PREDICT and not context.classifier):
        raise ValueError(f"{what}: response_method={methods!r} does not apply to {context.kind()}.")
    try:
        frozen = tuple(sorted(kwargs.items()))
        hash(frozen)
    except TypeError:
        raise TypeError(
            f"{what}: its keyword arguments must be hashable (numbers, str, tuples) to be "
            "static in the compiled program."
        ) from None
    metric = _user_metric(func, frozen, method, context.classifier)
    n, width = 4, (context.n_classes or 2) if context.classifier else context.n_outputs
    width = 1 if context.classifier and width == 2 else width  # one logit or k; both work
    pred = jax.ShapeDtypeStruct((n, width), jnp.float32)
    y_shape = (n,) if context.classifier or context.n_outputs == 1 else (n, context.n_outputs)
    y = jax.ShapeDtypeStruct(y_shape, jnp.int32 if context.classifier else jnp.float32)
    w = jax.ShapeDtypeStruct((n,), jnp.float32)
    try:
        out = jax.eval_shape(metric.fn, pred, y, w)
    except Exception as e:  # any failure to trace is the user's to see
        raise TypeError(
            f"{what}: the function does not trace under JAX, so it cannot run inside the "
            f"compiled program ({type(e).__name__}: {str(e)[:300]}). Write it with jax.numpy "
            f"(no numpy, no float() or if on values), or use one of the {known}."
        ) from None
    if getattr(out, "shape", None) != ():
        raise TypeError(
            f"{what}: the function must return a scalar; it returned "
            f"{getattr(out, 'shape', type(out).__name__)}."
        )
    return metric


@functools.cache
def _user_metric(func: Callable, kwargs: tuple, method: str, classifier: bool) -> Metric:
    name = getattr(func, "__name__", None) or type(func).__name__
    fn = functools.partial(_call_user, func, kwargs, method, classifier)
    return Metric(name, fn, None, greater_is_better=True, per_sample=False)
