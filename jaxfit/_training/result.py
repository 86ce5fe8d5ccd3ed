"""``FitResult``: what one training run returns, a model's or an objective's."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import numpy as np

from .step import CAUSES

__all__ = ["FitResult"]


@functools.partial(
    jax.tree_util.register_dataclass,
    data_fields=(
        "params", "hp", "train_loss", "val_loss", "metrics", "last_good_metrics",
        "diverged", "diverged_step", "cause", "opt_state",
    ),
    meta_fields=("val_steps",),
)  # fmt: skip
@dataclasses.dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit` (a pytree: ``vmap`` over ``fit`` gives a batched one).

    Attributes:
      params: the trained parameters (:class:`jaxfit.Variables` ``(params, state)`` for a
        stateful model); for a diverged run, the last parameters before the
        failing step.
      hp: the hyperparameters used.
      train_loss: data loss of each step's batch, shape ``(steps,)``; NaN after divergence.
      val_loss: validation loss after every ``eval_every`` steps and at the end, shape
        ``(len(val_steps),)``; empty without a validation set; NaN after divergence.
      val_steps: the step counts at which ``val_loss`` was evaluated.
      metrics: final metrics over the whole data: ``train_loss``, and ``val_loss`` plus
        ``train_<name>`` / ``val_<name>`` for each requested metric; NaN for a diverged
        run, as scikit-learn's ``error_score=np.nan`` reports a failed fit.
      last_good_metrics: the same metrics at ``params``, diverged or not: for a diverged
        run, those of its last parameters before the failing step, which are not a score
        of the setting (they equal ``metrics`` for a run that did not diverge).
      diverged: whether the loss or a gradient became non-finite or exploded.
      diverged_step: the step at which that happened, or -1.
      cause: an index into ``jaxfit.CAUSES`` (``"none"``, ``"nan"``, ``"inf"``,
        ``"explode"``); see :attr:`cause_name`.
      opt_state: the final optimizer state with ``fit(..., keep_opt_state=True)``, else
        ``None`` (with an evaluation transform, :func:`jaxfit.with_eval_params`, ``params``
        are the evaluation parameters, and the training point is recovered from this).

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(-1, 1, 20)
      >>> hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=5.0, steps=50)
      >>> r = jaxfit.fit(jaxfit.linear(), "mse", (x, 2 * x + 1), hp, key=jax.random.key(0))
      >>> bool(r.diverged), r.cause_name, int(r.diverged_step) > 0
      (True, 'explode', True)
      >>> bool(jnp.isnan(r.metrics["train_loss"])), bool(r.last_good_metrics["train_loss"] > 0)
      (True, True)
    """

    params: Any
    hp: Any
    train_loss: jax.Array
    val_loss: jax.Array
    metrics: dict[str, jax.Array]
    last_good_metrics: dict[str, jax.Array]
    diverged: jax.Array
    diverged_step: jax.Array
    cause: jax.Array
    val_steps: tuple[int, ...] = ()
    opt_state: Any = None

    @property
    def cause_name(self) -> Any:
        """The cause as a string (or a numpy array of strings for a batched result)."""
        names = np.asarray(CAUSES)[np.asarray(self.cause)]
        return str(names) if names.ndim == 0 else names
