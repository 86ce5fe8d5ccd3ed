"""Docs are code: every public name has a runnable example, and the README's code runs."""

import doctest
import functools
import inspect
import pathlib
import re

import pytest

import jaxfit

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONSTANTS = {"__version__", "ACTIVATIONS", "CAUSES", "MODELS", "OPTIMIZERS", "SCHEDULES"}
PUBLIC = sorted(set(jaxfit.__all__) - CONSTANTS)


def test_all_names_exist():
    missing = [n for n in jaxfit.__all__ if not hasattr(jaxfit, n)]
    assert not missing


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_has_google_docstring_with_example(name):
    obj = getattr(jaxfit, name)
    doc = inspect.getdoc(obj) or ""
    if isinstance(
        obj, jaxfit.Metric
    ):  # metric instances document themselves in jaxfit._training.losses
        doc = inspect.getdoc(__import__("jaxfit._training.losses", fromlist=["x"])) or ""
        assert f"jaxfit.{name}" in doc
        return
    assert doc, f"jaxfit.{name} has no docstring"
    assert "Examples:" in doc and ">>>" in doc, f"jaxfit.{name} lacks a runnable example"
    if inspect.isfunction(obj):
        assert "Args:" in doc or not inspect.signature(obj).parameters
        assert "Returns:" in doc


def _doctests():
    finder = doctest.DocTestFinder()
    seen = set()
    for name in PUBLIC:
        obj = getattr(jaxfit, name)
        module = inspect.getmodule(obj) if not isinstance(obj, jaxfit.Metric) else None
        if module is None or module.__name__ in seen:
            continue
        seen.add(module.__name__)
        yield from (t for t in finder.find(module) if t.examples)


DOCTESTS = list(_doctests())


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_examples_run(test):
    for example in test.examples:  # the adapters' examples need their optional package
        optional = re.match(r"(?:from|import) (flax|equinox)\b", example.source)
        if optional:
            pytest.importorskip(optional[1])
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"{test.name}: {runner.failures} example(s) failed (see stdout)"


def _code_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize(
    "path", [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))], ids=lambda p: p.name
)
def test_markdown_python_blocks_run(path):
    _page_namespace(path)  # blocks of one page run in order, sharing names, like a notebook


def _optional_blocks():
    """```py blocks: examples that need a package jaxfit does not depend on (flax, equinox)."""
    for path in sorted((ROOT / "docs").glob("**/*.md")):
        text = path.read_text()
        for i, block in enumerate(re.findall(r"```py\n(.*?)```", text, flags=re.S)):
            # Each runs after the page's ```python blocks, whose names it may use.
            yield pytest.param(path, block, id=f"{path.name}-py{i}")


@pytest.mark.parametrize(("path", "block"), list(_optional_blocks()))
def test_optional_package_examples_run_where_installed(path, block):
    first = re.search(r"^import (\w+)", block, flags=re.M)
    assert first, f"{path.name}: a ```py block must start by importing its optional package"
    pytest.importorskip(first[1])
    namespace = dict(_page_namespace(path))  # a copy: blocks of other packages stay apart
    exec(compile(block, str(path), "exec"), namespace)


@functools.cache
def _page_namespace(path):
    """The names a page's ```python blocks define, run once per page and worker (the
    optional-package examples below reuse them)."""
    namespace: dict = {}
    for python_block in _code_blocks(path):
        exec(compile(python_block, str(path), "exec"), namespace)
    return namespace
