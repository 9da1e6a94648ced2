"""lazy-singletons, stages 1 and 2: per-file facts (``ast``) and the project-wide plan.

Whether a module-level object can be built lazily depends on every other module: who imports
it, who uses it while being imported, whose constructor uses it. Those questions are answered
here, once, from facts extracted with the standard library's ``ast`` (cached per file by the
engine), so that the module that defines a singleton and every module that refers to it agree on
the same plan. Pure functions: no I/O.
"""

from __future__ import annotations

import ast
import fnmatch
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from codemods._api import resolve_relative
from codemods._exports import exports_from_ast
from codemods.options import DEFAULT_CHEAP, DEFAULT_FACTORIES

#: Bases and decorators that make a class a value object (cheap to build, compared by value).
VALUE_BASES = ("Enum", "IntEnum", "StrEnum", "Flag", "NamedTuple", "TypedDict", "BaseModel",
               "BaseSettings", "Exception", "BaseException", "Protocol")  # fmt: skip
VALUE_DECORATORS = ("dataclass", "dataclasses.dataclass", "attr.s", "attrs.define", "define", "frozen")

#: Schema work on a SQLAlchemy engine that runs with it, once, instead of at import.
SCHEMA_METHODS = ("create_all",)

# ---------------------------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class AssignFact:
    name: str
    line: int
    #: Qualified name of the called function or class ("sqlalchemy.create_engine", "pkg.mod.C").
    callee: str | None
    annotation: str | None
    #: Global names the value reads (``sessionmaker(bind=engine)`` -> ``engine``).
    reads: tuple[str, ...]
    #: The callee as written (``CSRFProtection``, ``redis.Redis.from_url``).
    func_text: str | None = None
    #: Qualified names of every call building the value makes at import, the outer one
    #: included (``torch.jit.load(p).eval()`` -> ``torch.jit.load``).
    calls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassFact:
    name: str
    line: int
    #: The module-level function a proxy class forwards attribute access to.
    proxy_getter: str | None
    value_object: bool
    #: Global names ``__init__`` reads (its construction uses them).
    init_reads: tuple[str, ...]
    #: The bases, as qualified names where the module can tell (``pkg.database.Base``).
    bases: tuple[str, ...] = ()


@dataclass(frozen=True)
class UseFact:
    """A global name read by a module-level statement (at import)."""

    name: str
    line: int
    #: The module-level assignment this read is part of, if any.
    in_assign: str | None = None
    #: The singleton whose schema work this statement is (``Base.metadata.create_all(engine)``).
    schema_of: str | None = None
    #: ``True`` when the name is read only for an attribute (``x.attr``).
    attribute_only: bool = False


@dataclass(frozen=True)
class SchemaFact:
    """A module-level ``X.metadata.create_all(engine)`` (or ``bind=engine``)."""

    line: int
    #: The engine's local name, and the ``X`` whose metadata it is, as written (``models.Base``).
    engine: str
    owner: str
    #: Global names the statement reads.
    reads: tuple[str, ...]
    #: The engine is its only argument (``bind=`` when ``keyword``).
    only_argument: bool
    keyword: bool


@dataclass(frozen=True)
class ModuleFacts:
    module: str | None
    #: Module-level bindings: local name -> qualified name (imports), or "" for other bindings.
    bindings: tuple[tuple[str, str], ...] = ()
    classes: tuple[ClassFact, ...] = ()
    functions: tuple[str, ...] = ()
    assigns: tuple[AssignFact, ...] = ()
    uses: tuple[UseFact, ...] = ()
    #: Names bound more than once at module level, or declared ``global`` in a function.
    rebound: tuple[str, ...] = ()
    all_names: tuple[str, ...] | None = None
    all_computed: bool = False
    has_getattr: bool = False
    #: Module-level ``import m`` aliases: local name -> module (for ``m.x`` reads).
    module_aliases: tuple[tuple[str, str], ...] = ()
    #: (module, name) read through a module alias at import (``m.x`` at module level).
    attribute_uses: tuple[tuple[str, str, int], ...] = ()
    #: Modules this one star-imports, with the line.
    star_imports: tuple[tuple[str, int], ...] = ()
    #: Every ``m.x`` read anywhere (functions included), as (m's target, x).
    attribute_reads: tuple[tuple[str, str], ...] = ()
    #: Module-level ``def get_x(): return x`` (no parameters, no decorators; a docstring at
    #: most), as (function, the name it returns, line).
    accessors: tuple[tuple[str, str, int], ...] = ()
    schemas: tuple[SchemaFact, ...] = ()

    def binding(self, name: str) -> str | None:
        return dict(self.bindings).get(name)


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attributes on a name; None for anything else (both plans use it)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


_dotted = dotted


class _Reads(ast.NodeVisitor):
    """Global names read by an expression or statement, not counting function bodies."""

    def __init__(self) -> None:
        self.names: list[tuple[str, int, bool]] = []

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.names.append((node.id, node.lineno, False))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load):
            self.names.append((node.value.id, node.value.lineno, True))
            return
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        self.visit(node.args)
        if node.returns:
            self.visit(node.returns)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)


def _calls(node: ast.AST) -> list[ast.Call]:
    """The calls an expression makes when it is evaluated (not those in its lambdas)."""
    out = []
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, ast.Lambda):
            continue
        if isinstance(n, ast.Call):
            out.append(n)
        todo.extend(ast.iter_child_nodes(n))
    return out


def _reads(node: ast.AST) -> list[tuple[str, int, bool]]:
    v = _Reads()
    v.visit(node)
    return v.names


def extract_facts(tree: ast.Module, module: str | None, is_package: bool) -> ModuleFacts:
    bindings: dict[str, str] = {}
    module_aliases: dict[str, str] = {}
    counts: dict[str, int] = defaultdict(int)
    classes: list[ClassFact] = []
    functions: list[str] = []
    accessors: list[tuple[str, str, int]] = []
    assigns: list[AssignFact] = []
    uses: list[UseFact] = []
    has_getattr = False
    star_imports: list[tuple[str, int]] = []
    schemas: list[SchemaFact] = []

    def bind(name: str, target: str = "") -> None:
        counts[name] += 1
        bindings[name] = target

    for stmt in tree.body:
        # One statement binding a name twice (`from m import x, x`, `import a.b, a.c`) binds it
        # once: that is not a rebinding.
        aliases = list(stmt.names) if isinstance(stmt, (ast.Import, ast.ImportFrom)) else []
        bound_here: set[str] = set()

        def bind_once(name: str, target: str = "") -> None:
            if name not in bound_here:  # noqa: B023 (called only in this iteration)
                bound_here.add(name)  # noqa: B023
                bind(name, target)

        if isinstance(stmt, ast.Import):
            for a in aliases:
                if a.asname:
                    bind_once(a.asname, a.name)
                    module_aliases[a.asname] = a.name
                else:
                    root = a.name.split(".")[0]
                    bind_once(root, root)
                    module_aliases[root] = root
                    if "." in a.name:
                        module_aliases[a.name] = a.name
        elif isinstance(stmt, ast.ImportFrom):
            base = resolve_relative(module, is_package, stmt.level, stmt.module)
            for a in aliases:
                if a.name == "*" and base is not None:
                    star_imports.append((base, stmt.lineno))
                elif base is not None:
                    bind_once(a.asname or a.name, f"{base}.{a.name}")
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            bind(stmt.name)
            functions.append(stmt.name)
            returned = _accessor_of(stmt)
            if returned is not None:
                accessors.append((stmt.name, returned, stmt.lineno))
            has_getattr = has_getattr or stmt.name == "__getattr__"
        elif isinstance(stmt, ast.ClassDef):
            bind(stmt.name)
            classes.append(_class_fact(stmt, bindings, module))
        elif isinstance(stmt, ast.Delete):
            for t in stmt.targets:
                if isinstance(t, ast.Name):
                    counts[t.id] += 2  # `del x` changes what a later read of x sees

    def callee_of(call: ast.Call) -> str | None:
        name = _dotted(call.func)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        target = bindings.get(head)
        if target:
            return f"{target}.{rest}" if rest else target
        if head in {c.name for c in classes} and module:
            return f"{module}.{name}"
        if head in bindings:  # some other module-level binding
            return None
        return name  # a builtin (open, dict, ...)

    for stmt in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        annotation = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
            annotation = ast.unparse(stmt.annotation)
        elif isinstance(stmt, ast.AugAssign):
            targets = [stmt.target]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        for n in names:
            if isinstance(stmt, ast.AugAssign):
                counts[n] += 1
            else:
                bind(n)
        for t in targets:
            if isinstance(t, (ast.Tuple, ast.List)):
                for e in ast.walk(t):
                    if isinstance(e, ast.Name):
                        bind(e.id)
        calls = _calls(value) if value is not None else []
        if len(targets) == 1 and len(names) == 1 and calls and not isinstance(stmt, ast.AugAssign):
            reads = _reads(value)  # type: ignore[arg-type]
            assigns.append(
                AssignFact(
                    names[0], stmt.lineno, callee_of(value) if isinstance(value, ast.Call) else None,
                    annotation, tuple(sorted({r[0] for r in reads})),
                    _dotted(value.func) if isinstance(value, ast.Call) else None,
                    tuple(dict.fromkeys(q for c in calls if (q := callee_of(c)) is not None)),
                )
            )  # fmt: skip
            for n, line, attr in reads:
                uses.append(UseFact(n, line, in_assign=names[0], attribute_only=attr))
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef)):
            # Decorators, defaults and annotations of a def run at import.
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for n, line, attr in _reads(stmt):
                    uses.append(UseFact(n, line, attribute_only=attr))
            continue
        if _is_main_guard(stmt):
            # Its body runs when the file is run as a script, once the module is built: reads
            # there are reads in a function (they call the getter). Its `else:` runs at import.
            for part in [stmt.test, *stmt.orelse]:
                for n, line, attr in _reads(part):
                    uses.append(UseFact(n, line, attribute_only=attr))
            for node in _walk_statements(stmt.body):
                # `x += 1` / `del x` would read or unbind the name itself, not its getter's object.
                if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                    counts[node.target.id] += 2
                elif isinstance(node, ast.Delete):
                    for t in node.targets:
                        if isinstance(t, ast.Name):
                            counts[t.id] += 2
            continue
        schema = _schema_target(stmt)
        if schema is not None:
            schemas.append(_schema_fact(stmt, schema))
        for n, line, attr in _reads(stmt):
            uses.append(UseFact(n, line, schema_of=schema, attribute_only=attr))

    # `m.x` reads, through `import m` or `from pkg import m` (the planner keeps those where `m`
    # is a project module): anywhere, and with their lines when they run at import.
    attribute_uses = []
    reads_anywhere = set()
    maybe_modules = {**{k: v for k, v in bindings.items() if v}, **module_aliases}
    for stmt in tree.body:
        at_import = not isinstance(
            stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
        )
        script_only = {id(n) for s in stmt.body for n in ast.walk(s)} if _is_main_guard(stmt) else set()
        for node in ast.walk(stmt):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                d = _dotted(node)
                head, _, rest = (d or "").rpartition(".")
                if d and head in maybe_modules:
                    reads_anywhere.add((maybe_modules[head], rest))
                    if at_import and id(node) not in script_only:
                        attribute_uses.append((maybe_modules[head], rest, node.lineno))
            elif isinstance(node, ast.Global):
                for n in node.names:
                    counts[n] += 2  # `global x` in a function rebinds x
    exported = exports_from_ast(tree)
    return ModuleFacts(
        module=module,
        bindings=tuple(sorted(bindings.items())),
        classes=tuple(classes),
        functions=tuple(functions),
        assigns=tuple(assigns),
        uses=tuple(uses),
        rebound=tuple(sorted(n for n, c in counts.items() if c > 1)),
        all_names=exported.names if exported.literal else None,
        all_computed=exported.computed,
        has_getattr=has_getattr,
        module_aliases=tuple(sorted(module_aliases.items())),
        attribute_uses=tuple(attribute_uses),
        star_imports=tuple(star_imports),
        attribute_reads=tuple(sorted(reads_anywhere)),
        accessors=tuple(accessors),
        schemas=tuple(schemas),
    )


def _accessor_of(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """``def get_x(): return x`` -> ``x``: a plain function that only returns a global."""
    if isinstance(fn, ast.AsyncFunctionDef) or fn.decorator_list or getattr(fn, "type_params", None):
        return None
    a = fn.args
    if a.posonlyargs or a.args or a.vararg or a.kwonlyargs or a.kwarg:
        return None
    body = fn.body
    if len(body) == 2 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            body = body[1:]
    if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Name):
        return body[0].value.id
    return None


def _is_main_guard(stmt: ast.stmt) -> bool:
    """``if __name__ == "__main__":``, as the rewriter recognises it (``_cst.is_main_guard``)."""
    if not (isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Compare)):
        return False
    test = stmt.test
    return (
        isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _walk_statements(body: list[ast.stmt]) -> Iterable[ast.AST]:
    """The nodes of ``body`` that run in its own scope (not in the functions and classes it defines)."""
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))


def _schema_target(stmt: ast.stmt) -> str | None:
    """``X.metadata.create_all(engine)`` / ``(bind=engine)`` -> ``engine``."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in SCHEMA_METHODS):
        return None
    if not (isinstance(func.value, ast.Attribute) and func.value.attr == "metadata"):
        return None
    args = [*call.args, *(k.value for k in call.keywords if k.arg == "bind")]
    if len(args) == 1 and isinstance(args[0], ast.Name):
        return args[0].id
    return None


def _schema_fact(stmt: ast.stmt, engine: str) -> SchemaFact:
    call = stmt.value  # type: ignore[attr-defined]
    owner = _dotted(call.func.value.value) or ""
    return SchemaFact(
        stmt.lineno, engine, owner, tuple(sorted({r[0] for r in _reads(stmt)})),
        len(call.args) + len(call.keywords) == 1, bool(call.keywords),
    )  # fmt: skip


def _class_fact(
    node: ast.ClassDef, bindings: Mapping[str, str] | None = None, module: str | None = None
) -> ClassFact:
    bases = [(_dotted(b) or "").split(".")[-1] for b in node.bases]
    decorators = [_dotted(d.func if isinstance(d, ast.Call) else d) or "" for d in node.decorator_list]
    value_object = (
        any(b in VALUE_BASES or b.endswith(("Error", "Exception")) for b in bases)
        or any(d in VALUE_DECORATORS or d.endswith(".dataclass") for d in decorators)
        # Compared by value: a constant (UUID, Decimal, a date), not a service.
        or any(isinstance(i, ast.FunctionDef) and i.name in ("__eq__", "__hash__") for i in node.body)
    )
    proxy = None
    init_reads: list[str] = []
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.name == "__getattr__":
            proxy = _proxy_target(item)
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            init_reads = sorted(
                {n.id for n in ast.walk(item) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            )
    bindings = bindings or {}
    qualified = []
    for b in node.bases:
        head, _, rest = (_dotted(b) or "").partition(".")
        target = bindings.get(head) or (f"{module}.{head}" if head in bindings and module else None)
        if target:
            qualified.append(f"{target}.{rest}" if rest else target)
    return ClassFact(node.name, node.lineno, proxy, value_object, tuple(init_reads), tuple(qualified))


def _proxy_target(fn: ast.FunctionDef) -> str | None:
    """``def __getattr__(self, name): return getattr(get_x(), name)`` -> ``get_x``."""
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    call = body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "getattr"):
        return None
    if len(call.args) != 2 or not isinstance(call.args[0], ast.Call):
        return None
    inner = call.args[0]
    if inner.args or inner.keywords or not isinstance(inner.func, ast.Name):
        return None
    return inner.func.id


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class Plan:
    """One singleton the project will build lazily (or a proxy whose uses go to its getter)."""

    module: str
    name: str
    getter: str
    #: "build": the assignment becomes a getter; "proxy": reads of ``x.attr`` call the getter.
    kind: str
    line: int
    returns: str | None = None
    #: Lines of module-level schema statements that run in the getter, after building.
    schema_lines: tuple[int, ...] = ()
    #: The defining file (owner of the decision that spans files).
    path: str = ""
    #: The getter is the module's own ``def get_x(): return x``, whose body becomes the build.
    accessor: bool = False
    #: Schema statements of other modules that run in the getter too: (file, line, code).
    remote_schema: tuple[tuple[str, int, str], ...] = ()


@dataclass(frozen=True)
class Blocked:
    module: str
    name: str
    line: int
    reason: str
    #: The chain of lines that explains it: (module, line, what).
    chain: tuple[tuple[str, int, str], ...] = ()


@dataclass(frozen=True)
class ModulePlan:
    """The plan as one module sees it: hashed into that module's cache key."""

    #: Singletons this module defines and builds lazily.
    own: tuple[Plan, ...] = ()
    blocked: tuple[Blocked, ...] = ()
    #: Singletons of other modules this module refers to: (module, name) -> plan.
    imported: tuple[Plan, ...] = ()
    #: This module's schema statements that move into another module's getter:
    #: (the engine's module, its name, the local name the statement reads, line).
    moved_schema: tuple[tuple[str, str, str, int], ...] = ()


@dataclass
class _Candidate:
    module: str
    fact: AssignFact
    kind: str
    getter: str
    returns: str | None
    schema_lines: list[int] = field(default_factory=list)
    remote_schema: list[tuple[str, int, str]] = field(default_factory=list)
    blocked: Blocked | None = None
    #: Other candidates built when this one is: (module, name, line, how)
    builds: list[tuple[str, str, int, str]] = field(default_factory=list)
    accessor: bool = False


def snake_case(name: str) -> str:
    """``SessionLocal`` -> ``session_local``; ``ENGINE`` -> ``engine``."""
    if name.isupper():
        return name.lower()
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("__", "_")


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _pattern_matcher(
    patterns: tuple[str, ...], definitions: Mapping[str, str]
) -> Callable[[str], str | None]:
    """name -> the pattern it is (``sqlmodel.create_engine`` is ``sqlalchemy.create_engine``:
    both are defined at ``sqlalchemy.engine.create.create_engine``), or None."""
    defined = {definitions.get(p, p): p for p in reversed(patterns) if not any(ch in p for ch in "*?[")}

    def match(name: str) -> str | None:
        for candidate in (name, definitions.get(name)):
            if candidate is None:
                continue
            if candidate in defined:
                return defined[candidate]
            if _matches(candidate, patterns):
                return candidate
        return None

    return match


def external_names(
    facts: Mapping[str, ModuleFacts], factories: Iterable[str], cheap: Iterable[str]
) -> set[str]:
    """The names whose definitions the plan asks about: every call a module-level value makes,
    and the patterns' own names."""
    names = {a.callee for f in facts.values() for a in f.assigns if a.callee}
    names |= {p for p in (*factories, *cheap) if not any(ch in p for ch in "*?[")}
    return names


RETURN_TYPES = {
    "sqlalchemy.create_engine": "sqlalchemy.Engine",
    "sqlalchemy.engine.create_engine": "sqlalchemy.Engine",
    "sqlalchemy.orm.sessionmaker": "sqlalchemy.orm.sessionmaker",
    "redis.Redis": "redis.Redis",
    "redis.Redis.from_url": "redis.Redis",
    "redis.from_url": "redis.Redis",
    "sqlite3.connect": "sqlite3.Connection",
    "requests.Session": "requests.Session",
    "httpx.Client": "httpx.Client",
    "httpx.AsyncClient": "httpx.AsyncClient",
}


def plan_project(
    facts: Mapping[str, ModuleFacts],
    rewritten: set[str],
    factories: Iterable[str] = DEFAULT_FACTORIES,
    cheap: Iterable[str] = DEFAULT_CHEAP,
    paths: Mapping[str, str] | None = None,
    definitions: Mapping[str, str] | None = None,
    *,
    heavy_modules: Iterable[str] = (),
    measured: Iterable[tuple[str, int]] = (),
) -> dict[str, ModulePlan]:
    """Decide, for the whole project, which singletons are built lazily.

    ``facts`` maps module names to their facts; ``rewritten`` is the set of modules this run
    rewrites (others still use the old names, which keep working, so they never block).
    A value built by calling into one of ``heavy_modules`` (``torch.jit.load(path)``) is
    expensive by definition, unless that call is among the ``cheap`` ones. ``definitions``
    says where installed packages define the names they re-export: a call matches a pattern
    when it, or its definition, is what the pattern names. A call ``measured`` at import over
    the threshold (``(path, line)`` of its statement, from ``lazify doctor``'s profile) is
    expensive too, unless it is among the ``cheap`` ones.
    """
    factories = tuple(factories)
    cheap = tuple(cheap)
    factory_of = _pattern_matcher(factories, definitions or {})
    is_cheap = _pattern_matcher(cheap, definitions or {})
    heavy = frozenset(heavy_modules)
    slow = frozenset(measured)

    def heavy_call(a: AssignFact) -> str | None:
        for c in a.calls:
            parts = c.split(".")
            if any(".".join(parts[:i]) in heavy for i in range(1, len(parts))) and is_cheap(c) is None:
                return c
        return None

    classes = {
        f"{mod}.{c.name}": c for mod, f in facts.items() for c in f.classes
    }  # fmt: skip
    cands: dict[tuple[str, str], _Candidate] = {}
    for mod, f in facts.items():
        if mod not in rewritten:
            continue
        taken = {n for n, _ in f.bindings}
        for a in f.assigns:
            if a.name == "_":
                continue  # `_ = torch.manual_seed(0)`: kept for its effect, never read
            callee = a.callee
            loads = heavy_call(a)
            # Measured: the call's own name may say nothing (a project function, `build_table()`).
            timed = (
                a.func_text is not None
                and (callee is None or is_cheap(callee) is None)
                and ((paths or {}).get(mod), a.line) in slow
            )
            if loads is None and not timed and (callee is None or is_cheap(callee) is not None):
                continue
            cls = classes.get(callee or "")
            kind = None
            returns = a.annotation
            if cls is not None and cls.proxy_getter:
                owner = callee.rsplit(".", 1)[0]
                if owner == mod and cls.proxy_getter in f.functions:
                    kind = "proxy"
            elif cls is not None and not cls.value_object:
                kind = "build"
                if returns is None and a.func_text and a.func_text.split(".")[0] in taken:
                    returns = a.func_text
            elif (
                (factory := factory_of(callee) if callee is not None else None) is not None
                or loads is not None
                or timed
            ):
                kind = "build"
                returns = returns or RETURN_TYPES.get(factory)
            if kind is None:
                continue
            accessor = False
            if kind == "proxy":
                getter = classes[callee].proxy_getter or ""
            else:
                base = snake_case(a.name.lstrip("_"))
                getter = f"get_{base}" if not a.name.startswith("_") else f"_get_{base}"
                # An accessor the module already has (`def get_x(): return x`, defined once,
                # after x) becomes the getter, so its callers need no change.
                existing = [
                    fn for fn, returned, line in f.accessors
                    if returned == a.name and line > a.line and fn in (f"get_{base}", f"_get_{base}")
                    and fn not in f.rebound
                ]  # fmt: skip
                if existing:
                    getter, accessor = sorted(existing)[-1], True  # `get_x` before `_get_x`
                elif getter in taken:
                    getter += "_lazily"
                if getter in taken and not accessor:
                    continue
            cands[(mod, a.name)] = _Candidate(mod, a, kind, getter, returns, accessor=accessor)

    def block(c: _Candidate, reason: str, chain: tuple[tuple[str, int, str], ...] = ()) -> None:
        if c.blocked is None:
            c.blocked = Blocked(c.module, c.fact.name, c.fact.line, reason, chain)

    def canonical(qualified: str) -> str:
        """Follow imports between project modules (``pkg.models.Base`` -> ``pkg.database.Base``)."""
        seen = set()
        while qualified not in seen:
            seen.add(qualified)
            owner, _, name = qualified.rpartition(".")
            target = facts[owner].binding(name) if owner in facts else None
            if not target:
                break
            qualified = target
        return qualified

    moved: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)

    # Where each candidate is read at import.
    local_names: dict[str, dict[str, tuple[str, str]]] = {}  # module -> local -> (def module, name)
    for mod, f in facts.items():
        m: dict[str, tuple[str, str]] = {}
        for local, target in f.bindings:
            if target and "." in target:
                owner, _, name = target.rpartition(".")
                if (owner, name) in cands:
                    m[local] = (owner, name)
        for name in {a.name for a in f.assigns}:
            if (mod, name) in cands:
                m[name] = (mod, name)
        local_names[mod] = m

    for (mod, name), c in cands.items():
        f = facts[mod]
        if mod == "threading":
            block(c, "the generated getter's lock would make `threading` import itself")
        if name in f.rebound:
            block(c, f"`{name}` is assigned more than once (or declared `global`)")
        changing = sorted(set(_construction_reads(c, f)) & set(f.rebound))
        if changing:
            block(
                c,
                f"building it reads `{changing[0]}`, which the module binds again: built later, it could see another value",
            )
        if f.has_getattr:
            block(c, "the module defines its own `__getattr__`")
        if f.all_computed:
            block(c, "`__all__` is computed, so star-imports may need the name")

    # A module that imports a singleton and passes it on (`__all__`, or a package's
    # `__init__`) would lose the name when its import becomes the getter's: `pkg.site`, and
    # `from pkg import site`, stop working for everyone who uses the package.
    for mod, m in local_names.items():
        if mod not in rewritten:
            continue
        exported = set(facts[mod].all_names or ())
        package = bool(paths) and (paths or {}).get(mod, "").replace("\\", "/").endswith("/__init__.py")
        for local, key in m.items():
            if key[0] == mod or key not in cands:
                continue
            if local in exported:
                block(cands[key], f"{mod} re-exports it in `__all__`")
            elif package and not local.startswith("_"):
                block(cands[key], f"the package {mod} re-exports it (`{mod}.{local}`)")

    for mod, f in facts.items():
        m = local_names.get(mod, {})
        for use in f.uses:
            key = m.get(use.name)
            if key is None or key not in cands:
                continue
            c = cands[key]
            if c.kind == "proxy":
                continue  # a proxy is cheap; its uses at import stay as they are
            if use.in_assign is not None and use.in_assign == key[1] and mod == key[0]:
                continue  # its own definition
            if use.schema_of == use.name and mod == key[0]:
                c.schema_lines.append(use.line)
                continue
            if mod not in rewritten:
                continue  # old names keep working there; only laziness is lost
            if use.schema_of == use.name and c.kind == "build":
                code, why = _remote_schema(facts, mod, use, key, canonical)
                if code is not None:
                    c.remote_schema.append(((paths or {}).get(mod, mod), use.line, code))
                    moved[mod].append((key[0], key[1], use.name, use.line))
                    continue
                block(
                    c,
                    f"its schema work on line {use.line} of {mod} can't run in its getter: {why}",
                    ((mod, use.line, "schema work at import"),),
                )
                continue
            if use.in_assign is not None and (mod, use.in_assign) in cands:
                cands[(mod, use.in_assign)].builds.append((key[0], key[1], use.line, "its value reads it"))
                continue
            block(c, f"read at import on line {use.line} of {mod}", ((mod, use.line, "read at import"),))
        for owner, name, line in f.attribute_uses:
            c = cands.get((owner, name))
            if c is not None and c.kind == "build" and mod in rewritten:
                block(c, f"read at import on line {line} of {mod}", ((mod, line, "read at import"),))

    # A star-import copies only names that exist: without `__all__` the old name would be lost.
    for mod, f in facts.items():
        for target, line in f.star_imports:
            if target in facts and facts[target].all_names is None:
                for (m2, name), c in cands.items():
                    if m2 == target and not name.startswith("_"):
                        block(
                            c,
                            f"{mod} star-imports this module (line {line}), which has no `__all__`",
                            ((mod, line, "star import"),),
                        )
    # Constructors that read singletons build them when they run.
    for (mod, name), c in cands.items():
        cls = classes.get(c.fact.callee or "")
        if cls is None:
            continue
        owner = (c.fact.callee or "").rsplit(".", 1)[0]
        for read in cls.init_reads:
            key = local_names.get(owner, {}).get(read)
            if key is not None and key in cands and key != (mod, name):
                c.builds.append((key[0], key[1], cls.line, f"`{cls.name}.__init__` reads it"))

    # A candidate that is built at import anyway takes what it builds with it.
    changed = True
    while changed:
        changed = False
        for c in cands.values():
            if c.blocked is None:
                continue
            for owner, name, line, how in c.builds:
                d = cands.get((owner, name))
                if d is None or d.blocked is not None or d.kind == "proxy":
                    continue
                chain = (
                    *c.blocked.chain,
                    (c.module, c.fact.line, f"`{c.fact.name}` stays eager"),
                    (owner, line, how),
                )
                block(d, f"built at import anyway: `{c.fact.name}` stays eager and {how}", chain)
                changed = True

    out: dict[str, ModulePlan] = {}
    plans = {
        k: Plan(
            c.module,
            c.fact.name,
            c.getter,
            c.kind,
            c.fact.line,
            _returns(c),
            tuple(sorted(c.schema_lines)),
            (paths or {}).get(c.module, c.module),
            c.accessor,
            remote_schema=tuple(c.remote_schema),
        )
        for k, c in cands.items()
        if c.blocked is None
    }
    for mod, f in facts.items():
        own = tuple(p for (m2, _), p in sorted(plans.items()) if m2 == mod)
        blocked = tuple(c.blocked for (m2, _), c in sorted(cands.items()) if m2 == mod and c.blocked)  # type: ignore[misc]
        refs = {v for v in local_names.get(mod, {}).values() if v[0] != mod and v in plans}
        refs |= {(o, n) for o, n, _ in f.attribute_uses if (o, n) in plans}
        imported = tuple(plans[k] for k in sorted(refs))
        # Plans read through module aliases (`import m` / `from pkg import m`; `m.x` in functions).
        extra = tuple(
            plans[k]
            for k in sorted(set(f.attribute_reads))
            if k in plans and k[0] != mod and plans[k] not in imported
        )
        gone = tuple(m for m in moved.get(mod, ()) if (m[0], m[1]) in plans)
        if own or blocked or imported or extra or gone:
            out[mod] = ModulePlan(own, blocked, imported + extra, gone)  # type: ignore[arg-type]
    return out


def _remote_schema(
    facts: Mapping[str, ModuleFacts],
    mod: str,
    use: UseFact,
    key: tuple[str, str],
    canonical: Callable[[str], str],
) -> tuple[str | None, str]:
    """The code that runs ``mod``'s schema statement in the getter of ``key`` (its engine, in
    another module), or None and why it can't: everything the statement names must be reached
    from the engine's module, and the modules that define the models must be imported, at import,
    by ``mod`` (they are, by then, when the engine is first built)."""
    f = facts[mod]
    sf = next((x for x in f.schemas if x.line == use.line and x.engine == use.name), None)
    if sf is None or not sf.owner:
        return None, "it is not a plain `X.metadata.create_all(engine)`"
    if not sf.only_argument:
        return None, "it passes more than the engine"
    head, _, rest = sf.owner.partition(".")
    other = sorted(set(sf.reads) - {head, sf.engine})
    if other:
        return None, f"it also reads `{other[0]}`"
    target = f.binding(head) or dict(f.module_aliases).get(head)
    if not target:
        return None, f"`{head}` is not imported by {mod}"
    owner = canonical(f"{target}.{rest}" if rest else target)
    engine_mod = key[0]
    local = next(
        (name for name, _ in facts[engine_mod].bindings if canonical(f"{engine_mod}.{name}") == owner),
        None,
    )
    if local is None:
        return None, f"`{sf.owner}` can't be reached from {engine_mod}, which neither defines nor imports it"
    # The models: classes whose bases lead to the owner, in any module.
    mapped = {owner}
    changed = True
    while changed:
        changed = False
        for m, mf in facts.items():
            for cls in mf.classes:
                q = f"{m}.{cls.name}"
                if q not in mapped and any(canonical(b) in mapped for b in cls.bases):
                    mapped.add(q)
                    changed = True
    model_modules = sorted({q.rpartition(".")[0] for q in mapped - {owner}})
    imported = _imported_at_import(facts, mod)
    missing = [m for m in model_modules if m not in imported]
    if missing:
        return None, f"{missing[0]} defines models of `{sf.owner}` and {mod} does not import it at import"
    return f"{local}.metadata.create_all({'bind=' if sf.keyword else ''}instance)", ""


def _imported_at_import(facts: Mapping[str, ModuleFacts], mod: str) -> set[str]:
    """The project modules importing ``mod`` imports, directly or through the modules it imports."""
    seen = {mod}
    todo = [mod]
    while todo:
        f = facts.get(todo.pop())
        if f is None:
            continue
        targets = [t for _, t in f.bindings if t] + [t for _, t in f.module_aliases]
        for t in targets:
            for m in (t, t.rpartition(".")[0]):
                parts = m.split(".")
                for i in range(1, len(parts) + 1):  # a package's __init__ runs first
                    p = ".".join(parts[:i])
                    if p in facts and p not in seen:
                        seen.add(p)
                        todo.append(p)
    return seen


def _construction_reads(c: _Candidate, f: ModuleFacts) -> tuple[str, ...]:
    """Module-level names building the object reads: its value's, and the ``__init__`` of a
    class defined in the same module."""
    reads = c.fact.reads
    if c.fact.callee and f.module and c.fact.callee.startswith(f.module + "."):
        cls = c.fact.callee[len(f.module) + 1 :]
        for k in f.classes:
            if k.name == cls:
                reads += k.init_reads
    return reads


def _returns(c: _Candidate) -> str | None:
    if c.kind == "proxy":
        return None
    if c.returns:
        return c.returns
    return RETURN_TYPES.get(c.fact.callee or "")
