"""What a module exports: its ``__all__``, read one way for every codemod.

A name is exported when a module-level ``__all__ = [...]`` (or ``+=``, or an annotated
assignment) lists it as a string literal. When any assignment to ``__all__`` is something else
(a call, a concatenation with another module's list), the module's exports are *computed*: any
public name may be among them. The CST codemods read it from their tree with
:func:`exports`; the project-level plans, which see files only through :mod:`ast`, with
:func:`exports_from_ast`. Both apply the one rule in :func:`_collect`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst


@dataclass(frozen=True)
class Exports:
    #: The names listed literally, in source order (repeats kept out).
    names: tuple[str, ...] = ()
    #: Some assignment to ``__all__`` is not a literal list of strings.
    computed: bool = False
    #: Some assignment to ``__all__`` lists its names literally (``__all__ = []`` too).
    literal: bool = False

    def __contains__(self, name: object) -> bool:
        return name in self.names


def _collect(entries: Iterable[list[object] | None]) -> Exports:
    """The rule: each assignment's value is a literal list, tuple or set whose items are all
    strings (``entry``: the items' values), or else the exports are computed."""
    names: list[str] = []
    computed = literal = False
    for entry in entries:
        if entry is None or not all(isinstance(v, str) for v in entry):
            computed = True
            continue
        literal = True
        names.extend(n for n in entry if n not in names)  # type: ignore[misc]
    return Exports(tuple(names), computed, literal)


def _cst_entry(value: cst.BaseExpression | None) -> list[object] | None:
    import libcst as cst  # the `ast` reader below is the one the index uses: no LibCST there

    if not isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        return None
    items: list[object] = []
    for e in value.elements:
        if not isinstance(e, cst.Element) or not isinstance(
            e.value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            return None
        items.append(e.value.evaluated_value)
    return items


def _ast_entry(value: ast.expr | None) -> list[object] | None:
    if not isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return None
    if not all(isinstance(e, ast.Constant) for e in value.elts):
        return None
    return [e.value for e in value.elts]  # type: ignore[attr-defined]


def exports(module: cst.Module) -> Exports:
    """The module's ``__all__``, from its module-level simple statements."""
    import libcst as cst

    def entries() -> Iterable[list[object] | None]:
        for stmt in module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    pairs = [(t.target, small.value) for t in small.targets]
                elif isinstance(small, cst.AugAssign) or (
                    isinstance(small, cst.AnnAssign) and small.value is not None
                ):
                    pairs = [(small.target, small.value)]
                else:
                    continue
                for target, value in pairs:
                    if isinstance(target, cst.Name) and target.value == "__all__":
                        yield _cst_entry(value)

    return _collect(entries())


def exports_from_ast(tree: ast.Module) -> Exports:
    """The same, from the module's :mod:`ast` (what the project-level plans read)."""

    def entries() -> Iterable[list[object] | None]:
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign):
                targets = stmt.targets
            elif isinstance(stmt, ast.AugAssign) or (
                isinstance(stmt, ast.AnnAssign) and stmt.value is not None
            ):
                targets = [stmt.target]
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name) and target.id == "__all__":
                    yield _ast_entry(stmt.value)

    return _collect(entries())
