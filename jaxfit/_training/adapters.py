"""Models from flax NNX, flax linen and equinox modules, written as their docs write them.

Each adapter returns a :class:`jaxfit.Model` whose ``init`` builds the module from jaxfit's
key and the static hyperparameters, and whose ``apply`` takes the per-step ``key`` (dropout)
and the ``train`` flag (dropout, batch norm), and the ``state`` of a module with batch
statistics, as the Model contract describes. The parameters are plain pytrees (nested dicts
for flax, the module's own pytree for equinox), so ``FitResult.params`` and a sweep's
results can be saved, compared and predicted with like any other.

flax and equinox are optional: they are imported inside the functions, and a missing one
raises an ImportError saying which extra to install.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp

from .models import Model, Variables

__all__ = ["from_equinox", "from_linen", "from_nnx"]

# Adapters are memoised on (kind, the module or factory, options): a jit cache keys on the
# Model object, so building the adapter twice for one factory must give the same Model.
# Values keep the object alive, so an id used for an unhashable one stays unique.
_CACHE: dict[Any, tuple[Any, Model]] = {}


def _cached(kind: str, obj: Any, options: tuple, build: Callable[[], Model]) -> Model:
    try:
        cache_key: Any = (kind, obj, options)
        hash(cache_key)
    except TypeError:
        cache_key = (kind, "id", id(obj), options)
    if cache_key not in _CACHE:
        _CACHE[cache_key] = (obj, build())
    return _CACHE[cache_key][1]


def _import(fn: str, module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f'jaxfit.{fn} needs {extra}, which is not installed: pip install "jaxfit[{extra}]" '
            f"({e})."
        ) from e


def _label(kind: str, obj: Any) -> str:
    """``kind(Name)`` from a class, a named function or an instance's class; ``kind`` alone
    for a lambda."""
    name = getattr(obj, "__name__", None) or type(obj).__name__
    return kind if name == "<lambda>" else f"{kind}({name})"


def _check_name(fn: str, name: Any) -> None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"jaxfit.{fn}: name={name!r} must be a str or None.")


def _check_factory(fn: str, factory: Any, args: tuple[str, ...], example: str) -> None:
    """The factory must be callable with ``args`` positionally; say how otherwise."""
    call = f"factory({', '.join(args)})"
    if not callable(factory):
        raise TypeError(
            f"jaxfit.{fn}: {factory!r:.80} ({type(factory).__name__}) is not callable; pass a "
            f"factory {call} -> module, e.g. {example}."
        )
    try:
        signature = inspect.signature(factory)
        # nnx.Module's metaclass hides the class's own signature behind (*args, **kwargs).
        if isinstance(factory, type) and "__init__" in vars(factory):
            signature = inspect.signature(factory.__init__)
            args = ("self", *args)
    except (TypeError, ValueError):  # a builtin or C callable: trust it
        return
    try:
        signature.bind(*(None for _ in args))
    except TypeError as e:
        raise TypeError(
            f"jaxfit.{fn}: {getattr(factory, '__qualname__', factory)!r:.80} has signature "
            f"{signature}, which cannot be called as {call} ({e}). jaxfit calls the factory "
            f"with the hyperparameters and the initialisation randomness, so that static "
            f"fields can shape the module and each seed starts elsewhere; wrap your module, "
            f"e.g. {example}."
        ) from None


@contextlib.contextmanager
def _traced_values_explained(fn: str, where: str) -> Iterator[None]:
    """Turns JAX's error for a traced value used as a Python value into the fix."""
    try:
        yield
    except jax.errors.ConcretizationTypeError as e:
        raise TypeError(
            f"jaxfit.{fn}: {where} used a traced value where a Python value is needed. Inside "
            "jaxfit's compiled program the numeric hyperparameters (jaxfit.numeric fields: "
            "learning_rate, a dropout rate you declared numeric, ...) are traced arrays, so "
            "they cannot set a layer's size, a dropout rate or a Python branch: declare such "
            "a field static (jaxfit.static(...); one compile per value), or use it in array "
            f"arithmetic only. JAX said: {str(e).splitlines()[0]}"
        ) from e


def _call_parameters(module: Any) -> frozenset[str]:
    """The named parameters of a module's ``__call__``."""
    try:
        params = inspect.signature(type(module).__call__).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


def _binds(call: Any, n: int) -> bool:
    """Whether ``call`` takes ``n`` positional arguments (``True`` when it has no signature)."""
    try:
        inspect.signature(call).bind(*(None for _ in range(n)))
    except TypeError:
        return False
    except ValueError:
        return True
    return True


def _check_call(fn: str, name: str, module: Any, n_positional: int, passed: set[str]) -> None:
    """Refuses a ``__call__`` that requires arguments jaxfit does not pass."""
    try:
        parameters = list(inspect.signature(type(module).__call__).parameters.values())[1:]
    except (TypeError, ValueError):
        return
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    missing = [
        p.name
        for p in parameters
        if p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and not (p in positional and positional.index(p) < n_positional)
        and p.name not in passed
    ]
    if missing:
        given = ["x", "state"][:n_positional] + sorted(f"{n}=..." for n in passed)
        raise TypeError(
            f"jaxfit.{fn} ({name!r}): {type(module).__name__}.__call__ requires "
            f"{', '.join(map(repr, missing))}, which jaxfit does not pass: it calls "
            f"module({', '.join(given)}). Give {'them' if len(missing) > 1 else 'it'} a "
            "default, or build what it provides into the module (e.g. rngs=rngs at "
            "construction for dropout)."
        )


def _mode_kwargs(parameters: frozenset[str], train: bool) -> dict[str, bool]:
    """``train=`` or ``deterministic=`` for a ``__call__`` that takes one of them."""
    if "train" in parameters:
        return {"train": train}
    if "deterministic" in parameters:
        return {"deterministic": not train}
    return {}


def _same_structure(fn: str, name: str, old: Any, new: Any, what: str) -> None:
    if jax.tree.structure(old) != jax.tree.structure(new):
        raise TypeError(
            f"jaxfit.{fn} ({name!r}): {what} changed structure during a call "
            f"({jax.tree.structure(old)} -> {jax.tree.structure(new)}); jaxfit carries it "
            "through a compiled loop, which needs a fixed structure. Do not create variables "
            "in __call__ (e.g. sow intermediates) in a module you train with jaxfit."
        )


# ------------------------------------------------------------------------------- flax NNX

_NNX_EXAMPLE = "jaxfit.from_nnx(lambda hp, rngs: MLP(2, hp.hidden[0], 1, rngs=rngs))"


def from_nnx(factory: Callable[[Any, Any], Any], *, name: str | None = None) -> Model:
    """A model from a flax NNX module: ``factory(hp, rngs) -> nnx.Module``.

    Write the module as flax's documentation does (``nnx.Linear``, ``nnx.Dropout``,
    ``nnx.BatchNorm``, each given ``rngs=rngs``) and pass a factory that builds it from the
    hyperparameters (read static fields only: widths, depth, dropout rate) and an
    ``nnx.Rngs``. jaxfit calls it with ``nnx.Rngs(key)``, its initialisation key, so every
    seed of a sweep starts from its own weights.

    - Parameters: the module's ``nnx.Param`` variables, as a nested dict
      (``nnx.to_pure_dict``); ``result.params["linear1"]["kernel"]``.
    - State: every other variable but rng streams (``nnx.BatchStat``: batch norm's running
      statistics) is non-trained state; the model then returns
      :class:`jaxfit.Variables` ``(params, state)``. Batch statistics are computed over
      the rows jaxfit passes, rows of weight 0 included (see :func:`jaxfit.from_equinox`).
    - Modes: ``module.train()`` in training steps, ``module.eval()`` for validation,
      metrics and :func:`jaxfit.predict` (dropout off, running statistics used). A
      ``__call__`` with a ``train`` or ``deterministic`` argument also gets it.
    - Randomness: rng streams are not carried. At every training step each rng stream of
      the module (the ``i``-th ``nnx.RngStream`` in ``nnx.iter_graph`` order) starts from
      ``jax.random.fold_in(key, i)`` with count 0, where ``key`` is
      :func:`jaxfit.step_key` of the run's key and the step: dropout differs per step and
      per seed, and a hand-written loop that reseeds the same way trains identically.

    Args:
      factory: ``factory(hp, rngs) -> nnx.Module``; a class whose ``__init__`` takes
        ``(hp, rngs)`` works too.
      name: the model's name in reports (default ``"nnx(<factory name>)"``).

    Returns:
      The model; the same factory and name return the same object, so compiled programs are
      reused.

    Raises:
      ImportError: when flax is not installed.
      TypeError: for a module instance or a class instead of a factory, a factory that
        cannot be called as ``factory(hp, rngs)`` or returns no ``nnx.Module``, a Dropout
        without ``rngs``, a module shaped by a numeric (traced) hyperparameter, or a
        module that draws random numbers outside training.

    Examples:
      >>> from flax import nnx
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> class MLP(nnx.Module):
      ...     def __init__(self, din, dmid, dout, *, rngs):
      ...         self.linear1 = nnx.Linear(din, dmid, rngs=rngs)
      ...         self.dropout = nnx.Dropout(0.1, rngs=rngs)
      ...         self.bn = nnx.BatchNorm(dmid, rngs=rngs)
      ...         self.linear2 = nnx.Linear(dmid, dout, rngs=rngs)
      ...     def __call__(self, x):
      ...         return self.linear2(nnx.relu(self.dropout(self.bn(self.linear1(x)))))
      >>> model = jaxfit.from_nnx(lambda hp, rngs: MLP(2, hp.hidden[0], 1, rngs=rngs))
      >>> x = jnp.linspace(-1, 1, 32).reshape(16, 2); y = x.sum(1)
      >>> hp = jaxfit.Hyperparams(hidden=(8,), steps=20, learning_rate=0.05)
      >>> r = jaxfit.fit(model, "mse", (x, y), hp, key=jax.random.key(0))
      >>> sorted(r.params.params), sorted(r.params.state["bn"])  # Variables(params, state)
      (['bn', 'linear1', 'linear2'], ['mean', 'var'])
      >>> jaxfit.predict(model, r.params, x, hp).shape
      (16, 1)
    """
    nnx = _import("from_nnx", "flax.nnx", "flax")
    _check_name("from_nnx", name)
    if isinstance(factory, nnx.Module):
        raise TypeError(
            f"jaxfit.from_nnx takes a factory (hp, rngs) -> nnx.Module, not a module instance "
            f"({type(factory).__name__}): jaxfit builds the module itself, from each seed's "
            f"key and the static hyperparameters. Write e.g. {_NNX_EXAMPLE}."
        )
    _check_factory("from_nnx", factory, ("hp", "rngs"), _NNX_EXAMPLE)
    label = name or _label("nnx", factory)
    return _cached("nnx", factory, (name,), lambda: _nnx_model(nnx, factory, label))


def _nnx_model(nnx: Any, factory: Callable, name: str) -> Model:
    def build(hp: Any, rngs: Any) -> Any:
        with _traced_values_explained("from_nnx", "the factory"):
            module = factory(hp, rngs)
        if not isinstance(module, nnx.Module):
            raise TypeError(
                f"jaxfit.from_nnx ({name!r}): the factory returned {type(module).__name__}, "
                f"not an nnx.Module; it must build the module, e.g. {_NNX_EXAMPLE}."
            )
        return module

    def split(module: Any) -> tuple[Any, Any, Any, Any]:
        # graphdef, Params, rng streams (re-seeded per step, never carried), other state.
        return nnx.split(module, nnx.Param, nnx.RngState, True)  # True: the rest

    def init(key: jax.Array, x: jax.Array, hp: Any) -> Any:
        del x
        module = build(hp, nnx.Rngs(key))
        _check_call("from_nnx", name, module, 1, set(_mode_kwargs(_call_parameters(module), True)))
        for path, node in nnx.iter_graph(module):
            if isinstance(node, nnx.Dropout) and node.rngs is None and node.rate != 0:
                where = ".".join(map(str, path)) or "the module"
                raise TypeError(
                    f"jaxfit.from_nnx ({name!r}): the nnx.Dropout at {where} was built "
                    "without rngs, so it has no random stream in training. Build it with "
                    "the factory's rngs, as flax's docs do: nnx.Dropout(rate, rngs=rngs)."
                )
        _, params, _, state = split(module)
        params, state = nnx.to_pure_dict(params), nnx.to_pure_dict(state)
        return Variables(params, state) if jax.tree.leaves(state) else params

    def apply(
        params: Any,
        x: jax.Array,
        hp: Any,
        *,
        key: jax.Array | None = None,
        train: bool = False,
        state: Any = None,
    ) -> Any:
        # The graph (static) is rebuilt abstractly: nothing of it runs on the device.
        abstract = nnx.eval_shape(lambda: build(hp, nnx.Rngs(0)))
        graphdef, params_abs, rngs_abs, state_abs = split(abstract)
        has_state = bool(jax.tree.leaves(state_abs))
        if has_state and state is None:
            raise TypeError(
                f"jaxfit.from_nnx ({name!r}): the module has non-trained state (batch "
                "statistics), so apply needs it: pass the jaxfit.Variables(params, state) "
                "that init or a fit returned (result.params), not the parameters alone."
            )
        _replace("from_nnx", name, nnx, params_abs, params, "params")
        if has_state:
            _replace("from_nnx", name, nnx, state_abs, state, "state")
        # Variables rebuilt in this trace (tree.map unflattens anew): nnx refuses to
        # mutate a variable created at another trace level (eval_shape's, an outer jit's).
        module = nnx.merge(graphdef, *jax.tree.map(lambda v: v, (params_abs, rngs_abs, state_abs)))
        streams = [s for _, s in nnx.iter_graph(module) if isinstance(s, nnx.RngStream)]
        if train and streams and key is None:
            raise ValueError(
                f"jaxfit.from_nnx ({name!r}): apply(..., train=True) needs a key for the "
                "module's rng streams (dropout); jaxfit passes one at every training step."
            )
        seed = jax.random.key(0) if key is None else key  # outside training: never drawn
        for i, stream in enumerate(streams):
            shape = stream.key.get_value().shape
            stream_key = jax.random.fold_in(seed, i)
            if shape:
                stream_key = jax.random.split(stream_key, shape)
            stream.key.set_value(stream_key)
            stream.count.set_value(jnp.zeros(shape, jnp.uint32))
        counts = [s.count.get_value() for s in streams]
        if train:
            module.train()
        else:
            module.eval()
        with _traced_values_explained("from_nnx", "the module's __call__"):
            pred = module(x, **_mode_kwargs(_call_parameters(module), train))
        if not train and any(
            s.count.get_value() is not c for s, c in zip(streams, counts, strict=True)
        ):
            raise TypeError(
                f"jaxfit.from_nnx ({name!r}): the module drew random numbers outside training "
                "(module.eval() was set, yet an rng stream was used), so its predictions "
                "would not be reproducible. Make the random layers deterministic in eval "
                "mode (nnx.Dropout is), or give __call__ a `train` argument that skips them."
            )
        if not has_state:
            return pred
        new_state = nnx.to_pure_dict(split(module)[3])
        _same_structure("from_nnx", name, state, new_state, "the module's state")
        return pred, new_state

    return Model(init=init, apply=apply, name=name)


def _replace(fn: str, name: str, nnx: Any, abstract: Any, values: Any, what: str) -> None:
    """Fills an abstract ``nnx.State`` with a pure dict, explaining a mismatch."""
    try:
        nnx.replace_by_pure_dict(abstract, values)
        ok = jax.tree.structure(nnx.to_pure_dict(abstract)) == jax.tree.structure(values)
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        raise TypeError(
            f"jaxfit.{fn} ({name!r}): the {what} given to apply do not match the module the "
            f"factory builds from these hyperparameters (expected the structure of "
            f"{jax.tree.structure(nnx.to_pure_dict(abstract))}). Were they trained with "
            "another hp or another factory?"
        )


# ------------------------------------------------------------------------------ flax linen

_LINEN_EXAMPLE = "jaxfit.from_linen(lambda hp: MLP(features=hp.hidden[0]))"


def from_linen(
    module: Any, *, rngs: tuple[str, ...] = ("dropout",), name: str | None = None
) -> Model:
    """A model from a flax linen module, or a factory ``hp -> nn.Module``.

    The parameters are the ``"params"`` collection; every other collection that
    ``module.init`` creates (``"batch_stats"``) is non-trained state, and the model then
    returns :class:`jaxfit.Variables` ``(params, state)`` (batch statistics include rows of
    weight 0: see :func:`jaxfit.from_equinox`). A ``__call__`` with a ``train``
    argument gets ``train=True`` in training steps and ``False`` for validation, metrics
    and :func:`jaxfit.predict`; one with ``deterministic`` gets its negation.

    - ``init``: ``module.init({"params": k1, rngs[0]: k2, ...}, x, train=False)`` with
      ``k1, k2 = jax.random.split(key)`` (further streams ``rngs[i]`` get
      ``fold_in(k2, i)``).
    - Training step: ``module.apply(variables, x, train=True, rngs={rngs[0]: key, ...},
      mutable=[the state's collections])`` with ``key`` the step's key
      (:func:`jaxfit.step_key`; stream ``rngs[i]``, ``i >= 1``, gets ``fold_in(key, i)``).
    - Outside training: no rngs, nothing mutable.

    Args:
      module: a linen ``nn.Module`` instance, or a factory ``hp -> nn.Module`` so that
        static hyperparameters can shape it.
      rngs: the names of the rng streams the module draws from in training (a tuple of
        str; ``("dropout",)`` by default, ``()`` for none).
      name: the model's name in reports (default ``"linen(<module class>)"``).

    Returns:
      The model; the same module (or factory) and options return the same object.

    Raises:
      ImportError: when flax is not installed.
      TypeError: for a module class instead of an instance, a factory that cannot be called
        as ``factory(hp)`` or returns no linen module, a module that draws from an rng
        stream not in ``rngs``, draws randomness or updates its state outside training, or
        uses in training a collection that ``init`` does not create.

    Examples:
      >>> import flax.linen as nn
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> class MLP(nn.Module):
      ...     features: int
      ...     @nn.compact
      ...     def __call__(self, x, train: bool):
      ...         x = nn.Dense(self.features)(x)
      ...         x = nn.BatchNorm(use_running_average=not train)(x)
      ...         x = nn.Dropout(0.1, deterministic=not train)(nn.relu(x))
      ...         return nn.Dense(1)(x)
      >>> model = jaxfit.from_linen(MLP(features=8))
      >>> x = jnp.linspace(-1, 1, 32).reshape(16, 2); y = x.sum(1)
      >>> hp = jaxfit.Hyperparams(steps=20, learning_rate=0.05)
      >>> r = jaxfit.fit(model, "mse", (x, y), hp, key=jax.random.key(0))
      >>> sorted(r.params.params), sorted(r.params.state)
      (['BatchNorm_0', 'Dense_0', 'Dense_1'], ['batch_stats'])
      >>> jaxfit.predict(model, r.params, x, hp).shape
      (16, 1)
    """
    nn = _import("from_linen", "flax.linen", "flax")
    _check_name("from_linen", name)
    if isinstance(rngs, str) or not (
        isinstance(rngs, tuple | list) and all(isinstance(r, str) and r for r in rngs)
    ):
        raise TypeError(
            f"jaxfit.from_linen: rngs={rngs!r} must be a tuple of rng stream names, e.g. "
            '("dropout",) or () for a module without randomness.'
        )
    if "params" in rngs:
        raise ValueError(
            'jaxfit.from_linen: rngs must not name "params": the parameters are initialised '
            'from jaxfit\'s key; list only the streams drawn in training, e.g. ("dropout",).'
        )
    if isinstance(module, type) and issubclass(module, nn.Module):
        raise TypeError(
            f"jaxfit.from_linen takes a module instance or a factory hp -> module, not the "
            f"class {module.__name__}: write jaxfit.from_linen({module.__name__}(...)), or "
            f"{_LINEN_EXAMPLE} to shape it by static hyperparameters."
        )
    if not isinstance(module, nn.Module):
        _check_factory("from_linen", module, ("hp",), _LINEN_EXAMPLE)
    rngs = tuple(rngs)
    label = name or _label("linen", module)
    return _cached("linen", module, (rngs, name), lambda: _linen_model(nn, module, rngs, label))


def _linen_model(nn: Any, module_or_factory: Any, rngs: tuple[str, ...], name: str) -> Model:
    import flax.errors

    def get(hp: Any) -> Any:
        if isinstance(module_or_factory, nn.Module):
            return module_or_factory
        with _traced_values_explained("from_linen", "the factory"):
            module = module_or_factory(hp)
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"jaxfit.from_linen ({name!r}): the factory returned {type(module).__name__}, "
                f"not a flax.linen.Module; it must build the module, e.g. {_LINEN_EXAMPLE}."
            )
        return module

    def streams(key: jax.Array) -> dict[str, jax.Array]:
        return {r: key if i == 0 else jax.random.fold_in(key, i) for i, r in enumerate(rngs)}

    @contextlib.contextmanager
    def explained(phase: str) -> Iterator[None]:
        try:
            with _traced_values_explained("from_linen", "the module"):
                yield
        except flax.errors.InvalidRngError as e:
            found = re.search(r'PRNG for "([^"]+)"', str(e))
            stream = found[1] if found else "?"
            if phase != "eval":  # init and training steps get the streams in `rngs`
                fix = f'list it: jaxfit.from_linen(..., rngs=("{stream}", ...)) (now {rngs!r})'
                raise TypeError(
                    f"jaxfit.from_linen ({name!r}): the module draws from the rng stream "
                    f"{stream!r}, which jaxfit was not told about: {fix}."
                ) from e
            raise TypeError(
                f"jaxfit.from_linen ({name!r}): the module draws from the rng stream "
                f"{stream!r} outside training (validation, metrics, predict), so its "
                "predictions would not be reproducible. Give __call__ a `train` argument and "
                "turn randomness off without it, as flax's docs do: "
                "nn.Dropout(rate, deterministic=not train)."
            ) from e
        except (flax.errors.ModifyScopeVariableError, flax.errors.ScopeCollectionNotFound) as e:
            found = re.search(r'collection "([^"]+)"', str(e))
            collection = found[1] if found else "?"
            if phase == "eval":
                raise TypeError(
                    f"jaxfit.from_linen ({name!r}): the module updates its collection "
                    f"{collection!r} outside training (validation, metrics, predict). Give "
                    "__call__ a `train` argument that switches the update off, as flax's docs "
                    "do: nn.BatchNorm(use_running_average=not train)."
                ) from e
            raise TypeError(
                f"jaxfit.from_linen ({name!r}): the module uses the collection {collection!r} "
                "in training, but module.init (called with train=False) did not create it. "
                "jaxfit trains 'params' and carries as state the collections init creates: "
                "create the variable on every call, not only in training."
            ) from e
        except flax.errors.ScopeParamShapeError as e:
            raise TypeError(
                f"jaxfit.from_linen ({name!r}): the parameters given to apply do not fit "
                f"the module and these inputs (were they trained with another hp or on "
                f"inputs of another width?). flax said: {e}"
            ) from e

    def init(key: jax.Array, x: jax.Array, hp: Any) -> Any:
        module = get(hp)
        params_key, rng_key = jax.random.split(key)
        mode = _mode_kwargs(_call_parameters(module), False)
        _check_call("from_linen", name, module, 1, set(mode))
        with explained("init"):
            variables = module.init({"params": params_key, **streams(rng_key)}, x, **mode)
        variables = dict(variables)
        if "params" not in variables:
            raise TypeError(
                f"jaxfit.from_linen ({name!r}): module.init created no parameters (collections "
                f"{sorted(variables)}); jaxfit trains the 'params' collection."
            )
        params = variables.pop("params")
        return Variables(params, variables) if jax.tree.leaves(variables) else params

    def apply(
        params: Any,
        x: jax.Array,
        hp: Any,
        *,
        key: jax.Array | None = None,
        train: bool = False,
        state: Any = None,
    ) -> Any:
        module = get(hp)
        mode = _mode_kwargs(_call_parameters(module), train)
        variables = {"params": params, **(state or {})}
        if train and rngs and key is None:
            raise ValueError(
                f"jaxfit.from_linen ({name!r}): apply(..., train=True) needs a key for the rng "
                f"streams {rngs}; jaxfit passes one at every training step."
            )
        kwargs: dict[str, Any] = {"rngs": streams(key)} if train and rngs else {}
        with explained("train" if train else "eval"):
            if state is None:
                return module.apply(variables, x, **mode, **kwargs)
            mutable = sorted(state) if train else False
            out = module.apply(variables, x, **mode, **kwargs, mutable=mutable)
        if not train:
            return out, state
        pred, updates = out
        new_state = {**state, **dict(updates)}
        _same_structure("from_linen", name, state, new_state, "the module's state")
        return pred, new_state

    return Model(init=init, apply=apply, name=name)


# -------------------------------------------------------------------------------- equinox

_EQX_EXAMPLE = "jaxfit.from_equinox(lambda hp, key: MLP(2, hp.hidden[0], 1, key=key))"


def from_equinox(
    factory: Callable[[Any, jax.Array], Any],
    *,
    axis_name: str = "batch",
    name: str | None = None,
) -> Model:
    """A model from an equinox module: ``factory(hp, key) -> eqx.Module``.

    The module works on one example, as equinox's modules do; jaxfit maps it over the batch
    with ``jax.vmap(..., axis_name=axis_name)``. The factory reads static fields only
    (widths, depth) and receives jaxfit's initialisation key, so each seed starts elsewhere.

    - Parameters: the module's floating-point arrays, ``eqx.filter(module,
      eqx.is_inexact_array)`` (a module with ``None`` in place of everything else;
      ``eqx.combine`` it with the module's structure, or just use :func:`jaxfit.predict`).
    - State: a factory that returns ``eqx.nn.make_with_state(Model)(..., key=key)``, a
      ``(module, eqx.nn.State)`` pair, makes the model stateful (``eqx.nn.BatchNorm``,
      built with ``axis_name``); ``__call__(x, state, ...)`` then returns ``(y, state)``,
      and the model returns :class:`jaxfit.Variables` ``(params, state)``.
    - Modes: ``eqx.nn.inference_mode(module, not train)``: dropout and batch norm train in
      training steps, and are in inference mode for validation, metrics and prediction.
    - Randomness: a ``__call__`` with a ``key`` argument gets, for example ``j`` of a
      training batch of ``n``, ``jax.random.split(key, n)[j]`` with ``key`` the step's key
      (:func:`jaxfit.step_key`), and ``None`` outside training.

    Outputs of shape ``()`` per example become predictions ``(n, 1)``.

    Batch statistics (any adapter's) are computed over every row of the batch jaxfit
    passes, including rows of weight 0: the padding of a last, short minibatch, and under
    cross-validation the held-out rows of the fold (folds are weight masks over the whole
    data). The loss ignores those rows, batch norm does not; prefer full-batch training
    without folds, or a validation set, for models with batch norm.

    Args:
      factory: ``factory(hp, key) -> eqx.Module`` or ``-> (eqx.Module, eqx.nn.State)``.
      axis_name: the batch axis name that the module's ``eqx.nn.BatchNorm`` layers were
        given (``"batch"``, as in equinox's docs).
      name: the model's name in reports (default ``"equinox(<factory name>)"``).

    Returns:
      The model; the same factory and options return the same object.

    Raises:
      ImportError: when equinox is not installed.
      TypeError: for a module instance instead of a factory, a factory that cannot be
        called as ``factory(hp, key)`` or returns no module, a module with batch norm
        built without ``make_with_state``, or with another ``axis_name``, a Dropout in a
        ``__call__`` without ``key``, integer arrays in the module, or a module shaped by
        a numeric (traced) hyperparameter.

    Examples:
      >>> import equinox as eqx
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> class MLP(eqx.Module):
      ...     linear1: eqx.nn.Linear
      ...     norm: eqx.nn.BatchNorm
      ...     dropout: eqx.nn.Dropout
      ...     linear2: eqx.nn.Linear
      ...     def __init__(self, din, dmid, dout, key):
      ...         k1, k2 = jax.random.split(key)
      ...         self.linear1 = eqx.nn.Linear(din, dmid, key=k1)
      ...         self.norm = eqx.nn.BatchNorm(dmid, axis_name="batch", mode="batch")
      ...         self.dropout = eqx.nn.Dropout(0.1)
      ...         self.linear2 = eqx.nn.Linear(dmid, dout, key=k2)
      ...     def __call__(self, x, state, *, key=None):
      ...         x, state = self.norm(self.linear1(x), state)
      ...         return self.linear2(self.dropout(jax.nn.relu(x), key=key)), state
      >>> model = jaxfit.from_equinox(
      ...     lambda hp, key: eqx.nn.make_with_state(MLP)(2, hp.hidden[0], 1, key))
      >>> x = jnp.linspace(-1, 1, 32).reshape(16, 2); y = x.sum(1)
      >>> hp = jaxfit.Hyperparams(hidden=(8,), steps=20, learning_rate=0.05)
      >>> r = jaxfit.fit(model, "mse", (x, y), hp, key=jax.random.key(0))
      >>> type(r.params.params).__name__, type(r.params.state).__name__
      ('MLP', 'State')
      >>> jaxfit.predict(model, r.params, x, hp).shape
      (16, 1)
    """
    eqx = _import("from_equinox", "equinox", "equinox")
    _check_name("from_equinox", name)
    if isinstance(factory, eqx.Module):
        raise TypeError(
            f"jaxfit.from_equinox takes a factory (hp, key) -> eqx.Module, not a module "
            f"instance ({type(factory).__name__}): jaxfit builds the module itself, from each "
            f"seed's key and the static hyperparameters. Write e.g. {_EQX_EXAMPLE}."
        )
    if not isinstance(axis_name, str) or not axis_name:
        raise TypeError(
            f"jaxfit.from_equinox: axis_name={axis_name!r} must be a non-empty str, the "
            "axis_name given to the module's eqx.nn.BatchNorm layers."
        )
    _check_factory("from_equinox", factory, ("hp", "key"), _EQX_EXAMPLE)
    label = name or _label("equinox", factory)
    return _cached(
        "equinox", factory, (axis_name, name), lambda: _eqx_model(eqx, factory, axis_name, label)
    )


def _eqx_model(eqx: Any, factory: Callable, axis_name: str, name: str) -> Model:
    def build(hp: Any, key: jax.Array) -> tuple[Any, Any]:
        with _traced_values_explained("from_equinox", "the factory"):
            out = factory(hp, key)
        module, state = out, None
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], eqx.nn.State):
            module, state = out
        if not isinstance(module, eqx.Module):
            raise TypeError(
                f"jaxfit.from_equinox ({name!r}): the factory returned "
                f"{type(module).__name__}, not an eqx.Module (or an (eqx.Module, "
                f"eqx.nn.State) pair from eqx.nn.make_with_state); e.g. {_EQX_EXAMPLE}."
            )
        return module, state

    def nodes(module: Any, kind: Any) -> list[Any]:
        leaves = jax.tree.leaves(module, is_leaf=lambda n: isinstance(n, kind))
        return [n for n in leaves if isinstance(n, kind)]

    def check(module: Any, state: Any) -> None:
        parameters = _call_parameters(module)
        layers = nodes(module, eqx.nn.BatchNorm | eqx.nn.Dropout)
        if state is None and nodes(module, eqx.nn.StateIndex):
            raise TypeError(
                f"jaxfit.from_equinox ({name!r}): the module has state (eqx.nn.BatchNorm or "
                "another eqx.nn.StateIndex), but the factory returned the module alone. "
                "Return eqx.nn.make_with_state(Model)(..., key=key), as equinox's docs do."
            )
        if state is not None and not _binds(type(module).__call__, 3):
            raise TypeError(
                f"jaxfit.from_equinox ({name!r}): the factory returned a state, so "
                f"{type(module).__name__}.__call__ must take it: __call__(self, x, state) -> "
                "(y, state)."
            )
        for layer in layers:
            if isinstance(layer, eqx.nn.BatchNorm) and layer.axis_name != axis_name:
                raise TypeError(
                    f"jaxfit.from_equinox ({name!r}): an eqx.nn.BatchNorm has axis_name="
                    f"{layer.axis_name!r}, but jaxfit maps the module over the batch as "
                    f"{axis_name!r}: build it with axis_name={axis_name!r}, or pass "
                    f"jaxfit.from_equinox(..., axis_name={layer.axis_name!r})."
                )
            if isinstance(layer, eqx.nn.Dropout) and "key" not in parameters:
                raise TypeError(
                    f"jaxfit.from_equinox ({name!r}): the module has an eqx.nn.Dropout, but "
                    f"{type(module).__name__}.__call__ takes no `key`, so dropout would have "
                    "no randomness in training: add a keyword argument `key=None` and pass "
                    "it to the dropout, self.dropout(x, key=key)."
                )
        others = [
            leaf for leaf in jax.tree.leaves(module)
            if eqx.is_array(leaf) and not eqx.is_inexact_array(leaf)
        ]  # fmt: skip
        if others:
            raise TypeError(
                f"jaxfit.from_equinox ({name!r}): the module holds a non-floating array "
                f"({others[0].dtype}{list(others[0].shape)}); jaxfit trains the floating-point "
                "arrays and cannot carry others. Mark that field static "
                "(eqx.field(static=True), for a small constant) or compute it in __call__."
            )

    def init(key: jax.Array, x: jax.Array, hp: Any) -> Any:
        del x
        module, state = build(hp, key)
        check(module, state)
        passed = {"key"} & _call_parameters(module)
        _check_call("from_equinox", name, module, 1 if state is None else 2, passed)
        params = eqx.filter(module, eqx.is_inexact_array)
        return params if state is None else Variables(params, state)

    def structure(hp: Any) -> Any:
        """The module with ``None`` for its arrays, from an abstract build (no compute)."""
        module, _ = eqx.filter_eval_shape(build, hp, jax.random.key(0))
        return jax.tree.map(lambda a: None if isinstance(a, jax.ShapeDtypeStruct) else a, module)

    def apply(
        params: Any,
        x: jax.Array,
        hp: Any,
        *,
        key: jax.Array | None = None,
        train: bool = False,
        state: Any = None,
    ) -> Any:
        skeleton = structure(hp)
        try:
            module = eqx.combine(params, skeleton)
        except ValueError as e:
            raise TypeError(
                f"jaxfit.from_equinox ({name!r}): the params given to apply do not match the "
                "module the factory builds from these hyperparameters (were they trained with "
                f"another hp?): {e}"
            ) from e
        module = eqx.nn.inference_mode(module, value=not train)
        parameters = _call_parameters(module)
        takes_key = "key" in parameters
        stateful = state is not None
        if not stateful and nodes(module, eqx.nn.StateIndex):
            raise TypeError(
                f"jaxfit.from_equinox ({name!r}): the module has state (batch norm), so apply "
                "needs it: pass the jaxfit.Variables(params, state) that init or a fit "
                "returned (result.params), not the parameters alone."
            )
        keys = None
        if train and takes_key:
            if key is None:
                raise ValueError(
                    f"jaxfit.from_equinox ({name!r}): apply(..., train=True) needs a key for "
                    "the module's `key` argument; jaxfit passes one at every training step."
                )
            keys = jax.random.split(key, x.shape[0])

        def one(xi: jax.Array, ki: Any, st: Any) -> Any:
            kwargs = {"key": ki} if takes_key else {}
            return module(xi, st, **kwargs) if stateful else module(xi, **kwargs)

        batched = jax.vmap(
            one,
            in_axes=(0, None if keys is None else 0, None),
            out_axes=(0, None) if stateful else 0,
            axis_name=axis_name,
        )
        with _traced_values_explained("from_equinox", "the module's __call__"):
            out = batched(x, keys, state)
        pred, new_state = out if stateful else (out, None)
        if pred.ndim == 1:
            pred = pred[:, None]
        if not stateful:
            return pred
        _same_structure("from_equinox", name, state, new_state, "the module's state")
        return pred, new_state

    return Model(init=init, apply=apply, name=name)
