"""Figures of a ``SweepResult``: loss curves, score against a hyperparameter, a heatmap of two.

matplotlib is an optional extra (``pip install 'jaxfit[plot]'``), imported inside each
function so that ``import jaxfit`` never loads it. Figures are made with
``matplotlib.figure.Figure`` directly, never through pyplot, so they draw headless and
leave the global backend and pyplot's list of open figures alone.

Artists worth finding carry a ``gid``: ``setting-{i}``, ``run-{i}-{c}`` and ``diverged-{i}``
(curves), ``series-{k}``, ``diverged`` and ``no-score`` (score), ``diverged-{row}-{col}``
(heatmap cells) and ``best``. Loss curves of more than ``_MAX_LINE_ARTISTS`` lines are
instead a few collections, ``settings``, ``diverged-settings`` and ``runs``, with the red
crosses as the lines ``diverged`` and ``diverged-edge``.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap, Normalize

    from .result import SweepResult

__all__ = ["plot_curves", "plot_heatmap", "plot_score", "save_figures"]

_FIGSIZE = (6.4, 4.4)
_DPI = 120
_RED = "tab:red"  # diverged settings, in every figure
_MAX_LINES = 8  # plot_score draws one line per value of another hyperparameter up to this many
# plot_curves makes each curve a Line2D of its own, with a gid, up to this many curves; more
# are drawn as a few LineCollections: ~2 ms per Line2D is seconds for thousands of settings.
_MAX_LINE_ARTISTS = 100
_RUN = {"lw": 0.6, "alpha": 0.35, "zorder": 1}  # plot_curves' thin lines: single runs
_MEAN = {"lw": 1.8, "zorder": 2}  # and its lines of a setting's mean run


def plot_curves(
    r: SweepResult,
    metric: str = "train_loss",
    *,
    color_by: str | None = None,
    ax: Axes | None = None,
    individual: bool = False,
) -> Axes:
    """Loss against step, one line per setting; see ``SweepResult.plot_curves``."""
    _require("plot_curves")
    from matplotlib.lines import Line2D

    if metric not in ("train_loss", "val_loss"):
        raise ValueError(
            f"plot_curves: metric={metric!r} has no curves; curves are kept for 'train_loss' "
            "and 'val_loss' only."
        )
    if metric == "val_loss" and r.val_curves.shape[-1] == 0:
        raise ValueError(
            "plot_curves: metric='val_loss', but this sweep has no validation curves (it ran "
            "without val= or cv=); use metric='train_loss'."
        )
    if not isinstance(individual, bool):
        raise TypeError(f"individual must be True or False; got {individual!r}.")
    if color_by is None:
        color_by = r.varied[0] if r.varied else None
    else:
        color_by = _param(r, color_by, "color_by")
    ax = _axes(ax)
    n = len(r)
    colours, handles = _colour_by(r, color_by, ax) if color_by else (["C0"] * n, [])
    diverged = np.asarray(r.diverged.any(axis=1))
    colours = [_RED if d else c for d, c in zip(diverged, colours, strict=True)]
    curves = [_curve(r, metric, i) for i in range(n)]
    # NaN from the first step any run lost: the mean ends there.
    means = [runs.mean(axis=0) for _, runs in curves]
    ends = {int(i): _cross_at(r, int(i), curves[i][0], means[i]) for i in np.flatnonzero(diverged)}
    n_lines = n * (1 + r.seeds * r.folds * individual)
    draw = _lines if n_lines <= _MAX_LINE_ARTISTS else _collections
    draw(ax, curves, means, colours, diverged, ends, individual)
    if ends:
        label = f"diverged ({len(ends)} of {n})"
        handles.append(Line2D([], [], color=_RED, ls="--", marker="x", mew=2, label=label))
    if handles:
        ax.legend(handles=handles, fontsize="small")
    shown = [np.zeros(0), *means, *(runs.ravel() for _, runs in curves if individual)]
    if _spans_decade(np.concatenate(shown)):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(f"{metric} ({_direction(r, metric)})")
    kind = "Training" if metric == "train_loss" else "Validation"
    thin = "; thin lines: single runs" if individual else ""
    ax.set_title(f"{kind} loss of {n} setting{'s' if n > 1 else ''}\nmean over {_runs(r)}{thin}")
    return ax


_Curves = list[tuple[np.ndarray, np.ndarray]]  # per setting: steps (k,), its runs (runs, k)
_Ends = dict[int, tuple[int, Any]]  # diverged setting -> its cross: (step, y or None)


def _lines(ax: Axes, curves: _Curves, means: list[np.ndarray], colours: list[Any],
           diverged: np.ndarray, ends: _Ends, individual: bool) -> None:  # fmt: skip
    """Every curve and cross a Line2D of its own, with a gid to find it by."""
    for i, ((steps, runs), mean) in enumerate(zip(curves, means, strict=True)):
        if individual:
            for c, run in enumerate(runs):
                ax.plot(steps, run, color=colours[i], gid=f"run-{i}-{c}", **_RUN)
        style = "--" if diverged[i] else "-"
        ax.plot(steps, mean, color=colours[i], ls=style, gid=f"setting-{i}", **_MEAN)
        if i in ends:
            step, y = ends[i]
            _crosses(ax, [step], None if y is None else [y], f"diverged-{i}")


def _collections(ax: Axes, curves: _Curves, means: list[np.ndarray], colours: list[Any],
                 diverged: np.ndarray, ends: _Ends, individual: bool) -> None:  # fmt: skip
    """The curves as one LineCollection per kind (runs, settings, diverged settings) and the
    crosses as one line each (on the curves, on the bottom edge): the look of ``_lines``."""
    from matplotlib import rcParams
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    def add(segments: list[np.ndarray], tint: list[Any], gid: str, dashed: bool, **style: Any):
        # A Line2D's caps and joins, which a collection's defaults differ from.
        if dashed:
            caps = (rcParams["lines.dash_capstyle"], rcParams["lines.dash_joinstyle"])
        else:
            caps = (rcParams["lines.solid_capstyle"], rcParams["lines.solid_joinstyle"])
        ls = "--" if dashed else "-"
        ax.add_collection(
            LineCollection(segments, color=tint, ls=ls, capstyle=caps[0], joinstyle=caps[1],
                           gid=gid, **style)
        )  # fmt: skip
        paths.extend(segments)

    paths: list[np.ndarray] = []
    if individual:
        runs = [np.column_stack([steps, run]) for steps, rs in curves for run in rs]
        tint = [c for c, (_, rs) in zip(colours, curves, strict=True) for _ in rs]
        add(runs, tint, "runs", False, **_RUN)
    for gid, rows, dashed in (
        ("settings", ~diverged, False),
        ("diverged-settings", diverged, True),
    ):
        if rows.any():
            idx = np.flatnonzero(rows)
            lines = [np.column_stack([curves[i][0], means[i]]) for i in idx]
            add(lines, [colours[i] for i in idx], gid, dashed, **_MEAN)
    ax.autoscale_view()  # before matplotlib 3.11, add_collection leaves the view limits alone
    if on_curve := [(step, y) for step, y in ends.values() if y is not None]:
        _crosses(ax, [step for step, _ in on_curve], [y for _, y in on_curve], "diverged")
    if edge := [step for step, y in ends.values() if y is None]:
        _crosses(ax, edge, None, "diverged-edge")
    # A legend at loc="best" avoids the points of lines but sees only the offsets of
    # collections: an invisible line through every curve's points keeps it off them.
    gap = np.full((1, 2), np.nan)
    xy = np.concatenate([part for path in paths for part in (path, gap)])
    ax.add_line(Line2D(xy[:, 0], xy[:, 1], visible=False, gid="legend-guide"))


def _cross_at(r: SweepResult, i: int, steps: np.ndarray, mean: np.ndarray) -> tuple[int, Any]:
    """Where diverged setting ``i``'s cross goes: the step its first run diverged, and the
    mean's last value by then, or None before the first evaluation (the bottom edge)."""
    step = int(r.diverged_step[i][r.diverged[i]].min())
    before = np.isfinite(mean) & (steps <= step)
    return step, mean[before][-1] if before.any() else None


def plot_score(
    r: SweepResult, param: str | None = None, metric: str | None = None, *, ax: Axes | None = None
) -> Axes:
    """The mean score against one hyperparameter, ± std; see ``SweepResult.plot_score``."""
    _require("plot_score")
    from matplotlib.container import Container

    name = _metric(r, metric)
    if param is None and not r.varied:
        raise ValueError("plot_score needs a varied hyperparameter; nothing varies in this sweep.")
    param = _param(r, r.varied[0] if param is None else param, "param")
    ax = _axes(ax)
    mean, std = r.mean(name), r.std(name)
    ok, key = _ranked(r, name), _key(r, name)
    levels, level_of, numeric = _levels([h[param] for h in r.hyperparams])
    xs = np.asarray(levels, float) if numeric else np.arange(len(levels), dtype=float)
    others = [f for f in r.varied if f != param]
    series = _series(r, others)
    failed: dict[int, list[int]] = {}  # x level -> its settings, where none has a score
    at: dict[int, float] = {}  # x position of every plotted setting
    for k, (label, members) in enumerate(series):
        # Categorical x: shift the lines apart a little so that their error bars stay apart.
        shift = 0.0 if numeric else 0.08 * (k - (len(series) - 1) / 2)
        chosen = []
        for level, here in sorted(_by(level_of, members).items()):
            good = [i for i in here if ok[i]]
            if good:
                chosen.append(_best_of(good, key))
            else:
                failed.setdefault(level, []).extend(here)
        at.update((i, float(xs[level_of[i]]) + shift) for i in chosen)
        if chosen:
            x = [at[i] for i in chosen]
            ax.errorbar(x, mean[chosen], yerr=std[chosen], color=f"C{k}", marker="o", ms=5,
                        capsize=3, lw=1.5, label=label, gid=f"series-{k}")  # fmt: skip
    if (b := _ranked_first(r, name)) is not None:
        label = f"best: {param}={_label(r.hyperparams[b][param])}"
        ax.plot([at[b]], [mean[b]], ls="none", marker="*", ms=16, mfc="gold", mec="black",
                zorder=5, gid="best", label=label)  # fmt: skip
    if numeric and _log_spaced(levels):
        ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(xs, [_label(v) for v in levels])
        ax.set_xlim(-0.5, len(levels) - 0.5)
    if not r.greater_is_better[name] and _spans_decade(mean[list(at)]):  # losses, not scores
        ax.set_yscale("log")
    if failed:
        _room_below(ax)
        _mark_failed(ax, r, xs, failed)
    handles, labels = ax.get_legend_handles_labels()
    if handles:  # the lines first, then the best setting and the crosses
        order = sorted(range(len(handles)), key=lambda j: not isinstance(handles[j], Container))
        ax.legend([handles[j] for j in order], [labels[j] for j in order], fontsize="small")
    ax.set_xlabel(param)
    ax.set_ylabel(f"{name} ({_direction(r, name)})")
    over = f" (best over {', '.join(others)})" if others and len(series) == 1 else ""
    ax.set_title(f"{name} against {param}{over}\nmean ± std over {_runs(r)}")
    return ax


def plot_heatmap(
    r: SweepResult, x: str, y: str, metric: str | None = None, *, ax: Axes | None = None
) -> Axes:
    """The mean score over a grid of two hyperparameters; see ``SweepResult.plot_heatmap``."""
    _require("plot_heatmap")
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    name = _metric(r, metric)
    x, y = _param(r, x, "x"), _param(r, y, "y")
    if x == y:
        raise ValueError(
            f"plot_heatmap: x and y must be two different hyperparameters; both are {x!r} "
            f"(the varied ones are {list(r.varied)})."
        )
    ax = _axes(ax)
    x_labels, x_of = _heatmap_axis([h[x] for h in r.hyperparams])
    y_labels, y_of = _heatmap_axis([h[y] for h in r.hyperparams])
    grid, status = _heatmap_grid(r, name, x_of, y_of, (len(y_labels), len(x_labels)))
    greater = r.greater_is_better[name]
    # Brighter is better either way: viridis runs dark to bright, so reverse it for losses.
    cmap = colormaps["viridis" if greater else "viridis_r"].with_extremes(bad="0.92")
    norm = _norm(grid[np.isfinite(grid)], log=not greater)  # a log scale suits losses only
    image = ax.imshow(
        np.ma.masked_invalid(grid), cmap=cmap, norm=norm, origin="lower", aspect="auto"
    )
    bar = ax.figure.colorbar(image, ax=ax)
    bar.set_label(f"mean {name} ({_direction(r, name)}; brighter is better)")
    if not greater:
        bar.ax.invert_yaxis()  # the better end on top, as for a score
    for (row, col), state in np.ndenumerate(status):
        if state == "diverged":
            gid = f"diverged-{row}-{col}"
            ax.add_patch(
                Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, ec=_RED, hatch="xx", gid=gid)
            )
        if state and grid.size <= 200:  # beyond that the numbers would not be readable
            text, colour = _cell_text(float(grid[row, col]), state, cmap, norm)
            box = dict(fc="white", ec="none", alpha=0.8, pad=1) if state != "ok" else None
            ax.text(col, row, text, ha="center", va="center", fontsize=8, color=colour, bbox=box)
    if (b := _ranked_first(r, name)) is not None:
        corner = (x_of[b] - 0.5, y_of[b] - 0.5)
        ax.add_patch(Rectangle(corner, 1, 1, fill=False, ec="black", lw=3, zorder=5, gid="best"))
    ax.set_xticks(range(len(x_labels)), x_labels, rotation=45 if len(x_labels) > 6 else 0)
    ax.set_yticks(range(len(y_labels)), y_labels)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    others = [f for f in r.varied if f not in (x, y)]
    over = f" (best over {', '.join(others)})" if others else ""
    ax.set_title(f"mean {name} by {x} and {y}{over}\nover {_runs(r)}; best setting outlined")
    return ax


def _heatmap_grid(
    r: SweepResult, name: str, x_of: Sequence[int], y_of: Sequence[int], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell ``(y, x)``, the best mean of its ranked settings (NaN if none), and its status.

    The status is ``""`` for an empty cell (no setting has that pair), ``"ok"``,
    ``"diverged"`` (a run of every setting there diverged) or ``"nan"`` (no finite mean).
    """
    mean, ok, key = r.mean(name), _ranked(r, name), _key(r, name)
    grid, status = np.full(shape, np.nan), np.full(shape, "", dtype=object)
    for cell, here in _by(list(zip(y_of, x_of, strict=True)), range(len(r))).items():
        good = [i for i in here if ok[i]]
        if good:
            grid[cell], status[cell] = mean[_best_of(good, key)], "ok"
        else:
            status[cell] = "diverged" if r.diverged[here].any() else "nan"
    return grid, status


def save_figures(
    r: SweepResult, directory: str | os.PathLike, *, metric: str | None = None
) -> list[pathlib.Path]:
    """Writes every figure as a PNG file into ``directory``; see ``SweepResult.save_figures``."""
    _require("save_figures")
    from matplotlib.figure import Figure

    if not isinstance(directory, str | os.PathLike):
        raise TypeError(
            f"save_figures: directory must be a path (str or os.PathLike); got {directory!r}."
        )
    name = _metric(r, metric)
    draw: list[tuple[str, Callable[[Axes], Any]]] = [
        ("loss_curves.png", lambda ax: plot_curves(r, ax=ax))
    ]
    for p in r.varied:
        draw.append((f"score_vs_{p}.png", lambda ax, p=p: plot_score(r, p, name, ax=ax)))
    if len(r.varied) >= 2:
        x, y = r.varied[:2]
        draw.append((f"heatmap_{x}_{y}.png", lambda ax: plot_heatmap(r, x, y, name, ax=ax)))
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for filename, plot in draw:
        figure = Figure(figsize=_FIGSIZE, dpi=_DPI, layout="constrained")
        plot(figure.add_subplot())
        figure.savefig(out / filename)
        figure.clear()  # free the artists now (the figure is in no pyplot registry)
        paths.append(out / filename)
    return paths


def _curve(r: SweepResult, metric: str, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Setting ``i``'s steps and its runs' values there, ``(k,)`` and ``(runs, k)``."""
    if metric == "train_loss":  # entry t is the loss of the parameters after t steps
        return np.arange(r.train_curves.shape[-1]), r.train_curves[i]
    steps = np.asarray(r.val_steps[i], dtype=float)
    return steps, r.val_curves[i][:, : steps.size]


def _heatmap_axis(values: list[Any], bins: int = 12) -> tuple[list[str], list[int]]:
    """Tick labels and each setting's position: the distinct values, or for more than
    ``2 * bins`` numbers (a random search) ``bins`` even bins, on a log scale if log-spaced."""
    levels, level_of, numeric = _levels(values)
    if not numeric or len(levels) <= 2 * bins:
        return [_label(v) for v in levels], level_of
    log = _log_spaced(levels)
    t = np.log(np.asarray(values, float)) if log else np.asarray(values, float)
    edges = np.linspace(t.min(), t.max(), bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    labels = [f"~{_label(float(c))}" for c in (np.exp(centres) if log else centres)]
    return labels, np.clip(np.searchsorted(edges, t, side="right") - 1, 0, bins - 1).tolist()


def _colour_by(r: SweepResult, name: str, ax: Axes) -> tuple[list[Any], list[Any]]:
    """A colour per setting by ``name``, and a colourbar (numbers) or legend handles."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D

    values = [h[name] for h in r.hyperparams]
    levels, level_of, numeric = _levels(values)
    if numeric:  # viridis without its palest yellow, which is faint on white
        cmap = ListedColormap(colormaps["viridis"](np.linspace(0.0, 0.9, 256)))
        norm = _norm(np.asarray(levels, dtype=float))
        ax.figure.colorbar(ScalarMappable(norm, cmap), ax=ax, label=name)
        return [tuple(c) for c in cmap(norm(np.asarray(values, dtype=float)))], []
    colours = [f"C{j % 10}" for j in range(len(levels))]
    handles = [
        Line2D([], [], color=c, lw=1.8, label=f"{name}={_label(v)}")
        for c, v in zip(colours, levels, strict=True)
    ]
    return [colours[j] for j in level_of], handles


def _series(r: SweepResult, others: list[str]) -> list[tuple[str | None, list[int]]]:
    """The settings on each line of ``plot_score``: one line per value of the one other
    varied hyperparameter if it has few values, else one line (the best over the others)."""
    everything = list(range(len(r)))
    levels, level_of, _ = _levels([h[others[0]] for h in r.hyperparams] if others else [])
    if len(others) != 1 or len(levels) > _MAX_LINES:
        return [(None, everything)]
    groups = _by(level_of, everything)
    return [(f"{others[0]}={_label(v)}", groups[j]) for j, v in enumerate(levels)]


def _cell_text(value: float, state: str, cmap: Colormap, norm: Normalize) -> tuple[str, Any]:
    """A heatmap cell's text, dark on a bright cell and light on a dark one."""
    if state == "diverged":
        return "diverged", "black"
    if state == "nan":
        return "nan", "0.3"
    red, green, blue, _ = cmap(float(norm(value)))
    return f"{value:.3g}", "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"


def _room_below(ax: Axes, fraction: float = 0.14) -> None:
    """Lowers the y axis' bottom to leave its lowest ``fraction`` empty, for edge crosses."""
    lo, hi = ax.get_ylim()
    scale = ax.yaxis.get_transform()
    a, b = scale.transform([lo, hi])
    ax.set_ylim(scale.inverted().transform([a - (b - a) * fraction / (1 - fraction)])[0], hi)


def _mark_failed(ax: Axes, r: SweepResult, xs: np.ndarray, failed: dict[int, list[int]]) -> None:
    """Crosses on the bottom edge where no setting at an x value has a score: red where they
    diverged, grey where their means are not finite; each annotated."""
    n_div = {level: int(r.diverged[here].any(axis=1).sum()) for level, here in failed.items()}
    red = sorted(level for level in failed if n_div[level])
    grey = sorted(level for level in failed if not n_div[level])
    if red:
        total = sum(n_div[level] for level in red)
        label = f"diverged ({total} setting{'s' if total > 1 else ''})"
        _crosses(ax, xs[red], None, "diverged", label=label)
    if grey:
        _crosses(ax, xs[grey], None, "no-score", label="no finite score", color="0.5")
    for level in red + grey if len(failed) <= 6 else []:  # more would overlap; see the legend
        k = n_div[level]
        text = ("diverged" if k == 1 else f"{k} diverged") if k else "no score"
        ax.annotate(text, (xs[level], 0.03), xycoords=ax.get_xaxis_transform(), xytext=(0, 9),
                    textcoords="offset points", ha="center", fontsize=7,
                    color=_RED if k else "0.4")  # fmt: skip


# -- what the figures share: argument checks, rankings, levels, labels, scales ------------


def _require(method: str) -> None:
    """Raises an ``ImportError`` that says how to install matplotlib, if it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ImportError(
            f"SweepResult.{method} draws with matplotlib, which is not installed: "
            "pip install 'jaxfit[plot]'"
        ) from e


def _axes(ax: Any) -> Axes:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if ax is None:
        return Figure(figsize=_FIGSIZE, dpi=_DPI, layout="constrained").add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}.")
    return ax


def _metric(r: SweepResult, metric: Any) -> str:
    if metric is None:
        return r._metric(None)
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a metric name (str) or None; got {metric!r}.")
    if metric not in r.metrics:
        raise ValueError(
            f"metric={metric!r} is not a metric of this sweep; available are {list(r.metrics)}."
        )
    return metric


def _param(r: SweepResult, name: Any, arg: str) -> str:
    """``name``, checked to be a hyperparameter that varies in the sweep."""
    choices = f"the varied ones are {list(r.varied)}" if r.varied else "none varies in this sweep"
    if not isinstance(name, str):
        raise TypeError(f"{arg} must be a hyperparameter name (str), got {name!r}; {choices}.")
    if name in r.varied:
        return name
    if name in r.hyperparams[0]:
        raise ValueError(
            f"{arg}={name!r} does not vary in this sweep (every setting has "
            f"{r.hyperparams[0][name]!r}); {choices}."
        )
    raise ValueError(f"{arg}={name!r} is not a hyperparameter of this sweep; {choices}.")


def _direction(r: SweepResult, name: str) -> str:
    better = r.greater_is_better.get(name)
    if better is None:  # an objective's curves: its steps' losses, and its first metric
        rank_by = r.info.get("rank_by") if name == "val_loss" else None
        better = bool(rank_by is not None and r.greater_is_better.get(rank_by))
        if rank_by is not None:
            return f"{rank_by}, {'higher' if better else 'lower'} is better"
    return "higher is better" if better else "lower is better"


def _runs(r: SweepResult) -> str:
    seeds = f"{r.seeds} seed{'s' if r.seeds != 1 else ''}"
    return seeds + (f" × {r.folds} folds" if r.folds > 1 else "")


def _ranked(r: SweepResult, name: str) -> np.ndarray:
    """``(N,)`` bool: the settings that ``ranking`` keeps (no diverged run, a finite mean)."""
    return ~r.diverged.any(axis=1) & np.isfinite(r.mean(name))


def _key(r: SweepResult, name: str) -> np.ndarray:
    """``(N,)``: the mean score, negated where greater is better: lower keys rank first."""
    return -r.mean(name) if r.greater_is_better[name] else r.mean(name)


def _best_of(indices: Sequence[int], key: np.ndarray) -> int:
    """The best of some ranked settings; on a tie the lower index, as ``ranking`` orders."""
    return min(indices, key=lambda i: (key[i], i))


def _by(labels: Sequence[Any], indices: Iterable[int]) -> dict[Any, list[int]]:
    """``indices`` grouped by ``labels[i]``."""
    groups: dict[Any, list[int]] = {}
    for i in indices:
        groups.setdefault(labels[i], []).append(i)
    return groups


def _ranked_first(r: SweepResult, name: str) -> int | None:
    return next((int(i) for i in r.ranking(name)), None)


def _is_number(v: Any) -> bool:
    number = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
    return number and math.isfinite(v)


def _levels(values: list[Any]) -> tuple[list[Any], list[int], bool]:
    """The distinct values (sorted if numbers), the position of each value, all numbers?"""
    numeric = all(_is_number(v) for v in values)
    keys = [float(v) if numeric else repr(v) for v in values]  # repr: a list is unhashable
    distinct = sorted(set(keys)) if numeric else list(dict.fromkeys(keys))
    first = dict(zip(reversed(keys), reversed(values), strict=True))
    position = {k: j for j, k in enumerate(distinct)}
    return [first[k] for k in distinct], [position[k] for k in keys], numeric


def _label(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float | np.floating) else str(v)


def _spans_decade(values: np.ndarray) -> bool:
    """Whether the finite ``values`` are all positive and span more than a factor of ten."""
    v = values[np.isfinite(values)]
    return bool(v.size and v.min() > 0 and v.max() > 10 * v.min())


def _log_spaced(levels: list[Any]) -> bool:
    """Whether sorted positive numbers spanning more than a decade are closer to evenly
    spaced on a log scale than on a linear one (0.001, 0.01, 0.1 are; 1, 2, ..., 20 not)."""
    u = np.asarray(levels, dtype=float)
    if not _spans_decade(u):
        return False
    lin, log = np.diff(u), np.diff(np.log(u))  # two values: both spreads 0, so log
    return bool(np.std(log) / np.mean(log) <= np.std(lin) / np.mean(lin))


def _norm(values: np.ndarray, *, log: bool = True) -> Normalize:
    """A log colour scale (if ``log``) for positive values over more than a decade, else linear."""
    from matplotlib.colors import LogNorm, Normalize

    if log and _spans_decade(values):
        return LogNorm(values.min(), values.max())
    if values.size == 0:
        return Normalize(0.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    return Normalize(lo, hi) if hi > lo else Normalize(lo - 0.5, hi + 0.5)


def _crosses(ax: Axes, x: Any, y: Any, gid: str, **style: Any) -> None:
    """Red crosses at ``(x, y)``, or on the bottom edge of the axes where ``y`` is None."""
    style = dict(ls="none", marker="x", ms=9, mew=2.2, zorder=4, color=_RED) | style
    if y is None:
        edge = ax.get_xaxis_transform()  # x in data, y in axes coordinates
        ax.plot(x, [0.03] * len(x), transform=edge, clip_on=False, gid=gid, **style)
    else:
        ax.plot(x, y, gid=gid, **style)
