"""Failures of ``make sweep-packages`` (issue 10) reduced to a few lines of our own, through
the pure transform: each one was an internal error, a second-pass change or output black
reformats, on an installed package's module."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import black
import libcst as cst
import pytest
from snapshot import run_project

from codemods._api import ProjectView, Settings
from codemods.options import DEFAULT_HEAVY_MODULES
from lazifier.transform import Policy, transform

SETTINGS = Settings(heavy_modules=frozenset(DEFAULT_HEAVY_MODULES), target_version=(3, 10))


def rewrite(src: str, *, unsafe: bool = False, codes: tuple[str, ...] = ("LZY001",), **kw: object) -> str:
    """The rewritten text; the transform must neither fail nor change it on a second pass."""
    settings = Settings(**{**SETTINGS.__dict__, **kw})  # type: ignore[arg-type]

    def once(text: str) -> str:
        result = transform(text, "m.py", "m", settings, codes, ProjectView("m"), Policy(unsafe_fixes=unsafe))
        assert result.error is None, result.error
        return result.new_text if result.new_text is not None else text

    out = once(textwrap.dedent(src))
    cst.parse_module(out)
    assert once(out) == out, "a second pass changed the output"
    return out


# scipy.signal.tests: `from m import(` with no space, then an alias moves and the parentheses go.
NO_SPACE = """\
    from numpy import(ones, zeros)

    X = ones(2)


    def f():
        return zeros(3)
    """


def test_parentheses_dropped_from_an_import_without_a_space_leave_one() -> None:
    out = rewrite(NO_SPACE)
    assert out.startswith("from numpy import ones\n")
    assert "    from numpy import zeros\n" in out
    assert black.format_str(out, mode=black.Mode()) == out


def test_the_lazy_keyword_split_of_an_import_without_a_space() -> None:
    out = rewrite(NO_SPACE, style="lazy-keyword", target_version=(3, 15))
    # The half that stays keeps the user's spelling; the lazy half is written fresh.
    assert out.startswith("from numpy import(ones)\nlazy from numpy import zeros\n")


@pytest.mark.parametrize("spelling", ["import(ones)", "import (ones)", "import  (ones)"])
def test_a_single_parenthesized_alias_moves_whole(spelling: str) -> None:
    out = rewrite(f"from numpy {spelling}\n\n\ndef f():\n    return ones(3)\n")
    assert out == "def f():\n    from numpy import ones\n\n    return ones(3)\n"


# pandas.core.arrays: the getter's annotation is the assignment's, and it is not always a name.
ANNOTATED = """\
    import numpy as np


    class Foo:
        def __init__(self, *a):
            pass


    TABLE: dict[np.dtype, Foo] = Foo(np.zeros(3))
    OTHER: "Foo" = Foo(np.zeros(3))
    NAMED: dict[str, "Foo"] = Foo(np.zeros(3))


    def f():
        return TABLE, OTHER, NAMED
    """


def test_a_subscripted_or_quoted_annotation_is_kept_as_written(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lazify]\nunsafe-fixes = true\n")
    (tmp_path / "m.py").write_text(textwrap.dedent(ANNOTATED))
    (result,) = [r for r in run_project(tmp_path).results if r.changed]
    out = result.new_text
    assert result.error is None and out is not None, result.error
    assert 'def get_table() -> "dict[np.dtype, Foo]":' in out
    assert 'def get_other() -> "Foo":' in out
    assert "    TABLE: dict[np.dtype, Foo]\n    OTHER: Foo\n" in out
    assert """def get_named() -> "dict[str, 'Foo']":""" in out
    namespace: dict[str, object] = {}
    exec(compile(out, "m.py", "exec"), namespace)
    assert namespace["f"]()[0] is namespace["f"]()[0]  # type: ignore[operator]
    (tmp_path / "m.py").write_text(out)
    assert not [r for r in run_project(tmp_path).results if r.changed], "a second pass changed the output"


# django.db.models.fields: the package's __init__ imports `connections` from django.db (a
# singleton) and uses it only in functions. The package passes it on (`pkg.fields.connections`),
# so it answers that name from its own `__getattr__`, with the getter, and `connections` is built
# on first use. Where it can't (the package has a `__getattr__` of its own), `connections` stays
# eager and heavy-imports leaves the package's import of it where it is: moving it made the
# reason go away, and the second run made `connections` lazy.
PASSED_ON = {
    "pyproject.toml": '[tool.lazify]\nextend-heavy-modules = ["pkg"]\n',
    "pkg/__init__.py": "",
    "pkg/db.py": "class Handler:\n    pass\n\n\nconnections = Handler()\n",
    "pkg/fields/__init__.py": "from pkg.db import connections\n\n\ndef f():\n    return connections\n",
}
OWN_GETATTR = "\n\ndef __getattr__(name):\n    raise AttributeError(name)\n"


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_a_package_that_passes_a_singleton_on_answers_it_with_the_getter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, PASSED_ON)
    outcome = run_project(tmp_path)
    changed = {r.path: r.new_text for r in outcome.results if r.changed}
    assert sorted(changed) == ["pkg/db.py", "pkg/fields/__init__.py"]
    fields = changed["pkg/fields/__init__.py"]
    assert "if TYPE_CHECKING:\n    from pkg.db import connections\n" in fields
    assert '    if name == "connections":\n        return get_connections()\n' in fields
    _write(tmp_path, changed)  # type: ignore[arg-type]
    assert not [r.path for r in run_project(tmp_path).results if r.changed], "a second pass changed it"
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        db, fields = importlib.import_module("pkg.db"), importlib.import_module("pkg.fields")
        assert "connections" not in vars(db)  # not built by importing either module
        assert fields.connections is fields.f() is db.connections
    finally:
        for name in [m for m in sys.modules if m == "pkg" or m.startswith("pkg.")]:
            del sys.modules[name]


def test_an_import_a_package_passes_on_stays_while_its_singleton_does(tmp_path: Path) -> None:
    _write(
        tmp_path, {**PASSED_ON, "pkg/fields/__init__.py": PASSED_ON["pkg/fields/__init__.py"] + OWN_GETATTR}
    )
    outcome = run_project(tmp_path)
    assert not [r.path for r in outcome.results if r.changed]
    (db,) = [r for r in outcome.results if r.path == "pkg/db.py"]
    assert [c.finding.reason for c in db.changes] == [
        "the package pkg.fields re-exports it (`pkg.fields.connections`) and has its own `__getattr__`,"
        " so it can't answer the old name"
    ]
    (fields,) = [r for r in outcome.results if r.path == "pkg/fields/__init__.py"]
    assert [c.finding.reason for c in fields.changes if c.code == "LZY001"] == [
        "`connections` is a singleton this package passes on (`pkg.fields.connections`);"
        " lazy-singletons keeps `pkg.db.connections` built at import for it"
    ]


# sqlalchemy.dialects.postgresql.ranges: `Tuple` is read only in `cast("Tuple[str, str]", ...)`
# in a method of a dataclass. A cast's string is never stored in `__annotations__`, so the
# dataclass can't read it: `Tuple` goes under `if TYPE_CHECKING:`. The second pass, with
# `cast` imported inside the method, still sees that read (it used to call `Tuple` unused).
CAST_IN_A_DATACLASS = """\
    import dataclasses
    from typing import Tuple, cast


    @dataclasses.dataclass
    class Range:
        bounds: str = "[)"

        def edges(self):
            return cast("Tuple[str, str]", self.bounds)
    """


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_a_name_read_only_in_a_cast_string_goes_under_type_checking(unsafe: bool) -> None:
    out = rewrite(CAST_IN_A_DATACLASS, unsafe=unsafe, heavy_modules=frozenset({"typing"}))
    assert "if TYPE_CHECKING:\n    from typing import Tuple\n" in out
    assert '        from typing import cast\n\n        return cast("Tuple[str, str]", self.bounds)' in out
    namespace: dict[str, object] = {}
    exec(compile(out, "m.py", "exec"), namespace)
    assert namespace["Range"]().edges() == "[)"  # type: ignore[operator]


# pandas/tests/io/sas/test_xport.py (and four more pandas tests): the last imports move into the
# functions; the blank line above them joined the comments below, whose own gaps go to two
# lines further down, and the gap above the first comment grew from one line to two (black
# takes it back to one).
GAP_ABOVE_A_COMMENT = """\
    import pytest

    import numpy as np

    # A section of the module, one blank line below its imports.

    # Its second paragraph.


    def zeros():
        return np.zeros(2)
    """


def test_a_removed_import_does_not_widen_the_gap_above_the_comment_below_it() -> None:
    out = rewrite(GAP_ABOVE_A_COMMENT)
    assert out.startswith("import pytest\n\n# A section of the module")
    assert black.format_str(out, mode=black.Mode()) == out
