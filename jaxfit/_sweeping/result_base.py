"""What ``SweepResult`` builds on: its companions, its export methods, an example.

``GroupInfo`` describes one compiled group and ``SweepDiverged`` says that nothing can be
ranked. ``Exports``, the base class of ``SweepResult``, holds the methods that only hand the
result on (records, a DataFrame, the summary table, a saved directory), so that
``_results.py`` keeps the result itself: its fields, statistics, ranking and figures.
``_example`` builds the small result that the docstring examples use.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .._checks import is_int
from .._training import CAUSES
from .result_checks import check_group
from .result_views import records, summary_text
from .serialize import from_files, to_files, write_dir

if TYPE_CHECKING:
    from .result import SweepResult

__all__ = ["Exports", "GroupInfo", "SweepDiverged"]


class SweepDiverged(RuntimeError):
    """Raised by :meth:`SweepResult.best` when no setting can be ranked.

    A setting is ranked only if none of its seeds diverged and its mean score is finite.
    When no setting qualifies there is no "best" to report; the message counts the
    diverged settings by cause (``"nan"``, ``"inf"``, ``"explode"``) and suggests a fix.

    Examples:
      >>> import jaxfit
      >>> r = jaxfit._sweeping.result._example(learning_rates=(10.0, 20.0))  # both diverge
      >>> try:
      ...     r.best()
      ... except jaxfit.SweepDiverged as e:
      ...     print(str(e)[:40])
      all 2 settings diverged (explode: 2); lo
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


class Exports:
    """The export methods of :class:`jaxfit.SweepResult`, its base class."""

    __slots__ = ()

    def to_records(self) -> list[dict[str, Any]]:
        """One plain, JSON-able dict per (setting, seed), settings outer, seeds inner.

        Returns:
          ``N * S`` dicts ``{"setting", "seed", <every field>, <every metric>, "diverged",
          "diverged_step", "cause"}`` with Python values; ``cause`` is its name.

        Raises:
          ValueError: if a field or metric name clashes with another key.

        Examples:
          >>> import jaxfit
          >>> rec = jaxfit._sweeping.result._example().to_records()[5]
          >>> rec["setting"], rec["seed"], rec["cause"], rec["diverged_step"]
          (2, 1, 'nan', 40)
        """
        return records(self)

    def to_pandas(self) -> Any:
        """The records of :meth:`to_records` as a ``pandas.DataFrame``.

        Returns:
          A DataFrame with ``N * S`` rows.

        Raises:
          ImportError: if pandas is not installed.

        Examples:
          >>> import jaxfit
          >>> df = jaxfit._sweeping.result._example().to_pandas()
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
          >>> import jaxfit
          >>> print(jaxfit._sweeping.result._example().summary())
          4 settings x 2 seeds, ranked by val_loss (lower is better)
          rank  setting  learning_rate         val_loss
             1        1            0.1    0.26 ± 0.014
             2        0           0.01  0.4645 ± 0.014
          diverged: 2 of 4 settings (nan: 1, explode: 1)
          group 0: 4 settings, compile 1.50 s, run 0.20 s, 1 chunk(s) of 8 rows
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
          >>> import os, tempfile, jaxfit
          >>> r = jaxfit._sweeping.result._example()
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
          >>> import os, tempfile, jaxfit
          >>> with tempfile.TemporaryDirectory() as tmp:
          ...     path = os.path.join(tmp, "sweep")
          ...     jaxfit._sweeping.result._example().save(path)
          ...     r = jaxfit.SweepResult.load(path, base=jaxfit.Hyperparams())
          >>> r.ranking().tolist(), r.hp(0).optimizer
          ([1, 0], 'sgd')
        """
        fields = from_files(path)
        groups = tuple(GroupInfo(**g) for g in fields.pop("groups"))
        return cast("type[SweepResult]", cls)(**fields, groups=groups, base=base)

    def _metric(self, metric: str | None) -> str:
        raise NotImplementedError  # SweepResult's: the named metric, checked, or the default


def _example(learning_rates: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0), seeds: int = 2):
    """A small hand-built SweepResult for the examples: one group of linear models.

    Learning rates >= 5 explode in every seed, those in (0.5, 5) turn NaN in seed 1 at step
    40; the validation loss is ``0.5 / (1 + 10 * lr) + 0.02 * seed``.

    Examples:
      >>> _example().diverged.any(axis=1).tolist()
      [False, False, True, True]
    """
    from .._hp import static_key, to_dict
    from .._training import Hyperparams
    from .result import SweepResult  # imported here: _results imports this module

    base, n, lrs = Hyperparams(optimizer="sgd", steps=50), len(learning_rates), learning_rates
    nan, explode = CAUSES.index("nan"), CAUSES.index("explode")
    val = 0.5 / (1 + 10 * np.asarray(lrs)[:, None]) + 0.02 * np.arange(seeds)
    cause = np.array([[explode if lr >= 5 else nan * (0.5 < lr < 5 and s == 1)
                       for s in range(seeds)] for lr in lrs])  # fmt: skip
    step = np.select([cause == explode, cause == nan], [3, 40], -1)
    val[cause == nan] = np.nan
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
