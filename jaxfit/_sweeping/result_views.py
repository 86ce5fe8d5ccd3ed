"""Plain views of a ``SweepResult``: per-run records, the summary table, the divergence message."""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

import numpy as np

from .._training import CAUSES

if TYPE_CHECKING:
    from .result import SweepResult

# The optimizers that choose their own step sizes: "lower the learning rate" means nothing.
_NO_LEARNING_RATE = ("lbfgs", "newton")
_AT_START = (
    "a divergence at step 0 with a non-finite loss at the initial parameters comes before "
    "any update, so no optimizer setting causes it; check the data for "
    "extreme values (a loss that overflows) and labels outside the model's classes, then "
    "the model, its initialisation and the loss"
)
_STEP_SIZE = (
    "lower the learning rate (or the top of its search range), add warm-up or gradient "
    "clipping, and check the data for extreme values"
)
_OWN_STEPS = (
    "{names} {verb} no learning rate to lower (the steps come from the curvature): raise l2 "
    "(without it a separable classification problem has no finite optimum), standardise "
    "the inputs, and use 'newton' only on convex models (linear, logistic, "
    "softmax_regression), whose Hessian is positive definite"
)


_RECORD_KEYS = ("setting", "seed", "fold", "diverged", "diverged_step", "cause")


def records(r: SweepResult) -> list[dict[str, Any]]:
    """One plain dict per (setting, seed); see ``SweepResult.to_records``."""
    names = [*_RECORD_KEYS, *r.hyperparams[0], *r.metrics]
    clash = sorted(n for n, c in collections.Counter(names).items() if c > 1)
    if clash:
        raise ValueError(
            f"to_records: the names {clash} are used more than once (as hyperparameter fields, "
            f"metrics or the record keys {list(_RECORD_KEYS)})."
        )
    return [
        {
            "setting": i,
            "seed": s // r.folds,
            **({"fold": s % r.folds} if r.folds > 1 else {}),
            **r.hyperparams[i],
            **{m: float(v[i, s]) for m, v in r.metrics.items()},
            "diverged": bool(r.diverged[i, s]),
            "diverged_step": int(r.diverged_step[i, s]),
            "cause": CAUSES[int(r.cause[i, s])],
        }
        for i in range(len(r))
        for s in range(r.seeds * r.folds)
    ]


def summary_text(r: SweepResult, k: int, metric: str) -> str:
    """The table of the ``k`` best settings by ``metric``, divergence counts, group timings."""
    better = "higher" if r.greater_is_better[metric] else "lower"
    folds = f" x {r.folds} folds" if r.folds > 1 else ""
    lines = [f"{len(r)} settings x {r.seeds} seeds{folds}, ranked by {metric} ({better} is better)"]
    order = r.ranking(metric)
    if order.size == 0:
        lines.append(f"no setting can be ranked: {no_ranking_text(r, metric)}")
    else:
        mean, std = r.mean(metric), r.std(metric)
        head = ["rank", "setting", *r.varied, metric]
        rows = [
            [str(rank + 1), str(i), *(_fmt(r.hyperparams[i][f]) for f in r.varied),
             f"{mean[i]:.4g} ± {std[i]:.2g}"]
            for rank, i in enumerate(order[:k])
        ]  # fmt: skip
        widths = [max(len(c) for c in col) for col in zip(head, *rows, strict=True)]
        for row in (head, *rows):
            lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if order.size > k:
            lines.append(f"... and {order.size - k} more ranked settings")
    n_div = int(r.diverged.any(axis=1).sum())
    lines.append(f"diverged: {n_div} of {len(r)} settings{_cause_text(r)}")
    labels = _group_labels([g.static_key for g in r.groups])
    for g, (grp, label) in enumerate(zip(r.groups, labels, strict=True)):
        lines.append(
            f"group {g}{label}: {grp.indices.size} settings, compile {grp.compile_s:.2f} s, "
            f"run {grp.run_s:.2f} s, {grp.n_chunks} chunk(s) of {grp.chunk_size} rows"
        )
    return "\n".join(lines)


def no_ranking_text(r: SweepResult, metric: str) -> str:
    """Why no setting can be ranked: how many diverged, by cause, and what to try."""
    n, n_div = len(r), int(r.diverged.any(axis=1).sum())
    if n_div == n:
        return f"all {n} settings diverged{_cause_text(r)}; {divergence_advice(r)}."
    return (
        f"no setting has a finite mean {metric}: {n_div} of {n} settings diverged"
        f"{_cause_text(r)} and the other {n - n_div} have non-finite scores."
    )


def divergence_advice(r: SweepResult) -> str:
    """What to try about the diverged settings, from when they diverged and their optimizer.

    A setting that diverged at step 0 with a non-finite loss at its initial parameters
    failed before any update (the data, the model or the loss); the others failed in an
    update (a first one included), which for a first-order optimizer points at its
    learning rate, and for ``"lbfgs"`` or ``"newton"`` (no learning rate) at the problem:
    no penalty, unscaled inputs, a non-convex model.
    """
    diverged = r.diverged.any(axis=1)
    first = (
        r.train_curves[..., 0] if r.train_curves.shape[-1] else np.full(r.diverged.shape, np.nan)
    )
    before_update = r.diverged & (r.diverged_step == 0) & ~np.isfinite(first)
    at_start = before_update.any(axis=1)
    later = np.flatnonzero(diverged & ~at_start)
    optimizers = {r.hyperparams[i].get("optimizer") for i in later}
    own = sorted(o for o in optimizers if o in _NO_LEARNING_RATE)
    parts = []
    if at_start.any():
        parts.append(_AT_START)
    if optimizers - set(own):
        parts.append(_STEP_SIZE)
    if own:
        names, verb = " and ".join(map(repr, own)), "have" if len(own) > 1 else "has"
        parts.append(_OWN_STEPS.format(names=names, verb=verb))
    return "; ".join(parts) if parts else _STEP_SIZE


def _cause_text(r: SweepResult) -> str:
    """`` (nan: 1, explode: 2)``: diverged settings counted by their earliest seed's cause."""
    step = np.where(r.diverged, r.diverged_step, np.iinfo(np.int64).max)
    first = np.argmin(step, axis=1)
    causes = np.where(r.diverged.any(axis=1), r.cause[np.arange(len(r)), first], 0)
    counts = [(name, int(np.sum(causes == c))) for c, name in enumerate(CAUSES) if c > 0]
    text = ", ".join(f"{name}: {count}" for name, count in counts if count)
    return f" ({text})" if text else ""


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _group_labels(keys: list[tuple]) -> list[str]:
    """Per group, `` (field=value, ...)`` over the static fields that differ between groups."""
    try:
        fields = [dict(k[1]) for k in keys]
    except (TypeError, ValueError, IndexError):  # not a jaxfit.static_key: no labels
        return [""] * len(keys)
    names = [f for f in fields[0] if len({repr(d.get(f)) for d in fields}) > 1]
    return [f" ({', '.join(f'{f}={d.get(f)!r}' for f in names)})" if names else "" for d in fields]
