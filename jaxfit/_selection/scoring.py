"""scikit-learn's scoring names, mapped onto jaxfit metrics evaluated inside the sweep."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._training import Metric, get_metric

__all__ = ["SCORERS", "Scorer", "get_scorers"]


@dataclasses.dataclass(frozen=True)
class Scorer:
    """A score (greater is better) computed from a jaxfit metric on each test fold.

    Attributes:
      name: the scoring name, as in scikit-learn (``"neg_mean_squared_error"``, ...).
      metric: the jaxfit metric evaluated inside the compiled program, or ``None`` for the
        training loss itself (``"neg_log_loss"`` uses the classifier's cross-entropy).
      sign: +1 if the metric is a score, -1 if it is a loss.
      root: take the square root of the metric first (``neg_root_mean_squared_error``).
      sklearn_name: the scikit-learn scoring name it computes, which scores a fitted
        estimator on new data; ``None`` for a jaxfit metric callable.
    """

    name: str
    metric: Metric | None
    sign: float
    root: bool = False
    sklearn_name: str | None = None

    def from_metric(self, values: np.ndarray) -> np.ndarray:
        """Turns metric values into scores."""
        values = np.sqrt(values) if self.root else values
        return self.sign * values


SCORERS: dict[str, Callable[[], Scorer]] = {
    "neg_mean_squared_error": lambda: Scorer("neg_mean_squared_error", get_metric("mse"), -1.0),
    "neg_root_mean_squared_error": lambda: Scorer(
        "neg_root_mean_squared_error", get_metric("mse"), -1.0, root=True
    ),
    "neg_mean_absolute_error": lambda: Scorer("neg_mean_absolute_error", get_metric("mae"), -1.0),
    "r2": lambda: Scorer("r2", get_metric("r2"), 1.0),
    "accuracy": lambda: Scorer("accuracy", get_metric("accuracy"), 1.0),
    "neg_log_loss": lambda: Scorer("neg_log_loss", None, -1.0),
}


def get_scorers(
    scoring: str | Callable | Sequence[str] | Mapping[str, Any] | None, *, classifier: bool
) -> dict[str, Scorer]:
    """Resolves a ``scoring`` argument into named scorers (the first one is the default).

    Args:
      scoring: ``None`` (R² for a regressor, accuracy for a classifier, as scikit-learn's
        ``estimator.score``), a scoring name, a :class:`jaxfit.Metric` (a loss such as
        ``jaxfit.mse`` scores negated, as ``"neg_mse"``, so that greater is better), a
        plain callable ``(pred, y) -> scores`` (one per example; jaxfit takes their weighted
        mean) whose greater values are better, or a list / dict of those.
      classifier: whether the estimator is a classifier.

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
    elif isinstance(scoring, Mapping):
        items = list(scoring.items())
    elif isinstance(scoring, Sequence) and scoring:
        items = [(None, s) for s in scoring]
    else:
        raise TypeError(
            "scoring must be None, a scoring name, a callable (pred, y) -> scores per example, "
            f"or a non-empty list or dict of those; got {scoring!r:.80}."
        )
    out: dict[str, Scorer] = {}
    for key, spec in items:
        scorer = _one(spec, classifier)
        name = key if key is not None else scorer.name
        if name in out:
            raise ValueError(f"scoring names {name!r} twice.")
        out[name] = dataclasses.replace(scorer, name=name)
    return out


def _one(spec: Any, classifier: bool) -> Scorer:
    if isinstance(spec, str):
        if spec not in SCORERS:
            raise ValueError(f"scoring={spec!r} is not supported; allowed are {sorted(SCORERS)}.")
        if classifier != (spec in ("accuracy", "neg_log_loss")):
            kind = "a classifier" if classifier else "a regressor"
            raise ValueError(f"scoring={spec!r} does not apply to {kind}.")
        return dataclasses.replace(SCORERS[spec](), sklearn_name=spec)
    if callable(spec):
        if _looks_like_sklearn_scorer(spec):
            raise TypeError(
                "scikit-learn scorer objects (estimator, X, y) -> score are not supported: jaxfit "
                "scores inside the compiled program. Pass a scoring name or a callable "
                "(pred, y) -> scores per example, whose greater values are better."
            )
        if isinstance(spec, Metric):  # it knows its direction: a loss scores negated
            sign = 1.0 if spec.greater_is_better else -1.0
            return Scorer(spec.name if sign > 0 else f"neg_{spec.name}", spec, sign)
        metric = get_metric(spec)  # memoised: the same callable keeps its compiled programs
        return Scorer(metric.name, metric, 1.0)
    raise TypeError(f"a scorer must be a name or a callable; got {spec!r:.80}.")


def _looks_like_sklearn_scorer(fn: Any) -> bool:
    return type(fn).__name__.endswith("Scorer") or hasattr(fn, "_score_func")
