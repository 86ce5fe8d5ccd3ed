"""``SweepResult``: the frozen, host-side outcome of a sweep over settings and seeds.

With it, ``GroupInfo`` (one compiled group of settings) and ``SweepDiverged`` (nothing can
be ranked). The result's construction-time checks live in ``result_checks.py``, its plain
text views (records, the summary table) in ``result_views.py``, its storage format in
``serialize.py`` and its figures in ``figures.py`` (imported when a figure is drawn, so
that ``import jaxfit`` never loads matplotlib).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from .._checks import checked_index, is_int
from .._hp import numeric_fields, static_key, to_dict
from .._training import CAUSES, Hyperparams
from .result_checks import check_group, check_result
from .result_views import no_ranking_text, records, summary_text
from .serialize import from_files, to_files, write_dir

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["GroupInfo", "SweepDiverged", "SweepResult"]


class SweepDiverged(RuntimeError):
    """Raised by :meth:`SweepResult.best` when no setting can be ranked.

    A setting is ranked only if none of its seeds diverged and its mean score is finite.
    When no setting qualifies there is no "best" to report; the message counts the
    diverged settings by cause (``"nan"``, ``"inf"``, ``"explode"``) and suggests a fix.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
      >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
      >>> space = jaxfit.grid(learning_rate=[10.0, 20.0, 30.0, 40.0])  # all far too large
      >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
      ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
      >>> try:
      ...     r.best()
      ... except jaxfit.SweepDiverged as e:
      ...     print(str(e)[:40])
      all 4 settings diverged (explode: 4); lo
    """


@dataclasses.dataclass(frozen=True, eq=False)
class GroupInfo:
    """One group of settings sharing their static fields, run as one compiled program.

    Attributes:
      static_key: the group's :func:`jaxfit.static_key`.
      indices: ``(n_g,)`` int, the group's setting indices into ``0 .. N-1``.
      compile_s: seconds spent compiling (probe and final program).
      run_s: seconds spent running, compilation excluded.
      chunk_size: rows (setting x seed pairs) per compiled call (0 if every row was
        resumed from a checkpoint).
      n_chunks: the number of compiled calls this run made (0 if all were resumed).
      bytes_per_row: XLA's memory estimate per extra row on a device, or ``None`` if
        unknown (no memory probe ran).
      bytes_per_chunk: XLA's memory estimate of one call on one device (temporaries,
        arguments and outputs), or ``None`` if unknown.

    Examples:
      >>> import numpy as np, jaxfit
      >>> key = ("Hyperparams", (("steps", 50),))
      >>> g = jaxfit.GroupInfo(key, np.arange(4), 1.5, 0.2, 8, 1, None)
      >>> g.indices.tolist(), g.n_chunks
      ([0, 1, 2, 3], 1)
    """

    static_key: tuple
    indices: np.ndarray
    compile_s: float
    run_s: float
    chunk_size: int
    n_chunks: int
    bytes_per_row: float | None
    bytes_per_chunk: float | None = None

    def __post_init__(self) -> None:
        check_group(self)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class SweepResult:
    """The result of a sweep: ``N`` hyperparameter settings, each trained with ``S`` seeds.

    Everything is host numpy, indexed ``[setting, seed]``. A seed *diverged* when its loss
    or a gradient became non-finite or exploded; its ``metrics`` are NaN, as scikit-learn's
    ``error_score=np.nan`` reports a failed fit, so every view (:meth:`cells`, :meth:`mean`,
    :meth:`to_records`, ...) shows NaN for it. The metrics of its last parameters before
    that step stay in ``last_good_metrics``. Ranking (:meth:`ranking`, :meth:`best`) skips
    every setting with *any* diverged seed, so a lucky seed cannot make an unstable setting
    "best".

    :func:`jaxfit.sweep` returns one and :meth:`load` reads a saved one; building one by
    hand, as below, is for results that come from elsewhere.

    Attributes:
      hyperparams: ``N`` dicts, every field of each setting as a plain Python value.
      varied: the field names the search space varied.
      seeds: ``S``, the seeds per setting.
      folds: ``F``, the cross-validation folds per seed (1 without cross-validation). The
        second axis of every per-run array has ``S * F`` cells, seed-major: cell
        ``s * F + f`` is seed ``s``, fold ``f``; means and standard deviations run over all
        cells, and "seed" elsewhere in this class means such a cell.
      metrics: name -> ``(N, S)`` float final metrics (``"train_loss"``, ``"val_loss"``, ...),
        NaN for every diverged seed (the constructor writes NaN there).
      last_good_metrics: name -> ``(N, S)``, the same metrics at the parameters each seed
        ended with: for a diverged seed those of its last parameters before the failing
        step (not a score of the setting), elsewhere equal to ``metrics``. Empty when
        constructing (the default) takes the ``metrics`` passed, before their masking.
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
    last_good_metrics: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

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

    # -- statistics and ranking --------------------------------------------------------

    def cells(self, metric: str | None = None) -> np.ndarray:
        """A metric per setting, seed and fold: ``(N, S, F)`` (``F = 1`` without CV).

        NaN for a diverged run (``last_good_metrics`` keeps what its frozen parameters score).

        Args:
          metric: a metric name (default as in :meth:`ranking`).

        Returns:
          The metric's values reshaped to ``(N, seeds, folds)``.

        Examples:
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> r.cells("val_loss").shape  # one fold: validated on val=, not cross-validated
          (4, 2, 1)
          >>> r.cells("val_loss")[3].ravel().tolist()  # learning rate 10.0 diverged
          [nan, nan]
        """
        values = self.metrics[self._metric(metric)]
        return values.reshape(len(self), self.seeds, self.folds)

    def mean(self, metric: str) -> np.ndarray:
        """Mean of a metric over seeds, ``(N,)``; NaN for a setting with any NaN seed.

        A diverged seed's metrics are NaN, so a setting with a diverged seed has a NaN mean
        (and is never ranked).

        Args:
          metric: a metric name (a key of ``metrics``).

        Returns:
          The float array of per-setting means.

        Examples:
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> print(r.mean("val_loss")[:3].round(3))
          [0.983 0.004 0.01 ]
          >>> float(r.mean("val_loss")[3])  # setting 3 diverged: no score
          nan
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
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> print(r.std("val_loss")[:3].round(4))  # seeds shuffle the batches differently
          [0.0002 0.0001 0.0143]
        """
        cells = self.seeds * self.folds
        return self.metrics[self._metric(metric)].std(axis=1, ddof=1 if cells > 1 else 0)

    def ranking(self, metric: str | None = None) -> np.ndarray:
        """Setting indices, best first, by mean metric over seeds.

        Settings with any diverged seed or a non-finite mean are left out. Ties keep index
        order.

        Args:
          metric: the metric to rank by; default ``"val_loss"`` if present, else
            ``"train_loss"`` (for a sweep of a :class:`jaxfit.Objective`, the first
            metric its ``evaluate`` returns, ``info["rank_by"]``). Its direction comes
            from ``greater_is_better``.

        Returns:
          An int array of setting indices (possibly empty).

        Raises:
          ValueError: for an unknown metric.

        Examples:
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> r.ranking().tolist()  # setting 3 diverged: not ranked
          [1, 2, 0]
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
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> top = r.best()[0]
          >>> top["index"], top["varied"], round(top["mean"], 3)
          (1, {'learning_rate': 0.1}, 0.004)
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

    # -- one setting -------------------------------------------------------------------

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
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> p = r.params(1, seed=0)  # learning rate 0.1 has nearly learned y = 2x + 1
          >>> y = jaxfit.predict(jaxfit.linear(), p, jnp.array([1.0]), r.hp(1))
          >>> y.shape, round(float(y[0, 0]), 1)
          ((1, 1), 2.9)
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
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> r.hp(1).learning_rate, r.hp(1).steps
          (array(0.1, dtype=float32), 40)
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

    # -- views and storage -------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        """One plain, JSON-able dict per (setting, seed), settings outer, seeds inner.

        Returns:
          ``N * S`` dicts ``{"setting", "seed", <every field>, <every metric>, "diverged",
          "diverged_step", "cause"}`` with Python values; ``cause`` is its name. The metrics
          of a diverged run are NaN, as in ``metrics``.

        Raises:
          ValueError: if a field or metric name clashes with another key.

        Examples:
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> rec = r.to_records()[7]  # the last setting's second seed
          >>> rec["setting"], rec["seed"], rec["learning_rate"], rec["cause"], rec["val_loss"]
          (3, 1, 10.0, 'explode', nan)
        """
        return records(self)

    def to_pandas(self) -> Any:
        """The records of :meth:`to_records` as a ``pandas.DataFrame``.

        Returns:
          A DataFrame with ``N * S`` rows.

        Raises:
          ImportError: if pandas is not installed.

        Examples:
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> df = r.to_pandas()
          >>> df.shape[0], int((df["cause"] == "explode").sum())
          (8, 2)
        """
        try:
            import pandas as pd
        except ImportError as e:
            raise ImportError(
                'SweepResult.to_pandas needs pandas: pip install "jaxfit[pandas]"'
            ) from e
        return pd.DataFrame.from_records(records(self))

    def summary(self, k: int = 10, metric: str | None = None) -> str:
        """A readable table of the ``k`` best settings, divergence counts and compile times.

        Args:
          k: how many ranked settings to show (>= 1).
          metric: the metric to rank by (see :meth:`ranking`).

        Returns:
          A multi-line string; when nothing can be ranked it says so instead of raising.

        Examples:
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> print(r.summary())  # doctest: +ELLIPSIS
          4 settings x 2 seeds, ranked by val_loss (lower is better)
          rank  setting  learning_rate          val_loss
             1        1            0.1  0.003561 ± 6e-05
             2        2              1   0.01014 ± 0.014
             3        0           0.01  0.9834 ± 0.00021
          diverged: 1 of 4 settings (explode: 1)
          group 0: 4 settings, compile ... s, run ... s, 1 chunk(s) of 8 rows
        """
        if not is_int(k) or k < 1:
            raise ValueError(f"summary: k={k!r} must be an int >= 1.")
        return summary_text(self, k, self._metric(metric))

    def save(self, path: str | os.PathLike, *, params: bool = True) -> None:
        """Saves the result into directory ``path``, atomically and without pickle.

        Writes ``result.json`` (settings, names, group metadata, ``info``, the parameter tree
        structure) and ``arrays.npz`` (every array, dtypes kept) into a temporary sibling
        directory, then renames it onto ``path``. An earlier saved result at ``path`` is
        replaced; any other existing file or directory is refused. Missing parent directories
        are created. ``base`` is not saved.

        Args:
          path: the directory to write.
          params: whether to save the parameters (if they were kept).

        Raises:
          FileExistsError: if ``path`` exists and is not a saved result.
          TypeError: if a parameter tree holds a node type other than dict (with str keys),
            list, tuple or None; convert it to dicts or pass ``params=False``.

        Examples:
          >>> import os, tempfile, jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> with tempfile.TemporaryDirectory() as tmp:
          ...     r.save(os.path.join(tmp, "sweep"))
          ...     sorted(os.listdir(os.path.join(tmp, "sweep")))
          ['arrays.npz', 'result.json']
        """
        write_dir(path, *to_files(self, params))

    @classmethod
    def load(cls, path: str | os.PathLike, *, base: Any = None) -> SweepResult:
        """Loads a result written by :meth:`save` (arrays read with ``allow_pickle=False``).

        Args:
          path: the directory :meth:`save` wrote.
          base: the base hyperparameter instance, needed by :meth:`hp`.

        Returns:
          The result, equal field by field to the saved one (parameters only if saved).

        Raises:
          FileNotFoundError: if ``path`` holds no saved result.
          ValueError: for a different format or version, or inconsistent contents.

        Examples:
          >>> import os, tempfile, jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> with tempfile.TemporaryDirectory() as tmp:
          ...     r.save(os.path.join(tmp, "sweep"))
          ...     loaded = jaxfit.SweepResult.load(os.path.join(tmp, "sweep"), base=base)
          >>> loaded.ranking().tolist(), loaded.hp(1).optimizer
          ([1, 2, 0], 'sgd')
        """
        fields = from_files(path)
        groups = tuple(GroupInfo(**g) for g in fields.pop("groups"))
        return cls(**fields, groups=groups, base=base)

    # -- figures -----------------------------------------------------------------------

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
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> ax = r.plot_curves()
          >>> [line.get_gid() for line in ax.lines]
          ['setting-0', 'setting-1', 'setting-2', 'setting-3', 'diverged-3']
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
          >>> import jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> ax = r.plot_score()
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
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1], momentum=[0.0, 0.9])
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> ax = r.plot_heatmap("learning_rate", "momentum")
          >>> ax.images[0].get_array().shape  # (momenta, learning rates)
          (2, 2)
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
          >>> import tempfile, jax, jax.numpy as jnp, jaxfit
          >>> x, xv = jnp.linspace(-1, 1, 32), jnp.linspace(-0.9, 0.9, 8)
          >>> base = jaxfit.Hyperparams(optimizer="sgd", steps=40, batch_size=8)
          >>> space = jaxfit.grid(learning_rate=[0.01, 0.1, 1.0, 10.0])  # 10.0 diverges
          >>> r = jaxfit.sweep(jaxfit.linear(), "mse", (x, 2 * x + 1), base, space,
          ...                  key=jax.random.key(0), seeds=2, val=(xv, 2 * xv + 1))
          >>> with tempfile.TemporaryDirectory() as tmp:
          ...     paths = r.save_figures(tmp)
          >>> [p.name for p in paths]
          ['loss_curves.png', 'score_vs_learning_rate.png']
        """
        from . import figures

        return figures.save_figures(self, directory, metric=metric)

    def _metric(self, metric: str | None) -> str:
        if metric is None:
            # An objective's sweep ranks by its evaluate's first metric (recorded in info).
            rank_by = self.info.get("rank_by") if isinstance(self.info, dict) else None
            if isinstance(rank_by, str) and rank_by in self.metrics:
                return rank_by
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


def _example(learning_rates: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0), seeds: int = 2):
    """A small hand-built result for the tests' figures: one group of linear models.

    Its divergence is set rather than trained, so that the tests see both kinds: learning
    rates >= 5 explode at step 3 in every seed, those in (0.5, 5) turn NaN in seed 1 at step
    40. The validation loss is ``0.5 / (1 + 10 * lr) + 0.02 * seed`` (NaN in ``metrics`` for
    the diverged runs, which keep it in ``last_good_metrics``).

    Examples:
      >>> _example().diverged.any(axis=1).tolist()
      [False, False, True, True]
    """
    base, n, lrs = Hyperparams(optimizer="sgd", steps=50), len(learning_rates), learning_rates
    nan, explode = CAUSES.index("nan"), CAUSES.index("explode")
    val = 0.5 / (1 + 10 * np.asarray(lrs)[:, None]) + 0.02 * np.arange(seeds)
    cause = np.array([[explode if lr >= 5 else nan * (0.5 < lr < 5 and s == 1)
                       for s in range(seeds)] for lr in lrs])  # fmt: skip
    step = np.select([cause == explode, cause == nan], [3, 40], -1)
    ones = np.ones((n, seeds, 1), np.float32)
    curves = np.where(np.arange(50) > np.where(step < 0, 50, step)[..., None], np.nan, 1.0)
    return SweepResult(
        tuple(to_dict(base.replace(learning_rate=lr)) for lr in lrs), ("learning_rate",), seeds,
        {"train_loss": val * 0.9, "val_loss": val}, {"train_loss": False, "val_loss": False},
        cause != 0, step, cause, curves, curves[..., [24, 49]], ((25, 50),) * n,
        ({"w": 2 * ones[..., None], "b": ones},),
        (GroupInfo(static_key(base), np.arange(n), 1.5, 0.2, n * seeds, 1, None),),
        {"root_seed": 0}, base,
    )  # fmt: skip
