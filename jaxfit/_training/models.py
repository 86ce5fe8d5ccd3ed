"""Models as pairs of pure functions, ``init(key, x, hp)`` and ``apply(params, x, hp)``,
optionally with non-trained state, a per-step key and a train/eval flag."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ACTIVATIONS",
    "MODELS",
    "Model",
    "Variables",
    "apply_model",
    "init_model",
    "linear",
    "logistic",
    "mlp",
    "polynomial",
    "softmax_regression",
]

_WRAP_HINT = (
    "init(key, x, hp) receives a PRNG key, an example input batch (for its shape and dtype) "
    "and the hyperparameters, and returns the parameter pytree; apply(params, x, hp) returns "
    "predictions of shape (n, k). Ignore the arguments you do not need, e.g. to wrap a flax "
    "model: jaxfit.Model(init=lambda key, x, hp: net.init(key, x), "
    "apply=lambda params, x, hp: net.apply(params, x))."
)


class Variables(NamedTuple):
    """A model's trained parameters and its non-trained state, as one pytree.

    A model whose ``init`` returns ``Variables`` is *stateful*: ``state`` (batch
    statistics, a scaler's means, ...) is carried through training like the parameters but
    is never differentiated, optimised, penalised or decayed; ``apply`` receives it as
    ``state=`` and returns ``(pred, new_state)``. The new state is kept after training
    steps; validation, metrics and :func:`jaxfit.predict` use the state without changing
    it. The results of a stateful model (``FitResult.params``, ``SweepResult.params(i)``)
    are ``Variables``, and :func:`jaxfit.predict` takes them as they are.

    Attributes:
      params: the trained parameters (a pytree).
      state: the non-trained state (a pytree; not ``None``).

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> def init(key, x, hp, weight):  # the mean of the training inputs, as state
      ...     mean = jnp.sum(weight[:, None] * x, 0) / jnp.sum(weight)
      ...     return jaxfit.Variables({"w": jnp.zeros((x.shape[1], 1))}, {"mean": mean})
      >>> def apply(params, x, hp, *, state):
      ...     return (x - state["mean"]) @ params["w"], state
      >>> centred = jaxfit.Model(init, apply, name="centred")
      >>> x = jnp.array([[1.0], [3.0]])
      >>> variables = jaxfit.init_model(centred, jax.random.key(0), x, None, jnp.ones(2))
      >>> variables.state["mean"].tolist()
      [2.0]
    """

    params: Any
    state: Any


@dataclasses.dataclass(frozen=True, eq=False)
class Model:
    """A model: two pure functions configured by the static hyperparameters.

    ``init(key, x, hp) -> params`` builds the parameter pytree (dicts and tuples of
    arrays) from a PRNG key and an example input batch ``x`` (used only for its shape and
    dtype). ``apply(params, x, hp) -> pred`` maps inputs of shape ``(n,)`` or ``(n, d)``
    to predictions of shape ``(n, k)``. Both receive the hyperparameters ``hp`` so that
    static fields (widths, degree, activation) can shape the model; they must not depend
    on numeric fields in ``init``. Weight matrices are the leaves with ``ndim >= 2``:
    ``l2`` and ``weight_decay`` apply to them, not to biases.

    Randomness, modes and state are declared by the signatures, and each is optional:

    - ``init(key, x, hp, weight)``: an ``init`` with a parameter named ``weight`` receives
      the training sample weights ``(n,)`` (a cross-validation fold's mask included), e.g.
      to standardise with the statistics of each fold's own training rows.
    - ``apply(params, x, hp, *, key, train, weight)``: an ``apply`` with a parameter named
      ``key`` gets a fresh PRNG key at every training step (dropout; :func:`jaxfit.step_key`
      says which) and ``None`` outside training; one named ``train`` gets ``True`` in
      training steps and ``False`` for validation, metrics and prediction; one named
      ``weight`` gets the rows' sample weights. Rows of weight 0 are rows the model must
      not learn from (another fold's, a minibatch's padding): a model that computes batch
      statistics must take ``weight`` and leave them out, or its statistics leak the
      held-out fold (jaxfit warns when that can happen).
    - ``init`` returning :class:`jaxfit.Variables` ``(params, state)`` makes the model
      stateful: ``apply`` then takes ``state=`` and returns ``(pred, new_state)``.

    :func:`jaxfit.from_nnx`, :func:`jaxfit.from_linen` and :func:`jaxfit.from_equinox`
    build models from flax and equinox modules as their documentation writes them.

    A ``Model`` is a static argument of compiled functions, so it is hashable, compared by
    the identity of its two functions: build it once and reuse it (a fresh lambda per call
    would recompile).

    Attributes:
      init: ``init(key, x, hp) -> params``.
      apply: ``apply(params, x, hp) -> predictions`` of shape ``(n, k)``.
      name: a label for reports.

    Raises:
      TypeError: when ``init`` or ``apply`` is not callable or cannot take three positional
        arguments, or ``name`` is not a string.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> def init(key, x, hp):
      ...     return {"w": jnp.ones((x.shape[1], 1)), "b": jnp.zeros(1)}
      >>> def apply(params, x, hp):
      ...     return x @ params["w"] + params["b"][None, :]
      >>> model = jaxfit.Model(init=init, apply=apply, name="ones")
      >>> x = jnp.array([[1.0, 2.0]])
      >>> model.apply(model.init(jax.random.key(0), x, None), x, None)
      Array([[3.]], dtype=float32)
    """

    init: Callable[..., Any]
    apply: Callable[..., Any]
    name: str = "model"

    def __post_init__(self) -> None:
        for field, call in (("init", self.init), ("apply", self.apply)):
            _check_three_positional(field, call)
        if not isinstance(self.name, str):
            raise TypeError(f"Model.name={self.name!r} must be a str.")

    @property
    def takes_key(self) -> bool:
        """Whether ``apply`` takes a per-step ``key`` (it has a parameter named ``key``)."""
        return "key" in _parameters(self.apply)

    @property
    def takes_train(self) -> bool:
        """Whether ``apply`` takes the ``train`` flag."""
        return "train" in _parameters(self.apply)

    @property
    def init_takes_weight(self) -> bool:
        """Whether ``init`` takes the training sample ``weight``."""
        return "weight" in _parameters(self.init)

    @property
    def apply_takes_weight(self) -> bool:
        """Whether ``apply`` takes the rows' sample ``weight``."""
        return "weight" in _parameters(self.apply)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model):
            return NotImplemented
        return self.init is other.init and self.apply is other.apply and self.name == other.name

    def __hash__(self) -> int:
        return hash((id(self.init), id(self.apply), self.name))


def init_model(model: Model, key: jax.Array, x: Any, hp: Any, weight: Any = None) -> Any:
    """``model.init``, passing ``weight`` when it takes it (ones when ``weight`` is ``None``).

    Args:
      model: the model.
      key: the initialisation key.
      x: the training inputs (their shape and dtype, or their statistics).
      hp: the hyperparameters.
      weight: the training rows' sample weights, for an ``init`` that takes them.

    Returns:
      The parameters, or :class:`jaxfit.Variables` for a stateful model.

    Raises:
      TypeError: when ``init`` returns ``Variables`` whose state is ``None``, or the model
        is stateful and its ``apply`` has no ``state`` parameter.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> params = jaxfit.init_model(jaxfit.linear(), jax.random.key(0), jnp.ones((3, 2)),
      ...                            jaxfit.Hyperparams())
      >>> params["w"].shape
      (2, 1)
    """
    if model.init_takes_weight:
        if weight is None:
            weight = jnp.ones((jnp.shape(x)[0],), _features_and_dtype_any(x))
        out = model.init(key, x, hp, weight=weight)
    else:
        out = model.init(key, x, hp)
    if isinstance(out, Variables):
        if out.state is None:
            raise TypeError(
                f"model {model.name!r}: init returned jaxfit.Variables with state=None; return "
                "the parameters alone for a model without state."
            )
        if "state" not in _parameters(model.apply):
            raise TypeError(
                f"model {model.name!r}: init returned jaxfit.Variables (a stateful model), so "
                "apply must take the state: apply(params, x, hp, *, state) -> (pred, new_state)."
            )
    return out


def apply_model(
    model: Model,
    variables: Any,
    x: Any,
    hp: Any,
    *,
    key: jax.Array | None = None,
    train: bool = False,
    weight: Any = None,
) -> tuple[Any, Any]:
    """``model.apply`` with what its signature asks for: ``(pred, new_state)``.

    ``variables`` are the parameters, or :class:`jaxfit.Variables` for a stateful model
    (whose new state is returned; ``None`` otherwise). ``key`` is passed to an ``apply``
    that takes one, ``train`` to one that takes the flag, and ``weight`` (the rows'
    sample weights, ones when ``None``) to one that takes it.

    Args:
      model: the model.
      variables: its parameters, or :class:`jaxfit.Variables` for a stateful model.
      x: the inputs.
      hp: the hyperparameters.
      key: the step's key (``None`` outside training).
      train: whether this is a training step.
      weight: the rows' sample weights.

    Returns:
      ``(pred, new_state)``, ``new_state`` ``None`` for a model without state.

    Raises:
      TypeError: a stateful ``apply`` that does not return ``(pred, new_state)`` with the
        state's structure.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> hp, x = jaxfit.Hyperparams(), jnp.ones((3, 2))
      >>> params = jaxfit.init_model(jaxfit.linear(), jax.random.key(0), x, hp)
      >>> pred, state = jaxfit.apply_model(jaxfit.linear(), params, x, hp)
      >>> pred.shape, state
      ((3, 1), None)
    """
    kwargs: dict[str, Any] = {}
    if model.takes_key:
        kwargs["key"] = key
    if model.takes_train:
        kwargs["train"] = train
    if model.apply_takes_weight:
        if weight is None:
            weight = jnp.ones((jnp.shape(x)[0],), _features_and_dtype_any(x))
        kwargs["weight"] = weight
    if not isinstance(variables, Variables):
        if "state" in _parameters(model.apply) and _required(model.apply, "state"):
            raise TypeError(
                f"model {model.name!r}: apply takes a state, but it was given parameters alone; "
                "a stateful model's init returns jaxfit.Variables(params, state), and its "
                "results (FitResult.params) are Variables: pass them as they are."
            )
        return model.apply(variables, x, hp, **kwargs), None
    out = model.apply(variables.params, x, hp, state=variables.state, **kwargs)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"model {model.name!r} is stateful (its init returned jaxfit.Variables), so apply "
            f"must return (pred, new_state); got {type(out).__name__}."
        )
    pred, new_state = out
    if jax.tree.structure(new_state) != jax.tree.structure(variables.state):
        raise TypeError(
            f"model {model.name!r}: apply returned a new state of structure "
            f"{jax.tree.structure(new_state)}, but the state has structure "
            f"{jax.tree.structure(variables.state)}; return the state with the same structure."
        )
    return pred, new_state


@functools.lru_cache(maxsize=1024)
def _parameters_cached(call: Any) -> frozenset[str]:
    try:
        params = inspect.signature(call).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def _parameters(call: Any) -> frozenset[str]:
    """The named parameters of ``call`` (none for a callable without a signature)."""
    try:
        return _parameters_cached(call)
    except TypeError:  # unhashable callable
        return _parameters_cached.__wrapped__(call)


def _required(call: Any, name: str) -> bool:
    try:
        p = inspect.signature(call).parameters[name]
    except (TypeError, ValueError, KeyError):
        return False
    return p.default is p.empty


def _features_and_dtype_any(x: Any) -> Any:
    dtype = jnp.result_type(x)
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)


def _check_three_positional(field: str, call: Any) -> None:
    args = "(key, x, hp)" if field == "init" else "(params, x, hp)"
    if not callable(call):
        raise TypeError(
            f"Model.{field}={call!r:.80} ({type(call).__name__}) is not callable. {_WRAP_HINT}"
        )
    try:
        signature = inspect.signature(call)
    except (TypeError, ValueError):  # builtins and some C extensions: trust the caller
        return
    extras = ("weight",) if field == "init" else ("key", "train", "state", "weight")
    named = {n for n, p in signature.parameters.items() if p.kind is not p.VAR_KEYWORD}
    try:
        signature.bind(None, None, None, **{n: None for n in extras if n in named})
    except TypeError as e:
        raise TypeError(
            f"Model.{field}={call!r:.80} has signature {signature}, which cannot be called as "
            f"{field}{args} ({e}). {_WRAP_HINT}"
        ) from None


# ----------------------------------------------------------------------------- factories


def linear(n_outputs: int = 1) -> Model:
    """Linear regression: ``pred = x @ w + b`` with ``k = n_outputs`` outputs.

    Parameters are ``{"w": (d, k), "b": (k,)}``, initialised to zeros (the least-squares
    objective is convex, so the start does not change the optimum).

    Args:
      n_outputs: the number of outputs ``k`` (a positive int, else TypeError/ValueError).

    Returns:
      The model; equal arguments return the same object, so compiled programs are reused.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> model, hp, x = jaxfit.linear(2), jaxfit.Hyperparams(), jnp.ones((5, 3))
      >>> params = model.init(jax.random.key(0), x, hp)
      >>> params["w"].shape, model.apply(params, x, hp).shape
      ((3, 2), (5, 2))
    """
    return _linear(_positive_int("linear", "n_outputs", n_outputs), "linear")


def polynomial(n_outputs: int = 1) -> Model:
    """Polynomial regression of degree ``hp.degree``, without cross terms.

    The features are ``concatenate([x, x**2, ..., x**degree], axis=1)`` (each column's
    powers, no products of columns), followed by a linear layer. Parameters are
    ``{"w": (d * degree, k), "b": (k,)}``, initialised to zeros. Standardise ``x`` first:
    high powers of large inputs are ill-conditioned.

    Args:
      n_outputs: the number of outputs ``k`` (a positive int, else TypeError/ValueError).

    Returns:
      The model; equal arguments return the same object.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> model, hp, x = jaxfit.polynomial(), jaxfit.Hyperparams(degree=3), jnp.ones(8)
      >>> params = model.init(jax.random.key(0), x, hp)
      >>> params["w"].shape, model.apply(params, x, hp).shape
      ((3, 1), (8, 1))
    """
    return _linear(_positive_int("polynomial", "n_outputs", n_outputs), "polynomial")


def logistic() -> Model:
    """Binary logistic regression: one linear output, the logit of the positive class.

    Parameters are ``{"w": (d, 1), "b": (1,)}``, initialised to zeros; predictions are
    logits of shape ``(n, 1)`` (apply ``jax.nn.sigmoid`` for probabilities).

    Returns:
      The model (always the same object).

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> model, hp, x = jaxfit.logistic(), jaxfit.Hyperparams(), jnp.ones((4, 2))
      >>> model.apply(model.init(jax.random.key(0), x, hp), x, hp).shape
      (4, 1)
    """
    return _linear(1, "logistic")


def softmax_regression(n_classes: int) -> Model:
    """Multinomial logistic regression: a linear map to ``n_classes`` logits.

    Parameters are ``{"w": (d, n_classes), "b": (n_classes,)}``, initialised to zeros.

    Args:
      n_classes: the number of classes (an integer ``>= 2``; use :func:`jaxfit.logistic`
        for a single logit).

    Returns:
      The model; equal arguments return the same object.

    Raises:
      TypeError, ValueError: when ``n_classes`` is not an integer ``>= 2``.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> model, hp, x = jaxfit.softmax_regression(3), jaxfit.Hyperparams(), jnp.ones((4, 2))
      >>> model.apply(model.init(jax.random.key(0), x, hp), x, hp).shape
      (4, 3)
    """
    n = _positive_int("softmax_regression", "n_classes", n_classes)
    if n < 2:
        raise ValueError(
            f"softmax_regression: n_classes={n} must be >= 2; for a binary problem with a "
            "single logit use jaxfit.logistic()."
        )
    return _linear(n, "softmax_regression")


def mlp(n_outputs: int = 1) -> Model:
    """A multilayer perceptron with hidden widths ``hp.hidden`` and activation ``hp.activation``.

    Parameters are a tuple of layers ``{"w": (fan_in, fan_out), "b": (fan_out,)}``, one
    per hidden width plus a linear output layer. Weights are drawn from
    ``normal * sqrt(2 / fan_in)`` (He et al., 2015) before relu, gelu, silu and elu, and
    ``normal * sqrt(1 / fan_in)`` (LeCun) before the other activations and for the output
    layer; biases start at zero. ``"gelu"`` is the exact (erf) form. With
    ``hp.hidden == ()`` the model is linear with a random start.

    Dropout: when the hyperparameter class has a ``dropout`` field (the rate, a numeric
    leaf, so it is swept without recompiling), each hidden layer's output is multiplied
    in training by a fresh mask of ``Bernoulli(1 - dropout) / (1 - dropout)`` (inverted
    dropout: nothing to rescale at evaluation, where no unit is dropped). Declare it as
    ``dropout: float = jaxfit.numeric(0.1, ge=0.0, lt=1.0)`` in a subclass of
    :class:`jaxfit.Hyperparams`; without the field there is no dropout and no random
    number is drawn.

    Args:
      n_outputs: the number of outputs ``k`` (a positive int, else TypeError/ValueError).

    Returns:
      The model; equal arguments return the same object.

    References:
      He et al., 2015, `Delving Deep into Rectifiers <https://arxiv.org/abs/1502.01852>`_.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> model, x = jaxfit.mlp(2), jnp.ones((5, 3))
      >>> hp = jaxfit.Hyperparams(hidden=(16, 8), activation="tanh")
      >>> params = model.init(jax.random.key(0), x, hp)
      >>> [layer["w"].shape for layer in params]
      [(3, 16), (16, 8), (8, 2)]
      >>> model.apply(params, x, hp).shape
      (5, 2)

      With dropout, a training call needs a key; evaluation drops nothing:

      >>> @jaxfit.hyperparams
      ... class Dropout(jaxfit.Hyperparams):
      ...     dropout: float = jaxfit.numeric(0.5, ge=0.0, lt=1.0)
      >>> hp = Dropout(hidden=(16,))
      >>> params = model.init(jax.random.key(0), x, hp)
      >>> a = model.apply(params, x, hp, key=jax.random.key(1), train=True)
      >>> b = model.apply(params, x, hp, key=jax.random.key(2), train=True)
      >>> bool(jnp.allclose(a, b)), bool(jnp.allclose(model.apply(params, x, hp),
      ...                                             model.apply(params, x, hp)))
      (False, True)
    """
    return _mlp(_positive_int("mlp", "n_outputs", n_outputs))


MODELS: dict[str, Callable[..., Model]] = {
    f.__name__: f for f in (linear, polynomial, logistic, softmax_regression, mlp)
}


def _positive_int(fn: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{fn}: {arg}={value!r} ({type(value).__name__}) must be an int.")
    if value < 1:
        raise ValueError(f"{fn}: {arg}={value!r} must be a positive integer (>= 1).")
    return int(value)


# Memoised on validated, normalised arguments: a jit cache keys on the Model object, and
# `linear(True)` must not hit `linear(1)`'s entry before being rejected.
@functools.cache
def _linear(k: int, name: str) -> Model:
    """The linear family; ``"polynomial"`` first expands x into its powers up to hp.degree."""
    degree = (lambda hp: _static(hp, "degree")) if name == "polynomial" else (lambda hp: 1)

    def init(key: jax.Array, x: jax.Array, hp: Any) -> dict[str, jax.Array]:
        del key
        d, dtype = _features_and_dtype(x)
        return {"w": jnp.zeros((d * degree(hp), k), dtype), "b": jnp.zeros((k,), dtype)}

    def apply(params: dict[str, jax.Array], x: jax.Array, hp: Any) -> jax.Array:
        x = _as_matrix(x).astype(params["w"].dtype)
        powers = [x**p for p in range(1, degree(hp) + 1)]
        return _dense(params, jnp.concatenate(powers, axis=1) if len(powers) > 1 else x)

    return Model(init=init, apply=apply, name=name)


@functools.cache
def _mlp(k: int) -> Model:
    def init(key: jax.Array, x: jax.Array, hp: Any) -> tuple[dict[str, jax.Array], ...]:
        d, dtype = _features_and_dtype(x)
        hidden, activation = _static(hp, "hidden"), _static(hp, "activation")
        widths = (d, *hidden, k)
        keys = jax.random.split(key, len(widths) - 1)
        gain = 2.0 if activation in ("relu", "gelu", "silu", "elu") else 1.0
        layers = []
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
            scale = np.sqrt((gain if i < len(hidden) else 1.0) / max(fan_in, 1))
            w = jax.random.normal(keys[i], (fan_in, fan_out), dtype) * jnp.asarray(scale, dtype)
            layers.append({"w": w, "b": jnp.zeros((fan_out,), dtype)})
        return tuple(layers)

    def apply(
        params: tuple[dict[str, jax.Array], ...],
        x: jax.Array,
        hp: Any,
        *,
        key: jax.Array | None = None,
        train: bool = False,
    ) -> jax.Array:
        act = _ACTIVATION_FNS[_static(hp, "activation")]
        h = _as_matrix(x).astype(params[0]["w"].dtype)
        rate = getattr(hp, "dropout", None) if train else None
        keys = None
        if rate is not None:
            if key is None:
                raise ValueError(
                    "mlp: hp.dropout is set, so a training call needs a key: "
                    "apply(params, x, hp, key=..., train=True)."
                )
            keys = jax.random.split(key, max(len(params) - 1, 1))
        for i, layer in enumerate(params[:-1]):
            h = act(_dense(layer, h))
            if keys is not None:
                keep = 1.0 - jnp.asarray(rate, h.dtype)
                mask = jax.random.bernoulli(keys[i], keep, h.shape)
                h = jnp.where(mask, h / keep, jnp.zeros((), h.dtype))
        return _dense(params[-1], h)

    return Model(init=init, apply=apply, name="mlp")


_ACTIVATION_FNS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "gelu": functools.partial(jax.nn.gelu, approximate=False),
    "silu": jax.nn.silu,
    "elu": jax.nn.elu,
    "softplus": jax.nn.softplus,
    "identity": lambda h: h,
}
# The names hp.activation accepts.
ACTIVATIONS = tuple(_ACTIVATION_FNS)


# ----------------------------------------------------------------------------- helpers


def _as_matrix(x: Any) -> jax.Array:
    """Returns ``x`` as ``(n, d)``: ``(n,)`` becomes ``(n, 1)``; other ranks are refused."""
    x = jnp.asarray(x)
    if x.ndim == 1:
        return x[:, None]
    if x.ndim != 2:
        raise ValueError(
            f"x has shape {x.shape}; models take inputs of shape (n,) or (n, d) (a batch of n "
            "examples with d features). Flatten other inputs to (n, d) first, e.g. "
            "x.reshape(len(x), -1)."
        )
    return x


def _features_and_dtype(x: Any) -> tuple[int, Any]:
    """The feature count of ``x`` and the parameter dtype it implies."""
    x = _as_matrix(x)
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)
    return x.shape[1], dtype


def _dense(layer: dict[str, jax.Array], h: jax.Array) -> jax.Array:
    w, b = layer["w"], layer["b"]
    if h.shape[1] != w.shape[0]:
        raise ValueError(
            f"the input has {h.shape[1]} features but the parameters expect {w.shape[0]} "
            f"(w has shape {w.shape}); were they initialised with another x or hp?"
        )
    return h @ w + b[None, :]


def _is_positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


# field -> (check, what is allowed, an example declaration for the error message)
_FIELDS: dict[str, tuple[Callable[[Any], bool], str, str]] = {
    "hidden": (
        lambda v: isinstance(v, tuple) and all(map(_is_positive_int, v)),
        "a tuple of positive ints, e.g. (64, 64)",
        "hidden: tuple[int, ...] = jaxfit.static((64, 64))",
    ),
    "activation": (
        lambda v: v in ACTIVATIONS,
        f"one of {list(ACTIVATIONS)}",
        'activation: str = jaxfit.static("relu")',
    ),
    "degree": (_is_positive_int, "a positive int", "degree: int = jaxfit.static(2)"),
}


def _static(hp: Any, name: str) -> Any:
    """Reads and checks a static field that a built-in model needs (at trace time)."""
    check, allowed, example = _FIELDS[name]
    try:
        value = getattr(hp, name)
    except AttributeError:
        raise TypeError(
            f"this model reads hp.{name}, but {type(hp).__name__} has no field {name!r}. "
            "Subclass jaxfit.Hyperparams (decorated with @jaxfit.hyperparams) or add the "
            f"field to your class, e.g. `{example}`."
        ) from None
    if not check(value):
        raise ValueError(f"hp.{name}={value!r} is not supported: it must be {allowed}.")
    return value
