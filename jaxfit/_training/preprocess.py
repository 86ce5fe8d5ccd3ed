"""Preprocessing fitted inside the program: each run (each cross-validation fold) fits its
transforms on its own training rows, by their weights, so the test fold never leaks in."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp

from .models import Model, Variables, _as_matrix, _is_positive_int, apply_model, init_model

__all__ = ["PCA", "Standardize", "pipeline"]


@dataclasses.dataclass(frozen=True)
class Standardize:
    """Centres each feature and scales it to unit variance, as scikit-learn's
    ``StandardScaler``: ``(x - mean) / std`` with the weighted mean and the weighted
    population standard deviation of the training rows (a feature of zero variance is
    only centred).

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> x, w = jnp.array([[1.0], [3.0], [100.0]]), jnp.array([1.0, 1.0, 0.0])
      >>> stats = jaxfit.Standardize().fit(x, w, None)
      >>> jaxfit.Standardize().transform(stats, x[:2], None).ravel().tolist()
      [-1.0, 1.0]
    """

    def fit(self, x: jax.Array, weight: jax.Array, hp: Any) -> dict[str, jax.Array]:
        """The weighted mean and scale of ``x``'s columns over rows of positive weight."""
        del hp
        mean, var = _moments(x, weight)
        std = jnp.sqrt(var)
        # scikit-learn's rule: a (near-)constant feature is left unscaled.
        scale = jnp.where(std < 10 * jnp.finfo(std.dtype).eps * jnp.abs(mean), 1.0, std)
        scale = jnp.where(scale == 0, 1.0, scale)
        return {"mean": mean, "scale": scale}

    def transform(self, stats: dict[str, jax.Array], x: jax.Array, hp: Any) -> jax.Array:
        """``(x - mean) / scale``."""
        del hp
        return (x - stats["mean"][None, :]) / stats["scale"][None, :]


@dataclasses.dataclass(frozen=True)
class PCA:
    """Projects centred inputs on their first principal components, as scikit-learn's
    ``PCA`` (without whitening): the eigenvectors of the weighted covariance of the training
    rows with the largest eigenvalues, each signed so that its largest-magnitude entry is
    positive (scikit-learn flips signs by another rule, so columns may differ in sign).

    Args:
      n_components: the number of components, or the name of a static hyperparameter
        field that holds it (so a search can vary it: each value is its own compiled
        program, as the shapes change).

    Raises:
      TypeError, ValueError: for anything but a positive int or a field name.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> x = jax.random.normal(jax.random.key(0), (50, 3)) * jnp.array([[5.0, 1.0, 0.1]])
      >>> stats = jaxfit.PCA(1).fit(x, jnp.ones(50), None)
      >>> jaxfit.PCA(1).transform(stats, x, None).shape
      (50, 1)
      >>> [round(abs(float(v)), 2) for v in stats["components"][:, 0]]  # the first axis
      [1.0, 0.0, 0.0]
    """

    n_components: int | str

    def __post_init__(self) -> None:
        n = self.n_components
        if not (_is_positive_int(n) or (isinstance(n, str) and n.isidentifier())):
            raise TypeError(
                f"PCA: n_components={n!r} must be a positive int or the name of a static "
                "hyperparameter field holding one."
            )

    def components(self, hp: Any, d: int) -> int:
        """The number of components under ``hp``, for ``d`` input features."""
        n = self.n_components
        if isinstance(n, str):
            try:
                n = getattr(hp, n)
            except AttributeError:
                raise TypeError(
                    f"PCA reads hp.{n}, but {type(hp).__name__} has no field {n!r}; add "
                    f"`{n}: int = jaxfit.static(...)` to the hyperparameter class."
                ) from None
            if not _is_positive_int(n):
                raise ValueError(f"PCA: hp.{self.n_components}={n!r} must be a positive int.")
        if n > d:
            raise ValueError(f"PCA: n_components={n} exceeds the {d} input features.")
        return int(n)

    def fit(self, x: jax.Array, weight: jax.Array, hp: Any) -> dict[str, jax.Array]:
        """The weighted mean and the leading eigenvectors of the weighted covariance."""
        k = self.components(hp, x.shape[1])
        mean, _ = _moments(x, weight)
        xc = x - mean[None, :]
        w = weight / jnp.sum(weight)
        cov = (xc * w[:, None]).T @ xc
        values, vectors = symmetric_eigh(cov)
        top = vectors[:, jnp.argsort(-values)[:k]]
        rows = jnp.argmax(jnp.abs(top), axis=0)
        signs = jnp.sign(top[rows, jnp.arange(k)])
        return {"mean": mean, "components": top * jnp.where(signs == 0, 1.0, signs)[None, :]}

    def transform(self, stats: dict[str, jax.Array], x: jax.Array, hp: Any) -> jax.Array:
        """``(x - mean) @ components``."""
        del hp
        return (x - stats["mean"][None, :]) @ stats["components"]


def symmetric_eigh(a: jax.Array, sweeps: int = 12) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues and eigenvectors (columns) of a symmetric matrix, by cyclic Jacobi
    rotations in plain XLA ops.

    Not ``jnp.linalg.eigh``: jaxlib's batched LAPACK kernels split a batch over the host's
    thread pool and wait for it, which deadlocks when every pool thread is a CPU device
    running one (a sweep's rows, vmapped, on several CPU devices; see the same note on
    the ``newton`` optimizer's Cholesky solve). Each sweep rotates every pair ``(p, q)``
    once; Jacobi converges quadratically, so 12 sweeps reach rounding for the small
    matrices preprocessing meets (covariances of up to a few hundred features), and each
    rotation is ``O(n)``: ``12 n^3 / 2`` work in all, once per run.
    """
    n = a.shape[0]
    if n == 1:
        return a[0], jnp.ones_like(a)
    p_idx, q_idx = (jnp.asarray(v, jnp.int32) for v in jnp.triu_indices(n, 1))
    tiny = jnp.finfo(a.dtype).tiny

    def rotate(k, carry):
        a, v = carry
        p, q = p_idx[k % p_idx.shape[0]], q_idx[k % p_idx.shape[0]]
        apq = a[p, q]
        skip = jnp.abs(apq) <= tiny
        theta = (a[q, q] - a[p, p]) / (2 * jnp.where(skip, 1.0, apq))
        t = jnp.sign(theta) / (jnp.abs(theta) + jnp.sqrt(theta * theta + 1))
        t = jnp.where(skip, 0.0, jnp.where(theta == 0, 1.0, t))
        c = 1 / jnp.sqrt(t * t + 1)
        s = t * c

        def turn(m, axis):  # columns (axis 1) or rows (axis 0) p and q
            mp = jnp.take(m, p, axis=axis)
            mq = jnp.take(m, q, axis=axis)
            if axis == 1:
                return m.at[:, p].set(c * mp - s * mq).at[:, q].set(s * mp + c * mq)
            return m.at[p, :].set(c * mp - s * mq).at[q, :].set(s * mp + c * mq)

        return turn(turn(a, 1), 0), turn(v, 1)

    a, v = jax.lax.fori_loop(0, sweeps * p_idx.shape[0], rotate, (a, jnp.eye(n, dtype=a.dtype)))
    return jnp.diagonal(a), v


def _moments(x: jax.Array, weight: jax.Array) -> tuple[jax.Array, jax.Array]:
    w = weight.astype(x.dtype)
    total = jnp.sum(w)
    mean = jnp.sum(w[:, None] * x, 0) / total
    var = jnp.sum(w[:, None] * (x - mean[None, :]) ** 2, 0) / total
    return mean, var


def pipeline(*steps: Any) -> Model:
    """A model that first transforms its inputs: ``pipeline(Standardize(), PCA(10), model)``.

    Each transform's statistics are fitted in ``init`` from the training rows by their
    weights, so under cross-validation every fold standardises (and projects) with its
    own training rows only, inside the same vmapped program, and nothing of the test fold
    leaks in. The statistics are the model's non-trained state: results hold
    :class:`jaxfit.Variables` whose ``state["transforms"]`` are the fitted statistics, and
    :func:`jaxfit.predict` applies them to new inputs. The model may itself take a key, a
    train flag or a state.

    Args:
      *steps: transforms (:class:`jaxfit.Standardize`, :class:`jaxfit.PCA`, or any
        hashable object with ``fit(x, weight, hp) -> stats`` and
        ``transform(stats, x, hp) -> x``), then the model.

    Returns:
      The model; equal arguments return the same object (so compiled programs are reused).

    Raises:
      TypeError: when the last step is not a :class:`jaxfit.Model`, a transform lacks
        ``fit``/``transform``, or a step is not hashable.

    Examples:
      >>> import jax, jax.numpy as jnp, jaxfit
      >>> x = jnp.linspace(0, 100, 40)[:, None]; y = 0.02 * x[:, 0] - 1
      >>> model = jaxfit.pipeline(jaxfit.Standardize(), jaxfit.linear())
      >>> hp = jaxfit.Hyperparams(optimizer="sgd", learning_rate=0.5, steps=100)
      >>> r = jaxfit.fit(model, "mse", (x, y), hp, key=jax.random.key(0))
      >>> round(float(r.params.state["transforms"][0]["mean"][0]), 1)
      50.0
      >>> jaxfit.predict(model, r.params, jnp.array([[100.0]]), hp).round(3).tolist()
      [[1.0]]
    """
    if not steps or not isinstance(steps[-1], Model):
        raise TypeError(
            "pipeline(*transforms, model): the last step must be a jaxfit.Model; got "
            f"{type(steps[-1]).__name__ if steps else 'nothing'}."
        )
    for i, t in enumerate(steps[:-1]):
        if not (callable(getattr(t, "fit", None)) and callable(getattr(t, "transform", None))):
            raise TypeError(
                f"pipeline step {i} ({type(t).__name__}) is not a transform: it needs "
                "fit(x, weight, hp) -> stats and transform(stats, x, hp) -> x (e.g. "
                "jaxfit.Standardize(), jaxfit.PCA(10))."
            )
        try:
            hash(t)
        except TypeError:
            raise TypeError(
                f"pipeline step {i} ({type(t).__name__}) must be hashable (a frozen "
                "dataclass): it is part of the compiled program's key."
            ) from None
    return _pipeline(tuple(steps[:-1]), steps[-1])


@functools.cache
def _pipeline(transforms: tuple[Any, ...], model: Model) -> Model:
    def run(stats, x, hp):
        x = _as_matrix(x)
        for t, s in zip(transforms, stats, strict=True):
            x = t.transform(s, x, hp)
        return x

    def init(key: jax.Array, x: jax.Array, hp: Any, weight: jax.Array) -> Variables:
        x = _as_matrix(x)
        x = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.result_type(float))
        stats = []
        for t in transforms:
            s = t.fit(x, weight, hp)
            stats.append(s)
            x = t.transform(s, x, hp)
        inner = init_model(model, key, x, hp, weight)
        if isinstance(inner, Variables):
            return Variables(inner.params, {"transforms": tuple(stats), "model": inner.state})
        return Variables(inner, {"transforms": tuple(stats)})

    def apply(params, x, hp, *, state, key=None, train=False, weight=None):
        z = run(state["transforms"], x, hp)
        inner = Variables(params, state["model"]) if "model" in state else params
        pred, new_inner = apply_model(model, inner, z, hp, key=key, train=train, weight=weight)
        if "model" in state:
            return pred, {"transforms": state["transforms"], "model": new_inner}
        return pred, state

    names = [type(t).__name__ for t in transforms]
    return Model(init=init, apply=apply, name=" -> ".join([*names, model.name]))
