"""heavy-imports' analysis: which module-level heavy imports can move, and where to.

The :class:`Analyzer` walks the module's top-level statements once. For each heavy import it
finds every use of the bound name (scope analysis), and decides: used only in functions (the
import moves into each outermost one), only in annotations (under ``if TYPE_CHECKING:``,
quoted where evaluated at definition time), or blocked (used at import, rebound, re-exported,
reached from another module). Where code runs is :mod:`.context`; who reads annotations is
:mod:`.annotations`; optional-dependency ``try`` blocks are :mod:`.flags`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import libcst as cst
from libcst.metadata import Access, GlobalScope, ScopeProvider

from codemods import _cst as u
from codemods._api import Analysis, Blocked, FileContext, Finding, Safety
from codemods._exports import exports
from codemods._getattr import module_getattr
from codemods._heavy_imports import CODE
from codemods._heavy_imports.annotations import SIGNATURE_READING_CALLS, AnnotationReaders
from codemods._heavy_imports.context import (
    cast_target,
    context,
    enclosing,
    for_type_checkers_only,
    in_type_checking,
    outermost,
    within,
)
from codemods._heavy_imports.flags import try_block
from codemods._heavy_imports.grouping import one_per_statement
from codemods._heavy_imports.plan import Binding, FlagBlock, Plan
from codemods._scope_slice import Slice, SlicedTree

_T = TypeVar("_T")
#: What the scan for `global` declarations and reading calls looks for in a statement's code.
_SCANNED_WORDS = re.compile(r"\b(?:global|Depends|Security)\b")


class Analyzer:
    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.module = ctx.module
        self.settings = ctx.settings
        self.style = ctx.settings.style
        self.positions = ctx.positions
        names = self._looked_up()
        if names is None:
            scope = ctx.wrapper.resolve(ScopeProvider)[self.module]
            assert isinstance(scope, GlobalScope)
            self.gscope = scope
            self.parents: Mapping[cst.CSTNode, cst.CSTNode] = ctx.parents
            self.in_source_order: Callable[[Iterable[_T]], list[_T]] = ctx.in_source_order
            self.sort_nodes: Callable[[list[cst.CSTNode]], list[cst.CSTNode]] = lambda nodes: sorted(
                nodes, key=lambda n: ctx.order.get(n, -1)
            )
        else:
            # Scope analysis, parents and order over only the statements that name the heavy
            # bindings: the same answers for them (``_scope_slice``), at a fraction of the cost.
            sliced = Slice(self.module, names, self.positions.statement_code)
            self.gscope = sliced.global_scope(self.module)
            tree = SlicedTree(self.module, sliced.picked, lambda: (ctx.parents, ctx.order), sliced.skipped)
            self.parents = tree  # type: ignore[assignment]
            self.in_source_order = tree.in_source_order
            self.sort_nodes = tree.sort_nodes
        self.deferred_annotations = u.has_future_annotations(self.module) or (
            ctx.settings.target_version >= (3, 14)
        )
        self.findings: list[Finding] = []
        #: binding key -> reasons something may read the annotations we would quote or hide.
        #: (Keyed by the binding's key, never id(): a freed binding's id is reused.)
        self.risks: dict[str, list[str]] = {}
        self._locals: dict[int, frozenset[str]] = {}  # function -> the names it binds
        self._top_cache: dict[int, int] = {}
        self.bindings: dict[str, Binding] = {}
        self.flags: dict[str, FlagBlock] = {}
        exported = exports(self.module)
        self.all_names, self.all_unknown = set(exported.names), exported.computed
        self.getattr_index, self.getattr_generated = module_getattr(self.module)
        self.globals_declared, signature_readers = self._scan()
        self.readers = AnnotationReaders(self.module, self.parents, signature_readers, ctx.project)

    # -- small utilities ---------------------------------------------------------------------

    def _looked_up(self) -> set[str] | None:
        """The names whose assignments this analysis asks scope analysis for: what the
        module-level heavy imports bind (``import a.b`` binds ``a`` and ``a.b``). None when it
        needs the module's whole scope: a top-level ``try`` with a heavy import (an
        optional-dependency block looks up its flag and every global name)."""
        names: set[str] = set()
        for stmt in self.module.body:
            if isinstance(stmt, cst.Try):
                if any(
                    self.heavy_aliases(small) != []
                    for inner in stmt.body.body
                    for small in u.iter_small_statements(inner)
                    if isinstance(small, (cst.Import, cst.ImportFrom))
                ):
                    return None
                continue
            for small in u.iter_small_statements(stmt):
                if not isinstance(small, (cst.Import, cst.ImportFrom)):
                    continue
                for alias in self.heavy_aliases(small) or []:
                    names.add(u.alias_binding(alias))
                    if alias.asname is None:
                        full = u.dotted_name(alias.name) or ""
                        names.update(".".join(full.split(".")[:i]) for i in range(1, full.count(".") + 2))
        return names

    def top(self, node: cst.CSTNode) -> int:
        return u.top_level_index(node, self.parents, self.module, self._top_cache)

    def _scan(self) -> tuple[dict[str, cst.Global], set[str]]:
        """One pass over the module: ``global`` declarations, and names passed to
        ``Depends(...)``/``Security(...)`` (whose signatures FastAPI reads)."""
        declared: dict[str, cst.Global] = {}
        readers: set[str] = set()

        class V(cst.CSTVisitor):
            def visit_Global(self, node: cst.Global) -> None:
                for n in node.names:
                    declared.setdefault(n.name.value, node)

            def visit_Call(self, node: cst.Call) -> None:
                if u.dotted_name(node.func) in SIGNATURE_READING_CALLS:
                    for arg in node.args:
                        n = u.dotted_name(arg.value)
                        if n:
                            readers.add(n.split(".")[-1])

        # Only statements that spell `global` or a reading call out are visited: the same
        # answers, in the same order, without walking the whole module.
        code = self.positions.statement_code
        for stmt in self.module.body:
            if _SCANNED_WORDS.search(code(stmt)):
                stmt.visit(V())
        return declared, readers

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> Analysis:
        for index, stmt in enumerate(self.module.body):
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self._statement(small, stmt, index)
            elif isinstance(stmt, cst.Try):
                try_block(self, stmt, index)
            elif isinstance(stmt, cst.If) and (u.is_type_checking_test(stmt.test) or u.is_main_guard(stmt)):
                continue
            elif not isinstance(stmt, cst.FunctionDef):
                self.block_nested(stmt, "imported conditionally at module level")
        findings, groups = one_per_statement(self.findings)
        findings = sorted(findings, key=lambda f: (f.span.line, f.span.column, f.message))
        plan = Plan(self.bindings, self.flags, self.getattr_index, self.getattr_generated, groups)
        return Analysis(findings, plan)

    def heavy_aliases(self, small: cst.Import | cst.ImportFrom) -> list[cst.ImportAlias] | None:
        """Aliases of a heavy import (``None`` for a heavy star import)."""
        if isinstance(small, cst.ImportFrom):
            if small.relative:
                return []
            mod = u.import_module_name(small)
            if mod == "__future__" or not self.settings.is_heavy(mod):  # a compiler directive
                return []
            if isinstance(small.names, cst.ImportStar):
                return None
            return list(small.names)
        return [a for a in small.names if self.settings.is_heavy(u.dotted_name(a.name) or "")]

    def block_nested(self, stmt: cst.BaseStatement, why: str) -> None:
        """Heavy imports that run at import inside an ``if``/``with``/``try``/class body."""
        analyzer = self

        class V(cst.CSTVisitor):
            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

            def visit_If(self, node: cst.If) -> bool:
                return not u.is_type_checking_test(node.test)

            def _imp(self, node: cst.Import | cst.ImportFrom) -> None:
                aliases = analyzer.heavy_aliases(node)
                if aliases is None or aliases:
                    mod = (
                        u.import_module_name(node)
                        if isinstance(node, cst.ImportFrom)
                        else ", ".join(u.dotted_name(a.name) or "" for a in aliases or [])
                    )
                    analyzer.findings.append(
                        Finding(
                            code=CODE,
                            message=f"`{mod}` is imported at import time and can't be moved: {why}",
                            span=analyzer.ctx.span(node),
                            reason=why,
                        )
                    )

            def visit_Import(self, node: cst.Import) -> None:
                self._imp(node)

            def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
                self._imp(node)

        stmt.visit(V())

    def _statement(
        self, small: cst.Import | cst.ImportFrom, stmt: cst.SimpleStatementLine, index: int
    ) -> None:
        aliases = self.heavy_aliases(small)
        if aliases is None:
            self.findings.append(
                Finding(
                    code=CODE,
                    message=f"`from {u.import_module_name(small)} import *` can't be moved into functions",  # type: ignore[arg-type]
                    span=self.ctx.span(small),
                    reason="star import",
                )
            )
            return
        seen: dict[str, Binding] = {}
        for alias in aliases:
            b = Binding(u.alias_binding(alias), alias, small, index)
            if b.key in seen:
                # The same name twice in one statement is one binding: one finding, one fix.
                seen[b.key].duplicates.append(alias)
                continue
            seen[b.key] = b
            try:
                self.analyze_binding(b)
            except Blocked as e:
                self._report_blocked(b, e)
                continue
            if b.unused and self._kept_for_side_effects(b, stmt):
                continue
            self._report_fix(b)

    def _kept_for_side_effects(self, b: Binding, stmt: cst.SimpleStatementLine) -> bool:
        """An unused import that is there on purpose, so not "unused": marked ``# noqa``, in a
        package's ``__init__.py`` (which imports submodules to register them), or a dotted
        ``import a.b`` (which loads the submodule ``a.b`` for whoever uses it)."""
        return (
            "noqa" in self.module.code_for_node(stmt)
            or self.ctx.path.replace("\\", "/").rsplit("/", 1)[-1] == "__init__.py"
            or b.dotted_plain_import
        )

    # -- one binding -------------------------------------------------------------------------

    def _own_assignments(self, b: Binding) -> list:  # list[BaseAssignment]
        """The scope's assignments made by this alias. ``import a.b.c`` records ``a``, ``a.b``
        and ``a.b.c``; references to any of them are uses of the binding."""
        full = u.dotted_name(b.alias.name) or b.name
        names = (
            {b.name}
            if b.alias.asname is not None
            else {".".join(full.split(".")[:i]) for i in range(1, full.count(".") + 2)}
        )
        own = [
            a for n in names for a in self.gscope.assignments[n]
            if getattr(a, "node", None) is b.small
        ]  # fmt: skip
        if not own:
            raise Blocked("not resolved by scope analysis", b.small)
        return own

    def analyze_binding(self, b: Binding, allowed_rebind: cst.CSTNode | None = None) -> None:
        name = b.name
        if name in self.globals_declared:
            raise Blocked(f"declared `global {name}` in a function", self.globals_declared[name])
        own = self._own_assignments(b)
        for other in self.in_source_order(self.gscope.assignments[name]):
            node = getattr(other, "node", None)
            if node is None or node is b.small:
                continue
            if allowed_rebind is not None and within(node, allowed_rebind, self.parents):
                continue
            if isinstance(node, (cst.Import, cst.ImportFrom)) and in_type_checking(node, self.parents):
                continue
            raise Blocked(f"`{name}` is rebound", node)
        if name in self.all_names:
            raise Blocked(f"`{name}` is re-exported in `__all__`", None)
        if self.all_unknown and not name.startswith("_"):
            raise Blocked(f"`__all__` is computed, so `{name}` may be re-exported", None)
        if not self.all_names and not self.all_unknown and not name.startswith("_"):
            star = self.ctx.project.star_imported_by
            if star:
                raise Blocked(
                    f"implicitly re-exported: {star[0]} star-imports this module, which has no `__all__`",
                    None,
                )
        for loc, how in self.ctx.project.refs_to(name):
            raise Blocked(f"{how} at {loc}", None)
        kept = self.ctx.project.passed_on(name)
        if kept is not None:
            raise Blocked(
                f"`{name}` is a singleton this package passes on (`{self.ctx.module_name}.{name}`);"
                f" lazy-singletons keeps `{kept}` built at import for it",
                None,
            )

        users: list[cst.CSTNode] = []
        accesses = self.in_source_order(
            {
                acc
                for a in own
                for acc in a.references
                if not u.bound_in_a_function(name, acc.node, self.parents, self._locals)
            }
        )
        for access in accesses:
            self._classify(b, access, users)
        b.targets = outermost(users, self.parents, self.sort_nodes)
        b.unused = not b.targets and not b.annotation_uses
        b.touched = {self.top(n) for n in [*b.targets, *b.quote]}

    def _classify(self, b: Binding, access: Access, users: list[cst.CSTNode]) -> None:
        node = access.node
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            # A string annotation or type hint: never evaluated at import.
            b.annotation_uses = True
            if not cast_target(node, self.parents):
                self._check_annotation_readers(b, node)
            return
        if for_type_checkers_only(node, self.parents):
            # The body of `if TYPE_CHECKING:` never runs (lazy-singletons declares its names
            # there): the name is kept for type checkers, under the guard.
            b.annotation_uses = True
            return
        annotation = enclosing(node, (cst.Annotation,), self.parents) if access.is_annotation else None
        if annotation is not None and self.style == "local":
            self._annotation_use(b, node, annotation, users)
            return
        where, target, kind = context(node, self.parents)
        if where in ("function", "main"):
            users.append(target)  # type: ignore[arg-type]
            return
        if self.style != "local" and where == "lambda":
            return
        if where == "lambda":
            raise Blocked("used in a lambda at module level", node)
        raise Blocked(f"used at module level ({kind})", node)

    def _annotation_use(
        self, b: Binding, node: cst.CSTNode, annotation: cst.Annotation, users: list[cst.CSTNode]
    ) -> None:
        owner = self.parents.get(annotation)
        if isinstance(owner, cst.Param):
            owner = enclosing(owner, (cst.FunctionDef, cst.Lambda), self.parents)
        if isinstance(owner, cst.AnnAssign):
            where, target, _kind = context(owner, self.parents)
            container = enclosing(owner, (cst.FunctionDef, cst.ClassDef, cst.Module), self.parents)
            if isinstance(container, cst.FunctionDef):
                # A local variable annotation is never evaluated.
                b.annotation_uses = True
                return
            if self.deferred_annotations:
                b.annotation_uses = True
                self._check_annotation_readers(b, node)
                return
            if where in ("function", "main"):
                users.append(target)  # type: ignore[arg-type]
                return
            if isinstance(container, cst.ClassDef):
                b.annotation_uses = True
                self._quote(b, annotation)
                self._note_risk(b, self.readers.class_risk(container), node)
                return
            raise Blocked("used in a module-level annotation, evaluated at import", node)
        if not isinstance(owner, cst.FunctionDef):
            raise Blocked("used in an annotation lazify does not understand", node)
        if self.deferred_annotations:
            b.annotation_uses = True
            self._check_annotation_readers(b, node)
            return
        where, target, _kind = context(owner, self.parents)
        if where in ("function", "main"):
            users.append(target)  # type: ignore[arg-type]
            return
        b.annotation_uses = True
        self._quote(b, annotation)
        self._check_annotation_readers(b, node)

    def _quote(self, b: Binding, annotation: cst.Annotation) -> None:
        expr = annotation.annotation
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
            return
        if u.quote_annotation(self.module.code_for_node(expr)) is None:
            raise Blocked("used in an annotation that can't be quoted", annotation)
        if annotation not in b.quote:
            b.quote.append(annotation)

    def _check_annotation_readers(self, b: Binding, node: cst.CSTNode) -> None:
        owner = enclosing(node, (cst.FunctionDef, cst.ClassDef), self.parents)
        risk = None
        if isinstance(owner, cst.FunctionDef):
            risk = self.readers.function_risk(owner)
        elif isinstance(owner, cst.ClassDef):
            risk = self.readers.class_risk(owner)
        self._note_risk(b, risk, node)

    def _note_risk(self, b: Binding, risk: tuple[str, bool] | None, node: cst.CSTNode) -> None:
        """Something may read these annotations. When it runs at import (a decorator, a base
        class, a metaclass: pydantic, dataclasses, FastAPI routes), a quoted name that only
        exists for type checkers would break the import: blocked. When it reads them later
        (project code calling `get_type_hints`), the fix is unsafe."""
        if risk is None:
            return
        message, at_import = risk
        if at_import:
            raise Blocked(message + " when the module is imported", node)
        self.risks.setdefault(b.key, []).append(message)

    # -- reporting ---------------------------------------------------------------------------

    def _report_blocked(self, b: Binding, e: Blocked) -> None:
        where = f" on line {self.ctx.line(e.node)}" if e.node is not None else ""
        related = ((self.ctx.span(e.node), e.reason),) if e.node is not None else ()
        self.findings.append(
            Finding(
                code=CODE,
                message=f"`{b.statement_code()}` stays at module level: {e.reason}{where}",
                span=self.ctx.span(b.small),
                reason=e.reason,
                related=related,
            )
        )

    def _report_fix(self, b: Binding) -> None:
        risks = self.risks.get(b.key, [])
        stmt = b.statement_code()
        if self.style == "lazy-keyword":
            message = f"`{b.module}` is imported eagerly at module level"
            help_ = f"Mark it lazy: `lazy {stmt}`"
            safety = Safety.SAFE
        elif self.style == "lazy-modules":
            message = f"`{b.module}` is imported eagerly at module level"
            help_ = f"Add `{b.module}` to `__lazy_modules__`"
            safety = Safety.SAFE
        elif b.unused:
            message = f"`{b.module}` is imported at module level but never used"
            help_ = f"Remove `{stmt}` (it may be there for its side effects)"
            safety = Safety.UNSAFE
            risks = ["the import would never happen, not just later"]
        else:
            message = f"`{b.module}` is imported at module level but only used "
            message += "inside functions" if b.targets else "in annotations"
            names = ", ".join(f"`{self._target_name(t)}`" for t in b.targets[:4])
            if len(b.targets) > 4:
                names += f" and {len(b.targets) - 4} more"
            parts = []
            if b.targets:
                parts.append(f"Move `{stmt}` into {names}")
            if b.annotation_uses:
                parts.append(
                    ("and" if parts else "Move it")
                    + " under `if TYPE_CHECKING:`"
                    + (" with quoted annotations" if b.quote else "")
                )
            help_ = " ".join(parts)
            safety = Safety.UNSAFE if (risks or b.dotted_plain_import) else Safety.SAFE
            if b.dotted_plain_import:
                risks = [*risks, f"`{stmt}` loads the submodule that other modules may rely on"]
        key = b.key
        self.bindings[key] = b
        notes = tuple((self.ctx.span(b.small), r) for r in dict.fromkeys(risks))
        self.findings.append(
            Finding(
                code=CODE,
                message=message,
                span=self.ctx.span(b.small),
                fix_key=key,
                safety=safety,
                help=help_,
                unsafe_because=notes if safety is Safety.UNSAFE else (),
                related=() if safety is Safety.UNSAFE else notes,
            )
        )

    def _target_name(self, t: cst.CSTNode) -> str:
        if isinstance(t, cst.FunctionDef):
            cls = enclosing(t, (cst.ClassDef, cst.FunctionDef), self.parents)
            prefix = f"{cls.name.value}." if isinstance(cls, cst.ClassDef) else ""
            return f"{prefix}{t.name.value}()"
        return 'if __name__ == "__main__"'

    # -- optional-dependency blocks ----------------------------------------------------------
