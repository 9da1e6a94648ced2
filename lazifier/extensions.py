"""What an installed extension's constructor does with the app, read from its source.

``db = SQLAlchemy(app)`` can become ``db = SQLAlchemy()`` plus ``db.init_app(app)`` in the
factory when the constructor does nothing with the app but pass it to ``self.init_app`` at its
end. That is decided here, for app-factory, from the installed package's source (see
:mod:`lazifier.installed`: read with ``ast``, never imported), and handed to the codemod in its
:class:`~codemods._api.ProjectView`, so the verdict is part of the file's cache key.
"""

from __future__ import annotations

import ast
from pathlib import Path

from codemods._api import ExtensionInit
from lazifier import installed


def inspect(qualified: str, dirs: tuple[Path, ...]) -> ExtensionInit:
    """The verdict on ``qualified``'s constructor (``flask_sqlalchemy.SQLAlchemy``), read from
    the package as it is now (its parse is cached while the file is unchanged)."""
    short = qualified.rsplit(".", 1)[-1]
    if not dirs:
        return ExtensionInit(
            qualified,
            "blocked",
            "the project has no environment (`.venv`, `venv`, `$VIRTUAL_ENV`) to read it from",
        )
    found = installed.definition(qualified, dirs)
    if found is None:
        return ExtensionInit(
            qualified, "blocked", f"`{short}` is not an installed package's class lazify can read"
        )
    path, cls = found
    if not isinstance(cls, ast.ClassDef):
        return ExtensionInit(qualified, "blocked", f"`{short}` is not a class")
    methods = {s.name: s for s in cls.body if isinstance(s, ast.FunctionDef)}
    init, init_app = methods.get("__init__"), methods.get("init_app")
    if init is None or init_app is None:
        return ExtensionInit(
            qualified, "blocked", f"`{short}` defines no `__init__` and `init_app` of its own in {path.name}"
        )
    return _judge(qualified, short, init, init_app)


def _literal(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    value = getattr(node, "value", None)
    if (
        isinstance(node, ast.Constant)
        and isinstance(value, str)
        and value.isprintable()
        and not set(value) & {'"', "\\"}
    ):
        return f'"{value}"'  # as black writes it
    return ast.unparse(node)


def _positional(fn: ast.FunctionDef) -> tuple[list[str], dict[str, str | None]]:
    args = [*fn.args.posonlyargs, *fn.args.args][1:]  # without self
    names = [a.arg for a in args]
    defaults: dict[str, str | None] = {a.arg: None for a in args}
    for a, d in zip(args[len(args) - len(fn.args.defaults) :], fn.args.defaults):
        defaults[a.arg] = _literal(d)
    for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults):
        names.append(a.arg)
        defaults[a.arg] = _literal(d)
    return names, defaults


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _not_none_test(test: ast.expr, app: str) -> list[str] | None:
    """``app is not None [and db is not None ...]`` -> the names; None for any other test."""
    parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
    out = []
    for p in parts:
        if not (
            isinstance(p, ast.Compare) and len(p.ops) == 1 and isinstance(p.ops[0], ast.IsNot)
            and isinstance(p.left, ast.Name) and isinstance(p.comparators[0], ast.Constant)
            and p.comparators[0].value is None
        ):  # fmt: skip
            return None
        out.append(p.left.id)
    return out if app in out else None


def _init_call(stmt: ast.stmt, app: str) -> ast.Call | None:
    """``self.init_app(app, ...)`` as a statement."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        f = call.func
        if (
            isinstance(f, ast.Attribute) and f.attr == "init_app" and isinstance(f.value, ast.Name)
            and f.value.id == "self" and call.args and isinstance(call.args[0], ast.Name) and call.args[0].id == app
        ):  # fmt: skip
            return call
    return None


def _judge(qualified: str, short: str, init: ast.FunctionDef, init_app: ast.FunctionDef) -> ExtensionInit:
    params, defaults = _positional(init)
    if not params:
        return ExtensionInit(qualified, "blocked", f"`{short}()` takes no app")
    app = params[0]
    var_keyword = init.args.kwarg.arg if init.args.kwarg else None
    body = [s for s in init.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if init.args.vararg is not None:
        return ExtensionInit(qualified, "blocked", f"`{short}.__init__` takes `*{init.args.vararg.arg}`")
    # The last statement: `if app is not None: self.init_app(app, ...)`.
    last = body[-1] if body else None
    tests = _not_none_test(last.test, app) if isinstance(last, ast.If) else None
    call = (
        _init_call(last.body[0], app)
        if isinstance(last, ast.If) and len(last.body) == 1 and not last.orelse
        else None
    )
    if last is None or tests is None or call is None:
        return ExtensionInit(
            qualified,
            "blocked",
            f"`{short}.__init__` does not end by calling `self.init_app({app})` when `{app}` is given",
        )
    forwarded: list[str] = []
    for a in call.args[1:]:
        if not (isinstance(a, ast.Name) and a.id in params):
            return ExtensionInit(
                qualified, "blocked", f"`{short}.__init__` passes `{ast.unparse(a)}` to `init_app`"
            )
        forwarded.append(a.id)
    for k in call.keywords:
        if k.arg is None and isinstance(k.value, ast.Name) and k.value.id == var_keyword:
            forwarded.append(f"**{var_keyword}")
        else:
            return ExtensionInit(
                qualified, "blocked", f"`{short}.__init__` passes `{ast.unparse(k)}` to `init_app`"
            )
    init_params, init_defs = _positional(init_app)
    positions = [p for p in forwarded if not p.startswith("**")]
    init_defaults = tuple(
        init_defs.get(init_params[i + 1]) if i + 1 < len(init_params) else None for i in range(len(positions))
    )
    # Everything before it: the app may not appear; keeping it is unsafe, anything else blocks.
    kept = None
    for stmt in body[:-1]:
        if app not in _names(stmt):
            continue
        if (
            isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.value, ast.Name)
            and stmt.value.id == app and isinstance(stmt.targets[0], ast.Attribute)
            and isinstance(stmt.targets[0].value, ast.Name) and stmt.targets[0].value.id == "self"
        ):  # fmt: skip
            kept = stmt.targets[0].attr
            continue
        return ExtensionInit(
            qualified,
            "blocked",
            f"`{short}.__init__` does more with `{app}` than pass it to `init_app` (line {stmt.lineno})",
        )
    stored_only = []
    for p in params[1:]:
        uses = [s for s in body[:-1] if p in _names(s)]
        if all(
            isinstance(s, ast.Assign) and isinstance(s.value, ast.Name) and s.value.id == p
            and all(isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self" for t in s.targets)
            for s in uses
        ):  # fmt: skip
            stored_only.append(p)
    common = {
        "params": tuple(params),
        "defaults": tuple((k, v) for k, v in defaults.items() if v is not None),
        "var_keyword": var_keyword,
        "init_args": tuple(forwarded),
        "init_defaults": init_defaults,
        "not_none": tuple(t for t in tests if t != app),
        "stored_only": tuple(stored_only),
    }
    if kept is not None:
        return ExtensionInit(
            qualified, "unsafe",
            f"`{short}()` also keeps the app (`self.{kept} = {app}`): built without it, it finds the app only "
            "in an app context",
            **common,  # type: ignore[arg-type]
        )  # fmt: skip
    return ExtensionInit(qualified, "safe", f"`{short}.__init__` only passes `{app}` to `init_app`", **common)  # type: ignore[arg-type]


__all__ = ["inspect"]
