"""LZY001 heavy-imports: module-level imports of heavy modules move into the functions that use them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import libcst as cst
from libcst.metadata import (
    Access,
    GlobalScope,
    ScopeProvider,
)

from codemods import _cst as u
from codemods import _imports as imports
from codemods._api import Analysis, Codemod, FileContext, Finding, Safety, Settings, Span
from codemods._imports import LINE_LENGTH

#: Decorators known not to read the annotations of what they decorate.
SAFE_DECORATORS = frozenset({
    "staticmethod", "classmethod", "property", "functools.wraps", "wraps", "lru_cache",
    "functools.lru_cache", "cache", "functools.cache", "cached_property", "functools.cached_property",
    "abstractmethod", "abc.abstractmethod", "overload", "typing.overload", "final", "typing.final",
    "override", "typing.override", "typing_extensions.override", "contextmanager",
    "contextlib.contextmanager", "asynccontextmanager", "contextlib.asynccontextmanager",
    "functools.total_ordering", "total_ordering",
})  # fmt: skip
#: Bases that do not make a class read its annotations.
PLAIN_BASES = frozenset({
    "object", "ABC", "abc.ABC", "Generic", "typing.Generic", "Protocol", "typing.Protocol",
    "Exception", "BaseException", "ValueError", "TypeError", "RuntimeError", "KeyError",
    "LookupError", "OSError", "IOError", "ImportError", "AttributeError", "NotImplementedError",
})  # fmt: skip
#: Calls that hand a function to something that reads its signature (FastAPI dependencies).
SIGNATURE_READING_CALLS = frozenset({"Depends", "fastapi.Depends", "Security", "fastapi.Security"})
IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


@lru_cache(maxsize=32)
def _prefilter_regex(roots: frozenset[str]) -> re.Pattern[str]:
    alt = "|".join(sorted(re.escape(r) for r in roots))
    return re.compile(
        rf"^[ \t]*(?:lazy[ \t]+)?(?:import[ \t]+[^\n#]*?\b(?:{alt})\b|from[ \t]+(?:{alt})\b)",
        re.MULTILINE,
    )


# --------------------------------------------------------------------------------------------
# The plan: what analysis decided, in terms apply() can execute.


@dataclass
class _Binding:
    """One name bound by a module-level import statement."""

    name: str
    alias: cst.ImportAlias
    small: cst.Import | cst.ImportFrom
    stmt_index: int
    #: The try statement when the import is part of an optional-dependency block.
    in_try: cst.Try | None = None
    #: Functions (or the ``__main__`` guard) that get the import at their top.
    targets: list[cst.CSTNode] = field(default_factory=list)
    annotation_uses: bool = False
    quote: list[cst.Annotation] = field(default_factory=list)
    unused: bool = False
    #: More aliases of the same statement that bind the same name (``import numpy, numpy``).
    duplicates: list[cst.ImportAlias] = field(default_factory=list)
    #: Indexes of the top-level statements the fix changes besides the import itself.
    touched: set[int] = field(default_factory=set)

    @property
    def module(self) -> str:
        if isinstance(self.small, cst.ImportFrom):
            return u.import_module_name(self.small)
        return u.dotted_name(self.alias.name) or ""

    @property
    def key(self) -> str:
        """Unique in the module: ``import a.b`` and ``import a.c`` both bind ``a``."""
        if self.alias.asname is None and isinstance(self.small, cst.Import):
            return u.dotted_name(self.alias.name) or self.name
        return self.name

    @property
    def dotted_plain_import(self) -> bool:
        return isinstance(self.small, cst.Import) and "." in (u.dotted_name(self.alias.name) or "")

    def statement_code(self, aliases: list[cst.ImportAlias] | None = None) -> str:
        """The import statement for just this binding (or the given aliases of its statement)."""
        aliases = aliases or [self.alias]
        parts = []
        for a in aliases:
            name = u.dotted_name(a.name) or ""
            asname = a.asname.name.value if a.asname is not None else None  # type: ignore[union-attr]
            parts.append(f"{name} as {asname}" if asname else name)
        if isinstance(self.small, cst.ImportFrom):
            return f"from {self.module} import {', '.join(parts)}"
        return f"import {', '.join(parts)}"


@dataclass
class _FlagBlock:
    """``try: import torch; X_AVAILABLE = True / except ImportError: X_AVAILABLE = False``."""

    node: cst.Try
    stmt_index: int
    flag: str
    probe: str
    flag_type: str | None
    bindings: list[_Binding]
    #: Each read of the flag in a function, with the outermost function it runs in.
    reads: list[tuple[cst.Name, cst.CSTNode]]
    #: Functions that use the block's imported names: they call the probe first.
    targets: list[cst.CSTNode]
    touched: set[int] = field(default_factory=set)


@dataclass
class _Plan:
    bindings: dict[str, _Binding]
    flags: dict[str, _FlagBlock]
    getattr_index: int | None
    getattr_generated: bool
    #: One statement, one finding: the key of a merged finding -> the bindings' own keys.
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


class _Blocked(Exception):
    def __init__(self, reason: str, node: cst.CSTNode | None = None, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.node = node
        self.detail = detail


GETATTR_MARKER = u.GETATTR_MARKER


class HeavyImports(Codemod):
    """Move module-level imports of heavy modules into the functions that use them.

    ## What it does
    Finds module-level imports of heavy modules (torch, numpy, PIL, pandas, ... configurable with
    `heavy-modules` and `extend-heavy-modules`) whose names are only used inside functions, and
    moves each import to the top of every function that uses it. Names used only in annotations
    (or in the body of an `if TYPE_CHECKING:`, which never runs) are imported under
    `if TYPE_CHECKING:` instead, and annotations evaluated at definition time become strings. An optional-dependency block (`try: import torch ... X_AVAILABLE = True /
    except ImportError: X_AVAILABLE = False`) runs on the first read of its flag instead of at
    import. With `style = "lazy-keyword"` or `"lazy-modules"` the import stays where it is and is
    marked lazy with PEP 810 instead.

    ## Why is this bad?
    Importing a heavy module at module level makes every importer pay for it: `import torch`
    takes seconds and hundreds of megabytes before the first request is served, so serverless
    functions time out on cold start (`FUNCTION_INVOCATION_FAILED`), and tests and command-line
    tools are slow even when they never touch the model.

    ## Example
    ```python
    import numpy as np


    def average(values):
        return np.mean(values)
    ```

    Use instead:
    ```python
    def average(values):
        import numpy as np

        return np.mean(values)
    ```

    ## Fix safety
    Moving an import into the functions that use it is safe: the module is imported, and its
    side effects and errors surface, on the first call instead of at import. The rewrite is
    blocked when the name is used at module level (decorators, default values, class bodies and
    bases, module-level statements, annotations evaluated at import), rebound, re-exported
    (`__all__`, or a star-import elsewhere in the project), imported from this module elsewhere
    in the project, or named in a dotted string such as `mock.patch("pkg.mod.np")`. It is also
    blocked when an annotation it would quote may be read while the module is imported: by a
    decorator (FastAPI routes, dataclasses, attrs), a base class or metaclass (pydantic models,
    NamedTuple, TypedDict, SQLAlchemy mapped classes), or FastAPI's reading of a dependency's
    signature; a name that exists only for type checkers would make that import fail.

    These rewrites are unsafe:
    - `import x.y`: the submodule `x.y` is no longer loaded at import, and other modules that
      relied on it being loaded can break.
    - Quoting annotations (or moving a name under `if TYPE_CHECKING:`) that project code reads
      when it runs (`typing.get_type_hints` or `inspect.signature` on the function or class).
    - Removing an unused heavy import: the import never happens, not just later. It is never
      offered for an import kept on purpose: marked `# noqa`, in a package's `__init__.py`, or
      a dotted `import a.b` (which loads the submodule for whoever uses it).

    For an optional-dependency block, the block runs on the first read of its flag (in the
    module, through a cached call; from other modules, through a module `__getattr__`) and gives,
    or raises, what it would have given at import. A function that uses the block's imported
    names calls the probe first, so those names are bound exactly as before. Assigning the flag
    as a module attribute still wins. Reads of the flag at module level block the rewrite.
    PEP 810 styles never apply inside `try` blocks.
    """

    code = "LZY001"
    name = "heavy-imports"
    summary = "Move module-level imports of heavy modules into the functions that use them"
    version = 1

    def prefilter(self, text: str, settings: Settings) -> bool:
        roots = frozenset(m.split(".")[0] for m in settings.heavy_modules)
        return bool(roots) and _prefilter_regex(roots).search(text) is not None

    def analyze(self, ctx: FileContext) -> Analysis:
        return _Analyzer(ctx).run()

    def apply(self, ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
        plan = analysis.plan
        assert isinstance(plan, _Plan)
        wanted = {m for k in keys for m in plan.groups.get(k, (k,))}
        chosen = [b for k, b in plan.bindings.items() if k in wanted]
        flags = [f for k, f in plan.flags.items() if k in keys]
        if not chosen and not flags:
            return ctx.module
        if ctx.settings.style == "lazy-keyword":
            return _apply_lazy_keyword(ctx.module, chosen)
        if ctx.settings.style == "lazy-modules":
            return _apply_lazy_modules(ctx.module, chosen)
        return _LocalRewriter(
            ctx.module, plan, chosen, flags, lambda n: ctx.positions[n].start.column
        ).rewrite()


# --------------------------------------------------------------------------------------------
# Analysis


class _Analyzer:
    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self.module = ctx.module
        self.settings = ctx.settings
        self.style = ctx.settings.style
        self.scopes = ctx.wrapper.resolve(ScopeProvider)
        self.parents = ctx.parents
        self.positions = ctx.positions
        scope = self.scopes[self.module]
        assert isinstance(scope, GlobalScope)
        self.gscope = scope
        self.deferred_annotations = u.has_future_annotations(self.module) or (
            ctx.settings.target_version >= (3, 14)
        )
        self.findings: list[Finding] = []
        #: binding key -> reasons something may read the annotations we would quote or hide.
        #: (Keyed by the binding's key, never id(): a freed binding's id is reused.)
        self._risks: dict[str, list[str]] = {}
        self._locals: dict[int, frozenset[str]] = {}  # function -> the names it binds
        self._top_cache: dict[int, int] = {}
        self.bindings: dict[str, _Binding] = {}
        self.flags: dict[str, _FlagBlock] = {}
        self.all_names, self.all_unknown = self._dunder_all()
        self.classes = {s.name.value: s for s in self.module.body if isinstance(s, cst.ClassDef)}
        self.getattr_index, self.getattr_generated = self._module_getattr()
        self.globals_declared, self.signature_readers = self._scan()

    # -- small utilities ---------------------------------------------------------------------

    def span(self, node: cst.CSTNode) -> Span:
        r = self.positions[node]
        return Span(r.start.line, r.start.column + 1, r.end.line, r.end.column + 1)

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def top(self, node: cst.CSTNode) -> int:
        return u.top_level_index(node, self.parents, self.module, self._top_cache)

    def _dunder_all(self) -> tuple[set[str], bool]:
        names: set[str] = set()
        unknown = False
        for stmt in self.module.body:
            for small in u.iter_small_statements(stmt):
                target_value: list[tuple[cst.BaseExpression, cst.BaseExpression | None]] = []
                if isinstance(small, cst.Assign):
                    for t in small.targets:
                        target_value.append((t.target, small.value))
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    target_value.append((small.target, small.value))
                for target, value in target_value:
                    if not (isinstance(target, cst.Name) and target.value == "__all__"):
                        continue
                    if isinstance(value, (cst.List, cst.Tuple, cst.Set)) and all(
                        isinstance(e.value, cst.SimpleString) for e in value.elements
                    ):
                        names.update(e.value.evaluated_value for e in value.elements)  # type: ignore[attr-defined]
                    else:
                        unknown = True
        return names, unknown

    def _module_getattr(self) -> tuple[int | None, bool]:
        for i, stmt in enumerate(self.module.body):
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__getattr__":
                body = stmt.body
                generated = (
                    isinstance(body, cst.IndentedBlock)
                    and bool(body.body)
                    and u.is_docstring(body.body[0])
                    and GETATTR_MARKER in self.module.code_for_node(body.body[0])
                )
                return i, generated
        return None, False

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

        self.module.visit(V())
        return declared, readers

    # -- walking -----------------------------------------------------------------------------

    def _context(self, node: cst.CSTNode) -> tuple[str, cst.CSTNode | None, str]:
        """Where does code at ``node`` run?

        Returns ``("function", fdef, "")`` when it runs as part of a call of ``fdef``,
        ``("main", if_node, "")`` inside the ``__main__`` guard, ``("lambda", lam, "")`` inside a
        lambda at module level, else ``("import", None, kind)``: at import, with what kind of
        place it is ("decorator", "default value", "class body of `C`", ...).
        """
        child: cst.CSTNode = node
        parent = self.parents.get(node)
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
                if isinstance(self.parents.get(parent), cst.Module):
                    return "main", parent, ""
            elif isinstance(parent, cst.Module):
                if lam is not None:
                    return "lambda", lam, ""
                return "import", None, kind or "module-level statement"
            child, parent = parent, self.parents.get(parent)
        return "import", None, kind or "module-level statement"

    def _enclosing(self, node: cst.CSTNode, types: tuple[type, ...]) -> cst.CSTNode | None:
        parent = self.parents.get(node)
        while parent is not None and not isinstance(parent, types):
            parent = self.parents.get(parent)
        return parent

    def _function_ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        """Functions whose *body* contains ``node``, innermost first."""
        child, parent = node, self.parents.get(node)
        while parent is not None:
            if isinstance(parent, cst.FunctionDef) and child is parent.body:
                yield parent
            child, parent = parent, self.parents.get(parent)

    def _outermost_targets(self, users: list[cst.CSTNode]) -> list[cst.CSTNode]:
        """Keep a user only if no enclosing function already imports the name."""
        ids = {id(x) for x in users}
        out: list[cst.CSTNode] = []
        seen: set[int] = set()
        for fn in users:
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            if any(id(a) in ids for a in self._function_ancestors(fn)):
                continue
            out.append(fn)
        order = self.ctx.order
        out.sort(key=lambda n: order.get(n, -1))
        return out

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> Analysis:
        for index, stmt in enumerate(self.module.body):
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self._statement(small, stmt, index)
            elif isinstance(stmt, cst.Try):
                self._try_block(stmt, index)
            elif isinstance(stmt, cst.If) and (u.is_type_checking_test(stmt.test) or u.is_main_guard(stmt)):
                continue
            elif not isinstance(stmt, cst.FunctionDef):
                self._block_nested(stmt, "imported conditionally at module level")
        findings, groups = _one_per_statement(self.findings)
        findings = sorted(findings, key=lambda f: (f.span.line, f.span.column, f.message))
        plan = _Plan(self.bindings, self.flags, self.getattr_index, self.getattr_generated, groups)
        return Analysis(findings, plan)

    def _heavy_aliases(self, small: cst.Import | cst.ImportFrom) -> list[cst.ImportAlias] | None:
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

    def _block_nested(self, stmt: cst.BaseStatement, why: str) -> None:
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
                aliases = analyzer._heavy_aliases(node)
                if aliases is None or aliases:
                    mod = (
                        u.import_module_name(node)
                        if isinstance(node, cst.ImportFrom)
                        else ", ".join(u.dotted_name(a.name) or "" for a in aliases or [])
                    )
                    analyzer.findings.append(
                        Finding(
                            code=HeavyImports.code,
                            message=f"`{mod}` is imported at import time and can't be moved: {why}",
                            span=analyzer.span(node),
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
        aliases = self._heavy_aliases(small)
        if aliases is None:
            self.findings.append(
                Finding(
                    code=HeavyImports.code,
                    message=f"`from {u.import_module_name(small)} import *` can't be moved into functions",  # type: ignore[arg-type]
                    span=self.span(small),
                    reason="star import",
                )
            )
            return
        seen: dict[str, _Binding] = {}
        for alias in aliases:
            b = _Binding(u.alias_binding(alias), alias, small, index)
            if b.key in seen:
                # The same name twice in one statement is one binding: one finding, one fix.
                seen[b.key].duplicates.append(alias)
                continue
            seen[b.key] = b
            try:
                self._analyze_binding(b)
            except _Blocked as e:
                self._report_blocked(b, e)
                continue
            if b.unused and self._kept_for_side_effects(b, stmt):
                continue
            self._report_fix(b)

    def _kept_for_side_effects(self, b: _Binding, stmt: cst.SimpleStatementLine) -> bool:
        """An unused import that is there on purpose, so not "unused": marked ``# noqa``, in a
        package's ``__init__.py`` (which imports submodules to register them), or a dotted
        ``import a.b`` (which loads the submodule ``a.b`` for whoever uses it)."""
        return (
            "noqa" in self.module.code_for_node(stmt)
            or self.ctx.path.replace("\\", "/").rsplit("/", 1)[-1] == "__init__.py"
            or b.dotted_plain_import
        )

    # -- one binding -------------------------------------------------------------------------

    def _own_assignments(self, b: _Binding) -> list:  # list[BaseAssignment]
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
            raise _Blocked("not resolved by scope analysis", b.small)
        return own

    def _in_type_checking(self, node: cst.CSTNode) -> bool:
        parent = self.parents.get(node)
        while parent is not None:
            if isinstance(parent, cst.If) and u.is_type_checking_test(parent.test):
                return True
            parent = self.parents.get(parent)
        return False

    def _for_type_checkers_only(self, node: cst.CSTNode) -> bool:
        """In the body (not the ``else:``) of a module-level ``if TYPE_CHECKING:``."""
        child, parent = node, self.parents.get(node)
        while parent is not None:
            if isinstance(parent, cst.If) and child is parent.body and u.is_type_checking_test(parent.test):
                return isinstance(self.parents.get(parent), cst.Module)
            child, parent = parent, self.parents.get(parent)
        return False

    def _analyze_binding(self, b: _Binding, allowed_rebind: cst.CSTNode | None = None) -> None:
        name = b.name
        if name in self.globals_declared:
            raise _Blocked(f"declared `global {name}` in a function", self.globals_declared[name])
        own = self._own_assignments(b)
        for other in self.ctx.in_source_order(self.gscope.assignments[name]):
            node = getattr(other, "node", None)
            if node is None or node is b.small:
                continue
            if allowed_rebind is not None and self._within(node, allowed_rebind):
                continue
            if isinstance(node, (cst.Import, cst.ImportFrom)) and self._in_type_checking(node):
                continue
            raise _Blocked(f"`{name}` is rebound", node)
        if name in self.all_names:
            raise _Blocked(f"`{name}` is re-exported in `__all__`", None)
        if self.all_unknown and not name.startswith("_"):
            raise _Blocked(f"`__all__` is computed, so `{name}` may be re-exported", None)
        if not self.all_names and not self.all_unknown and not name.startswith("_"):
            star = self.ctx.project.star_imported_by
            if star:
                raise _Blocked(
                    f"implicitly re-exported: {star[0]} star-imports this module, which has no `__all__`",
                    None,
                )
        for loc, how in self.ctx.project.refs_to(name):
            raise _Blocked(f"{how} at {loc}", None)

        users: list[cst.CSTNode] = []
        accesses = self.ctx.in_source_order(
            {
                acc
                for a in own
                for acc in a.references
                if not u.bound_in_a_function(name, acc.node, self.parents, self._locals)
            }
        )
        for access in accesses:
            self._classify(b, access, users)
        b.targets = self._outermost_targets(users)
        b.unused = not b.targets and not b.annotation_uses
        b.touched = {self.top(n) for n in [*b.targets, *b.quote]}

    def _within(self, node: cst.CSTNode, ancestor: cst.CSTNode) -> bool:
        while node is not None:
            if node is ancestor:
                return True
            node = self.parents.get(node)  # type: ignore[assignment]
        return False

    def _classify(self, b: _Binding, access: Access, users: list[cst.CSTNode]) -> None:
        node = access.node
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            # A string annotation or type hint: never evaluated at import.
            b.annotation_uses = True
            self._check_annotation_readers(b, node)
            return
        if self._for_type_checkers_only(node):
            # The body of `if TYPE_CHECKING:` never runs (lazy-singletons declares its names
            # there): the name is kept for type checkers, under the guard.
            b.annotation_uses = True
            return
        annotation = self._enclosing(node, (cst.Annotation,)) if access.is_annotation else None
        if annotation is not None and self.style == "local":
            self._annotation_use(b, node, annotation, users)
            return
        where, target, kind = self._context(node)
        if where in ("function", "main"):
            users.append(target)  # type: ignore[arg-type]
            return
        if self.style != "local" and where == "lambda":
            return
        if where == "lambda":
            raise _Blocked("used in a lambda at module level", node)
        raise _Blocked(f"used at module level ({kind})", node)

    def _annotation_use(
        self, b: _Binding, node: cst.CSTNode, annotation: cst.Annotation, users: list[cst.CSTNode]
    ) -> None:
        owner = self.parents.get(annotation)
        if isinstance(owner, cst.Param):
            owner = self._enclosing(owner, (cst.FunctionDef, cst.Lambda))
        if isinstance(owner, cst.AnnAssign):
            where, target, _kind = self._context(owner)
            container = self._enclosing(owner, (cst.FunctionDef, cst.ClassDef, cst.Module))
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
                self._note_risk(b, self._class_risk(container), node)
                return
            raise _Blocked("used in a module-level annotation, evaluated at import", node)
        if not isinstance(owner, cst.FunctionDef):
            raise _Blocked("used in an annotation lazify does not understand", node)
        if self.deferred_annotations:
            b.annotation_uses = True
            self._check_annotation_readers(b, node)
            return
        where, target, _kind = self._context(owner)
        if where in ("function", "main"):
            users.append(target)  # type: ignore[arg-type]
            return
        b.annotation_uses = True
        self._quote(b, annotation)
        self._check_annotation_readers(b, node)

    def _quote(self, b: _Binding, annotation: cst.Annotation) -> None:
        expr = annotation.annotation
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
            return
        if u.quote_annotation(self.module.code_for_node(expr)) is None:
            raise _Blocked("used in an annotation that can't be quoted", annotation)
        if annotation not in b.quote:
            b.quote.append(annotation)

    def _check_annotation_readers(self, b: _Binding, node: cst.CSTNode) -> None:
        owner = self._enclosing(node, (cst.FunctionDef, cst.ClassDef))
        risk = None
        if isinstance(owner, cst.FunctionDef):
            risk = self._function_risk(owner)
        elif isinstance(owner, cst.ClassDef):
            risk = self._class_risk(owner)
        self._note_risk(b, risk, node)

    def _note_risk(self, b: _Binding, risk: tuple[str, bool] | None, node: cst.CSTNode) -> None:
        """Something may read these annotations. When it runs at import (a decorator, a base
        class, a metaclass: pydantic, dataclasses, FastAPI routes), a quoted name that only
        exists for type checkers would break the import: blocked. When it reads them later
        (project code calling `get_type_hints`), the fix is unsafe."""
        if risk is None:
            return
        message, at_import = risk
        if at_import:
            raise _Blocked(message + " when the module is imported", node)
        self._risks.setdefault(b.key, []).append(message)

    def _function_risk(self, fn: cst.FunctionDef) -> tuple[str, bool] | None:
        """Why the function's annotations may be read, and whether that happens at import."""
        name = fn.name.value
        for d in fn.decorators:
            dec = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
            dname = u.dotted_name(dec) or self.module.code_for_node(dec)
            if dname in SAFE_DECORATORS or dname.endswith((".setter", ".getter", ".deleter")):
                continue
            return f"`{name}` is decorated with `@{dname}`, which may read its annotations", True
        if name in self.signature_readers:
            return f"`{name}` is a FastAPI dependency, whose signature is read", True
        if name in self.ctx.project.annotation_readers:
            return f"project code reads the annotations of `{name}`", False
        cls = self._enclosing(fn, (cst.ClassDef, cst.FunctionDef))
        if isinstance(cls, cst.ClassDef):
            return self._class_risk(cls)
        return None

    def _class_risk(self, cls: cst.ClassDef, depth: int = 0) -> tuple[str, bool] | None:
        """Why the class's annotations may be read, and whether that happens at import."""
        name = cls.name.value
        for d in cls.decorators:
            dec = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
            dname = u.dotted_name(dec) or "..."
            if dname not in ("functools.total_ordering", "total_ordering", "final", "typing.final"):
                return f"class `{name}` is decorated with `@{dname}`, which may read annotations", True
        for arg in cls.bases:
            value = arg.value.value if isinstance(arg.value, cst.Subscript) else arg.value
            bname = u.dotted_name(value) or "..."
            if bname in PLAIN_BASES:
                continue
            local = self.classes.get(bname)
            if local is not None and local is not cls and depth < 20:
                risk = self._class_risk(local, depth + 1)
                if risk:
                    return risk
                continue
            return f"class `{name}` derives from `{bname}`, which may read annotations", True
        if cls.keywords:
            return f"class `{name}` has a metaclass or class keywords, which may read annotations", True
        if name in self.ctx.project.annotation_readers:
            return f"project code reads the annotations of `{name}`", False
        return None

    # -- reporting ---------------------------------------------------------------------------

    def _report_blocked(self, b: _Binding, e: _Blocked) -> None:
        where = f" on line {self.line(e.node)}" if e.node is not None else ""
        related = ((self.span(e.node), e.reason),) if e.node is not None else ()
        self.findings.append(
            Finding(
                code=HeavyImports.code,
                message=f"`{b.statement_code()}` stays at module level: {e.reason}{where}",
                span=self.span(b.small),
                reason=e.reason,
                related=related,
            )
        )

    def _report_fix(self, b: _Binding) -> None:
        risks = self._risks.get(b.key, [])
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
        self.findings.append(
            Finding(
                code=HeavyImports.code,
                message=message,
                span=self.span(b.small),
                fix_key=key,
                safety=safety,
                help=help_,
                related=tuple((self.span(b.small), r) for r in dict.fromkeys(risks)),
            )
        )

    def _target_name(self, t: cst.CSTNode) -> str:
        if isinstance(t, cst.FunctionDef):
            cls = self._enclosing(t, (cst.ClassDef, cst.FunctionDef))
            prefix = f"{cls.name.value}." if isinstance(cls, cst.ClassDef) else ""
            return f"{prefix}{t.name.value}()"
        return 'if __name__ == "__main__"'

    # -- optional-dependency blocks ----------------------------------------------------------

    def _try_block(self, node: cst.Try, index: int) -> None:
        heavy = [
            (small, alias)
            for stmt in node.body.body
            for small in u.iter_small_statements(stmt)
            if isinstance(small, (cst.Import, cst.ImportFrom))
            for alias in (self._heavy_aliases(small) or [])
        ]
        if not heavy:
            self._block_nested(node, "imported conditionally at module level")
            return
        try:
            block = self._flag_block(node, index)
        except _Blocked as e:
            where = f" on line {self.line(e.node)}" if e.node is not None else ""
            self.findings.append(
                Finding(
                    code=HeavyImports.code,
                    message=f"optional-dependency block stays at module level: {e.reason}{where}",
                    span=self.span(node),
                    reason=e.reason,
                    related=((self.span(e.node), e.reason),) if e.node is not None else (),
                )
            )
            return
        mods = ", ".join(b.module for b in block.bindings)
        safety = Safety.UNSAFE if any(self._risks.get(b.key) for b in block.bindings) else Safety.SAFE
        self.flags[block.flag] = block
        self.findings.append(
            Finding(
                code=HeavyImports.code,
                message=f"optional imports of {mods} run at import to set `{block.flag}`",
                span=self.span(node),
                fix_key=block.flag,
                safety=safety,
                help=f"Run the block on the first read of `{block.flag}`, through `{block.probe}()`",
            )
        )

    def _flag_value(self, small: cst.BaseSmallStatement) -> tuple[str, str | None] | None:
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            v = small.value
            if isinstance(v, cst.Name) and v.value in ("True", "False"):
                return small.targets[0].target.value, "bool"
        return None

    def _flag_block(self, node: cst.Try, index: int) -> _FlagBlock:
        if self.style != "local":
            raise _Blocked("PEP 810 lazy imports do not apply inside `try` blocks", node)
        if node.finalbody is not None:
            raise _Blocked("the block has a `finally` clause", node.finalbody)
        imports: list[cst.Import | cst.ImportFrom] = []
        flags_ok: dict[str, set[str | None]] = {}
        paths: list[set[str]] = []

        def flags_in(stmts: Iterable[cst.BaseStatement], allow_imports: bool, allow_calls: bool) -> set[str]:
            assigned: set[str] = set()
            for stmt in stmts:
                if not isinstance(stmt, cst.SimpleStatementLine):
                    raise _Blocked("the block holds more than imports and flag assignments", stmt)
                for small in stmt.body:
                    fv = self._flag_value(small)
                    if isinstance(small, (cst.Import, cst.ImportFrom)) and allow_imports:
                        if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar):
                            raise _Blocked("star import in the block", small)
                        imports.append(small)
                    elif fv is not None:
                        assigned.add(fv[0])
                        flags_ok.setdefault(fv[0], set()).add(fv[1])
                    elif (
                        isinstance(small, cst.Assign)
                        and len(small.targets) == 1
                        and isinstance(small.targets[0].target, cst.Name)
                        and small.targets[0].target.value in imported_names()
                    ):
                        name = small.targets[0].target.value
                        raise _Blocked(f"`{name}` gets a fallback value when the import fails", small)
                    elif isinstance(small, cst.Pass):
                        pass
                    elif allow_calls and isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                        pass
                    else:
                        raise _Blocked("the block holds more than imports and flag assignments", small)
            return assigned

        def imported_names() -> set[str]:
            return {
                u.alias_binding(a)
                for imp in imports
                if not isinstance(imp.names, cst.ImportStar)
                for a in imp.names
            }

        main_path = flags_in(node.body.body, allow_imports=True, allow_calls=False)
        if node.orelse is not None:
            main_path |= flags_in(node.orelse.body.body, allow_imports=False, allow_calls=False)
        paths.append(main_path)
        for handler in node.handlers:
            names = self._handler_names(handler)
            if not names or not names <= IMPORT_ERRORS:
                raise _Blocked("an `except` clause catches more than import errors", handler)
            if handler.name is not None:
                raise _Blocked("an `except` clause binds the exception", handler)
            paths.append(flags_in(handler.body.body, allow_imports=False, allow_calls=True))
        if len(flags_ok) != 1:
            raise _Blocked("the block sets no flag" if not flags_ok else "the block sets several flags", node)
        flag = next(iter(flags_ok))
        if any(flag not in p for p in paths):
            raise _Blocked(f"`{flag}` is not set on every path", node)
        types = flags_ok[flag]
        flag_type = "bool" if types == {"bool"} else None

        if self.getattr_index is not None and not self.getattr_generated:
            raise _Blocked("the module defines its own `__getattr__`", self.module.body[self.getattr_index])
        if flag in self.globals_declared:
            raise _Blocked(f"declared `global {flag}` in a function", self.globals_declared[flag])

        bindings: list[_Binding] = []
        users: list[cst.CSTNode] = []
        for small in imports:
            if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar):
                raise _Blocked("star import in the block", small)
            for alias in small.names:  # type: ignore[union-attr]
                b = _Binding(u.alias_binding(alias), alias, small, index, in_try=node)
                self._analyze_binding(b, allowed_rebind=node)
                if b.quote:
                    raise _Blocked(f"`{b.name}` is used in annotations evaluated at import", b.quote[0])
                users.extend(b.targets)
                bindings.append(b)

        # The flag's own reads.
        reads: list[tuple[cst.Name, cst.CSTNode]] = []
        for a in self.ctx.in_source_order(self.gscope.assignments[flag]):
            anode = getattr(a, "node", None)
            if anode is not None and not self._within(anode, node):
                raise _Blocked(f"`{flag}` is also assigned outside the block", anode)
            for access in self.ctx.in_source_order(a.references):
                n = access.node
                if isinstance(n, (cst.SimpleString, cst.ConcatenatedString)):
                    continue
                where, target, kind = self._context(n)
                if where in ("function", "main") and isinstance(n, cst.Name):
                    outer = [*self._function_ancestors(n)]
                    reads.append((n, outer[-1] if outer else target))
                    continue
                raise _Blocked(f"`{flag}` is read at module level ({kind or 'lambda'})", n)

        taken = {a.name for a in self.gscope.assignments}
        probe = "_" + flag.lower()
        while probe in taken or probe == flag:
            probe += "_"
        targets = self._outermost_targets(users)
        return _FlagBlock(
            node=node,
            stmt_index=index,
            flag=flag,
            probe=probe,
            flag_type=flag_type,
            bindings=bindings,
            reads=reads,
            targets=targets,
            touched={self.top(n) for n in [*targets, *(r for r, _ in reads)]},
        )

    def _handler_names(self, handler: cst.ExceptHandler) -> set[str]:
        t = handler.type
        if t is None:
            return {"BaseException"}
        items = [e.value for e in t.elements] if isinstance(t, cst.Tuple) else [t]
        return {(u.dotted_name(i) or "?").split(".")[-1] for i in items}


def _one_per_statement(findings: list[Finding]) -> tuple[list[Finding], dict[str, tuple[str, ...]]]:
    """``from langdetect import detect, LangDetectException`` is one statement, so one finding
    and one decision, not one per name: fixes of the same statement with the same message and
    safety are merged (their helps and risks joined; the key names every binding)."""
    by_statement: dict[tuple, list[Finding]] = {}
    out: list[Finding] = []
    for f in findings:
        if f.fix_key is None:
            out.append(f)
        else:
            by_statement.setdefault((f.span, f.message, f.safety), []).append(f)
    groups: dict[str, tuple[str, ...]] = {}
    for same in by_statement.values():
        if len(same) == 1:
            out.append(same[0])
            continue
        members = tuple(f.fix_key for f in same if f.fix_key is not None)
        key = "+".join(members)
        groups[key] = members
        out.append(
            dataclasses.replace(
                same[0], fix_key=key, help=_merged_help([f.help for f in same if f.help]),
                related=tuple(dict.fromkeys(r for f in same for r in f.related)),
            )
        )  # fmt: skip
    return out, groups


def _merged_help(helps: list[str]) -> str | None:
    """``Move `from m import a` into `f()``` and the same for ``b`` -> ``Move `from m import a,
    b` into `f()```; helps that don't share their shape are listed."""
    shapes = [re.fullmatch(r"Move `from (\S+) import (.+?)` into (.+)", h) for h in helps]
    if shapes and all(shapes) and len({(m.group(1), m.group(3)) for m in shapes if m}) == 1:
        first = shapes[0]
        assert first is not None
        names = ", ".join(m.group(2) for m in shapes if m)
        return f"Move `from {first.group(1)} import {names}` into {first.group(3)}"
    return "; ".join(dict.fromkeys(helps)) or None


# --------------------------------------------------------------------------------------------
# Apply: function-local imports (the default style)


class _LocalRewriter(cst.CSTTransformer):
    def __init__(
        self,
        module: cst.Module,
        plan: _Plan,
        chosen: list[_Binding],
        flags: list[_FlagBlock],
        column: Callable[[cst.CSTNode], int],
    ) -> None:
        super().__init__()
        self.module = module
        self.column = column
        self.plan = plan
        self.chosen = chosen
        self.flags = flags
        # function -> statements to insert at its top, in module order
        self.inserts: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        self.quote: set[cst.Annotation] = set()
        self.reads: dict[cst.Name, str] = {}
        self._plan_inserts()

    def _plan_inserts(self) -> None:
        # Group by (statement, target) so `from PIL import Image, ImageOps` stays one line.
        per_target: dict[cst.CSTNode, dict[int, list[_Binding]]] = {}
        order: list[cst.CSTNode] = []
        for b in sorted(self.chosen, key=lambda b: (b.stmt_index, self._alias_pos(b))):
            for t in b.targets:
                if t not in per_target:
                    per_target[t] = {}
                    order.append(t)
                per_target[t].setdefault(id(b.small), []).append(b)
            self.quote.update(b.quote)
        for t in order:
            stmts = []
            for group in per_target[t].values():
                first = group[0]
                code = first.statement_code([b.alias for b in group])
                indent = self.column(t) + len(self.module.default_indent)
                line = cst.parse_statement(imports.fitted(code, indent) + "\n")
                assert isinstance(line, cst.SimpleStatementLine)
                stmts.append(u.with_trailing_comment(line, self._comment_of(first)))
            self.inserts[t] = stmts
        for f in self.flags:
            call = cst.parse_statement(f"{f.probe}()\n")
            for t in f.targets:
                self.inserts.setdefault(t, []).insert(0, call)
            # Inside a function that already ran the probe, the flag is a plain global again.
            for n, fn in f.reads:
                if fn not in f.targets:
                    self.reads[n] = f.probe

    def _alias_pos(self, b: _Binding) -> int:
        names = b.small.names
        if isinstance(names, cst.ImportStar):
            return 0
        return next(i for i, a in enumerate(names) if a is b.alias)

    def _comment_of(self, b: _Binding) -> cst.Comment | None:
        stmt = self.module.body[b.stmt_index]
        if isinstance(stmt, cst.SimpleStatementLine):
            return stmt.trailing_whitespace.comment
        return None

    # -- transformer hooks -------------------------------------------------------------------

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if updated.params is not original.params or updated.returns is not original.returns:
            updated = _refit_header(original, updated, self.column(original))
        new = self.inserts.get(original)
        if new:
            return updated.with_changes(body=_prepend_imports(updated.body, new))
        return updated

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        new = self.inserts.get(original)
        if new:
            return updated.with_changes(body=_prepend_imports(updated.body, new))
        return updated

    def leave_Annotation(self, original: cst.Annotation, updated: cst.Annotation) -> cst.Annotation:
        if original in self.quote:
            code = self.module.code_for_node(original.annotation)
            quoted = u.quote_annotation(code)
            assert quoted is not None
            return updated.with_changes(annotation=cst.SimpleString(quoted))
        return updated

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        probe = self.reads.get(original)
        if probe is not None:
            return cst.Call(func=cst.Name(probe), lpar=updated.lpar, rpar=updated.rpar)
        return updated

    # -- module level ------------------------------------------------------------------------

    def rewrite(self) -> cst.Module:
        touched = {i for b in self.chosen for i in b.touched} | {i for f in self.flags for i in f.touched}
        new_module = u.visit_touched(self.module, self, touched)
        body = list(new_module.body)
        original = self.module.body

        remove: dict[int, set[int]] = {}  # stmt index -> ids of aliases to drop
        for b in self.chosen:
            remove.setdefault(b.stmt_index, set()).update(id(a) for a in [b.alias, *b.duplicates])
        flag_at = {f.stmt_index: f for f in self.flags}
        tc_needed = [b for b in self.chosen if b.annotation_uses] + [
            b for f in self.flags for b in f.bindings
        ]

        out: list[cst.BaseStatement] = []
        lead: list[cst.EmptyLine] = []  # leading lines of removed statements, kept for the next
        probe_after: list[int] = []
        for i, stmt in enumerate(body):
            if i in flag_at:
                generated = _flag_replacement(flag_at[i], original[i])
                generated[0] = _with_leading(generated[0], lead + list(original[i].leading_lines))
                if probe_after and probe_after[-1] == len(out):
                    generated[0] = u.ensure_blank_lines(generated[0], 2)  # after the probe above
                lead = []
                out.extend(generated)
                probe_after.append(len(out))
                continue
            if i in remove:
                # Import lines hold nothing the transformer rewrites: drop from the original,
                # whose alias nodes are the ones the plan refers to.
                kept = _drop_aliases(original[i], remove[i])  # type: ignore[arg-type]
                if kept is None:
                    lead = _joined(lead, original[i].leading_lines)
                    continue
                stmt = kept
            if lead:
                stmt = stmt.with_changes(leading_lines=_joined(lead, stmt.leading_lines))
                lead = []
            if probe_after and probe_after[-1] == len(out):
                stmt = u.ensure_blank_lines(stmt, 2)
            out.append(stmt)

        if tc_needed:
            codes = [b.statement_code() for b in sorted(tc_needed, key=lambda b: b.stmt_index)]
            out = imports.add_type_checking_imports(out, codes)
        if self.flags:
            out = _add_module_getattr(out, self.flags)
        if out and body and out[0] is not body[0]:
            # Removing the first statements must not leave the file starting with blank lines,
            # nor more than two after the module's opening comment (LibCST keeps that comment,
            # and the blank lines below it, in the module's header).
            room = max(0, 2 - _edge_blanks(reversed(new_module.header))) if new_module.header else 0
            lead = list(getattr(out[0], "leading_lines", ()))
            while _edge_blanks(lead) > room:
                lead.pop(0)
            out[0] = out[0].with_changes(leading_lines=lead)  # type: ignore[call-arg]
        return new_module.with_changes(body=out)


def _header(fn: cst.FunctionDef) -> str:
    """The ``def ...:`` lines of a function, without decorators or body."""
    stub = fn.with_changes(
        body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Pass()])]),
        decorators=[],
        leading_lines=[],
    )
    code = cst.Module(body=[stub]).code
    return code[: code.rindex(":") + 1]


def _param_items(params: cst.Parameters) -> list[cst.CSTNode | str]:
    items: list[cst.CSTNode | str] = [*params.posonly_params]
    if params.posonly_params:
        items.append("/")
    items += params.params
    if isinstance(params.star_arg, cst.Param):
        items.append(params.star_arg)
    elif isinstance(params.star_arg, cst.ParamStar):
        items.append("*")
    items += params.kwonly_params
    if params.star_kwarg is not None:
        items.append(params.star_kwarg)
    return items


def _refit_header(original: cst.FunctionDef, updated: cst.FunctionDef, column: int) -> cst.FunctionDef:
    """Quoting annotations lengthens a signature: one that fitted and no longer does is split
    as black splits it (the parameters on one line of their own, else one a line with a
    trailing comma). Signatures with comments, or already one parameter a line, keep theirs."""
    before, after = _header(original), _header(updated)
    longest = lambda text: max(len(line) for line in text.split("\n")) + column  # noqa: E731
    if longest(before) > LINE_LENGTH or longest(after) <= LINE_LENGTH or "#" in after:
        return updated
    if after.count("\n") > 2 or updated.type_parameters is not None:
        return updated
    bare = cst.Module(body=[])
    texts = []
    for item in _param_items(updated.params):
        if isinstance(item, str):
            texts.append(item)
            continue
        assert isinstance(item, cst.Param)
        item = item.with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_param=cst.SimpleWhitespace("")
        )
        texts.append(bare.code_for_node(item).strip())
    if not texts or any("\n" in t for t in texts):
        return updated
    returns = f" -> {bare.code_for_node(updated.returns.annotation)}" if updated.returns is not None else ""
    head = f"{'async ' if updated.asynchronous else ''}def {updated.name.value}("
    inner = column + 4
    one_line = ", ".join(texts)
    if inner + len(one_line) <= LINE_LENGTH:
        params = f"\n    {one_line}\n"
    elif all(inner + len(t) + 1 <= LINE_LENGTH for t in texts) and not texts[-1].startswith("*"):
        params = "\n" + "".join(f"    {t},\n" for t in texts)
    else:
        return updated
    if column + len(head) > LINE_LENGTH or column + len(f"){returns}:") > LINE_LENGTH or "\n" in returns:
        return updated
    try:
        refit = cst.parse_statement(f"{head}{params}){returns}:\n    pass\n")
    except cst.ParserSyntaxError:
        return updated
    assert isinstance(refit, cst.FunctionDef)
    return updated.with_changes(
        params=refit.params,
        whitespace_before_params=refit.whitespace_before_params,
        returns=refit.returns,
        whitespace_before_colon=refit.whitespace_before_colon,
    )


def _drop_aliases(stmt: cst.SimpleStatementLine, drop: set[int]) -> cst.SimpleStatementLine | None:
    """The import line without the aliases in ``drop`` (None when nothing is left). The
    aliases that stay keep their commas, comments and layout; a trailing comma stays."""
    smalls: list[cst.BaseSmallStatement] = []
    for small in stmt.body:
        if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
            names = [a for a in small.names if id(a) not in drop]
            if len(names) != len(small.names):
                if not names:
                    continue
                names[-1] = names[-1].with_changes(comma=_last_comma(names[-1].comma, small.names[-1].comma))
                if (
                    isinstance(small, cst.ImportFrom)
                    and small.lpar is not None
                    and len(names) == 1
                    and "#" not in cst.Module(body=[]).code_for_node(small)
                ):
                    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    small = small.with_changes(lpar=None, rpar=None)
                small = small.with_changes(names=names)
        smalls.append(small)
    if not smalls:
        return None
    smalls[-1] = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return stmt.with_changes(body=smalls)


def _last_comma(own: cst.Comma | cst.MaybeSentinel, old_last: cst.Comma | cst.MaybeSentinel):
    """The comma of an alias that becomes the last one: it ends the list as the old last one
    did (a trailing comma stays, none is added), and keeps its own comment."""
    if not isinstance(own, cst.Comma):
        return old_last
    own_ws = own.whitespace_after
    comment = own_ws.first_line if isinstance(own_ws, cst.ParenthesizedWhitespace) else None
    if isinstance(old_last, cst.Comma):
        ws = old_last.whitespace_after
        if comment is not None and isinstance(ws, cst.ParenthesizedWhitespace):
            ws = ws.with_changes(first_line=comment)
        return old_last.with_changes(whitespace_before=own.whitespace_before, whitespace_after=ws)
    if comment is not None and comment.comment is not None:
        # No trailing comma before, but a comment to keep: end the line after the comma.
        return own.with_changes(whitespace_after=cst.ParenthesizedWhitespace(first_line=comment))
    return old_last


def _prepend_imports(body: cst.BaseSuite, new: list[cst.BaseStatement]) -> cst.BaseSuite:
    """The imports at the top of a block (after its docstring), then a blank line before the
    code that follows, as black and ruff format it, so a formatted file stays formatted."""
    block = u.prepend_to_block(body, new)
    stmts = list(block.body)
    after = u.body_insert_index(stmts) + len(new)
    if after < len(stmts) and imports.is_import_line(stmts[after - 1]):
        nxt = stmts[after]
        lead = list(getattr(nxt, "leading_lines", ()))
        # Black separates imports from what follows, and a comment line is "what follows" even
        # above another import (`# avoid a cycle` / `from x import y`).
        if imports.is_import_line(nxt) and not (lead and lead[0].comment is not None):
            return block
        if not (lead and lead[0].comment is None and not lead[0].whitespace.value):
            stmts[after] = nxt.with_changes(leading_lines=[cst.EmptyLine(indent=False), *lead])  # type: ignore[call-arg]
            return block.with_changes(body=stmts)
    return block


def _with_leading(stmt: cst.BaseStatement, lines: list[cst.EmptyLine], cap: int = 2) -> cst.BaseStatement:
    """Give ``stmt`` these leading lines, with runs of blank lines capped at ``cap``."""
    return stmt.with_changes(leading_lines=_capped(lines, cap))  # type: ignore[call-arg]


def _capped(lines: Sequence[cst.EmptyLine], cap: int) -> list[cst.EmptyLine]:
    out: list[cst.EmptyLine] = []
    blanks = 0
    for line in lines:
        blank = line.comment is None and not line.whitespace.value
        blanks = blanks + 1 if blank else 0
        if blanks <= cap:
            out.append(line)
    return out


def _joined(first: Sequence[cst.EmptyLine], then: Sequence[cst.EmptyLine]) -> list[cst.EmptyLine]:
    """The leading lines of a removed statement joined to those of the next one: the gap stays
    as wide as the wider of the two, not their sum."""
    return _capped([*first, *then], _blank_run(first, then))


def _edge_blanks(lines: Iterable[cst.EmptyLine]) -> int:
    """How many blank lines ``lines`` starts with."""
    n = 0
    for line in lines:
        if line.comment is not None or line.whitespace.value:
            break
        n += 1
    return n


def _blank_run(*leads: Sequence[cst.EmptyLine]) -> int:
    """The longest run of blank lines in any of ``leads``: when a removed statement's lines
    join the next one's, the gap stays as wide as the wider of the two, not their sum."""
    longest = 0
    for lead in leads:
        run = 0
        for line in lead:
            run = run + 1 if line.comment is None and not line.whitespace.value else 0
            longest = max(longest, run)
    return longest


def _flag_replacement(f: _FlagBlock, original: cst.BaseStatement) -> list[cst.BaseStatement]:
    names = [f.flag, *dict.fromkeys(b.name for b in f.bindings)]
    decl_type = f.flag_type or "object"
    returns = f" -> {f.flag_type}" if f.flag_type else ""
    try_node = original.with_changes(leading_lines=[])  # type: ignore[call-arg]
    func = cst.parse_statement(
        f"def {f.probe}(){returns}:\n"
        f'    """Run the optional-import block for `{f.flag}` once, on first use (lazify)."""\n'
        f"    global {', '.join(names)}\n"
        f'    if "{f.flag}" not in globals():\n'
        f"        pass\n"
        f"    return {f.flag}\n"
    )
    assert isinstance(func, cst.FunctionDef) and isinstance(func.body, cst.IndentedBlock)
    if_stmt = func.body.body[2]
    assert isinstance(if_stmt, cst.If)
    if_stmt = if_stmt.with_changes(body=if_stmt.body.with_changes(body=[try_node]))
    func = func.with_changes(
        body=func.body.with_changes(body=[func.body.body[0], func.body.body[1], if_stmt, func.body.body[3]]),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )
    decl = cst.parse_statement(f"{f.flag}: {decl_type}\n").with_changes(
        leading_lines=getattr(original, "leading_lines", [])
    )
    return [decl, func]


def _add_module_getattr(body: list[cst.BaseStatement], flags: list[_FlagBlock]) -> list[cst.BaseStatement]:
    probes = {f.probe for f in flags}
    last_probe = max(
        i for i, s in enumerate(body) if isinstance(s, cst.FunctionDef) and s.name.value in probes
    )
    return u.add_getattr_branches(body, [(f.flag, f"{f.probe}()") for f in flags], last_probe)


# --------------------------------------------------------------------------------------------
# Apply: PEP 810 styles


def _apply_lazy_keyword(module: cst.Module, chosen: list[_Binding]) -> cst.Module:
    by_stmt: dict[int, set[int]] = {}
    for b in chosen:
        by_stmt.setdefault(b.stmt_index, set()).update(id(a) for a in [b.alias, *b.duplicates])
    body = list(module.body)
    out: list[cst.BaseStatement] = []
    for i, stmt in enumerate(body):
        if i not in by_stmt or not isinstance(stmt, cst.SimpleStatementLine):
            out.append(stmt)
            continue
        ids = by_stmt[i]
        extra: list[cst.BaseStatement] = []
        smalls: list[cst.BaseSmallStatement] = []
        for small in stmt.body:
            if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(small.names, cst.ImportStar):
                smalls.append(small)
                continue
            lazy = [a for a in small.names if id(a) in ids]
            rest = [a for a in small.names if id(a) not in ids]
            if not lazy:
                smalls.append(small)
                continue
            if rest:
                rest[-1] = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                smalls.append(small.with_changes(names=rest))
                lazy[-1] = lazy[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                extra.append(
                    cst.SimpleStatementLine(
                        body=[
                            _lazy_node(
                                small.with_changes(names=lazy, lpar=None, rpar=None)
                                if isinstance(small, cst.ImportFrom)
                                else small.with_changes(names=lazy)
                            )
                        ]
                    )
                )
            else:
                smalls.append(_lazy_node(small))
        out.append(stmt.with_changes(body=smalls))
        out.extend(extra)
    return module.with_changes(body=out)


def _lazy_node(small: cst.Import | cst.ImportFrom) -> cst.BaseSmallStatement:
    if isinstance(small, cst.Import):
        return cst.LazyImport(
            names=small.names,
            semicolon=small.semicolon,
            whitespace_after_import=small.whitespace_after_import,
        )
    return cst.LazyImportFrom(
        module=small.module,
        names=small.names,
        relative=small.relative,
        lpar=small.lpar,
        rpar=small.rpar,
        semicolon=small.semicolon,
        whitespace_after_from=small.whitespace_after_from,
        whitespace_before_import=small.whitespace_before_import,
        whitespace_after_import=small.whitespace_after_import,
    )


def _apply_lazy_modules(module: cst.Module, chosen: list[_Binding]) -> cst.Module:
    wanted = list(dict.fromkeys(b.module for b in sorted(chosen, key=lambda b: b.stmt_index)))
    body = list(module.body)
    for i, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        small = stmt.body[0]
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and small.targets[0].target.value == "__lazy_modules__"
            and isinstance(small.value, (cst.List, cst.Tuple))
        ):
            have = [
                e.value.evaluated_value for e in small.value.elements if isinstance(e.value, cst.SimpleString)
            ]
            names = list(dict.fromkeys([*have, *wanted]))
            new = cst.parse_statement(f"__lazy_modules__ = {names!r}\n".replace("'", '"'))
            body[i] = new.with_changes(
                leading_lines=stmt.leading_lines, trailing_whitespace=stmt.trailing_whitespace
            )
            return module.with_changes(body=body)
    new = cst.parse_statement(f"__lazy_modules__ = {wanted!r}\n".replace("'", '"'))
    idx = u.body_insert_index(body, after_future=True)
    if idx < len(body):
        first = body[idx]
        new = new.with_changes(leading_lines=getattr(first, "leading_lines", []))
        body[idx] = first.with_changes(leading_lines=[])  # type: ignore[call-arg]
    if idx > 0:
        new = new.with_changes(
            leading_lines=[cst.EmptyLine()] if not new.leading_lines else new.leading_lines
        )
    body.insert(idx, new)
    return module.with_changes(body=body)
