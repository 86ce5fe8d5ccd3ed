"""Argument checks shared by every wing (the bottom layer: it imports nothing of jaxfit)."""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["checked_index", "is_int"]


def is_int(v: Any) -> bool:
    """Whether ``v`` is an integer (a Python or numpy int), and not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def checked_index(name: str, value: Any, size: int) -> int:
    """``value`` as an index into ``range(size)``; negative values count from the end."""
    if not is_int(value):
        raise TypeError(f"{name}={value!r} must be an int.")
    if not -size <= value < size:
        raise IndexError(f"{name}={value} is out of range for {size} (0..{size - 1}).")
    return int(value) % size
