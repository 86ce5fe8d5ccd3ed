"""What a diverged run reports: NaN metrics by default, its last good ones by name (issue 11).

The guard freezes a diverging run at its last finite parameters; the metrics of those
parameters would read like a real score, so ``metrics`` (and every view of them) are NaN
for a diverged run, as scikit-learn's ``error_score=np.nan``, while ``last_good_metrics``
keeps them.
"""

import io
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxfit
from jaxfit._sweeping.result import GroupInfo, SweepResult

X = np.linspace(-1, 1, 24, dtype=np.float32)
Y = 2 * X + 1
XV = np.linspace(-0.9, 0.9, 8, dtype=np.float32)
YV = 2 * XV + 1
RATES = [0.1, 10.0]  # 10.0 explodes
METRICS = ["mse", "mae"]


@pytest.fixture(scope="module")
def result():
    base = jaxfit.Hyperparams(optimizer="sgd", steps=20)
    return jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), base, jaxfit.grid(learning_rate=RATES),
                        key=jax.random.key(0), seeds=2, val=(XV, YV), metrics=["mae"],
                        progress=False)  # fmt: skip


def _frozen_scores(r, i, s, model=None):
    """The metrics of run (i, s)'s kept parameters, computed outside the sweep."""
    model = model or jaxfit.linear()
    out = {}
    for prefix, data in (("train", (X, Y)), ("val", (XV, YV))):
        values = jaxfit.evaluate(model, r.params(i, s), data, r.hp(i), METRICS)
        out[f"{prefix}_loss"], out[f"{prefix}_mae"] = values["mse"], values["mae"]
    return out


def test_sweep_metrics_are_nan_for_diverged_runs_and_last_good_keeps_them(result):
    r = result
    assert r.diverged[1].all() and not r.diverged[0].any()
    assert set(r.last_good_metrics) == set(r.metrics) == {
        "train_loss", "val_loss", "train_mae", "val_mae"
    }  # fmt: skip
    for m, values in r.metrics.items():
        good = r.last_good_metrics[m]
        assert good.shape == values.shape == (2, 2) and good.dtype == values.dtype
        assert np.isnan(values[1]).all(), m
        assert np.isfinite(good[1]).all(), m
        np.testing.assert_array_equal(values[0], good[0])  # the same where nothing diverged
    for s in range(2):
        for m, v in _frozen_scores(r, 1, s).items():
            np.testing.assert_allclose(r.last_good_metrics[m][1, s], v, rtol=1e-4)


def test_every_view_reports_nan_for_a_diverged_setting(result):
    r = result
    assert np.isnan(r.cells("val_loss")[1]).all() and np.isfinite(r.cells("val_loss")[0]).all()
    assert np.isnan(r.mean("val_mae")[1]) and np.isnan(r.std("val_mae")[1])
    assert np.isfinite(r.mean("val_mae")[0])
    assert r.ranking().tolist() == [0] and r.best(5)[0]["index"] == 0
    records = r.to_records()
    for rec in records:
        diverged = rec["setting"] == 1
        assert rec["diverged"] == diverged
        assert all(np.isnan(rec[m]) == diverged for m in r.metrics), rec
    # CSV, as written from the records (the command line's results.csv is the same rows)
    pd = pytest.importorskip("pandas")
    back = pd.read_csv(io.StringIO(r.to_pandas().to_csv(index=False)))
    assert back.loc[back["setting"] == 1, "val_loss"].isna().all()
    assert back.loc[back["setting"] == 0, "val_loss"].notna().all()


def test_save_and_load_keep_both_nan_and_last_good(result, tmp_path):
    r = result
    r.save(tmp_path / "sweep")
    loaded = SweepResult.load(tmp_path / "sweep")
    assert np.isnan(loaded.metrics["val_loss"][1]).all()
    assert np.isfinite(loaded.last_good_metrics["val_loss"][1]).all()
    for m in r.metrics:
        np.testing.assert_array_equal(loaded.metrics[m], r.metrics[m])
        np.testing.assert_array_equal(loaded.last_good_metrics[m], r.last_good_metrics[m])
        assert loaded.last_good_metrics[m].dtype == r.last_good_metrics[m].dtype


def test_a_result_saved_before_last_good_metrics_loads_with_nan_metrics(result, tmp_path):
    """Older saves stored the last good values as ``metrics`` and nothing else."""
    r = result
    path = tmp_path / "old"
    r.save(path)
    with np.load(path / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files if not k.startswith("last_good_")}
    names = json.loads((path / "result.json").read_text())["metrics"]
    arrays |= {f"metric_{j}": r.last_good_metrics[m] for j, m in enumerate(names)}
    os.remove(path / "arrays.npz")
    np.savez(path / "arrays.npz", **arrays)
    loaded = SweepResult.load(path)
    assert np.isnan(loaded.metrics["val_loss"][1]).all()  # the old file has finite values
    for m in r.metrics:
        np.testing.assert_array_equal(loaded.metrics[m], r.metrics[m])
        np.testing.assert_array_equal(loaded.last_good_metrics[m], r.last_good_metrics[m])


def _hand_made(**changes):
    n, s = 2, 1
    fields: dict[str, Any] = dict(
        hyperparams=({"learning_rate": 0.1}, {"learning_rate": 10.0}), varied=("learning_rate",),
        seeds=s, metrics={"val_loss": np.array([[0.3], [0.05]])},
        greater_is_better={"val_loss": False}, diverged=np.array([[False], [True]]),
        diverged_step=np.array([[-1], [4]]), cause=np.array([[0], [3]]),
        train_curves=np.zeros((n, s, 0)), val_curves=np.zeros((n, s, 0)), val_steps=((), ()),
        group_params=None, info={},
        groups=(GroupInfo(("Hyperparams", ()), np.arange(n), 0.0, 0.0, 2, 1, None),),
    )  # fmt: skip
    fields.update(changes)
    return SweepResult(**fields)


def test_a_hand_made_result_masks_diverged_metrics_and_keeps_them_as_last_good():
    given = np.array([[0.3], [0.05]])
    r = _hand_made(metrics={"val_loss": given})
    assert r.metrics["val_loss"][:, 0].tolist()[0] == 0.3 and np.isnan(r.metrics["val_loss"][1, 0])
    assert r.last_good_metrics["val_loss"][:, 0].tolist() == [0.3, 0.05]
    assert given[1, 0] == 0.05  # the caller's array is not written to
    assert r.ranking().tolist() == [0]  # 0.05 would have been "best"
    explicit = _hand_made(metrics={"val_loss": np.array([[0.3], [np.nan]])},
                          last_good_metrics={"val_loss": given})  # fmt: skip
    np.testing.assert_array_equal(explicit.last_good_metrics["val_loss"], given)
    with pytest.raises(ValueError, match="did not diverge"):
        _hand_made(last_good_metrics={"val_loss": np.array([[0.4], [0.05]])})
    with pytest.raises(ValueError, match="same names"):
        _hand_made(last_good_metrics={"train_loss": given})


def test_newton_on_an_indefinite_hessian_reports_nan_with_finite_last_good():
    # Newton on an MLP: the Hessian at a random start is indefinite and the step is NaN.
    base = jaxfit.Hyperparams(optimizer="newton", steps=5, hidden=(4,))
    model = jaxfit.mlp()
    r = jaxfit.sweep(model, "mse", (X[:, None], Y), base, jaxfit.grid(l2=[0.0]),
                     key=jax.random.key(0), val=(XV[:, None], YV), metrics=["mae"],
                     progress=False)  # fmt: skip
    assert r.diverged.all()
    assert all(np.isnan(v).all() for v in r.metrics.values())
    assert all(np.isfinite(v).all() for v in r.last_good_metrics.values())
    expected = jaxfit.evaluate(model, r.params(0), (XV[:, None], YV), r.hp(0), METRICS)
    np.testing.assert_allclose(r.last_good_metrics["val_loss"][0, 0], expected["mse"], rtol=1e-4)


def test_grid_search_scores_a_diverged_setting_nan_by_default_and_ranks_it_last():
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    y = x @ np.array([1.0, -1.0])
    est = jaxfit.JaxfitRegressor(optimizer="sgd", steps=20)
    grid = {"learning_rate": [100.0, 0.1]}  # the first diverges, and would rank first by index
    search = jaxfit.GridSearchCV(est, grid, cv=2, refit=False, return_train_score=True,
                                 progress=False).fit(x, y)  # fmt: skip
    r = search.cv_results_
    assert r["diverged"].tolist() == [True, False]
    for k in ("split0_test_score", "split1_test_score", "mean_test_score", "std_test_score",
              "mean_train_score"):  # fmt: skip
        assert np.isnan(r[k][0]) and np.isfinite(r[k][1]), k
    assert r["rank_test_score"].tolist() == [2, 1] and search.best_index_ == 1
    sweep = search.sweep_result_
    assert np.isnan(sweep.metrics["val_r2"][0]).all()
    assert np.isfinite(sweep.last_good_metrics["val_r2"][0]).all()
    scored = jaxfit.GridSearchCV(est, grid, cv=2, refit=False, error_score=-1.0,
                                 progress=False).fit(x, y)  # fmt: skip
    assert scored.cv_results_["mean_test_score"][0] == -1.0
    assert scored.cv_results_["rank_test_score"].tolist() == [2, 1]
    with pytest.raises(jaxfit.SweepDiverged, match="error_score='raise'"):
        jaxfit.GridSearchCV(est, grid, cv=2, refit=False, error_score="raise",
                            progress=False).fit(x, y)  # fmt: skip


def test_a_diverged_fit_has_nan_metrics_and_finite_last_good():
    hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=10.0, steps=20)
    model = jaxfit.linear()
    r = jaxfit.fit(model, "mse", (X, Y), hp, key=jax.random.key(0), val=(XV, YV), metrics=["mae"])
    assert bool(r.diverged)
    assert set(r.metrics) == set(r.last_good_metrics) == {
        "train_loss", "val_loss", "train_mae", "val_mae"
    }  # fmt: skip
    assert all(bool(jnp.isnan(v)) for v in r.metrics.values())
    expected = jaxfit.evaluate(model, r.params, (XV, YV), hp, METRICS)
    np.testing.assert_allclose(float(r.last_good_metrics["val_loss"]), expected["mse"], rtol=1e-4)
    np.testing.assert_allclose(float(r.last_good_metrics["val_mae"]), expected["mae"], rtol=1e-4)
    fine = jaxfit.fit(model, "mse", (X, Y), hp.replace(learning_rate=0.1), key=jax.random.key(0))
    assert not bool(fine.diverged)
    assert float(fine.metrics["train_loss"]) == float(fine.last_good_metrics["train_loss"])


def test_a_vmapped_fit_masks_only_its_diverged_rows():
    batch = jaxfit.stack([jaxfit.Hyperparams(optimizer="sgd", learning_rate=lr, steps=20)
                          for lr in RATES])  # fmt: skip
    keys = jax.random.split(jax.random.key(0), len(RATES))

    def train(h, k):
        return jaxfit.fit(jaxfit.linear(), "mse", (X, Y), h, key=k)

    r = jax.jit(jax.vmap(train))(batch, keys)
    assert np.asarray(r.diverged).tolist() == [False, True]
    loss, good = np.asarray(r.metrics["train_loss"]), np.asarray(r.last_good_metrics["train_loss"])
    assert np.isfinite(loss[0]) and np.isnan(loss[1]) and np.isfinite(good).all()
    assert loss[0] == good[0]
