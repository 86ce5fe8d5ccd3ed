"""What a search trains: a jaxfit estimator, or a scikit-learn ``Pipeline`` of preprocessing
steps jaxfit fits inside its compiled program, ending in one.

A ``Pipeline([("scale", StandardScaler()), ("pca", PCA(10)), ("clf", JaxfitClassifier())])``
becomes the classifier's model behind :func:`jaxfit.pipeline` with
:class:`jaxfit.Standardize` and :class:`jaxfit.PCA`: every cross-validation fold fits the
preprocessing on its own training rows, inside the same vmapped program. The searched names
keep scikit-learn's ``step__param`` form; the final step's hyperparameter fields are swept
in one program, and the other parameters (``pca__n_components``, ``clf__model``) one sweep
per distinct combination.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sklearn.decomposition import PCA as SkPCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .._training import PCA, Standardize, pipeline
from .estimators import FitArgs, JaxfitEstimator

__all__ = ["SearchTarget", "search_target"]

_WORKS = (
    "jaxfit runs these pipeline steps inside its compiled search: StandardScaler() (with "
    "its defaults), PCA(n_components=<int>) (without whitening), 'passthrough', and a final "
    "jaxfit.JaxfitRegressor or jaxfit.JaxfitClassifier. For other steps, transform the data "
    "before the search, or use scikit-learn's GridSearchCV."
)


@dataclasses.dataclass(frozen=True)
class SearchTarget:
    """A search's estimator seen as a jaxfit estimator with preprocessing in front of it.

    Attributes:
      prefix: ``"<final step>__"`` for a pipeline, ``""`` for a jaxfit estimator.
      hp_names: the searchable names that are hyperparameter fields (with the prefix).
      other_names: every other searchable parameter (one sweep per combination).
    """

    prefix: str
    hp_names: frozenset[str]
    other_names: frozenset[str]

    def fit_args(self, estimator: Any, X: Any, y: Any) -> FitArgs:
        """The data, model, loss and hyperparameters of ``estimator`` (a configured clone)."""
        if not isinstance(estimator, Pipeline):
            return estimator._fit_args(X, y)
        transforms, final = _translate(estimator)
        args = final._fit_args(X, y)
        if transforms:
            args = args._replace(model=pipeline(*transforms, args.model))
        return args

    def field(self, name: str) -> str:
        """The hyperparameter field a searchable name sets (the name without the prefix)."""
        return name[len(self.prefix) :] if self.prefix and name.startswith(self.prefix) else name


def search_target(estimator: Any) -> SearchTarget:
    """Checks a search's ``estimator`` and describes what it trains.

    Raises:
      TypeError: for anything but a jaxfit estimator or a pipeline of steps jaxfit knows
        ending in one (the message lists what works).
    """
    if isinstance(estimator, JaxfitEstimator):
        hp = frozenset(estimator._jaxfit_param_names())
        return SearchTarget("", hp, frozenset(estimator.get_params(deep=False)) - hp)
    if isinstance(estimator, Pipeline):
        _, final = _translate(estimator)
        name = estimator.steps[-1][0]
        prefix = f"{name}__"
        hp = frozenset(prefix + n for n in final._jaxfit_param_names())
        return SearchTarget(prefix, hp, frozenset(estimator.get_params(deep=True)) - hp)
    raise TypeError(
        "estimator must be a jaxfit estimator (jaxfit.JaxfitRegressor or "
        f"jaxfit.JaxfitClassifier) or a scikit-learn Pipeline ending in one; got "
        f"{type(estimator).__name__}. To search a scikit-learn estimator, use scikit-learn's "
        "GridSearchCV with it."
    )


def _translate(pipe: Pipeline) -> tuple[tuple[Any, ...], JaxfitEstimator]:
    """The pipeline's preprocessing as jaxfit transforms, and its final jaxfit estimator."""
    if not pipe.steps:
        raise TypeError(f"the Pipeline has no steps. {_WORKS}")
    name, final = pipe.steps[-1]
    if not isinstance(final, JaxfitEstimator):
        raise TypeError(
            f"the Pipeline's last step {name!r} is a {type(final).__name__}, not a jaxfit "
            f"estimator. {_WORKS}"
        )
    transforms = []
    for step_name, step in pipe.steps[:-1]:
        if step is None or step == "passthrough":
            continue
        transforms.append(_transform(step_name, step))
    return tuple(transforms), final


def _transform(name: str, step: Any) -> Any:
    if type(step) is StandardScaler:
        if not (step.with_mean and step.with_std):
            raise TypeError(
                f"pipeline step {name!r}: StandardScaler(with_mean={step.with_mean}, "
                f"with_std={step.with_std}) is not supported inside the program; only the "
                f"default (centre and scale). {_WORKS}"
            )
        return Standardize()
    if type(step) is SkPCA:
        n = step.n_components
        if isinstance(n, bool) or not isinstance(n, int) or n < 1 or step.whiten:
            raise TypeError(
                f"pipeline step {name!r}: PCA(n_components={n!r}, whiten={step.whiten}) is not "
                "supported inside the program; it needs an int n_components and no whitening "
                f"(search n_components as {name}__n_components=[...]). {_WORKS}"
            )
        return PCA(int(n))
    raise TypeError(f"pipeline step {name!r} is a {type(step).__name__}. {_WORKS}")
