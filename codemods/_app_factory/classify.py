"""app-factory: what each module-level statement is to the app: its creation, configuration, a
route, serving it, or none of these.

A part of the analyzer (:class:`codemods._app_factory.analyzer.Analyzer` mixes these in), kept apart
for size; its methods use the analyzer's state.
"""

from __future__ import annotations

import libcst as cst

from codemods import _cst as u
from codemods._api import Blocked
from codemods._app_factory.syntax import (
    FROM_OBJECT_SELF,
    REGISTERING,
    RUNS,
    _last_attr,
    _root,
)


class Classify:
    def classify(self, stmt: cst.BaseStatement, app: str, interface: str) -> tuple[str | None, int]:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            decorators = list(stmt.decorators)
            count = 0
            for d in decorators:
                r = _root(d.decorator)
                if r is None or r.value != app:
                    break
                count += 1
            for d in decorators[count:]:
                r = _root(d.decorator)
                if r is not None and r.value == app:
                    raise Blocked(
                        "a decorator on the app sits below another decorator, which wraps what it registers",
                        d,
                        "registers the function before the decorator above wraps it",
                    )
            if count == 0:
                return None, 0
            if isinstance(stmt, cst.ClassDef):
                raise Blocked("a class is registered with a decorator on the app", stmt, "registered here")
            for d in decorators[:count]:
                method = _last_attr(d.decorator)
                if method not in REGISTERING:
                    code = cst.Module(body=[]).code_for_node(d.decorator)
                    raise Blocked(
                        f"`@{code}` may return something other than the function",
                        d,
                        f"`{stmt.name.value}` would be the plain function instead of what this returns",
                    )
            return "register", count
        if self._configures(stmt, app) or self._configuring_block(stmt, app):
            return "move", 0
        if (
            interface == "wsgi"
            and isinstance(stmt, cst.With)
            and len(stmt.items) == 1
            and isinstance(stmt.items[0].item, cst.Call)
            and _last_attr(stmt.items[0].item) == "app_context"
            and isinstance(_root(stmt.items[0].item), cst.Name)
            and _root(stmt.items[0].item).value == app  # type: ignore[union-attr]
            and stmt.items[0].asname is None
            and stmt.asynchronous is None
        ):
            return "setup", 0
        return None, 0

    def _configures(self, stmt: cst.BaseStatement, app: str) -> bool:
        """A statement whose only effect is on the app: calls on it, calls that take it,
        assignments to its attributes or items (and ``if`` blocks of only those)."""
        if isinstance(stmt, cst.If):
            if u.is_main_guard(stmt):
                return False  # runs the app; stays after the factory
            blocks = [stmt.body]
            orelse = stmt.orelse
            while orelse is not None:
                blocks.append(orelse.body)
                orelse = orelse.orelse if isinstance(orelse, cst.If) else None
            return all(
                isinstance(b, cst.IndentedBlock) and b.body and all(self._configures(s, app) for s in b.body)
                for b in blocks
            )
        if not isinstance(stmt, cst.SimpleStatementLine):
            return False
        for small in stmt.body:
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                c = small.value
                if _last_attr(c.func) in RUNS or (isinstance(c.func, cst.Name) and c.func.value in RUNS):
                    return False  # `app.run()`, `uvicorn.run(app)`: serving, not configuring
                r = _root(c.func)
                if r is not None and r.value == app:
                    continue
                if any(isinstance(a.value, cst.Name) and a.value.value == app for a in c.args):
                    continue
                return False
            if isinstance(small, (cst.Assign, cst.AugAssign)):
                targets = (
                    [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                )
                if all(
                    isinstance(t, (cst.Attribute, cst.Subscript)) and (_root(t) is not None and _root(t).value == app)  # type: ignore[union-attr]
                    for t in targets
                ):
                    continue
            return False
        return True

    def _configuring_block(self, stmt: cst.BaseStatement, app: str) -> bool:
        """An ``if``/``try``/``for`` block that uses the app when it runs (``if FORCE_HTTPS:
        app.add_middleware(...)``, ``try: from .extra import router ... else:
        app.include_router(router)``): it moves as a whole; what it binds is checked later."""
        if not isinstance(stmt, (cst.If, cst.Try, cst.For)) or (
            isinstance(stmt, cst.For) and stmt.asynchronous
        ):
            return False
        if isinstance(stmt, cst.If) and (u.is_main_guard(stmt) or u.is_type_checking_test(stmt.test)):
            return False
        return any(n.value == app for n in self._executed_names(stmt))

    def _reads_own_globals(self, stmt: cst.BaseStatement, app: str) -> bool:
        """``app.config.from_object(__name__)``: Flask reads the module's upper-case globals."""
        found = False

        class V(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                nonlocal found
                if _last_attr(node.func) == "from_object" and node.args:
                    if FROM_OBJECT_SELF.match(cst.Module(body=[]).code_for_node(node.args[0].value)):
                        found = True

        stmt.visit(V())
        return found
