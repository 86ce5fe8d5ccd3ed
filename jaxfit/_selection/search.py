"""GridSearchCV and RandomizedSearchCV in scikit-learn's words, run as one jaxfit sweep."""

from __future__ import annotations

import time
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np

from .._cv import as_folds
from .._hp import Space, choice, grid, zipped
from .._sweeping import SweepDiverged, SweepResult, sweep
from .scoring import Scorer, get_scorers
from .stats import compare_to_best

__all__ = ["GridSearchCV", "RandomizedSearchCV", "one_standard_error"]


class _BaseSearch:
    """What both searches share: one sweep over settings × seeds × folds, then sklearn's view."""

    def __init__(
        self,
        estimator: Any,
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
        self.estimator = estimator
        self.scoring = scoring
        self.cv = cv
        self.seeds = seeds
        self.refit = refit
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.memory_budget = memory_budget
        self.progress = progress

    def _space(self) -> Space:
        raise NotImplementedError

    def fit(self, X: Any, y: Any, *, groups: Any = None) -> _BaseSearch:
        """Runs the whole search as one sweep, then refits the best setting on all data.

        Args:
          X: inputs ``(n, d)``.
          y: targets ``(n,)`` (class labels for a classifier).
          groups: group labels for a group-aware splitter (e.g. ``jaxfit.GroupKFold``).

        Returns:
          ``self``.
        """
        if not hasattr(self.estimator, "_jaxfit_setup"):
            raise TypeError(
                "estimator must be a jaxfit estimator (jaxfit.JaxfitRegressor or "
                f"jaxfit.JaxfitClassifier); got {type(self.estimator).__name__}. To search a "
                "scikit-learn estimator, use scikit-learn's GridSearchCV with it."
            )
        if not (isinstance(self.error_score, int | float) or self.error_score == "raise"):
            raise ValueError(f"error_score must be a number or 'raise'; got {self.error_score!r}.")
        t0 = time.perf_counter()
        setup = self.estimator._jaxfit_setup(X, y)
        classifier = setup.classes is not None
        scorers = get_scorers(self.scoring, classifier=classifier)
        refit_name = self._refit_name(scorers)
        space = self._space()
        sweepable = set(self.estimator._jaxfit_param_names())
        bad = [n for n in space.names if n not in sweepable]
        if bad:
            raise ValueError(
                f"cannot search over {bad}: only hyperparameter fields can be swept; allowed are "
                f"{sorted(sweepable)}. To compare models or losses, run one search for each."
            )
        folds = as_folds(self.cv, setup.x, setup.y, groups, classifier=classifier)
        metrics = list(dict.fromkeys(s.metric for s in scorers.values() if s.metric is not None))
        result = sweep(
            setup.model, setup.loss, (setup.x, setup.y), setup.hp, space,
            key=jax.random.key(setup.seed), seeds=self.seeds, cv=folds, metrics=metrics,
            memory_budget=self.memory_budget, progress=self.progress,
        )  # fmt: skip
        if self.error_score == "raise" and result.diverged.any():
            raise SweepDiverged(
                f"{int(result.diverged.any(axis=1).sum())} of {len(result)} settings diverged "
                "and error_score='raise'; see the sweep for causes."
            )
        self.sweep_result_ = result
        self.n_splits_ = folds.n_folds
        self.scorer_ = scorers if len(scorers) > 1 else scorers[next(iter(scorers))]
        self.multimetric_ = len(scorers) > 1
        self.cv_results_ = self._cv_results(result, scorers, space)
        test_frac = float(np.mean(folds.test.sum(1) / folds.train.sum(1)))
        self.comparison_ = None
        if refit_name is not None:
            key = "score" if not self.multimetric_ else refit_name
            cells = self._cells(result, scorers[refit_name], "val")
            finite = np.isfinite(cells.reshape(len(result), -1)).all(axis=1)
            if finite.any():
                self.comparison_ = compare_to_best(
                    cells, greater_is_better=True, test_fraction=test_frac
                )
                self.cv_results_["p_value_vs_best"] = np.asarray(self.comparison_.p_value)
                self.cv_results_["indistinguishable_from_best"] = np.asarray(
                    self.comparison_.indistinguishable
                )
            self._choose(result, key, x=X, y=y)
        self.search_time_ = time.perf_counter() - t0
        return self

    def _refit_name(self, scorers: dict[str, Scorer]) -> str | None:
        if self.refit is False:
            return None
        if len(scorers) == 1:
            return next(iter(scorers))
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

    def _choose(self, result: SweepResult, key: str, *, x: Any, y: Any) -> None:
        if callable(self.refit):
            index = self.refit(self.cv_results_)
            if isinstance(index, bool) or not isinstance(index, int | np.integer):
                raise TypeError(f"refit callable must return an int index; got {index!r}.")
            if not 0 <= int(index) < len(result):
                raise IndexError(f"refit callable returned {index}, outside 0..{len(result) - 1}.")
            self.best_index_ = int(index)
        else:
            ranks = self.cv_results_[f"rank_test_{key}"]
            self.best_index_ = int(np.argmin(ranks))
            self.best_score_ = float(self.cv_results_[f"mean_test_{key}"][self.best_index_])
        if result.diverged.any(axis=1).all():
            raise SweepDiverged(
                f"all {len(result)} settings diverged; there is no best setting to refit. "
                "Lower the learning rate or raise the regularisation."
            )
        self.best_params_ = dict(self.cv_results_["params"][self.best_index_])
        from sklearn.base import clone

        t0 = time.perf_counter()
        fresh: Any = clone(self.estimator)
        self.best_estimator_ = fresh.set_params(**self.best_params_).fit(x, y)
        self.refit_time_ = time.perf_counter() - t0

    # Delegation to the refitted estimator, as scikit-learn's searches do.
    def predict(self, X: Any) -> np.ndarray:
        """Predicts with the refitted best estimator."""
        return self._best().predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the refitted best classifier."""
        return self._best().predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        """The refitted best estimator's ``score`` (R² or accuracy)."""
        return float(self._best().score(X, y))

    @property
    def classes_(self) -> np.ndarray:
        """The class labels of the refitted best classifier."""
        return self._best().classes_

    def _best(self) -> Any:
        if not hasattr(self, "best_estimator_"):
            raise AttributeError(
                "this search has no refitted estimator: call fit() first, with refit enabled."
            )
        return self.best_estimator_

    def summary(self, k: int = 10) -> str:
        """The top settings with mean ± std over folds × seeds and the paired comparison."""
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

    Args:
      estimator: a :class:`jaxfit.JaxfitRegressor` or :class:`jaxfit.JaxfitClassifier`.
      param_grid: a dict from hyperparameter name to a list of values, or a list of such
        dicts (their grids are concatenated).

    Keyword Args:
      scoring (str | Callable | list | dict | None): a scoring name
        (``"neg_mean_squared_error"``, ``"r2"``, ``"accuracy"``, ``"neg_log_loss"``, ...), a
        callable ``(pred, y, weight) -> score``, or a list or dict of them; default R² or
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
    """

    def __init__(self, estimator: Any, param_grid: Any, **kwargs: Any) -> None:
        super().__init__(estimator, **kwargs)
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
            s = grid(**{k: list(v) for k, v in g.items()})
            space = s if space is None else space + s
        return typing.cast(Space, space)


class RandomizedSearchCV(_BaseSearch):
    """Random search: ``n_iter`` sampled settings × seeds × folds in one compiled program.

    The same results and attributes as :class:`jaxfit.GridSearchCV`.

    Args:
      estimator: a :class:`jaxfit.JaxfitRegressor` or :class:`jaxfit.JaxfitClassifier`.
      param_distributions: a dict from hyperparameter name to a jaxfit distribution
        (:func:`jaxfit.loguniform`, :func:`jaxfit.uniform`, :func:`jaxfit.integers`,
        :func:`jaxfit.choice`), a list (sampled uniformly), or a scipy.stats distribution
        (anything with ``rvs``).
      n_iter: the number of settings sampled.
      seed: the sampling seed (also used for nothing else).
      **kwargs: as for :class:`jaxfit.GridSearchCV`.

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
        self, estimator: Any, param_distributions: Any, *, n_iter: int = 10, seed: int = 0,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(estimator, **kwargs)
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
                raise TypeError(
                    f"param_distributions[{name!r}]={d!r:.80} is neither a distribution nor a "
                    "non-empty list."
                )
            axes[name] = list(values)
        return zipped(**axes)


def one_standard_error(param: str, *, prefer: str = "low") -> Callable[[dict], int]:
    """A ``refit`` rule: the simplest setting within one standard error of the best.

    Among the settings whose mean test score is at least the best mean minus the best's
    standard error (its ``std_test_score / sqrt(n_splits)``), picks the one with the lowest
    (``prefer="low"``) or highest value of ``param`` — e.g. the largest penalty, or the
    fewest steps.

    Args:
      param: the hyperparameter that orders settings by simplicity.
      prefer: ``"low"`` or ``"high"``: which end of ``param`` is simpler.

    Returns:
      A callable ``cv_results_ -> index`` for ``refit=``.

    References:
      Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*, 2nd ed.,
      section 7.10 (the "one-standard-error rule").

    Examples:
      >>> import numpy as np, jaxfit
      >>> rule = jaxfit.one_standard_error("l2", prefer="high")
      >>> results = {"params": [{"l2": 0.1}, {"l2": 1.0}, {"l2": 10.0}],
      ...            "mean_test_score": np.array([0.90, 0.89, 0.70]),
      ...            "std_test_score": np.array([0.03, 0.03, 0.03]),
      ...            "split0_test_score": 0, "split1_test_score": 0, "split2_test_score": 0}
      >>> rule(results)
      1
    """
    if prefer not in ("low", "high"):
        raise ValueError(f"prefer must be 'low' or 'high'; got {prefer!r}.")

    def rule(cv_results: dict) -> int:
        means = np.asarray(cv_results["mean_test_score"], float)
        stds = np.asarray(cv_results["std_test_score"], float)
        n_splits = sum(
            1 for k in cv_results if k.startswith("split") and k.endswith("_test_score")
            and "_seed" not in k
        )  # fmt: skip
        if not np.isfinite(means).any():
            raise SweepDiverged("no setting has a finite mean test score.")
        best = int(np.nanargmax(means))
        threshold = means[best] - stds[best] / np.sqrt(max(n_splits, 1))
        ok = [i for i, m in enumerate(means) if np.isfinite(m) and m >= threshold]
        values = [cv_results["params"][i].get(param) for i in ok]
        if any(v is None for v in values):
            raise ValueError(f"param {param!r} is not set in every candidate setting.")
        pick = (min if prefer == "low" else max)(range(len(ok)), key=lambda j: values[j])
        return ok[pick]

    return rule
