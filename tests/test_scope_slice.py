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


values = [(y := conn) for _ in range(2)]
lam = lambda conn=conn: conn
print(f"{conn!r}", y, lam)
match conn:
    case {"conn": conn}:
        pass
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
    _assert_same(TRICKY, ["conn", "helper", "Box", "values", "lam", "y", "sqlite3"])


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
    from codemods._scope_slice import SlicedTree, statements_naming

    module = cst.parse_module(source)
    parents = parent_map(module)
    order = {node: i for i, node in enumerate(parents)}
    picked = statements_naming(module, names)
    asked_full = []

    def full():  # type: ignore[no-untyped-def]
        asked_full.append(True)
        return parents, order

    tree = SlicedTree(module, picked, full)
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
