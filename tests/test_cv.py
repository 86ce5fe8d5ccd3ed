"""Cross-validation inside a sweep: folds are one more vmap axis, exact for unequal folds."""

import jax
import numpy as np
import pytest

import jaxfit
from jaxfit._training import Batcher

RNG = np.random.default_rng(3)
X = RNG.normal(size=(10, 2)).astype(np.float32)  # 10 samples, 3 folds: sizes 4, 3, 3
Y = (X @ np.array([1.5, -2.0]) + 0.3 + 0.1 * RNG.normal(size=10)).astype(np.float32)
BASE = jaxfit.Hyperparams(optimizer="sgd", steps=30)
SPACE = jaxfit.grid(learning_rate=[0.05, 0.2])
KEY = jax.random.key(11)


@pytest.fixture(scope="module")
def result():
    return jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), BASE, SPACE, key=KEY, seeds=2, cv=3,
                        metrics=["r2"], progress=False)  # fmt: skip


def test_shapes_and_fold_axis(result):
    assert result.folds == 3 and result.seeds == 2
    assert result.metrics["val_loss"].shape == (2, 6)
    assert result.cells("val_loss").shape == (2, 2, 3)
    assert {"train_loss", "val_loss", "train_r2", "val_r2"} <= set(result.metrics)


def test_each_fold_equals_a_weighted_fit_alone(result):
    folds = jaxfit.KFold(3).split(X)
    for i, lr in enumerate([0.05, 0.2]):
        for s in range(2):
            for f in range(3):
                alone = jaxfit.fit(
                    jaxfit.linear(), "mse", (X, Y, folds.train[f]), BASE.replace(learning_rate=lr),
                    key=jax.random.fold_in(KEY, s), val=(X, Y, folds.test[f]),
                    metrics=["r2"],
                )  # fmt: skip
                cell = s * 3 + f
                for m in ("train_loss", "val_loss", "val_r2"):
                    np.testing.assert_allclose(
                        result.metrics[m][i, cell], alone.metrics[m], rtol=1e-5, atol=1e-6
                    )


def test_unequal_folds_are_exact(result):
    i = 1
    for f, (train_idx, test_idx) in enumerate(jaxfit.KFold(3).split(X).indices()):
        params = result.params(i, seed=0 * 3 + f)
        pred = np.asarray(jaxfit.predict(jaxfit.linear(), params, X, result.hp(i)))[:, 0]
        assert len(test_idx) in (3, 4) and len(train_idx) + len(test_idx) == 10
        expected = np.mean((pred[test_idx] - Y[test_idx]) ** 2)  # numpy, only the test fold
        np.testing.assert_allclose(result.metrics["val_loss"][i, f], expected, rtol=1e-5)


def test_explicit_sklearn_splits_give_the_same_folds(result):
    sklearn = pytest.importorskip("sklearn.model_selection")
    pairs = list(sklearn.KFold(3).split(X))
    again = jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), BASE, SPACE, key=KEY, seeds=2,
                         cv=pairs, metrics=["r2"], progress=False)  # fmt: skip
    np.testing.assert_allclose(again.metrics["val_loss"], result.metrics["val_loss"], rtol=1e-6)


def test_minibatches_see_only_the_training_fold_once_per_epoch():
    weight = np.array([1, 0, 1, 1, 0, 1, 1, 0, 1, 1], np.float32)  # 7 active samples
    ds = jaxfit.as_dataset((np.arange(10, dtype=np.float32), np.zeros(10, np.float32), weight))
    for static in (None, 3):  # ceil(7 / 3) = 3 batches per epoch
        batch_at = Batcher(ds, 3, jax.random.key(0), static)
        order = batch_at.init
        for epoch in range(2):
            seen = []
            for b in range(3):
                batch, order = batch_at(np.int32(epoch * 3 + b), order)
                seen += [int(v) for v, w in zip(batch.x, batch.weight, strict=True) if w > 0]
            assert sorted(seen) == [0, 2, 3, 5, 6, 8, 9]


def test_cv_with_minibatches_runs_and_ranks():
    hp = BASE.replace(batch_size=4, steps=40)
    r = jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), hp, SPACE, key=KEY, cv=jaxfit.KFold(5),
                     progress=False)  # fmt: skip
    assert r.folds == 5 and np.isfinite(r.metrics["val_loss"]).all()
    assert r.best(1)[0]["index"] in (0, 1)


def test_cv_excludes_val_and_groups_need_cv():
    with pytest.raises(ValueError, match="not both"):
        jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), BASE, SPACE, key=KEY, cv=3, val=(X, Y))
    with pytest.raises(ValueError, match="only used with cv"):
        jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), BASE, SPACE, key=KEY, groups=np.arange(10))
    with pytest.raises(ValueError):
        jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), BASE, SPACE, key=KEY, cv=20)


def test_eval_every_applies_to_the_test_folds():
    r = jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), BASE, SPACE, key=KEY, cv=3, eval_every=10,
                     progress=False)  # fmt: skip
    assert r.val_steps[0] == (10, 20, 30)
    with pytest.raises(ValueError, match="eval_every must be a positive int"):
        jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), BASE, SPACE, key=KEY, cv=3, eval_every=0)
