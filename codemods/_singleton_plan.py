"""lazy-singletons, stage 2b: the project-wide plan, from every file's facts
(:mod:`codemods._singleton_facts`) and the candidates (:mod:`codemods._singleton_candidates`).

Whether a module-level object can be built lazily depends on every other module: who imports
it, who uses it while being imported, whose constructor uses it. Those questions are answered
here, once, so that the module that defines a singleton and every module that refers to it
agree on the same plan. Pure functions: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from codemods._singleton_candidates import Candidate, find_candidates, return_type
from codemods._singleton_facts import (
    ModuleFacts,
    UseFact,
)
from codemods.options import DEFAULT_CHEAP, DEFAULT_FACTORIES

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
class BlockedSingleton:
    """A singleton the cross-file plan refuses, with the reason and the chain of lines behind it."""

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
    blocked: tuple[BlockedSingleton, ...] = ()
    #: Singletons of other modules this module refers to: (module, name) -> plan.
    imported: tuple[Plan, ...] = ()
    #: This module's schema statements that move into another module's getter:
    #: (the engine's module, its name, the local name the statement reads, line).
    moved_schema: tuple[tuple[str, str, str, int], ...] = ()
    #: Singletons this package imports and passes on, kept built at import for that: (local
    #: name, qualified name). Its imports of them must stay at module level too, or the next
    #: run would find the reason gone (:meth:`ProjectView.passed_on`).
    passed_on: tuple[tuple[str, str], ...] = ()
    #: Singletons this module imports and passes on, answered from its ``__getattr__`` with
    #: their getters: (local name, qualified name).
    forwards: tuple[tuple[str, str], ...] = ()


def external_names(
    facts: Mapping[str, ModuleFacts], factories: Iterable[str], cheap: Iterable[str]
) -> set[str]:
    """The names whose definitions the plan asks about: every call a module-level value makes,
    and the patterns' own names."""
    names = {a.callee for f in facts.values() for a in f.assigns if a.callee}
    names |= {p for p in (*factories, *cheap) if not any(ch in p for ch in "*?[")}
    return names


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
    # In module order, whatever order the facts came in (the engine's workers finish in any
    # order): when several reasons block a singleton, the one reported is the same every run.
    facts = dict(sorted(facts.items()))
    cands, classes = find_candidates(
        facts, rewritten, factories, cheap, paths, definitions, heavy_modules, measured
    )
    blocked: dict[tuple[str, str], BlockedSingleton] = {}

    def block(c: Candidate, reason: str, chain: tuple[tuple[str, int, str], ...] = ()) -> None:
        blocked.setdefault(
            (c.module, c.fact.name), BlockedSingleton(c.module, c.fact.name, c.fact.line, reason, chain)
        )

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
    # `__init__`) keeps the name for everyone who uses it (`pkg.engine`, `from pkg import
    # engine`) by answering it from its own `__getattr__`, with the getter: it *forwards* it.
    # Where it can't (it has a `__getattr__` of its own, or a computed `__all__`), the
    # singleton stays built at import, and a package keeps importing it (`passed_on`).
    passed_on: dict[str, list[tuple[str, str]]] = defaultdict(list)
    #: module -> (local name, singleton, whether a package passes it on outside `__all__`)
    forwards: dict[str, list[tuple[str, tuple[str, str], bool]]] = defaultdict(list)
    for mod, m in local_names.items():
        if mod not in rewritten:
            continue
        f = facts[mod]
        exported = set(f.all_names or ())
        package = bool(paths) and (paths or {}).get(mod, "").replace("\\", "/").endswith("/__init__.py")
        names_of: dict[tuple[str, str], list[str]] = defaultdict(list)
        for local, key in m.items():
            names_of[key].append(local)
        for local, key in m.items():
            if key[0] == mod or key not in cands:
                continue
            if local in exported:
                how = f"{mod} re-exports it in `__all__`"
            elif package and not local.startswith("_"):
                how = f"the package {mod} re-exports it (`{mod}.{local}`)"
            else:
                continue
            if f.has_getattr or f.all_computed or len(names_of[key]) > 1:
                why = (
                    "has its own `__getattr__`" if f.has_getattr
                    else "has a computed `__all__`" if f.all_computed
                    else f"imports it under two names (`{'`, `'.join(sorted(names_of[key]))}`)"
                )  # fmt: skip
                block(cands[key], f"{how} and {why}, so it can't answer the old name")
                if local not in exported:
                    passed_on[mod].append((local, f"{key[0]}.{key[1]}"))
            else:
                forwards[mod].append((local, key, local not in exported))

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
                # A module that passes it on loses the name the same way.
                for local, key, _ in forwards.get(target, ()):
                    if not local.startswith("_"):
                        block(
                            cands[key],
                            f"{mod} star-imports {target} (line {line}), which passes it on and has no `__all__`",
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
            why = blocked.get((c.module, c.fact.name))
            if why is None:
                continue
            for owner, name, line, how in c.builds:
                d = cands.get((owner, name))
                if d is None or (owner, name) in blocked or d.kind == "proxy":
                    continue
                chain = (
                    *why.chain,
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
            return_type(c),
            tuple(sorted(c.schema_lines)),
            (paths or {}).get(c.module, c.module),
            c.accessor,
            remote_schema=tuple(c.remote_schema),
        )
        for k, c in cands.items()
        if k not in blocked
    }
    for mod, f in facts.items():
        own = tuple(p for (m2, _), p in sorted(plans.items()) if m2 == mod)
        stopped = tuple(blocked[k] for k in sorted(cands) if k[0] == mod and k in blocked)
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
        # A forwarded singleton blocked for another reason stays built at import: the package
        # keeps importing it (and heavy-imports must leave that import where it is).
        kept = [
            (local, f"{k[0]}.{k[1]}") for local, k, pkg in forwards.get(mod, ()) if pkg and k not in plans
        ]
        passes = tuple(sorted([*passed_on.get(mod, ()), *kept]))
        sends = tuple(
            sorted((local, f"{k[0]}.{k[1]}") for local, k, _ in forwards.get(mod, ()) if k in plans)
        )
        if own or stopped or imported or extra or gone or passes or sends:
            out[mod] = ModulePlan(own, stopped, imported + extra, gone, passes, sends)  # type: ignore[arg-type]
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


def _construction_reads(c: Candidate, f: ModuleFacts) -> tuple[str, ...]:
    """Module-level names building the object reads: its value's, and the ``__init__`` of a
    class defined in the same module."""
    reads = c.fact.reads
    if c.fact.callee and f.module and c.fact.callee.startswith(f.module + "."):
        cls = c.fact.callee[len(f.module) + 1 :]
        for k in f.classes:
            if k.name == cls:
                reads += k.init_reads
    return reads
