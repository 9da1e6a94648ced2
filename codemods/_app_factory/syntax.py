"""app-factory's vocabulary: the application classes and the calls that register or serve on
them, and small questions about syntax the analyzer and its parts ask."""

from __future__ import annotations

import re

import libcst as cst

from codemods import _cst as u

#: The application classes, by qualified name, and the server interface their instances speak.
APP_CLASSES = {
    "fastapi.FastAPI": "asgi",
    "fastapi.applications.FastAPI": "asgi",
    "starlette.applications.Starlette": "asgi",
    "flask.Flask": "wsgi",
    "flask.app.Flask": "wsgi",
}


#: ``@app.<method>`` decorators that register the function and return it unchanged, so the
#: module-level name stays the plain function when the registration moves into the factory.
REGISTERING = frozenset({
    # FastAPI and Starlette
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "api_route",
    "websocket", "route", "websocket_route", "middleware", "exception_handler", "on_event",
    # Flask
    "before_request", "after_request", "teardown_request", "teardown_appcontext", "errorhandler",
    "context_processor", "url_value_preprocessor", "url_defaults", "template_filter",
    "template_global", "template_test", "shell_context_processor", "endpoint",
})  # fmt: skip


#: Calls that serve the app rather than configure it.
RUNS = frozenset({"run", "serve", "run_simple"})


FROM_OBJECT_SELF = re.compile(r"^(?:__name__|sys\.modules\[__name__\])$")


def _root(node: cst.BaseExpression) -> cst.Name | None:
    """The name at the bottom of ``a.b(...)[i].c``."""
    while True:
        if isinstance(node, cst.Attribute):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Name):
            return node
        else:
            return None


def _last_attr(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Call):
        node = node.func
    return node.attr.value if isinstance(node, cst.Attribute) else None


def _blocks(stmt: cst.If | cst.Try | cst.For) -> list[cst.BaseSuite]:
    """The bodies of a compound statement: ``if``/``elif``/``else``, ``try``/``except``/
    ``else``/``finally``, ``for``/``else``."""
    out: list[cst.BaseSuite] = [stmt.body]
    if isinstance(stmt, cst.Try):
        out += [h.body for h in stmt.handlers]
    orelse = stmt.orelse
    while orelse is not None:
        out.append(orelse.body)
        orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    if isinstance(stmt, cst.Try) and stmt.finalbody is not None:
        out.append(stmt.finalbody.body)
    return out


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    out: list[cst.Name] = []

    class V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            out.append(n)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False

    node.visit(V())
    return out


def _mutates(stmt: cst.BaseStatement, name: str) -> bool:
    """``os.environ["X"] = ...``, ``os.environ.setdefault(...)``: a statement that changes what
    ``name`` refers to, rather than only reading it."""
    for small in u.iter_small_statements(stmt):
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            r = _root(small.value.func)
            if r is not None and r.value == name and isinstance(small.value.func, cst.Attribute):
                return True
        if isinstance(small, (cst.Assign, cst.AugAssign)):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            for t in targets:
                r = _root(t)
                if isinstance(t, (cst.Attribute, cst.Subscript)) and r is not None and r.value == name:
                    return True
    return False


def _bound_names(small: cst.CSTNode) -> list[str]:
    if isinstance(small, cst.Assign):
        return [t.target.value for t in small.targets if isinstance(t.target, cst.Name)]
    if isinstance(small, (cst.AnnAssign, cst.AugAssign)) and isinstance(small.target, cst.Name):
        return [small.target.value]
    return []


def _assigned_call_with(stmt: cst.BaseStatement, app: str) -> str | None:
    """``db = SQLAlchemy(app)`` -> ``db``."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
            if any(isinstance(a.value, cst.Name) and a.value.value == app for a in small.value.args):
                names = _bound_names(small)
                return names[0] if names else None
    return None
