"""SweepResult: ranking and divergence, views, parameters, validation, pickle-free save/load."""

import collections
import json
import os
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jaxfit
from jaxfit._sweeping.result import GroupInfo, SweepDiverged, SweepResult

N, S, D = 5, 3, 2
GROUPS = (np.array([0, 2, 4]), np.array([1, 3]))  # two static groups: hidden=(8,) and (4, 4)
LRS = (0.001, 0.01, 0.1, 1.0, 10.0)


def fields(**changes):
    """The constructor arguments of a hand-made 5-setting x 3-seed result, with changes."""
    rng = np.random.default_rng(0)
    hidden = [(8,), (4, 4), (8,), (4, 4), (8,)]
    out = dict(
        hyperparams=tuple(
            {"learning_rate": lr, "hidden": h, "optimizer": "sgd"}
            for lr, h in zip(LRS, hidden, strict=True)
        ),
        varied=("learning_rate", "hidden"),
        seeds=S,
        metrics={
            "train_loss": rng.random((N, S)).astype(np.float32),
            "val_loss": rng.random((N, S)),
            "val_accuracy": rng.random((N, S)),
        },
        greater_is_better={"train_loss": False, "val_loss": False, "val_accuracy": True},
        diverged=np.zeros((N, S), bool),
        diverged_step=np.full((N, S), -1),
        cause=np.zeros((N, S), np.int32),
        train_curves=rng.random((N, S, 7)),
        val_curves=rng.random((N, S, 2)),
        val_steps=((4, 7),) * N,
        group_params=tuple(
            {
                "w": rng.normal(size=(len(idx), S, D, 1)).astype(np.float32),
                "b": rng.normal(size=(len(idx), S, 1)).astype(np.float32),
            }
            for idx in GROUPS
        ),
        groups=tuple(
            GroupInfo(("Hyperparams", (("hidden", h),)), idx, 0.5 + g, 0.1, 9, 1, 1024.0)
            for g, (idx, h) in enumerate(zip(GROUPS, [(8,), (4, 4)], strict=True))
        ),
        info={"root_seed": 0, "jax": jax.__version__},
        base=jaxfit.Hyperparams(),
    )
    out.update(changes)
    return out


def make(**changes):
    return SweepResult(**fields(**changes))


def diverge(f, setting, seed, cause, step=3):
    """Marks one (setting, seed) of constructor arguments ``f`` as diverged, in place."""
    f["diverged"][setting, seed] = True
    f["cause"][setting, seed] = jaxfit.CAUSES.index(cause)
    f["diverged_step"][setting, seed] = step
    return f


# -- statistics and ranking ------------------------------------------------------------


def test_mean_and_std_match_numpy():
    r = make()
    for m, v in r.metrics.items():
        np.testing.assert_array_equal(r.mean(m), v.mean(axis=1))
        np.testing.assert_array_equal(r.std(m), v.std(axis=1, ddof=1))
    f = fields(seeds=1, group_params=None, val_steps=((),) * N)
    for k in ("diverged", "diverged_step", "cause", "train_curves", "val_curves"):
        f[k] = f[k][:, :1]
    f["metrics"] = {k: v[:, :1] for k, v in f["metrics"].items()}
    one = SweepResult(**f)
    np.testing.assert_array_equal(one.std("train_loss"), np.zeros(N))
    assert (len(one), one.n_settings, one.n_seeds) == (N, N, 1)


def test_ranking_follows_each_metrics_direction():
    r = make()
    np.testing.assert_array_equal(r.ranking(), np.argsort(r.mean("val_loss")))  # default
    np.testing.assert_array_equal(r.ranking("val_accuracy"), np.argsort(-r.mean("val_accuracy")))
    np.testing.assert_array_equal(r.ranking("train_loss"), np.argsort(r.mean("train_loss")))
    f = fields()
    del f["metrics"]["val_loss"], f["greater_is_better"]["val_loss"]
    no_val = SweepResult(**f)
    np.testing.assert_array_equal(no_val.ranking(), np.argsort(no_val.mean("train_loss")))
    with pytest.raises(ValueError, match=r"unknown metric 'val_r2'.*'val_accuracy'"):
        r.ranking("val_r2")


def test_a_setting_with_any_diverged_seed_is_skipped_and_has_no_mean():
    f = fields()
    best = int(np.argmin(f["metrics"]["val_loss"].mean(axis=1)))
    r = SweepResult(**diverge(f, best, 2, "nan"))
    assert best not in r.ranking().tolist() and len(r.ranking()) == N - 1
    assert np.isnan(r.mean("val_loss")[best])  # a diverged seed scores NaN (tests/test_diverged.py)
    assert r.best()[0]["index"] != best
    nan_f = fields()
    nan_f["metrics"]["val_loss"][3, 0] = np.nan  # a non-finite score is skipped too
    assert 3 not in SweepResult(**nan_f).ranking()
    assert np.isnan(SweepResult(**nan_f).mean("val_loss")[3])


def test_best_returns_plain_dicts_best_first():
    r = make()
    top = r.best(2, "val_accuracy")
    order = r.ranking("val_accuracy")
    assert [t["index"] for t in top] == order[:2].tolist()
    t, i = top[0], int(order[0])
    assert t["metric"] == "val_accuracy" and t["hyperparams"] == r.hyperparams[i]
    assert t["varied"] == {"learning_rate": LRS[i], "hidden": r.hyperparams[i]["hidden"]}
    assert t["mean"] == pytest.approx(r.mean("val_accuracy")[i])
    assert t["std"] == pytest.approx(r.std("val_accuracy")[i])
    assert t["seeds"] == r.metrics["val_accuracy"][i].tolist()
    json.dumps(top)
    assert len(r.best(100)) == N
    with pytest.raises(ValueError, match="k=0"):
        r.best(0)


def test_all_diverged_raises_sweep_diverged_with_counts():
    f = fields()
    for i in range(N):
        diverge(f, i, 0, "explode" if i < 3 else "nan", step=5)
    diverge(f, 0, 1, "nan", step=2)  # setting 0's earliest divergence is nan
    r = SweepResult(**f)
    assert r.ranking().size == 0
    with pytest.raises(SweepDiverged, match=r"all 5 settings diverged \(nan: 3, explode: 2\)"):
        r.best()
    assert issubclass(SweepDiverged, RuntimeError)
    text = r.summary()
    assert "no setting can be ranked" in text and "diverged: 5 of 5" in text
    g = fields()
    g["metrics"]["val_loss"][:] = np.nan
    with pytest.raises(SweepDiverged, match=r"val_loss: 1 of 5 settings diverged \(inf: 1\) and"):
        SweepResult(**diverge(g, 1, 1, "inf")).best()


def test_summary_shows_varied_fields_counts_and_groups():
    r = make(**diverge(fields(), 4, 0, "inf"))
    text = r.summary(k=2)
    lines = text.splitlines()
    assert lines[0].startswith("5 settings x 3 seeds, ranked by val_loss (lower is better)")
    assert "learning_rate" in lines[1] and "hidden" in lines[1]
    assert len({len(line) for line in lines[1:4]}) == 1  # a fixed-width table
    assert "... and 2 more ranked settings" in text
    assert "diverged: 1 of 5 settings (inf: 1)" in text
    assert "group 0 (hidden=(8,)): 3 settings, compile 0.50 s" in text
    assert "group 1 (hidden=(4, 4)): 2 settings, compile 1.50 s" in text
    assert "SweepResult(5 settings x 3 seeds" in repr(r)


# -- views ------------------------------------------------------------------------------


def test_to_records_one_plain_dict_per_run():
    r = make(**diverge(fields(), 2, 1, "explode", step=11))
    recs = r.to_records()
    assert len(recs) == N * S
    rec = recs[2 * S + 1]
    assert rec["setting"] == 2 and rec["seed"] == 1
    assert rec["hidden"] == (8,) and isinstance(rec["hidden"], tuple)
    assert rec["learning_rate"] == 0.1 and rec["optimizer"] == "sgd"
    assert np.isnan(rec["val_loss"]) and np.isnan(r.metrics["val_loss"][2, 1])  # diverged
    assert recs[2 * S]["val_loss"] == float(r.metrics["val_loss"][2, 0])
    assert (rec["diverged"], rec["diverged_step"], rec["cause"]) == (True, 11, "explode")
    assert recs[0]["cause"] == "none" and recs[0]["diverged_step"] == -1
    assert all(type(v) in (int, float, str, bool, tuple) for rec in recs for v in rec.values())
    json.dumps(recs)
    clash = fields()
    clash["metrics"]["seed"] = clash["metrics"].pop("val_loss")
    clash["greater_is_better"]["seed"] = clash["greater_is_better"].pop("val_loss")
    with pytest.raises(ValueError, match=r"\['seed'\]"):
        SweepResult(**clash).to_records()


def test_to_pandas():
    pd = pytest.importorskip("pandas")
    df = make().to_pandas()
    assert isinstance(df, pd.DataFrame) and df.shape[0] == N * S
    assert df["hidden"].iloc[S] == (4, 4)  # setting 1, seed 0
    assert list(df.columns[:2]) == ["setting", "seed"]


def test_to_pandas_without_pandas_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ImportError, match=r'pip install "jaxfit\[pandas\]"'):
        make().to_pandas()


# -- parameters and hyperparameters -----------------------------------------------------


def test_params_unbatches_one_setting_and_seed_for_predict():
    f = fields()
    r = SweepResult(**f)
    p = r.params(3, seed=2)  # setting 3 is the second row of group 1
    assert p["w"].shape == (D, 1) and p["b"].shape == (1,) and isinstance(p["w"], np.ndarray)
    np.testing.assert_array_equal(p["w"], f["group_params"][1]["w"][1, 2])
    x = jnp.ones((4, D))
    pred = jaxfit.predict(jaxfit.linear(), r.params(3), x, jaxfit.Hyperparams())
    assert pred.shape == (4, 1)
    np.testing.assert_array_equal(r.params(-1)["b"], f["group_params"][0]["b"][2, 0])
    with pytest.raises(IndexError, match="index=5"):
        r.params(5)
    with pytest.raises(IndexError, match="seed=3"):
        r.params(0, seed=3)
    with pytest.raises(TypeError, match="index"):
        r.params(1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no parameters"):
        make(group_params=None).params(0)


def test_hp_rebuilds_the_instance_from_base():
    r = make()
    hp = r.hp(3)
    assert isinstance(hp, jaxfit.Hyperparams) and hp.hidden == (4, 4)
    assert float(hp.learning_rate) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="base="):
        make(base=None).hp(0)


# -- validation -------------------------------------------------------------------------


def _bad(name, value):
    return lambda f: f.update({name: value})


def _group(indices):
    return GroupInfo((), indices, 0.0, 0.0, 1, 1, None)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (_bad("metrics", {"train_loss": np.zeros((N, 2))}), ValueError, r"metrics\['train_loss'\]"),
        (_bad("greater_is_better", {"train_loss": False}), ValueError, "greater_is_better"),
        (_bad("diverged", np.zeros((N, S), int)), ValueError, "diverged must be a bool"),
        (_bad("cause", np.full((N, S), 7)), ValueError, "outside 0..3"),
        (lambda f: f["cause"].__setitem__((0, 0), 1), ValueError, "disagree"),
        (_bad("train_curves", np.zeros((N, S))), ValueError, "train_curves"),
        (_bad("val_steps", ((1, 2, 3),) * N), ValueError, "val_steps"),
        (_bad("varied", ("momentum",)), ValueError, "'momentum'"),
        (_bad("seeds", 0), ValueError, "seeds=0"),
        (_bad("hyperparams", ()), ValueError, "empty"),
        (lambda f: f["hyperparams"][0].update(lr=np.float32(1)), TypeError, r"\[0\]\['lr'\]"),
        (_bad("groups", (_group(GROUPS[0]),)), ValueError, r"missing: \[1, 3\]"),
        (_bad("groups", (_group(np.arange(5)),) * 2), ValueError, "in several"),
        (_bad("group_params", ({"w": np.zeros((3, S))},)), ValueError, "one per group"),
        (_bad("group_params", ({"w": np.zeros((3, S))}, {"w": np.zeros((3, S))})), ValueError,
         r"group_params\[1\]\['w'\] has shape \(3, 3\)"),
        (_bad("info", {"f": print}), TypeError, "JSON"),
        (_bad("base", "adam"), TypeError, "base"),
    ],
)  # fmt: skip
def test_construction_validates_shapes_and_consistency(change, error, match):
    f = fields()
    change(f)
    with pytest.raises(error, match=match):
        SweepResult(**f)


def test_group_info_validates():
    with pytest.raises(ValueError, match="indices"):
        GroupInfo((), np.zeros((2, 2), int), 0, 0, 1, 1, None)
    with pytest.raises(ValueError, match="chunk_size=-1"):
        GroupInfo((), np.arange(2), 0, 0, -1, 1, None)
    with pytest.raises(ValueError, match="compile_s=-1"):
        GroupInfo((), np.arange(2), -1, 0, 1, 1, None)


# -- save / load ------------------------------------------------------------------------


def assert_tree_equal(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_tree_equal(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_tree_equal(x, y)
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape, a.tobytes()) == (b.dtype, b.shape, b.tobytes())  # bitwise
    else:
        assert a == b or (a != a and b != b), (a, b)


def assert_results_equal(a, b):
    for name in ("hyperparams", "varied", "seeds", "greater_is_better", "val_steps", "info"):
        assert_tree_equal(getattr(a, name), getattr(b, name))
    for name in ("metrics", "diverged", "diverged_step", "cause", "train_curves", "val_curves"):
        assert_tree_equal(getattr(a, name), getattr(b, name))
    assert_tree_equal(a.group_params, b.group_params)
    assert len(a.groups) == len(b.groups)
    for ga, gb in zip(a.groups, b.groups, strict=True):
        assert_tree_equal(ga.static_key, gb.static_key)
        assert_tree_equal(ga.indices, gb.indices)
        for k in (
            "compile_s",
            "run_s",
            "chunk_size",
            "n_chunks",
            "bytes_per_row",
            "bytes_per_chunk",
        ):
            assert_tree_equal(getattr(ga, k), getattr(gb, k))


def test_save_load_round_trip_and_replace(tmp_path):
    r = make(**diverge(fields(), 1, 2, "nan"))
    path = tmp_path / "sweep"
    r.save(path)
    back = SweepResult.load(path, base=jaxfit.Hyperparams())
    assert_results_equal(r, back)
    assert back.hp(1).hidden == (4, 4) and back.best()[0] == r.best()[0]
    assert SweepResult.load(str(path)).base is None
    other = make(info={"run": 2})
    other.save(path, params=False)  # replaces the earlier result
    again = SweepResult.load(path)
    assert again.info == {"run": 2} and again.group_params is None
    assert sorted(os.listdir(tmp_path)) == ["sweep"]  # no temporary directories left


def test_save_refuses_what_is_not_a_saved_result(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("precious")
    (tmp_path / "file").write_text("x")
    for target in ("data", "file"):
        with pytest.raises(FileExistsError, match="not a saved SweepResult"):
            make().save(tmp_path / target)
    assert (tmp_path / "data" / "keep.txt").read_text() == "precious"
    with pytest.raises(FileNotFoundError, match="not a saved SweepResult"):
        SweepResult.load(tmp_path / "data")


def test_save_refuses_custom_pytree_nodes(tmp_path):
    Lin = collections.namedtuple("Lin", "w b")
    f = fields()
    f["group_params"] = tuple(Lin(**p) for p in f["group_params"])
    r = SweepResult(**f)
    assert r.params(0).w.shape == (D, 1)  # usable in memory
    with pytest.raises(
        TypeError, match=r"params\[0\] is a .*Lin, a pytree node type.*params=False"
    ):
        r.save(tmp_path / "a")
    assert not (tmp_path / "a").exists() and os.listdir(tmp_path) == []
    r.save(tmp_path / "a", params=False)
    assert SweepResult.load(tmp_path / "a").group_params is None
    od = make(group_params=tuple(collections.OrderedDict(p) for p in fields()["group_params"]))
    with pytest.raises(TypeError, match="OrderedDict"):
        od.save(tmp_path / "b")


def test_load_rejects_other_versions(tmp_path):
    make().save(tmp_path / "r")
    doc = json.loads((tmp_path / "r" / "result.json").read_text())
    (tmp_path / "r" / "result.json").write_text(json.dumps(doc | {"version": 99}))
    with pytest.raises(ValueError, match="version 99"):
        SweepResult.load(tmp_path / "r")


DTYPES = ("float32", "float64", "int32", "bool", "bfloat16", "float16", "uint8")


def _leaf(lead):
    def build(args):
        dtype, extra, seed = args
        x = np.random.default_rng(seed).normal(size=(*lead, *extra)) * 10
        return (x > 0) if dtype == "bool" else x.astype(jnp.dtype(dtype))

    shapes = st.lists(st.integers(0, 3), max_size=2)
    return st.tuples(st.sampled_from(DTYPES), shapes, st.integers(0, 2**32 - 1)).map(build)


def _tree(leaf):
    return st.recursive(
        st.none() | leaf,
        lambda kids: (
            st.lists(kids, max_size=3)
            | st.lists(kids, max_size=3).map(tuple)
            | st.dictionaries(st.text(max_size=4), kids, max_size=3)
        ),
        max_leaves=5,
    )


_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=5)
_scalars |= st.floats(allow_nan=False, allow_infinity=False)
_values = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=3) | st.lists(kids, max_size=3).map(tuple),
    max_leaves=8,
)


@st.composite
def results(draw):
    n, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    names = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3, unique=True))
    keys = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4, unique=True))
    hps = tuple({k: draw(_values) for k in keys} for _ in range(n))
    diverged = rng.random((n, s)) < 0.3
    n_groups = draw(st.integers(1, n))
    cuts = np.sort(rng.choice(np.arange(1, n), n_groups - 1, replace=False)) if n > 1 else []
    parts = np.split(rng.permutation(n), cuts)
    t, v = draw(st.integers(0, 4)), draw(st.integers(0, 3))
    metrics = {}
    for m in names:
        x = rng.normal(size=(n, s)).astype(draw(st.sampled_from(("float32", "float64"))))
        x[rng.random((n, s)) < 0.2] = np.nan
        metrics[m] = x
    params = None
    if draw(st.booleans()):
        params = tuple(draw(_tree(_leaf((len(p), s)))) for p in parts)
    return SweepResult(
        hyperparams=hps,
        varied=tuple(draw(st.lists(st.sampled_from(keys), unique=True))),
        seeds=s,
        metrics=metrics,
        greater_is_better={m: draw(st.booleans()) for m in names},
        diverged=diverged,
        diverged_step=np.where(diverged, rng.integers(0, 99, (n, s)), -1),
        cause=np.where(diverged, rng.integers(1, 4, (n, s)), 0).astype(np.int8),
        train_curves=rng.normal(size=(n, s, t)).astype(np.float32),
        val_curves=rng.normal(size=(n, s, v)),
        val_steps=tuple(tuple(sorted(rng.integers(1, 50, draw(st.integers(0, v))))) for _ in hps),
        group_params=params,
        groups=tuple(
            GroupInfo(
                ("Cls", (("k", draw(_values)), ("g", g))),
                p.astype(draw(st.sampled_from(("int32", "int64")))),
                draw(st.floats(0, 1e4)),
                draw(st.floats(0, 1e4)),
                draw(st.integers(1, 10**6)),
                draw(st.integers(1, 100)),
                draw(st.none() | st.floats(0, 1e9)),
            )
            for g, p in enumerate(parts)
        ),
        info=draw(st.dictionaries(st.text(max_size=5), _scalars, max_size=3)),
    )


@settings(max_examples=25, deadline=None)
@given(results())
def test_save_load_round_trip_is_exact(r):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r")
        r.save(path)
        assert_results_equal(r, SweepResult.load(path))
