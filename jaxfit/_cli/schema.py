"""The pieces a config's tables are checked with: ``Section``, ``ConfigError`` and value checks.

A check is a function of one TOML value that returns it (converted where needed) or raises
:class:`Invalid` saying what is wrong; :meth:`Section.get` adds the file, the table and the
key, and raises a :class:`ConfigError`. ``config.py`` checks the config's own tables with
these, ``datasources.py`` the ``[data]``, ``[cv]`` and ``[validation]`` tables.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["REQUIRED", "ConfigError", "Invalid", "Section", "boolean", "describe", "integer",
           "number", "string", "string_list", "suggest"]  # fmt: skip

REQUIRED = object()  # the default of a key that has none: Section.get refuses it missing


class ConfigError(ValueError):
    """A sweep config that cannot be used; the message starts with the file, section and key.

    Raised for the config itself, its data (a missing file or column, a bad value with its
    line), and an output directory that holds another config's results.

    Attributes:
      file: the config file as it was named.
      section: the TOML table (``"space"``), or ``None`` for the file as a whole.
      key: the key inside the section (dotted where nested), or ``None``.

    Examples:
      >>> import jaxfit
      >>> try:
      ...     jaxfit.load_config("no/such/config.toml")
      ... except jaxfit.ConfigError as e:
      ...     print(e)
      no/such/config.toml: no such file.
    """

    def __init__(self, file: str, section: str | None, key: str | None, message: str):
        self.file, self.section, self.key = file, section, key
        where = f"{file}: " + (f"[{section}] " if section else "") + (f"{key}: " if key else "")
        super().__init__(where + message)


class Invalid(Exception):
    """Raised by a value check with what is wrong; ``Section.get`` adds where."""


_TOML_TYPES = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}


def describe(value: Any) -> str:
    """A TOML value in words, for error messages: ``the string 'abc'``."""
    if isinstance(value, dict):
        return f"a table with keys {list(value)}"
    return f"the {_TOML_TYPES.get(type(value), type(value).__name__)} {value!r:.60}"


def suggest(name: str, allowed: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest allowed name, or nothing."""
    lower = {a.lower(): a for a in allowed}
    close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return f" (did you mean {lower[close[0]]!r}?)" if close else ""


class Section:
    """One table of a config: typed reads by key, and a check for unknown keys."""

    def __init__(self, file: str, name: str, table: Any):
        if not isinstance(table, dict):
            raise ConfigError(file, None, None, f"[{name}] must be a table; got {describe(table)}.")
        self.file, self.name, self.table = file, name, table

    def error(self, key: str | None, message: str) -> ConfigError:
        return ConfigError(self.file, self.name, key, message)

    def only(self, allowed: Sequence[str]) -> Section:
        """Refuses every key not in ``allowed``, suggesting the closest allowed one."""
        for key in self.table:
            if key not in allowed:
                message = f"unknown key{suggest(key, allowed)}; allowed are {sorted(allowed)}."
                raise self.error(key, message)
        return self

    def get(self, key: str, check: Callable[[Any], Any], default: Any = REQUIRED) -> Any:
        """The checked value of ``key``, or ``default`` (a key without one is required)."""
        if key not in self.table:
            if default is REQUIRED:
                typo = [k for k in self.table if suggest(k, [key])]
                hint = f" (is {typo[0]!r} a misspelling of it?)" if typo else ""
                raise self.error(key, f"is required but missing{hint}.")
            return default
        try:
            return check(self.table[key])
        except Invalid as e:
            raise self.error(key, str(e)) from None


def integer(minimum: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or (minimum is not None and v < minimum):
            raise Invalid(
                f"must be an integer{f' >= {minimum}' * (minimum is not None)}; got {describe(v)}."
            )
        return v

    return check


def number(minimum: float | None = None, *, above: bool = False) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        ok = not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
        if not ok or (minimum is not None and (v <= minimum if above else v < minimum)):
            bound = "" if minimum is None else f" {'>' if above else '>='} {minimum}"
            raise Invalid(f"must be a finite number{bound}; got {describe(v)}.")
        return float(v)

    return check


def string(choices: Sequence[str] | None = None) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if not isinstance(v, str):
            raise Invalid(f"must be a string; got {describe(v)}.")
        if choices is not None and v not in choices:
            raise Invalid(f"{v!r} is not one of {list(choices)}{suggest(v, choices)}.")
        return v

    return check


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise Invalid(f"must be true or false; got {describe(v)}.")
    return v


def string_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(e, str) for e in v):
        raise Invalid(f"must be an array of strings; got {describe(v)}.")
    return tuple(v)
