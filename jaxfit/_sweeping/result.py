"""``SweepResult``: the frozen, host-side outcome of a sweep over settings and seeds."""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from .._checks import checked_index, is_int
from .._hp import numeric_fields
from .result_base import (
    Exports,
    GroupInfo as GroupInfo,
    SweepDiverged as SweepDiverged,
    _example as _example,
)
from .result_checks import check_result
from .result_views import no_ranking_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["GroupInfo", "SweepDiverged", "SweepResult"]


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SweepResult(Exports):
    """The result of a sweep: ``N`` hyperparameter settings, each trained with ``S`` seeds.

    Everything is host numpy, indexed ``[setting, seed]``. A seed *diverged* when its loss
    or a gradient became non-finite or exploded; its final metrics are those of the last
    parameters before that step. Ranking (:meth:`ranking`, :meth:`best`) skips every setting
    with *any* diverged seed, so a lucky seed cannot make an unstable setting "best".

    Attributes:
      hyperparams: ``N`` dicts, every field of each setting as a plain Python value.
      varied: the field names the search space varied.
      seeds: ``S``, the seeds per setting.
      folds: ``F``, the cross-validation folds per seed (1 without cross-validation). The
        second axis of every per-run array has ``S * F`` cells, seed-major: cell
        ``s * F + f`` is seed ``s``, fold ``f``; means and standard deviations run over all
        cells, and "seed" elsewhere in this class means such a cell.
      metrics: name -> ``(N, S)`` float final metrics (``"train_loss"``, ``"val_loss"``, ...).
      greater_is_better: name -> direction, for every metric.
      diverged: ``(N, S)`` bool.
      diverged_step: ``(N, S)`` int, the step of divergence or -1.
      cause: ``(N, S)`` int, an index into ``jaxfit.CAUSES``.
      train_curves: ``(N, S, T)`` per-step training loss, NaN-padded to the longest run.
      val_curves: ``(N, S, V)`` validation loss, NaN-padded (``V`` may be 0).
      val_steps: per setting, the steps at which ``val_curves`` were taken.
      group_params: per group (aligned with ``groups``), a pytree of arrays with leading
        axes ``(n_g, S)``; ``None`` if parameters were not kept. Read one setting's with
        :meth:`params` (the method owns the name ``params``).
      groups: the static-structure groups, one compiled program each.
      info: JSON-able run information (versions, devices, root seed, wall seconds).
      base: the base hyperparameter instance; kept in memory only, never saved.

    Raises:
      ValueError: when shapes disagree, ``groups`` do not partition the settings or the
        divergence fields contradict each other.
      TypeError: for fields of the wrong kind.

    Examples:
      >>> import numpy as np, jaxfit
      >>> n, s = 2, 1
      >>> r = jaxfit.SweepResult(
      ...     hyperparams=({"learning_rate": 0.1}, {"learning_rate": 1.0}),
      ...     varied=("learning_rate",), seeds=s,
      ...     metrics={"train_loss": np.array([[0.3], [0.1]])},
      ...     greater_is_better={"train_loss": False},
      ...     diverged=np.zeros((n, s), bool), diverged_step=np.full((n, s), -1),
      ...     cause=np.zeros((n, s), int), train_curves=np.zeros((n, s, 0)),
      ...     val_curves=np.zeros((n, s, 0)), val_steps=((), ()), group_params=None,
      ...     groups=(jaxfit.GroupInfo(("Hyperparams", ()), np.arange(n), 0.0, 0.0, 2, 1, None),),
      ...     info={})
      >>> r.ranking().tolist(), len(r)
      ([1, 0], 2)
    """

    hyperparams: tuple[dict[str, Any], ...]
    varied: tuple[str, ...]
    seeds: int
    metrics: dict[str, np.ndarray]
    greater_is_better: dict[str, bool]
    diverged: np.ndarray
    diverged_step: np.ndarray
    cause: np.ndarray
    train_curves: np.ndarray
    val_curves: np.ndarray
    val_steps: tuple[tuple[int, ...], ...]
    group_params: tuple[Any, ...] | None
    groups: tuple[GroupInfo, ...]
    info: dict[str, Any]
    base: Any = None
    folds: int = 1

    def __post_init__(self) -> None:
        check_result(self, GroupInfo)

    def __len__(self) -> int:
        return len(self.hyperparams)

    def __repr__(self) -> str:
        n_div = int(self.diverged.any(axis=1).sum())
        return (
            f"SweepResult({len(self)} settings x {self.seeds} seeds"
            + (f" x {self.folds} folds" if self.folds > 1 else "")
            + ", metrics="
            f"{list(self.metrics)}, {len(self.groups)} group(s), {n_div} diverged)"
        )

    @property
    def n_settings(self) -> int:
        """``N``, the number of settings (also ``len(result)``)."""
        return len(self.hyperparams)

    @property
    def n_seeds(self) -> int:
        """``S``, the number of seeds per setting."""
        return self.seeds

    def cells(self, metric: str | None = None) -> np.ndarray:
        """A metric per setting, seed and fold: ``(N, S, F)`` (``F = 1`` without CV).

        Args:
          metric: a metric name (default as in :meth:`ranking`).

        Returns:
          The metric's values reshaped to ``(N, seeds, folds)``.

        Examples:
          >>> import jaxfit
          >>> jaxfit._sweeping.result._example().cells("val_loss").shape
          (4, 2, 1)
        """
        values = self.metrics[self._metric(metric)]
        return values.reshape(len(self), self.seeds, self.folds)

    def mean(self, metric: str) -> np.ndarray:
        """Mean of a metric over seeds, ``(N,)``; NaN for a setting with any NaN seed.

        Diverged seeds count too (their metrics are those before divergence), so the mean
        of a diverged setting is shown but never ranked.

        Args:
          metric: a metric name (a key of ``metrics``).

        Returns:
          The float array of per-setting means.

        Examples:
          >>> import jaxfit
          >>> jaxfit._sweeping.result._example().mean("val_loss").round(3).tolist()
          [0.465, 0.26, nan, 0.015]
        """
        return self.metrics[self._metric(metric)].mean(axis=1)

    def std(self, metric: str) -> np.ndarray:
        """Standard deviation of a metric over seeds, ``(N,)``.

        The sample standard deviation (``ddof=1``) when ``S > 1``; 0 for a single seed.

        Args:
          metric: a metric name (a key of ``metrics``).

        Returns:
          The float array of per-setting standard deviations.

        Examples:
          >>> import jaxfit
          >>> jaxfit._sweeping.result._example().std("val_loss").round(4).tolist()
          [0.0141, 0.0141, nan, 0.0141]
        """
        cells = self.seeds * self.folds
        return self.metrics[self._metric(metric)].std(axis=1, ddof=1 if cells > 1 else 0)

    def ranking(self, metric: str | None = None) -> np.ndarray:
        """Setting indices, best first, by mean metric over seeds.

        Settings with any diverged seed or a non-finite mean are left out. Ties keep index
        order.

        Args:
          metric: the metric to rank by; default ``"val_loss"`` if present, else
            ``"train_loss"``. Its direction comes from ``greater_is_better``.

        Returns:
          An int array of setting indices (possibly empty).

        Raises:
          ValueError: for an unknown metric.

        Examples:
          >>> import jaxfit
          >>> jaxfit._sweeping.result._example().ranking().tolist()  # 2 and 3 diverged
          [1, 0]
        """
        name = self._metric(metric)
        score = self.mean(name)
        ok = np.flatnonzero(~self.diverged.any(axis=1) & np.isfinite(score))
        key = -score[ok] if self.greater_is_better[name] else score[ok]
        return ok[np.argsort(key, kind="stable")]

    def best(self, k: int = 1, metric: str | None = None) -> list[dict[str, Any]]:
        """The ``k`` best settings (fewer if fewer are ranked), as plain dicts.

        Args:
          k: how many settings to return (>= 1).
          metric: the metric to rank by (see :meth:`ranking`).

        Returns:
          A list, best first, of ``{"index", "varied", "hyperparams", "metric", "mean",
          "std", "seeds"}``: the setting index, its varied fields, all its fields, the
          metric's name, its mean and standard deviation over seeds, and per-seed values.

        Raises:
          SweepDiverged: when no setting can be ranked (all diverged or non-finite).
          ValueError: for ``k < 1`` or an unknown metric.

        Examples:
          >>> import jaxfit
          >>> top = jaxfit._sweeping.result._example().best()[0]
          >>> top["index"], top["varied"], round(top["mean"], 3)
          (1, {'learning_rate': 0.1}, 0.26)
        """
        if not is_int(k) or k < 1:
            raise ValueError(f"best: k={k!r} must be an int >= 1.")
        name = self._metric(metric)
        order = self.ranking(name)
        if order.size == 0:
            raise SweepDiverged(no_ranking_text(self, name))
        mean, std = self.mean(name), self.std(name)
        return [
            {
                "index": int(i),
                "varied": {f: self.hyperparams[i][f] for f in self.varied},
                "hyperparams": dict(self.hyperparams[i]),
                "metric": name,
                "mean": float(mean[i]),
                "std": float(std[i]),
                "seeds": [float(v) for v in self.metrics[name][i]],
            }
            for i in order[:k]
        ]

    def params(self, index: int, seed: int = 0) -> Any:
        """One setting's trained parameters for one seed, as an unbatched tree of numpy arrays.

        Args:
          index: the setting index (negative counts from the end).
          seed: the seed index in ``0 .. S-1``.

        Returns:
          The parameter pytree, ready for :func:`jaxfit.predict`.

        Raises:
          ValueError: if the sweep did not keep parameters.
          IndexError: for an index or seed out of range.

        Examples:
          >>> import jax.numpy as jnp, jaxfit
          >>> r = jaxfit._sweeping.result._example()
          >>> p = r.params(1, seed=0)
          >>> jaxfit.predict(jaxfit.linear(), p, jnp.array([1.0]), r.hp(1)).shape
          (1, 1)
        """
        if self.group_params is None:
            raise ValueError(
                "this SweepResult has no parameters (the sweep did not keep them); rerun the "
                "sweep keeping parameters, or refit the chosen setting with jaxfit.fit."
            )
        i = self._index(index)
        s = checked_index("seed", seed, self.seeds * self.folds)
        g = next(g for g, grp in enumerate(self.groups) if i in grp.indices)
        pos = int(np.flatnonzero(self.groups[g].indices == i)[0])
        # numpy, not jnp: a float64 result stays float64 outside an x64 context.
        return jax.tree.map(lambda a: np.asarray(a[pos, s]), self.group_params[g])

    def hp(self, index: int) -> Any:
        """One setting's hyperparameter instance: ``base.replace(**hyperparams[index])``.

        Args:
          index: the setting index (negative counts from the end).

        Returns:
          An instance of the base hyperparameter class.

        Raises:
          ValueError: if there is no ``base`` (a loaded result without ``base=``).
          IndexError: for an index out of range.

        Examples:
          >>> import jaxfit
          >>> jaxfit._sweeping.result._example().hp(1).learning_rate
          array(0.1, dtype=float32)
        """
        i = self._index(index)
        if self.base is None:
            raise ValueError(
                "this SweepResult has no base hyperparameters (a saved result does not store "
                "them); pass the instance the sweep started from: "
                "SweepResult.load(path, base=jaxfit.Hyperparams(...))."
            )
        numeric = set(numeric_fields(self.base))
        values = {  # a vector-valued numeric field comes back from to_dict as a list
            k: np.asarray(v) if k in numeric and isinstance(v, list) else v
            for k, v in self.hyperparams[i].items()
        }
        return self.base.replace(**values)

    def plot_curves(
        self,
        metric: str = "train_loss",
        *,
        color_by: str | None = None,
        ax: Axes | None = None,
        individual: bool = False,
    ) -> Axes:
        """Loss curves, one line per setting (its mean run), coloured by a hyperparameter.

        The y axis is logarithmic for positive losses over more than a decade. A diverged
        setting is a dashed red line ending in a red cross at the step it diverged.

        Args:
          metric: ``"train_loss"`` (every step) or ``"val_loss"`` (at ``val_steps``).
          color_by: a varied hyperparameter (default: the first); a colourbar for numbers
            (log scale over more than a decade), a legend for other values.
          ax: the matplotlib Axes to draw on (default: a new figure's).
          individual: also draw every run (seed and fold) as a thin line.

        Returns:
          The Axes.

        Raises:
          ValueError: for a metric without curves or a ``color_by`` that does not vary.
          ImportError: without matplotlib (``pip install 'jaxfit[plot]'``).

        Examples:
          >>> import jaxfit
          >>> ax = jaxfit._sweeping.result._example().plot_curves()  # settings 2 and 3 diverged
          >>> [line.get_gid() for line in ax.lines]
          ['setting-0', 'setting-1', 'setting-2', 'diverged-2', 'setting-3', 'diverged-3']
        """
        from . import figures

        return figures.plot_curves(self, metric, color_by=color_by, ax=ax, individual=individual)

    def plot_score(
        self, param: str | None = None, metric: str | None = None, *, ax: Axes | None = None
    ) -> Axes:
        """The mean score against one hyperparameter, ± :meth:`std` as error bars.

        Log x for log-spaced positive numbers, categorical x for other values. One line per
        value of another varied hyperparameter, or the best over several (said in the title).
        A star marks the best setting; a red cross on the bottom edge, settings that diverged.

        Args:
          param: a varied hyperparameter (default: the first).
          metric: the score (default as in :meth:`ranking`).
          ax: the matplotlib Axes to draw on (default: a new figure's).

        Returns:
          The Axes.

        Raises:
          ValueError: for an unknown metric, or a ``param`` that is unknown or does not vary.
          ImportError: without matplotlib (``pip install 'jaxfit[plot]'``).

        Examples:
          >>> import jaxfit
          >>> ax = jaxfit._sweeping.result._example().plot_score()
          >>> ax.get_xscale(), ax.get_ylabel()
          ('log', 'val_loss (lower is better)')
        """
        from . import figures

        return figures.plot_score(self, param, metric, ax=ax)

    def plot_heatmap(
        self, x: str, y: str, metric: str | None = None, *, ax: Axes | None = None
    ) -> Axes:
        """The mean score over a grid of two hyperparameters (the best over any others).

        Cells are annotated; brighter is better for either direction. Diverged cells are
        hatched red and the best cell is outlined. More than 24 distinct numbers on an axis
        (a random search) are cut into 12 even bins.

        Args:
          x: a varied hyperparameter, along the horizontal axis.
          y: another one, along the vertical axis.
          metric: the score (default as in :meth:`ranking`).
          ax: the matplotlib Axes to draw on (default: a new figure's).

        Returns:
          The Axes.

        Raises:
          ValueError: for an unknown metric, an ``x`` or ``y`` that is unknown or does not
            vary, or ``x == y``.
          ImportError: without matplotlib (``pip install 'jaxfit[plot]'``).

        Examples:
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x = jnp.linspace(-1, 1, 32)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0], momentum=[0.0, 0.9])
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x), jaxfit.Hyperparams(steps=20),
          ...                  space, key=jax.random.key(0))
          >>> r.plot_heatmap("learning_rate", "momentum").images[0].get_array().shape
          (2, 3)
        """
        from . import figures

        return figures.plot_heatmap(self, x, y, metric, ax=ax)

    def save_figures(
        self, directory: str | os.PathLike, *, metric: str | None = None
    ) -> list[pathlib.Path]:
        """Writes the figures as PNG files into ``directory``, creating it; headless.

        ``loss_curves.png``, ``score_vs_<name>.png`` for each varied hyperparameter and, if
        two or more vary, ``heatmap_<x>_<y>.png`` for the first two.

        Args:
          directory: where to write (files of these names are replaced).
          metric: the score (default as in :meth:`ranking`).

        Returns:
          The paths written.

        Raises:
          ValueError: for an unknown metric.
          ImportError: without matplotlib (``pip install 'jaxfit[plot]'``).

        Examples:
          >>> import tempfile, jaxfit
          >>> with tempfile.TemporaryDirectory() as tmp:
          ...     paths = jaxfit._sweeping.result._example().save_figures(tmp)
          >>> [p.name for p in paths]
          ['loss_curves.png', 'score_vs_learning_rate.png']
        """
        from . import figures

        return figures.save_figures(self, directory, metric=metric)

    def _metric(self, metric: str | None) -> str:
        if metric is None:
            for default in ("val_loss", "train_loss"):
                if default in self.metrics:
                    return default
            raise ValueError(
                f"no val_loss or train_loss; pass metric= one of {list(self.metrics)}."
            )
        if metric not in self.metrics:
            raise ValueError(f"unknown metric {metric!r}; available are {list(self.metrics)}.")
        return metric

    def _index(self, index: int) -> int:
        return checked_index("index", index, len(self))
