"""Figures of a SweepResult: what each one draws, diverged settings marked, PNG files, errors."""

import dataclasses
import subprocess
import sys

import jax
import matplotlib
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

import jaxfit
from jaxfit._sweeping.result import _example

matplotlib.use("Agg")

PNG = b"\x89PNG\r\n\x1a\n"
LRS = (0.01, 0.1, 5.0)  # 5.0 explodes with plain SGD


@pytest.fixture(scope="module")
def result():
    """3 learning rates x 2 momenta x 2 L2 weights, 2 seeds x 2 folds, with validation R²."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 64).astype(np.float32)
    y = (2 * x + 1 + 0.3 * rng.normal(size=64)).astype(np.float32)
    base = jaxfit.Hyperparams(optimizer="sgd", steps=30, batch_size=16)
    space = jaxfit.grid(learning_rate=list(LRS), momentum=[0.0, 0.9], l2=[0.0, 0.01])
    return jaxfit.sweep(jaxfit.linear(), "mse", (x, y), base, space, key=jax.random.key(0),
                        seeds=2, cv=2, eval_every=10, metrics=["r2"])  # fmt: skip


@pytest.fixture(scope="module")
def labelled(result):
    """The same numbers with strings as the third varied field (figures read only the dicts;
    a static string field in the sweep itself would compile a second program)."""
    names = {0.0: "none", 0.01: "small"}
    hyperparams = tuple({**h, "activation": names[h["l2"]]} for h in result.hyperparams)
    return dataclasses.replace(
        result, hyperparams=hyperparams, varied=("learning_rate", "momentum", "activation")
    )


@pytest.fixture(scope="module")
def example():
    """The hand-built test result: settings 2 (NaN in seed 1) and 3 diverged."""
    return _example()


def by_gid(ax, prefix):
    return [a for a in [*ax.lines, *ax.patches] if (a.get_gid() or "").startswith(prefix)]


def test_the_fixture_has_what_the_tests_need(result):
    assert result.varied == ("learning_rate", "momentum", "l2")
    assert len(result.groups) == 1  # one compiled program
    assert result.diverged.any(axis=1).sum() >= 1  # learning_rate 5.0 with sgd
    ok = ~result.diverged.any(axis=1)
    assert (result.std("val_loss")[ok] > 0).all() and np.isnan(result.std("val_loss")[~ok]).all()


# ---- plot_curves


def test_curves_one_line_per_setting_and_a_red_cross_where_each_diverged(result):
    ax = result.plot_curves()
    assert len(by_gid(ax, "setting-")) == len(result)
    diverged = np.flatnonzero(result.diverged.any(axis=1))
    crosses = by_gid(ax, "diverged-")
    assert [c.get_gid() for c in crosses] == [f"diverged-{i}" for i in diverged]
    assert len(ax.lines) == len(result) + len(diverged)
    for i, cross in zip(diverged, crosses, strict=True):
        line = by_gid(ax, f"setting-{i}")[0]
        assert line.get_linestyle() == "--" and line.get_color() == "tab:red"
        assert cross.get_marker() == "x" and cross.get_color() == "tab:red"
        first = result.diverged_step[i][result.diverged[i]].min()
        assert cross.get_xdata()[0] == first
    for i in np.flatnonzero(~result.diverged.any(axis=1)):
        assert by_gid(ax, f"setting-{i}")[0].get_linestyle() == "-"
    assert "diverged" in ax.get_legend().get_texts()[-1].get_text()


def test_curves_are_the_mean_over_seeds_and_folds(result):
    ax = result.plot_curves()
    for i in range(len(result)):
        line = by_gid(ax, f"setting-{i}")[0]
        np.testing.assert_allclose(line.get_ydata(), result.train_curves[i].mean(axis=0))
        np.testing.assert_array_equal(line.get_xdata(), np.arange(result.train_curves.shape[-1]))


def test_validation_curves_are_drawn_at_val_steps_with_every_run_thin(result):
    ax = result.plot_curves("val_loss", individual=True)
    runs = result.seeds * result.folds
    assert len(by_gid(ax, "run-")) == len(result) * runs
    line = by_gid(ax, "setting-0")[0]
    np.testing.assert_array_equal(line.get_xdata(), result.val_steps[0])
    np.testing.assert_allclose(line.get_ydata(), result.val_curves[0].mean(axis=0))
    assert by_gid(ax, "run-0-1")[0].get_linewidth() < line.get_linewidth()


def test_curves_colour_by_log_spaced_numbers_with_a_log_colourbar(result):
    ax = result.plot_curves()  # learning_rate spans 0.01 .. 5
    colourbar = ax.figure.axes[-1]
    assert colourbar is not ax and colourbar.get_ylabel() == "learning_rate"
    assert colourbar.get_yscale() == "log"
    assert ax.get_yscale() == "log"  # the exploding setting spans decades
    assert ax.get_ylabel() == "train_loss (lower is better)"
    ok = [i for i in range(len(result)) if not result.diverged[i].any()]
    slow, fast = (
        min(ok, key=lambda i: result.hyperparams[i]["learning_rate"] * s) for s in (1, -1)
    )
    assert (
        by_gid(ax, f"setting-{slow}")[0].get_color() != by_gid(ax, f"setting-{fast}")[0].get_color()
    )


def test_curves_colour_by_strings_with_a_legend(labelled):
    ax = labelled.plot_curves(color_by="activation")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[:2] == ["activation=none", "activation=small"] and texts[2].startswith("diverged")
    assert len(ax.figure.axes) == 1  # no colourbar
    colours = {labelled.hyperparams[i]["activation"]: by_gid(ax, f"setting-{i}")[0].get_color()
               for i in (0, 1)}  # fmt: skip
    assert colours == {"none": "C0", "small": "C1"}


def test_curves_keep_a_linear_y_axis_for_flat_losses(example):
    ax = example.plot_curves()
    assert ax.get_yscale() == "linear"
    assert [c.get_xdata()[0] for c in by_gid(ax, "diverged-")] == [40, 3]


def test_curves_draw_on_a_given_axes():
    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert _example().plot_curves(ax=right) is right
    assert len(right.lines) > 0 and len(left.lines) == 0


# ---- plot_score


def test_score_error_bars_are_the_std_over_seeds_and_folds(example):
    ax = example.plot_score()
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    data, _, (segments,) = bars.lines
    ok = example.ranking()  # settings 0 and 1; 2 and 3 diverged
    order = ok[np.argsort([example.hyperparams[i]["learning_rate"] for i in ok])]
    x, y = (np.asarray(v, float) for v in data.get_data())
    np.testing.assert_allclose(x, [example.hyperparams[i]["learning_rate"] for i in order])
    np.testing.assert_allclose(y, example.mean("val_loss")[order])
    half = [(seg[1, 1] - seg[0, 1]) / 2 for seg in segments.get_segments()]
    np.testing.assert_allclose(half, example.std("val_loss")[order])


def test_score_marks_diverged_settings_red_on_the_axis_edge(example):
    ax = example.plot_score()
    (crosses,) = by_gid(ax, "diverged")
    assert crosses.get_marker() == "x" and crosses.get_color() == "tab:red"
    assert list(crosses.get_xdata()) == [1.0, 10.0]
    assert list(crosses.get_ydata()) == [0.03, 0.03]  # in axes coordinates: the bottom edge
    assert [t.get_text() for t in ax.texts] == ["diverged", "diverged"]
    assert "diverged (2 settings)" in [t.get_text() for t in ax.get_legend().get_texts()]
    low = ax.get_ylim()[0]
    assert low < example.mean("val_loss")[[0, 1]].min()  # room below the points


def test_score_highlights_the_best_setting_and_uses_log_x(example):
    ax = example.plot_score()
    (star,) = by_gid(ax, "best")
    top = example.best()[0]
    assert star.get_xdata()[0] == top["varied"]["learning_rate"]
    assert star.get_ydata()[0] == pytest.approx(top["mean"])
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "learning_rate"
    assert ax.get_ylabel() == "val_loss (lower is better)"


def test_score_with_several_others_is_the_best_over_them(result):
    ax = result.plot_score("learning_rate")
    assert "best over momentum, l2" in ax.get_title()
    mean, ok = result.mean("val_loss"), ~result.diverged.any(axis=1)
    lr = np.array([h["learning_rate"] for h in result.hyperparams])
    expected = [mean[ok & (lr == v)].min() for v in LRS if (ok & (lr == v)).any()]
    (bars,) = ax.containers
    np.testing.assert_allclose(np.asarray(bars.lines[0].get_ydata(), float), expected)
    assert list(by_gid(ax, "diverged")[0].get_xdata()) == [5.0]  # every setting there diverged
    assert [t.get_text() for t in ax.texts] == ["4 diverged"]


def test_score_with_one_other_draws_a_line_per_value(result):
    two = dataclasses.replace(result, varied=("learning_rate", "momentum"))
    ax = two.plot_score("learning_rate", "val_r2")
    assert [c.get_label() for c in ax.containers] == ["momentum=0", "momentum=0.9"]
    assert "best over" not in ax.get_title()
    assert ax.get_ylabel() == "val_r2 (higher is better)" and ax.get_yscale() == "linear"
    assert two.plot_score("momentum").get_xscale() == "linear"
    (star,) = by_gid(ax, "best")
    assert star.get_ydata()[0] == pytest.approx(two.best(metric="val_r2")[0]["mean"])


def test_score_against_strings_is_categorical(labelled):
    ax = labelled.plot_score("activation")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "small"]
    assert ax.get_xlim() == (-0.5, 1.5)
    assert "best over learning_rate, momentum" in ax.get_title()


def test_score_when_every_setting_diverged_draws_crosses_only():
    r = _example(learning_rates=(10.0, 20.0))
    ax = r.plot_score()
    assert ax.containers == [] and by_gid(ax, "best") == []
    assert list(by_gid(ax, "diverged")[0].get_xdata()) == [10.0, 20.0]


# ---- plot_heatmap


def expected_grid(r, metric):
    """Best mean over l2 per (momentum, learning_rate); NaN where all diverged."""
    mean, ok = r.mean(metric), ~r.diverged.any(axis=1)
    sign = -1 if r.greater_is_better[metric] else 1
    grid = np.full((2, 3), np.nan)
    for i, h in enumerate(r.hyperparams):
        if ok[i]:
            cell = ([0.0, 0.9].index(h["momentum"]), LRS.index(h["learning_rate"]))
            if np.isnan(grid[cell]) or sign * mean[i] < sign * grid[cell]:
                grid[cell] = mean[i]
    return grid


@pytest.mark.parametrize("metric", ["val_loss", "val_r2"])
def test_heatmap_shows_the_best_mean_over_the_others(result, metric):
    ax = result.plot_heatmap("learning_rate", "momentum", metric)
    shown = ax.images[0].get_array()
    expected = expected_grid(result, metric)
    np.testing.assert_array_equal(np.ma.getmaskarray(shown), np.isnan(expected))
    np.testing.assert_allclose(shown.filled(np.nan), expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.1", "5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "0.9"]
    assert "best over l2" in ax.get_title()
    annotated = {t.get_text() for t in ax.texts}
    assert {f"{v:.3g}" for v in expected[np.isfinite(expected)]} <= annotated


def test_heatmap_outlines_the_best_cell(result):
    ax = result.plot_heatmap("learning_rate", "momentum")
    (box,) = by_gid(ax, "best")
    top = result.best()[0]["varied"]
    col, row = LRS.index(top["learning_rate"]), [0.0, 0.9].index(top["momentum"])
    assert box.get_xy() == (col - 0.5, row - 0.5)
    assert box.get_linewidth() >= 2 and not box.get_fill()


def test_heatmap_hatches_cells_where_every_setting_diverged():
    r = _example(learning_rates=(0.01, 10.0))
    two = dataclasses.replace(  # a second varied field: seeds as settings, for a 2 x 2 grid
        r, hyperparams=tuple({**h, "steps": 50 + i} for i, h in enumerate(r.hyperparams)),
        varied=("learning_rate", "steps"),
    )  # fmt: skip
    ax = two.plot_heatmap("learning_rate", "steps")
    assert [p.get_gid() for p in by_gid(ax, "diverged-")] == ["diverged-1-1"]
    (hatched,) = by_gid(ax, "diverged-")
    assert hatched.get_hatch() == "xx"
    assert "diverged" in {t.get_text() for t in ax.texts}


def test_heatmap_bins_the_many_values_of_a_random_search():
    lrs = tuple(np.random.default_rng(0).permutation(np.geomspace(1e-3, 0.4, 30)))
    r = _example(learning_rates=lrs, seeds=1)  # none diverges below 0.5
    r = dataclasses.replace(  # and 30 distinct step counts, as a random search draws them
        r, hyperparams=tuple({**h, "steps": 10 + 3 * i} for i, h in enumerate(r.hyperparams)),
        varied=("learning_rate", "steps"),
    )  # fmt: skip
    ax = r.plot_heatmap("learning_rate", "steps")
    shown = ax.images[0].get_array()
    assert shown.shape == (12, 12) and shown.count() <= 30
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "~0.00128" and ticks[-1] == "~0.312"  # bin centres, even in log
    assert shown.max() == pytest.approx(r.mean("val_loss").max())
    (box,) = by_gid(ax, "best")
    row, col = np.unravel_index(np.argmin(shown.filled(np.inf)), shown.shape)
    assert box.get_xy() == (col - 0.5, row - 0.5)


@pytest.mark.parametrize(("metric", "cmap", "better"), [
    ("val_loss", "viridis_r", "lower is better"), ("val_r2", "viridis", "higher is better"),
])  # fmt: skip
def test_heatmap_brighter_is_better_either_way(result, metric, cmap, better):
    ax = result.plot_heatmap("learning_rate", "momentum", metric)
    image, colourbar = ax.images[0], ax.figure.axes[-1]
    assert image.get_cmap().name.startswith(cmap)
    assert better in colourbar.get_ylabel() and "brighter is better" in colourbar.get_ylabel()
    assert colourbar.yaxis_inverted() == (metric == "val_loss")  # the better end on top
    assert isinstance(image.norm, LogNorm) == (metric == "val_loss")  # losses only, on a log scale


# ---- save_figures


def test_save_figures_writes_png_files_headless(result, tmp_path):
    pyplot_before = "matplotlib.pyplot" in sys.modules
    backend = matplotlib.get_backend()
    out = tmp_path / "new" / "figures"
    paths = result.save_figures(out)
    assert [p.name for p in paths] == [
        "loss_curves.png", "score_vs_learning_rate.png", "score_vs_momentum.png",
        "score_vs_l2.png", "heatmap_learning_rate_momentum.png",
    ]  # fmt: skip
    assert sorted(out.iterdir()) == sorted(paths)
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_before
    assert matplotlib.get_backend() == backend


def test_save_figures_without_two_varied_fields_has_no_heatmap(example, tmp_path):
    names = [p.name for p in example.save_figures(str(tmp_path))]
    assert names == ["loss_curves.png", "score_vs_learning_rate.png"]
    single = dataclasses.replace(example, varied=())
    assert [p.name for p in single.save_figures(tmp_path / "one")] == ["loss_curves.png"]


# ---- errors


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda r: r.plot_curves("val_r2"), ValueError, "'val_r2' has no curves"),
    (lambda r: r.plot_curves(color_by="nope"), ValueError, "'nope' is not a hyperparameter"),
    (lambda r: r.plot_curves(color_by="steps"), ValueError, "'steps' does not vary.*every"),
    (lambda r: r.plot_curves(color_by=1), TypeError, "color_by must be a hyperparameter name"),
    (lambda r: r.plot_curves(individual=1), TypeError, "individual must be True or False"),
    (lambda r: r.plot_curves(ax="left"), TypeError, "ax must be a matplotlib Axes"),
    (lambda r: r.plot_score("nope"), ValueError, r"param='nope'.*varied ones are \['learning"),
    (lambda r: r.plot_score(metric="val_acc"), ValueError, "'val_acc' is not a metric.*val_r2"),
    (lambda r: r.plot_score(metric=["val_loss"]), TypeError, "metric must be a metric name"),
    (lambda r: r.plot_heatmap("momentum", "momentum"), ValueError, "two different.*'momentum'"),
    (lambda r: r.plot_heatmap("momentum", "eps"), ValueError, "y='eps' does not vary"),
    (lambda r: r.save_figures(3), TypeError, "directory must be a path"),
])  # fmt: skip
def test_bad_input_names_the_argument_and_what_is_allowed(result, call, error, match):
    with pytest.raises(error, match=match):
        call(result)


def test_plots_that_need_what_the_sweep_lacks_say_so(example, tmp_path):
    no_val = dataclasses.replace(
        example, val_curves=np.zeros((len(example), 2, 0)), val_steps=((),) * len(example)
    )
    with pytest.raises(ValueError, match=r"no validation curves.*val= or cv="):
        no_val.plot_curves("val_loss")
    with pytest.raises(ValueError, match="nothing varies"):
        dataclasses.replace(example, varied=()).plot_score()
    with pytest.raises(ValueError, match="'nope' is not a metric"):
        example.save_figures(tmp_path / "never", metric="nope")
    assert not (tmp_path / "never").exists()


def test_without_matplotlib_each_figure_says_what_to_install(example, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    calls = [
        example.plot_curves, example.plot_score,
        lambda: example.plot_heatmap("learning_rate", "steps"),
        lambda: example.save_figures(tmp_path),
    ]  # fmt: skip
    for call in calls:
        with pytest.raises(ImportError, match=r"pip install 'jaxfit\[plot\]'"):
            call()


def test_import_jaxfit_does_not_import_matplotlib():
    code = "import sys, jaxfit; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_methods_return_axes(example):
    assert isinstance(example.plot_score(), Axes)
