"""GridSearchCV / RandomizedSearchCV: scikit-learn's keys and semantics, one sweep underneath."""

import numpy as np
import pytest

import jaxfit

pytest.importorskip("sklearn")

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
    assert search.best_params_ == {"learning_rate": 0.2}
    assert search.best_score_ == search.cv_results_["mean_test_score"][search.best_index_]
    assert search.best_estimator_.learning_rate == 0.2
    assert search.score(X, Y) > 0.99
    assert search.predict(X).shape == (60,)


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
        ({"param_grid": {"model": ["mlp"]}}, ValueError, "only hyperparameter fields"),
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


def test_non_jaxfit_estimator_is_refused():
    from sklearn.linear_model import Ridge

    with pytest.raises(TypeError, match="jaxfit estimator"):
        jaxfit.GridSearchCV(Ridge(), {"alpha": [1.0]}).fit(X, Y)
