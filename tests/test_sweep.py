"""Sweeps: grouping, no recompiles, chunking, devices, divergence, resume, results."""

import importlib
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import jaxfit
from jaxfit._training.step import TRACES

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, 64).astype(np.float32)
Y = (2 * X + 1 + 0.1 * RNG.normal(size=64)).astype(np.float32)
BASE = jaxfit.Hyperparams(optimizer="sgd", steps=40)
RATES = [0.01, 0.05, 0.1, 0.3, 0.6, 3.0]  # the last one diverges
SPACE = jaxfit.grid(learning_rate=RATES)
KEY = jax.random.key(7)


def _sweep(**kw):
    kw = {"key": KEY, "seeds": 2, "progress": False} | kw
    return jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), BASE, kw.pop("space", SPACE), **kw)


@pytest.fixture(scope="module")
def reference():
    return _sweep()


def _assert_same(a, b, rtol=1e-5):
    np.testing.assert_array_equal(a.diverged, b.diverged)
    np.testing.assert_array_equal(a.diverged_step, b.diverged_step)
    for m in a.metrics:
        np.testing.assert_allclose(a.metrics[m], b.metrics[m], rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(a.train_curves, b.train_curves, rtol=rtol, atol=1e-6)


def test_each_row_equals_fit_alone(reference):
    for i, lr in enumerate(RATES):
        for s in range(2):
            k = jax.random.fold_in(KEY, s)  # seed s of every setting: paired keys
            alone = jaxfit.fit(
                jaxfit.linear(), "mse", (X, Y), BASE.replace(learning_rate=lr), key=k
            )
            assert bool(alone.diverged) == bool(reference.diverged[i, s])
            np.testing.assert_allclose(
                reference.train_curves[i, s], alone.train_loss, rtol=1e-5, atol=1e-6
            )
            if not alone.diverged:
                np.testing.assert_allclose(
                    reference.params(i, s)["w"], alone.params["w"], rtol=1e-5, atol=1e-6
                )


@pytest.mark.parametrize("chunk_size", [1, 3, 5])
def test_chunking_does_not_change_numbers(reference, chunk_size):
    r = _sweep(chunk_size=chunk_size)
    width = -(-chunk_size // 4) * 4  # rounded up to a multiple of the 4 devices
    assert (r.groups[0].chunk_size, r.groups[0].n_chunks) == (width, -(-12 // width))
    _assert_same(r, reference)


def test_one_device_equals_four(reference):
    assert len(jax.devices()) == 4  # tests/conftest.py asks for four CPU devices
    _assert_same(_sweep(devices=jax.devices()[:1]), reference)
    _assert_same(_sweep(devices=jax.devices()[:3], chunk_size=3), reference)


def test_same_sweep_twice_compiles_nothing_and_new_values_do_not_retrace(reference):
    before = TRACES["sweep"]
    _sweep()
    assert TRACES["sweep"] == before
    _sweep(space=jaxfit.grid(learning_rate=[0.02, 0.03, 0.04, 0.07, 0.08, 0.09]))
    assert TRACES["sweep"] == before


def test_groups_by_static_part_one_compile_each():
    space = jaxfit.grid(steps=[10, 20], learning_rate=[0.1, 0.2, 0.3])
    before = TRACES["sweep"]
    r = _sweep(space=space, chunk_size=8)
    assert TRACES["sweep"] == before + 2  # one program per static group
    assert [len(g.indices) for g in r.groups] == [3, 3]
    assert [dict(g.static_key[1])["steps"] for g in r.groups] == [10, 20]
    assert all(g.compile_s > 0 for g in r.groups)
    assert r.train_curves.shape == (6, 2, 20)
    assert np.isnan(r.train_curves[:3, :, 10:]).all()  # shorter runs are padded with NaN


def test_divergence_is_isolated(reference):
    assert reference.diverged[-1].all() and not reference.diverged[:-1].any()
    assert {jaxfit.CAUSES[c] for c in reference.cause[-1]} <= {"explode", "inf", "nan"}
    without = _sweep(space=jaxfit.grid(learning_rate=RATES[:-1]))
    for m in reference.metrics:
        np.testing.assert_allclose(reference.metrics[m][:-1], without.metrics[m], rtol=1e-5)
    assert reference.best(1)[0]["index"] != len(RATES) - 1
    assert len(reference.ranking()) == len(RATES) - 1


def test_all_diverged_says_so():
    r = _sweep(space=jaxfit.grid(learning_rate=[3.0, 5.0]))
    with pytest.raises(jaxfit.SweepDiverged, match="all 2 settings diverged"):
        r.best()
    assert "diverged" in r.summary()


def test_memory_budget_chunks_and_matches(reference):
    whole = reference.groups[0]
    assert whole.n_chunks == 1 and whole.bytes_per_chunk is not None
    budget = int(whole.bytes_per_chunk) - 1  # the one-chunk program no longer fits
    r = _sweep(memory_budget=budget)
    g = r.groups[0]
    assert g.bytes_per_row is not None and g.bytes_per_row > 0
    assert g.n_chunks > 1 and g.chunk_size % 4 == 0
    assert g.bytes_per_chunk is not None and g.bytes_per_chunk <= budget
    _assert_same(r, reference)
    with pytest.raises(MemoryError, match="more than the memory budget"):
        _sweep(memory_budget=1_000)


def test_params_predict_and_save_load(reference, tmp_path):
    i = reference.best(1)[0]["index"]
    pred = jaxfit.predict(jaxfit.linear(), reference.params(i), X, reference.hp(i))
    assert pred.shape == (64, 1)
    reference.save(tmp_path / "result")
    loaded = jaxfit.SweepResult.load(tmp_path / "result", base=BASE)
    _assert_same(loaded, reference, rtol=0)
    assert loaded.hyperparams == reference.hyperparams
    np.testing.assert_array_equal(loaded.params(i)["w"], reference.params(i)["w"])


def test_explicit_list_of_settings(reference):
    settings = [BASE.replace(learning_rate=lr) for lr in RATES]
    r = _sweep(space=settings)
    assert r.varied == ("learning_rate",)
    _assert_same(r, reference)


def test_resume_from_checkpoint_in_process(reference, tmp_path):
    first = _sweep(checkpoint_dir=tmp_path, chunk_size=4)
    assert len(list(tmp_path.glob("group*.npz"))) == 3
    before = TRACES["sweep"]
    again = _sweep(checkpoint_dir=tmp_path, chunk_size=4)  # everything is loaded
    assert TRACES["sweep"] == before
    _assert_same(again, first, rtol=0)
    _assert_same(again, reference)


def test_checkpoint_of_another_sweep_is_refused(tmp_path):
    _sweep(checkpoint_dir=tmp_path, space=jaxfit.grid(learning_rate=[0.1, 0.2]))
    with pytest.raises(ValueError, match="different sweep: it differs in space"):
        _sweep(checkpoint_dir=tmp_path, space=jaxfit.grid(learning_rate=[0.1, 0.3]))
    two = jaxfit.grid(learning_rate=[0.1, 0.2])
    with pytest.raises(ValueError, match="differs in data"):
        jaxfit.sweep(jaxfit.linear(), "mse", (X, Y + 1), BASE, two, key=KEY, seeds=2,
                     checkpoint_dir=tmp_path)  # fmt: skip
    with pytest.raises(ValueError, match="differs in model"):
        jaxfit.sweep(jaxfit.polynomial(), "mse", (X, Y), BASE, two, key=KEY, seeds=2,
                     checkpoint_dir=tmp_path)  # fmt: skip
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a jaxfit sweep checkpoint"):
        _sweep(checkpoint_dir=tmp_path / "other")


def test_without_params_nothing_of_them_comes_back(reference, tmp_path, monkeypatch):
    # The module, not the function that jaxfit._sweeping's `sweep` names.
    sweep_module = importlib.import_module("jaxfit._sweeping.sweep")
    fetched = []
    real_fetch = sweep_module.fetch

    def spy(tree):
        out = real_fetch(tree)
        fetched.append(sum(a.nbytes for a in jax.tree.leaves(out)))
        return out

    monkeypatch.setattr(sweep_module, "fetch", spy)
    kept = _sweep(chunk_size=4)
    lean = _sweep(chunk_size=4, keep_params=False)
    assert lean.group_params is None and kept.group_params is not None
    _assert_same(lean, kept, rtol=0)  # the same training, only the parameters left behind
    param_bytes = sum(a.nbytes for a in jax.tree.leaves(kept.group_params))
    assert sum(fetched[: len(fetched) // 2]) - sum(fetched[len(fetched) // 2 :]) >= param_bytes
    with pytest.raises(ValueError, match="has no parameters"):
        lean.params(0)
    # A checkpoint of chunks without parameters cannot serve a sweep that keeps them.
    _sweep(checkpoint_dir=tmp_path, keep_params=False)
    again = _sweep(checkpoint_dir=tmp_path, keep_params=False)  # resumes: all loaded
    _assert_same(again, lean)
    with pytest.raises(ValueError, match="differs in keep_params"):
        _sweep(checkpoint_dir=tmp_path)
    with pytest.raises(TypeError, match="keep_params must be True or False; got 0"):
        _sweep(keep_params=0)


KILL_SCRIPT = """
import sys, jax, numpy as np, jaxfit
ckpt, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype(np.float32)
y = (x @ rng.normal(size=8) > 0).astype(np.int32)
base = jaxfit.Hyperparams(optimizer="adam", steps=300, hidden=(32, 32))
space = jaxfit.grid(learning_rate=list(np.geomspace(1e-4, 1e-1, 24)))
r = jaxfit.sweep(jaxfit.mlp(2), "softmax_cross_entropy", (x, y), base, space,
                 key=jax.random.key(1), chunk_size=2, checkpoint_dir=ckpt, progress=False,
                 devices=jax.devices()[:1])
np.savez(out, loss=r.metrics["train_loss"], curves=r.train_curves)
"""


@pytest.mark.slow
def test_sigkill_mid_sweep_then_resume_gives_the_same_result(tmp_path):
    env = os.environ | {"JAX_PLATFORMS": "cpu"}
    ckpt, out = tmp_path / "ckpt", tmp_path / "out.npz"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(ckpt), str(out)], env=env,
                            stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and len(list(ckpt.glob("group*.npz"))) < 2:
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before it could be killed: {proc.stderr.read()}")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(ckpt.glob("group*.npz")))
    assert 2 <= done < 12, f"{done} of 12 chunks were written before the kill"
    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(ckpt), str(out)], env=env, check=True,
                   timeout=300)  # fmt: skip
    resumed = np.load(out)
    fresh_out = tmp_path / "fresh.npz"
    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(tmp_path / "fresh"), str(fresh_out)],
                   env=env, check=True, timeout=300)  # fmt: skip
    fresh = np.load(fresh_out)
    np.testing.assert_array_equal(resumed["loss"], fresh["loss"])
    np.testing.assert_array_equal(resumed["curves"], fresh["curves"])


def test_progress_bar_only_when_asked(capsys):
    _sweep(progress=True)
    assert "sweep" in capsys.readouterr().err
    _sweep(progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"space": jaxfit.grid(learnin_rate=[0.1])}, ValueError, "did you mean 'learning_rate'"),
        ({"space": []}, TypeError, "non-empty list"),
        ({"space": "lr"}, TypeError, "space must be"),
        ({"seeds": 0}, ValueError, "seeds must be a positive int"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be"),
        ({"memory_budget": -5}, ValueError, "memory_budget must be"),
        ({"key": 3}, TypeError, "PRNG key"),
    ],
)
def test_bad_arguments_are_refused_before_compiling(kwargs, error, match):
    before = TRACES["sweep"]
    with pytest.raises(error, match=match):
        _sweep(**kwargs)
    assert TRACES["sweep"] == before


def test_bad_base_and_data_are_refused():
    with pytest.raises(ValueError, match="single setting"):
        jaxfit.sweep(jaxfit.linear(), "mse", (X, Y), jaxfit.stack([BASE, BASE]), key=KEY)
    with pytest.raises(ValueError, match="different lengths"):
        jaxfit.sweep(jaxfit.linear(), "mse", (X, Y[:10]), BASE, SPACE, key=KEY)


def test_checkpoint_files_are_written_atomically(tmp_path):
    _sweep(checkpoint_dir=tmp_path, chunk_size=4)
    names = sorted(p.name for p in pathlib.Path(tmp_path).iterdir())
    assert "manifest.json" in names and not any(n.startswith(".tmp-") for n in names)
