"""Choosing a setting by cross-validation: summaries, paired tests against the best, and the
one-standard-error rule."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._checks import is_int
from .._sweeping import SweepDiverged

__all__ = ["Comparison", "compare_to_best", "one_standard_error", "summarize"]

CORRECTED = "corrected paired t-test (Nadeau & Bengio 2003)"
PAIRED = "paired t-test"


def summarize(scores: Any, *, axis: int | tuple[int, ...] = (1, 2)) -> dict[str, np.ndarray]:
    """Mean, standard deviation and count of finite values of cross-validation scores.

    The standard deviation is the population one (``ddof=0``) over all seeds x folds, as
    scikit-learn's ``cv_results_["std_test_score"]`` (``SweepResult.std`` uses ``ddof=1``).
    A non-finite cell (a diverged seed or fold) makes its setting's ``mean`` and ``std``
    non-finite too, so a diverged setting never looks good; ``n`` says how many were finite.

    Args:
      scores: ``(N, S, F)`` real scores: settings x seeds x folds. An ``(N, S)`` array
        (such as ``SweepResult.metrics["val_loss"]``) is read as ``F = 1``.
      axis: the axes of ``(N, S, F)`` to reduce; the default pools seeds and folds.

    Returns:
      ``{"mean", "std", "n"}``: float, float and int arrays, ``(N,)`` for the default axis.

    Raises:
      TypeError: if ``scores`` is not real-valued or ``axis`` is not an int or tuple of ints.
      ValueError: for a wrong number of dimensions, an empty array or a bad ``axis``.

    Examples:
      >>> import numpy as np, jaxfit
      >>> s = jaxfit.summarize(np.array([[[0.8, 0.9], [0.7, np.nan]], [[0.6, 0.6], [0.6, 0.6]]]))
      >>> s["mean"].round(3).tolist(), s["std"].round(3).tolist(), s["n"].tolist()
      ([nan, 0.6], [nan, 0.0], [3, 4])
    """
    a = _scores("summarize", scores)
    axes: Any = (axis,) if is_int(axis) else axis
    if not isinstance(axes, tuple) or not all(is_int(x) for x in axes):
        raise TypeError(f"summarize: axis={axis!r} must be an int or a tuple of ints.")
    axes = tuple(int(x) for x in axes)
    if not axes or any(not -3 <= x < 3 for x in axes) or len({x % 3 for x in axes}) < len(axes):
        raise ValueError(
            f"summarize: axis={axis!r} must name distinct axes of (N, S, F), each in -3..2; "
            "the default (1, 2) pools seeds and folds."
        )
    with np.errstate(invalid="ignore"):  # inf - inf in std: the NaN is the answer
        return {"mean": a.mean(axis=axes), "std": a.std(axis=axes), "n": np.isfinite(a).sum(axes)}


@dataclasses.dataclass(frozen=True, eq=False)
class Comparison:
    """Every setting compared with the best one, as :func:`jaxfit.compare_to_best` returns.

    Arrays are ``(N,)`` over all settings, read-only.

    Attributes:
      best: the index of the best setting (best mean among settings with all cells finite).
      order: the ranked setting indices, best first; non-finite settings are left out.
      mean: the mean score over seeds x folds.
      std: the standard deviation over seeds x folds (``ddof=0``, see :func:`summarize`).
      diff_mean: mean paired difference, oriented so that positive means the best is better
        (0 for the best, NaN where not compared).
      t: the t statistic (NaN where not tested; +inf for a constant, nonzero difference).
      p_value: one-sided p-value for "the best is better" (NaN where not tested).
      indistinguishable: True for the best and each tested setting with ``p_value >= alpha``;
        False wherever no test could run.
      status: per setting, ``"best"``, ``"tested"``, ``"untestable"`` (fewer than 2 paired
        cells), ``"non-finite"`` (a NaN or inf cell, e.g. a diverged seed: not ranked) or
        ``"not compared"`` (ranked below ``candidates``).
      alpha: the significance level used.
      method: ``"corrected paired t-test (Nadeau & Bengio 2003)"`` or ``"paired t-test"``.
      greater_is_better: the direction of the scores.
      n_pairs: ``J = S * F``, the paired (seed, fold) cells per comparison.
      test_fraction: ``n_test / n_train`` of the correction, or ``None``.

    Examples:
      >>> import numpy as np, jaxfit
      >>> c = jaxfit.compare_to_best(np.ones((2, 1, 3)), greater_is_better=True)
      >>> c.best, c.status.tolist(), c.p_value.tolist()
      (0, ['best', 'tested'], [nan, 1.0])
    """

    best: int
    order: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    diff_mean: np.ndarray
    t: np.ndarray
    p_value: np.ndarray
    indistinguishable: np.ndarray
    status: np.ndarray
    alpha: float
    method: str
    greater_is_better: bool
    n_pairs: int
    test_fraction: float | None

    def __repr__(self) -> str:
        near = f"{int(self.indistinguishable.sum())} of {self.mean.size} settings ≈ best"
        return f"Comparison(best={self.best}, {near}, {self.method}, alpha={self.alpha})"

    def table(self, names: Sequence[str] | None = None, k: int = 10) -> str:
        """A fixed-width table of the ``k`` best-ranked settings and their tests.

        Columns: rank, setting (its name or index), mean ± std, Δ vs best (the setting's
        mean minus the best's, in score units), p, and ``≈ best`` where the setting is
        indistinguishable from the best. Lines below count what is not shown.

        Args:
          names: ``N`` setting names (e.g. ``"lr=0.1"``); default the indices.
          k: how many ranked settings to show (>= 1).

        Returns:
          A multi-line string.

        Raises:
          TypeError: if ``names`` is not a sequence of ``N`` strings.
          ValueError: for ``k < 1`` or a wrong number of names.

        Examples:
          >>> import numpy as np, jaxfit
          >>> scores = np.array([[[0.90, 0.80, 0.85]], [[0.91, 0.82, 0.86]], [[0.5, 0.4, 0.6]]])
          >>> c = jaxfit.compare_to_best(scores, greater_is_better=True)
          >>> print(c.table(names=["a", "b", "c"]))
          3 settings x 3 paired cells, higher is better; paired t-test, alpha=0.05
          rank  setting      mean ± std  Δ vs best      p
             1        b  0.8633 ± 0.037          0      —  ≈ best
             2        a    0.85 ± 0.041   -0.01333  0.029
             3        c     0.5 ± 0.082    -0.3633  0.010
        """
        n = self.mean.size
        if not is_int(k) or k < 1:
            raise ValueError(f"table: k={k!r} must be an int >= 1.")
        if isinstance(names, str) or not all(isinstance(x, str) for x in names or ()):
            raise TypeError(f"table: names={names!r:.80} must be a sequence of {n} strings.")
        names = [str(i) for i in range(n)] if names is None else list(names)
        if len(names) != n:
            raise ValueError(f"table: got {len(names)} names for {n} settings; pass one each.")
        better = "higher" if self.greater_is_better else "lower"
        lines = [
            f"{n} settings x {self.n_pairs} paired cells, {better} is better; "
            f"{self.method}, alpha={self.alpha:g}"
        ]
        head = ["rank", "setting", "mean ± std", "Δ vs best", "p", ""]
        rows = [
            [str(r + 1), names[i], f"{self.mean[i]:.4g} ± {self.std[i]:.2g}",
             f"{self.mean[i] - self.mean[self.best]:.4g}", _fmt_p(float(self.p_value[i])),
             "≈ best" if self.indistinguishable[i] else ""]
            for r, i in enumerate(self.order[:k])
        ]  # fmt: skip
        widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]
        for row in (head, *rows):
            lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if self.order.size > k:
            lines.append(f"... and {self.order.size - k} more ranked settings")
        for status, why in [
            ("non-finite", "not ranked, a NaN or inf score (e.g. a diverged seed)"),
            ("untestable", "no test, fewer than 2 paired cells"),
            ("not compared", "not compared, ranked below candidates"),
        ]:
            idx = np.flatnonzero(self.status == status)
            shown = [names[int(i)] for i in idx[:10]] + ["..."] * (idx.size > 10)
            if idx.size:
                lines.append(f"{why}: {idx.size} setting(s) ({', '.join(shown)})")
        return "\n".join(lines)


def compare_to_best(
    scores: Any,
    *,
    greater_is_better: bool,
    alpha: float = 0.05,
    test_fraction: float | None = None,
    candidates: int | None = None,
) -> Comparison:
    """Which settings are statistically indistinguishable from the best by cross-validation?

    Settings whose cells are all finite are ranked by mean score; the best is compared with
    each of the top ``candidates`` by a paired test over their ``J = S * F`` shared
    (seed, fold) cells, on the differences ``d`` oriented so that positive means the best is
    better. With ``test_fraction = n_test / n_train`` it is the corrected resampled t-test
    of Nadeau & Bengio, ``t = mean(d) / sqrt((1 / J + n_test / n_train) * var(d, ddof=1))``
    with ``J - 1`` degrees of freedom. For ``k``-fold CV repeated over
    seeds (Bouckaert & Frank), ``test_fraction = 1 / (k - 1)``. Without it, the standard
    paired t-test (correction 0) is used; but the training sets of CV folds overlap, so the
    differences are correlated and the uncorrected test is anti-conservative (it calls
    settings different too often), which is why the correction exists. The p-value is
    one-sided (that the best is better); settings with ``p >= alpha`` are indistinguishable.
    A constant difference has ``var(d) = 0``: ``p = 1`` if it is 0 (identical settings),
    else ``p = 0``. A setting with any non-finite cell (a diverged seed or fold) is left out
    and marked ``"non-finite"``; with ``J < 2`` nothing can be tested (``"untestable"``).

    Args:
      scores: ``(N, S, F)`` real scores: settings x seeds x folds, cells paired across
        settings (same seed and fold split). An ``(N, S)`` array is read as ``F = 1``.
      greater_is_better: True for scores such as accuracy, False for losses.
      alpha: the significance level, in (0, 1).
      test_fraction: ``n_test / n_train`` per fold (> 0) for the correction, or ``None``.
      candidates: how many top-ranked settings (the best included) to compare; default all.

    Returns:
      A :class:`jaxfit.Comparison`; print its ``.table()`` to read it.

    Raises:
      TypeError: for non-real ``scores`` or a non-bool ``greater_is_better``.
      ValueError: for a wrong shape or argument, or if no setting has only finite scores.

    References:
      C. Nadeau and Y. Bengio, "Inference for the Generalization Error", Machine Learning
      52, 239-281, 2003. R. R. Bouckaert and E. Frank, "Evaluating the Replicability of
      Significance Tests for Comparing Learning Algorithms", PAKDD 2004.

    Examples:
      >>> import numpy as np, jaxfit
      >>> rng = np.random.default_rng(0)  # 3 settings x 2 seeds x 5 folds of accuracy
      >>> scores = np.array([0.90, 0.899, 0.80])[:, None, None] + 0.01 * rng.normal(size=(3, 2, 5))
      >>> c = jaxfit.compare_to_best(scores, greater_is_better=True, test_fraction=1 / 4)
      >>> c.best, c.order.tolist(), c.indistinguishable.tolist()
      (0, [0, 1, 2], [True, True, False])
    """
    a = _scores("compare_to_best", scores)
    if not isinstance(greater_is_better, bool | np.bool_):
        raise TypeError(f"compare_to_best: greater_is_better={greater_is_better!r} must be a bool.")
    if not _real(alpha) or not 0 < alpha < 1:
        raise ValueError(f"compare_to_best: alpha={alpha!r} must be a number in (0, 1).")
    if test_fraction is not None and (not _real(test_fraction) or not 0 < test_fraction < np.inf):
        raise ValueError(
            f"compare_to_best: test_fraction={test_fraction!r} must be n_test / n_train > 0 "
            "(1 / (k - 1) for k-fold CV), or None for the uncorrected paired t-test."
        )
    if candidates is not None and (not is_int(candidates) or candidates < 1):
        raise ValueError(f"compare_to_best: candidates={candidates!r} must be an int >= 1 or None.")
    n, j = a.shape[0], a.shape[1] * a.shape[2]
    flat = a.reshape(n, j)
    sign = 1.0 if greater_is_better else -1.0
    summary = summarize(flat[:, :, None])
    mean, std = summary["mean"], summary["std"]
    ok = np.flatnonzero(np.isfinite(flat).all(axis=1))
    if ok.size == 0:
        raise ValueError(
            f"compare_to_best: none of the {n} settings has finite scores in all {j} "
            "(seed, fold) cells, so none can be ranked; check for diverged runs."
        )
    order = ok[np.argsort(-sign * mean[ok], kind="stable")]
    best, tested = int(order[0]), order[1:candidates]
    status = np.full(n, "non-finite", dtype=object)
    status[order] = "not compared"
    status[tested] = "tested" if j >= 2 else "untestable"
    status[best] = "best"
    diff_mean, t, p = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    d = sign * (flat[best] - flat[tested])  # (len(tested), J), > 0 where the best is better
    diff_mean[tested], diff_mean[best] = d.mean(axis=1), 0.0
    if j >= 2:
        t[tested], p[tested] = _corrected_t(d, 0.0 if test_fraction is None else test_fraction)
    indistinguishable = np.zeros(n, bool)
    indistinguishable[tested] = p[tested] >= alpha
    indistinguishable[best] = True
    arrays = [order, mean, std, diff_mean, t, p, indistinguishable, status.astype(str)]
    for x in arrays:
        x.setflags(write=False)
    return Comparison(
        best, *arrays, alpha=float(alpha), method=PAIRED if test_fraction is None else CORRECTED,
        greater_is_better=bool(greater_is_better), n_pairs=j,
        test_fraction=None if test_fraction is None else float(test_fraction),
    )  # fmt: skip


def one_standard_error(param: str, *, prefer: str = "low") -> Callable[[dict], int]:
    """A ``refit`` rule: the simplest setting within one standard error of the best.

    Among the settings whose mean test score is at least the best mean minus the best's
    standard error (its ``std_test_score / sqrt(n_splits)``), picks the one with the lowest
    (``prefer="low"``) or highest value of ``param`` — e.g. the largest penalty, or the
    fewest steps.

    Args:
      param: the hyperparameter that orders settings by simplicity.
      prefer: ``"low"`` or ``"high"``: which end of ``param`` is simpler.

    Returns:
      A callable ``cv_results_ -> index`` for ``refit=``.

    References:
      Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*, 2nd ed.,
      section 7.10 (the "one-standard-error rule").

    Examples:
      >>> import numpy as np, jaxfit
      >>> rule = jaxfit.one_standard_error("l2", prefer="high")
      >>> results = {"params": [{"l2": 0.1}, {"l2": 1.0}, {"l2": 10.0}],
      ...            "mean_test_score": np.array([0.90, 0.89, 0.70]),
      ...            "std_test_score": np.array([0.03, 0.03, 0.03]),
      ...            "split0_test_score": 0, "split1_test_score": 0, "split2_test_score": 0}
      >>> rule(results)
      1
    """
    if prefer not in ("low", "high"):
        raise ValueError(f"prefer must be 'low' or 'high'; got {prefer!r}.")

    def rule(cv_results: dict) -> int:
        means = np.asarray(cv_results["mean_test_score"], float)
        stds = np.asarray(cv_results["std_test_score"], float)
        n_splits = sum(
            1 for k in cv_results if k.startswith("split") and k.endswith("_test_score")
            and "_seed" not in k
        )  # fmt: skip
        if not np.isfinite(means).any():
            raise SweepDiverged("no setting has a finite mean test score.")
        best = int(np.nanargmax(means))
        threshold = means[best] - stds[best] / np.sqrt(max(n_splits, 1))
        ok = [i for i, m in enumerate(means) if np.isfinite(m) and m >= threshold]
        values = [cv_results["params"][i].get(param) for i in ok]
        if any(v is None for v in values):
            raise ValueError(f"param {param!r} is not set in every candidate setting.")
        pick = (min if prefer == "low" else max)(range(len(ok)), key=lambda j: values[j])
        return ok[pick]

    return rule


def _corrected_t(d: np.ndarray, test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Nadeau & Bengio's t and one-sided p-value per row of differences ``d`` (rows, J)."""
    j = d.shape[1]
    dm, var = d.mean(axis=1), d.var(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = dm / np.sqrt((1 / j + test_fraction) * var)
        # A constant difference has no noise: a nonzero mean is certain, zero is a tie.
        t = np.where(var == 0, np.where(dm == 0, 0.0, np.sign(dm) * np.inf), t)
    p = np.where((var == 0) & (dm == 0), 1.0, t_sf(t, np.full(t.shape, j - 1.0)))
    return t, p


def t_sf(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """``P(T > t)`` for Student's t with ``df > 0`` degrees of freedom, elementwise, in float64.

    scipy's ``stdtr`` (the t distribution's CDF, which ``scipy.stats.t.sf`` also calls) at
    ``-t``: accurate to float64 rounding for any ``df`` and ``t``, including the far tails
    that a float32 incomplete beta function rounds to 0.

    Args:
      t: t statistics; ``±inf`` give 0 and 1, NaN gives NaN.
      df: degrees of freedom, broadcast against ``t``.

    Returns:
      The upper-tail probabilities, float64, of the broadcast shape.

    Examples:
      >>> import numpy as np
      >>> t_sf(np.array([-np.inf, -2.0, 0.0, 2.0, np.inf]), np.full(5, 5.0)).round(6).tolist()
      [1.0, 0.94903, 0.5, 0.05097, 0.0]
    """
    # Imported here: scipy comes with jax, but `import jaxfit` need not load it.
    from scipy.special import stdtr

    t, df = np.broadcast_arrays(np.asarray(t, np.float64), np.asarray(df, np.float64))
    return np.asarray(stdtr(df, -t), np.float64)


def _scores(fn: str, scores: Any) -> np.ndarray:
    a = np.asarray(scores)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{fn}: scores must be real numbers (int or float); got dtype {a.dtype}.")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.size == 0:
        raise ValueError(
            f"{fn}: scores must be a non-empty (N, S, F) array of settings x seeds x folds "
            f"(or (N, S) with one fold); got shape {np.shape(scores)}."
        )
    return a.astype(np.float64)


def _real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _fmt_p(p: float) -> str:
    return "—" if np.isnan(p) else "<0.001" if p < 0.001 else f"{p:.3f}"
