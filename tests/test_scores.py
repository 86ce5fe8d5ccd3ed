"""scikit-learn's scores as in-graph jaxfit metrics: agreement with sklearn.metrics.

Each name of ``SCORERS`` is computed by jaxfit from (logits or predictions, y, weight)
and by scikit-learn's own scorer function (its ``_score_func``, ``_kwargs``, response and
sign) on the rows of positive weight with their weights: a cross-validation fold is a
weight mask, and scikit-learn scores the fold's rows. Where scikit-learn raises, jaxfit
must give NaN; where it warns and returns a placeholder jaxfit documents NaN
(average precision without positives) or the same value (``zero_division``).
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import jaxfit

metrics = pytest.importorskip("sklearn.metrics")
from jaxfit._selection.scoring import SCORERS, get_scorers  # noqa: E402

CLASSIFICATION = sorted(n for n, e in SCORERS.items() if e.task in ("classification", "binary"))
REGRESSION = sorted(n for n, e in SCORERS.items() if "regression" in e.task)
SINGLE_OUTPUT = {n for n, e in SCORERS.items() if e.task == "single-output regression"}
FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _weights(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    if kind == "ones":
        return np.ones(n, np.float32)
    if kind == "mask":  # a fold: 0/1
        return (rng.random(n) < 0.6).astype(np.float32)
    if kind == "int":
        return rng.integers(0, 4, n).astype(np.float32)
    w = rng.uniform(0.1, 2.0, n) * (rng.random(n) < 0.8)
    return w.astype(np.float32)


def _sklearn(name: str, y, response, w, *, task: str):
    """scikit-learn's value of scoring ``name`` on the rows of positive weight, or NaN."""
    scorer = metrics.get_scorer(name)
    keep = w > 0
    kwargs = dict(scorer._kwargs)
    if "sample_weight" in _params(scorer._score_func):
        kwargs["sample_weight"] = w[keep]
    if kwargs.get("multi_class") == "ovo" and response.ndim == 2:  # no weighted one-vs-one
        if len(np.unique(w[keep])) > 1:
            return np.nan
        kwargs["sample_weight"] = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = scorer._sign * scorer._score_func(y[keep], response[keep], **kwargs)
        except ValueError:
            return np.nan
    if name == "average_precision" and any("No positive" in str(c.message) for c in caught):
        return np.nan  # jaxfit: NaN, not the placeholder 0
    return value


def _params(fn) -> set:
    import inspect

    return set(inspect.signature(fn).parameters)


def _response(name: str, logits: np.ndarray) -> np.ndarray:
    """What scikit-learn's scorer asks a jaxfit classifier for, from its float64 logits."""
    methods = metrics.get_scorer(name)._response_method
    method = methods if isinstance(methods, str) else methods[0]
    z = logits.astype(np.float64)
    if method == "predict":
        return (z[:, 0] > 0).astype(int) if z.shape[1] == 1 else np.argmax(z, axis=1)
    if method == "decision_function":
        if z.shape[1] == 1:
            return z[:, 0]
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z
    if z.shape[1] == 1:
        return 1 / (1 + np.exp(-z[:, 0]))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return p[:, 1] if z.shape[1] == 2 else p


_COMPILED: dict = {}


def _all(names: tuple, pred, y, w) -> np.ndarray:
    """Every named score at once, one compiled program per name list and shape (fast)."""
    key = (names, pred.shape, y.shape)
    if key not in _COMPILED:
        entries = [SCORERS[n] for n in names]
        ms = [(e.sign, jaxfit.get_metric(e.metric)) for e in entries]
        _COMPILED[key] = jax.jit(lambda p, t, v: jnp.stack([s * m(p, t, v) for s, m in ms]))
    return np.asarray(_COMPILED[key](pred, y, w), np.float64)


def _assert_close(name, ours, theirs):
    if np.isnan(theirs):
        assert np.isnan(ours), (name, ours, theirs)
    else:
        assert ours == pytest.approx(theirs, rel=3e-4, abs=3e-5), (name, ours, theirs)


N = 16  # rows; a fold uses some of them (weight 0 elsewhere), as in a search


@FAST
@given(
    seed=st.integers(0, 2**31 - 1),
    size=st.integers(0, N),  # rows of the fold
    width=st.sampled_from([1, 2, 3]),  # 1: one logit (binary logistic); else softmax
    weights=st.sampled_from(["ones", "mask", "int", "float"]),
    missing=st.booleans(),  # labels from a subset of the classes
    ties=st.booleans(),
)
def test_classification_scores_agree_with_sklearn(seed, size, width, weights, missing, ties):
    rng = np.random.default_rng(seed)
    k = max(width, 2)
    logits = rng.normal(size=(N, width)).astype(np.float32)
    if ties and width <= 2:  # tied scores: ROC AUC counts a tie as half
        logits = np.round(logits * 2) / 2
    classes = rng.choice(k, size=max(1, k - 1), replace=False) if missing else np.arange(k)
    y = rng.choice(classes, size=N).astype(np.int32)
    w = _weights(rng, N, weights) * (np.arange(N) < size)
    names = tuple(n for n in CLASSIFICATION if k == 2 or SCORERS[n].task != "binary")
    ours = _all(names, jnp.asarray(logits), jnp.asarray(y), jnp.asarray(w))
    for name, value in zip(names, ours, strict=True):
        theirs = _sklearn(name, y, _response(name, logits), w, task="classification")
        _assert_close(name, value, theirs)


@FAST
@given(
    seed=st.integers(0, 2**31 - 1),
    size=st.integers(0, N),
    outputs=st.sampled_from([1, 2]),
    weights=st.sampled_from(["ones", "mask", "int", "float"]),
    domain=st.sampled_from(["positive", "real", "zeros"]),
)
def test_regression_scores_agree_with_sklearn(seed, size, outputs, weights, domain):
    rng = np.random.default_rng(seed)
    shape = (N,) if outputs == 1 else (N, outputs)
    y = np.exp(rng.normal(size=shape))
    pred = np.exp(rng.normal(size=shape))
    if domain == "real":  # some values <= -1: log errors and deviances are undefined
        y = y - rng.integers(0, 2, shape) * 1.5
    if domain == "zeros":  # Poisson takes y == 0, gamma does not
        y = y * rng.integers(0, 2, shape)
    y, pred = y.astype(np.float32), pred.astype(np.float32)
    w = _weights(rng, N, weights) * (np.arange(N) < size)
    names = tuple(n for n in REGRESSION if outputs == 1 or n not in SINGLE_OUTPUT)
    pred2 = pred[:, None] if outputs == 1 else pred
    ours = _all(names, jnp.asarray(pred2), jnp.asarray(y), jnp.asarray(w))
    for name, value in zip(names, ours, strict=True):
        if (w > 0).sum() < SCORERS[name].min_rows:  # the search sets such folds to NaN
            value = np.nan
        theirs = _sklearn(name, y.astype(np.float64), pred.astype(np.float64), w, task="regression")
        _assert_close(name, value, theirs)


def test_weight_zero_rows_have_no_influence():
    """A fold is a weight mask: what its other rows hold must not move any score."""
    rng = np.random.default_rng(1)
    w = (np.arange(N) % 3 != 0).astype(np.float32)
    drop = w == 0
    logits, labels = rng.normal(size=(N, 1)).astype(np.float32), (np.arange(N) % 2).astype(np.int32)
    y, pred = (
        rng.uniform(0.5, 2, N).astype(np.float32),
        rng.uniform(0.5, 2, (N, 1)).astype(np.float32),
    )
    cases = [
        (tuple(CLASSIFICATION), logits, labels, np.where(drop[:, None], 9.0, logits),
         np.where(drop, 1 - labels, labels)),
        (tuple(REGRESSION), pred, y, np.where(drop[:, None], -5.0, pred), np.where(drop, 7.0, y)),
    ]  # fmt: skip
    for names, p, t, p2, t2 in cases:
        a = _all(names, *(jnp.asarray(v) for v in (p, t, w)))
        b = _all(
            names,
            *(jnp.asarray(v, dtype=v.dtype) for v in (p2.astype(p.dtype), t2.astype(t.dtype), w)),
        )
        np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=str(names))
        assert np.isfinite(a).all(), dict(zip(names, a, strict=True))


def test_every_scoring_name_is_a_registered_metric_and_a_sklearn_scorer():
    names = set(metrics.get_scorer_names())
    for name, entry in SCORERS.items():
        assert name in names, name
        assert jaxfit.get_metric(entry.metric).name == entry.metric
        assert jaxfit.get_metric(entry.metric).greater_is_better == (entry.sign > 0)


# --- make_scorer ----------------------------------------------------------------------------


def _one(scoring, **kw):
    kw = {"classifier": True, "classes": np.array([0, 1])} | kw
    (scorer,) = get_scorers(scoring, **kw).values()
    return scorer


def test_make_scorer_of_an_implemented_function_maps_its_kwargs():
    f2 = _one(metrics.make_scorer(metrics.fbeta_score, beta=2))
    assert f2.metric.name == "fbeta2" and f2.sign == 1.0
    macro = _one(metrics.make_scorer(metrics.f1_score, average="macro"))
    assert macro.metric is jaxfit.get_metric("f1_macro")
    mse = _one(metrics.make_scorer(metrics.mean_squared_error, greater_is_better=False),
               classifier=False, classes=None)  # fmt: skip
    assert mse.metric is jaxfit.mse and mse.sign == -1.0 and mse.name == "neg_mse"
    # the value is scikit-learn's
    rng = np.random.default_rng(3)
    logits, y = rng.normal(size=(30, 1)).astype(np.float32), rng.integers(0, 2, 30)
    ours = float(f2.metric(logits, y))
    assert ours == pytest.approx(metrics.fbeta_score(y, (logits[:, 0] > 0).astype(int), beta=2))


def test_make_scorer_of_a_jnp_function_runs_in_graph():
    def weighted_hits(y_true, y_pred, sample_weight=None):
        return jnp.sum(sample_weight * (y_true == y_pred)) / jnp.sum(sample_weight)

    s = _one(metrics.make_scorer(weighted_hits))
    logits = jnp.array([[1.0], [-1.0], [2.0]])
    assert float(s.metric(logits, jnp.array([1, 1, 1]), jnp.array([1.0, 1.0, 0.0]))) == 0.5


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: metrics.make_scorer(metrics.top_k_accuracy_score, k=2), ValueError,
         "does not implement sklearn.metrics.top_k_accuracy_score"),
        (lambda: metrics.make_scorer(metrics.f1_score, labels=[0, 1]), ValueError,
         r"keyword argument\(s\) \['labels'\]"),
        (lambda: metrics.make_scorer(metrics.f1_score, average="samples"), ValueError,
         "average='samples' is not supported"),
        (lambda: metrics.make_scorer(metrics.log_loss), ValueError, "response_method='predict'"),
        (lambda: metrics.make_scorer(lambda t, p: float(np.mean(t == p))), TypeError,
         "must take sample_weight"),
        (lambda: metrics.make_scorer(lambda t, p, sample_weight=None: float(np.mean(t == p))),
         TypeError, "does not trace under JAX"),
    ],
)  # fmt: skip
def test_make_scorer_refusals_say_why(make, error, match):
    with pytest.raises(error, match=match):
        _one(make())


@pytest.mark.parametrize(
    ("scoring", "kw", "match"),
    [
        ("roc_auc", {"classes": np.arange(3)}, "is binary, but y has 3 classes"),
        ("f1", {"classes": np.array(["no", "yes"])}, "pos_label=1"),
        ("neg_max_error", {"classifier": False, "classes": None, "n_outputs": 2},
         "several outputs"),
        ("top_k_accuracy", {}, "needs k"),
    ],
)  # fmt: skip
def test_scoring_names_that_do_not_suit_are_refused(scoring, kw, match):
    with pytest.raises(ValueError, match=match):
        _one(scoring, **kw)


def test_f1_with_pos_label_of_the_second_class_is_accepted():
    s = _one(metrics.make_scorer(metrics.f1_score, pos_label="yes"),
             classes=np.array(["no", "yes"]))  # fmt: skip
    assert s.metric is jaxfit.get_metric("f1")


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_sklearns_own_scorer_objects_map_to_the_same_metric(name):
    entry = SCORERS[name]
    if "regression" in entry.task:
        kw = {"classifier": False, "classes": None}
    else:  # two classes where the score is binary, else three
        kw = {"classes": np.arange(2 if entry.task == "binary" else 3)}
    scorer = _one(metrics.get_scorer(name), **kw)
    assert scorer.metric is jaxfit.get_metric(entry.metric), name
    assert scorer.sign == entry.sign
