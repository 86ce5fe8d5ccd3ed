"""JaxfitRegressor / JaxfitClassifier: scikit-learn's conventions on top of jaxfit.fit."""

import dataclasses
import inspect
import pickle
import subprocess
import sys

import jax
import numpy as np
import pytest

import jaxfit

checks = pytest.importorskip("sklearn.utils.estimator_checks")
ConvergenceWarning = pytest.importorskip("sklearn.exceptions").ConvergenceWarning

RNG = np.random.default_rng(0)
X_LINE = np.linspace(-1, 1, 40)[:, None]
Y_LINE = 2 * X_LINE[:, 0] + 1
X_BLOBS = np.concatenate([RNG.normal(-2, 0.5, (30, 2)), RNG.normal(2, 0.5, (30, 2))])
Y_BLOBS = np.repeat(np.array(["cat", "dog"]), 30)
FAST = {"learning_rate": 0.1, "steps": 100}


def _expected_failures(estimator):
    """The checks that fail on every platform, declared strictly (listed with their reasons
    in docs/cross_validation.md, "scikit-learn's estimator checks").

    Measured with scikit-learn 1.9 for both configurations below: every other check
    passes (two array-API checks skip without ``SCIPY_ARRAY_API``).
    """
    del estimator  # the same float32 effect for both estimators
    return {
        # Training is float32: a row of weight 2 and a repeated row are summed in another
        # order, so predictions differ by 2e-7 to 6e-7 relative (7 of 15 regressor
        # outputs, 10 of 45 probabilities), while the check demands rtol=1e-7.
        "check_sample_weight_equivalence_on_dense_data": "float32 training (~5e-7 relative)",
    }


# Checks that may fail by float32 rounding on some platforms and pass on others: a
# failure is an xfail, a pass a pass. XLA picks float32 matmul kernels by batch shape, so
# predicting a subset of rows may differ from predicting all of them by ~1e-7 relative;
# on the 2-core x86 CPU used for the tests (jax 0.10) the check passes.
_PLATFORM_DEPENDENT = {
    "check_methods_subset_invariance": "float32 XLA kernels vary with batch shape (~1e-7)",
}


@pytest.mark.slow  # ~45 s on 2 CPU cores: every check compiles its own training runs
@checks.parametrize_with_checks(
    [
        jaxfit.JaxfitRegressor(steps=20, learning_rate=0.1),
        jaxfit.JaxfitClassifier(steps=20, learning_rate=0.1),
    ],
    expected_failed_checks=_expected_failures,
    xfail_strict=True,  # a declared check that passes is reported as a failure
)
def test_scikit_learn_estimator_checks(estimator, check):
    reason = _PLATFORM_DEPENDENT.get(getattr(check, "func", check).__name__)
    if reason is None:
        check(estimator)
        return
    try:
        check(estimator)
    except AssertionError as e:
        pytest.xfail(f"{reason}: {e}")


@pytest.mark.parametrize("cls", [jaxfit.JaxfitRegressor, jaxfit.JaxfitClassifier])
def test_params_are_every_hyperparams_field_with_its_default(cls):
    fields = dataclasses.fields(jaxfit.Hyperparams)
    params = inspect.signature(cls.__init__).parameters
    extra = ["model", "loss"] if cls is jaxfit.JaxfitRegressor else ["model"]
    assert list(params)[1:] == [*extra, *(f.name for f in fields), "seed"]
    for f in fields:
        assert params[f.name].default == f.default, f.name
        assert params[f.name].kind is inspect.Parameter.KEYWORD_ONLY
    assert cls._jaxfit_param_names() == tuple(f.name for f in fields)


def test_get_params_set_params_and_clone_round_trip():
    from sklearn.base import clone

    reg = jaxfit.JaxfitRegressor(learning_rate=0.3, hidden=(8,), model="mlp")
    params = reg.get_params()
    assert params["learning_rate"] == 0.3 and params["hidden"] == (8,) and params["seed"] == 0
    assert jaxfit.JaxfitRegressor(**params).get_params() == params
    assert reg.set_params(optimizer="sgd", l2=0.5) is reg
    assert reg.get_params() == {**params, "optimizer": "sgd", "l2": 0.5}
    assert clone(reg).get_params() == reg.get_params()


def test_regressor_recovers_a_line():
    reg = jaxfit.JaxfitRegressor(**FAST).fit(X_LINE, Y_LINE)
    assert reg.score(X_LINE, Y_LINE) > 0.99
    assert reg.predict(X_LINE).shape == (40,) and reg.predict(X_LINE).dtype == np.float64
    np.testing.assert_allclose(reg.predict([[0.0], [1.0]]), [1.0, 3.0], atol=1e-2)
    assert reg.n_features_in_ == 1 and reg.n_iter_ == 100 and reg.n_outputs_ == 1
    assert reg.loss_curve_.shape == (100,) and isinstance(reg.loss_curve_, np.ndarray)
    assert isinstance(reg.fit_result_, jaxfit.FitResult) and reg.hp_.steps == 100


def test_regressor_keeps_a_two_dimensional_target():
    y = np.stack([Y_LINE, -Y_LINE], axis=1)
    reg = jaxfit.JaxfitRegressor(**FAST).fit(X_LINE, y)
    assert reg.predict(X_LINE).shape == (40, 2) and reg.score(X_LINE, y) > 0.99
    column = jaxfit.JaxfitRegressor(**FAST).fit(X_LINE, Y_LINE[:, None])
    assert column.predict(X_LINE).shape == (40, 1)


@pytest.mark.parametrize("model", ["softmax_regression", "logistic", "mlp"])
def test_classifier_separates_blobs_with_string_labels(model):
    clf = jaxfit.JaxfitClassifier(model=model, hidden=(8,), **FAST).fit(X_BLOBS, Y_BLOBS)
    assert clf.classes_.tolist() == ["cat", "dog"]
    assert clf.score(X_BLOBS, Y_BLOBS) > 0.95
    assert set(clf.predict(X_BLOBS)) <= {"cat", "dog"}
    proba = clf.predict_proba(X_BLOBS)
    assert proba.shape == (60, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # binary: decision_function is the logit of classes_[1], consistent with the rest
    score = clf.decision_function(X_BLOBS)
    assert score.shape == (60,)
    np.testing.assert_array_equal(clf.predict(X_BLOBS), clf.classes_[(score > 0).astype(int)])
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-score)), rtol=1e-6)


def test_classifier_with_three_classes():
    x = np.concatenate([X_BLOBS, RNG.normal((6, -6), 0.5, (30, 2))])
    y = np.concatenate([Y_BLOBS, np.full(30, "eel")])
    clf = jaxfit.JaxfitClassifier(**FAST).fit(x, y)
    assert clf.classes_.tolist() == ["cat", "dog", "eel"] and clf.score(x, y) > 0.95
    assert clf.predict_proba(x).shape == clf.decision_function(x).shape == (90, 3)
    np.testing.assert_allclose(clf.predict_proba(x).sum(axis=1), 1.0, rtol=1e-12)
    args = clf._fit_args(x, y)
    assert args.loss == "softmax_cross_entropy" and args.y.dtype == np.int32
    assert args.y.tolist() == [0] * 30 + [1] * 30 + [2] * 30
    with pytest.raises(ValueError, match="model='logistic' is binary, but y has 3 classes"):
        jaxfit.JaxfitClassifier(model="logistic").fit(x, y)
    with pytest.raises(ValueError, match=r"at least 2 classes.*only one class"):
        jaxfit.JaxfitClassifier().fit(x[:30], y[:30])


def test_fit_args_and_fit_train_identically():
    reg = jaxfit.JaxfitRegressor(**FAST, seed=3)
    args = reg._fit_args(X_LINE.tolist(), Y_LINE.astype(int).tolist())
    assert args.x.dtype == args.y.dtype == np.float32 and args.x.shape == (40, 1)
    assert args.classes is None and args.seed == 3 and args.loss == "mse"
    assert args.model is jaxfit.linear(1) and args.hp == jaxfit.Hyperparams(**FAST)
    direct = jaxfit.fit(
        args.model, args.loss, (args.x, args.y), args.hp, key=jax.random.key(args.seed)
    )
    reg.fit(X_LINE, Y_LINE.astype(int))
    for a, b in zip(jax.tree.leaves(reg.params_), jax.tree.leaves(direct.params), strict=True):
        np.testing.assert_array_equal(a, b)
    clf_args = jaxfit.JaxfitClassifier(model="logistic")._fit_args(X_BLOBS, Y_BLOBS)
    assert clf_args.loss == "binary_cross_entropy" and clf_args.model is jaxfit.logistic()
    assert clf_args.classes.tolist() == ["cat", "dog"] and clf_args.y.dtype == np.int32


def test_targets_encode_labels_as_fit_does():
    clf = jaxfit.JaxfitClassifier(**FAST).fit(X_BLOBS, Y_BLOBS)
    assert clf._targets(["dog", "cat", "dog"]).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match=r"labels \['eel'\] that were not seen at fit"):
        clf._targets(["cat", "eel"])
    reg = jaxfit.JaxfitRegressor(**FAST).fit(X_LINE, Y_LINE)
    assert reg._targets([1, 2]).dtype == np.float32


def test_zero_sample_weights_equal_dropping_rows():
    keep = np.arange(40) % 3 != 0
    y = Y_LINE + 0.3 * RNG.normal(size=40)
    weighted = jaxfit.JaxfitRegressor(**FAST).fit(X_LINE, y, sample_weight=keep.astype(float))
    dropped = jaxfit.JaxfitRegressor(**FAST).fit(X_LINE[keep], y[keep])
    hp = jaxfit.Hyperparams(**FAST)
    x32, y32 = X_LINE[keep].astype(np.float32), y[keep].astype(np.float32)
    direct = jaxfit.fit(jaxfit.linear(), "mse", (x32, y32), hp, key=jax.random.key(0))
    for other in (dropped.params_, direct.params):
        for a, b in zip(jax.tree.leaves(weighted.params_), jax.tree.leaves(other), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # and weights do matter: emphasising some rows moves the fit
    emphasis = np.where(keep, 1.0, 10.0)
    moved = jaxfit.JaxfitRegressor(**FAST).fit(X_LINE, y, sample_weight=emphasis)
    assert not np.allclose(moved.predict(X_LINE), weighted.predict(X_LINE), atol=1e-3)
    with pytest.raises(ValueError, match=r"(?i)negative"):
        jaxfit.JaxfitRegressor(**FAST).fit(X_LINE, y, sample_weight=-np.ones(40))


def test_divergence_warns_and_keeps_the_last_good_parameters():
    reg = jaxfit.JaxfitRegressor(optimizer="sgd", learning_rate=5.0, steps=50)
    with pytest.warns(ConvergenceWarning, match=r"diverged at step \d+ of 50 \(cause: explode\)"):
        reg.fit(X_LINE, Y_LINE)
    assert bool(reg.fit_result_.diverged) and np.isnan(reg.loss_curve_[-1])
    assert np.all(np.isfinite(reg.predict(X_LINE)))


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"optimizer": "adamm"}, ValueError, r"optimizer='adamm' is not supported"),
        ({"learning_rate": -1.0}, ValueError, r"learning_rate=-1.0 is out of range"),
        ({"steps": 0}, ValueError, r"steps=0 must be a positive integer"),
        ({"hidden": (8, 0)}, ValueError, r"hidden\[1\]=0"),
        ({"activation": "swish"}, ValueError, r"activation='swish'"),
        ({"batch_size": 2.5}, TypeError, r"batch_size=2.5"),
        (
            {"learning_rate": np.array([0.1, 0.2])},
            ValueError,
            r"learning_rate=array\(\[0.1, 0.2\]\) must be a scalar",
        ),
        ({"model": "tree"}, ValueError, r"model='tree' is not supported.*'polynomial'"),
        ({"model": len}, TypeError, r"model=<built-in function len>"),
        ({"loss": "hinge"}, ValueError, r"loss='hinge' is not supported.*'huber'"),
        ({"seed": "0"}, TypeError, r"seed='0' must be an int"),
    ],
)
def test_bad_params_raise_at_fit_naming_the_field(params, error, match):
    reg = jaxfit.JaxfitRegressor(**params)  # construction only stores
    assert all(getattr(reg, k) is v for k, v in params.items())
    with pytest.raises(error, match=match):
        reg.fit(X_LINE, Y_LINE)


def test_values_from_scikit_learn_searches_are_accepted():
    reg = jaxfit.JaxfitRegressor(
        model="mlp", hidden=[np.int64(4)], steps=np.int64(20), learning_rate=np.float64(0.1)
    ).fit(X_LINE, Y_LINE)
    assert reg.hp_.hidden == (4,) and reg.hp_.steps == 20 and type(reg.hp_.steps) is int
    assert reg.get_params()["hidden"] == [np.int64(4)]  # the parameter itself is untouched


def test_pipeline_and_scikit_learn_grid_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), jaxfit.JaxfitClassifier(steps=50))
    grid = {"jaxfitclassifier__learning_rate": [0.001, 0.1]}
    search = GridSearchCV(pipe, grid, cv=2, scoring="neg_log_loss").fit(X_BLOBS * 100 + 5, Y_BLOBS)
    assert search.best_params_ == {"jaxfitclassifier__learning_rate": 0.1}
    assert search.best_estimator_.score(X_BLOBS * 100 + 5, Y_BLOBS) > 0.95
    reg = make_pipeline(StandardScaler(), jaxfit.JaxfitRegressor(**FAST))
    assert reg.fit(X_LINE * 50, Y_LINE).score(X_LINE * 50, Y_LINE) > 0.99


def test_dataframe_feature_names_and_pickle():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_BLOBS, columns=["height", "weight"])
    clf = jaxfit.JaxfitClassifier(**FAST).fit(frame, Y_BLOBS)
    assert clf.feature_names_in_.tolist() == ["height", "weight"]
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(frame), clf.predict_proba(frame))


def test_import_jaxfit_does_not_import_scikit_learn():
    code = "import sys, jaxfit; assert 'sklearn' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
