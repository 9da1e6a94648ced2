"""lazy-singletons, stage 1: the facts of one file, read with the standard library's ``ast``
(cached per file by the engine): what each module-level statement binds, builds, reads and
calls, its classes, accessors and schema work. :mod:`codemods._singleton_plan` decides from the
facts of every file. Pure functions: no I/O.
"""

from __future__ import annotations

import ast
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from codemods._api import resolve_relative
from codemods._exports import exports_from_ast

#: lazy-singletons' code, here because this module needs no LibCST (nor does the codemod's class).
CODE = "LZY002"

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
        for node in _attributes_and_globals(stmt):
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


#: What can't hold an ``Attribute`` or a ``Global``, nor anything below it: names, constants,
#: and the shared context and operator objects (``Load()``, ``Add()``), a third of all nodes.
_LEAVES = (ast.Name, ast.Constant, ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


def _attributes_and_globals(node: ast.AST) -> Iterator[ast.Attribute | ast.Global]:
    """The ``Attribute`` and ``Global`` nodes below ``node`` (itself included), in
    ``ast.walk``'s order (breadth first, children in field order). The walk leaves out the
    leaves that can't be either: a leaf has nothing below it, so leaving it out moves no other
    node in the order. The index runs this over every statement of every file."""
    todo = deque([node])
    pop, extend, append = todo.popleft, todo.extend, todo.append
    AST, leaves, wanted = ast.AST, _LEAVES, (ast.Attribute, ast.Global)
    while todo:
        node = pop()
        if isinstance(node, wanted):
            yield node  # type: ignore[misc]
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, AST):
                if not isinstance(value, leaves):
                    append(value)
            elif isinstance(value, list):
                extend([item for item in value if isinstance(item, AST) and not isinstance(item, leaves)])


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
