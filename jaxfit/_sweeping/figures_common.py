"""What the figures of ``_plot.py`` share: argument checks, rankings, levels, labels, scales.

Each helper takes a ``SweepResult`` or plain values; none draws a figure of its own (only
``_crosses`` draws, on axes it is given). matplotlib is imported inside the functions that
need it, so that importing this module never loads it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Normalize

    from .result import SweepResult

FIGSIZE = (6.4, 4.4)
DPI = 120
RED = "tab:red"  # diverged settings, in every figure


def require(method: str) -> None:
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
        return Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained").add_subplot()
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
    return "higher is better" if r.greater_is_better[name] else "lower is better"


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
    style = dict(ls="none", marker="x", ms=9, mew=2.2, zorder=4, color=RED) | style
    if y is None:
        edge = ax.get_xaxis_transform()  # x in data, y in axes coordinates
        ax.plot(x, [0.03] * len(x), transform=edge, clip_on=False, gid=gid, **style)
    else:
        ax.plot(x, y, gid=gid, **style)
