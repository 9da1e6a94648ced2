"""What each codemod is, read from its source without importing it (no LibCST).

``lazify codemods``, ``lazify explain`` and ``--help`` show a codemod's code, name, summary and
documentation. Those live on the codemod's class (``code = "LZY001"``, the docstring), and
importing the class means importing LibCST, which is most of lazify's start-up time. So this
module reads them the way a documentation tool does: ``ast`` over the module's source, taking
the class docstring and its literal class attributes. ``tests/test_catalog.py`` holds every
entry to the imported class.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from codemods import MODULES


@dataclass(frozen=True)
class Entry:
    code: str
    name: str
    summary: str
    doc: str
    module: str
    cls: str


@functools.cache
def entries() -> tuple[Entry, ...]:
    """Every codemod, by code."""
    return tuple(sorted((_read(m, c) for m, c in MODULES), key=lambda e: e.code))


def find(key: str) -> Entry | None:
    """The codemod named ``key`` (its name, or its code in any case)."""
    for e in entries():
        if key in (e.code, e.name) or key.upper() == e.code:
            return e
    return None


def _literal(value: ast.expr, tree: ast.Module) -> str | None:
    """A string literal, or a name for one: a module-level constant of this module or one it
    imports by name (``code = CODE``, ``from codemods._heavy_imports import CODE``)."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    if not isinstance(value, ast.Name):
        return None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == value.id for t in stmt.targets
        ):
            return _literal(stmt.value, tree)
        if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
            for alias in stmt.names:
                if (alias.asname or alias.name) == value.id:
                    spec = importlib.util.find_spec(stmt.module)
                    if spec is None or spec.origin is None:
                        return None
                    other = ast.parse(Path(spec.origin).read_bytes())
                    return _literal(ast.Name(alias.name), other)
    return None


def _read(module: str, cls: str) -> Entry:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise LookupError(f"codemod module {module} not found")
    tree = ast.parse(Path(spec.origin).read_bytes())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    attrs = {
        t.id: value
        for s in node.body
        if isinstance(s, ast.Assign) and (value := _literal(s.value, tree)) is not None
        for t in s.targets
        if isinstance(t, ast.Name)
    }
    return Entry(
        code=attrs["code"],
        name=attrs["name"],
        summary=attrs["summary"],
        doc=ast.get_docstring(node, clean=False) or "",
        module=module,
        cls=cls,
    )
