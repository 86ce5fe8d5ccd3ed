"""`jaxfit sweep CONFIG.toml`: every example end to end, resume, refusals, --dry-run, errors."""

import csv
import io
import json
import pathlib
import shutil
import sys

import numpy as np
import pytest

import jaxfit
from jaxfit._cli import sweep_command
from jaxfit._cli.config import ConfigError, load_config
from jaxfit._cli.main import main
from jaxfit._cli.sweep_command import run_config
from jaxfit._training.step import TRACES

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"
FILES = ["results.csv", "results.json", "summary.txt", "result", "sweep.toml", "sweep.json",
         "checkpoint"]  # fmt: skip


def run(path, out, **kwargs):
    """``run_config`` with its printing captured: (result, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    result = run_config(path, out=out, progress=False, stdout=stdout, stderr=stderr, **kwargs)
    return result, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every example config, run once into its own directory: name -> (dir, result, stdout)."""
    out = {}
    for path in sorted(EXAMPLES.glob("*.toml")):
        directory = tmp_path_factory.mktemp(path.stem)
        result, stdout, _ = run(path, directory)
        out[path.stem] = (directory, result, stdout)
    return out


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.toml")))
def test_every_example_writes_its_outputs(runs, name):
    directory, result, stdout = runs[name]
    config = load_config(EXAMPLES / f"{name}.toml")
    assert all((directory / f).exists() for f in FILES), sorted(p.name for p in directory.iterdir())
    with open(directory / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result) * result.seeds * result.folds  # settings x seeds (x folds)
    assert {r["setting"] for r in rows} == {str(i) for i in range(len(result))}
    doc = json.loads((directory / "results.json").read_text())
    loaded = jaxfit.SweepResult.load(directory / "result", base=config.hyperparams)
    best = loaded.best(config.top, metric=doc["metric"])
    assert doc["best"] == json.loads(json.dumps(best)) and len(doc["records"]) == len(rows)
    assert doc["best"][0]["index"] == result.best(1, metric=doc["metric"])[0]["index"]
    assert [s["rank"] for s in doc["settings"]].count(1) == 1 and doc["digest"] == config.digest
    summary = (directory / "summary.txt").read_text()
    assert summary == result.summary(k=config.top, metric=doc["metric"]) + "\n"
    assert summary.splitlines()[0] in stdout and "static group(s)" in stdout
    assert (directory / "sweep.toml").read_text() == config.text
    figures = sorted(p.name for p in (directory / "figures").iterdir())
    assert "loss_curves.png" in figures and all(f.endswith(".png") for f in figures)
    assert {f"score_vs_{name}.png" for name in result.varied} <= set(figures)


def test_the_examples_choose_sensible_settings(runs):
    digits = runs["digits_mlp_cv"][1]
    assert digits.folds == 5 and len(digits.groups) == 2  # two hidden shapes, two compiles
    assert digits.best(1, metric="val_accuracy")[0]["mean"] > 0.8
    linear = runs["linear_lr"][1]
    assert linear.diverged[4].all() and linear.best(1)[0]["varied"] == {"learning_rate": 0.1}
    ridge = runs["csv_regression"][1]
    assert ridge.best(1, metric="val_r2")[0]["mean"] > 0.9


def test_resume_retrains_only_what_is_missing(runs, tmp_path):
    first = runs["linear_lr"][1]
    shutil.copytree(runs["linear_lr"][0], tmp_path / "out")
    out = tmp_path / "out"
    chunks = sorted((out / "checkpoint").glob("group*.npz"))
    assert len(chunks) == 4  # 15 rows in chunks of 4
    traces = TRACES["sweep"]
    again, stdout, _ = run(EXAMPLES / "linear_lr.toml", out)  # complete: nothing to train
    assert again.groups[0].n_chunks == 0 and TRACES["sweep"] == traces
    assert "resume   4 finished chunk(s)" in stdout
    np.testing.assert_array_equal(again.metrics["val_loss"], first.metrics["val_loss"])
    chunks[1].unlink()  # as if killed before the second chunk was written
    for name in ("results.csv", "results.json", "summary.txt"):
        (out / name).unlink()
    resumed, stdout, _ = run(EXAMPLES / "linear_lr.toml", out)
    assert resumed.groups[0].n_chunks == 1 and "resume   3 finished chunk(s)" in stdout
    for name, values in first.metrics.items():
        np.testing.assert_array_equal(resumed.metrics[name], values)
    assert json.loads((out / "results.json").read_text())["best"][0]["index"] == 1


def test_refuses_a_different_config_unless_forced(runs, tmp_path):
    directory = runs["linear_lr"][0]
    changed = tmp_path / "changed.toml"
    changed.write_text((EXAMPLES / "linear_lr.toml").read_text().replace("seeds = 3", "seeds = 2"))
    before = {p: p.stat().st_mtime_ns for p in directory.rglob("*")}
    with pytest.raises(ConfigError, match=r"\[output\] dir: .*different config.*--force"):
        run(changed, directory)
    assert {p: p.stat().st_mtime_ns for p in directory.rglob("*")} == before
    target = tmp_path / "copy"
    shutil.copytree(directory, target)
    result, _, _ = run(changed, target, force=True)
    assert result.seeds == 2 and json.loads((target / "sweep.json").read_text())["digest"] == (
        load_config(changed).digest
    )
    with open(target / "results.csv") as fh:
        assert len(fh.readlines()) == 1 + 5 * 2


def test_refuses_a_directory_with_other_files(tmp_path):
    (tmp_path / "results.csv").write_text("mine\n")
    with pytest.raises(ConfigError, match=r"already holds \['results.csv'\]"):
        run(EXAMPLES / "linear_lr.toml", tmp_path)
    assert (tmp_path / "results.csv").read_text() == "mine\n"


def test_a_checkpoint_of_other_data_is_a_clean_error(runs, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "ex")
    config = tmp_path / "ex" / "csv_regression.toml"
    shutil.copytree(runs["csv_regression"][0] / "checkpoint", tmp_path / "out" / "checkpoint")
    (tmp_path / "out" / "sweep.json").write_text(json.dumps({"digest": load_config(config).digest}))
    data = tmp_path / "ex" / "data" / "houses.csv"
    data.write_text(data.read_text().replace(",416.0\n", ",417.0\n"))  # one price changed
    code, err = cli(["sweep", str(config), "--out", str(tmp_path / "out")])
    assert code == 2 and "[output] dir: checkpoint_dir=" in err and "differs in data" in err
    assert "--force" in err and "Traceback" not in err


def test_dry_run_prints_the_plan_and_writes_nothing(runs, tmp_path):
    plan, stdout, _ = run(EXAMPLES / "linear_lr.toml", tmp_path / "out", dry_run=True)
    assert isinstance(plan, jaxfit.SweepPlan) and len(plan.groups) == 1 and plan.seeds == 3
    group = plan.groups[0]
    assert (group.n_rows, group.chunk_size, group.n_chunks, group.steps) == (15, 4, 4, 100)
    assert str(plan) in stdout and "in 1 static group(s), one compile each" in stdout
    assert "memory/chunk" in stdout and "FLOPs/row" in stdout
    assert "estimate at least ~" in stdout and "GFLOP/s, measured now" in stdout
    assert "dry run: nothing trained, nothing written" in stdout
    assert not (tmp_path / "out").exists()
    _, stdout, _ = run(EXAMPLES / "linear_lr.toml", runs["linear_lr"][0], dry_run=True)
    assert "holds this config's outputs; a run resumes" in stdout


def test_figures_are_skipped_with_a_note_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    _, _, stderr = run(EXAMPLES / "linear_lr.toml", tmp_path)
    assert "note: figures need matplotlib: pip install 'jaxfit[plot]'" in stderr
    assert (tmp_path / "results.json").exists() and not (tmp_path / "figures").exists()


def cli(argv):
    """Runs the console command in-process: (exit code, stderr)."""
    err = io.StringIO()
    real, sys.stderr = sys.stderr, err
    try:
        code = main(argv)
    finally:
        sys.stderr = real
    return code, err.getvalue()


def test_cli_errors_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "linear"\n[data]\nsource = "linear"\n[space.grid]\n'
                   "learning_rat = [0.1]\n")  # fmt: skip
    code, err = cli(["sweep", str(bad), "--out", str(tmp_path / "out")])
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"jaxfit sweep: error: {bad}: [space] grid.learning_rat: unknown")
    code, err = cli(["sweep", str(tmp_path / "missing.toml")])
    assert code == 2 and "missing.toml: no such file" in err


def test_cli_quiet_run(capsys, tmp_path):
    assert main(["sweep", str(EXAMPLES / "linear_lr.toml"), "--out", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().out == "" and (tmp_path / "results.csv").exists()


@pytest.mark.parametrize(
    ("toml", "where", "fragment"),
    [
        ('[model]\nname = "logistic"\n[data]\nsource = "classification"\nn_classes = 3',
         "[model] name:", "is for 2 classes, but the data has 3"),
        ('[model]\nname = "mlp"\nn_outputs = 2\n[data]\nsource = "classification"\nn_classes = 3',
         "[model] n_outputs:", "is 2, but the data and the loss 'softmax_cross_entropy' need 3"),
        ('[model]\nname = "mlp"\n[data]\nsource = "classification"\n[sweep]\nmetric = "r2"',
         "[sweep] metric:", "'r2' needs regression targets"),
        ('[model]\nname = "linear"\n[data]\nsource = "linear"\n[sweep]\nmetrics = ["accuracy"]',
         "[sweep] metrics:", "'accuracy' needs classification targets"),
    ],
)  # fmt: skip
def test_errors_found_once_the_data_is_loaded(tmp_path, toml, where, fragment):
    path = tmp_path / "c.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError) as info:
        run(path, tmp_path / "out")
    assert str(info.value).startswith(f"{path}: {where}") and fragment in str(info.value)
    assert not (tmp_path / "out").exists()


def test_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(ConfigError, match=r"\[output\] dir: .*taken is a file"):
        run(EXAMPLES / "linear_lr.toml", tmp_path / "taken")


def test_interrupt_says_how_to_resume(monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_command, "sweep", interrupted)
    code, err = cli(["sweep", str(EXAMPLES / "linear_lr.toml"), "--out", str(tmp_path)])
    assert code == 130 and "interrupted; run the same command to resume" in err


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("checkpoint_dir='x' is being written by another process (pid 7); wait."),
        PermissionError("checkpoint_dir='x' is not writable and 3 row(s) are left to train."),
    ],
)
def test_a_busy_or_read_only_checkpoint_is_a_config_error_not_a_traceback(
    monkeypatch, tmp_path, error
):
    def refused(*args, **kwargs):
        raise error

    monkeypatch.setattr(sweep_command, "sweep", refused)
    code, err = cli(["sweep", str(EXAMPLES / "linear_lr.toml"), "--out", str(tmp_path)])
    assert code != 0 and "[output] dir" in err and str(error) in err
    assert "Traceback" not in err


def test_a_sweep_where_everything_diverges_still_writes_its_results(tmp_path):
    config = tmp_path / "exploding.toml"
    text = (EXAMPLES / "linear_lr.toml").read_text()
    config.write_text(text.replace("[0.01, 0.1, 0.5, 1.0, 3.0]", "[5.0, 10.0]"))
    result, stdout, _ = run(config, tmp_path / "out")  # the linear_lr program: no new compile
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert (
        result.diverged.all() and doc["best"] == [] and "all 2 settings diverged" in doc["no_best"]
    )
    assert "no setting can be ranked" in stdout
    assert [s["rank"] for s in doc["settings"]] == [None, None]


def test_group_cv_trains_on_the_folds_of_group_kfold(runs, monkeypatch, tmp_path):
    seen, sweep = {}, jaxfit.sweep

    def recording(**kwargs):
        seen.update(kwargs)
        return sweep(**kwargs)

    monkeypatch.setattr(sweep_command, "sweep", recording)
    result, stdout, _ = run(EXAMPLES / "grouped_cv.toml", tmp_path)  # compiled by `runs`
    with open(EXAMPLES / "data" / "visits.csv", newline="") as fh:
        subjects = np.array([row["subject"] for row in csv.DictReader(fh)])
    assert seen["cv"] == jaxfit.GroupKFold(4) and seen["groups"].tolist() == subjects.tolist()
    used = jaxfit.as_folds(seen["cv"], *seen["data"], seen["groups"])  # as the sweep does
    expected = jaxfit.GroupKFold(4).split(seen["data"][0], groups=subjects)
    np.testing.assert_array_equal(used.test, expected.test)
    np.testing.assert_array_equal(used.train, expected.train)
    tested = [set(subjects[test]) for _, test in used.indices()]
    assert sorted(len(t) for t in tested) == [3, 3, 3, 3] and set().union(*tested) == {*subjects}
    assert result.folds == 4 and "GroupKFold(n_splits=4" in stdout
    assert "over the 12 groups in 'subject'" in stdout
    assert result.best(1, metric="val_r2")[0]["mean"] > 0.9


def grouped_npy(tmp_path, n_groups, n_labels, n_splits):
    """A config of 12 samples in .npy files with ``n_labels`` labels of ``n_groups`` groups."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(12, 2)))
    np.save(tmp_path / "y.npy", rng.normal(size=12))
    np.save(tmp_path / "g.npy", np.arange(n_labels) % n_groups)
    path = tmp_path / "c.toml"
    data = '[data]\nsource = "npy"\nx = "x.npy"\ny = "y.npy"\ngroups = "g.npy"\n'
    cv = f'[cv]\nsplitter = "GroupKFold"\nn_splits = {n_splits}\n'
    path.write_text('[model]\nname = "linear"\n' + data + cv)
    return path


@pytest.mark.parametrize(
    ("n_groups", "n_labels", "n_splits", "where"),
    [(4, 11, 3, "[data] groups"), (4, 13, 3, "[data] groups"), (3, 12, 4, "[cv] n_splits")],
)
def test_group_labels_that_group_kfold_refuses_name_the_key(tmp_path, n_groups, n_labels,
                                                            n_splits, where):  # fmt: skip
    path = grouped_npy(tmp_path, n_groups, n_labels, n_splits)
    with pytest.raises(ValueError) as refusal:  # GroupKFold's own words, not a copy of them
        jaxfit.GroupKFold(n_splits).split(np.zeros(12), groups=np.arange(n_labels) % n_groups)
    for dry_run in (False, True):
        with pytest.raises(ConfigError) as info:
            run(path, tmp_path / "out", dry_run=dry_run)
        assert str(info.value) == f"{path}: {where}: {refusal.value}"
    assert not (tmp_path / "out").exists()
