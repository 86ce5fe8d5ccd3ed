"""Strict numerics for every test, and small shared fixtures."""

import jax
import pytest

# Implicit rank promotion hides shape bugs ((n,) + (n, 1) -> (n, n)); make it an error.
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.key(0)


# Four CPU devices, so that sharded sweeps are exercised on any machine (STYLE.md §7).
# Must run before JAX initialises its backends; plain fits still use one device.
jax.config.update("jax_num_cpu_devices", 4)
