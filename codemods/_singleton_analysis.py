"""LZY002 lazy-singletons, the analysis of one file: which singletons the cross-file plan gave
this module become getters, which reads (here and through imports) become calls, and the
findings, blocked ones with the line that blocks them. The codemod is in
``codemods/lazy_singletons.py``; the rewrite in ``codemods/_singleton_rewrite.py``."""

from __future__ import annotations

import re

import libcst as cst

from codemods import _cst as u
from codemods._api import (
    Analysis,
    Blocked,
    FileContext,
    Finding,
    Location,
    Safety,
    Span,
    resolve_relative,
)
from codemods._scope_slice import Slice, SlicedTree
from codemods._singleton_facts import CODE
from codemods._singleton_plan import ModulePlan, Plan
from codemods._singleton_rewrite import _Own, _Plan, _Ref

#: Prose saying something happens when the module is imported (issue 15 #6).
_AT_IMPORT = re.compile(
    r"\b(?:at|on|during|upon) import(?:[- ]time)?\b|\bimport[- ]time\b"
    r"|\bwhen (?:this|the) module is (?:first )?(?:imported|loaded)\b|\bat module load\b",
    re.IGNORECASE,
)
#: A line break in prose, with the next line's indentation or comment marker.
_WRAP = re.compile(r"\s*\n\s*#?\s*")


def _says_at_import(text: str) -> bool:
    """The prose says the object is made at import, also across a wrapped line."""
    return _AT_IMPORT.search(_WRAP.sub(" ", text)) is not None


def blocked_findings(mp: ModulePlan) -> list[Finding]:
    """The singletons the project plan blocked, with the chain of modules that decided it."""
    return [
        Finding(
            code=CODE,
            message=f"`{b.name}` stays built at import: {b.reason}",
            span=Span(b.line),
            reason=b.reason,
            related=tuple((Location(m, line), what) for m, line, what in b.chain),
        )
        for b in mp.blocked
    ]


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.span.line, f.span.column, f.message))


class Analyzer:
    def __init__(self, ctx: FileContext, mp: ModulePlan) -> None:
        self.ctx = ctx
        self.mp = mp
        self.removed: dict[int, tuple[str, str]] = {}  # schema statements that move away
        self.module = ctx.module
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
        sliced = Slice(self.module, names, self.positions.statement_code)
        self.gscope = sliced.global_scope(self.module)
        # Parents and order for the statements scope analysis read (every node it found is
        # there); anything else is answered from the whole module's, computed only then.
        self.tree = SlicedTree(self.module, sliced.picked, lambda: (ctx.parents, ctx.order), sliced.skipped)
        self.parents = self.tree
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
            for acc in self.tree.in_source_order(assignment.references)  # type: ignore[attr-defined]
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
        self.findings.extend(blocked_findings(self.mp))
        for o in ok.values():
            if o.plan.kind == "proxy" and not o.reads:
                continue  # nothing to rewrite here; other modules' reads carry the decision
            self.findings.append(self._own_finding(o))
        for _key, r in refs.items():
            if r.removed and not r.reads:
                self.findings.append(self._moved_finding(r))
                continue
            if r.forward and not r.reads:
                self.findings.append(self._forward_finding(r))
                continue
            self.findings.append(
                Finding(
                    code=CODE,
                    message=f"`{r.plan.name}` from `{r.plan.module}` is read through its getter",
                    span=self.ctx.span(r.reads[0]) if r.reads else Span(1),
                    fix_key=r.plan.name,
                    fix_owner=r.plan.path,
                    needs_owner=r.plan.kind == "build",
                    safety=Safety.SAFE,
                    help=f"Call `{r.local_getter}()` ({len(r.reads)} place{'s' if len(r.reads) != 1 else ''})",
                )
            )
        return Analysis(sorted_findings(self.findings), _Plan(ok, refs))

    def _forward_finding(self, r: _Ref) -> Finding:
        index = next(i for i, a in r.aliases if u.alias_binding(a) == r.forward)
        return Finding(
            code=CODE,
            message=f"`{r.forward}` from `{r.plan.module}` is passed on: this module answers it with its getter",
            span=self.ctx.span(self.module.body[index]),
            fix_key=r.plan.name,
            fix_owner=r.plan.path,
            needs_owner=r.plan.kind == "build",
            safety=Safety.SAFE,
            help=f"Import `{r.local_getter}` and answer `{r.forward}` from the module's `__getattr__`",
        )

    def _blocked(self, name: str, line: int, reason: str, node: cst.CSTNode | None = None) -> None:
        related = ((self.ctx.span(node), reason),) if node is not None else ()
        self.findings.append(
            Finding(
                code=CODE,
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
                code=CODE,
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
            code=CODE,
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
        says = f"says `{name}` is made at import; after this change `{getter}()` builds it on first use (update the prose)"
        first = self.module.body[0] if self.module.body else None
        if first is not None and u.is_docstring(first) and _says_at_import(self.module.code_for_node(first)):
            out.append((Location(self.ctx.path, self.ctx.span(first).line), "the module docstring " + says))
        comments = [
            line.comment.value for line in getattr(stmt, "leading_lines", ()) if line.comment is not None
        ]
        trailing = getattr(getattr(stmt, "trailing_whitespace", None), "comment", None)
        if trailing is not None:
            comments.append(trailing.value)
        if _says_at_import("\n".join(comments)):
            out.append((Location(self.ctx.path, self.ctx.span(stmt).line), "the comment on it " + says))
        return tuple(out)

    def _moved_finding(self, r: _Ref) -> Finding:
        p = r.plan
        stmt = self.module.body[r.removed[0]]
        return Finding(
            code=CODE,
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
        for a in self.tree.in_source_order(self.gscope.assignments[o.plan.name]):
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
        return {k: r for k, r in refs.items() if r.reads or r.removed or r.forward}

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
        if (local, f"{p.module}.{p.name}") in self.mp.forwards:
            r.forward = local
            # Written out afresh: without the statement's parentheses, comments and other names.
            source = "." * len(small.relative) + (u.dotted_name(small.module) or "" if small.module else "")
            name = self.module.code_for_node(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
            r.forward_import = f"from {source} import {name}"
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
