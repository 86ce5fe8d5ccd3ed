"""Sweep configs: the schema and every error message; data sources are in test_datasources.py."""

import json
import pathlib
import re
import tomllib

import pytest
from hypothesis import given, settings, strategies as st

import jaxfit
from jaxfit._cli.config import ConfigError, load_config, parse_config
from jaxfit._cli.datasources import load_data

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
    assert config.options == {"seeds": 1, "keys": "paired", "memory_budget": None,
                              "chunk_size": None, "eval_every": None,
                              "explode_factor": 1e4}  # fmt: skip
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


def test_docs_show_every_example_verbatim_and_their_toml_parses():
    docs = pathlib.Path(__file__).parents[1] / "docs" / "config.md"
    blocks = re.findall(r"```toml\n(.*?)```", docs.read_text(), flags=re.S)
    for path in EXAMPLES:
        assert path.read_text() in blocks, f"docs/config.md does not show {path.name} as it is"
    for block in blocks:
        tomllib.loads(block)
        if "[model]" in block:  # a whole config: it must also be a valid one
            parse_config(block, file="docs/config.md", base_dir=EXAMPLES[0].parent)
