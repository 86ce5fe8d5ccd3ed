"""Minibatches: an epoch-wise reshuffle keyed on the global step, so a run that stops and
continues draws the same minibatches as one that never stopped."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .data import Dataset

__all__ = ["Batcher", "epoch_batches"]


class Batcher:
    """``(step, order) -> (minibatch, order)``: an epoch-wise reshuffle of the samples that count.

    Samples with zero weight (another fold's, under cross-validation) are ordered after
    the others, so every epoch is ``ceil(n_active / batch_size)`` minibatches that see each
    weighted sample exactly once; the last one is padded with zero-weight samples. When
    the number of minibatches per epoch is known on the host (``epoch_batches``), the
    order is drawn once per epoch and carried; otherwise (weights only known inside the
    program) it is redrawn at every step, which costs a sort of the data per step.
    """

    def __init__(self, train: Dataset, batch_size: int | None, key: jax.Array,
                 epoch_batches: int | None) -> None:  # fmt: skip
        self.train, self.key = train, key
        n = train.x.shape[0]
        self.full = batch_size is None or batch_size >= n
        self.batch_size = batch_size or n
        self.size = -(-n // self.batch_size) * self.batch_size
        self.n_active = jnp.sum(train.weight > 0)
        dynamic = jnp.maximum((self.n_active + self.batch_size - 1) // self.batch_size, 1)
        self.n_batches = dynamic if epoch_batches is None else epoch_batches
        self.static = epoch_batches is not None
        self.init = jnp.zeros((0 if self.full else self.size,), jnp.int32)

    def order(self, epoch: jax.Array) -> jax.Array:
        n = self.train.x.shape[0]
        perm = jax.random.permutation(jax.random.fold_in(self.key, epoch), n)
        inactive = (self.train.weight <= 0).astype(jnp.int32)
        perm = perm[jnp.argsort(inactive[perm], stable=True)]  # active samples first
        return jnp.concatenate([perm, jnp.zeros((self.size - n,), perm.dtype)]).astype(jnp.int32)

    def __call__(self, step: jax.Array, order: jax.Array) -> tuple[Dataset, jax.Array]:
        if self.full:
            return self.train, order
        epoch, b = step // self.n_batches, step % self.n_batches
        if self.static:
            order = jax.lax.cond(b == 0, lambda: self.order(epoch), lambda: order)
        else:
            order = self.order(epoch)
        start = b * self.batch_size
        idx = jax.lax.dynamic_slice(order, (start,), (self.batch_size,))
        mask = (start + jnp.arange(self.batch_size)) < self.n_active
        t = self.train
        return Dataset(t.x[idx], t.y[idx], t.weight[idx] * mask), order


def epoch_batches(weights: Any, batch_size: int | None) -> int | None:
    """Minibatches per epoch if the same for every row of ``weights`` (``(rows, n)``)."""
    if batch_size is None:
        return None
    w = np.asarray(weights).reshape(-1, np.shape(weights)[-1])
    counts = {max(1, -(-int(k) // batch_size)) for k in (w > 0).sum(axis=1)}
    return counts.pop() if len(counts) == 1 else None
