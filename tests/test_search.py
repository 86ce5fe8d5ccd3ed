"""GridSearchCV / RandomizedSearchCV: scikit-learn's keys and semantics, one sweep underneath."""

import jax
import numpy as np
import pytest

import jaxfit

checks = pytest.importorskip("sklearn.utils.estimator_checks")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 3))
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * RNG.normal(size=60)
EST = jaxfit.JaxfitRegressor(optimizer="sgd", steps=60)
GRID = {"learning_rate": [0.001, 0.05, 0.2, 5.0]}  # 5.0 diverges


@pytest.fixture(scope="module")
def search():
    return jaxfit.GridSearchCV(EST, GRID, cv=3, seeds=2, return_train_score=True,
                               scoring="neg_mean_squared_error").fit(X, Y)  # fmt: skip


def test_cv_results_has_scikit_learn_keys(search):
    r = search.cv_results_
    for k in ("params", "param_learning_rate", "mean_test_score", "std_test_score",
              "rank_test_score", "mean_fit_time", "std_fit_time", "mean_train_score",
              "split0_test_score", "split2_test_score", "split1_seed1_test_score",
              "split0_train_score"):  # fmt: skip
        assert k in r, k
    assert [p["learning_rate"] for p in r["params"]] == GRID["learning_rate"]
    assert list(r["param_learning_rate"]) == GRID["learning_rate"]


def test_scores_are_means_over_folds_and_seeds(search):
    r, sweep = search.cv_results_, search.sweep_result_
    cells = -sweep.cells("val_mse")  # (settings, seeds, folds), negated like sklearn
    np.testing.assert_allclose(r["split1_test_score"][:3], cells[:3, :, 1].mean(axis=1))
    np.testing.assert_allclose(r["mean_test_score"][:3], cells[:3].reshape(3, -1).mean(axis=1))
    np.testing.assert_allclose(r["std_test_score"][:3], cells[:3].reshape(3, -1).std(axis=1))


def test_diverged_setting_gets_error_score_and_ranks_last(search):
    r = search.cv_results_
    assert r["diverged"].tolist() == [False, False, False, True]
    assert np.isnan(r["mean_test_score"][3]) and r["rank_test_score"][3] == 4
    assert search.best_index_ == int(np.argmax(np.nan_to_num(r["mean_test_score"], nan=-np.inf)))
    with pytest.raises(jaxfit.SweepDiverged):
        jaxfit.GridSearchCV(EST, GRID, cv=3, error_score="raise").fit(X, Y)
    scored = jaxfit.GridSearchCV(EST, GRID, cv=3, error_score=-1e9).fit(X, Y)
    assert scored.cv_results_["mean_test_score"][3] == -1e9


def test_best_and_refit(search):
    from sklearn.metrics import mean_squared_error

    assert search.best_params_ == {"learning_rate": 0.2}
    assert search.best_score_ == search.cv_results_["mean_test_score"][search.best_index_]
    assert search.best_estimator_.learning_rate == 0.2
    assert search.predict(X).shape == (60,)
    # as scikit-learn's: score is the search's scoring, here -MSE, not the estimator's R²
    assert search.score(X, Y) == pytest.approx(-mean_squared_error(Y, search.predict(X)))
    assert search.score(X, Y) > -0.05 and search.best_estimator_.score(X, Y) > 0.99
    assert search.n_features_in_ == 3 and not hasattr(EST, "n_features_in_")  # EST untouched


def test_paired_comparison_is_reported(search):
    r = search.cv_results_
    assert r["indistinguishable_from_best"][search.best_index_]
    assert r["p_value_vs_best"].shape == (4,)
    assert "best" in search.summary()


def test_refit_callable_one_standard_error():
    grid = {"l2": [0.0, 0.01, 0.1, 10.0]}
    est = jaxfit.JaxfitRegressor(optimizer="lbfgs", steps=30)
    rule = jaxfit.one_standard_error("l2", prefer="high")
    s = jaxfit.GridSearchCV(est, grid, cv=3, refit=rule).fit(X, Y)
    assert s.best_index_ == rule(s.cv_results_)
    assert not hasattr(s, "best_score_")  # as scikit-learn: no best_score_ with a callable


def test_agrees_with_scikit_learn_grid_search_on_the_same_folds():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold

    alphas = [0.01, 1.0, 30.0]
    ours = jaxfit.GridSearchCV(
        jaxfit.JaxfitRegressor(optimizer="lbfgs", steps=40, l2_scaling="sum"),
        {"l2": [2 * a for a in alphas]}, cv=KFold(4), scoring="neg_mean_squared_error",
    ).fit(X, Y)  # fmt: skip
    theirs = GridSearchCV(Ridge(), {"alpha": alphas}, cv=KFold(4),
                          scoring="neg_mean_squared_error").fit(X, Y)  # fmt: skip
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], rtol=1e-3)  # fmt: skip
    assert ours.best_index_ == theirs.best_index_


def test_classifier_accuracy_and_log_loss():
    x = RNG.normal(size=(80, 2))
    y = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    est = jaxfit.JaxfitClassifier(model="logistic", optimizer="adam", steps=100)
    scoring = ["accuracy", "neg_log_loss"]
    s = jaxfit.GridSearchCV(
        est, {"learning_rate": [0.01, 0.1]}, cv=4, scoring=scoring, refit="accuracy"
    ).fit(x, y)
    r = s.cv_results_
    assert {"mean_test_accuracy", "mean_test_neg_log_loss", "rank_test_accuracy"} <= set(r)
    assert (r["mean_test_neg_log_loss"] < 0).all()
    assert set(s.predict(x)) <= {"yes", "no"} and s.classes_.tolist() == ["no", "yes"]
    assert s.predict_proba(x).shape == (80, 2) and s.decision_function(x).shape == (80,)
    assert s.score(x, y) == s.best_estimator_.score(x, y)  # refit="accuracy" scores


def test_randomized_search_samples_n_iter_settings():
    dists = {"learning_rate": jaxfit.loguniform(1e-3, 0.3), "momentum": [0.0, 0.5]}
    est = jaxfit.JaxfitRegressor(optimizer="momentum", steps=60)
    s = jaxfit.RandomizedSearchCV(est, dists, n_iter=5, cv=3, seed=1).fit(X, Y)
    lrs = [p["learning_rate"] for p in s.cv_results_["params"]]
    assert len(lrs) == 5 and all(1e-3 <= v <= 0.3 for v in lrs)
    again = jaxfit.RandomizedSearchCV(est, dists, n_iter=5, cv=3, seed=1).fit(X, Y)
    assert again.cv_results_["params"] == s.cv_results_["params"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"param_grid": {"modle": ["mlp"]}}, ValueError, "cannot search over .'modle'.: they"),
        ({"param_grid": {"learnin_rate": [0.1]}}, ValueError, "learnin_rate"),
        ({"param_grid": {}}, TypeError, "param_grid"),
        ({"scoring": "accuracy"}, ValueError, "does not apply to a regressor"),
        ({"scoring": "nope"}, ValueError, "not supported"),
        ({"scoring": ["r2", "neg_mean_squared_error"]}, ValueError, "refit must name"),
        ({"error_score": "ignore"}, ValueError, "error_score"),
        ({"cv": 100}, ValueError, "more than the 60 samples"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    kwargs = {"param_grid": {"learning_rate": [0.1]}} | kwargs
    with pytest.raises(error, match=match):
        jaxfit.GridSearchCV(EST, **kwargs).fit(X, Y)


@pytest.mark.parametrize(
    ("grid", "error", "match"),
    [
        ({"l2": 0.1}, TypeError,
         r"Parameter grid for parameter 'l2' needs to be a list or a numpy array, but got 0\.1 "
         r"\(of type float\) instead\. Single values need to be wrapped in a list"),
        ({"optimizer": "adam"}, TypeError, r"'optimizer' .* got 'adam' \(of type str\)"),
        ({"l2": []}, ValueError, r"'l2' needs to be a non-empty sequence"),
        ({"l2": np.zeros((2, 2))}, ValueError, r"'l2' needs to be one-dimensional"),
        ([{"l2": [0.1]}, {"learning_rate": 0.1}], TypeError, r"'learning_rate' needs to be a list"),
    ],
)  # fmt: skip
def test_param_grid_values_must_be_lists_as_in_scikit_learn(grid, error, match):
    with pytest.raises(error, match=match):
        jaxfit.GridSearchCV(EST, grid).fit(X, Y)


def test_param_grid_takes_tuples_ranges_and_arrays():
    s = jaxfit.GridSearchCV(EST, {"learning_rate": np.array([0.1]), "steps": range(5, 6)}, cv=2)
    assert s._points() == [{"learning_rate": 0.1, "steps": 5}]
    s = jaxfit.GridSearchCV(EST, {"optimizer": ("sgd", "adam")})
    assert [p["optimizer"] for p in s._points()] == ["sgd", "adam"]


@pytest.mark.parametrize("value", ["adam", 0.1])
def test_param_distributions_refuse_a_single_value(value):
    search = jaxfit.RandomizedSearchCV(EST, {"optimizer": value}, n_iter=2)
    with pytest.raises(TypeError, match=r"neither a distribution .* Wrap a single value in a list"):
        search.fit(X, Y)


def test_non_jaxfit_estimator_is_refused():
    from sklearn.linear_model import Ridge

    with pytest.raises(TypeError, match="jaxfit estimator"):
        jaxfit.GridSearchCV(Ridge(), {"alpha": [1.0]}).fit(X, Y)


# --- scikit-learn estimators: clone, tags, nested cross-validation, refit=False ------------


@pytest.mark.slow  # ~1 min on 2 CPU cores: every check runs its own search
@checks.parametrize_with_checks(
    [
        jaxfit.GridSearchCV(jaxfit.JaxfitRegressor(steps=20), {"learning_rate": [0.1]}, cv=2),
        jaxfit.GridSearchCV(jaxfit.JaxfitClassifier(steps=20), {"learning_rate": [0.1]}, cv=2),
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _params(search) -> dict:
    params = search.get_params(deep=True)
    params.pop("estimator")  # a clone is a new object; its own parameters are compared
    return params


@pytest.mark.parametrize("kind", ["grid", "randomized"])
def test_clone_round_trip(kind):
    from sklearn.base import clone

    if kind == "grid":
        search = jaxfit.GridSearchCV(
            EST, GRID, cv=3, seeds=2, scoring=["r2", "neg_mean_squared_error"], refit="r2",
            error_score=-1.0, return_train_score=True,
        )  # fmt: skip
    else:
        dists = {"learning_rate": jaxfit.loguniform(1e-3, 0.3)}
        search = jaxfit.RandomizedSearchCV(
            EST, dists, n_iter=3, seed=4, cv=jaxfit.KFold(3), refit=False
        )
    again = clone(search)
    assert type(again) is type(search) and again.estimator is not search.estimator
    assert _params(again) == _params(search)
    assert again.estimator.get_params() == search.estimator.get_params()
    assert type(search)(**search.get_params(deep=False)).get_params(deep=False) == (
        search.get_params(deep=False)
    )
    fitted = clone(search.fit(X, Y))  # a clone of a fitted search is unfitted
    assert not hasattr(fitted, "cv_results_") and _params(fitted) == _params(search)


def test_tags_follow_the_estimator():
    from sklearn.base import is_classifier, is_regressor

    assert is_regressor(jaxfit.GridSearchCV(EST, GRID))
    clf = jaxfit.GridSearchCV(jaxfit.JaxfitClassifier(), {"learning_rate": [0.1]})
    assert is_classifier(clf) and not is_regressor(clf)


def test_nested_cross_val_score_equals_searching_each_outer_split():
    from sklearn.metrics import mean_squared_error
    from sklearn.model_selection import KFold, cross_val_score

    def make():
        return jaxfit.GridSearchCV(
            EST, {"learning_rate": [0.01, 0.2]}, cv=3, scoring="neg_mean_squared_error"
        )

    search = make()
    nested = cross_val_score(search, X, Y, cv=KFold(3))
    by_hand = []
    for train, test in KFold(3).split(X):
        inner = make().fit(X[train], Y[train])
        by_hand.append(inner.score(X[test], Y[test]))
        assert by_hand[-1] == pytest.approx(-mean_squared_error(Y[test], inner.predict(X[test])))
    assert nested.shape == (3,) and np.isfinite(nested).all() and (nested < 0).all()
    np.testing.assert_allclose(nested, by_hand, rtol=1e-6)
    assert not hasattr(search, "cv_results_")  # cross_val_score fits clones


def test_refit_false_has_the_best_attributes_of_refit_true(search):
    kwargs = {"cv": 3, "seeds": 2, "return_train_score": True, "scoring": "neg_mean_squared_error"}
    lazy = jaxfit.GridSearchCV(EST, GRID, refit=False, **kwargs).fit(X, Y)
    assert lazy.best_index_ == search.best_index_
    assert lazy.best_score_ == search.best_score_
    assert lazy.best_params_ == search.best_params_
    timing = {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}
    assert set(lazy.cv_results_) == set(search.cv_results_)
    for key in set(search.cv_results_) - timing:
        np.testing.assert_array_equal(lazy.cv_results_[key], search.cv_results_[key], key)
    assert not hasattr(lazy, "best_estimator_") and not hasattr(lazy, "refit_time_")


DELEGATED = [
    "predict", "predict_proba", "predict_log_proba", "decision_function", "score_samples",
    "transform", "inverse_transform", "classes_", "n_features_in_",
]  # fmt: skip
CLASSIFIER_HAS = {"predict", "predict_proba", "decision_function"}  # JaxfitClassifier's


def test_delegated_methods_exist_only_with_refit_and_when_the_estimator_has_them():
    x = RNG.normal(size=(30, 2))
    y = np.where(x[:, 0] > 0, 1, 0)
    make = lambda **kw: jaxfit.GridSearchCV(  # noqa: E731
        jaxfit.JaxfitClassifier(steps=20), {"learning_rate": [0.1]}, cv=3, **kw
    )
    refitted, lazy = make(), make(refit=False)
    # Before fit, as scikit-learn's: the unfitted estimator is asked.
    assert {m for m in DELEGATED if hasattr(refitted, m)} == CLASSIFIER_HAS
    assert not any(hasattr(lazy, m) for m in DELEGATED)
    refitted.fit(x, y)
    lazy.fit(x, y)
    fitted_has = CLASSIFIER_HAS | {"classes_", "n_features_in_"}
    assert {m for m in DELEGATED if hasattr(refitted, m)} == fitted_has
    assert not any(hasattr(lazy, m) for m in DELEGATED)
    np.testing.assert_array_equal(refitted.predict(x), refitted.best_estimator_.predict(x))
    with pytest.raises(AttributeError, match="refit=False"):
        lazy.score(x, y)
    with pytest.raises(AttributeError, match="has no attribute 'predict'") as info:
        lazy.predict(x)
    assert "refit=False" in str(info.value.__cause__)  # available_if keeps the reason


def test_several_scorers_without_refit_have_no_best():
    s = jaxfit.GridSearchCV(EST, GRID, cv=3, scoring=["r2", "neg_mean_squared_error"],
                            refit=False).fit(X, Y)  # fmt: skip
    assert "mean_test_r2" in s.cv_results_ and s.comparison_ is None
    for name in ("best_index_", "best_score_", "best_params_", "best_estimator_"):
        assert not hasattr(s, name), name


def test_score_with_a_metric_callable_is_the_sweeps_metric():
    def neg_abs_error(pred, y):  # per example: jaxfit weights it by the folds
        return -abs(pred[:, 0] - y)

    s = jaxfit.GridSearchCV(EST, {"learning_rate": [0.2]}, cv=3, scoring=neg_abs_error).fit(X, Y)
    assert s.score(X, Y) == pytest.approx(-np.abs(s.predict(X) - Y).mean(), rel=1e-5)


def test_a_loss_metric_as_scoring_is_negated_and_picks_the_best(search):
    """``scoring=jaxfit.mse`` is a loss: it must rank as ``neg_mean_squared_error`` does."""
    by_metric = jaxfit.GridSearchCV(EST, GRID, cv=3, seeds=2, scoring=jaxfit.mse).fit(X, Y)
    assert by_metric.best_params_ == search.best_params_
    np.testing.assert_allclose(by_metric.best_score_, search.best_score_, rtol=1e-6)
    assert by_metric.best_score_ < 0
    assert by_metric.scorer_.name == "neg_mse" and by_metric.scorer_.sign == -1.0


def test_refit_after_every_setting_diverged_says_what_to_try():
    grid = {"learning_rate": [5.0, 10.0]}  # sgd explodes at both
    with pytest.raises(jaxfit.SweepDiverged, match=r"no best setting to refit: .*learning rate"):
        jaxfit.GridSearchCV(EST, grid, cv=3).fit(X, Y)


# --- scikit-learn's scores in-graph, estimator-level choices, honest timing ----------------


@pytest.fixture(scope="module")
def digits_search():
    """plot_grid_search_digits.py in small: macro precision and recall, models as sub-grids."""
    from sklearn.datasets import load_digits
    from sklearn.metrics import make_scorer, recall_score

    x, y = load_digits(return_X_y=True)
    keep = np.flatnonzero((y == 3) | (y == 8))[:60]  # two digits, 60 samples: tiny
    x, y = (x[keep] / 16.0).astype(np.float32), np.where(y[keep] == 8, 1, 0)
    grid = [
        {"model": ["logistic"], "l2": [0.0, 0.1]},
        {"model": ["softmax_regression"], "learning_rate": [0.05]},
    ]
    est = jaxfit.JaxfitClassifier(optimizer="adam", learning_rate=0.1, steps=8)
    scoring = {"prec": "precision_macro", "rec": make_scorer(recall_score, average="macro")}
    cv = jaxfit.KFold(3, shuffle=True, seed=0)
    search = jaxfit.GridSearchCV(est, grid, scoring=scoring, refit="prec", cv=cv).fit(x, y)
    return search, x, y, cv


def test_multi_metric_scores_are_sklearns_on_each_folds_predictions(digits_search):
    from sklearn.metrics import precision_score, recall_score

    search, x, y, cv = digits_search
    r, folds = search.cv_results_, cv.split(x)
    for i, params in enumerate(r["params"]):  # each setting and fold trained again by hand
        one_logit = params["model"] == "logistic"
        model = jaxfit.logistic() if one_logit else jaxfit.softmax_regression(2)
        loss = "binary_cross_entropy" if one_logit else "softmax_cross_entropy"
        fields = {k: v for k, v in params.items() if k != "model"}
        hp = jaxfit.Hyperparams(optimizer="adam", learning_rate=0.1, steps=8).replace(**fields)
        for f in range(folds.n_folds):
            fitted = jaxfit.fit(model, loss, (x, y, folds.train[f]), hp,
                                key=jax.random.fold_in(jax.random.key(0), 0))  # fmt: skip
            test = folds.test[f] > 0
            z = np.asarray(jaxfit.predict(model, fitted.params, x[test], hp))
            labels = (z[:, 0] > 0).astype(int) if one_logit else np.argmax(z, axis=1)
            for name, fn in (("prec", precision_score), ("rec", recall_score)):
                expected = fn(y[test], labels, average="macro", zero_division=0)
                assert r[f"split{f}_test_{name}"][i] == pytest.approx(expected, abs=1e-5)
    assert search.best_score_ == r["mean_test_prec"][search.best_index_]
    assert search.best_index_ == int(np.argmin(r["rank_test_prec"]))
    assert {"mean_test_rec", "rank_test_rec", "std_test_prec"} <= set(r)
    assert "mean_test_score" not in r and search.multimetric_


def test_model_is_a_searchable_static_choice(digits_search):
    search, x, y, _ = digits_search
    r = search.cv_results_
    assert [p["model"] for p in r["params"]] == ["logistic"] * 2 + ["softmax_regression"]
    assert r["param_l2"].mask.tolist() == [False, False, True]  # sub-grids, as sklearn's
    assert isinstance(search.sweep_result_, list) and len(search.sweep_result_) == 2
    assert r["sweep"].tolist() == [0, 0, 1]
    assert len(search.sweep_result_[0]) == 2 and len(search.sweep_result_[1]) == 1
    assert search.best_estimator_.model == search.best_params_["model"]
    scorer = __import__("sklearn.metrics").metrics.get_scorer("precision_macro")
    assert search.score(x, y) == pytest.approx(scorer(search.best_estimator_, x, y))


def test_fit_times_are_shared_per_program_exactly_and_marked(digits_search):
    """One compiled program trains many settings: their times are one number, not a ranking."""
    search, *_ = digits_search
    r = search.cv_results_
    program = r["program"]
    assert program[0] == program[1] != program[2]  # two models: two programs
    assert r["mean_fit_time"][0] == r["mean_fit_time"][1]  # exactly equal: one wall time
    assert np.isfinite(r["mean_fit_time"]).all() and (r["mean_fit_time"] > 0).all()
    for key in ("std_fit_time", "mean_score_time", "std_score_time"):
        assert np.isnan(r[key]).all(), key  # not measured: NaN, not a made-up 0


def test_multi_metric_semantics_follow_scikit_learn():
    with pytest.raises(ValueError, match=r"multi-metric scoring .* refit must name"):
        jaxfit.GridSearchCV(EST, GRID, scoring=["r2"]).fit(X, Y)  # a list of one is multi
    with pytest.raises(ValueError, match="cannot search over"):
        jaxfit.GridSearchCV(EST, [{"model": ["linear"]}, {"nope": [1]}]).fit(X, Y)
    with pytest.raises(ValueError, match="does not support several outputs"):
        jaxfit.GridSearchCV(EST, GRID, scoring="neg_max_error").fit(X, np.c_[Y, Y])
