"""Public code ported to jaxfit gives the numbers of the original.

optax issue #932 ("Passing arguments to train multiple models in parallel"): an MLP
trained by AdamW over a learning rate x weight decay grid and several seeds, written by
hand as nested ``vmap``s over a ``lax.scan`` loop, against the same search as one
``jaxfit.sweep`` (the ported version is the five lines at the end of the test).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxfit

STEPS = 25
X = jax.random.normal(jax.random.key(0), (48, 3))
Y = jnp.tanh(X @ jnp.array([1.0, -0.5, 0.25])) + 0.05 * jax.random.normal(jax.random.key(1), (48,))
LRS, WDS, SEEDS = [1e-3, 1e-2, 3e-2], [0.0, 0.1], 3
BASE = jaxfit.Hyperparams(optimizer="adamw", hidden=(8,), activation="tanh", steps=STEPS)


def _by_hand(root: jax.Array) -> np.ndarray:
    """The original's pattern: train(lr, wd, key) -> final loss, vmapped over all three."""
    model = jaxfit.mlp()  # the same architecture and initialisation as the sweep's

    def loss(params):
        return jnp.mean((model.apply(params, X, BASE)[:, 0] - Y) ** 2)

    def train(lr, wd, key):
        init_key, _ = jax.random.split(key)  # jaxfit.fit keys initialisation this way
        params = model.init(init_key, X, BASE)
        # jaxfit decays weight matrices only (jaxfit.weight_mask), as most DL code does.
        tx = optax.adamw(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=wd,
                         mask=jaxfit.weight_mask)  # fmt: skip
        opt = tx.init(params)

        def step(carry, _):
            params, opt = carry
            grads = jax.grad(loss)(params)
            updates, opt = tx.update(grads, opt, params)
            return (optax.apply_updates(params, updates), opt), None

        (params, _), _ = jax.lax.scan(step, (params, opt), None, length=STEPS)
        return loss(params)

    lr, wd = (jnp.asarray(v, jnp.float32) for v in np.meshgrid(LRS, WDS, indexing="ij"))
    keys = jax.vmap(lambda s: jax.random.fold_in(root, s))(jnp.arange(SEEDS))
    over_seeds = jax.vmap(train, in_axes=(None, None, 0))
    over_settings = jax.vmap(over_seeds, in_axes=(0, 0, None))
    return np.asarray(jax.jit(over_settings)(lr.ravel(), wd.ravel(), keys))


def test_optax_932_grid_over_learning_rate_weight_decay_and_seeds():
    root = jax.random.key(42)
    want = _by_hand(root)  # (settings, seeds)
    space = jaxfit.grid(learning_rate=LRS, weight_decay=WDS)
    result = jaxfit.sweep(jaxfit.mlp(), "mse", (X, Y), BASE, space, key=root, seeds=SEEDS)
    assert len(result.groups) == 1  # one compiled program for the whole grid
    np.testing.assert_allclose(result.metrics["train_loss"], want, rtol=2e-5, atol=1e-7)
