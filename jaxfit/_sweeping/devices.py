"""One CPU device per core: the easy way to let a sweep use every core for small models."""

from __future__ import annotations

import os

import jax

__all__ = ["use_cpu_devices"]


def use_cpu_devices(n: int | None = None) -> int:
    """Splits the host CPU into ``n`` JAX devices (default: one per core).

    XLA runs one small program on one core at a time, so a sweep of small models leaves
    cores idle; with one CPU device per core, :func:`jaxfit.sweep` shards its settings
    over all of them. Call it right after ``import jax``, before any JAX computation:
    the device count is fixed once JAX's backends start.

    Args:
      n: the number of CPU devices (default ``os.cpu_count()``).

    Returns:
      The number of CPU devices now configured.

    Raises:
      ValueError: if ``n`` is not a positive int.
      RuntimeError: if JAX has already started its backends (call it earlier), unless the
        requested count is already in place.

    Examples:
      In a fresh process: ``import jax, jaxfit; jaxfit.use_cpu_devices()``. Once JAX has
      started, asking for the count it already has is a no-op:

      >>> import jax, jaxfit
      >>> n = len(jax.devices("cpu"))
      >>> jaxfit.use_cpu_devices(n) == n
      True
    """
    if n is None:
        n = os.cpu_count() or 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (the number of CPU devices); got {n!r}.")
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        current = len(jax.devices("cpu"))
        if current == n:
            return n
        raise RuntimeError(
            f"JAX already runs with {current} CPU device(s); call jaxfit.use_cpu_devices({n}) "
            "right after `import jax`, before any JAX computation (or set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={n} in the environment)."
        )
    jax.config.update("jax_num_cpu_devices", n)
    return n
