"""heavy-imports' optional-dependency blocks: ``try: import torch; X_AVAILABLE = True / except
ImportError: X_AVAILABLE = False`` runs on the first read of its flag instead of at import.

:func:`try_block` decides whether a module-level ``try`` is such a block (only imports, one
boolean flag set on every path, ``except`` clauses for import errors only) and reports it;
:func:`flag_replacement` and :func:`add_module_getattr` are its rewrite: the block moves into a
cached probe function, and other modules reach the flag through the module ``__getattr__``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import libcst as cst

from codemods import _cst as u
from codemods._api import Blocked, Finding, Safety
from codemods._getattr import add_getattr_branches
from codemods._heavy_imports import CODE
from codemods._heavy_imports.context import context, function_ancestors, outermost, within
from codemods._heavy_imports.plan import Binding, FlagBlock

if TYPE_CHECKING:
    from codemods._heavy_imports.analysis import Analyzer

IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def try_block(an: Analyzer, node: cst.Try, index: int) -> None:
    heavy = [
        (small, alias)
        for stmt in node.body.body
        for small in u.iter_small_statements(stmt)
        if isinstance(small, (cst.Import, cst.ImportFrom))
        for alias in (an.heavy_aliases(small) or [])
    ]
    if not heavy:
        an.block_nested(node, "imported conditionally at module level")
        return
    try:
        block = _flag_block(an, node, index)
    except Blocked as e:
        where = f" on line {an.ctx.line(e.node)}" if e.node is not None else ""
        an.findings.append(
            Finding(
                code=CODE,
                message=f"optional-dependency block stays at module level: {e.reason}{where}",
                span=an.ctx.span(node),
                reason=e.reason,
                related=((an.ctx.span(e.node), e.reason),) if e.node is not None else (),
            )
        )
        return
    mods = ", ".join(b.module for b in block.bindings)
    safety = Safety.UNSAFE if any(an.risks.get(b.key) for b in block.bindings) else Safety.SAFE
    an.flags[block.flag] = block
    an.findings.append(
        Finding(
            code=CODE,
            message=f"optional imports of {mods} run at import to set `{block.flag}`",
            span=an.ctx.span(node),
            fix_key=block.flag,
            safety=safety,
            help=f"Run the block on the first read of `{block.flag}`, through `{block.probe}()`",
        )
    )


def _flag_value(small: cst.BaseSmallStatement) -> tuple[str, str | None] | None:
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ):
        v = small.value
        if isinstance(v, cst.Name) and v.value in ("True", "False"):
            return small.targets[0].target.value, "bool"
    return None


def _flag_block(an: Analyzer, node: cst.Try, index: int) -> FlagBlock:
    if an.style != "local":
        raise Blocked("PEP 810 lazy imports do not apply inside `try` blocks", node)
    if node.finalbody is not None:
        raise Blocked("the block has a `finally` clause", node.finalbody)
    imports: list[cst.Import | cst.ImportFrom] = []
    flags_ok: dict[str, set[str | None]] = {}
    paths: list[set[str]] = []

    def flags_in(stmts: Iterable[cst.BaseStatement], allow_imports: bool, allow_calls: bool) -> set[str]:
        assigned: set[str] = set()
        for stmt in stmts:
            if not isinstance(stmt, cst.SimpleStatementLine):
                raise Blocked("the block holds more than imports and flag assignments", stmt)
            for small in stmt.body:
                fv = _flag_value(small)
                if isinstance(small, (cst.Import, cst.ImportFrom)) and allow_imports:
                    if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar):
                        raise Blocked("star import in the block", small)
                    imports.append(small)
                elif fv is not None:
                    assigned.add(fv[0])
                    flags_ok.setdefault(fv[0], set()).add(fv[1])
                elif (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and small.targets[0].target.value in imported_names()
                ):
                    name = small.targets[0].target.value
                    raise Blocked(f"`{name}` gets a fallback value when the import fails", small)
                elif isinstance(small, cst.Pass):
                    pass
                elif allow_calls and isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                    pass
                else:
                    raise Blocked("the block holds more than imports and flag assignments", small)
        return assigned

    def imported_names() -> set[str]:
        return {
            u.alias_binding(a)
            for imp in imports
            if not isinstance(imp.names, cst.ImportStar)
            for a in imp.names
        }

    main_path = flags_in(node.body.body, allow_imports=True, allow_calls=False)
    if node.orelse is not None:
        main_path |= flags_in(node.orelse.body.body, allow_imports=False, allow_calls=False)
    paths.append(main_path)
    for handler in node.handlers:
        names = _handler_names(handler)
        if not names or not names <= IMPORT_ERRORS:
            raise Blocked("an `except` clause catches more than import errors", handler)
        if handler.name is not None:
            raise Blocked("an `except` clause binds the exception", handler)
        paths.append(flags_in(handler.body.body, allow_imports=False, allow_calls=True))
    if len(flags_ok) != 1:
        raise Blocked("the block sets no flag" if not flags_ok else "the block sets several flags", node)
    flag = next(iter(flags_ok))
    if any(flag not in p for p in paths):
        raise Blocked(f"`{flag}` is not set on every path", node)
    types = flags_ok[flag]
    flag_type = "bool" if types == {"bool"} else None

    if an.getattr_index is not None and not an.getattr_generated:
        raise Blocked("the module defines its own `__getattr__`", an.module.body[an.getattr_index])
    if flag in an.globals_declared:
        raise Blocked(f"declared `global {flag}` in a function", an.globals_declared[flag])

    bindings: list[Binding] = []
    users: list[cst.CSTNode] = []
    for small in imports:
        if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar):
            raise Blocked("star import in the block", small)
        for alias in small.names:  # type: ignore[union-attr]
            b = Binding(u.alias_binding(alias), alias, small, index, in_try=node)
            an.analyze_binding(b, allowed_rebind=node)
            if b.quote:
                raise Blocked(f"`{b.name}` is used in annotations evaluated at import", b.quote[0])
            users.extend(b.targets)
            bindings.append(b)

    # The flag's own reads.
    reads: list[tuple[cst.Name, cst.CSTNode]] = []
    for a in an.in_source_order(an.gscope.assignments[flag]):
        anode = getattr(a, "node", None)
        if anode is not None and not within(anode, node, an.parents):
            raise Blocked(f"`{flag}` is also assigned outside the block", anode)
        for access in an.in_source_order(a.references):
            n = access.node
            if isinstance(n, (cst.SimpleString, cst.ConcatenatedString)):
                continue
            where, target, kind = context(n, an.parents)
            if where in ("function", "main") and isinstance(n, cst.Name):
                outer = [*function_ancestors(n, an.parents)]
                reads.append((n, outer[-1] if outer else target))
                continue
            raise Blocked(f"`{flag}` is read at module level ({kind or 'lambda'})", n)

    taken = {a.name for a in an.gscope.assignments}
    probe = "_" + flag.lower()
    while probe in taken or probe == flag:
        probe += "_"
    targets = outermost(users, an.parents, an.sort_nodes)
    return FlagBlock(
        node=node,
        stmt_index=index,
        flag=flag,
        probe=probe,
        flag_type=flag_type,
        bindings=bindings,
        reads=reads,
        targets=targets,
        touched={an.top(n) for n in [*targets, *(r for r, _ in reads)]},
    )


def _handler_names(handler: cst.ExceptHandler) -> set[str]:
    t = handler.type
    if t is None:
        return {"BaseException"}
    items = [e.value for e in t.elements] if isinstance(t, cst.Tuple) else [t]
    return {(u.dotted_name(i) or "?").split(".")[-1] for i in items}


def flag_replacement(f: FlagBlock, original: cst.BaseStatement) -> list[cst.BaseStatement]:
    names = [f.flag, *dict.fromkeys(b.name for b in f.bindings)]
    decl_type = f.flag_type or "object"
    returns = f" -> {f.flag_type}" if f.flag_type else ""
    try_node = original.with_changes(leading_lines=[])  # type: ignore[call-arg]
    func = cst.parse_statement(
        f"def {f.probe}(){returns}:\n"
        f'    """Run the optional-import block for `{f.flag}` once, on first use (lazify)."""\n'
        f"    global {', '.join(names)}\n"
        f'    if "{f.flag}" not in globals():\n'
        f"        pass\n"
        f"    return {f.flag}\n"
    )
    assert isinstance(func, cst.FunctionDef) and isinstance(func.body, cst.IndentedBlock)
    if_stmt = func.body.body[2]
    assert isinstance(if_stmt, cst.If)
    if_stmt = if_stmt.with_changes(body=if_stmt.body.with_changes(body=[try_node]))
    func = func.with_changes(
        body=func.body.with_changes(body=[func.body.body[0], func.body.body[1], if_stmt, func.body.body[3]]),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )
    decl = cst.parse_statement(f"{f.flag}: {decl_type}\n").with_changes(
        leading_lines=getattr(original, "leading_lines", [])
    )
    return [decl, func]


def add_module_getattr(body: list[cst.BaseStatement], flags: list[FlagBlock]) -> list[cst.BaseStatement]:
    probes = {f.probe for f in flags}
    last_probe = max(
        i for i, s in enumerate(body) if isinstance(s, cst.FunctionDef) and s.name.value in probes
    )
    return add_getattr_branches(body, [(f.flag, f"{f.probe}()") for f in flags], last_probe)
