"""``global_scope_for`` runs LibCST's ``ScopeProvider`` over only the statements that mention the
names asked about; for those names it must find exactly what the whole-module analysis finds."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ScopeProvider

from codemods._scope_slice import global_scope_for

TRICKY = """\
from __future__ import annotations
import sqlite3

__all__ = ["conn", "helper"]
conn = sqlite3.connect(":memory:")


def helper(x: "conn") -> conn:
    global conn
    conn = x
    del conn


class Box:
    conn = 1
    other = conn
    def m(self, conn=conn):
        return [conn for conn in range(3)], conn

    def n(self):
        return conn


def shadow():
    conn = 2
    def inner():
        nonlocal conn
        return conn
    return inner


def long(factory):
    a = 1
    b = a + 1
    print(conn)
    c = b
    mine = factory(c)
    return mine


def later(conn):
    x = 1
    print(conn)
    y = x
    conn = y
    return conn


def before_and_after():
    print(conn)
    q = 1
    r = q
    conn = r
    return conn


class Outer:
    x = 1

    def unrelated(self):
        return self.x

    class Inner:
        y = 2

        def uses(self):
            z = 3
            return conn, z

        def other(self):
            return self.y

    def conn(self):
        w = 1
        return w


values = [(y := conn) for _ in range(2)]
lam = lambda conn=conn: conn
print(f"{conn!r}", y, lam)
match conn:
    case {"conn": conn}:
        pass
"""

# LibCST reads the string in `cast(...)` as a type hint only when it resolves `cast` to
# `typing.cast`: the import that binds it names no name asked about, and must stay in the slice.
HINTS = """\
import typing as t
from typing import Dict, Tuple


def local(x):
    from typing import cast

    return cast("Tuple[str, str]", x)


def attribute(x):
    return t.cast("Dict[str, int]", x)
"""


def _facts(scope, name: str) -> tuple[set[int], set[int]]:
    assigned = {id(getattr(a, "node", None)) for a in scope.assignments[name]}
    accessed = {id(acc.node) for a in scope.assignments[name] for acc in a.references}
    return assigned, accessed


def _assert_same(source: str, names: list[str]) -> None:
    module = cst.parse_module(source)
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)[module]
    for name in names:
        sliced = global_scope_for(module, [name])
        assert _facts(sliced, name) == _facts(whole, name), name
    together = global_scope_for(module, names)
    for name in names:
        assert _facts(together, name) == _facts(whole, name), name


def test_tricky_scoping_finds_the_same_assignments_and_accesses() -> None:
    _assert_same(TRICKY, ["conn", "helper", "Box", "values", "lam", "y", "sqlite3", "Outer", "long", "later"])
    # The bodies of the functions and classes that mention a name are cut down too.
    from codemods._scope_slice import Slice

    module = cst.parse_module(TRICKY)
    sliced = Slice(module, ["conn"], module.code_for_node)
    assert len(sliced.skipped) >= 8
    kept = cst.Module(body=sliced.body).code
    assert "def uses(self):" in kept and "def unrelated" not in kept and "w = 1" in kept


def test_a_string_read_through_cast_is_found_where_cast_is_imported() -> None:
    module = cst.parse_module(HINTS)
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)[module]
    assert len(_facts(whole, "Tuple")[1]) == 1 and len(_facts(whole, "Dict")[1]) == 1
    _assert_same(HINTS, ["Tuple", "Dict"])


@pytest.mark.parametrize("mod", [contextlib, textwrap], ids=lambda m: m.__name__)
def test_real_modules_find_the_same_assignments_and_accesses(mod) -> None:
    source = Path(mod.__file__).read_text(encoding="utf-8")
    module = cst.parse_module(source)
    whole = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)[module]
    names = sorted({a.name for a in whole.assignments})
    assert len(names) > 10
    _assert_same(source, names)


def _sliced_tree_agrees(source: str, names: list[str]) -> int:
    """SlicedTree's parents and order are the whole module's, inside the slice and outside it
    (where it falls back to the whole module's maps). Returns how many nodes the slice held."""
    from codemods._cst import parent_map
    from codemods._scope_slice import Slice, SlicedTree

    module = cst.parse_module(source)
    parents = parent_map(module)
    order = {node: i for i, node in enumerate(parents)}
    sliced = Slice(module, names, module.code_for_node)
    asked_full = []

    def full():  # type: ignore[no-untyped-def]
        asked_full.append(True)
        return parents, order

    tree = SlicedTree(module, sliced.picked, full, sliced.skipped)
    inside = [n for n in parents if n in tree._parents]
    for node in inside:
        assert tree.get(node) is parents[node]
    assert not asked_full, "nothing inside the slice needs the whole module's maps"
    held = [_Holder(n) for n in reversed(inside)]
    assert [h.node for h in tree.in_source_order(held)] == inside
    outside = [n for n in parents if n not in tree._parents]
    assert outside, "the slice must leave some statements out, or the fallback goes untested"
    assert tree.get(outside[-1]) is parents[outside[-1]] and asked_full
    mixed = [_Holder(outside[-1]), *held]
    assert [h.node for h in tree.in_source_order(mixed)] == sorted(
        [h.node for h in mixed], key=lambda n: order[n]
    )
    assert tree.get(module) is None
    return len(inside)


class _Holder:
    """What scope analysis hands out: something with a ``node``."""

    def __init__(self, node: cst.CSTNode) -> None:
        self.node = node


def test_the_sliced_tree_answers_as_the_whole_module_does() -> None:
    assert _sliced_tree_agrees(TRICKY, ["conn"]) > 10
    source = Path(textwrap.__file__).read_text(encoding="utf-8")
    assert _sliced_tree_agrees(source, ["_whitespace_only_re", "TextWrapper"]) > 10


def test_the_sliced_tree_sorts_nodes_as_the_whole_module_does() -> None:
    from codemods._cst import parent_map
    from codemods._scope_slice import SlicedTree, statements_naming

    module = cst.parse_module(TRICKY)
    parents = parent_map(module)
    order = {node: i for i, node in enumerate(parents)}
    tree = SlicedTree(module, statements_naming(module, ["conn"]), lambda: (parents, order))
    inside = [n for n in parents if n in tree._parents]
    outside = [n for n in parents if n not in tree._parents]
    assert tree.sort_nodes(inside[::-1]) == inside
    mixed = [outside[0], *inside[::-1][:50], outside[-1]]
    assert tree.sort_nodes(mixed) == sorted(mixed, key=lambda n: order[n])


# heavy-imports looks its bindings up in a sliced scope (``Analyzer._looked_up``): its findings,
# diffs and output must be what the whole module's scope gives. Standard-library modules, with
# the modules they import made heavy, exercise it on real code.
HEAVY_EVERYWHERE = frozenset(
    "os sys re io abc ast time types typing warnings functools itertools collections contextlib "
    "string struct enum copy math threading subprocess tempfile weakref operator errno socket "
    "codecs dataclasses json email importlib textwrap shutil stat inspect traceback".split()
)
REAL = ["contextlib", "textwrap", "string", "tempfile"]
FIXTURES = Path(__file__).parent / "fixtures" / "heavy_imports"


def _heavy_sources() -> list[tuple[str, str, frozenset[str]]]:
    from codemods.options import DEFAULT_HEAVY_MODULES

    out = [
        (p.name, p.read_text(encoding="utf-8"), frozenset(DEFAULT_HEAVY_MODULES))
        for p in sorted(FIXTURES.rglob("*.py"))
        if not p.name.endswith(".expected.py")
    ]
    for name in REAL:
        path = Path(__import__(name).__file__)
        out.append((name, path.read_text(encoding="utf-8"), HEAVY_EVERYWHERE))
    out.append(("tricky", TRICKY, frozenset({"sqlite3"})))
    out.append(("hints", HINTS, frozenset({"typing"})))
    return out


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_heavy_imports_on_a_sliced_scope_finds_and_writes_what_the_whole_scope_does(
    unsafe: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codemods._api import ProjectView, Settings
    from codemods._heavy_imports.analysis import Analyzer
    from lazifier.transform import Policy, transform

    def run(text: str, heavy: frozenset[str]):  # type: ignore[no-untyped-def]
        settings = Settings(heavy_modules=heavy, target_version=(3, 10))
        r = transform(text, "m.py", "m", settings, ("LZY001",), ProjectView("m"), Policy(unsafe_fixes=unsafe),
                      change_diffs=True)  # fmt: skip
        return r.error, r.new_text, [(c.finding, c.diff, c.applied) for c in r.changes]

    sources = _heavy_sources()
    sliced = [run(text, heavy) for _, text, heavy in sources]
    with monkeypatch.context() as m:
        m.setattr(Analyzer, "_looked_up", lambda self: None)  # the whole module's scope
        whole = [run(text, heavy) for _, text, heavy in sources]
    for (name, _, _), a, b in zip(sources, sliced, whole):
        assert a == b, name
    changed = sum(1 for _, new, _ in sliced if new is not None)
    assert changed >= 10, "the comparison must cover real rewrites"
