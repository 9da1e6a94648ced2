"""LZY004 app-factory's analyzer: the module-level app and what configures it, each blocker
checked, the plan of the rewrite. The codemod (:mod:`codemods.app_factory`) imports it where it
runs, so that only a file that needs a tree imports LibCST.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
from libcst.metadata import QualifiedNameProvider, ScopeProvider

from codemods import _cst as u
from codemods._api import Analysis, Blocked, FileContext, Finding, Location, Safety, Span
from codemods._app_factory.blockers import Blockers
from codemods._app_factory.classify import Classify
from codemods._app_factory.extensions import Extensions
from codemods._app_factory.plan import FACTORY, LAZY_CLASS, Plan
from codemods._app_factory.syntax import (
    APP_CLASSES,
    _last_attr,
    _names_in,
    _root,
)
from codemods._app_factory.values import Values
from codemods._exports import exports

# ---------------------------------------------------------------------------------------------
# Analysis


class Analyzer(Classify, Extensions, Values, Blockers):
    def __init__(self, ctx: FileContext, code: str) -> None:
        self.ctx = ctx
        self.code = code
        self.module = ctx.module
        self.body = list(ctx.module.body)
        meta = ctx.wrapper.resolve_many([QualifiedNameProvider, ScopeProvider])
        self.qnames = meta[QualifiedNameProvider]
        self.positions = ctx.positions
        self.gscope = meta[ScopeProvider][ctx.module]
        self._top: dict[int, int] = {}
        #: name -> (line, why) of what keeps a value at module level (see movable_values)
        self.kept: dict[str, tuple[cst.CSTNode | Location | None, str]] = {}

    # -- small helpers -----------------------------------------------------------------------

    @property
    def parents(self) -> Mapping[cst.CSTNode, cst.CSTNode]:
        return self.ctx.parents

    def top(self, node: cst.CSTNode) -> int:
        return u.top_level_index(node, self.parents, self.module, self._top)

    def deferred(self, node: cst.CSTNode) -> bool:
        return u.in_function_body(node, self.parents)

    def in_decorators(self, node: cst.CSTNode, stmt: cst.CSTNode, count: int) -> bool:
        """Inside one of the first ``count`` decorators of ``stmt``."""
        decorators = list(getattr(stmt, "decorators", ()))[:count]
        child = node
        while child is not None and child is not stmt:
            if any(child is d for d in decorators):
                return True
            child = self.parents.get(child)
        return False

    def qualified(self, node: cst.CSTNode) -> set[str]:
        found = self.qnames.get(node, ())
        if callable(found):  # LibCST computes qualified names lazily
            found = found()
        return {q.name for q in found}

    def refs(self, name: str) -> list[cst.Name]:
        out = []
        for a in self.ctx.in_source_order(self.gscope.assignments[name]):
            for acc in self.ctx.in_source_order(a.references):
                if isinstance(acc.node, cst.Name):
                    out.append(acc.node)
        return out

    def bound_names(self) -> set[str]:
        return {a.name for a in self.gscope.assignments}

    # -- the run -----------------------------------------------------------------------------

    def find_apps(self) -> list[tuple[int, str, cst.Call, str]]:
        apps = []
        for i, stmt in enumerate(self.body):
            assigned = u.single_assignment(stmt)
            if assigned is None or not isinstance(assigned[1], cst.Call):
                continue
            target, value = assigned
            kinds = {APP_CLASSES[q] for q in self.qualified(value.func) if q in APP_CLASSES}
            if kinds:
                apps.append((i, target.value, value, kinds.pop()))
        return apps

    def run(self) -> Analysis:
        apps = self.find_apps()
        if not apps:
            return Analysis([])
        findings = []
        # Sub-applications mounted on another app (also inside an existing factory, as after a
        # rewrite) stay as they are; the app nothing mounts is the one to move.
        mounted = self._mounted({a[1] for a in apps})
        apps = [a for a in apps if a[1] not in mounted]
        if not apps:
            return Analysis([])
        if len(apps) > 1:
            for i, name, _call, _kind in apps:
                findings.append(self.blocked(name, self.body[i], "the module builds more than one app"))
            return Analysis(findings)
        index, name, call, interface = apps[0]
        stmt = self.body[index]
        try:
            plan, related = self.plan(index, name, call, interface)
        except Blocked as b:
            return Analysis([self.blocked(name, stmt, b.reason, b.node, b.note)])
        unsafe = []
        if plan.mode == "lazy":
            unsafe.append(
                (
                    self.ctx.span(stmt),
                    f"`{name}` is a stand-in that builds the app on first use (`isinstance` checks see `{LAZY_CLASS}`)",
                )
            )
        if plan.mode == "none":
            unsafe.append(
                (
                    self.ctx.span(stmt),
                    f"the module no longer has `{name}`: serve `{FACTORY}()` with the server's factory option",
                )
            )
        for i, role in sorted(plan.roles.items()):
            if role == "setup":
                unsafe.append(
                    (self.ctx.span(self.body[i]), "runs once before the first request instead of at import")
                )
            if role == "extension" and plan.extensions[i].unsafe:
                unsafe.append((self.ctx.span(self.body[i]), plan.extensions[i].unsafe))
        where = {
            "eager": f"`{name} = {FACTORY}()` keeps",
            "lazy": f"`{name}` builds it on first use;",
            "none": "no",
        }[plan.mode]
        tail = {
            "eager": " a module-level app",
            "lazy": " nothing is built at import",
            "none": " module-level app remains",
        }[plan.mode]
        findings.append(
            Finding(
                code=self.code,
                message=f"`{name}` is built and configured at import; move it into `{FACTORY}()` ({where}{tail})",
                span=self.ctx.span(stmt),
                fix_key=name,
                safety=Safety.UNSAFE if unsafe else Safety.SAFE,
                help=f"Build the app in `def {FACTORY}() -> {plan.returns}`",
                unsafe_because=tuple(unsafe),
                related=tuple(related),
            )
        )
        return Analysis(findings, plan)

    def _mounted(self, names: set[str]) -> set[str]:
        """Apps passed to a call on another app (``app.mount("/sub", subapi)``), or to any
        ``.mount(...)``, as in an existing ``create_app()``."""
        out: set[str] = set()

        class V(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                r = _root(node.func)
                if (r is not None and r.value in names) or _last_attr(node.func) == "mount":
                    others = names - {r.value} if r is not None else names
                    for a in node.args:  # also wrapped: app.mount("/v1", WSGIMiddleware(flask_app))
                        out.update(n.value for n in _names_in(a.value) if n.value in others)

        for stmt in self.body:
            stmt.visit(V())
        return out

    def blocked(
        self,
        name: str,
        stmt: cst.CSTNode,
        reason: str,
        at: cst.CSTNode | Location | None = None,
        note: str | None = None,
    ) -> Finding:
        related: tuple = ()
        if isinstance(at, Location):
            related = ((at, note or reason),)
        elif at is not None:
            related = ((Span(self.ctx.line(at)), note or reason),)
        return Finding(
            code=self.code,
            message=f"`{name}` stays built at import: {reason}",
            span=self.ctx.span(stmt),
            reason=reason,
            related=related,
        )

    def plan(self, index: int, name: str, call: cst.Call, interface: str) -> tuple[Plan, list]:
        settings = self.ctx.settings
        mode = settings.module_app
        returns = cst.Module(body=[]).code_for_node(call.func)
        bound = self.bound_names()
        for taken in (FACTORY, *((LAZY_CLASS,) if mode == "lazy" else ())):
            if taken in bound:
                a = self.ctx.in_source_order(self.gscope.assignments[taken])[0]
                node = getattr(a, "node", None)
                raise Blocked(
                    f"the module already defines `{taken}`",
                    node if isinstance(node, cst.CSTNode) else None,
                    "defined here",
                )
        assignments = list(self.gscope.assignments[name])
        if len(assignments) > 1:
            nodes = sorted(
                (a.node for a in assignments if isinstance(getattr(a, "node", None), cst.CSTNode)),
                key=self.ctx.line,
            )
            here = self.ctx.line(self.body[index])
            other = next((n for n in nodes if self.ctx.line(n) != here), None)
            raise Blocked(f"`{name}` is rebound", other, f"`{name}` is bound again here")
        # Another module that configures the app at import would be missing from the factory.
        # Tests configure the module-level app for themselves (`dependency_overrides`,
        # `app.config["TESTING"] = True`): `app = create_app()` still gives them that app.
        elsewhere = self.ctx.project.configured_at_import.get(name, ())
        for loc in elsewhere:
            if not loc.in_tests:
                raise Blocked(
                    f"another module configures `{name}` at import, so `{FACTORY}()` would build an app without it",
                    loc,
                    f"configures `{name}` at import",
                )
        if elsewhere and mode != "eager":
            instead = "removes" if mode == "none" else "replaces with a stand-in built on first use"
            raise Blocked(
                f'a test configures the module-level `{name}` at import, which `module-app = "{mode}"` {instead}',
                elsewhere[0],
                f"configures `{name}` at import",
            )
        for loc, _how in self.ctx.project.refs_to(name):
            if mode == "none":
                raise Blocked(
                    f'another module imports `{name}`, which `module-app = "none"` removes',
                    loc,
                    f"imports `{name}`",
                )

        if mode == "none" and name in exports(self.module):
            raise Blocked(f'`{name}` is in `__all__`, and `module-app = "none"` removes it')
        plan = Plan(app=name, interface=interface, returns=returns, create=index, mode=mode)
        plan.roles[index] = "move"
        from_object_self = None
        for i in range(index + 1, len(self.body)):
            role, count = self.classify(self.body[i], name, interface)
            if role is not None:
                plan.roles[i] = role
                if role == "register":
                    plan.registering[i] = count
            elif i not in plan.roles:
                split = self._extension(self.body[i], name)
                if split is not None:
                    plan.roles[i] = "extension"
                    plan.extensions[i] = split
            if role == "move" and from_object_self is None and self._reads_own_globals(self.body[i], name):
                from_object_self = i
        self.movable_values(plan, from_object_self)
        related = self.check(plan, from_object_self)
        return plan, related

    def moved_ref(self, node: cst.CSTNode, plan: Plan, values: set[int]) -> bool:
        """Does this reference run inside the factory after the rewrite?"""
        i = self.top(node)
        role = plan.roles.get(i)
        if role in ("move", "setup") or i in values:
            return True
        if role == "register":
            return self.in_decorators(node, self.body[i], plan.registering[i])
        if role == "extension":
            return isinstance(node, cst.Name) and node.value == plan.app
        return False

    def _factory_nodes(self, plan: Plan, i: int) -> list[cst.CSTNode]:
        """What of statement ``i`` runs in the factory."""
        role = plan.roles[i]
        if role == "register":
            return list(self.body[i].decorators[: plan.registering[i]])  # type: ignore[attr-defined]
        if role == "extension":
            return [plan.extensions[i].init]
        return [self.body[i]]
