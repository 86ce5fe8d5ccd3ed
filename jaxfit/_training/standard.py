"""The standard hyperparameter set that built-in models, optimizers and schedules read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import numpy as np
from jax.core import Tracer

from .._hp import hyperparams, numeric, static, to_python
from .models import ACTIVATIONS
from .optim import OPTIMIZERS, SCHEDULES

__all__ = ["ACTIVATIONS", "OPTIMIZERS", "SCHEDULES", "Hyperparams"]


@hyperparams
class Hyperparams:
    """The standard hyperparameters: optimizer, schedule, regularisation and model structure.

    Extend it with your own fields by subclassing (decorate the subclass with
    ``@jaxfit.hyperparams``). Numeric fields are vmappable leaves; static fields decide the
    compiled program, so a sweep compiles once per distinct combination of them.

    Numeric (leaves, swept with ``vmap``, no recompilation):

    - ``learning_rate``: peak step size (``>= 0``).
    - ``momentum``: momentum coefficient of ``"momentum"`` and ``"nesterov"`` (``[0, 1)``).
    - ``b1``, ``b2``: Adam's first and second moment decay rates (``[0, 1)``).
    - ``eps``: Adam's / RMSprop's / Adagrad's denominator constant (``> 0``).
    - ``decay``: RMSprop's squared-gradient decay (``[0, 1)``).
    - ``weight_decay``: weight decay on weight matrices (parameters with ``ndim >= 2``);
      coupled (added to the gradient, as in PyTorch) for every optimizer except
      ``"adamw"``, where it is decoupled (Loshchilov & Hutter, 2019).
    - ``l2``: strength of the penalty ``0.5 * l2 * sum(W**2)`` added to the training loss,
      over weight matrices (parameters with ``ndim >= 2``, not biases); see
      ``l2_scaling``.
    - ``warmup_steps``: linear warm-up length of ``"warmup_cosine"`` (``>= 0``).
    - ``end_factor``: final learning rate of ``"cosine"``/``"warmup_cosine"`` as a fraction
      of ``learning_rate`` (``>= 0``).
    - ``decay_rate``: learning-rate factor of ``"exponential"`` (reached at the last step)
      and of each ``"step"`` drop (``> 0``).
    - ``decay_every``: steps between drops of the ``"step"`` schedule (``> 0``).

    Static (structure, one compile per distinct value):

    - ``optimizer``: one of ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``,
      ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, ``"lbfgs"``, ``"newton"``. ``"lbfgs"``
      (optax's L-BFGS with a zoom line search, for tight convergence on smooth, convex,
      full-batch problems) picks its own step sizes; ``"newton"`` (exact-Hessian Newton
      steps: the closed form for ridge in one step, a few steps for logistic regression;
      small models only) takes full steps. Neither uses ``learning_rate``, and both
      refuse a non-constant schedule and ``weight_decay`` (use ``l2``, which is part of
      the objective they see).
    - ``schedule``: one of ``"constant"``, ``"cosine"``, ``"warmup_cosine"``,
      ``"exponential"``, ``"step"``.
    - ``steps``: number of optimizer steps of a training run (``>= 1``).
    - ``batch_size``: minibatch size, or ``None`` for full-batch training.
    - ``hidden``: hidden layer widths of :func:`jaxfit.mlp` (its depth is ``len(hidden)``).
    - ``activation``: activation of :func:`jaxfit.mlp`.
    - ``degree``: degree of :func:`jaxfit.polynomial`.
    - ``l2_scaling``: ``"mean"`` (default): the objective is ``mean loss + 0.5 * l2 *
      sum(W**2)``, the deep-learning convention. ``"sum"``: the penalty is divided by
      the training set's size ``n`` (its total sample weight, per fold under
      cross-validation) and by the number of outputs ``m`` (``y``'s trailing size: 1
      for ``y`` of shape ``(n,)``, ``m`` for ``(n, m)``; the built-in losses average
      over outputs), ``mean loss + 0.5 * l2 * sum(W**2) / (n * m)``, which is
      scikit-learn's convention up to the constant: ``Ridge(alpha)`` is ``l2 = 2 *
      alpha`` with ``"mse"`` for any number of outputs, and ``LogisticRegression(C)``
      is ``l2 = 1 / C`` with a cross-entropy loss (integer labels: ``m = 1``), whatever
      the fold sizes.

    Examples:
      >>> import jaxfit
      >>> hp = jaxfit.Hyperparams(learning_rate=0.1, optimizer="sgd", steps=200)
      >>> hp.learning_rate, hp.optimizer, hp.steps
      (array(0.1, dtype=float32), 'sgd', 200)
      >>> @jaxfit.hyperparams
      ... class MyConfig(jaxfit.Hyperparams):
      ...     dropout: float = jaxfit.numeric(0.1, ge=0.0, lt=1.0)
      >>> MyConfig(dropout=0.2).dropout
      array(0.2, dtype=float32)
    """

    learning_rate: float = numeric(default=0.01, ge=0.0)
    momentum: float = numeric(default=0.9, ge=0.0, lt=1.0)
    b1: float = numeric(default=0.9, ge=0.0, lt=1.0)
    b2: float = numeric(default=0.999, ge=0.0, lt=1.0)
    eps: float = numeric(default=1e-8, gt=0.0)
    decay: float = numeric(default=0.9, ge=0.0, lt=1.0)
    weight_decay: float = numeric(default=0.0, ge=0.0)
    l2: float = numeric(default=0.0, ge=0.0)
    warmup_steps: float = numeric(default=0.0, ge=0.0)
    end_factor: float = numeric(default=0.0, ge=0.0)
    decay_rate: float = numeric(default=0.1, gt=0.0)
    decay_every: float = numeric(default=100.0, gt=0.0)

    optimizer: str = static(default="adam")
    schedule: str = static(default="constant")
    steps: int = static(default=500)
    batch_size: int | None = static(default=None)
    hidden: tuple[int, ...] = static(default=(64, 64))
    activation: str = static(default="relu")
    degree: int = static(default=2)
    l2_scaling: str = static(default="mean")

    if TYPE_CHECKING:  # added by @hyperparams at runtime; declared here for type checkers

        def replace(self, **changes: Any) -> Self: ...
        def __getitem__(self, index: Any) -> Self: ...
        @property
        def batch_shape(self) -> tuple[int, ...]: ...

    # __check_init__ reads numeric fields only through np.any, so a stacked batch works.
    __check_init_batched__ = True

    def __check_init__(self) -> None:
        name = type(self).__name__
        _one_of(f"{name}.optimizer", self.optimizer, OPTIMIZERS)
        _one_of(f"{name}.schedule", self.schedule, SCHEDULES)
        _one_of(f"{name}.activation", self.activation, ACTIVATIONS)
        _one_of(f"{name}.l2_scaling", self.l2_scaling, ("mean", "sum"))
        _positive(f"{name}.steps", self.steps)
        if self.batch_size is not None:
            _positive(f"{name}.batch_size", self.batch_size)
        for i, width in enumerate(self.hidden):
            _positive(f"{name}.hidden[{i}]", width)
        _positive(f"{name}.degree", self.degree)
        if self.optimizer in ("lbfgs", "newton"):
            how = {"lbfgs": "L-BFGS chooses its step sizes by line search",
                   "newton": "Newton's method takes full steps"}[self.optimizer]  # fmt: skip
            if self.schedule != "constant":
                raise ValueError(
                    f"{name}.schedule={self.schedule!r} with optimizer={self.optimizer!r}: {how} "
                    "(no learning rate); use schedule='constant'."
                )
            wd = self.weight_decay
            if not isinstance(wd, Tracer) and bool(np.any(np.asarray(wd) != 0)):
                raise ValueError(
                    f"{name}.weight_decay={to_python(wd)} with optimizer="
                    f"{self.optimizer!r}: the step would not see the decay; use l2 (a penalty "
                    "in the objective)."
                )


def _one_of(where: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{where}={value!r} is not supported; allowed are {list(allowed)}.")


def _positive(where: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{where}={value!r} must be a positive integer (>= 1).")
