"""app-factory: Flask extensions built from the app (`db = SQLAlchemy(app)`): split into a
construction without it and `init_app(app, ...)` in the factory, when the installed class's own
source says that is all its constructor does with the app.

A part of the analyzer (:class:`codemods._app_factory.analyzer.Analyzer` mixes these in), kept apart
for size; its methods use the analyzer's state.
"""

from __future__ import annotations

import libcst as cst

from codemods import _cst as u
from codemods._api import Blocked
from codemods._app_factory.plan import Split
from codemods._app_factory.syntax import (
    _assigned_call_with,
    _names_in,
)


class Extensions:
    def _extension(self, stmt: cst.BaseStatement, app: str) -> Split | None:
        """``db = SQLAlchemy(app, ...)`` of an installed class whose constructor only passes
        the app to ``init_app``: split into ``db = SQLAlchemy(...)`` and, in the factory,
        ``db.init_app(app, ...)`` with what the constructor would have passed it."""
        target = _assigned_call_with(stmt, app)
        if target is None:
            return None
        call = stmt.body[0].value  # type: ignore[attr-defined]
        found = [
            self.ctx.project.extensions[q]
            for q in sorted(self.qualified(call.func))
            if q in self.ctx.project.extensions
        ]
        if not found:
            return None
        ext = found[0]
        short = cst.Module(body=[]).code_for_node(call.func)
        if ext.verdict == "blocked":
            raise Blocked(
                f"`{target}` is built from the module-level app, and lazify can't tell that `{short}()` plus "
                f"`{target}.init_app({app})` is the same: {ext.reason}",
                stmt,
                f"`{target}` is built from `{app}`",
            )

        def blocked(why: str) -> Blocked:
            return Blocked(
                f"`{target} = {short}({app}, ...)` can't be split into `{short}(...)` and `{target}.init_app({app})`: {why}",
                stmt,
                f"`{target}` is built from `{app}`",
            )

        given: dict[str, cst.BaseExpression] = {}
        extra: list[cst.Arg] = []  # keywords that go to the constructor's **kwargs
        for pos, arg in enumerate(call.args):
            if arg.star:
                raise blocked(f"`{arg.star}` arguments")
            if arg.keyword is None:
                if pos >= len(ext.params):
                    raise blocked("more positional arguments than it takes")
                given[ext.params[pos]] = arg.value
            elif arg.keyword.value in ext.params:
                given[arg.keyword.value] = arg.value
            elif ext.var_keyword is not None:
                extra.append(arg)
            else:
                raise blocked(f"`{short}()` takes no `{arg.keyword.value}`")
        app_param = ext.params[0]
        if not (isinstance(given.get(app_param), cst.Name) and given[app_param].value == app):  # type: ignore[attr-defined]
            return None  # the app is passed as something else than the app
        defaults = dict(ext.defaults)
        bound = self.bound_names()

        def simple(e: cst.BaseExpression) -> bool:
            """Computed twice, it gives the same value and does nothing else: a name, an
            attribute, a literal (also a dict or list of them)."""
            if isinstance(e, (cst.Name, cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
                return True
            if isinstance(e, cst.Attribute):
                return simple(e.value)
            if isinstance(e, (cst.List, cst.Tuple, cst.Set)):
                return all(isinstance(x, cst.Element) and simple(x.value) for x in e.elements)
            if isinstance(e, cst.Dict):
                return all(
                    isinstance(x, cst.DictElement) and simple(x.key) and simple(x.value) for x in e.elements
                )
            return False

        for q in ext.not_none:
            e = given.get(q)
            if e is None or not (
                (isinstance(e, cst.Name) and e.value in bound and self._bound_to_call(e.value))
                or (simple(e) and not isinstance(e, (cst.Name, cst.Attribute)))
            ):
                raise blocked(
                    f"`{short}()` calls `init_app` only when `{q}` is not None, which lazify can't tell here"
                )
        init_args: list[cst.Arg] = [cst.Arg(cst.Name(app))]
        pending: list[cst.Arg] = []
        for pos, q in enumerate(ext.init_args):
            if q.startswith("**"):
                for a in extra:
                    if not simple(a.value):
                        raise blocked(f"`{a.keyword.value}` would be computed twice")  # type: ignore[union-attr]
                    init_args += [*pending, a.with_changes(comma=cst.MaybeSentinel.DEFAULT)]
                    pending = []
                continue
            if q in given:
                if not simple(given[q]):
                    raise blocked(f"`{q}` would be computed twice")
                init_args += [*pending, cst.Arg(given[q])]
                pending = []
                continue
            default = defaults.get(q)
            if default is None:
                raise blocked(f"the default of `{q}` is not a literal")
            value = cst.Arg(cst.parse_expression(default))
            if pos < len(ext.init_defaults) and ext.init_defaults[pos] == default:
                pending.append(value)  # the same default: left out unless a later argument follows
            else:
                init_args += [*pending, value]
                pending = []
        kept: list[cst.Arg] = []
        reads: set[str] = set()
        for pos, arg in enumerate(call.args):
            name = arg.keyword.value if arg.keyword is not None else ext.params[pos]
            if name == app_param:
                continue
            if arg.keyword is None:
                arg = arg.with_changes(keyword=cst.Name(name), equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                ))  # fmt: skip
            if name not in ext.stored_only:
                reads.update(n.value for n in _names_in(arg.value))
            kept.append(arg)
        if kept:
            kept[-1] = kept[-1].with_changes(comma=call.args[-1].comma)
        small = stmt.body[0]  # type: ignore[attr-defined]
        module = stmt.with_changes(body=[small.with_changes(value=call.with_changes(args=kept))])  # type: ignore[attr-defined]
        init = cst.SimpleStatementLine(
            body=[
                cst.Expr(cst.Call(func=cst.Attribute(cst.Name(target), cst.Name("init_app")), args=init_args))
            ]
        )
        return Split(target, module, init, reads, ext.reason if ext.verdict == "unsafe" else None)

    def _bound_to_call(self, name: str) -> bool:
        """``name`` is bound once, at module level, to what a call returns (an object, not None)."""
        assignments = list(self.gscope.assignments[name])
        if len(assignments) != 1 or not isinstance(getattr(assignments[0], "node", None), cst.CSTNode):
            return False
        assigned = u.single_assignment(self.body[self.top(assignments[0].node)])
        return assigned is not None and assigned[0].value == name and isinstance(assigned[1], cst.Call)
