"""Row keys that do not depend on a setting's position: paired (common random numbers) by
default, per-setting streams on request; the checkpoint knows which rule wrote it."""

import json

import jax
import numpy as np
import pytest

import jaxfit
from jaxfit._cli.config import ConfigError, parse_config
from jaxfit._sweeping.keys import setting_hash
from jaxfit._training.step import TRACES

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, (48, 2)).astype(np.float32)
Y = (2 * X[:, 0] - X[:, 1] + 0.1 * RNG.normal(size=48)).astype(np.float32)
# A random initialisation and minibatches: a row's key decides both.
BASE = jaxfit.Hyperparams(optimizer="sgd", steps=6, hidden=(3,), batch_size=16)
KEY = jax.random.key(3)
TWO = [0.1, 0.2]
THREE_IN_FRONT = [0.3, 0.05, 0.5, 0.1, 0.2]
REORDERED_AND_REMOVED = [0.2, 0.05]


def _sweep(rates, **kw):
    # One row per device (chunk_size=1): every row runs in the same program whatever the
    # grid, so equal keys must give bitwise equal numbers.
    kw = {"key": KEY, "seeds": 2, "chunk_size": 1, "progress": False} | kw
    space = kw.pop("space") if "space" in kw else jaxfit.grid(learning_rate=rates)
    return jaxfit.sweep(jaxfit.mlp(), "mse", (X, Y), BASE, space, **kw)


def _assert_rows_equal(a, i, b, j):
    """Setting ``i`` of ``a`` and setting ``j`` of ``b``: bitwise the same numbers."""
    assert a.hyperparams[i] == b.hyperparams[j]
    for m in a.metrics:
        np.testing.assert_array_equal(a.metrics[m][i], b.metrics[m][j], err_msg=m)
    np.testing.assert_array_equal(a.train_curves[i], b.train_curves[j])
    for cell in range(a.seeds * a.folds):
        jax.tree.map(np.testing.assert_array_equal, a.params(i, cell), b.params(j, cell))


@pytest.mark.parametrize("keys", ["paired", "per_setting"])
@pytest.mark.parametrize("cv", [None, 2])
def test_inserting_reordering_or_removing_settings_changes_nothing_else(keys, cv):
    kw = {"cv": cv} | ({} if keys == "paired" else {"keys": keys})  # paired is the default
    two = _sweep(TWO, **kw)
    front = _sweep(THREE_IN_FRONT, **kw)
    _assert_rows_equal(two, 0, front, 3)
    _assert_rows_equal(two, 1, front, 4)
    _assert_rows_equal(two, 1, _sweep(REORDERED_AND_REMOVED, **kw), 0)
    assert two.info["keys"] == keys


def test_every_setting_of_a_seed_starts_from_the_same_initialisation():
    r = _sweep(THREE_IN_FRONT)
    first = r.train_curves[:, :, 0]  # the loss of the first minibatch at the initial params
    for s in range(r.seeds):
        np.testing.assert_array_equal(first[:, s], np.full(len(r), first[0, s]))
    assert first[0, 0] != first[0, 1]  # seeds differ
    for i, lr in enumerate(THREE_IN_FRONT):  # and each row is jaxfit.fit with fold_in(key, s)
        alone = jaxfit.fit(jaxfit.mlp(), "mse", (X, Y), BASE.replace(learning_rate=lr),
                           key=jax.random.fold_in(KEY, 1))  # fmt: skip
        np.testing.assert_allclose(r.train_curves[i, 1], alone.train_loss, rtol=1e-5, atol=1e-6)


def test_per_setting_streams_differ_by_content_not_position():
    r = _sweep(TWO, keys="per_setting")
    assert r.train_curves[0, 0, 0] != r.train_curves[1, 0, 0]  # different initialisations
    for i, lr in enumerate(TWO):
        key = jax.random.fold_in(jax.random.fold_in(KEY, 1), setting_hash(r.hyperparams[i]))
        alone = jaxfit.fit(jaxfit.mlp(), "mse", (X, Y), BASE.replace(learning_rate=lr), key=key)
        np.testing.assert_allclose(r.train_curves[i, 1], alone.train_loss, rtol=1e-5, atol=1e-6)
    # A list of settings (another path to the same settings), with a duplicate: identical
    # settings share a stream wherever they stand.
    listed = [BASE.replace(learning_rate=lr) for lr in (0.2, 0.1, 0.2)]
    again = _sweep(None, space=listed, keys="per_setting")
    _assert_rows_equal(r, 1, again, 0)
    _assert_rows_equal(r, 0, again, 1)
    _assert_rows_equal(again, 0, again, 2)


def test_both_modes_and_every_grid_run_one_program():
    _sweep(TWO)
    before = TRACES["sweep"]
    _sweep(THREE_IN_FRONT, keys="per_setting")
    _sweep(REORDERED_AND_REMOVED)
    assert TRACES["sweep"] == before


@pytest.mark.parametrize("bad", ["random", "Paired", None, 1])
def test_bad_keys_are_refused(bad):
    message = r"keys must be one of \['paired', 'per_setting'\]; got " + repr(bad)
    with pytest.raises(ValueError, match=message):
        _sweep(TWO, keys=bad)
    with pytest.raises(ValueError, match=message):
        jaxfit.sweep_plan(jaxfit.mlp(), "mse", (X, Y), BASE, keys=bad)


def test_a_checkpoint_of_another_key_rule_is_refused(tmp_path):
    _sweep(TWO, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="different sweep: it differs in key rule"):
        _sweep(TWO, keys="per_setting", checkpoint_dir=tmp_path)
    # A checkpoint written before the key rule was fingerprinted (rows keyed by position).
    manifest = tmp_path / "manifest.json"
    stored = json.loads(manifest.read_text())
    del stored["fingerprint"]["key rule"]
    manifest.write_text(json.dumps(stored))
    with pytest.raises(ValueError, match="differs in key rule"):
        _sweep(TWO, checkpoint_dir=tmp_path)


def test_config_sets_the_key_mode():
    head = '[model]\nname = "linear"\n[data]\nsource = "linear"\n[sweep]\n'
    assert parse_config(head + 'keys = "per_setting"\n').options["keys"] == "per_setting"
    with pytest.raises(ConfigError, match=r"\[sweep\] keys: 'shared' is not one of"):
        parse_config(head + 'keys = "shared"\n', file="c.toml")
