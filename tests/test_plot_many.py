"""Loss curves of many settings: a few LineCollections that look as one Line2D per curve."""

import dataclasses

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba_array

from jaxfit._sweeping import figures as _plot
from jaxfit._sweeping.result import _example

matplotlib.use("Agg")


def by_gid(ax, prefix):
    return [a for a in [*ax.lines, *ax.patches] if (a.get_gid() or "").startswith(prefix)]


def many_settings(n=150, runs=2, steps=40, diverging=True):
    """``n`` learning rates (log-spaced up to 20, or up to 0.4 where none diverges), noisy
    decaying curves that end where a run diverged: rates >= 5 at step 3, in (0.5, 5) at 40."""
    rng = np.random.default_rng(1)
    lrs = tuple(rng.permutation(np.geomspace(1e-3, 20.0 if diverging else 0.4, n)).tolist())
    r = _example(learning_rates=lrs, seeds=runs)
    t = np.arange(steps)
    lr = np.asarray(lrs)[:, None, None]
    curves = 0.05 + np.exp(-np.minimum(lr, 0.5) * t / 4) * (
        1 + 0.05 * rng.normal(size=(n, runs, steps))
    )
    stop = np.where(r.diverged, r.diverged_step, steps)[..., None]
    labels = tuple(
        {**h, "activation": ("relu", "tanh")[i % 2]} for i, h in enumerate(r.hyperparams)
    )
    return dataclasses.replace(
        r, train_curves=np.where(t > stop, np.nan, curves).astype(np.float32),
        hyperparams=labels, varied=("learning_rate", "activation"),
    )  # fmt: skip


def pixels(ax):
    canvas = FigureCanvasAgg(ax.figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def by_artist_gid(ax, gid):
    (artist,) = [a for a in [*ax.lines, *ax.collections] if a.get_gid() == gid]
    return artist


def test_many_curves_are_a_few_collections_with_the_same_numbers_and_colours(monkeypatch):
    r = many_settings()
    ax = r.plot_curves()
    diverged = r.diverged.any(axis=1)
    assert by_gid(ax, "setting-") == [] and len(ax.collections) == 2 and len(ax.lines) <= 3
    settings, red = by_artist_gid(ax, "settings"), by_artist_gid(ax, "diverged-settings")
    for collection, rows in ((settings, ~diverged), (red, diverged)):
        segments = collection.get_segments()
        assert len(segments) == rows.sum()
        for i, segment in zip(np.flatnonzero(rows), segments, strict=True):
            mean = r.train_curves[i].mean(axis=0)  # NaN after a divergence: not in the segment
            np.testing.assert_array_equal(segment[:, 0], np.flatnonzero(np.isfinite(mean)))
            np.testing.assert_allclose(segment[:, 1], mean[np.isfinite(mean)], rtol=1e-6)
    assert red.get_linestyle()[0][1] is not None  # dashed
    assert (red.get_edgecolor() == to_rgba_array(["tab:red"])).all()
    monkeypatch.setattr(_plot, "_MAX_LINE_ARTISTS", 10**6)  # the same figure, one line each
    lines = r.plot_curves()
    expected = to_rgba_array([by_gid(lines, f"setting-{i}")[0].get_color()
                              for i in np.flatnonzero(~diverged)])  # fmt: skip
    np.testing.assert_allclose(settings.get_edgecolor(), expected)
    crosses = by_artist_gid(ax, "diverged")
    single = [by_gid(lines, f"diverged-{i}")[0] for i in np.flatnonzero(diverged)]
    assert crosses.get_marker() == "x" and crosses.get_color() == "tab:red"
    assert list(crosses.get_xdata()) == [c.get_xdata()[0] for c in single]
    np.testing.assert_array_equal(crosses.get_ydata(), [c.get_ydata()[0] for c in single])
    assert ax.get_ylim() == lines.get_ylim() and ax.get_xlim() == lines.get_xlim()


@pytest.mark.parametrize("kwargs", [{}, {"individual": True}, {"color_by": "activation"}])
def test_many_curves_look_as_they_would_line_by_line(monkeypatch, kwargs):
    """Pixel for pixel, where nothing diverged (then the red lines go on top of the others)."""
    r = many_settings(diverging=False)
    collections = r.plot_curves(**kwargs)
    assert collections.collections and by_gid(collections, "setting-") == []
    monkeypatch.setattr(_plot, "_MAX_LINE_ARTISTS", 10**6)
    lines = r.plot_curves(**kwargs)
    assert len(by_gid(lines, "setting-")) == len(r)
    np.testing.assert_array_equal(pixels(collections), pixels(lines))


def test_many_curves_with_diverged_ones_and_a_legend_look_the_same(monkeypatch):
    r = many_settings()
    ax = r.plot_curves(individual=True, color_by="activation")
    runs = by_artist_gid(ax, "runs")
    assert len(runs.get_segments()) == len(r) * r.seeds and runs.get_alpha() == 0.35
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    n_div = r.diverged.any(axis=1).sum()
    assert texts == ["activation=relu", "activation=tanh", f"diverged ({n_div} of {len(r)})"]
    image = pixels(ax)
    monkeypatch.setattr(_plot, "_MAX_LINE_ARTISTS", 10**6)
    lines = r.plot_curves(individual=True, color_by="activation")
    differ = (image != pixels(lines)).any(axis=-1)
    assert differ.mean() < 0.01  # only where red lines cross others: drawn on top of them
    legend, legend_lines = ax.get_legend(), lines.get_legend()
    assert legend.get_window_extent().bounds == legend_lines.get_window_extent().bounds


def test_many_validation_curves_put_early_divergences_on_the_bottom_edge():
    r = many_settings()  # validation at steps 25 and 50: rates >= 5 diverged at step 3
    ax = r.plot_curves("val_loss")
    edge, exploded = by_artist_gid(ax, "diverged-edge"), r.diverged_step.min(axis=1) == 3
    assert list(edge.get_xdata()) == [3] * exploded.sum() and set(edge.get_ydata()) == {0.03}
    assert edge.get_transform() == ax.get_xaxis_transform()
    assert (
        len(by_artist_gid(ax, "diverged").get_xdata()) == (r.diverged.any(axis=1) & ~exploded).sum()
    )


def test_the_switch_to_collections_counts_every_line():
    few = many_settings(n=_plot._MAX_LINE_ARTISTS // 3, runs=2)  # 33 x (1 + 2) = 99 lines
    ax = few.plot_curves(individual=True)
    assert not ax.collections and len(by_gid(ax, "run-")) == 66
    more = many_settings(n=_plot._MAX_LINE_ARTISTS // 3 + 1, runs=2)  # 34 x 3 = 102
    assert not more.plot_curves().collections
    assert len(more.plot_curves(individual=True).collections) == 3
