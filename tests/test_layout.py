"""The package's layout stays as docs/architecture.md draws it: wings, one-way, explicit seams.

Read from the source with ``ast`` (nothing is imported), so a violation names the file and
line. The rules:

- dependencies between wings run one way, ``_hp`` <- ``_training`` <- ``_cv`` <- ``_sweeping``
  <- ``_selection`` <- ``_cli`` (``_checks`` and ``_version`` sit below all of them);
- a wing uses another only through that wing's ``__init__`` (``from .._training import fit``)
  and only names its ``__all__`` lists, none with a leading underscore;
- nothing imports the package face (``jaxfit/__init__.py``);
- no import circle between modules (imports under ``if TYPE_CHECKING:`` do not count: they
  never run);
- ``import jaxfit`` loads no command-line module.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "jaxfit"
# Lower number = lower layer. A wing may import from wings with a smaller number only.
LAYERS = {
    "_checks": 0,
    "_version": 0,
    "_hp": 1,
    "_training": 2,
    "_cv": 3,
    "_sweeping": 4,
    "_selection": 5,
    "_cli": 6,
}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: pathlib.Path) -> bool:
    return path.name == "__init__.py"


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(path: pathlib.Path):
    """``(line, target module, names)`` for every import of a jaxfit module in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_lines(tree)
    here = _module_name(path)
    package = here if _is_package(path) else here.rpartition(".")[0]
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "jaxfit" or target.startswith("jaxfit."):
                names = [a.name for a in node.names]
                # `from . import figures` imports a module, not a name of the package.
                if not node.module:
                    for name in names:
                        if (ROOT.parent / (target.replace(".", "/") + "/" + name + ".py")).exists():
                            yield node.lineno, f"{target}.{name}", []
                        else:
                            yield node.lineno, target, [name]
                else:
                    yield node.lineno, target, names
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "jaxfit" or alias.name.startswith("jaxfit."):
                    yield node.lineno, alias.name, []


def _wing(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _sources():
    return sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


def _public_names(wing: str) -> set[str]:
    init = ROOT / wing / "__init__.py"
    if not init.exists():  # a one-module wing (_checks.py, _version.py)
        init = ROOT / f"{wing}.py"
    tree = ast.parse(init.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return set()


def test_every_module_belongs_to_a_known_wing():
    for path in _sources():
        wing = _wing(_module_name(path))
        assert wing in LAYERS, f"{path}: jaxfit/{wing} is not a wing listed in LAYERS"


def test_nothing_imports_the_package_face():
    bad = [
        f"{path.relative_to(ROOT.parent)}:{line} imports {target}"
        for path in _sources()
        for line, target, _ in _imports(path)
        if target == "jaxfit"
    ]
    assert not bad, "\n".join(bad)


def test_wings_depend_one_way_and_only_through_their_faces():
    bad = []
    for path in _sources():
        own = _wing(_module_name(path))
        for line, target, names in _imports(path):
            other = _wing(target)
            if other is None or other == own:
                continue
            where = f"{path.relative_to(ROOT.parent)}:{line}"
            if LAYERS[other] >= LAYERS[own]:
                bad.append(
                    f"{where}: {own} (layer {LAYERS[own]}) imports {target}, a wing "
                    f"at layer {LAYERS[other]}: dependencies must run downward"
                )
                continue
            face = f"jaxfit.{other}"
            if target != face:
                bad.append(
                    f"{where}: imports {target}; use `from ..{other} import ...`, the "
                    f"names {other}/__init__.py exports"
                )
                continue
            public = _public_names(other)
            for name in names:
                if name.startswith("_") or name not in public:
                    bad.append(f"{where}: {name} is not in {other}'s __all__")
    assert not bad, "\n".join(bad)


def test_no_import_circle():
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p) for p in ROOT.rglob("*.py")}
    for path in ROOT.rglob("*.py"):
        here = _module_name(path)
        deps = graph.setdefault(here, set())
        for _, target, names in _imports(path):
            if target in modules and target != here:
                deps.add(target)
            for name in names:  # `from .x import y` where y is a module
                if f"{target}.{name}" in modules:
                    deps.add(f"{target}.{name}")
    # A wing's __init__ re-exports its own modules; an edge into a package from inside it
    # would be a circle through the face, so those count like any other.
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                circles.append(" -> ".join([*stack[stack.index(d) :], d]))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    # jaxfit/__init__ imports everything by design and nothing imports it back (tested above).
    assert not circles, "\n".join(circles)


@pytest.mark.parametrize("forbidden", ["jaxfit._cli", "matplotlib", "sklearn", "pandas"])
def test_import_jaxfit_is_light(forbidden):
    code = "import jaxfit, sys; print(sorted(m for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = [m for m in ast.literal_eval(out) if m == forbidden or m.startswith(forbidden + ".")]
    assert not loaded, f"import jaxfit loaded {loaded}"
