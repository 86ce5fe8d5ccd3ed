"""A griffe extension for the docs site: Sphinx roles in docstrings become checked links.

jaxfit's docstrings cross-reference with Sphinx roles (:func:`jaxfit.fit`), which
mkdocstrings would print literally. This rewrites each role naming a public jaxfit object
into a mkdocstrings cross-reference (``[`jaxfit.fit`][jaxfit.fit]``), which strict mode
checks; any other role becomes plain code. Loaded by ``mkdocs.yml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import griffe

_ROLE = re.compile(r":(?:func|class|meth|attr|data|obj|exc|mod):`~?([\w.]+)`")


class SphinxRoles(griffe.Extension):
    """Rewrites Sphinx roles in every docstring of the loaded package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _ROLE.sub(lambda m: _link(pkg, m[1]), obj.docstring.value)


def _walk(obj: Any) -> Iterator[Any]:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _link(pkg: griffe.Module, name: str) -> str:
    parts = name.removeprefix(f"{pkg.name}.").split(".")
    if parts[0] not in (pkg.exports or ()):
        return f"`{name}`"
    target: Any = pkg
    try:
        for part in parts:
            target = target.members[part]
    except (KeyError, griffe.AliasResolutionError):
        return f"`{name}`"
    return f"[`{name}`][{pkg.name}.{'.'.join(parts)}]"
