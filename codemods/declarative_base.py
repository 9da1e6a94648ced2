"""LZY003 declarative-base: ``Base = declarative_base()`` becomes SQLAlchemy 2.0 ``DeclarativeBase``."""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import QualifiedNameProvider

from codemods import _imports as imports
from codemods import _cst as u
from codemods._api import Analysis, Codemod, FileContext, Finding, Safety, Settings, Span

FACTORIES = frozenset({"sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base"})
#: Arguments with a faithful class-body form.
CLASS_ATTRIBUTES = ("metadata", "type_annotation_map")


class DeclarativeBase(Codemod):
    """Turn `Base = declarative_base(...)` into a SQLAlchemy 2.0 `DeclarativeBase` subclass.

    ## What it does
    Rewrites a module-level `Base = declarative_base(...)` (imported from `sqlalchemy.orm` or
    `sqlalchemy.ext.declarative`, under any alias) into `class Base(DeclarativeBase): ...`,
    carrying the arguments over: `metadata=` and `type_annotation_map=` become class
    attributes, `cls=Mixin` becomes a base class, and `name=` is dropped when it equals the
    variable's name. Arguments with no faithful 2.0 form (`constructor=`, `metaclass=`,
    `class_registry=`, `mapper=`, `bind=`, a different `name=`, positional arguments) are
    reported, and the statement is left alone. Imports are fixed up. Only where the project can
    use SQLAlchemy 2.0: its declared dependency says so, or, when it declares none, the
    installed version is 2.x; otherwise the rewrite is blocked with that reason.

    ## Why is this bad?
    `declarative_base()` is the legacy 1.x API (`sqlalchemy.ext.declarative.declarative_base`
    is deprecated and warns in 2.0); a class statement is what type checkers understand, and
    it is where 2.0's typed `Mapped[...]` models start.

    ## Example
    ```python
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()
    ```

    Use instead:
    ```python
    from sqlalchemy.orm import DeclarativeBase


    class Base(DeclarativeBase):
        pass
    ```

    ## Fix safety
    Unsafe: it changes no timing, but the type seen at runtime: the base's metaclass becomes
    `DeclarativeAttributeIntercept` instead of `DeclarativeMeta` (code that checks
    `isinstance(cls, DeclarativeMeta)` behaves differently), and mapped classes whose attributes
    carry plain (non-`Mapped[...]`) annotations raise at class creation unless they set
    `__allow_unmapped__ = True`. Tables, metadata, the registry and the default constructor
    behave the same.

    Schema work at import (`Base.metadata.create_all(engine)`) is not this codemod's: the
    lazy-singletons codemod (LZY002) moves it into the engine's getter, where it runs once,
    right after the engine is built.
    """

    code = "LZY003"
    name = "declarative-base"
    summary = "Turn `Base = declarative_base()` into a SQLAlchemy 2.0 `DeclarativeBase` class"
    version = 1

    def prefilter(self, text: str, settings: Settings) -> bool:
        return "declarative_base" in text

    def analyze(self, ctx: FileContext) -> Analysis:
        qnames = ctx.wrapper.resolve(QualifiedNameProvider)
        positions = ctx.positions
        findings: list[Finding] = []
        plan: dict[str, tuple[int, cst.Call]] = {}
        for index, stmt in enumerate(ctx.module.body):
            if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
                continue
            small = stmt.body[0]
            if not (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and isinstance(small.value, cst.Call)
            ):
                continue
            call = small.value
            found = qnames.get(call.func, ())
            if callable(found):  # LibCST computes qualified names lazily
                found = found()
            names = {q.name for q in found}
            if not names & FACTORIES:
                continue
            target = small.targets[0].target.value
            r = positions[stmt]
            span = Span(r.start.line, r.start.column + 1, r.end.line, r.end.column + 1)
            problem = _unsupported(call, target) or _version_problem(ctx.settings)
            if problem:
                findings.append(
                    Finding(
                        code=self.code,
                        message=f"`{target} = declarative_base(...)` stays: {problem}",
                        span=span,
                        reason=problem,
                    )
                )
                continue
            plan[target] = (index, call)
            findings.append(
                Finding(
                    code=self.code,
                    message=f"`{target}` is built with the legacy `declarative_base()`",
                    span=span,
                    fix_key=target,
                    safety=Safety.UNSAFE,
                    help=f"Declare `class {target}(DeclarativeBase)`",
                    related=((span, "the base's metaclass changes; plain annotations on mapped classes need `Mapped[...]` or `__allow_unmapped__`"),),
                )
            )
        return Analysis(findings, plan)

    def apply(self, ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
        plan: dict[str, tuple[int, cst.Call]] = analysis.plan  # type: ignore[assignment]
        chosen = {plan[k][0]: (k, plan[k][1]) for k in keys if k in plan}
        if not chosen:
            return ctx.module
        body = list(ctx.module.body)
        for index, (target, call) in chosen.items():
            body[index] = _class_for(target, call, body[index])
            if index + 1 < len(body):
                body[index + 1] = u.ensure_blank_lines(body[index + 1], 2)
        body = _fix_imports(body, ctx.module, still_used=_uses_declarative_base(body))
        return ctx.module.with_changes(body=body)


def _unsupported(call: cst.Call, target: str) -> str | None:
    for arg in call.args:
        if arg.keyword is None:
            return "positional arguments have no `DeclarativeBase` form"
        key = arg.keyword.value
        if key in CLASS_ATTRIBUTES or key == "cls":
            continue
        if key == "name":
            if isinstance(arg.value, cst.SimpleString) and arg.value.evaluated_value == target:
                continue
            return "`name=` differs from the variable's name"
        return f"`{key}=` has no faithful `DeclarativeBase` form"
    return None


def _version_problem(settings: Settings) -> str | None:
    if settings.sqlalchemy2 == "no":
        return f"the project can't use SQLAlchemy 2.0 ({settings.sqlalchemy_source})"
    if settings.sqlalchemy2 != "yes":
        return "can't tell whether the project uses SQLAlchemy 2.0 (declare `sqlalchemy>=2` or install it)"
    return None


def _class_for(target: str, call: cst.Call, original: cst.BaseStatement) -> cst.BaseStatement:
    bases = []
    attrs = []
    for arg in call.args:
        key = arg.keyword.value  # type: ignore[union-attr]
        code = cst.Module(body=[]).code_for_node(arg.value)
        if key == "cls":
            bases.append(code)
        elif key in CLASS_ATTRIBUTES:
            attrs.append(f"    {key} = {code}\n")
    bases.append("DeclarativeBase")
    body = "".join(attrs) or "    pass\n"
    cls = cst.parse_statement(f"class {target}({', '.join(bases)}):\n{body}")
    lead = list(getattr(original, "leading_lines", ()))
    return u.ensure_blank_lines(cls.with_changes(leading_lines=lead), 2)


def _uses_declarative_base(body: list[cst.BaseStatement]) -> bool:
    text = cst.Module(body=[s for s in body if not _is_import(s)]).code
    return re.search(r"\bdeclarative_base\b", text) is not None


def _is_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _fix_imports(body: list[cst.BaseStatement], module: cst.Module, still_used: bool) -> list[cst.BaseStatement]:
    """Import DeclarativeBase (next to the old import when it came from sqlalchemy.orm) and drop
    ``declarative_base`` when nothing uses it any more."""
    added = False
    for i, stmt in enumerate(body):
        if not _is_import(stmt):
            continue
        smalls = []
        for small in stmt.body:  # type: ignore[attr-defined]
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                mod = u.dotted_name(small.module)
                names = list(small.names)
                if mod in ("sqlalchemy.orm", "sqlalchemy.ext.declarative") and not still_used:
                    names = [a for a in names if u.dotted_name(a.name) != "declarative_base"]
                if mod == "sqlalchemy.orm" and not added:
                    if not any(u.dotted_name(a.name) == "DeclarativeBase" for a in names):
                        names.insert(0, cst.ImportAlias(name=cst.Name("DeclarativeBase")))
                    added = True
                if not names:
                    continue
                names = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in names[:-1]] + [
                    names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                ]
                small = small.with_changes(names=names)
            smalls.append(small)
        if smalls:
            body[i] = stmt.with_changes(body=smalls)
        else:
            body[i] = None  # type: ignore[call-overload]
    lead_of_removed = []
    out = []
    for i, stmt in enumerate(body):
        if stmt is None:
            lead_of_removed = list(module.body[i].leading_lines)  # type: ignore[attr-defined]
            continue
        if lead_of_removed:
            stmt = stmt.with_changes(leading_lines=lead_of_removed + [line for line in stmt.leading_lines if line.comment is not None])  # type: ignore[attr-defined]
            lead_of_removed = []
        out.append(stmt)
    if not added:
        out = imports.add_import(out, "from sqlalchemy.orm import DeclarativeBase")
    return out
