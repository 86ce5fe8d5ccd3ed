"""GridSearchCV and RandomizedSearchCV in scikit-learn's words, run as one jaxfit sweep.

They are scikit-learn estimators (``clone``, pipelines, nested ``cross_val_score``), so this
module imports scikit-learn at the top; ``jaxfit/__init__.py`` imports it on first use.
"""

from __future__ import annotations

import copy
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import jax
import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.metrics import get_scorer
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._cv import as_folds
from .._hp import Space, choice, grid, zipped
from .._sweeping import SweepDiverged, SweepResult, divergence_advice, sweep
from .estimators import JaxfitEstimator
from .scoring import Scorer, get_scorers
from .stats import compare_to_best

__all__ = ["GridSearchCV", "RandomizedSearchCV"]


def _check_refit(search: _BaseSearch, attr: str) -> None:
    if not search.refit:
        raise AttributeError(
            f"This {type(search).__name__} was initialized with refit=False: {attr} needs the "
            "estimator refitted on the best parameters. Refit one yourself with best_params_, "
            "or search with refit=True."
        )


def _estimator_has(attr: str) -> Callable[[Any], bool]:
    """``available_if``'s check, as scikit-learn's searches: refit, and the estimator has it.

    Before ``fit``, the unfitted estimator is asked, so ``hasattr`` works on a new search.
    """

    def check(search: _BaseSearch) -> bool:
        _check_refit(search, attr)
        getattr(getattr(search, "best_estimator_", search.estimator), attr)
        return True

    return check


class _BaseSearch(MetaEstimatorMixin, BaseEstimator):
    """What both searches share: one sweep over settings × seeds × folds, then sklearn's view."""

    def __init__(
        self,
        estimator: Any,
        *,
        scoring: Any,
        cv: Any,
        seeds: int,
        refit: bool | str | Callable,
        error_score: float | str,
        return_train_score: bool,
        memory_budget: int | None,
        progress: bool | None,
    ) -> None:
        self.estimator = estimator
        self.scoring = scoring
        self.cv = cv
        self.seeds = seeds
        self.refit = refit
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.memory_budget = memory_budget
        self.progress = progress

    def __sklearn_tags__(self) -> Any:
        # As scikit-learn's BaseSearchCV: a regressor or a classifier as its estimator is.
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        # Beyond scikit-learn's: a search fits 2-D targets exactly when its estimator does.
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags

    def _space(self) -> Space:
        raise NotImplementedError

    def fit(self, X: Any, y: Any, *, groups: Any = None) -> Self:
        """Runs the whole search as one sweep, then refits the best setting on all data.

        Args:
          X: inputs ``(n, d)``.
          y: targets ``(n,)`` (class labels for a classifier).
          groups: group labels for a group-aware splitter (e.g. ``jaxfit.GroupKFold``).

        Returns:
          ``self``.
        """
        if not isinstance(self.estimator, JaxfitEstimator):
            raise TypeError(
                "estimator must be a jaxfit estimator (jaxfit.JaxfitRegressor or "
                f"jaxfit.JaxfitClassifier); got {type(self.estimator).__name__}. To search a "
                "scikit-learn estimator, use scikit-learn's GridSearchCV with it."
            )
        if not (isinstance(self.error_score, int | float) or self.error_score == "raise"):
            raise ValueError(f"error_score must be a number or 'raise'; got {self.error_score!r}.")
        t0 = time.perf_counter()
        # A clone validates the data: a meta-estimator leaves its `estimator` untouched.
        args = typing.cast(JaxfitEstimator, clone(self.estimator))._fit_args(X, y)
        classifier = args.classes is not None
        scorers = get_scorers(self.scoring, classifier=classifier)
        chooser = self._chooser(scorers)
        space = self._space()
        sweepable = set(self.estimator._jaxfit_param_names())
        bad = [n for n in space.names if n not in sweepable]
        if bad:
            raise ValueError(
                f"cannot search over {bad}: only hyperparameter fields can be swept; allowed are "
                f"{sorted(sweepable)}. To compare models or losses, run one search for each."
            )
        folds = as_folds(self.cv, args.x, args.y, groups, classifier=classifier)
        metrics = list(dict.fromkeys(s.metric for s in scorers.values() if s.metric is not None))
        result = sweep(
            args.model, args.loss, (args.x, args.y), args.hp, space,
            key=jax.random.key(args.seed), seeds=self.seeds, cv=folds, metrics=metrics,
            memory_budget=self.memory_budget, progress=self.progress,
        )  # fmt: skip
        if self.error_score == "raise" and result.diverged.any():
            raise SweepDiverged(
                f"{int(result.diverged.any(axis=1).sum())} of {len(result)} settings diverged "
                "and error_score='raise'; see the sweep for causes."
            )
        self.sweep_result_ = result
        self.n_splits_ = folds.n_folds
        self.multimetric_ = len(scorers) > 1
        self.scorer_ = scorers if self.multimetric_ else scorers[next(iter(scorers))]
        self._refit_scorer = None if chooser is None else scorers[chooser]
        self.cv_results_ = self._cv_results(result, scorers, space)
        self.comparison_ = None
        if chooser is not None:
            cells = self._cells(result, scorers[chooser], "val")
            if np.isfinite(cells.reshape(len(result), -1)).all(axis=1).any():
                test_frac = float(np.mean(folds.test.sum(1) / folds.train.sum(1)))
                self.comparison_ = compare_to_best(
                    cells, greater_is_better=True, test_fraction=test_frac
                )
                self.cv_results_["p_value_vs_best"] = np.asarray(self.comparison_.p_value)
                self.cv_results_["indistinguishable_from_best"] = np.asarray(
                    self.comparison_.indistinguishable
                )
            self._choose("score" if not self.multimetric_ else chooser)
        if self.refit:
            self._refit(result, X, y)
        self.search_time_ = time.perf_counter() - t0
        return self

    def _chooser(self, scorers: dict[str, Scorer]) -> str | None:
        """The scorer that ranks the settings; ``None`` for several scorers and no refit."""
        if len(scorers) == 1:  # as scikit-learn: one metric picks a best even without refit
            return next(iter(scorers))
        if self.refit is False:
            return None
        if callable(self.refit):
            return next(iter(scorers))
        if self.refit is True or self.refit not in scorers:
            raise ValueError(
                "with several scorers, refit must name the one that picks the best setting "
                f"({sorted(scorers)}), be a callable, or be False; got {self.refit!r}."
            )
        return str(self.refit)

    def _cells(self, result: SweepResult, scorer: Scorer, prefix: str) -> np.ndarray:
        name = f"{prefix}_{scorer.metric.name if scorer.metric else 'loss'}"
        cells = scorer.from_metric(result.cells(name).astype(np.float64))
        diverged = result.diverged.reshape(cells.shape)
        if isinstance(self.error_score, int | float):
            cells = np.where(diverged, float(self.error_score), cells)
        return cells

    def _cv_results(self, result: SweepResult, scorers: dict[str, Scorer], space: Space):
        n, folds, seeds = len(result), result.folds, result.seeds
        points = space.points()
        out: dict[str, Any] = {}
        per_fit = np.zeros(n)
        for g in result.groups:
            per_fit[g.indices] = g.run_s / max(len(g.indices) * seeds * folds, 1)
        out["mean_fit_time"] = per_fit
        out["std_fit_time"] = np.zeros(n)
        out["mean_score_time"] = np.zeros(n)
        out["std_score_time"] = np.zeros(n)
        for name in space.names:
            values = np.ma.MaskedArray(np.empty(n, object), mask=True)
            for i, p in enumerate(points):
                if name in p:
                    values[i] = p[name]
            out[f"param_{name}"] = values
        out["params"] = points
        sets = [("test", "val")] + ([("train", "train")] if self.return_train_score else [])
        for label, prefix in sets:
            for sname, scorer in scorers.items():
                suffix = "score" if len(scorers) == 1 else sname
                cells = self._cells(result, scorer, prefix)  # (n, seeds, folds)
                for k in range(folds):
                    out[f"split{k}_{label}_{suffix}"] = cells[:, :, k].mean(axis=1)
                    if seeds > 1:
                        for s in range(seeds):
                            out[f"split{k}_seed{s}_{label}_{suffix}"] = cells[:, s, k]
                flat = cells.reshape(n, -1)
                out[f"mean_{label}_{suffix}"] = flat.mean(axis=1)
                out[f"std_{label}_{suffix}"] = flat.std(axis=1)
                if label == "test":
                    out[f"rank_test_{suffix}"] = _rank(out[f"mean_test_{suffix}"])
        out["diverged"] = result.diverged.any(axis=1)
        return out

    def _choose(self, key: str) -> None:
        """Sets ``best_index_``, ``best_params_`` and (unless ``refit`` is a callable)
        ``best_score_``, as scikit-learn does."""
        if callable(self.refit):
            index = self.refit(self.cv_results_)
            if isinstance(index, bool) or not isinstance(index, int | np.integer):
                raise TypeError(f"refit callable must return an int index; got {index!r}.")
            n = len(self.cv_results_["params"])
            if not 0 <= int(index) < n:
                raise IndexError(f"refit callable returned {index}, outside 0..{n - 1}.")
            self.best_index_ = int(index)
        else:
            self.best_index_ = int(np.argmin(self.cv_results_[f"rank_test_{key}"]))
            self.best_score_ = float(self.cv_results_[f"mean_test_{key}"][self.best_index_])
        self.best_params_ = dict(self.cv_results_["params"][self.best_index_])

    def _refit(self, result: SweepResult, x: Any, y: Any) -> None:
        if result.diverged.any(axis=1).all():
            raise SweepDiverged(
                f"all {len(result)} settings diverged; there is no best setting to refit: "
                f"{divergence_advice(result)}. sweep_result_.summary() lists the causes."
            )
        t0 = time.perf_counter()
        fresh: Any = clone(self.estimator)
        self.best_estimator_ = fresh.set_params(**self.best_params_).fit(x, y)
        self.refit_time_ = time.perf_counter() - t0
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_

    # Delegation to the refitted estimator, as scikit-learn's searches do: each method exists
    # only when refit is on and the estimator has it.
    @available_if(_estimator_has("predict"))
    def predict(self, X: Any) -> np.ndarray:
        """Predicts with the refitted best estimator.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          ``best_estimator_.predict(X)``.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the refitted best classifier.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          ``best_estimator_.predict_proba(X)``, ``(n, K)`` in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Class log-probabilities from the refitted best classifier.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          ``best_estimator_.predict_log_proba(X)``.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Confidence scores from the refitted best classifier.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          ``best_estimator_.decision_function(X)``.
        """
        check_is_fitted(self)
        return self.best_estimator_.decision_function(X)

    @available_if(_estimator_has("score_samples"))
    def score_samples(self, X: Any) -> np.ndarray:
        """Per-sample scores from the refitted best estimator.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          ``best_estimator_.score_samples(X)``.
        """
        check_is_fitted(self)
        return self.best_estimator_.score_samples(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X: Any) -> np.ndarray:
        """Transforms with the refitted best estimator.

        Args:
          X: inputs ``(n, d)``.

        Returns:
          ``best_estimator_.transform(X)``.
        """
        check_is_fitted(self)
        return self.best_estimator_.transform(X)

    @available_if(_estimator_has("inverse_transform"))
    def inverse_transform(self, X: Any) -> np.ndarray:
        """Inverts a transform with the refitted best estimator.

        Args:
          X: transformed inputs.

        Returns:
          ``best_estimator_.inverse_transform(X)``.
        """
        check_is_fitted(self)
        return self.best_estimator_.inverse_transform(X)

    def score(self, X: Any, y: Any) -> float:
        """The refitted best estimator's score by the search's ``scoring``, as scikit-learn's.

        The scorer that chose the best setting (``refit``'s, with several), so nested
        cross-validation scores the outer folds as the search scored its inner ones: R² or
        accuracy by default, ``-MSE`` for ``scoring="neg_mean_squared_error"``. A jaxfit
        metric callable is applied to the model's outputs, as inside the sweep.

        Args:
          X: inputs ``(n, d)``.
          y: targets ``(n,)`` (class labels for a classifier).

        Returns:
          The score; greater is better.

        Raises:
          AttributeError: with ``refit=False`` (there is no refitted estimator).
        """
        _check_refit(self, "score")
        check_is_fitted(self)
        scorer = typing.cast(Scorer, self._refit_scorer)
        best = self.best_estimator_
        if scorer.sklearn_name is not None:
            return float(get_scorer(scorer.sklearn_name)(best, X, y))
        metric = typing.cast(Any, scorer.metric)
        value = metric(best._raw(X), best._targets(y), hp=best._hp())
        return float(scorer.from_metric(np.asarray(value, np.float64)))

    @property
    def classes_(self) -> np.ndarray:
        """The class labels of the refitted best classifier."""
        _estimator_has("classes_")(self)
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        """The number of input features of the refitted best estimator."""
        if not hasattr(self, "best_estimator_"):  # as scikit-learn: hasattr is False then
            raise AttributeError(f"{type(self).__name__} has no refitted estimator yet.")
        return self.best_estimator_.n_features_in_

    def summary(self, k: int = 10) -> str:
        """The top settings with mean ± std over folds × seeds and the paired comparison.

        Args:
          k: how many settings to show.

        Returns:
          A multi-line table.
        """
        if not hasattr(self, "cv_results_"):
            raise AttributeError("call fit() first.")
        if self.comparison_ is not None:
            names = [
                ", ".join(f"{a}={v}" for a, v in p.items()) for p in self.cv_results_["params"]
            ]
            return self.comparison_.table(names=names, k=k)
        return self.sweep_result_.summary(k)


def _rank(means: np.ndarray) -> np.ndarray:
    """scikit-learn's ranks: 1 is best, ties share the lowest rank, NaN ranks last."""
    filled = np.where(np.isnan(means), -np.inf, means)
    order = np.argsort(-filled, kind="stable")
    ranks = np.empty(len(means), np.int32)
    ranks[order] = np.arange(1, len(means) + 1)
    for value in np.unique(filled):  # ties: the lowest rank of the group
        tie = filled == value
        ranks[tie] = ranks[tie].min()
    return ranks


class GridSearchCV(_BaseSearch):
    """Exhaustive search over a grid, every setting × seed × fold in one compiled program.

    scikit-learn's ``GridSearchCV`` vocabulary (``fit``, ``cv_results_``, ``best_params_``,
    ``best_score_``, ``best_index_``, ``best_estimator_``, ``refit``, ``scoring``,
    ``error_score``, ``return_train_score``), run as one :func:`jaxfit.sweep` with the folds
    as a vmap axis. Seeds are one more axis, averaged in the scores and visible as
    ``split<k>_seed<s>_test_score``. A diverged setting scores ``error_score`` (NaN by
    default) and ranks last. ``comparison_`` and ``cv_results_["p_value_vs_best"]`` tell
    which settings cannot be told apart from the best by a corrected paired t-test over
    their shared folds and seeds.

    ``mean_fit_time`` is the group's run time divided by its fits (they run together, so
    a single fit's time does not exist); scores are computed inside the fits, so the score
    times are 0.

    It is a scikit-learn estimator: ``clone`` copies it, and ``cross_val_score`` can wrap it
    for nested cross-validation. With ``refit`` on, ``predict``, ``predict_proba``,
    ``decision_function`` (and ``transform`` etc., where the estimator has them) delegate to
    ``best_estimator_``, and ``score`` uses ``scoring``, as scikit-learn's searches do. With
    ``refit=False`` those are absent and ``score`` raises ``AttributeError``; a single
    scorer still sets ``best_index_``, ``best_params_`` and ``best_score_``, several scorers
    set none of them.

    Args:
      estimator: a :class:`jaxfit.JaxfitRegressor` or :class:`jaxfit.JaxfitClassifier`.
      param_grid: a dict from hyperparameter name to a list of values, or a list of such
        dicts (their grids are concatenated).

    Keyword Args:
      scoring (str | Callable | list | dict | None): a scoring name
        (``"neg_mean_squared_error"``, ``"r2"``, ``"accuracy"``, ``"neg_log_loss"``, ...), a
        callable ``(pred, y) -> scores`` (one per example), or a list or dict of them; default R² or
        accuracy.
      cv (Any): an int, a jaxfit or scikit-learn splitter, or explicit ``(train, test)``
        pairs.
      seeds (int): seeds per setting and fold.
      refit (bool | str | Callable): ``True``, the name of a scorer, a callable
        ``cv_results_ -> index`` (such as :func:`jaxfit.one_standard_error`), or ``False``.
      error_score (float | str): the score of a diverged setting, or ``"raise"``.
      return_train_score (bool): also report ``*_train_score``.
      memory_budget (int | None): bytes per device for the sweep.
      progress (bool | None): show a progress bar (default: when stderr is a terminal).

    Examples:
      >>> import numpy as np, jaxfit
      >>> rng = np.random.default_rng(0)
      >>> X = rng.normal(size=(60, 3)); y = X @ np.array([1.0, -2.0, 0.5])
      >>> est = jaxfit.JaxfitRegressor(optimizer="sgd", steps=100)
      >>> search = jaxfit.GridSearchCV(est, {"learning_rate": [0.001, 0.1]}, cv=3).fit(X, y)
      >>> search.best_params_
      {'learning_rate': 0.1}
      >>> search.cv_results_["rank_test_score"].tolist()
      [2, 1]
      >>> from sklearn.base import clone
      >>> clone(search).get_params()["param_grid"]
      {'learning_rate': [0.001, 0.1]}
    """

    def __init__(
        self,
        estimator: Any,
        param_grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]],
        *,
        scoring: Any = None,
        cv: Any = 5,
        seeds: int = 1,
        refit: bool | str | Callable = True,
        error_score: float | str = np.nan,
        return_train_score: bool = False,
        memory_budget: int | None = None,
        progress: bool | None = None,
    ) -> None:
        super().__init__(
            estimator,
            scoring=scoring,
            cv=cv,
            seeds=seeds,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            memory_budget=memory_budget,
            progress=progress,
        )
        self.param_grid = param_grid

    def _space(self) -> Space:
        grids = [self.param_grid] if isinstance(self.param_grid, Mapping) else self.param_grid
        if not isinstance(grids, Sequence) or not grids:
            raise TypeError(
                "param_grid must be a dict or a non-empty list of dicts; got "
                f"{self.param_grid!r:.80}."
            )
        space: Space | None = None
        for g in grids:
            if not isinstance(g, Mapping) or not g:
                raise TypeError(f"each param_grid entry must be a non-empty dict; got {g!r:.80}.")
            s = grid(**{k: _grid_values(k, v) for k, v in g.items()})
            space = s if space is None else space + s
        return typing.cast(Space, space)


def _is_single(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | np.generic) or value is None


def _grid_values(name: str, values: Any) -> list[Any]:
    """One axis of ``param_grid`` as a list, refusing what scikit-learn's ParameterGrid does.

    ``list("adam")`` would search four one-letter optimizers, and ``list(0.1)`` fails
    inside: a single value must be wrapped in a list, as in scikit-learn.
    """
    if hasattr(values, "__array__") and not isinstance(values, np.ndarray | np.generic):
        values = np.asarray(values)  # a JAX array, like a numpy one
    if isinstance(values, np.ndarray) and values.ndim > 1:
        raise ValueError(
            f"Parameter grid for parameter {name!r} needs to be one-dimensional, but got an "
            f"array of shape {values.shape}; pass a list of values (a single value as [value])."
        )
    if (
        isinstance(values, str)
        or not isinstance(values, Sequence | np.ndarray)
        or not np.ndim(values)
    ):
        raise TypeError(
            f"Parameter grid for parameter {name!r} needs to be a list or a numpy array, but "
            f"got {values!r:.60} (of type {type(values).__name__}) instead. Single values need "
            "to be wrapped in a list with one element."
        )
    if len(values) == 0:
        raise ValueError(
            f"Parameter grid for parameter {name!r} needs to be a non-empty sequence; got "
            f"{values!r:.60}."
        )
    return list(values)


class RandomizedSearchCV(_BaseSearch):
    """Random search: ``n_iter`` sampled settings × seeds × folds in one compiled program.

    The same results and attributes as :class:`jaxfit.GridSearchCV`, and the same keyword
    arguments ``scoring``, ``cv``, ``seeds``, ``refit``, ``error_score``,
    ``return_train_score``, ``memory_budget`` and ``progress``.

    Args:
      estimator: a :class:`jaxfit.JaxfitRegressor` or :class:`jaxfit.JaxfitClassifier`.
      param_distributions: a dict from hyperparameter name to a jaxfit distribution
        (:func:`jaxfit.loguniform`, :func:`jaxfit.uniform`, :func:`jaxfit.integers`,
        :func:`jaxfit.choice`), a list (sampled uniformly), or a scipy.stats distribution
        (anything with ``rvs``).
      n_iter: the number of settings sampled.
      seed: the sampling seed (also used for nothing else).

    Examples:
      >>> import numpy as np, jaxfit
      >>> rng = np.random.default_rng(0)
      >>> X = rng.normal(size=(60, 3)); y = X @ np.array([1.0, -2.0, 0.5])
      >>> est = jaxfit.JaxfitRegressor(optimizer="sgd", steps=100)
      >>> dists = {"learning_rate": jaxfit.loguniform(1e-3, 0.2)}
      >>> search = jaxfit.RandomizedSearchCV(est, dists, n_iter=4, cv=3).fit(X, y)
      >>> len(search.cv_results_["params"]), search.best_score_ > 0.9
      (4, True)
    """

    def __init__(
        self,
        estimator: Any,
        param_distributions: Mapping[str, Any],
        *,
        n_iter: int = 10,
        seed: int = 0,
        scoring: Any = None,
        cv: Any = 5,
        seeds: int = 1,
        refit: bool | str | Callable = True,
        error_score: float | str = np.nan,
        return_train_score: bool = False,
        memory_budget: int | None = None,
        progress: bool | None = None,
    ) -> None:
        super().__init__(
            estimator,
            scoring=scoring,
            cv=cv,
            seeds=seeds,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            memory_budget=memory_budget,
            progress=progress,
        )
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.seed = seed

    def _space(self) -> Space:
        if isinstance(self.n_iter, bool) or not isinstance(self.n_iter, int) or self.n_iter < 1:
            raise ValueError(f"n_iter must be a positive int; got {self.n_iter!r}.")
        dists = self.param_distributions
        if not isinstance(dists, Mapping) or not dists:
            raise TypeError(f"param_distributions must be a non-empty dict; got {dists!r:.80}.")
        rng = np.random.default_rng(self.seed)
        axes = {}
        for name, d in dists.items():
            if hasattr(d, "sample"):
                values = d.sample(rng, self.n_iter)
            elif hasattr(d, "rvs"):
                values = [v.item() for v in np.asarray(d.rvs(size=self.n_iter, random_state=rng))]
            elif isinstance(d, list | tuple | np.ndarray) and len(d):
                values = choice(list(d)).sample(rng, self.n_iter)
            else:
                single = f" Wrap a single value in a list: [{d!r:.60}]." if _is_single(d) else ""
                raise TypeError(
                    f"param_distributions[{name!r}]={d!r:.80} (of type {type(d).__name__}) is "
                    "neither a distribution (jaxfit.loguniform(...), a scipy.stats one) nor a "
                    f"non-empty list of values.{single}"
                )
            axes[name] = list(values)
        return zipped(**axes)
