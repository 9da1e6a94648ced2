"""app-factory's rewrite: the statements the plan moves go, in order, into ``def create_app()``
(registrations as calls, a Flask ``app_context`` block as a run-once hook, extensions as
``init_app``), followed by what stays at module level: ``app = create_app()``, the lazy
stand-in, or nothing. Comments and blank lines move with their statements, as black writes a
function body."""

from __future__ import annotations

import libcst as cst

from codemods import _cst as u
from codemods._api import FileContext
from codemods._app_factory.plan import FACTORY, LAZY_CLASS, NOQA_E402, Plan
from codemods._app_factory.standin import lazy_class


def _strip_noqa_e402(stmt: cst.BaseStatement) -> cst.BaseStatement:
    if isinstance(stmt, cst.SimpleStatementLine) and stmt.trailing_whitespace.comment is not None:
        if NOQA_E402.match(stmt.trailing_whitespace.comment.value):
            return stmt.with_changes(
                trailing_whitespace=cst.TrailingWhitespace(newline=stmt.trailing_whitespace.newline)
            )
    return stmt


def _inner_lines(lines: list[cst.EmptyLine], first: bool) -> list[cst.EmptyLine]:
    """Leading lines of a statement moved into the factory: comments kept, at most one blank
    line in a row, none before the first statement (as black writes a function body)."""
    out: list[cst.EmptyLine] = []
    for line in lines:
        if line.comment is None:
            if out and out[-1].comment is None:
                continue
            if not out and first:
                continue
            out.append(cst.EmptyLine(indent=False))
        else:
            out.append(line.with_changes(indent=True))
    return out


def _registration(stmt: cst.FunctionDef, count: int) -> cst.SimpleStatementLine:
    """``@app.get("/")`` on ``def index`` -> ``app.get("/")(index)``, keeping the decorators'
    comments (the lines between them, and the comment at the end of their line)."""
    value: cst.BaseExpression = cst.Name(stmt.name.value)
    decorators = stmt.decorators[:count]
    for d in reversed(decorators):
        value = cst.Call(func=d.decorator, args=[cst.Arg(value)])
    comments = [line for d in decorators for line in d.leading_lines if line.comment is not None]
    trailing = next(
        (d.trailing_whitespace.comment for d in decorators if d.trailing_whitespace.comment), None
    )
    return cst.SimpleStatementLine(
        body=[cst.Expr(value)],
        leading_lines=comments,
        trailing_whitespace=cst.TrailingWhitespace(
            whitespace=cst.SimpleWhitespace("  " if trailing else ""), comment=trailing
        ),
    )


def _setup_hook(stmt: cst.With, app: str) -> list[cst.BaseStatement]:
    """A Flask ``with app.app_context():`` block, run once before the first request."""
    template = cst.parse_module(
        "setup_done = False\n"
        "\n"
        f"@{app}.before_request\n"
        "def setup_once() -> None:\n"
        "    nonlocal setup_done\n"
        "    if not setup_done:\n"
        "        pass\n"
        "        setup_done = True\n"
    )

    class Fill(cst.CSTTransformer):
        def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
            rest = list(updated.body.body[1:])
            return updated.with_changes(
                body=updated.body.with_changes(body=[stmt.with_changes(leading_lines=[]), *rest])
            )

    return list(template.visit(Fill()).body)


def rewrite(ctx: FileContext, plan: Plan) -> cst.Module:
    inner: list[cst.BaseStatement] = []
    setup: list[cst.BaseStatement] = []
    out: list[cst.BaseStatement] = []
    last = max(plan.roles)
    after = None
    carry = 0  # blank lines that separated a moved statement from what came before it
    for i, stmt in enumerate(ctx.module.body):
        role = plan.roles.get(i)
        if role == "extension":
            stmt = plan.extensions[i].module.with_changes(leading_lines=stmt.leading_lines)  # type: ignore[attr-defined]
        if role in ("move", "setup"):
            carry = max(carry, _blank_lines(stmt))
        elif carry:
            stmt = u.ensure_blank_lines(stmt, carry)
            carry = 0
        if role == "register":
            count = plan.registering[i]
            reg = _registration(stmt, count)  # type: ignore[arg-type]
            inner.append(reg.with_changes(leading_lines=_inner_lines(list(reg.leading_lines), not inner)))
            out.append(stmt.with_changes(decorators=stmt.decorators[count:]))  # type: ignore[attr-defined]
        elif role == "setup":
            hook = _setup_hook(stmt, plan.app)  # type: ignore[arg-type]
            hook[0] = hook[0].with_changes(leading_lines=_inner_lines(list(stmt.leading_lines), False))  # type: ignore[attr-defined]
            hook[1] = hook[1].with_changes(leading_lines=[cst.EmptyLine(indent=False)])  # type: ignore[attr-defined]
            setup.extend(hook)
        elif role == "extension":
            out.append(stmt)
            inner.append(plan.extensions[i].init.with_changes(leading_lines=_inner_lines([], not inner)))
        elif i == plan.main_guard:
            out.append(_build_in_guard(stmt, plan.app))  # type: ignore[arg-type]
        elif role == "move":
            moved = _strip_noqa_e402(stmt)
            lead = list(getattr(moved, "leading_lines", ()))
            inner.append(moved.with_changes(leading_lines=_inner_lines(lead, not inner)))
        else:
            out.append(stmt)
        if i == last:
            out.extend(_factory(plan, inner, setup))
            after = len(out)
            carry = 0
    if after is not None and after < len(out):
        out[after] = u.ensure_blank_lines(out[after], 2)
    return ctx.module.with_changes(body=out)


def _build_in_guard(stmt: cst.If, app: str) -> cst.If:
    """``if __name__ == "__main__":`` with ``app = create_app()`` first, for a module that no
    longer has a module-level app but is still run as a script."""
    build = cst.parse_statement(f"{app} = {FACTORY}()\n")
    body = stmt.body
    assert isinstance(body, cst.IndentedBlock)
    return stmt.with_changes(body=body.with_changes(body=[build, *body.body]))


def _blank_lines(stmt: cst.BaseStatement) -> int:
    return sum(1 for line in getattr(stmt, "leading_lines", ()) if line.comment is None)


def _factory(
    plan: Plan, inner: list[cst.BaseStatement], setup: list[cst.BaseStatement]
) -> list[cst.BaseStatement]:
    create_at = next(i for i, s in enumerate(inner) if _creates(s, plan.app))
    rest = inner[create_at + 1 :]
    if setup and rest and not rest[0].leading_lines:  # type: ignore[attr-defined]
        rest[0] = rest[0].with_changes(
            leading_lines=[cst.EmptyLine(indent=False)]
        )  # black: a blank line after a nested def
    stmts = inner[: create_at + 1] + setup + rest
    stmts.append(cst.parse_statement(f"return {plan.app}\n"))
    func = cst.parse_statement(f"def {FACTORY}() -> {plan.returns}:\n    pass\n")
    assert isinstance(func, cst.FunctionDef)
    generated: list[cst.BaseStatement] = [func.with_changes(body=func.body.with_changes(body=stmts))]
    if plan.mode == "eager":
        generated.append(cst.parse_statement(f"{plan.app} = {FACTORY}()\n"))
    elif plan.mode == "lazy":
        generated.append(cst.parse_statement(lazy_class(plan.interface)))
        generated.append(cst.parse_statement(f"{plan.app} = {LAZY_CLASS}({FACTORY})\n"))
    blank2 = [cst.EmptyLine(), cst.EmptyLine()]
    return [s.with_changes(leading_lines=blank2) for s in generated]  # type: ignore[attr-defined]


def _creates(stmt: cst.BaseStatement, app: str) -> bool:
    assigned = u.single_assignment(stmt)
    return assigned is not None and assigned[0].value == app
