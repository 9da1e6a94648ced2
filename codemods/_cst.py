"""Small LibCST helpers shared by the codemods. Pure functions on nodes; no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import libcst as cst


def dotted_name(node: cst.BaseExpression | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else ``None``."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def import_module_name(node: cst.ImportFrom) -> str:
    """The module of a from-import as written, with its leading dots."""
    dots = "." * len(node.relative)
    mod = dotted_name(node.module) if node.module is not None else ""
    return dots + (mod or "")


def without_parens(node: cst.ImportFrom, **changes: object) -> cst.ImportFrom:
    """``node`` with ``changes`` and without its parentheses; ``from m import(a)`` needs a
    space after ``import`` once they are gone."""
    space = node.whitespace_after_import
    if not space.value:
        space = cst.SimpleWhitespace(" ")
    return node.with_changes(**changes, lpar=None, rpar=None, whitespace_after_import=space)


def alias_binding(alias: cst.ImportAlias) -> str:
    """The name an import alias binds: ``np`` for ``numpy as np``, ``a`` for ``import a.b``."""
    if alias.asname is not None:
        return alias.asname.name.value  # type: ignore[union-attr]
    full = dotted_name(alias.name) or ""
    return full.split(".")[0]


def is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def is_future_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, cst.ImportFrom) and s.module is not None and dotted_name(s.module) == "__future__"
        for s in stmt.body
    )


def has_future_annotations(module: cst.Module) -> bool:
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and dotted_name(small.module) == "__future__"
                and not isinstance(small.names, cst.ImportStar)
                and any(dotted_name(a.name) == "annotations" for a in small.names)
            ):
                return True
    return False


def is_type_checking_test(test: cst.BaseExpression) -> bool:
    return dotted_name(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING", "t.TYPE_CHECKING")


def is_main_guard(stmt: cst.BaseStatement) -> bool:
    """``if __name__ == "__main__":``"""
    if not isinstance(stmt, cst.If):
        return False
    test = stmt.test
    # isinstance checks rather than ``libcst.matchers``: importing that module costs every
    # worker a fifth of a second.
    if not (
        isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and len(test.comparisons) == 1
    ):
        return False
    target = test.comparisons[0]
    return (
        test.left.value == "__name__"
        and isinstance(target.operator, cst.Equal)
        and isinstance(target.comparator, cst.SimpleString)
        and "__main__" in target.comparator.value
    )


def body_insert_index(stmts: Sequence[cst.BaseStatement], *, after_future: bool = False) -> int:
    """Index after a leading docstring (and ``from __future__`` imports when asked)."""
    i = 0
    if stmts and is_docstring(stmts[0]):
        i = 1
    if after_future:
        while i < len(stmts) and is_future_import(stmts[i]):
            i += 1
    return i


def prepend_to_block(body: cst.BaseSuite, new: Sequence[cst.BaseStatement]) -> cst.BaseSuite:
    """Insert statements at the top of a block, after its docstring.

    A one-line suite (``def f(): return x``) becomes an indented block, keeping its comment.
    """
    if isinstance(body, cst.SimpleStatementSuite):
        line = cst.SimpleStatementLine(body=body.body, trailing_whitespace=body.trailing_whitespace)
        return cst.IndentedBlock(body=[*new, line], header=cst.TrailingWhitespace())
    assert isinstance(body, cst.IndentedBlock)
    stmts = list(body.body)
    i = body_insert_index(stmts)
    return body.with_changes(body=[*stmts[:i], *new, *stmts[i:]])


def with_trailing_comment(
    stmt: cst.SimpleStatementLine, comment: cst.Comment | None
) -> cst.SimpleStatementLine:
    if comment is None:
        return stmt
    return stmt.with_changes(
        trailing_whitespace=cst.TrailingWhitespace(whitespace=cst.SimpleWhitespace("  "), comment=comment)
    )


def quote_annotation(code: str) -> str | None:
    """The annotation expression as a string literal, or None when it can't be quoted safely."""
    if "\n" in code or "\\" in code or "\r" in code:
        return None
    if '"' not in code:
        return f'"{code}"'
    if "'" not in code:
        return f"'{code}'"
    return None


def single_assignment(stmt: cst.BaseStatement) -> tuple[cst.Name, cst.BaseExpression] | None:
    """``x = value`` or ``x: T = value``, alone on its line: ``(x, value)``."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target, value = small.target, small.value
    else:
        return None
    return (target, value) if isinstance(target, cst.Name) else None


def iter_small_statements(stmt: cst.BaseStatement) -> Iterable[cst.BaseSmallStatement]:
    if isinstance(stmt, cst.SimpleStatementLine):
        yield from stmt.body


def ensure_blank_lines(stmt: cst.BaseStatement, n: int, *, indent: bool = True) -> cst.BaseStatement:
    """At least ``n`` blank lines before ``stmt`` (black's spacing around top-level defs); the
    added lines carry the block's indentation unless ``indent`` is false."""
    lead = list(getattr(stmt, "leading_lines", ()))
    blanks = 0
    while blanks < len(lead) and lead[blanks].comment is None and not lead[blanks].whitespace.value:
        blanks += 1
    if blanks >= n:
        return stmt
    added = [cst.EmptyLine(indent=indent)] * (n - blanks)
    return stmt.with_changes(leading_lines=added + lead)  # type: ignore[call-arg]


def visit_touched(module: cst.Module, transformer: cst.CSTTransformer, touched: set[int]) -> cst.Module:
    """Run ``transformer`` over only the top-level statements at ``touched`` indexes.

    A full ``module.visit`` rebuilds every node; a fix that changes three functions of a
    4,000-line file should cost three functions.
    """
    body = [
        stmt.visit(transformer) if i in touched else stmt  # type: ignore[misc]
        for i, stmt in enumerate(module.body)
    ]
    return module.with_changes(body=body)


def top_level_index(node: cst.CSTNode, parents: object, module: cst.Module, cache: dict[int, int]) -> int:
    """Index in ``module.body`` of the top-level statement holding ``node``."""
    chain = []
    child = node
    parent = parents.get(child)  # type: ignore[attr-defined]
    while parent is not None and not isinstance(parent, cst.Module):
        if id(child) in cache:
            break
        chain.append(child)
        child, parent = parent, parents.get(parent)  # type: ignore[attr-defined]
    if id(child) in cache:
        index = cache[id(child)]
    else:
        index = next(i for i, s in enumerate(module.body) if s is child)
        cache[id(child)] = index
    for c in chain:
        cache[id(c)] = index
    return index


class _Parents(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._stack: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._stack:
            self.parents[node] = self._stack[-1]
        self._stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._stack.pop()


def in_function_body(node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> bool:
    """Inside a function's or lambda's body: runs when called, not when its statement runs."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, (cst.FunctionDef, cst.Lambda)) and child is parent.body:
            return True
        child, parent = parent, parents.get(parent)
    return False


def in_main_guard_body(node: cst.CSTNode, parents: Mapping[cst.CSTNode, cst.CSTNode]) -> bool:
    """Inside the body of a module-level ``if __name__ == "__main__":`` (not its ``else:``):
    runs only when the file is run as a script, once the module is fully built, never at import."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, cst.If) and child is parent.body and is_main_guard(parent):
            return isinstance(parents.get(parent), cst.Module)
        child, parent = parent, parents.get(parent)
    return False


def parent_map(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
    """Each node's parent, from one visit with a stack. Same answers as LibCST's
    ``ParentNodeProvider``, which rebuilds ``node.children`` at every node and was a fifth of
    the per-file time."""
    v = _Parents()
    module.visit(v)
    return v.parents


class BindingNames(cst.CSTVisitor):
    """The names a block of code binds in its own scope: defs and classes (not their bodies),
    imports, and assignment, ``for``, ``with``, ``except``, walrus and ``del`` targets, less
    the names ``global``/``nonlocal`` send elsewhere (``names - declared``)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.declared: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Global(self, node: cst.Global) -> None:
        self.declared.update(n.name.value for n in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.declared.update(n.name.value for n in node.names)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        _target_names(node.target, self.names)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        _target_names(node.target, self.names)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        _target_names(node.target, self.names)

    def visit_For(self, node: cst.For) -> None:
        _target_names(node.target, self.names)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            _target_names(node.asname.name, self.names)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            _target_names(node.name.name, self.names)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        _target_names(node.target, self.names)

    def visit_Import(self, node: cst.Import) -> None:
        self.names.update(alias_binding(a) for a in node.names)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not isinstance(node.names, cst.ImportStar):
            self.names.update(alias_binding(a) for a in node.names)

    def visit_Del(self, node: cst.Del) -> None:
        _target_names(node.target, self.names)


def _function_locals(fn: cst.FunctionDef | cst.Lambda) -> frozenset[str]:
    """The names a function binds itself (parameters, and assignments in its body that no
    ``global``/``nonlocal`` sends elsewhere), as the compiler decides them."""
    params = fn.params
    names = {p.name.value for p in [*params.posonly_params, *params.params, *params.kwonly_params]}
    for p in (params.star_arg, params.star_kwarg):
        if isinstance(p, cst.Param):
            names.add(p.name.value)
    if isinstance(fn, cst.Lambda):
        return frozenset(names)
    v = BindingNames()
    fn.body.visit(v)
    return frozenset((names | v.names) - v.declared)


def _target_names(target: cst.BaseExpression, out: set[str]) -> None:
    if isinstance(target, cst.Name):
        out.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for e in target.elements:
            _target_names(e.value, out)
    elif isinstance(target, cst.StarredElement):
        _target_names(target.value, out)


def bound_in_a_function(
    name: str, node: cst.CSTNode, parents: Mapping[cst.CSTNode, cst.CSTNode], cache: dict
) -> bool:
    """Whether ``name`` read at ``node`` is a local (or closure) variable of a function around
    it, not the module's. LibCST 1.9's scope analysis sends a read of a parameter to the
    module's binding when the function assigns the parameter later (``def f(x): y = x; x = 1``);
    this is the compiler's rule, checked directly."""
    child, parent = node, parents.get(node)
    while parent is not None:
        # Only the body runs in the function's scope: decorators, defaults and annotations don't.
        if isinstance(parent, (cst.FunctionDef, cst.Lambda)) and child is parent.body:
            key = id(parent)
            if key not in cache:
                cache[key] = _function_locals(parent)
            if name in cache[key]:
                return True
        child, parent = parent, parents.get(parent)
    return False
