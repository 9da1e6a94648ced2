"""``global_scope_for`` runs LibCST's ``ScopeProvider`` over only the statements that mention the
names asked about; for those names it must find exactly what the whole-module analysis finds."""

from __future__ import annotations

import contextlib
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ScopeProvider

from codemods._cst import global_scope_for

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
