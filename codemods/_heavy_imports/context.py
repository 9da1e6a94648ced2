"""Where code at a node runs, for heavy-imports: in a function when it is called, in the
``__main__`` guard, in a lambda, or at import (and then in what kind of place: a decorator, a
default value, a class body...). Everything here reads only the parent map."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import libcst as cst

from codemods import _cst as u

Parents = Mapping[cst.CSTNode, cst.CSTNode]


def context(node: cst.CSTNode, parents: Parents) -> tuple[str, cst.CSTNode | None, str]:
    """Where does code at ``node`` run?

    Returns ``("function", fdef, "")`` when it runs as part of a call of ``fdef``,
    ``("main", if_node, "")`` inside the ``__main__`` guard, ``("lambda", lam, "")`` inside a
    lambda at module level, else ``("import", None, kind)``: at import, with what kind of
    place it is ("decorator", "default value", "class body of `C`", ...).
    """
    child: cst.CSTNode = node
    parent = parents.get(node)
    kind = ""
    lam: cst.Lambda | None = None
    while parent is not None:
        if isinstance(parent, cst.FunctionDef):
            if child is parent.body:
                return "function", parent, ""
            if isinstance(child, cst.Decorator):
                kind = kind or f"decorator of `{parent.name.value}`"
            elif child is parent.returns:
                kind = kind or f"return annotation of `{parent.name.value}`"
            elif isinstance(child, cst.Parameters):
                kind = kind or f"parameter of `{parent.name.value}`"
        elif isinstance(parent, cst.Param):
            if child is parent.default:
                kind = kind or "default value"
            elif child is parent.annotation:
                kind = kind or "annotation"
        elif isinstance(parent, cst.Lambda):
            if child is parent.body:
                lam = lam or parent
        elif isinstance(parent, cst.ClassDef):
            if child is parent.body:
                kind = kind or f"class body of `{parent.name.value}`"
            elif isinstance(child, cst.Decorator):
                kind = kind or f"decorator of class `{parent.name.value}`"
            else:
                kind = kind or f"base of class `{parent.name.value}`"
        elif isinstance(parent, cst.If) and child is parent.body and u.is_main_guard(parent):
            if isinstance(parents.get(parent), cst.Module):
                return "main", parent, ""
        elif isinstance(parent, cst.Module):
            if lam is not None:
                return "lambda", lam, ""
            return "import", None, kind or "module-level statement"
        child, parent = parent, parents.get(parent)
    return "import", None, kind or "module-level statement"


def enclosing(node: cst.CSTNode, types: tuple[type, ...], parents: Parents) -> cst.CSTNode | None:
    parent = parents.get(node)
    while parent is not None and not isinstance(parent, types):
        parent = parents.get(parent)
    return parent


def function_ancestors(node: cst.CSTNode, parents: Parents) -> Iterator[cst.CSTNode]:
    """Functions whose *body* contains ``node``, innermost first."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, cst.FunctionDef) and child is parent.body:
            yield parent
        child, parent = parent, parents.get(parent)


def outermost(
    users: list[cst.CSTNode], parents: Parents, in_order: Callable[[list[cst.CSTNode]], list[cst.CSTNode]]
) -> list[cst.CSTNode]:
    """Keep a user only if no enclosing function already imports the name; in source order."""
    ids = {id(x) for x in users}
    out: list[cst.CSTNode] = []
    seen: set[int] = set()
    for fn in users:
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if any(id(a) in ids for a in function_ancestors(fn, parents)):
            continue
        out.append(fn)
    return in_order(out)


def in_type_checking(node: cst.CSTNode, parents: Parents) -> bool:
    parent = parents.get(node)
    while parent is not None:
        if isinstance(parent, cst.If) and u.is_type_checking_test(parent.test):
            return True
        parent = parents.get(parent)
    return False


def for_type_checkers_only(node: cst.CSTNode, parents: Parents) -> bool:
    """In the body (not the ``else:``) of a module-level ``if TYPE_CHECKING:``."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, cst.If) and child is parent.body and u.is_type_checking_test(parent.test):
            return isinstance(parents.get(parent), cst.Module)
        child, parent = parent, parents.get(parent)
    return False


def cast_target(node: cst.CSTNode, parents: Parents) -> bool:
    """Whether the string ``node`` is the type in a ``cast("T", value)``: read by type
    checkers only, never stored in an ``__annotations__`` that a decorator, base class or
    ``get_type_hints`` could read (unlike a string in a signature)."""
    arg = parents.get(node)
    call = parents.get(arg) if isinstance(arg, cst.Arg) else None
    if not isinstance(call, cst.Call) or not call.args or call.args[0] is not arg:
        return False
    func = call.func
    return (isinstance(func, cst.Name) and func.value == "cast") or (
        isinstance(func, cst.Attribute) and func.attr.value == "cast"
    )


def within(node: cst.CSTNode, ancestor: cst.CSTNode, parents: Parents) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = parents.get(node)  # type: ignore[assignment]
    return False
