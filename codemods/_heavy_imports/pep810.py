"""heavy-imports' PEP 810 styles: the import stays where it is and is marked lazy, with the
``lazy`` keyword (``style = "lazy-keyword"``) or by naming its module in ``__lazy_modules__``
(``style = "lazy-modules"``)."""

from __future__ import annotations

import libcst as cst

from codemods import _cst as u
from codemods._heavy_imports.plan import Binding


def apply_lazy_keyword(module: cst.Module, chosen: list[Binding]) -> cst.Module:
    by_stmt: dict[int, set[int]] = {}
    for b in chosen:
        by_stmt.setdefault(b.stmt_index, set()).update(id(a) for a in [b.alias, *b.duplicates])
    body = list(module.body)
    out: list[cst.BaseStatement] = []
    for i, stmt in enumerate(body):
        if i not in by_stmt or not isinstance(stmt, cst.SimpleStatementLine):
            out.append(stmt)
            continue
        ids = by_stmt[i]
        extra: list[cst.BaseStatement] = []
        smalls: list[cst.BaseSmallStatement] = []
        for small in stmt.body:
            if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(small.names, cst.ImportStar):
                smalls.append(small)
                continue
            lazy = [a for a in small.names if id(a) in ids]
            rest = [a for a in small.names if id(a) not in ids]
            if not lazy:
                smalls.append(small)
                continue
            if rest:
                rest[-1] = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                smalls.append(small.with_changes(names=rest))
                lazy[-1] = lazy[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                extra.append(
                    cst.SimpleStatementLine(
                        body=[
                            _lazy_node(
                                u.without_parens(small, names=lazy)
                                if isinstance(small, cst.ImportFrom)
                                else small.with_changes(names=lazy)
                            )
                        ]
                    )
                )
            else:
                smalls.append(_lazy_node(small))
        out.append(stmt.with_changes(body=smalls))
        out.extend(extra)
    return module.with_changes(body=out)


def _lazy_node(small: cst.Import | cst.ImportFrom) -> cst.BaseSmallStatement:
    if isinstance(small, cst.Import):
        return cst.LazyImport(
            names=small.names,
            semicolon=small.semicolon,
            whitespace_after_import=small.whitespace_after_import,
        )
    return cst.LazyImportFrom(
        module=small.module,
        names=small.names,
        relative=small.relative,
        lpar=small.lpar,
        rpar=small.rpar,
        semicolon=small.semicolon,
        whitespace_after_from=small.whitespace_after_from,
        whitespace_before_import=small.whitespace_before_import,
        whitespace_after_import=small.whitespace_after_import,
    )


def apply_lazy_modules(module: cst.Module, chosen: list[Binding]) -> cst.Module:
    wanted = list(dict.fromkeys(b.module for b in sorted(chosen, key=lambda b: b.stmt_index)))
    body = list(module.body)
    for i, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        small = stmt.body[0]
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and small.targets[0].target.value == "__lazy_modules__"
            and isinstance(small.value, (cst.List, cst.Tuple))
        ):
            have = [
                e.value.evaluated_value for e in small.value.elements if isinstance(e.value, cst.SimpleString)
            ]
            names = list(dict.fromkeys([*have, *wanted]))
            new = cst.parse_statement(f"__lazy_modules__ = {names!r}\n".replace("'", '"'))
            body[i] = new.with_changes(
                leading_lines=stmt.leading_lines, trailing_whitespace=stmt.trailing_whitespace
            )
            return module.with_changes(body=body)
    new = cst.parse_statement(f"__lazy_modules__ = {wanted!r}\n".replace("'", '"'))
    idx = u.body_insert_index(body, after_future=True)
    if idx < len(body):
        first = body[idx]
        new = new.with_changes(leading_lines=getattr(first, "leading_lines", []))
        body[idx] = first.with_changes(leading_lines=[])  # type: ignore[call-arg]
    if idx > 0:
        new = new.with_changes(
            leading_lines=[cst.EmptyLine()] if not new.leading_lines else new.leading_lines
        )
    body.insert(idx, new)
    return module.with_changes(body=body)
