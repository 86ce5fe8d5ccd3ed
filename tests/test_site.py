"""The documentation site: it builds strictly, documents every public name, orphans no page."""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

import jaxfit

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# `::: jaxfit.fit` renders the docstring of jaxfit.fit (mkdocstrings); options may follow.
DIRECTIVE = re.compile(r"^:::\s+jaxfit\.(\S+)\s*$", flags=re.M)
TOOLCHAIN = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "yaml")


def _missing_toolchain() -> list[str]:
    missing = []
    for module in TOOLCHAIN:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package of a dotted name is missing
            found = False
        if not found:
            missing.append(module)
    return missing


def _api_directives() -> dict[str, list[str]]:
    """Documented name -> the API pages whose ``::: jaxfit.<name>`` directives render it."""
    found: dict[str, list[str]] = {}
    for page in sorted((DOCS / "api").glob("*.md")):
        for name in DIRECTIVE.findall(page.read_text()):
            found.setdefault(name, []).append(page.name)
    return found


def _nav_pages(node) -> list[str]:
    """Every page path in mkdocs.yml's nav (nested sections, titled or not)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [p for value in node.values() for p in _nav_pages(value)]
    if isinstance(node, list):
        return [p for item in node for p in _nav_pages(item)]
    return []


def _nav() -> list[str]:
    yaml = pytest.importorskip("yaml", reason="PyYAML (installed with mkdocs) reads mkdocs.yml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return _nav_pages(config["nav"])


def test_every_public_name_is_on_an_api_page():
    documented = _api_directives()
    missing = sorted(set(jaxfit.__all__) - set(documented))
    assert not missing, (
        f"public names with no `::: jaxfit.<name>` directive in docs/api/*.md: {missing}; add "
        "each to the API page of its area (docs/api/index.md lists the areas)."
    )


def test_api_pages_document_public_names_once():
    documented = _api_directives()
    private = sorted(n for n in documented if n.split(".")[0] not in jaxfit.__all__)
    assert not private, f"API directives for names outside jaxfit.__all__: {private}"
    twice = {n: pages for n, pages in documented.items() if len(pages) > 1}
    assert not twice, f"names rendered on several API pages (their anchors collide): {twice}"


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    nav = _nav()
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.glob("**/*.md"))
    orphans = sorted(set(pages) - set(nav))
    assert not orphans, f"docs pages missing from the nav of mkdocs.yml: {orphans}"
    dangling = sorted(p for p in nav if not (DOCS / p).is_file())
    assert not dangling, f"nav entries of mkdocs.yml without a page: {dangling}"


def test_site_builds_strictly(tmp_path):
    missing = _missing_toolchain()
    if missing:
        pytest.skip(f"the docs toolchain is not installed ({', '.join(missing)}): "
                    "pip install -e '.[docs]'")  # fmt: skip
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # material's banner about mkdocs 2
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    # Each directive rendered its object: mkdocstrings gives it the anchor id="jaxfit.<name>".
    html = "".join(p.read_text() for p in (site / "api").glob("**/*.html"))
    unrendered = sorted(n for n in _api_directives() if f'id="jaxfit.{n}"' not in html)
    assert not unrendered, f"API directives that rendered nothing: {unrendered}"
