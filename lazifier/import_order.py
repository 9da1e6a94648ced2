"""Which module-level names a module reads at import before it binds them.

A rewrite that moves code around can parse and compile and still fail at import: a new
``if TYPE_CHECKING:`` above ``from typing import TYPE_CHECKING``, a guard spelled with a name
the rewrite just moved into a function. The engine compares this set for the input and the
output of every codemod; a name the output reads too early that the input did not means the
rewrite is wrong, and the file is left untouched.

The walk follows import-time execution in statement order: decorators, default values,
annotations (unless ``from __future__ import annotations``), class bodies, comprehensions and
the tests of ``if``/``while`` run; function and lambda bodies do not; the body of
``if TYPE_CHECKING:`` neither runs nor binds. Both branches of a conditional are taken as run
(a name bound in either counts as bound after it), so the answer errs towards "bound": it finds
what a rewrite broke for certain, never a false alarm from control flow. A module that binds
names in ways the walk can't see (``from x import *``, ``globals()``, ``exec``) gets no answer.
"""

from __future__ import annotations

import ast
import builtins

#: What every module has bound before its first line runs.
_PREBOUND = frozenset(dir(builtins)) | {
    "__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__", "__path__",
    "__builtins__", "__cached__", "__annotations__", "__dict__",
}  # fmt: skip
#: Calls that can bind module names the walk doesn't see.
_EXEC = frozenset({"exec", "eval"})
_NAMESPACE = frozenset({"globals", "vars", "locals"})
_NAMESPACE_WRITES = frozenset({"update", "setdefault", "__setitem__"})


def read_before_bound(source: str, *, deferred_annotations: bool = False) -> frozenset[str] | None:
    """Names read at import time before any module-level binding of them, or None when the
    module can't be analysed (a syntax error, a star import, ``globals()``...).
    ``deferred_annotations``: the target evaluates annotations lazily (PEP 649, 3.14+)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    walk = _ImportTimeWalk(deferred_annotations or _future_annotations(tree))
    try:
        for stmt in tree.body:
            walk.statement(stmt)
    except _Dynamic:
        return None
    except RecursionError:
        return None
    return frozenset(walk.early)


class _Dynamic(Exception):
    """The module binds names the walk can't see."""


def _future_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(s, ast.ImportFrom)
        and s.module == "__future__"
        and any(a.name == "annotations" for a in s.names)
        for s in tree.body
    )


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


class _ImportTimeWalk:
    def __init__(self, lazy_annotations: bool) -> None:
        self.lazy_annotations = lazy_annotations
        self.bound: set[str] = set(_PREBOUND)
        self.early: set[str] = set()

    # -- statements --------------------------------------------------------------------------

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                self.expr(d)
            self.arguments(node.args)
            if node.returns is not None:
                self.annotation(node.returns)
            self.bound.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for e in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
                self.expr(e)
            self.class_body(node.body)
            self.bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if a.name == "*":
                    raise _Dynamic
                self.bound.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            self.expr(node.test)
            for s in node.orelse:
                self.statement(s)
        else:
            self.generic(node)

    def generic(self, node: ast.stmt) -> None:
        """Any other statement: its expressions in evaluation order, then its targets; nested
        statements (``if``, ``try``, ``with``, ``for``...) in order."""
        if isinstance(node, ast.Assign):
            self.expr(node.value)
            for t in node.targets:
                self.target(t)
            return
        if isinstance(node, ast.AugAssign):
            self.expr(node.value)
            self.expr(node.target)
            self.target(node.target)
            return
        if isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.expr(node.value)
            if isinstance(node.target, ast.Name):
                if not self.lazy_annotations:
                    self.annotation(node.annotation)
                if node.value is not None:
                    self.bound.add(node.target.id)
            else:
                self.expr(node.target)
            return
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter)
            self.target(node.target)
            self.block(node.body)
            self.block(node.orelse)
            return
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.block(node.body)
            return
        if isinstance(node, ast.Delete):
            return  # a deleted name is not read later by the code the walk follows
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.block(node.body)  # type: ignore[attr-defined]
            for h in node.handlers:  # type: ignore[attr-defined]
                if h.type is not None:
                    self.expr(h.type)
                if h.name:
                    self.bound.add(h.name)
                self.block(h.body)
            self.block(node.orelse)  # type: ignore[attr-defined]
            self.block(node.finalbody)  # type: ignore[attr-defined]
            return
        if type(node).__name__ == "Match":
            self.expr(node.subject)  # type: ignore[attr-defined]
            for case in node.cases:  # type: ignore[attr-defined]
                for n in ast.walk(case.pattern):
                    for attr in ("name", "rest"):
                        name = getattr(n, attr, None)
                        if isinstance(name, str):
                            self.bound.add(name)
                    if isinstance(n, (ast.MatchValue, ast.MatchClass)):
                        self.expr(n.value if isinstance(n, ast.MatchValue) else n.cls)
                if case.guard is not None:
                    self.expr(case.guard)
                self.block(case.body)
            return
        if type(node).__name__ == "TypeAlias":
            self.bound.add(node.name.id)  # type: ignore[attr-defined]  # the value is lazy
            return
        # if / while / expression statements / return / raise / assert / pass ...
        for field in ("test", "value", "exc", "cause", "msg"):
            child = getattr(node, field, None)
            if isinstance(child, ast.expr):
                self.expr(child)
        for field in ("body", "orelse"):
            child = getattr(node, field, None)
            if isinstance(child, list):
                self.block(child)

    def block(self, stmts: list[ast.stmt]) -> None:
        for s in stmts:
            self.statement(s)

    def class_body(self, stmts: list[ast.stmt]) -> None:
        """A class body runs at import; the names it binds are the class's, not the module's.
        Reads of those inside the body resolve to the class first."""
        saved = set(self.bound)
        self.block(stmts)
        self.bound = saved

    def arguments(self, args: ast.arguments) -> None:
        for d in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.expr(d)
        if self.lazy_annotations:
            return
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if a is not None and a.annotation is not None:
                self.annotation(a.annotation)

    def annotation(self, node: ast.expr) -> None:
        if self.lazy_annotations or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            return
        self.expr(node)

    def target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.bound.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for e in node.elts:
                self.target(e)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        elif isinstance(node, ast.Subscript) and _is_namespace(node.value):
            raise _Dynamic  # globals()[name] = ...
        else:  # x.attr = ..., x[i] = ...: reads x
            self.expr(node)

    # -- expressions -------------------------------------------------------------------------

    def expr(self, node: ast.expr) -> None:
        """Reads in an expression evaluated now (lambda bodies excepted; comprehension
        variables are the comprehension's own)."""
        for n in ast.walk(node):
            if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name):
                self.bound.add(n.target.id)
        stack: list[ast.AST] = [node]
        local: set[str] = set()
        while stack:
            n = stack.pop()
            if isinstance(n, ast.Lambda):
                for d in [*n.args.defaults, *(d for d in n.args.kw_defaults if d is not None)]:
                    stack.append(d)
                continue
            if isinstance(n, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                for g in n.generators:
                    for t in ast.walk(g.target):
                        if isinstance(t, ast.Name):
                            local.add(t.id)
            if isinstance(n, ast.Call) and _binds_dynamically(n):
                raise _Dynamic
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                if n.id not in self.bound and n.id not in local:
                    self.early.add(n.id)
            stack.extend(ast.iter_child_nodes(n))


def _is_namespace(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _NAMESPACE


def _binds_dynamically(call: ast.Call) -> bool:
    """``exec(...)``, ``globals().update(...)``; not ``globals().pop(name)`` or a read."""
    f = call.func
    if isinstance(f, ast.Name):
        return f.id in _EXEC
    return isinstance(f, ast.Attribute) and f.attr in _NAMESPACE_WRITES and _is_namespace(f.value)
