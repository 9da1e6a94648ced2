"""LZY002 lazy-singletons: module-level objects that do work when built become lazy getters."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping

import libcst as cst

from codemods import _cst as u
from codemods._api import (
    Analysis,
    Blocked,
    Codemod,
    FileContext,
    Finding,
    Location,
    ProjectView,
    Safety,
    Settings,
    Span,
    resolve_relative,
)
from codemods._singleton_facts import ModuleFacts, extract_facts
from codemods._singleton_plan import ModulePlan, Plan, external_names, plan_project
from codemods._singleton_rewrite import _Own, _Plan, _Ref, _Rewriter
from codemods.options import DEFAULT_CHEAP, DEFAULT_FACTORIES

#: Prose saying something happens when the module is imported (issue 15 #6).
_AT_IMPORT = re.compile(
    r"\b(?:at|on|during|upon) import(?:[- ]time)?\b|\bimport[- ]time\b"
    r"|\bwhen (?:this|the) module is (?:first )?(?:imported|loaded)\b|\bat module load\b",
    re.IGNORECASE,
)


class LazySingletons(Codemod):
    """Build module-level singletons on first use, through a getter, everywhere in the project.

    ## What it does
    Finds module-level assignments whose value does work when it is built: instances of classes
    defined in the project and calls of known expensive factories (`create_engine`,
    `sessionmaker`, `sqlite3.connect`, `Redis.from_url`, `boto3.client`, `requests.Session`,
    `httpx.Client`, `open`, `*.from_pretrained`, `torch.load`, ...) under whatever name an
    installed package re-exports them (`from sqlmodel import create_engine` is SQLAlchemy's:
    the project's environment is read, never imported, to follow the re-exports to where each
    name is defined), and any value computed by
    calling into a heavy module (the `heavy-modules` setting heavy-imports uses), wherever the
    call sits in the value: `torch.jit.load(path).eval()`, `pd.read_pickle(path)`,
    `AutoModel.from_pretrained(name)`, `cv2.CascadeClassifier(path)`. Such a call loads a model
    or data by definition, so no list of loaders is needed; and once the value is built in its
    getter, the heavy import is read only in functions, so heavy-imports moves it there in the
    same run. Calls that only make constants (dtypes and scalar types such as `np.float32(...)`,
    `torch.device("cpu")`, arrays such as `np.array([...])`, `np.zeros(n)`, `torch.tensor([...])`)
    are in the default `cheap-calls` and stay, as does anything `extend-cheap-calls` adds (a
    heavy call nested in them still counts). Each becomes a getter
    (`get_<name>()`) that builds the object once, exactly once under concurrent first calls,
    and every reference in the project calls the getter: in the module itself, after
    `from m import x`, and through `import m; m.x`. The old name keeps working for code outside
    the processed paths: the module's `__getattr__` (PEP 562) answers it with the getter's
    object, and `if TYPE_CHECKING:` declares it for type checkers. Reads under
    `if __name__ == "__main__":` (which runs only as a script, once the module is built) call
    the getter too, as reads in functions do; its `else:` runs at import. When the module
    already has an accessor, `def get_x(): return x` (no parameters, no decorators, nothing but
    a docstring and the `return`, defined after `x`), that function becomes the getter, with its
    name, signature and docstring, so its callers need no change; an accessor that does more
    keeps its body, and the getter is `get_x_lazily()`. Schema work on an engine
    (`Base.metadata.create_all(engine)`) runs in the engine's getter, once, right after the
    engine is built, also when it sits in another module (FastAPI's SQL tutorial runs
    `models.Base.metadata.create_all(bind=engine)` in `main.py`): there it is removed, and the
    getter runs it with the engine module's own names, when the engine's module can reach
    everything the statement names and the module that had it imports, at import, every module
    that defines the models. A proxy global (`audit_logger = AuditLoggerProxy()`, whose class only
    forwards attribute access to a getter) stays as the compatibility name, and attribute reads
    through it call the getter directly.

    ## Why is this bad?
    An object built at import does its work (opening a SQLite file, connecting, drawing a
    secret, loading a model) before the first request, in every process that imports the
    module, including tests and command-line tools. On serverless platforms a failure there is
    `FUNCTION_INVOCATION_FAILED` before any handler runs.

    ## Example
    ```python
    import sqlite3

    conn = sqlite3.connect("app.db")


    def count():
        return conn.execute("select count(*) from t").fetchone()
    ```

    Use instead:
    ```python
    import sqlite3
    import threading
    from typing import TYPE_CHECKING

    _lazify_lock = threading.RLock()
    _lazify_building: set[str] = set()  # names whose getter is building them
    # built on first use by get_conn(); a reload starts afresh
    globals().pop("conn", None)


    def get_conn() -> "sqlite3.Connection":
        \"""Return `conn`, built on first use (lazify); assigning `conn` on the module replaces it.\"""
        global conn
        with _lazify_lock:
            if "conn" not in globals():
                if "conn" in _lazify_building:  # read while it is built
                    raise NameError("name 'conn' is not defined")
                _lazify_building.add("conn")
                try:
                    conn = sqlite3.connect("app.db")
                finally:
                    _lazify_building.discard("conn")
        return conn


    if TYPE_CHECKING:
        conn: sqlite3.Connection


    def count():
        return get_conn().execute("select count(*) from t").fetchone()


    def __getattr__(name: str) -> object:
        \"""Module attributes computed on first access (PEP 562; generated by lazify).\"""
        if name == "conn" and name not in _lazify_building:
            return get_conn()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    ```

    ## Fix safety
    Safe: the object is the same, built by the same expression, only later (on the first call
    of its getter), so its side effects and errors surface then. Assigning the old module
    attribute (`mod.engine = create_engine("sqlite://")` in a test) still wins: from then on
    the getter returns the assigned object; `importlib.reload(mod)` starts afresh. While the
    object is being built the name is unbound, as it was while the import ran: a constructor
    that asks its own module for it (`hasattr(sys.modules[__name__], "registry")`, a read of
    the global) sees it missing, instead of re-entering the getter. Schema work
    moved into an engine's getter runs with the models imported by then: models imported later
    than the engine's first use are not created by it (they were, if imported before the
    original `create_all`, only when imported first). Schema work moved from another module
    runs when the engine is first built, even by a program that never imports that module.

    Blocked, with the line: a singleton read at import by a statement that is not itself
    lazified (the chain of lines is reported; a user that is itself a singleton is rewritten
    too), rebound, star-imported from a module without `__all__`, re-exported by a module that
    imports it (in its `__all__`, or a package's `__init__`: `pkg.site` would stop working), with
    schema work in another module that the engine's module can't run (it names what that module
    can't reach, or models that module's imports don't load), built
    from a name the module binds again, or in a module with its own `__getattr__`. Code outside the processed paths keeps using the old name, which works; a
    dotted string such as `mock.patch("pkg.mod.engine")` patches the module attribute, which
    the getter honours, and is listed in the report.
    """

    code = "LZY002"
    name = "lazy-singletons"
    summary = "Build module-level singletons on first use, through getters, across the project"
    version = 2
    project_level = True

    @staticmethod
    def facts(tree: ast.Module, module: str | None, is_package: bool) -> ModuleFacts:
        return extract_facts(tree, module, is_package)

    @staticmethod
    def plan(
        facts: Mapping[str, ModuleFacts], rewritten: set[str], paths: Mapping[str, str], settings: Settings
    ) -> dict[str, ModulePlan]:
        return plan_project(
            facts,
            rewritten,
            settings.singleton_factories or DEFAULT_FACTORIES,
            settings.cheap_calls or DEFAULT_CHEAP,
            paths,
            dict(settings.definitions),
            heavy_modules=settings.heavy_modules,
            measured=settings.measured_statements,
        )

    @staticmethod
    def external_names(facts: Mapping[str, ModuleFacts], settings: Settings) -> set[str]:
        """Names the engine looks up in the installed packages (``settings.definitions``)."""
        return external_names(
            facts, settings.singleton_factories or DEFAULT_FACTORIES, settings.cheap_calls or DEFAULT_CHEAP
        )

    def prefilter(self, text: str, settings: Settings) -> bool:
        return False  # a project-level codemod runs where the plan gives the file a slice

    def analyze_without_tree(self, view: ProjectView, settings: Settings) -> Analysis | None:
        mp = view.plans.get(self.code)
        if isinstance(mp, ModulePlan) and not mp.own and not mp.imported:
            # Only singletons the plan blocked: their findings come from the plan's facts.
            return Analysis(_sorted(_blocked_findings(mp)), _Plan({}, {}))
        return None

    def analyze(self, ctx: FileContext) -> Analysis:
        mp = ctx.project.plans.get(self.code)
        if not isinstance(mp, ModulePlan):
            return Analysis([], _Plan({}, {}))
        return _Analyzer(ctx, mp).run()

    def apply(self, ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
        plan = analysis.plan
        assert isinstance(plan, _Plan)
        own = {k: v for k, v in plan.own.items() if k in keys}
        refs = {k: v for k, v in plan.refs.items() if k in keys}
        if not own and not refs:
            return ctx.module
        return _Rewriter(ctx, own, refs).rewrite()


# ---------------------------------------------------------------------------------------------


def _blocked_findings(mp: ModulePlan) -> list[Finding]:
    """The singletons the project plan blocked, with the chain of modules that decided it."""
    return [
        Finding(
            code=LazySingletons.code,
            message=f"`{b.name}` stays built at import: {b.reason}",
            span=Span(b.line),
            reason=b.reason,
            related=tuple((Location(m, line), what) for m, line, what in b.chain),
        )
        for b in mp.blocked
    ]


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.span.line, f.span.column, f.message))


class _Analyzer:
    def __init__(self, ctx: FileContext, mp: ModulePlan) -> None:
        self.ctx = ctx
        self.mp = mp
        self.removed: dict[int, tuple[str, str]] = {}  # schema statements that move away
        self.module = ctx.module
        self.parents = ctx.parents
        self._locals: dict[int, frozenset[str]] = {}  # function -> the names it binds
        self.positions = ctx.positions
        # Only these names are looked up: the singletons defined here, and the local names
        # of imported ones (a superset: every `from ... import <name>` of such a name).
        imported = {p.name for p in mp.imported}
        names = {p.name for p in mp.own} | {
            u.alias_binding(alias)
            for stmt in self.module.body
            for small in u.iter_small_statements(stmt)
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar)
            for alias in small.names
            if (u.dotted_name(alias.name) or "") in imported
        }
        self.gscope = u.global_scope_for(self.module, names)
        self.findings: list[Finding] = []
        self.is_package = ctx.path.endswith("__init__.py")
        self._top_cache: dict[int, int] = {}

    def top_statement(self, node: cst.CSTNode) -> int | None:
        """Index in the module body of the statement holding ``node``."""
        try:
            return u.top_level_index(node, self.parents, self.module, self._top_cache)
        except StopIteration:
            return None

    def module_reads(self, name: str, assignment: object) -> list:
        """The reads scope analysis gives for a module-level binding, in source order, without
        the ones that are a function's own variable of the same name."""
        return [
            acc
            for acc in self.ctx.in_source_order(assignment.references)  # type: ignore[attr-defined]
            if not u.bound_in_a_function(name, acc.node, self.parents, self._locals)
        ]

    def in_function(self, node: cst.CSTNode) -> bool:
        """Runs after the import: in a function, or under ``if __name__ == "__main__":``."""
        return u.in_function_body(node, self.parents) or u.in_main_guard_body(node, self.parents)

    def is_attribute_load(self, name: cst.Name) -> bool:
        parent = self.parents.get(name)
        if not (isinstance(parent, cst.Attribute) and parent.value is name):
            return False
        grand = self.parents.get(parent)
        if isinstance(grand, (cst.AssignTarget, cst.Del)) or (
            isinstance(grand, (cst.AugAssign, cst.AnnAssign)) and grand.target is parent
        ):
            return False
        return True

    def run(self) -> Analysis:
        own: dict[str, _Own] = {}
        by_line = dict(enumerate(self.module.body))
        lazy_statements: set[int] = set()
        for p in self.mp.own:
            found = self._find_assignment(p)
            if found is None:
                self._blocked(p.name, p.line, "the assignment was not found where the plan expects it")
                continue
            index, value = found
            own[p.name] = _Own(p, index, value)
            if p.accessor:
                accessor = self._find_accessor(p)
                if accessor is None:
                    del own[p.name]
                    self._blocked(
                        p.name, p.line, f"`{p.getter}()` is not the plain accessor the plan expects"
                    )
                    continue
                own[p.name].accessor = accessor
            if p.kind == "build":
                lazy_statements.add(index)
        for o in own.values():
            if o.plan.schema_lines:
                o.schema = [i for i, s in by_line.items() if _schema_target(s) == o.plan.name]
            lazy_statements.update(o.schema)
        ok: dict[str, _Own] = {}
        for name, o in own.items():
            try:
                self._own_reads(o, own, lazy_statements)
            except Blocked as e:
                self._blocked(name, o.plan.line, e.reason, e.node)
                continue
            ok[name] = o
        refs = self._refs(lazy_statements)
        for o in ok.values():
            o.touched = {
                i for n in [*o.reads, *o.schema_reads] if (i := self.top_statement(n)) is not None
            } | {o.index}
        for r in refs.values():
            r.touched = {i for n in r.reads if (i := self.top_statement(n)) is not None}
        self.findings.extend(_blocked_findings(self.mp))
        for o in ok.values():
            if o.plan.kind == "proxy" and not o.reads:
                continue  # nothing to rewrite here; other modules' reads carry the decision
            self.findings.append(self._own_finding(o))
        for _key, r in refs.items():
            if r.removed and not r.reads:
                self.findings.append(self._moved_finding(r))
                continue
            self.findings.append(
                Finding(
                    code=LazySingletons.code,
                    message=f"`{r.plan.name}` from `{r.plan.module}` is read through its getter",
                    span=self.ctx.span(r.reads[0]) if r.reads else Span(1),
                    fix_key=r.plan.name,
                    fix_owner=r.plan.path,
                    needs_owner=r.plan.kind == "build",
                    safety=Safety.SAFE,
                    help=f"Call `{r.local_getter}()` ({len(r.reads)} place{'s' if len(r.reads) != 1 else ''})",
                )
            )
        return Analysis(_sorted(self.findings), _Plan(ok, refs))

    def _blocked(self, name: str, line: int, reason: str, node: cst.CSTNode | None = None) -> None:
        related = ((self.ctx.span(node), reason),) if node is not None else ()
        self.findings.append(
            Finding(
                code=LazySingletons.code,
                message=f"`{name}` stays built at import: {reason}",
                span=Span(line),
                reason=reason,
                related=related,
            )
        )

    def _own_finding(self, o: _Own) -> Finding:
        p = o.plan
        stmt = self.module.body[o.index]
        if p.kind == "proxy":
            return Finding(
                code=LazySingletons.code,
                message=f"`{p.name}` is a proxy that forwards every attribute to `{p.getter}()`",
                span=self.ctx.span(stmt),
                fix_key=p.name,
                fix_owner=p.path,
                safety=Safety.SAFE,
                help=f"Call `{p.getter}()` directly ({len(o.reads)} place{'s' if len(o.reads) != 1 else ''}); `{p.name}` stays for other code",
            )
        value = " ".join(self.module.code_for_node(o.value).split())
        if len(value) > 60:
            value = value[:57] + "..."
        extra = (
            f" and runs the schema work on line {', '.join(str(x) for x in p.schema_lines)}"
            if p.schema_lines
            else ""
        )
        if p.remote_schema:
            where = ", ".join(f"{path}:{line}" for path, line, _ in p.remote_schema)
            extra += f"{' and' if extra else ' and runs'} the schema work of {where}"
        related = tuple(
            (loc, f"{how}: patches the module attribute, which the getter honours")
            for loc, how in self.ctx.project.refs_to(p.name)
            if how.startswith("named in the string")
        ) + self._stale_prose(stmt, p.name, p.getter)
        return Finding(
            code=LazySingletons.code,
            message=f"`{p.name} = {value}` is built at import{extra}",
            span=self.ctx.span(stmt),
            fix_key=p.name,
            fix_owner=p.path,
            safety=Safety.SAFE,
            help=f"Build it on first use in `{p.getter}()`{', the accessor it already has' if p.accessor else ''}; `{p.name}` still works through the module's `__getattr__`",
            related=related,
        )

    def _stale_prose(
        self, stmt: cst.BaseStatement, name: str, getter: str
    ) -> tuple[tuple[Location, str], ...]:
        """Prose that will be wrong once the object is built on first use: the module docstring,
        or a comment on the assignment, saying it is made at import. Reported as a note on the
        change (a Location, not a Span: a Span beside a fix is one of its risks), never rewritten."""
        out: list[tuple[Location, str]] = []
        note = f"note: says `{name}` is made at import; after this change `{getter}()` builds it on first use (update the prose)"
        first = self.module.body[0] if self.module.body else None
        if (
            first is not None
            and u.is_docstring(first)
            and _AT_IMPORT.search(self.module.code_for_node(first))
        ):
            out.append(
                (Location(self.ctx.path, self.ctx.span(first).line), "the module docstring " + note[6:])
            )
        comments = [
            line.comment.value for line in getattr(stmt, "leading_lines", ()) if line.comment is not None
        ]
        trailing = getattr(getattr(stmt, "trailing_whitespace", None), "comment", None)
        if trailing is not None:
            comments.append(trailing.value)
        if any(_AT_IMPORT.search(c) for c in comments):
            out.append((Location(self.ctx.path, self.ctx.span(stmt).line), "the comment on it " + note[6:]))
        return tuple(out)

    def _moved_finding(self, r: _Ref) -> Finding:
        p = r.plan
        stmt = self.module.body[r.removed[0]]
        return Finding(
            code=LazySingletons.code,
            message=f"the schema work on `{p.name}` runs at import; it moves into `{p.getter}()` of `{p.module}`",
            span=self.ctx.span(stmt),
            fix_key=p.name,
            fix_owner=p.path,
            needs_owner=True,
            safety=Safety.SAFE,
            help=f"It runs once, when `{p.name}` is first built, with the models this module imports",
        )

    def _find_assignment(self, p: Plan) -> tuple[int, cst.BaseExpression] | None:
        # By name, not line: the plan comes from the file as it was on disk, and a codemod that
        # ran before this one (heavy-imports) may have moved lines. The planner made sure the
        # name is assigned once at module level.
        for i, stmt in enumerate(self.module.body):
            assigned = u.single_assignment(stmt)
            if assigned is not None and assigned[0].value == p.name:
                return i, assigned[1]
        return None

    def _find_accessor(self, p: Plan) -> int | None:
        """The index of ``def <getter>(): return <name>`` (LibCST's view of what the plan's
        ``ast`` facts found: no parameters or decorators, a docstring at most)."""
        for i, stmt in enumerate(self.module.body):
            if not (isinstance(stmt, cst.FunctionDef) and stmt.name.value == p.getter):
                continue
            body = stmt.body
            if stmt.decorators or stmt.asynchronous or not isinstance(body, cst.IndentedBlock):
                return None
            params = stmt.params
            if params.params or params.posonly_params or params.kwonly_params or params.star_kwarg:
                return None
            if not isinstance(params.star_arg, cst.MaybeSentinel):
                return None
            stmts = list(body.body)
            if len(stmts) == 2 and u.is_docstring(stmts[0]):
                stmts = stmts[1:]
            last = stmts[0] if len(stmts) == 1 else None
            if not (
                isinstance(last, cst.SimpleStatementLine)
                and len(last.body) == 1
                and isinstance(last.body[0], cst.Return)
                and isinstance(last.body[0].value, cst.Name)
                and last.body[0].value.value == p.name
            ):
                return None
            return i
        return None

    def _own_reads(self, o: _Own, own: dict[str, _Own], lazy_statements: set[int]) -> None:
        for a in self.ctx.in_source_order(self.gscope.assignments[o.plan.name]):
            for access in self.module_reads(o.plan.name, a):
                n = access.node
                if not isinstance(n, cst.Name):
                    continue  # `__all__` entries: the module __getattr__ serves them
                where = self.top_statement(n)
                if where is not None and where == o.accessor:
                    continue  # its `return x` is what the getter becomes
                if o.plan.kind == "proxy":
                    if self.in_function(n) and self.is_attribute_load(n):
                        o.reads.append(n)
                    continue
                if where in o.schema:
                    o.schema_reads.append(n)
                elif self.in_function(n) or where in lazy_statements:
                    if where == o.index:
                        raise Blocked(f"`{o.plan.name}` is read by its own value", n)
                    o.reads.append(n)
                else:
                    raise Blocked(f"read at import on line {self.positions[n].start.line}", n)

    def _refs(self, lazy_statements: set[int]) -> dict[str, _Ref]:
        refs: dict[str, _Ref] = {}
        by_target = {(p.module, p.name): p for p in self.mp.imported}
        if not by_target:
            return refs
        # Schema statements that move into another module's getter: found by what they are
        # (an earlier codemod may have moved lines), and gone from this module.
        for engine_mod, name, local, _line in self.mp.moved_schema:
            for i, stmt in enumerate(self.module.body):
                if _schema_target(stmt) == local and (engine_mod, name) in by_target:
                    self.removed[i] = (engine_mod, name)
        module_aliases: dict[str, str] = {}
        for index, stmt in enumerate(self.module.body):
            for small in u.iter_small_statements(stmt):
                if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    base = resolve_relative(
                        self.ctx.module_name,
                        self.is_package,
                        len(small.relative),
                        u.dotted_name(small.module) if small.module else None,
                    )
                    for alias in small.names:
                        name = u.dotted_name(alias.name) or ""
                        p = by_target.get((base or "", name))
                        if p is None:
                            # `from pkg import mod` binds a module alias
                            full = f"{base}.{name}" if base else name
                            module_aliases[u.alias_binding(alias)] = full
                            continue
                        self._from_import(p, index, small, alias, refs, lazy_statements)
                elif isinstance(small, cst.Import):
                    for alias in small.names:
                        full = u.dotted_name(alias.name) or ""
                        if alias.asname is not None:
                            module_aliases[u.alias_binding(alias)] = full
                        else:
                            module_aliases[full] = full
        if module_aliases:
            self._attribute_reads(by_target, module_aliases, refs)
        for i, (engine_mod, name) in self.removed.items():
            p = by_target[(engine_mod, name)]
            refs.setdefault(p.name, _Ref(p, local_getter=p.getter)).removed.append(i)
        return {k: r for k, r in refs.items() if r.reads or r.removed}

    def _from_import(
        self,
        p: Plan,
        index: int,
        small: cst.ImportFrom,
        alias: cst.ImportAlias,
        refs: dict[str, _Ref],
        lazy_statements: set[int],
    ) -> None:
        local = u.alias_binding(alias)
        r = refs.setdefault(p.name, _Ref(p, local_getter=p.getter))
        r.aliases.append((index, alias))
        for a in self.gscope.assignments[local]:
            if getattr(a, "node", None) is not small:
                continue
            for access in self.module_reads(local, a):
                n = access.node
                if not isinstance(n, cst.Name):
                    r.keep_alias = True
                    continue
                where = self.top_statement(n)
                if where in self.removed:
                    continue  # runs in the getter now
                if p.kind == "proxy":
                    if self.in_function(n) and self.is_attribute_load(n):
                        r.reads.append(n)
                    else:
                        r.keep_alias = True
                elif self.in_function(n) or where in lazy_statements:
                    r.reads.append(n)
                else:
                    r.keep_alias = True

    def _attribute_reads(
        self, by_target: dict, module_aliases: dict[str, str], refs: dict[str, _Ref]
    ) -> None:
        analyzer = self

        class V(cst.CSTVisitor):
            def visit_Attribute(self, node: cst.Attribute) -> None:
                d = u.dotted_name(node)
                if d is None:
                    return
                head, _, name = d.rpartition(".")
                target = module_aliases.get(head)
                if target is None:
                    return
                p = by_target.get((target, name))
                if p is None or not analyzer.in_function(node):
                    return
                parent = analyzer.parents.get(node)
                if isinstance(parent, (cst.AssignTarget, cst.Del)):
                    return
                if p.kind == "proxy" and not (isinstance(parent, cst.Attribute) and parent.value is node):
                    return
                r = refs.setdefault(p.name, _Ref(p, local_getter=p.getter))
                r.reads.append(node)

        self.module.visit(V())


def _schema_target(stmt: cst.BaseStatement) -> str | None:
    """``X.metadata.create_all(engine)`` / ``(bind=engine)`` at module level -> ``engine``."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    expr = stmt.body[0]
    if not (isinstance(expr, cst.Expr) and isinstance(expr.value, cst.Call)):
        return None
    call = expr.value
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "create_all"):
        return None
    if not (isinstance(func.value, cst.Attribute) and func.value.attr.value == "metadata"):
        return None
    args = [a.value for a in call.args if a.keyword is None or a.keyword.value == "bind"]
    if len(args) == 1 and isinstance(args[0], cst.Name):
        return args[0].value
    return None
