"""lazy-singletons, stage 2a: the candidates, from every file's facts
(:mod:`codemods._singleton_facts`): the module-level values that are expensive to build (a
factory's call, a call into a heavy module, a class the project defines, a statement measured
over the threshold) and the getter each would get. Whether each one can be built lazily is
decided after, by the plan (:mod:`codemods._singleton_plan`). Pure functions: no I/O.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from codemods._singleton_facts import AssignFact, ClassFact, ModuleFacts

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


@dataclass
class Candidate:
    """A module-level value that is expensive to build, with the getter it would get."""

    module: str
    fact: AssignFact
    kind: str
    getter: str
    returns: str | None
    schema_lines: list[int] = field(default_factory=list)
    remote_schema: list[tuple[str, int, str]] = field(default_factory=list)
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
    """``fnmatch.fnmatchcase`` against any of ``patterns``, as one regular expression."""
    return _glob_regex(tuple(patterns)).match(name) is not None


@functools.lru_cache(maxsize=16)
def _glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or "(?!)")


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


def find_candidates(
    facts: Mapping[str, ModuleFacts],
    rewritten: set[str],
    factories: Iterable[str],
    cheap: Iterable[str],
    paths: Mapping[str, str] | None,
    definitions: Mapping[str, str] | None,
    heavy_modules: Iterable[str],
    measured: Iterable[tuple[str, int]],
) -> tuple[dict[tuple[str, str], Candidate], dict[str, ClassFact]]:
    """The candidates of the modules this run rewrites, by (module, name), and the project's
    classes by qualified name (the plan asks about their constructors)."""
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
    cands: dict[tuple[str, str], Candidate] = {}
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
            cands[(mod, a.name)] = Candidate(mod, a, kind, getter, returns, accessor=accessor)

    return cands, classes


def return_type(c: Candidate) -> str | None:
    if c.kind == "proxy":
        return None
    if c.returns:
        return c.returns
    return RETURN_TYPES.get(c.fact.callee or "")
