"""Sweep configs and data sources: the schema, every error message, and what loads."""

import json
import math
import pathlib
import re
import sys
import tomllib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jaxfit
from jaxfit._datasources import load_data, split_validation, standardize
from jaxfit._sweep_config import ConfigError, load_config, parse_config

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.toml"))
FAST = settings(max_examples=25, deadline=None)
HEAD = '[model]\nname = "linear"\n[data]\nsource = "linear"\n'


def to_toml(table: dict, prefix: str = "") -> str:
    """A small TOML writer for the tests: tables of scalars and (nested) arrays."""
    lines = [f"[{prefix}]"] if prefix else []
    lines += [f"{k} = {json.dumps(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for k, v in table.items():
        if isinstance(v, dict):
            lines.append(to_toml(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(lines)


def error(text: str, tmp_path: pathlib.Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config = parse_config(text, file="config.toml", base_dir=tmp_path or ".")
        load(config)
    return info.value


def load(config, task=None):
    return load_data(config.data, file=config.file, base_dir=config.base_dir,
                     task=task or config.task)  # fmt: skip


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_configs_parse(path):
    config = load_config(path)
    assert config.file == str(path) and config.out_dir.is_absolute()
    assert len(config.space or [None]) >= 2 and load(config).x.shape[0] > 10


def test_defaults_and_digest():
    config = parse_config(HEAD, file="c.toml", base_dir="/tmp")
    assert config.hyperparams == jaxfit.Hyperparams() and config.space is None
    assert config.options == {"seeds": 1, "memory_budget": None, "chunk_size": None,
                              "eval_every": None, "explode_factor": 1e4}  # fmt: skip
    assert (config.loss, config.metric, config.metrics, config.root_seed) == (None, "loss", (), 0)
    assert config.out_dir == pathlib.Path("/tmp/runs/c") and config.figures and config.top == 10
    # The digest ignores comments and [output], and sees every other change.
    same = parse_config("# a comment\n" + HEAD + '[output]\ndir = "elsewhere"\n', file="c.toml")
    other = parse_config(HEAD + "[sweep]\nseeds = 2\n", file="c.toml")
    assert same.digest == config.digest != other.digest


hyperparams = st.fixed_dictionaries(
    {},
    optional={
        "learning_rate": st.floats(0, 10, allow_subnormal=False),
        "momentum": st.floats(0, 0.99),
        "steps": st.integers(1, 10_000),
        "batch_size": st.integers(1, 512),
        "hidden": st.lists(st.integers(1, 256), max_size=3),
        "optimizer": st.sampled_from(["sgd", "adam", "rmsprop"]),
        "activation": st.sampled_from(jaxfit.ACTIVATIONS),
    },
)
sweeps = st.fixed_dictionaries(
    {},
    optional={
        "seeds": st.integers(1, 50),
        "root_seed": st.integers(0, 2**31),
        "memory_budget": st.integers(1, 2**40),
        "chunk_size": st.integers(1, 1000),
        "metrics": st.lists(st.sampled_from(["r2", "mae", "mse"]), max_size=2, unique=True),
    },
)


@FAST
@given(
    hp=hyperparams,
    sweep=sweeps,
    rates=st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=4),
    n_samples=st.integers(2, 500),
    fraction=st.none() | st.floats(0.05, 0.95),
)
def test_config_round_trips_through_toml(hp, sweep, rates, n_samples, fraction):
    d = {"model": {"name": "mlp", "n_outputs": 1}, "data": {"source": "linear", "n_samples":
         n_samples}, "hyperparams": hp, "space": {"grid": {"learning_rate": rates}},
         "sweep": sweep}  # fmt: skip
    if fraction is not None:
        d["validation"] = {"fraction": fraction, "seed": 3}
    config = parse_config(to_toml(d), file="c.toml")
    assert config.hyperparams == jaxfit.Hyperparams(**{k: tuple(v) if isinstance(v, list) else v
                                                       for k, v in hp.items()})  # fmt: skip
    assert [p["learning_rate"] for p in config.space] == rates  # type: ignore[union-attr]
    assert config.model_args == {"n_outputs": 1} and config.data.options["n_samples"] == n_samples
    assert config.validation == (None if fraction is None else (fraction, 3))
    for key in ("seeds", "memory_budget", "chunk_size"):
        assert config.options[key] == sweep.get(key, 1 if key == "seeds" else None)
    assert config.metrics == tuple(sweep.get("metrics", ()))
    assert config.root_seed == sweep.get("root_seed", 0)


def test_memory_budget_units():
    def budget(v):
        return parse_config(HEAD + f"[sweep]\nmemory_budget = {json.dumps(v)}\n").options[
            "memory_budget"
        ]

    assert [budget(v) for v in (1000, "2 GB", "512MiB", "1.5 kb")] == [1000, 2e9, 2**29, 1500]


# (TOML after HEAD, the message's start, a fragment it contains)
CONFIG_ERRORS = [
    ("[space.grid]\nlearning_rat = [0.1]", "[space] grid.learning_rat:", "mean 'learning_rate'"),
    ("[space.grid]\nlearning_rate = 0.1", "[space] grid.learning_rate:", "a single value"),
    ("[space.gird]\nlearning_rate = [0.1]", "[space] gird:", "did you mean 'grid'"),
    ("[space.grid]\nlearning_rate = [0.1, -1.0]", "[space] learning_rate:", "must be >= 0"),
    ("[space.random]\nn = 4\nl2 = {loguniform = [0, 1]}", "[space] random.l2:", "must be > 0"),
    ("[space.random]\nl2 = {uniform = [0, 1]}", "[space] random.n:", "is required"),
    ("[[space.product]]\ngrid = {l2 = [1.0]}\n[[space.product]]\ngrid = {stepz = [1]}",
     "[space] product[1].grid.stepz:", "did you mean 'steps'"),
    ("[hyperparams]\nsteps = '10'", "[hyperparams] steps:", "does not match its annotation int"),
    ("[hyperparams]\nstep = 10", "[hyperparams] step:", "did you mean 'steps'"),
    ("[hyperparams]\noptimizer = 'lbfgs'\nschedule = 'cosine'", "[hyperparams] Hyperparams",
     "line search"),
    ("[sweep]\nseeds = '3'", "[sweep] seeds:", "must be an integer >= 1; got the string '3'"),
    ("[sweep]\nseeds = 0", "[sweep] seeds:", "must be an integer >= 1; got the integer 0"),
    ("[sweep]\nmemory_budget = '2 GX'", "[sweep] memory_budget:", "'512 MiB'"),
    ("[sweep]\nmetric = 'accuracyy'", "[sweep] metric:", "did you mean 'accuracy'"),
    ("[sweep]\nmetric = 'val_r2'", "[sweep] metric:", "needs validation data"),
    ("[sweep]\neval_every = 5", "[sweep] eval_every:", "needs validation data"),
    ("[sweep]\nmetrics = ['accurcy']", "[sweep] metrics:", "did you mean 'accuracy'"),
    ("[sweep]\nloss = 'mes'", "[sweep] loss:", "did you mean 'mse'"),
    ("[swep]\nseeds = 3", "unknown section [swep]", "did you mean 'sweep'"),
    ("[cv]\nk = 5\nshuffle = true", "[cv] give either k = 5", "splitter ="),
    ("[cv]\nsplitter = 'KFlod'", "[cv] splitter:", "did you mean 'KFold'"),
    ("[cv]\nsplitter = 'KFold'\nn_splits = 1", "[cv] n_splits:", "must be >= 2"),
    ("[cv]\nsplitter = 'TimeSeriesSplit'\nshuffle = true", "[cv] shuffle:", "unknown key"),
    ("[validation]\nfraction = 1.5", "[validation] fraction:", "(0, 1)"),
    ("[cv]\nk = 3\n[validation]\nfraction = 0.5", "[validation]", "not both"),
    ("[output]\ndirr = 'x'", "[output] dirr:", "did you mean 'dir'"),
    ("[output]\nfigures = 'yes'", "[output] figures:", "true or false"),
]  # fmt: skip


@pytest.mark.parametrize(("toml", "where", "fragment"), CONFIG_ERRORS)
def test_config_errors_name_file_section_and_key(toml, where, fragment):
    message = str(error(HEAD + toml))
    assert message.startswith(f"config.toml: {where}") and fragment in message, message


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ('[model]\nname = "mlpp"\n[data]\nsource = "linear"', "[model] name:", "'mlp'?"),
        ('[model]\nname = "logistic"\nn_outputs = 2\n[data]\nsource = "linear"',
         "[model] n_outputs:", "unknown key"),
        ('[model]\nname = "linear"\n[data]\nsource = "csv"\npth = "x.csv"', "[data] pth:",
         "did you mean 'path'"),
        ('[model]\nname = "linear"\n[data]\nsource = "csv"\npath = "x.csv"', "[data] target:",
         "required"),
        ('[model]\nname = "linear"\n[data]\nsource = "linear"\nn_features = 2\na = [1, 2, 3]',
         "[data] a:", "3 coefficients"),
        ('[model]\nname = "linear"\n[data]\nsource = "sklearn"\nname = "digit"', "[data] name:",
         "did you mean 'digits'"),
        ('[model]\nname = "logistic"\n[data]\nsource = "linear"\ntask = "regression"',
         "[data] task:", "contradicts model 'logistic'"),
        ('[model]\nname = "logistic"\n[data]\nsource = "linear"\n[sweep]\nloss = "mse"',
         "[sweep] loss:", "needs 'binary_cross_entropy'"),
        ('[model]\nname = "linear"\n[data\nsource = "linear"', "invalid TOML", "line 3"),
        ('[model]\nname = "linear"', "the [data] section is required", ""),
        ('model = 3\n[data]\nsource = "linear"', "[model] must be a table", "integer 3"),
    ],
)  # fmt: skip
def test_model_data_and_syntax_errors(text, where, fragment):
    message = str(error(text))
    assert message.startswith(f"config.toml: {where}") and fragment in message, message


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file"):
        load_config(tmp_path / "nope.toml")


# ----------------------------------------------------------------------------- data sources


def test_linear_generator_follows_its_equation():
    config = parse_config(HEAD + "n_samples = 50\nn_features = 2\na = [1.5, -2.0]\nb = 0.5\n"
                          "noise = 0.0\n")  # fmt: skip
    data = load(config)
    assert data.x.shape == (50, 2) and data.task == "regression" and data.classes is None
    np.testing.assert_allclose(data.y, data.x @ [1.5, -2.0] + 0.5, rtol=1e-5, atol=1e-6)
    assert np.all(np.abs(data.x) <= 1) and load(config).x.tolist() == data.x.tolist()


def test_classification_generator_is_balanced():
    text = '[model]\nname = "mlp"\n[data]\nsource = "classification"\nn_samples = 90\n'
    data = load(parse_config(text + "n_classes = 3\n"))
    assert data.x.shape == (90, 2) and data.y.dtype == np.int32 and data.classes == (0, 1, 2)
    assert np.bincount(data.y).tolist() == [30, 30, 30]


def test_sklearn_sources_and_the_missing_extra(monkeypatch):
    sklearn = '[model]\nname = "linear"\n[data]\nsource = "sklearn"\nname = "load_{}"\n'
    diabetes = load(parse_config(sklearn.format("diabetes")))
    assert diabetes.x.shape == (442, 10) and diabetes.task == "regression"
    wine = load(parse_config(sklearn.format("wine")))
    assert wine.task == "classification" and wine.classes == (0, 1, 2)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    message = str(error(sklearn.format("iris")))
    assert message.startswith("config.toml: [data] name:")
    assert "pip install 'jaxfit[sklearn]'" in message


def csv_config(tmp_path, text, extra=""):
    (tmp_path / "d.csv").write_text(text)
    return ('[model]\nname = "linear"\n[data]\nsource = "csv"\npath = "d.csv"\n'
            f'target = "y"\n{extra}')  # fmt: skip


def test_csv_loads_named_columns(tmp_path):
    text = csv_config(tmp_path, "id,a,b,y\n1,0.5,2,1.0\n2,1.5,-1,2.0\n\n3,2.5,0,3.5\n",
                      'features = ["b", "a"]\n')  # fmt: skip
    data = load(parse_config(text, base_dir=tmp_path))
    assert data.features == ("b", "a") and data.x.tolist() == [[2, 0.5], [-1, 1.5], [0, 2.5]]
    assert data.y.tolist() == [1.0, 2.0, 3.5] and data.task == "regression"


def test_csv_text_labels_are_classes(tmp_path):
    text = csv_config(tmp_path, "a,y\n1,cat\n2,dog\n3,cat\n")
    data = load(parse_config(text, base_dir=tmp_path))
    assert data.task == "classification" and data.classes == ("cat", "dog")
    assert data.y.tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    ("csv", "extra", "where", "fragment"),
    [
        (None, "", "[data] path:", "no such file"),
        ("a,b\n1,2\n", "", "[data] target:", "no column 'y' in d.csv"),
        ("a,Y\n1,2\n", "", "[data] target:", "did you mean 'Y'"),
        ("a,y\n1,2\n", 'features = ["c"]\n', "[data] features:", "no column 'c'"),
        ("a,y\n1,2\nx,3\n", "", "[data] path:", "d.csv line 3, column 'a': the value 'x' is not a"),
        ("a,y\n1,2\nnan,3\n", "", "[data] path:", "line 3, column 'a': the value 'nan' is not fin"),
        ("a,y\n1,2\n,3\n", "", "[data] path:", "line 3, column 'a': the value '' is empty"),
        ("a,y\n1,2\n3,\n", "", "[data] target:", "line 3, column 'y': the value '' is empty"),
        ("a,y\n1,2\n3,4,5\n", "", "[data] path:", "line 3 has 3 fields but the header has 2"),
        ("a,y\n1,cat\n", 'task = "regression"\n', "[data] task:", "cannot be regressed"),
        ("", "", "[data] path:", "empty; it needs a header row"),
        ("a,y\n", "", "[data] path:", "no data rows"),
        ("a,y\n1,0.5\n2,1\n", 'task = "classification"\n', "[data] task:", "whole-number"),
    ],
)  # fmt: skip
def test_csv_errors(tmp_path, csv, extra, where, fragment):
    text = csv_config(tmp_path, csv or "", extra)
    if csv is None:
        (tmp_path / "d.csv").unlink()
    message = str(error(text, tmp_path))
    assert message.startswith(f"config.toml: {where}") and fragment in message, message


@FAST
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3), min_size=n, max_size=n),
    st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n))))  # fmt: skip
def test_csv_written_from_arrays_loads_back_equal(tmp_path_factory, arrays):
    x, y = np.asarray(arrays[0]), np.asarray(arrays[1])
    tmp = tmp_path_factory.mktemp("csv")
    rows = "".join(
        ",".join(map(repr, [*r, t])) + "\n" for r, t in zip(x.tolist(), y.tolist(), strict=True)
    )
    data = load(parse_config(csv_config(tmp, "f0,f1,f2,y\n" + rows), base_dir=tmp))
    assert data.x.tolist() == x.astype(np.float32).tolist()
    assert data.y.tolist() == y.astype(np.float32).tolist()


def npy_config(tmp_path, x, y, source="npy"):
    if source == "npy":
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "y.npy", y)
        return '[model]\nname = "linear"\n[data]\nsource = "npy"\nx = "x.npy"\ny = "y.npy"\n'
    np.savez(tmp_path / "d.npz", features=x, labels=y)
    return ('[model]\nname = "linear"\n[data]\nsource = "npz"\npath = "d.npz"\n'
            'x = "features"\ny = "labels"\n')  # fmt: skip


@pytest.mark.parametrize("source", ["npy", "npz"])
def test_npy_and_npz(tmp_path, source):
    x, y = np.arange(12.0).reshape(6, 2), np.array([0, 1, 2, 0, 1, 2])
    data = load(parse_config(npy_config(tmp_path, x, y, source), base_dir=tmp_path))
    assert data.x.tolist() == x.tolist() and data.task == "classification"  # integer y
    assert data.y.tolist() == y.tolist() and data.classes == (0, 1, 2)
    one = load(parse_config(npy_config(tmp_path, x[:, 0], y * 0.5, source), base_dir=tmp_path))
    assert one.x.shape == (6, 1) and one.task == "regression"


@pytest.mark.parametrize(
    ("x", "y", "source", "where", "fragment"),
    [
        (np.zeros((5, 2)), np.zeros(4), "npy", "[data] y:", "y has 4 rows but x has 5"),
        (np.zeros((5, 2)), np.zeros(4), "npz", "[data] path:", "y has 4 rows but x has 5"),
        (np.array([[0.0], [np.nan]]), np.zeros(2), "npy", "[data] x:", "first at row 1"),
        (np.zeros(2), np.array([1.0, np.inf]), "npz", "[data] y:", "non-finite"),
        (np.array(["a", "b"]), np.zeros(2), "npy", "[data] x:", "must hold numbers"),
        (np.zeros((2, 2, 2)), np.zeros(2), "npy", "[data] x:", "shape (2, 2, 2)"),
    ],
)  # fmt: skip
def test_npy_errors(tmp_path, x, y, source, where, fragment):
    message = str(error(npy_config(tmp_path, x, y, source), tmp_path))
    assert message.startswith(f"config.toml: {where}") and fragment in message, message


def test_npz_missing_key(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((3, 1)), y=np.zeros(3))
    text = '[model]\nname = "linear"\n[data]\nsource = "npz"\npath = "d.npz"\n'
    message = str(error(text, tmp_path))
    assert message.startswith("config.toml: [data] x:") and "did you mean 'X'" in message


def test_standardize_and_validation_split():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0], [7.0, 5.0]], np.float32)
    z = standardize(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-6)
    assert z[:, 1].tolist() == [0, 0, 0, 0] and math.isclose(z[:, 0].std(), 1, rel_tol=1e-6)
    assert standardize(x, np.array([0, 1]))[:2, 0].tolist() == [-1, 1]
    train, val = split_validation(10, 0.25, seed=0)
    assert len(val) == 3 and sorted([*train, *val]) == list(range(10))
    assert split_validation(10, 0.25, seed=0)[1].tolist() == val.tolist()


def test_docs_show_every_example_verbatim_and_their_toml_parses():
    docs = pathlib.Path(__file__).parents[1] / "docs" / "config.md"
    blocks = re.findall(r"```toml\n(.*?)```", docs.read_text(), flags=re.S)
    for path in EXAMPLES:
        assert path.read_text() in blocks, f"docs/config.md does not show {path.name} as it is"
    for block in blocks:
        tomllib.loads(block)
        if "[model]" in block:  # a whole config: it must also be a valid one
            parse_config(block, file="docs/config.md", base_dir=EXAMPLES[0].parent)
