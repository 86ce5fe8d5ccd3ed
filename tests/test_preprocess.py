"""Preprocessing fitted per run inside the program: each cross-validation fold standardises
and projects with its own training rows (compared with scikit-learn fitted on the fold),
so a pipeline's CV scores equal fits on data preprocessed fold by fold."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import jaxfit

sklearn = pytest.importorskip("sklearn")
from sklearn.decomposition import PCA as SkPCA  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

RNG = np.random.default_rng(0)
# Compiled once for every example below (eagerly, the Jacobi loop would be traced anew).
STANDARDIZE = jax.jit(lambda x, w: jaxfit.Standardize().fit(x, w, None))
PCA2 = jax.jit(lambda x, w: jaxfit.PCA(2).transform(jaxfit.PCA(2).fit(x, w, None), x, None))
X = (RNG.normal(size=(30, 4)) * [10.0, 1.0, 0.1, 3.0] + [5.0, -2.0, 0.0, 1.0]).astype(np.float32)
Y = (X @ np.array([0.1, 1.0, 5.0, -0.3]) + 0.1 * RNG.normal(size=30)).astype(np.float32)


@given(
    w=st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=30, max_size=30).filter(
        lambda w: sum(v > 0 for v in w) >= 3
    )
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_standardize_and_pca_match_sklearn_with_weights(w):
    w = np.asarray(w, np.float32)
    sk = StandardScaler().fit(X, sample_weight=w)
    stats = STANDARDIZE(jnp.asarray(X), jnp.asarray(w))
    np.testing.assert_allclose(stats["mean"], sk.mean_, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(stats["scale"], sk.scale_, rtol=1e-4)
    # PCA on the rows of positive weight, repeated by weight (scikit-learn's PCA takes no
    # weights): the same subspace, each column up to its sign.
    rows = np.repeat(X, w.astype(int), axis=0)
    pca = SkPCA(2).fit(rows)
    z = np.asarray(PCA2(jnp.asarray(X), jnp.asarray(w)))
    ref = pca.transform(X)
    for j in range(2):
        sign = np.sign(z[:, j] @ ref[:, j])
        np.testing.assert_allclose(sign * z[:, j], ref[:, j], rtol=1e-3, atol=1e-3)


def test_cv_pipeline_equals_fits_on_fold_preprocessed_data():
    model = jaxfit.pipeline(jaxfit.Standardize(), jaxfit.PCA("n_components"), jaxfit.linear())

    @jaxfit.hyperparams
    class HP(jaxfit.Hyperparams):
        n_components: int = jaxfit.static(2)

    base = HP(optimizer="sgd", learning_rate=0.3, steps=40)
    folds = jaxfit.KFold(3).split(X)
    sw = jaxfit.sweep(model, "mse", (X, Y), base, jaxfit.grid(n_components=[2, 3]),
                      key=jax.random.key(0), cv=folds)  # fmt: skip
    assert len(sw.groups) == 2  # a static field: one program per value
    for f in range(3):
        train, test = folds.train[f] == 1, folds.test[f] == 1
        sc = StandardScaler().fit(X[train])
        xs = sc.transform(X)
        z = np.asarray(PCA2(jnp.asarray(xs, jnp.float32), jnp.asarray(folds.train[f])))
        # The same fit on data preprocessed by hand with the fold's training rows only.
        ref = jaxfit.fit(jaxfit.linear(), "mse", (z[train], Y[train]), base,
                         key=jax.random.key(0), val=(z[test], Y[test]))  # fmt: skip
        np.testing.assert_allclose(
            sw.cells("val_loss")[0, 0, f], ref.metrics["val_loss"], rtol=2e-4
        )
    hp = sw.hp(0)
    p = sw.params(0, seed=1)  # fold 1's model, its own statistics with it
    pred = jaxfit.predict(model, p, X, hp)
    assert pred.shape == (30, 1)


def test_pipeline_refusals():
    with pytest.raises(TypeError, match=r"last step must be a jaxfit\.Model"):
        jaxfit.pipeline(jaxfit.Standardize())
    with pytest.raises(TypeError, match="is not a transform"):
        jaxfit.pipeline(object(), jaxfit.linear())
    with pytest.raises(TypeError, match="positive int or the name"):
        jaxfit.PCA(0)
    model = jaxfit.pipeline(jaxfit.PCA("k"), jaxfit.linear())
    with pytest.raises(TypeError, match="has no field 'k'"):
        jaxfit.fit(model, "mse", (X, Y), jaxfit.Hyperparams(steps=2), key=jax.random.key(0))
    model = jaxfit.pipeline(jaxfit.PCA(9), jaxfit.linear())
    with pytest.raises(ValueError, match="exceeds the 4 input features"):
        jaxfit.fit(model, "mse", (X, Y), jaxfit.Hyperparams(steps=2), key=jax.random.key(0))


def test_sklearn_pipeline_search_runs_in_the_program_and_agrees_with_sklearn():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV as SkGridSearchCV, KFold
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    x, y = load_digits(return_X_y=True)
    x, y = x[:240], y[:240]
    clf = jaxfit.JaxfitClassifier(model="softmax_regression", optimizer="newton", steps=8)
    pipe = Pipeline([("scale", StandardScaler()), ("reduce_dim", SkPCA(4)), ("classify", clf)])
    grid = {"reduce_dim__n_components": [4, 8], "classify__l2": [1.0]}

    # scikit-learn's plot_grid_search_refit_callable.py, verbatim: the fewest components
    # whose score is within one standard deviation of the best.
    def lower_bound(cv_results):
        best_score_idx = np.argmax(cv_results["mean_test_score"])
        return (
            cv_results["mean_test_score"][best_score_idx]
            - cv_results["std_test_score"][best_score_idx]
        )

    def best_low_complexity(cv_results):
        threshold = lower_bound(cv_results)
        candidate_idx = np.flatnonzero(cv_results["mean_test_score"] >= threshold)
        best_idx = candidate_idx[
            cv_results["param_reduce_dim__n_components"][candidate_idx].argmin()
        ]
        return best_idx

    kw = dict(cv=KFold(3), refit=best_low_complexity)
    ours = jaxfit.GridSearchCV(pipe, grid, **kw).fit(x, y)
    theirs = SkGridSearchCV(pipe, grid, **kw).fit(x, y)
    assert ours.best_index_ == theirs.best_index_
    # The same folds, the preprocessing fitted on each fold's training rows: the same
    # accuracies up to one test sample of a fold (float32, Jacobi against an SVD).
    ours_mean, theirs_mean = (s.cv_results_["mean_test_score"] for s in (ours, theirs))
    np.testing.assert_allclose(ours_mean, theirs_mean, atol=1 / 80 + 1e-6)
    assert [p.keys() for p in ours.cv_results_["params"]] == [
        p.keys() for p in theirs.cv_results_["params"]
    ]
    assert isinstance(ours.best_estimator_, Pipeline)  # refitted by scikit-learn's Pipeline
    assert ours.predict(x[:5]).shape == (5,)
    with pytest.raises(TypeError, match="LinearSVC, not a jaxfit estimator"):
        jaxfit.GridSearchCV(Pipeline([("svc", LinearSVC())]), {"svc__C": [1.0]}).fit(x, y)
    whitened = Pipeline([("pca", SkPCA(4, whiten=True)), ("classify", clf)])
    with pytest.raises(TypeError, match="no whitening"):
        jaxfit.GridSearchCV(whitened, {"classify__l2": [1.0]}).fit(x, y)
