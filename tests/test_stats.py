"""Cross-validation statistics: summaries, the (corrected) paired t-test, the Student-t tail."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jaxfit._selection.stats import CORRECTED, PAIRED, Comparison, compare_to_best, summarize, t_sf

FEW = settings(max_examples=30, deadline=None)


def noisy(means, s=3, f=5, scale=0.01, seed=0):
    """``(N, S, F)`` scores: ``means`` plus independent Gaussian noise."""
    rng = np.random.default_rng(seed)
    means = np.asarray(means, float)
    return means[:, None, None] + scale * rng.normal(size=(means.size, s, f))


# --- the Student-t tail, against closed forms, tables and scipy ---------------------------


@FEW
@given(st.floats(-1e3, 1e3))
def test_t_sf_closed_forms_for_one_and_two_degrees_of_freedom(t):
    cauchy = 0.5 - math.atan(t) / math.pi
    two = 0.5 - t / (2 * math.sqrt(2 + t * t))
    got = t_sf(np.array([t, t]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(got, [cauchy, two], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(
    ("t", "df", "p"),  # one-sided critical values from standard t tables
    [(12.706205, 1, 0.025), (2.570582, 5, 0.025), (2.228139, 10, 0.025), (1.697261, 30, 0.05),
     (3.339835, 200, 0.0005), (0.0, 7, 0.5), (-2.570582, 5, 0.975)],
)  # fmt: skip
def test_t_sf_matches_tables(t, df, p):
    assert t_sf(np.array(t), np.array(float(df))) == pytest.approx(p, rel=1e-5)


def test_t_sf_limits_and_nan():
    got = t_sf(np.array([np.inf, -np.inf, np.nan, 1e9]), np.full(4, 3.0))
    assert got[0] == 0.0 and got[1] == 1.0 and np.isnan(got[2]) and 0 <= got[3] < 1e-25


def test_t_sf_matches_scipy_on_a_grid():
    stats = pytest.importorskip("scipy.stats")
    df = np.concatenate([np.arange(1.0, 201.0), [0.5, 1.5, 2.7, 9.99, 33.3, 150.5, 1e4]])
    magnitudes = [0.0, 1e-12, 1e-6, 0.1, 0.5, 1.0, 1.96, 2.5, 5.0, 10.0, 40.0, 1e3, 1e9, 1e150]
    t = np.array(sorted({s * m for m in magnitudes for s in (-1, 1)}))
    tt, dd = np.meshgrid(t, df)
    got, want = t_sf(tt, dd), stats.t.sf(tt, dd)
    assert got.dtype == np.float64 and got.shape == tt.shape
    # float64 rounding over the whole range, the far tails (p ~ 1e-150 and below) included
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    assert (got[:, t == 0] == 0.5).all() and (got[:, t > 0] <= 0.5).all()
    assert (got[:, t > 1] < 0.5).all() and got[0, -1] == pytest.approx(1 / (np.pi * 1e150))


@FEW
@given(st.floats(-60, 60), st.one_of(st.integers(1, 3000), st.floats(0.5, 500)))
def test_t_sf_matches_scipy(t, df):
    stats = pytest.importorskip("scipy.stats")
    want = stats.t.sf(t, df)
    assert t_sf(np.array(t), np.array(float(df))) == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_t_sf_is_symmetric_and_broadcasts():
    t = np.array([[0.3], [2.0], [25.0]])
    df = np.array([1.0, 4.5, 60.0])
    np.testing.assert_allclose(t_sf(t, df) + t_sf(-t, df), 1.0, rtol=1e-15)
    assert t_sf(t, df).shape == (3, 3) and t_sf(np.array(2.0), np.array(3.0)).shape == ()


# --- compare_to_best against independent references ---------------------------------------


@FEW
@given(st.integers(0, 10**6), st.integers(1, 4), st.integers(1, 6), st.booleans())
def test_uncorrected_matches_scipy_ttest_rel(seed, s, f, greater):
    stats = pytest.importorskip("scipy.stats")
    if s * f < 2:
        s = 2
    scores = noisy([0.5, 0.505, 0.51, 0.6], s, f, scale=0.02, seed=seed)
    c = compare_to_best(scores, greater_is_better=greater)
    assert c.method == PAIRED and c.n_pairs == s * f
    flat = scores.reshape(4, -1)
    for i in c.order[1:]:
        better, worse = (flat[c.best], flat[i]) if greater else (flat[i], flat[c.best])
        ref = stats.ttest_rel(better, worse, alternative="greater")
        assert c.t[i] == pytest.approx(ref.statistic, rel=1e-9)
        assert c.p_value[i] == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-300)


@FEW
@given(st.integers(0, 10**6), st.floats(0.01, 2.0), st.booleans())
def test_corrected_t_matches_hand_formula(seed, frac, greater):
    scores = noisy([0.5, 0.503, 0.52], s=2, f=5, scale=0.02, seed=seed)
    c = compare_to_best(scores, greater_is_better=greater, test_fraction=frac)
    assert c.method == CORRECTED and c.test_fraction == frac
    flat = scores.reshape(3, -1)
    j = flat.shape[1]
    for i in c.order[1:]:
        d = (flat[c.best] - flat[i]) * (1 if greater else -1)
        t = d.mean() / np.sqrt((1 / j + frac) * d.var(ddof=1))
        assert c.t[i] == pytest.approx(t, rel=1e-12)
        assert c.diff_mean[i] == pytest.approx(d.mean(), rel=1e-12)
        assert c.p_value[i] == pytest.approx(float(t_sf(np.array(t), np.array(j - 1.0))))


def test_corrected_p_value_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    scores = noisy([0.8, 0.79], s=3, f=10, seed=1)
    c = compare_to_best(scores, greater_is_better=True, test_fraction=1 / 9)
    d = (scores[0] - scores[1]).ravel()
    t = d.mean() / np.sqrt((1 / 30 + 1 / 9) * d.var(ddof=1))
    assert c.p_value[1] == pytest.approx(stats.t.sf(t, 29), rel=1e-9)


# --- properties -----------------------------------------------------------------------------


def test_identical_settings_are_indistinguishable():
    scores = np.repeat(noisy([0.7], s=2, f=5), 3, axis=0)
    c = compare_to_best(scores, greater_is_better=True, test_fraction=0.25)
    assert c.best == 0 and c.order.tolist() == [0, 1, 2]
    assert c.p_value[1:].tolist() == [1.0, 1.0] and c.t[1:].tolist() == [0.0, 0.0]
    assert c.indistinguishable.all() and np.isnan(c.p_value[0])


def test_far_worse_setting_is_distinguishable():
    c = compare_to_best(noisy([0.9, 0.5]), greater_is_better=True, test_fraction=0.25)
    assert c.p_value[1] < 1e-6 and c.indistinguishable.tolist() == [True, False]


def test_constant_nonzero_difference_has_p_zero():
    base = noisy([0.9])
    c = compare_to_best(np.concatenate([base, base - 0.125]), greater_is_better=True)
    assert c.p_value[1] == 0.0 and c.t[1] == np.inf and not c.indistinguishable[1]


def test_equal_means_with_noise_give_p_one_half():
    d = np.array([1.0, -1.0, 2.0, -2.0])
    scores = np.stack([np.zeros(4), d])[:, None, :]
    c = compare_to_best(scores, greater_is_better=False)
    assert c.best == 0 and c.t[1] == 0.0 and c.p_value[1] == pytest.approx(0.5)


@FEW
@given(st.integers(0, 10**6), st.floats(0.0, 1.0), st.floats(0.001, 1.0))
def test_larger_test_fraction_is_more_conservative(seed, small, extra):
    scores = noisy([0.5, 0.51, 0.55], s=2, f=5, scale=0.02, seed=seed)
    lo = compare_to_best(scores, greater_is_better=False, test_fraction=small or None)
    hi = compare_to_best(scores, greater_is_better=False, test_fraction=small + extra)
    tested = lo.status == "tested"
    assert (hi.p_value[tested] >= lo.p_value[tested]).all()
    assert (np.abs(hi.t[tested]) <= np.abs(lo.t[tested])).all()


@pytest.mark.parametrize("greater", [True, False])
def test_direction(greater):
    scores = noisy([0.3, 0.9, 0.6])
    c = compare_to_best(scores, greater_is_better=greater)
    assert c.order.tolist() == ([1, 2, 0] if greater else [0, 2, 1])
    assert (c.diff_mean[c.order[1:]] > 0).all() and (c.t[c.order[1:]] > 0).all()


def test_nan_cells_exclude_the_setting():
    scores = noisy([0.9, 0.95, 0.5, 0.89])
    scores[1, 2, 3] = np.nan  # the would-be best diverged in one (seed, fold)
    scores[2, 0, 0] = np.inf
    c = compare_to_best(scores, greater_is_better=True)
    assert c.best == 0 and c.order.tolist() == [0, 3]
    assert c.status.tolist() == ["best", "non-finite", "non-finite", "tested"]
    assert np.isnan(c.p_value[[1, 2]]).all() and not c.indistinguishable[[1, 2]].any()
    assert "not ranked, a NaN or inf score (e.g. a diverged seed): 2 setting(s) (1, 2)" in (
        c.table()
    )


def test_all_nan_raises():
    with pytest.raises(ValueError, match="none of the 2 settings has finite scores"):
        compare_to_best(np.full((2, 1, 3), np.nan), greater_is_better=True)


def test_single_cell_is_untestable():
    c = compare_to_best(np.array([[0.1], [0.2]]), greater_is_better=False)
    assert c.n_pairs == 1 and c.status.tolist() == ["best", "untestable"]
    assert np.isnan(c.p_value).all() and c.indistinguishable.tolist() == [True, False]


def test_candidates_limits_the_tests():
    c = compare_to_best(noisy([0.1, 0.2, 0.3, 0.4]), greater_is_better=False, candidates=2)
    assert c.status.tolist() == ["best", "tested", "not compared", "not compared"]
    assert np.isnan(c.p_value[2:]).all() and np.isnan(c.diff_mean[2:]).all()


def test_comparison_is_read_only():
    c = compare_to_best(noisy([0.1, 0.2]), greater_is_better=False)
    assert isinstance(c, Comparison) and "best=0" in repr(c)
    with pytest.raises(ValueError, match="read-only"):
        c.p_value[0] = 0.0


def test_table():
    c = compare_to_best(noisy([0.1, 0.2, 0.9]), greater_is_better=False, test_fraction=0.25)
    text = c.table(names=["a", "b", "c"], k=2)
    lines = text.splitlines()
    assert CORRECTED in lines[0] and "lower is better" in lines[0]
    assert lines[1].split() == ["rank", "setting", "mean", "±", "std", "Δ", "vs", "best", "p"]
    assert lines[2].split()[:2] == ["1", "a"] and lines[2].endswith("≈ best")
    assert lines[3].split()[:2] == ["2", "b"] and lines[-1] == "... and 1 more ranked settings"
    with pytest.raises(ValueError, match="got 2 names for 3 settings"):
        c.table(names=["a", "b"])
    with pytest.raises(TypeError, match="names="):
        c.table(names="abc")
    with pytest.raises(ValueError, match="k=0"):
        c.table(k=0)


# --- summarize ------------------------------------------------------------------------------


def test_summarize_is_population_std_over_seeds_and_folds():
    scores = noisy([0.1, 0.5], s=3, f=4)
    out = summarize(scores)
    flat = scores.reshape(2, -1)
    np.testing.assert_allclose(out["mean"], flat.mean(axis=1))
    np.testing.assert_allclose(
        out["std"], np.sqrt(((flat - flat.mean(1, keepdims=True)) ** 2).mean(1))
    )
    assert out["n"].tolist() == [12, 12]
    assert summarize(scores, axis=2)["mean"].shape == (2, 3)
    np.testing.assert_allclose(summarize(scores[:, :, 0])["mean"], scores[:, :, 0].mean(1))


def test_summarize_counts_finite_and_propagates_nan():
    scores = noisy([0.1, 0.5])
    scores[0, 1, 1] = np.nan
    scores[1, 0, 0] = np.inf
    out = summarize(scores)
    assert np.isnan(out["mean"][0]) and np.isinf(out["mean"][1]) and out["n"].tolist() == [14, 14]


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "error", "match"),
    [(np.zeros((2, 3, 4, 5)), ValueError, r"\(N, S, F\).*got shape \(2, 3, 4, 5\)"),
     (np.zeros((0, 3, 4)), ValueError, "non-empty"),
     (np.zeros(3), ValueError, r"got shape \(3,\)"),
     (np.zeros((2, 3), bool), TypeError, "dtype bool"),
     (np.array([["a"]]), TypeError, "must be real numbers")],
)  # fmt: skip
def test_bad_scores(scores, error, match):
    with pytest.raises(error, match=match):
        compare_to_best(scores, greater_is_better=True)
    with pytest.raises(error, match=match):
        summarize(scores)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"greater_is_better": 1}, TypeError, "greater_is_better=1 must be a bool"),
     ({"alpha": 0.0}, ValueError, r"alpha=0.0 must be a number in \(0, 1\)"),
     ({"alpha": True}, ValueError, "alpha=True"),
     ({"test_fraction": 0.0}, ValueError, r"test_fraction=0.0 must be n_test / n_train > 0"),
     ({"test_fraction": np.inf}, ValueError, "test_fraction=inf"),
     ({"test_fraction": "1/4"}, ValueError, "test_fraction='1/4'"),
     ({"candidates": 0}, ValueError, "candidates=0 must be an int >= 1"),
     ({"candidates": 2.0}, ValueError, "candidates=2.0")],
)  # fmt: skip
def test_bad_arguments(kwargs, error, match):
    kwargs = {"greater_is_better": True, **kwargs}
    with pytest.raises(error, match=match):
        compare_to_best(noisy([0.1, 0.2]), **kwargs)


@pytest.mark.parametrize(
    ("axis", "error", "match"),
    [((1, 1), ValueError, "distinct axes"), (3, ValueError, r"axis=3"), ((), ValueError, "axis"),
     (1.0, TypeError, "must be an int or a tuple of ints"), ([1, 2], TypeError, "axis=")],
)  # fmt: skip
def test_bad_axis(axis, error, match):
    with pytest.raises(error, match=match):
        summarize(noisy([0.1]), axis=axis)
