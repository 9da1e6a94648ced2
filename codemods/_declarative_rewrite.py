"""LZY003 declarative-base's analysis and rewrite, on LibCST: each module-level
``X = declarative_base(...)`` found by qualified name, what blocks it, the class that replaces
it and the imports. The codemod (:mod:`codemods.declarative_base`) imports this where it runs.
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import QualifiedNameProvider

from codemods import _cst as u
from codemods import _imports as imports
from codemods._api import Analysis, FileContext, Finding, Location, Safety, Settings, Span
from codemods._declarative_plan import FACTORIES, BasePlan, ModulePlan

#: Arguments with a faithful class-body form.
CLASS_ATTRIBUTES = ("metadata", "type_annotation_map")


def analyze(code: str, ctx: FileContext) -> Analysis:
    qnames = ctx.wrapper.resolve(QualifiedNameProvider)
    mp = ctx.project.plans.get(code)
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
        span = ctx.span(stmt)
        problem = _unsupported(call, target) or _version_problem(ctx.settings)
        if problem:
            findings.append(
                Finding(
                    code=code,
                    message=f"`{target} = declarative_base(...)` stays: {problem}",
                    span=span,
                    reason=problem,
                )
            )
            continue
        plan[target] = (index, call)
        base = mp.base(target) if isinstance(mp, ModulePlan) else None
        unsafe = _unsafe_because(base, call, ctx.module, span)
        findings.append(
            Finding(
                code=code,
                message=f"`{target}` is built with the legacy `declarative_base()`",
                span=span,
                fix_key=target,
                safety=Safety.UNSAFE if unsafe else Safety.SAFE,
                help=f"Declare `class {target}(DeclarativeBase)`; the project uses SQLAlchemy 2 ({ctx.settings.sqlalchemy_source})",
                unsafe_because=unsafe,
            )
        )
    return Analysis(findings, plan)


def apply(ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
    plan: dict[str, tuple[int, cst.Call]] = analysis.plan  # type: ignore[assignment]
    chosen = {plan[k][0]: (k, plan[k][1]) for k in keys if k in plan}
    if not chosen:
        return ctx.module
    body = list(ctx.module.body)
    for index, (target, call) in chosen.items():
        body[index] = _class_for(target, call, body[index])
        if index + 1 < len(body):
            body[index + 1] = u.ensure_blank_lines(body[index + 1], 2)
    body = _fix_imports(
        body, ctx.module, still_used=_uses_declarative_base(body), first_party=ctx.project.first_party
    )
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
        why = f" ({settings.sqlalchemy_source})" if settings.sqlalchemy_source else ""
        return (
            f"can't tell whether the project uses SQLAlchemy 2.0{why}; declare `sqlalchemy>=2` or install it"
        )
    return None


def _unsafe_because(
    base: BasePlan | None, call: cst.Call, module: cst.Module, span: Span
) -> tuple[tuple[Location | Span, str], ...]:
    """What in the project could see the new class differ (empty: nothing, the fix is safe)."""
    if base is None:
        return (
            (span, "the project plan says nothing about this base, so what its classes see can't be told"),
        )
    out: list[tuple[Location | Span, str]] = [
        (Location(path, line), why) for path, line, why in base.problems
    ]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "cls" and not _plain_mixin(arg.value, module):
            code = module.code_for_node(arg.value)
            out.append(
                (
                    span,
                    f"the `cls=` mixin `{code}` may have an `__init__`, which `DeclarativeBase` keeps where `declarative_base()` replaced it",
                )
            )
    return tuple(out)


def _plain_mixin(value: cst.BaseExpression, module: cst.Module) -> bool:
    """A class of this module, without bases, that defines neither ``__init__`` nor
    ``__init_subclass__``."""
    if not isinstance(value, cst.Name):
        return False
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and stmt.name.value == value.value:
            if stmt.bases or stmt.keywords:
                return False
            return not any(
                isinstance(s, cst.FunctionDef) and s.name.value in ("__init__", "__init_subclass__")
                for s in stmt.body.body  # type: ignore[union-attr]
            )
    return False


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


def _fix_imports(
    body: list[cst.BaseStatement], module: cst.Module, still_used: bool, first_party: frozenset[str]
) -> list[cst.BaseStatement]:
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
                names = [
                    a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                    for a in names[:-1]
                ] + [names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
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
        out = imports.add_import(out, "from sqlalchemy.orm import DeclarativeBase", first_party=first_party)
    return out
