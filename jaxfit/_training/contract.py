"""The fields a training run reads from a hyperparameter class: declared, and checked once.

A run (``fit``, a sweep's program) reads four fields of the hyperparameters by name; the
default optimizer (:func:`jaxfit.make_optimizer`) and the built-in models read more, and
check those themselves when they are used. :class:`RunFields` declares the four, and
:func:`check_run_fields` checks an instance against it before anything compiles, so a
class that lacks one gets an error naming the field and how to add it, never an
``AttributeError`` from inside a traced program.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Protocol, runtime_checkable

from .._checks import is_int
from .._hp import fields_of

__all__ = ["RUN_FIELDS", "RunFields", "check_run_fields", "steps_of"]


@runtime_checkable
class RunFields(Protocol):
    """What a run reads from the hyperparameters (``jaxfit.Hyperparams`` has all of it).

    Attributes:
      steps: required, static (``jaxfit.static``): the number of optimizer steps, a
        positive int. It sets the length of the compiled loop.
      batch_size: optional, static: the minibatch size, a positive int, or ``None`` for
        full-batch training (the default when the field is absent).
      l2: optional, numeric (``jaxfit.numeric``): the coefficient of the ``l2`` penalty
        (no penalty when the field is absent).
      l2_scaling: optional, static: ``"mean"`` (the default) adds ``l2 * penalty`` to the
        mean loss; ``"sum"`` divides ``l2`` by the training set's total weight and by the
        number of outputs first (so ``l2 = 2 * alpha`` is scikit-learn's ``Ridge(alpha)``
        for any number of outputs).
    """

    steps: int


@dataclasses.dataclass(frozen=True)
class _Rule:
    kind: Literal["static", "numeric"]
    required: bool
    declare: str  # how to declare it, for the error message


RUN_FIELDS: dict[str, _Rule] = {
    "steps": _Rule("static", True, "steps: int = jaxfit.static(500)"),
    "batch_size": _Rule("static", False, "batch_size: int | None = jaxfit.static(None)"),
    "l2": _Rule("numeric", False, "l2: float = jaxfit.numeric(0.0, ge=0.0)"),
    "l2_scaling": _Rule("static", False, 'l2_scaling: str = jaxfit.static("mean")'),
}


def check_run_fields(hp: Any) -> None:
    """Checks ``hp`` against :class:`RunFields`: present where required, declared with the
    right kind (static or numeric), and with allowed static values.

    Raises:
      TypeError: a required field is missing, or a field is declared with the wrong kind.
      ValueError: a static field holds a value a run cannot use.
    """
    cls = type(hp).__name__
    spec = fields_of(hp)
    for name, rule in RUN_FIELDS.items():
        declared = name in spec.static or name in spec.numeric
        if not declared:
            if rule.required:
                raise TypeError(
                    f"{cls} has no field {name!r}, which every training run reads; add "
                    f"`{rule.declare}` to the class, or subclass jaxfit.Hyperparams (which "
                    "declares every standard field)."
                )
            continue
        if (name in spec.static) != (rule.kind == "static"):
            why = (
                "it changes the compiled program, so it must be static"
                if rule.kind == "static"
                else "it is a number the program reads, so it must be a numeric leaf"
            )
            raise TypeError(
                f"{cls}.{name} is declared {'numeric' if rule.kind == 'static' else 'static'}, "
                f"but {why}: declare it as `{rule.declare}`."
            )
    steps = hp.steps
    if not is_int(steps) or steps < 1:
        raise ValueError(f"{cls}.steps must be a positive int; got {steps!r}.")
    bs = getattr(hp, "batch_size", None)
    if bs is not None and (not is_int(bs) or bs < 1):
        raise ValueError(f"{cls}.batch_size must be a positive int or None; got {bs!r}.")
    scaling = getattr(hp, "l2_scaling", "mean")
    if scaling not in ("mean", "sum"):
        raise ValueError(f"{cls}.l2_scaling must be 'mean' or 'sum'; got {scaling!r}.")


def steps_of(hp: Any) -> int:
    """``hp.steps`` after :func:`check_run_fields` (the run's horizon)."""
    check_run_fields(hp)
    return int(hp.steps)
