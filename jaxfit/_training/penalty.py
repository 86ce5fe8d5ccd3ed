"""Tree helpers shared by penalties and optimizers: which parameters are weights."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["l2_penalty", "weight_mask"]


def weight_mask(params: Any) -> Any:
    """Marks the weight matrices of a parameter tree: leaves with ``ndim >= 2``.

    Penalties (``l2``) and weight decay apply to weights, not to biases or scalars, the
    convention of scikit-learn's ``Ridge``/``LogisticRegression`` (the intercept is not
    penalised) and of most deep-learning code.

    Args:
      params: a parameter pytree.

    Returns:
      A pytree of Python bools with the structure of ``params``.

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> jaxfit.weight_mask({"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)})
      {'b': False, 'w': True}
    """
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)


def l2_penalty(params: Any) -> jax.Array:
    """Returns ``0.5 * sum(W**2)`` over the weight matrices (leaves with ``ndim >= 2``).

    The training objective adds ``hp.l2 * l2_penalty(params)`` to the data loss.

    Args:
      params: a parameter pytree.

    Returns:
      A scalar array.

    Examples:
      >>> import jax.numpy as jnp, jaxfit
      >>> float(jaxfit.l2_penalty({"w": jnp.full((2, 2), 2.0), "b": jnp.ones(2)}))
      8.0
    """
    leaves = [p for p in jax.tree.leaves(params) if jnp.ndim(p) >= 2]
    if not leaves:
        return jnp.zeros(())
    return 0.5 * sum(jnp.sum(jnp.square(p)) for p in leaves)  # type: ignore[return-value]
