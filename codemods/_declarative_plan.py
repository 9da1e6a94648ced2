"""declarative-base, stages 1 and 2: per-file facts (``ast``) and the project-wide plan.

Whether ``Base = declarative_base()`` can become ``class Base(DeclarativeBase)`` without
changing anything depends on every module: which classes are mapped on the base (its
subclasses, in any module), and whether any code looks at what changes (the metaclass, the
``__init_subclass__`` hook that maps the classes, the base's own attributes). Those questions
are answered here, once, from facts the engine extracts (and caches) per file. Pure functions:
no I/O.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from codemods._api import resolve_relative
from codemods._singleton_facts import dotted as _dotted

FACTORIES = frozenset({"sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base"})
#: Names of the legacy metaclass: code that names it checks for it, or builds on it.
METACLASS_NAMES = frozenset({"DeclarativeMeta"})
#: Calls that only compare classes: passing the base to them looks at nothing that changes.
COMPARING = frozenset({"isinstance", "issubclass"})
#: Calls that read a class's annotations, which gain `DeclarativeBase`'s own.
HINT_READERS = frozenset({"get_type_hints", "get_annotations"})


@dataclass(frozen=True)
class ClassInfo:
    name: str
    line: int
    #: The bases as qualified names (``pkg.db.Base``), as far as this module can tell.
    bases: tuple[str, ...]
    #: ``__init_subclass__`` defined without passing the call on to ``super()``.
    init_subclass: bool = False
    metaclass: bool = False


@dataclass(frozen=True)
class DeclarativeFacts:
    module: str | None
    #: Module-level ``X = declarative_base(...)``: (name, line).
    bases: tuple[tuple[str, int], ...] = ()
    #: Imports: local name -> qualified name.
    bindings: tuple[tuple[str, str], ...] = ()
    classes: tuple[ClassInfo, ...] = ()
    #: Lines that name the legacy metaclass.
    metaclass_names: tuple[int, ...] = ()
    #: (qualified name, line, what) of code that looks at what changes: ``type(X)``,
    #: ``X.__class__``, ``X.__abstract__``, ``get_type_hints(X)``, ``X`` passed to a call.
    inspections: tuple[tuple[str, int, str], ...] = ()


def extract_facts(tree: ast.Module, module: str | None, is_package: bool) -> DeclarativeFacts:
    bindings: dict[str, str] = {}
    local: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                bindings[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(stmt, ast.ImportFrom):
            base = resolve_relative(module, is_package, stmt.level, stmt.module)
            for a in stmt.names:
                if base is not None and a.name != "*":
                    bindings[a.asname or a.name] = f"{base}.{a.name}"
        elif isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            local.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            local.update(t.id for t in stmt.targets if isinstance(t, ast.Name))

    def qualify(node: ast.expr) -> str | None:
        name = _dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in bindings:
            target = bindings[head]
        elif head in local and module:
            target = f"{module}.{head}"
        else:
            return None
        return f"{target}.{rest}" if rest else target

    bases: list[tuple[str, int]] = []
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)
            and qualify(stmt.value.func) in FACTORIES
        ):
            bases.append((stmt.targets[0].id, stmt.lineno))

    classes: list[ClassInfo] = []
    metaclass_names: list[int] = []
    inspections: list[tuple[str, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            qualified = tuple(q for b in node.bases if (q := qualify(b)) is not None)
            classes.append(
                ClassInfo(
                    node.name, node.lineno, qualified,
                    init_subclass=any(_overrides_init_subclass(s) for s in node.body),
                    metaclass=any(k.arg == "metaclass" for k in node.keywords),
                )
            )  # fmt: skip
        elif isinstance(node, ast.Name) and node.id in METACLASS_NAMES:
            metaclass_names.append(node.lineno)
        elif isinstance(node, ast.Attribute):
            if node.attr in METACLASS_NAMES:
                metaclass_names.append(node.lineno)
            elif node.attr in ("__class__", "__abstract__") and (q := qualify(node.value)):
                inspections.append((q, node.lineno, f"`{_dotted(node)}`"))
        elif isinstance(node, ast.ImportFrom) and any(a.name in METACLASS_NAMES for a in node.names):
            metaclass_names.append(node.lineno)
        elif isinstance(node, ast.Call):
            func = _dotted(node.func) or ""
            short = func.rpartition(".")[2]
            args = [*node.args, *(k.value for k in node.keywords)]
            if short == "type" and len(node.args) == 1 and (q := qualify(node.args[0])):
                inspections.append((q, node.lineno, f"`type({_dotted(node.args[0])})`"))
            elif short in HINT_READERS and node.args and (q := qualify(node.args[0])):
                inspections.append((q, node.lineno, f"`{short}({_dotted(node.args[0])})`"))
            elif short not in COMPARING:
                for a in args:
                    if isinstance(a, ast.Name) and (q := qualify(a)):
                        inspections.append((q, node.lineno, f"passed to `{func or 'a call'}(...)`"))
    return DeclarativeFacts(
        module=module,
        bases=tuple(bases),
        bindings=tuple(sorted(bindings.items())),
        classes=tuple(classes),
        metaclass_names=tuple(sorted(set(metaclass_names))),
        inspections=tuple(inspections),
    )


def _overrides_init_subclass(stmt: ast.stmt) -> bool:
    """``def __init_subclass__`` that never calls ``super().__init_subclass__``."""
    if not (isinstance(stmt, ast.FunctionDef) and stmt.name == "__init_subclass__"):
        return False
    for node in ast.walk(stmt):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "__init_subclass__"
            and isinstance(node.value, ast.Call)
            and _dotted(node.value.func) == "super"
        ):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class BasePlan:
    """One declarative base and what, in the project, the new class would change for."""

    name: str
    line: int
    #: (file, line, why): each a reason the rewrite is unsafe.
    problems: tuple[tuple[str, int, str], ...] = ()
    #: How many classes, in how many modules, are mapped on it.
    mapped: int = 0


@dataclass(frozen=True)
class ModulePlan:
    bases: tuple[BasePlan, ...] = ()

    def base(self, name: str) -> BasePlan | None:
        return next((b for b in self.bases if b.name == name), None)


def plan_project(facts: Mapping[str, DeclarativeFacts], paths: Mapping[str, str]) -> dict[str, ModulePlan]:
    """For each module that builds a declarative base, its base's mapped classes and problems
    (``paths``: module -> file, for the report)."""
    facts = dict(sorted(facts.items()))  # in module order, whatever order they came in
    bindings = {mod: dict(f.bindings) for mod, f in facts.items()}

    def canonical(qualified: str) -> str:
        """Follow re-exports between project modules (``pkg.Base`` -> ``pkg.db.Base``)."""
        seen = set()
        while qualified not in seen:
            seen.add(qualified)
            mod, _, name = qualified.rpartition(".")
            target = bindings.get(mod, {}).get(name)
            if target is None:
                break
            qualified = target
        return qualified

    bases = {f"{mod}.{name}": (mod, name, line) for mod, f in facts.items() for name, line in f.bases}
    if not bases:
        return {}
    # Every class mapped on a base, directly or through other mapped classes, in any module.
    classes = [(mod, c, [canonical(b) for b in c.bases]) for mod, f in facts.items() for c in f.classes]
    root_of: dict[str, str] = {}  # qualified class -> its base
    changed = True
    while changed:
        changed = False
        for mod, c, cbases in classes:
            q = f"{mod}.{c.name}"
            if q in root_of:
                continue
            for b in cbases:
                root = b if b in bases else root_of.get(b)
                if root is not None:
                    root_of[q] = root
                    changed = True
                    break
    problems: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    mapped: dict[str, int] = defaultdict(int)
    for mod, c, _ in classes:
        root = root_of.get(f"{mod}.{c.name}")
        if root is None:
            continue
        mapped[root] += 1
        if c.init_subclass:
            problems[root].append(
                (
                    mod,
                    c.line,
                    f"`{c.name}` defines `__init_subclass__` without calling `super()`'s, and `DeclarativeBase` maps classes in its `__init_subclass__`",
                )
            )
        if c.metaclass:
            problems[root].append(
                (mod, c.line, f"`{c.name}` sets its own metaclass, which must derive from the base's")
            )
    for mod, f in sorted(facts.items()):
        for line in f.metaclass_names[:1]:  # the first place in each module says it
            for root in bases:
                problems[root].append(
                    (mod, line, "`DeclarativeMeta` is named here, and the base's metaclass is no longer it")
                )
        for target, line, how in f.inspections:
            target = canonical(target)
            if target in bases:
                if how.startswith("passed to"):
                    why = f"`{bases[target][1]}` is {how} here, which may look at its metaclass"
                else:
                    why = f"{how} looks at what changes: the metaclass, inherited attributes or annotations"
                problems[target].append((mod, line, why))
            elif target in root_of and not how.startswith("passed to"):
                problems[root_of[target]].append(
                    (
                        mod,
                        line,
                        f"{how} looks at a mapped class's metaclass, inherited attributes or annotations",
                    )
                )
    out: dict[str, ModulePlan] = {}
    for q, (mod, name, line) in sorted(bases.items()):
        found = sorted({(paths.get(m, m), n, why) for m, n, why in problems.get(q, ())})
        plan = BasePlan(name, line, tuple(found), mapped.get(q, 0))
        out[mod] = ModulePlan((*out.get(mod, ModulePlan()).bases, plan))
    return out
