"""lazy-singletons: a module that passes a singleton on (its ``__all__``, or a package's
``__init__``) answers the old name from its own ``__getattr__`` with the getter; where the name
would still be lost, the singleton stays built at import, with the reason."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import black
import pytest
from snapshot import run_project

DB = 'import sqlite3\n\nconn = sqlite3.connect(":memory:")\n'


def _project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in {
        "pyproject.toml": "[tool.lazify]\n",
        "pkg/__init__.py": "",
        "pkg/db.py": DB,
        **files,
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _reasons(root: Path) -> list[str]:
    (db,) = [r for r in run_project(root).results if r.path == "pkg/db.py"]
    return [c.finding.reason for c in db.changes if c.finding.reason]


def test_a_star_import_of_a_module_that_passes_it_on_keeps_it_eager(tmp_path: Path) -> None:
    # `from pkg.fields import *` copies what pkg.fields binds: a name only its `__getattr__`
    # answers is not copied when there is no `__all__`.
    root = _project(tmp_path, {
        "pkg/fields/__init__.py": "from pkg.db import conn\n\n\ndef f():\n    return conn\n",
        "pkg/other.py": "from pkg.fields import *\n\n\ndef g():\n    return conn\n",
    })  # fmt: skip
    assert not [r.path for r in run_project(root).results if r.changed]
    assert _reasons(root) == [
        "pkg.other star-imports pkg.fields (line 1), which passes it on and has no `__all__`"
    ]


def test_a_singleton_passed_on_under_two_names_stays_eager(tmp_path: Path) -> None:
    root = _project(tmp_path, {
        "pkg/fields/__init__.py": "from pkg.db import conn\nfrom pkg.db import conn as connection\n",
    })  # fmt: skip
    assert not [r.path for r in run_project(root).results if r.changed]
    assert _reasons(root) == [
        "the package pkg.fields re-exports it (`pkg.fields.conn`) and imports it under two names"
        " (`conn`, `connection`), so it can't answer the old name"
    ]


def test_the_old_name_is_declared_plainly_for_type_checkers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, {
        "pkg/fields/__init__.py": (
            "from pkg.db import (\n    conn,  # the singleton\n)\n\n__all__ = [\"conn\"]\n\n\n"
            "def f():\n    return conn\n"
        ),
    })  # fmt: skip
    changed = {r.path: r.new_text for r in run_project(root).results if r.changed}
    fields = changed["pkg/fields/__init__.py"]
    assert fields is not None
    assert "from pkg.db import (\n    get_conn,  # the singleton\n)\n" in fields
    assert "if TYPE_CHECKING:\n    from pkg.db import conn\n" in fields
    assert black.format_str(fields, mode=black.Mode()) == fields
    for rel, text in changed.items():
        (root / rel).write_text(text)  # type: ignore[arg-type]
    monkeypatch.syspath_prepend(str(root))
    try:
        db, pkg_fields = importlib.import_module("pkg.db"), importlib.import_module("pkg.fields")
        assert "conn" not in vars(db)
        namespace: dict[str, object] = {}
        exec("from pkg.fields import *", namespace)
        assert namespace["conn"] is pkg_fields.f() is db.conn
    finally:
        for name in [m for m in sys.modules if m == "pkg" or m.startswith("pkg.")]:
            del sys.modules[name]
