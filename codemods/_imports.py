"""Where module-level code may go, and adding imports where isort would put them.

Every codemod that adds a module-level statement asks here. Two rules hold for all of them:

* Nothing goes above the module docstring or a ``from __future__`` import.
* Nothing goes above the binding of a name it reads at import: an ``if TYPE_CHECKING:`` block
  comes after the import that binds ``TYPE_CHECKING``, a lock after ``import threading``. The
  guard is spelled with a name the module binds with a plain import at the top, never with a
  name the rewrite is moving away.

New imports join the leading import section the way isort and ruff's ``I`` rules order it
(their defaults): groups for the standard library, third-party packages and the project, in that
order and separated by a blank line; in each group plain ``import x`` lines first, then
``from x import y`` lines, each sorted by module; names in a from-import constants first, then
classes, then the rest. ``if TYPE_CHECKING:`` blocks follow the import section.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

import libcst as cst

from codemods._cst import (
    BindingNames,
    alias_binding,
    body_insert_index,
    dotted_name,
    ensure_blank_lines,
    is_future_import,
    is_type_checking_test,
)

#: black's and ruff's default line length: an import that would grow past it gets a line of
#: its own instead (black would otherwise reformat it, and a formatted file must stay so).
LINE_LENGTH = 88

#: The indentation of an ``if TYPE_CHECKING:`` block's imports (black's four spaces).
_BLOCK_INDENT = 4
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__"}
_SECTIONS = ("future", "stdlib", "thirdparty", "firstparty", "local")


def is_import_line(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)
        and not is_future_import(stmt)
    )


def _is_type_checking_block(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.If) and is_type_checking_test(stmt.test)


def module_start(body: Sequence[cst.BaseStatement]) -> int:
    """The first index where a statement may go: after the docstring and ``__future__`` imports."""
    return body_insert_index(body, after_future=True)


def import_section(body: Sequence[cst.BaseStatement]) -> tuple[int, int]:
    """``(start, end)`` of the imports at the top of the module (``if TYPE_CHECKING:`` blocks
    among them included); ``start == end`` when the module doesn't begin with imports."""
    start = end = module_start(body)
    while end < len(body) and (is_import_line(body[end]) or _is_type_checking_block(body[end])):
        end += 1
    return start, end


def bindings(stmt: cst.BaseStatement) -> set[str]:
    """The module-level names a top-level statement binds when it runs (not under
    ``if TYPE_CHECKING:``, not inside functions or classes)."""

    class V(BindingNames):
        def visit_If(self, node: cst.If) -> bool:
            if is_type_checking_test(node.test):
                if node.orelse is not None:
                    node.orelse.visit(self)
                return False
            return True

    v = V()
    stmt.visit(v)
    return v.names


def floor(body: Sequence[cst.BaseStatement], names: Iterable[str]) -> int:
    """The first index where a statement that reads ``names`` at import may go: after the
    docstring, ``__future__`` imports, and the first binding of each name the module binds."""
    wanted = set(names)
    at = module_start(body)
    for i, stmt in enumerate(body):
        if not wanted:
            break
        bound = wanted & bindings(stmt)
        if bound:
            at = max(at, i + 1)
            wanted -= bound
    return at


# -- TYPE_CHECKING -------------------------------------------------------------------------------


def type_checking_guard(body: Sequence[cst.BaseStatement]) -> str | None:
    """How the module spells ``TYPE_CHECKING`` with a plain top-level import it keeps
    (``TYPE_CHECKING``, ``t.TYPE_CHECKING``), or None when it has none. Read from the body as
    the rewrite leaves it, so an import being moved away is never used as the guard; only the
    import section counts, so the guard is bound before any code that reads it."""
    for stmt in body[: import_section(body)[1]]:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if (
                isinstance(small, cst.ImportFrom)
                and dotted_name(small.module) == "typing"
                and not small.relative
            ):
                if isinstance(small.names, cst.ImportStar):
                    return "TYPE_CHECKING"
                for a in small.names:
                    if dotted_name(a.name) == "TYPE_CHECKING":
                        return alias_binding(a)
            if isinstance(small, cst.Import):
                for a in small.names:
                    if dotted_name(a.name) == "typing":
                        return f"{alias_binding(a)}.TYPE_CHECKING"
    return None


def ensure_type_checking(body: list[cst.BaseStatement], first_party: frozenset[str] = frozenset()) -> str:
    """Make sure the module binds a ``TYPE_CHECKING`` guard; returns its spelling."""
    guard = type_checking_guard(body)
    if guard is None:
        add_import(body, "from typing import TYPE_CHECKING", first_party=first_party)
        guard = "TYPE_CHECKING"
    return guard


def add_type_checking_imports(
    body: list[cst.BaseStatement], lines: Sequence[str], first_party: frozenset[str] = frozenset()
) -> list[cst.BaseStatement]:
    """Put import ``lines`` under ``if TYPE_CHECKING:``: in the module's block after its
    imports, else in a new one there (after the guard's own import). ``first_party`` as for
    :func:`add_import`."""
    guard = ensure_type_checking(body, first_party)
    start, end = import_section(body)
    for i in range(start, end):
        block = body[i]
        if (
            _is_type_checking_block(block)
            and block.orelse is None
            and isinstance(block.body, cst.IndentedBlock)
        ):
            stmts = list(block.body.body)
            for code in lines:
                stmts = add_import(stmts, code, first_party=first_party, indent=_BLOCK_INDENT)
            body[i] = block.with_changes(body=block.body.with_changes(body=stmts))
            return body
    stmts = []
    for code in lines:
        stmts = add_import(stmts, code, first_party=first_party, indent=_BLOCK_INDENT)
    block = cst.parse_statement(f"if {guard}:\n    pass\n")
    assert isinstance(block, cst.If) and isinstance(block.body, cst.IndentedBlock)
    block = block.with_changes(body=block.body.with_changes(body=stmts))
    return insert_after_imports(body, [block], reads={guard.split(".")[0]})


def insert_after_imports(
    body: list[cst.BaseStatement], stmts: Sequence[cst.BaseStatement], *, reads: Iterable[str] = ()
) -> list[cst.BaseStatement]:
    """Insert ``stmts`` after the import section (and after the binding of every name in
    ``reads``), with the blank line black puts between imports and code."""
    at = max(import_section(body)[1], floor(body, reads))
    new = list(stmts)
    if at > 0:
        new[0] = ensure_blank_lines(new[0], 1, indent=False)
    # What follows keeps its own blank lines: those black puts after imports (or before a
    # def) now separate it from the block.
    body[at:at] = new
    return body


# -- adding imports ----------------------------------------------------------------------------


def _module_of(small: cst.Import | cst.ImportFrom) -> str:
    if isinstance(small, cst.Import):
        return dotted_name(small.names[0].name) or ""
    return "." * len(small.relative) + (dotted_name(small.module) or "")


def _section(module: str, first_party: frozenset[str]) -> int:
    top = module.split(".")[0]
    if module.startswith("."):
        return _SECTIONS.index("local")
    if top == "__future__":
        return _SECTIONS.index("future")
    if top in first_party:
        return _SECTIONS.index("firstparty")
    if top in _STDLIB:
        return _SECTIONS.index("stdlib")
    return _SECTIONS.index("thirdparty")


def _sort_key(small: cst.Import | cst.ImportFrom) -> tuple[int, str]:
    """isort's order in a group (force-sort-within-sections off): plain imports, then from-imports."""
    return (0 if isinstance(small, cst.Import) else 1, _module_of(small).lower())


def _name_key(name: str) -> tuple[int, str]:
    """isort's order-by-type: CONSTANTS, Classes, functions and the rest."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name.lower())
    return (2, name.lower())


def _blank(line: cst.EmptyLine) -> bool:
    return line.comment is None and not line.whitespace.value


def _already_bound(body: Sequence[cst.BaseStatement], new: cst.Import | cst.ImportFrom) -> bool:
    """The import section already has this import as a plain line (same names, no ``as``)."""
    assert not isinstance(new.names, cst.ImportStar)
    want = {
        (_module_of(new) if isinstance(new, cst.ImportFrom) else "", dotted_name(a.name)) for a in new.names
    }
    have = set()
    for stmt in body[: import_section(body)[1]]:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if type(small) is not type(new) or isinstance(small.names, cst.ImportStar):  # type: ignore[union-attr]
                continue
            prefix = _module_of(small) if isinstance(small, cst.ImportFrom) else ""  # type: ignore[arg-type]
            have.update((prefix, dotted_name(a.name)) for a in small.names if a.asname is None)  # type: ignore[union-attr]
    return want <= have


def _extend_from_import(
    body: list[cst.BaseStatement], start: int, end: int, new: cst.ImportFrom, indent: int
) -> bool:
    """Add the names of ``new`` to an existing one-line ``from <module> import ...`` in the
    import section, in isort's order, when the line (at ``indent``) stays within the line
    length."""
    module = _module_of(new)
    for i in range(start, end):
        stmt = body[i]
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
            continue
        small = stmt.body[0]
        if not (
            isinstance(small, cst.ImportFrom)
            and _module_of(small) == module
            and not isinstance(small.names, cst.ImportStar)
            and small.lpar is None
        ):
            continue
        names = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in small.names]
        for a in new.names:  # type: ignore[union-attr]
            key = _name_key(dotted_name(a.name) or "")
            at = next(
                (j for j, b in enumerate(names) if _name_key(dotted_name(b.name) or "") > key), len(names)
            )
            names.insert(at, a.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        names = [a.with_changes(comma=comma) for a in names[:-1]] + [names[-1]]
        extended = stmt.with_changes(body=[small.with_changes(names=names)])
        if indent + len(cst.Module(body=[extended]).code.rstrip("\r\n")) > LINE_LENGTH:
            return False
        body[i] = extended
        return True
    return False


def exploded(code: str) -> str:
    """``from m import a, b`` as black writes a from-import too long for one line."""
    head, _, names = code.partition(" import ")
    return f"{head} import (\n" + "".join(f"    {n},\n" for n in names.split(", ")) + ")"


def fitted(code: str, indent: int) -> str:
    """A from-import ``code`` as black writes it at ``indent``: exploded when too long."""
    if indent + len(code) > LINE_LENGTH and code.startswith("from ") and "(" not in code:
        return exploded(code)
    return code


def add_import(
    body: list[cst.BaseStatement],
    code: str,
    *,
    first_party: frozenset[str] = frozenset(),
    indent: int = 0,
) -> list[cst.BaseStatement]:
    """Add the import ``code`` (one statement) unless the module already has it, where isort
    would put it. ``first_party``: the project's own top-level packages; ``indent``: the
    block's indentation, for the line length."""
    line = cst.parse_statement(fitted(code, indent) + "\n")
    assert isinstance(line, cst.SimpleStatementLine) and isinstance(
        line.body[0], (cst.Import, cst.ImportFrom)
    )
    new = line.body[0]
    if _already_bound(body, new):
        return body
    start, end = import_section(body)
    if isinstance(new, cst.ImportFrom) and _extend_from_import(body, start, end, new, indent):
        return body
    section = _section(_module_of(new), first_party)
    key = _sort_key(new)
    imports = [i for i in range(start, end) if is_import_line(body[i])]
    if not imports:
        return _insert_first_import(body, start, line)
    # The group of the same section, else the position between sections.
    same = [i for i in imports if _section(_module_of(body[i].body[0]), first_party) == section]  # type: ignore[attr-defined]
    if same:
        group = _group_of(body, same[0], end)
        at = group[0]
        for i in group:
            if _sort_key(body[i].body[0]) <= key:  # type: ignore[attr-defined]
                at = i + 1
        if at == group[0]:
            # First of its group: the group's leading blank lines and comments stay in front.
            first = body[at]
            line = line.with_changes(leading_lines=first.leading_lines)  # type: ignore[attr-defined]
            body[at] = first.with_changes(leading_lines=[])  # type: ignore[call-arg]
        body.insert(at, line)
        return body
    later = [i for i in imports if _section(_module_of(body[i].body[0]), first_party) > section]  # type: ignore[attr-defined]
    if later:
        # A new group in front of the first later one.
        at = later[0]
        while at > start and at - 1 in imports and not _starts_group(body[at]):
            at -= 1
        first = body[at]
        line = line.with_changes(leading_lines=first.leading_lines)  # type: ignore[attr-defined]
        body[at] = first.with_changes(leading_lines=[cst.EmptyLine(indent=False)])  # type: ignore[call-arg]
        body.insert(at, line)
        return body
    # A new group after the last import line.
    at = imports[-1] + 1
    body.insert(at, line.with_changes(leading_lines=[cst.EmptyLine(indent=False)]))
    return body


def _starts_group(stmt: cst.BaseStatement) -> bool:
    return any(_blank(line) for line in getattr(stmt, "leading_lines", ()))


def _group_of(body: Sequence[cst.BaseStatement], i: int, end: int) -> list[int]:
    """The indexes of the blank-line-separated run of import lines holding ``i``."""
    lo = i
    while lo > 0 and is_import_line(body[lo - 1]) and not _starts_group(body[lo]):
        lo -= 1
    hi = i + 1
    while hi < end and is_import_line(body[hi]) and not _starts_group(body[hi]):
        hi += 1
    return list(range(lo, hi))


def _insert_first_import(
    body: list[cst.BaseStatement], start: int, line: cst.SimpleStatementLine
) -> list[cst.BaseStatement]:
    """The module's first import: after the docstring and ``__future__`` imports, with a blank
    line before the code that follows."""
    if start < len(body):
        first = body[start]
        line = line.with_changes(leading_lines=list(getattr(first, "leading_lines", ())))
        body[start] = ensure_blank_lines(first.with_changes(leading_lines=[]), 1, indent=False)  # type: ignore[call-arg]
        if isinstance(first, (cst.FunctionDef, cst.ClassDef)):
            body[start] = ensure_blank_lines(body[start], 2, indent=False)
    if start > 0 and not line.leading_lines and is_future_import(body[start - 1]):
        line = line.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
    body.insert(start, line)
    return body
