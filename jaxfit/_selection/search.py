"""GridSearchCV and RandomizedSearchCV in scikit-learn's words, run as one jaxfit sweep.

They are scikit-learn estimators (``clone``, pipelines, nested ``cross_val_score``), so this
module imports scikit-learn at the top; ``jaxfit/__init__.py`` imports it on first use.
"""

from __future__ import annotations

import copy
import functools
import itertools
import operator
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
from .._hp import Space, choice, zipped
from .._sweeping import SweepDiverged, SweepResult, divergence_advice, sweep
from .estimators import plain_value as _plain
from .pipeline import search_target
from .scoring import Scorer, get_scorers, is_multimetric
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

    def _points(self) -> list[dict[str, Any]]:
        """The settings searched, in order: dicts from parameter name to value."""
        raise NotImplementedError

    def fit(self, X: Any, y: Any, *, groups: Any = None) -> Self:
        """Runs the search as one sweep per estimator-level choice, then refits the best.

        Hyperparameter fields (``learning_rate``, ``hidden``, ...) of all settings run in
        one sweep; estimator parameters that are not (``model``, a regressor's ``loss``,
        ``seed``) run one sweep per distinct combination, merged in the order of the grid.

        Args:
          X: inputs ``(n, d)``.
          y: targets ``(n,)`` (class labels for a classifier).
          groups: group labels for a group-aware splitter (e.g. ``jaxfit.GroupKFold``).

        Returns:
          ``self``.
        """
        target = search_target(self.estimator)
        if not (isinstance(self.error_score, int | float) or self.error_score == "raise"):
            raise ValueError(f"error_score must be a number or 'raise'; got {self.error_score!r}.")
        t0 = time.perf_counter()
        # A clone validates the data: a meta-estimator leaves its `estimator` untouched.
        args = target.fit_args(clone(self.estimator), X, y)
        classifier = args.classes is not None
        n_outputs = 1 if args.y.ndim == 1 else int(args.y.shape[1])
        scorers = get_scorers(
            self.scoring, classifier=classifier, classes=args.classes, n_outputs=n_outputs
        )
        self.multimetric_ = is_multimetric(self.scoring)
        chooser = self._chooser(scorers)
        points = self._points()
        hp_names, outer = set(target.hp_names), set(target.other_names)
        names = list(dict.fromkeys(n for p in points for n in p))
        bad = [n for n in names if n not in hp_names and n not in outer]
        if bad:
            raise ValueError(
                f"cannot search over {bad}: they are neither hyperparameter fields "
                f"{sorted(hp_names)} (one compiled program for all their values) nor "
                f"parameters of {type(self.estimator).__name__} {sorted(outer)} (one sweep "
                "per distinct combination)."
            )
        folds = as_folds(self.cv, args.x, args.y, groups, classifier=classifier)
        self._fold_rows = {"val": (folds.test > 0).sum(1), "train": (folds.train > 0).sum(1)}
        metrics = list(dict.fromkeys(s.metric for s in scorers.values() if s.metric is not None))
        named: dict[str, Any] = {}
        for m in metrics:
            if named.setdefault(m.name, m) is not m:
                raise ValueError(
                    f"two different scorers use metrics named {m.name!r}; their results would "
                    "share one name. Rename one (e.g. the function behind a make_scorer)."
                )
        plans = []  # every estimator-level choice is validated before anything compiles
        for choice_, indices in _by_choice(points, outer):
            est = clone(self.estimator).set_params(**choice_)
            hp_points = [
                {target.field(k): v for k, v in points[i].items() if k not in outer}
                for i in indices
            ]
            plans.append((np.asarray(indices), target.fit_args(est, X, y) if choice_ else args,
                          hp_points))  # fmt: skip
        runs = [
            _Run(indices, sweep(
                a.model, a.loss, (a.x, a.y), a.hp, _space_of(hp_points, a.hp),
                key=jax.random.key(a.seed), seeds=self.seeds, cv=folds, metrics=metrics,
                memory_budget=self.memory_budget, progress=self.progress,
            ))
            for indices, a, hp_points in plans
        ]  # fmt: skip
        diverged = np.zeros(len(points), bool)
        for run in runs:
            diverged[run.indices] = run.result.diverged.any(axis=1)
        if self.error_score == "raise" and diverged.any():
            raise SweepDiverged(
                f"{int(diverged.sum())} of {len(points)} settings diverged and "
                "error_score='raise'; see the sweep for causes."
            )
        self.sweep_result_ = runs[0].result if len(runs) == 1 else [r.result for r in runs]
        self.n_splits_ = folds.n_folds
        self.scorer_ = scorers if self.multimetric_ else scorers[next(iter(scorers))]
        self._refit_scorer = None if chooser is None else scorers[chooser]
        self.cv_results_ = self._cv_results(runs, scorers, points, names)
        self.comparison_ = None
        if chooser is not None:
            cells = self._cells(runs, scorers[chooser], "val")
            if np.isfinite(cells.reshape(len(points), -1)).all(axis=1).any():
                test_frac = float(np.mean(folds.test.sum(1) / folds.train.sum(1)))
                self.comparison_ = compare_to_best(
                    cells, greater_is_better=True, test_fraction=test_frac
                )
                self.cv_results_["p_value_vs_best"] = np.asarray(self.comparison_.p_value)
                self.cv_results_["indistinguishable_from_best"] = np.asarray(
                    self.comparison_.indistinguishable
                )
            self._choose(chooser if self.multimetric_ else "score")
        if self.refit:
            self._refit(runs, X, y)
        self.search_time_ = time.perf_counter() - t0
        return self

    def _chooser(self, scorers: dict[str, Scorer]) -> str | None:
        """The scorer that ranks the settings; ``None`` for multi-metric scoring, no refit.

        scikit-learn's rules: a single scorer picks a best even without refit; a list,
        tuple, set or dict (even of one) is multi-metric, and ``refit`` must then name one
        of its scorers, be a callable or be ``False``.
        """
        if not self.multimetric_:
            return next(iter(scorers))
        if self.refit is False:
            return None
        if callable(self.refit):
            return next(iter(scorers))
        if self.refit is True or self.refit not in scorers:
            raise ValueError(
                "with multi-metric scoring (a list, tuple, set or dict), refit must name the "
                f"scorer that picks the best setting ({sorted(scorers)}), be a callable, or be "
                f"False; got {self.refit!r}."
            )
        return str(self.refit)

    def _run_cells(self, result: SweepResult, scorer: Scorer, prefix: str) -> np.ndarray:
        name = f"{prefix}_{scorer.metric.name if scorer.metric else 'loss'}"
        cells = scorer.from_metric(result.cells(name).astype(np.float64))
        diverged = result.diverged.reshape(cells.shape)
        if isinstance(self.error_score, int | float):
            cells = np.where(diverged, float(self.error_score), cells)
        few = self._fold_rows[prefix] < scorer.min_rows  # (folds,): e.g. R² of one row
        return np.where(few, np.nan, cells)

    def _cells(self, runs: list[_Run], scorer: Scorer, prefix: str) -> np.ndarray:
        """``(settings, seeds, folds)`` scores, merged from the sweeps in the grid's order."""
        n = sum(len(r.indices) for r in runs)
        first = runs[0].result
        out = np.full((n, first.seeds, first.folds), np.nan)
        for run in runs:
            out[run.indices] = self._run_cells(run.result, scorer, prefix)
        return out

    def _cv_results(
        self, runs: list[_Run], scorers: dict[str, Scorer], points: list[dict], names: list[str]
    ) -> dict[str, Any]:
        n, folds, seeds = len(points), runs[0].result.folds, runs[0].result.seeds
        out: dict[str, Any] = {}
        fit_time = np.full(n, np.nan)
        program = np.zeros(n, np.int64)
        sweep_of = np.zeros(n, np.int64)
        pid = 0
        for s, run in enumerate(runs):
            sweep_of[run.indices] = s
            for g in run.result.groups:
                rows = run.indices[g.indices]
                program[rows] = pid
                pid += 1
                fits = len(g.indices) * seeds * folds
                if g.n_chunks > 0 and fits:  # else resumed from a checkpoint: not measured
                    fit_time[rows] = g.run_s / fits
        # One program trains all its settings x seeds x folds at once: only its wall time
        # exists. Each row gets that time per fit, exactly equal within a program; per-fit
        # spreads and scoring times (scores are computed inside the fits) do not exist.
        out["mean_fit_time"] = fit_time
        out["std_fit_time"] = np.full(n, np.nan)
        out["mean_score_time"] = np.full(n, np.nan)
        out["std_score_time"] = np.full(n, np.nan)
        for name in names:
            values = np.ma.MaskedArray(np.empty(n, object), mask=True)
            for i, p in enumerate(points):
                if name in p:
                    values[i] = p[name]
            out[f"param_{name}"] = values
        out["params"] = points
        sets = [("test", "val")] + ([("train", "train")] if self.return_train_score else [])
        for label, prefix in sets:
            for sname, scorer in scorers.items():
                suffix = sname if self.multimetric_ else "score"
                cells = self._cells(runs, scorer, prefix)  # (n, seeds, folds)
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
        diverged = np.zeros(n, bool)
        for run in runs:
            diverged[run.indices] = run.result.diverged.any(axis=1)
        out["diverged"] = diverged
        out["program"] = program
        out["sweep"] = sweep_of
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

    def _refit(self, runs: list[_Run], x: Any, y: Any) -> None:
        if self.cv_results_["diverged"].all():
            n = len(self.cv_results_["params"])
            raise SweepDiverged(
                f"all {n} settings diverged; there is no best setting to refit: "
                f"{divergence_advice(runs[0].result)}. sweep_result_.summary() lists the causes."
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
        if scorer.sklearn_scorer is not None:  # a make_scorer: scikit-learn runs it
            return float(scorer.sklearn_scorer(best, X, y))
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
        results = (
            self.sweep_result_ if isinstance(self.sweep_result_, list) else [self.sweep_result_]
        )
        return "\n\n".join(r.summary(k) for r in results)


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

    Estimator parameters that are not hyperparameter fields (``model``, a regressor's
    ``loss``, ``seed``) are searchable too, as sub-grids in scikit-learn's
    ``plot_grid_search_digits.py``: ``[{"model": ["linear"], "l2": [...]}, {"model":
    ["mlp"], "hidden": [(8,), (16,)]}]``. The search runs one sweep per distinct
    combination of them and merges the results in the order of the grid: ``cv_results_``,
    ranks, ``best_*`` and the refit cover all settings; ``sweep_result_`` is the
    :class:`jaxfit.SweepResult` when one sweep ran, else the list of them in order of first
    appearance, and ``cv_results_["sweep"]`` indexes that list (the rows of sweep ``s`` are
    the settings with ``sweep == s``, in order).

    Timing is what was measured: a compiled program trains its settings × seeds × folds
    together, so only its wall time exists. ``mean_fit_time`` is that time per fit, exactly
    equal for the settings of one program, which ``cv_results_["program"]`` numbers; NaN for
    a program resumed from a checkpoint. ``std_fit_time``, ``mean_score_time`` and
    ``std_score_time`` are NaN: per-fit spreads were not measured, and scores are computed
    inside the fits. A rule "pick the fastest" cannot tell the settings of one program
    apart: break such ties explicitly (by ``program``, then another column).

    Scores are computed inside the program on each test fold (a weight mask), as
    scikit-learn computes them on the fold's rows: every scoring name listed in the API
    reference (Model selection, "Scoring inside the program": ``precision_macro``, ``f1``,
    ``balanced_accuracy``, ``roc_auc_ovr``, ``neg_log_loss``, ``explained_variance``,
    ``neg_median_absolute_error``, ...), and
    ``sklearn.metrics.make_scorer`` of a function jaxfit implements or of one written with
    ``jax.numpy`` that takes ``sample_weight``. Where scikit-learn raises or warns with a
    placeholder (a ROC AUC on a fold with one class) the score is NaN.

    It is a scikit-learn estimator: ``clone`` copies it, and ``cross_val_score`` can wrap it
    for nested cross-validation. With ``refit`` on, ``predict``, ``predict_proba``,
    ``decision_function`` (and ``transform`` etc., where the estimator has them) delegate to
    ``best_estimator_``, and ``score`` uses ``scoring``, as scikit-learn's searches do. With
    ``refit=False`` those are absent and ``score`` raises ``AttributeError``; a single
    scorer still sets ``best_index_``, ``best_params_`` and ``best_score_``, several scorers
    set none of them.

    Args:
      estimator: a :class:`jaxfit.JaxfitRegressor` or :class:`jaxfit.JaxfitClassifier`, or
        a scikit-learn ``Pipeline`` of ``StandardScaler()`` / ``PCA(n_components=int)``
        steps ending in one: the preprocessing is then fitted on each fold's training rows
        inside the compiled program (:func:`jaxfit.pipeline`), and names take
        scikit-learn's ``step__param`` form.
      param_grid: a dict from parameter name (a hyperparameter field, or another
        parameter of the estimator such as ``model``) to a list of values, or a list of such
        dicts (sub-grids, concatenated).

    Keyword Args:
      scoring (str | Callable | list | dict | None): a scoring name
        (``"neg_mean_squared_error"``, ``"r2"``, ``"f1_macro"``, ``"roc_auc"``, ...), a
        ``sklearn.metrics.make_scorer``, a callable ``(pred, y) -> scores`` (one per
        example), or a list, tuple, set or dict of them (multi-metric, as scikit-learn's:
        keys ``mean_test_<name>``, and ``refit`` must name one); default R² or accuracy.
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

    def _points(self) -> list[dict[str, Any]]:
        grids = [self.param_grid] if isinstance(self.param_grid, Mapping) else self.param_grid
        if not isinstance(grids, Sequence) or not grids:
            raise TypeError(
                "param_grid must be a dict or a non-empty list of dicts; got "
                f"{self.param_grid!r:.80}."
            )
        hp_names = _hp_names(self.estimator)
        points: list[dict[str, Any]] = []
        for g in grids:  # sub-grids concatenated; each a product, its last axis fastest
            if not isinstance(g, Mapping) or not g:
                raise TypeError(f"each param_grid entry must be a non-empty dict; got {g!r:.80}.")
            # The names in sorted order, as scikit-learn's ParameterGrid: cv_results_ rows
            # are then the same settings in the same order as scikit-learn's.
            axes = {k: _values(k, _grid_values(k, g[k]), hp_names) for k in sorted(g)}
            points += [
                dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())
            ]
        return points


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

    The same results and attributes as :class:`jaxfit.GridSearchCV` (estimator-level
    parameters such as ``model`` may be sampled too: one sweep per distinct value), and
    the same keyword arguments ``scoring``, ``cv``, ``seeds``, ``refit``, ``error_score``,
    ``return_train_score``, ``memory_budget`` and ``progress``.

    Args:
      estimator: as for :class:`jaxfit.GridSearchCV` (a jaxfit estimator, or a pipeline
        ending in one).
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

    def _points(self) -> list[dict[str, Any]]:
        if isinstance(self.n_iter, bool) or not isinstance(self.n_iter, int) or self.n_iter < 1:
            raise ValueError(f"n_iter must be a positive int; got {self.n_iter!r}.")
        dists = self.param_distributions
        if not isinstance(dists, Mapping) or not dists:
            raise TypeError(f"param_distributions must be a non-empty dict; got {dists!r:.80}.")
        rng = np.random.default_rng(self.seed)
        hp_names = _hp_names(self.estimator)
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
            axes[name] = _values(name, list(values), hp_names)
        return [dict(zip(axes, row, strict=True)) for row in zip(*axes.values(), strict=True)]


class _Run(typing.NamedTuple):
    """One sweep of a search: the settings it ran (indices into the grid) and its result."""

    indices: np.ndarray
    result: SweepResult


def _hp_names(estimator: Any) -> set[str]:
    try:
        return set(search_target(estimator).hp_names)
    except TypeError:  # fit says why
        return set()


def _values(name: str, values: list[Any], hp_names: set[str]) -> list[Any]:
    """One axis's values as a sweep takes them: hyperparameters checked as jaxfit.grid checks
    them (lists become tuples); other estimator parameters as plain Python values."""
    if name in hp_names:
        return [p[name] for p in zipped(**{name: values}).points()]
    return [_plain(v) for v in values]


def _by_choice(points: list[dict[str, Any]], outer: set[str]) -> list[tuple[dict, list[int]]]:
    """The settings grouped by their estimator-level parameters, in first-seen order."""
    groups: list[tuple[dict, list[int]]] = []
    for i, p in enumerate(points):
        key = {k: v for k, v in p.items() if k in outer}
        for known, indices in groups:
            if _equal_params(known, key):
                indices.append(i)
                break
        else:
            groups.append((key, [i]))
    return groups


def _equal_params(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(a[k] is b[k] or (type(a[k]) is type(b[k]) and _same(a[k], b[k])) for k in a)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # objects that do not compare as one bool are different choices
        return False


def _space_of(points: list[dict[str, Any]], base: Any) -> Space:
    """The hyperparameter settings of one sweep as a space, in order."""
    if points and all(p.keys() == points[0].keys() for p in points) and points[0]:
        return zipped(**{k: [p[k] for p in points] for k in points[0]})
    # Sub-grids set different fields; a point with none (only estimator-level choices)
    # sets `steps` to its own value, a no-op: a space point cannot be empty.
    parts = [zipped(**{k: [v] for k, v in (p or {"steps": base.steps}).items()}) for p in points]
    return functools.reduce(operator.add, parts)
