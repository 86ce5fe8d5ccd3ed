"""The PRNG key of each row of a sweep: common random numbers by default.

A row (setting ``i``, seed ``s``, fold ``f``) trains with ``fold_in(key, s)``: every
setting of seed ``s`` starts from the same initialisation and sees the same minibatch
order, whatever its position in the grid (``keys="paired"``). Settings are then compared
paired, as scikit-learn compares estimators built with one fixed ``random_state``, and
adding, removing or reordering settings changes nothing else. ``keys="per_setting"`` gives
each setting its own stream, still independent of its position: ``fold_in(fold_in(key, s),
h)`` with ``h`` a 31-bit hash of the setting's fields (names and values), so identical
settings share a stream.

The compiled program takes each row's ``(seed, salt)`` pair and derives its key with
:func:`row_keys`; ``salt`` is the setting's hash, or ``-1`` for no second fold-in. The
program is therefore the same for both modes and every grid.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["KEY_MODES", "KEY_SCHEME", "check_keys", "key_ids", "row_keys", "setting_hash"]

KEY_MODES = ("paired", "per_setting")
# The version of the rule that turns (key, setting, seed) into a row's key; part of a
# checkpoint's fingerprint, so that rows keyed by another rule are never resumed. Version 1
# folded in ``setting * seeds + seed``, which moved every setting when one was inserted.
KEY_SCHEME = 2
_NO_SALT = -1


def check_keys(keys: Any) -> str:
    """``keys`` if it names a key mode; else a ValueError saying what is allowed."""
    if not isinstance(keys, str) or keys not in KEY_MODES:
        raise ValueError(
            f"keys must be one of {list(KEY_MODES)}; got {keys!r:.80}. 'paired' (the default) "
            "gives every setting of a seed the same key (common random numbers, for paired "
            "comparisons); 'per_setting' gives each setting its own stream."
        )
    return keys


def setting_hash(setting: Mapping[str, Any]) -> int:
    """A stable 31-bit hash of a setting's fields (``{name: value}``, as ``jaxfit.to_dict``
    gives them): the same in every process, Python and numpy version."""
    text = ";".join(f"{name}={_canonical(value)}" for name, value in sorted(setting.items()))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def _canonical(v: Any) -> str:
    """A text for ``v`` that tells ``1``, ``1.0`` and ``True`` apart and does not depend on
    numpy's repr (``np.int64(1)`` and ``1`` read the same)."""
    if v is None or isinstance(v, bool | np.bool_):
        return repr(None if v is None else bool(v))
    if isinstance(v, int | np.integer):
        return f"int:{int(v)}"
    if isinstance(v, float | np.floating):
        f = float(v)
        return f"float:{f.hex() if math.isfinite(f) else repr(f)}"
    if isinstance(v, str):
        return f"str:{v!r}"
    if isinstance(v, tuple | list):
        return "(" + ",".join(_canonical(e) for e in v) + ")"
    if isinstance(v, np.ndarray):
        return f"array:{v.dtype.str}:{v.shape}:" + _canonical(v.tolist())
    return f"{type(v).__module__}.{type(v).__qualname__}:{v!r}"


def key_ids(
    keys: str, settings: list[dict[str, Any]], indices: Any, seeds: int, n_folds: int
) -> np.ndarray:
    """``(rows, 2)`` int32 ``(seed, salt)`` for the rows (setting, seed, fold) of the
    settings at ``indices``, in that order."""
    seed = np.tile(np.repeat(np.arange(seeds), n_folds), len(indices))
    if keys == "per_setting":
        salts = np.array([setting_hash(settings[i]) for i in indices], np.int64)
    else:
        salts = np.full(len(indices), _NO_SALT, np.int64)
    salt = np.repeat(salts, seeds * n_folds)
    return np.stack([seed, salt], axis=1).astype(np.int32)


def row_keys(root: jax.Array, ids: jax.Array) -> jax.Array:
    """The keys of rows ``ids`` (``(rows, 2)`` from :func:`key_ids`), traced.

    ``fold_in(root, seed)``, then ``fold_in(., salt)`` where ``salt >= 0``: paired rows get
    exactly ``fold_in(root, seed)``, the key ``jaxfit.fit`` is given to reproduce them.
    """

    def one(row):
        seeded = jax.random.fold_in(root, row[0])
        salted = jax.random.fold_in(seeded, jnp.maximum(row[1], 0))
        data = jnp.where(row[1] >= 0, jax.random.key_data(salted), jax.random.key_data(seeded))
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(root))

    return jax.vmap(one)(ids)
