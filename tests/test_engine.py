"""Engine layers: module names, the cross-file index, lint notes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_lazify, write_tree

from codemods import REGISTRY
from lazifier.discovery import module_name
from lazifier.engine import Engine
from lazifier.index import ProjectIndex, extract_facts, facts_codes, resolve_relative
from lazifier.settings import Settings, load_settings
from lazifier.transform import Policy


@pytest.mark.parametrize(
    ("rel", "packages", "src", "namespace", "expected"),
    [
        ("pkg/mod.py", {"pkg"}, (".",), (), "pkg.mod"),
        ("pkg/__init__.py", {"pkg"}, (".",), (), "pkg"),
        ("src/pkg/mod.py", {"src/pkg"}, (".", "src"), (), "pkg.mod"),
        # A `src` that is itself a package (the example app imports `src.api.main`).
        ("src/api/main.py", {"src", "src/api"}, (".",), (), "src.api.main"),
        ("scripts/tool.py", set(), (".",), (), "tool"),
        ("ns/pkg/mod.py", {"ns/pkg"}, (".",), ("ns",), "ns.pkg.mod"),
        ("ns/pkg/mod.py", {"ns/pkg"}, (".",), (), "pkg.mod"),
        ("my-dir/mod.py", {"my-dir"}, (".",), (), None),
    ],
)
def test_module_name(rel: str, packages: set, src: tuple, namespace: tuple, expected: str | None) -> None:
    settings = Settings(project_root=Path("/p"), src=src, namespace_packages=namespace)
    assert module_name(rel, settings, lambda d: d in packages) == expected


def test_relative_imports_resolve() -> None:
    assert resolve_relative("a.b.c", False, 1, "d") == "a.b.d"
    assert resolve_relative("a.b", True, 1, "d") == "a.b.d"
    assert resolve_relative("a.b.c", False, 2, None) == "a"
    assert resolve_relative("a", False, 3, "x") is None


def test_index_collects_every_kind_of_reference() -> None:
    user = extract_facts(
        "import pkg.mod as m\n"
        "from pkg import mod\n"
        "from pkg.mod import np as _np\n"
        "from pkg.other import *\n"
        "from . import mod as again\n"
        "m.np.zeros\n"
        "mod.Image\n"
        "patch('pkg.mod.torch')\n"
        "typing.get_type_hints(handler)\n",
        "pkg.user",
        False,
    )
    index = ProjectIndex(
        {"pkg/mod.py": "pkg.mod", "pkg/other.py": "pkg.other", "pkg/user.py": "pkg.user"},
        {"pkg/user.py": user, "pkg/mod.py": extract_facts("def handler(): pass\n", "pkg.mod", False)},
    )
    view = index.view("pkg/mod.py")
    assert set(view.external_refs) == {"np", "Image", "torch"}
    assert view.annotation_readers == {"handler"}
    assert [str(loc) for loc in index.view("pkg/other.py").star_imported_by] == ["pkg/user.py:4"]


def test_index_facts_follow_source_order_as_a_node_visitor_does() -> None:
    """The collector walks without ``ast.NodeVisitor`` but in its order: an alias counts
    only from its import on, a resolved attribute chain is not entered again, an unresolved
    one is (its call's arguments are), and definitions at any depth are found."""
    source = (
        "np.early\n"
        "import numpy as np\n"
        "x = np.zeros(1).astype\n"
        "f(g).np.h(np.ones)\n"
        "class C:\n"
        "    async def m(self):\n"
        "        import torch as t\n"
        "        return t.nn, 'pkg.mod.name', typing.get_type_hints(C.m)\n"
    )
    facts = extract_facts(source, "m", False)
    assert facts.refs == (
        ("numpy.zeros", 3, "attribute"),
        ("numpy.ones", 4, "attribute"),
        ("torch.nn", 8, "attribute"),
        ("pkg.mod.name", 8, "string"),
    )
    assert facts.defined == ("C", "m") and facts.readers == ("m",)


def test_files_ast_cannot_parse_still_give_import_facts() -> None:
    facts = extract_facts("lazy import x\nfrom pkg.mod import np, pd as p\n", "user", False)
    assert facts.error
    assert {r[0] for r in facts.refs} == {"pkg.mod.np", "pkg.mod.pd"}


def test_index_covers_excluded_files(tmp_path: Path) -> None:
    """A test file excluded from rewriting still blocks moving a name it imports."""
    root = write_tree(tmp_path, {
        "pyproject.toml": '[tool.lazify]\nextend-exclude = ["tests"]\n',
        "pkg/__init__.py": "",
        "pkg/mod.py": "import numpy as np\ndef f():\n    return np.zeros(1)\n",
        "tests/test_mod.py": "from pkg.mod import np\n",
    })  # fmt: skip
    settings = load_settings([root])
    engine = Engine(settings, [root], jobs=1, use_cache=False, isolate=False)
    assert engine.files.targets == ["pkg/__init__.py", "pkg/mod.py"]
    outcome = engine.run(Policy())
    (result,) = [r for r in outcome.results if r.path == "pkg/mod.py"]
    assert result.new_text is None
    assert "tests/test_mod.py:1" in result.changes[0].finding.message


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "files", "note"),
    [
        ('[tool.ruff.lint]\nselect = ["E", "PLC0415"]\n', {}, "PLC0415"),
        ('[tool.ruff.lint]\nextend-select = ["PLC"]\n', {}, "PLC0415"),
        ("[tool.pylint.main]\njobs = 1\n", {}, "C0415"),
        ("", {".pylintrc": "[MESSAGES CONTROL]\ndisable=missing-docstring\n"}, "C0415"),
        ('[tool.ruff.lint]\nselect = ["PLC"]\nignore = ["PLC0415"]\n', {}, None),
        ('[tool.pylint."messages control"]\ndisable = ["import-outside-toplevel"]\n', {}, None),
        ("", {}, None),
    ],
)
def test_lint_rules_against_local_imports_are_reported(
    tmp_path: Path, config: str, files: dict, note: str | None
) -> None:
    write_tree(tmp_path, {
        "pyproject.toml": "[tool.lazify]\n" + config,
        "m.py": "import numpy as np\ndef f():\n    return np.zeros(1)\n",
        **files,
    })  # fmt: skip
    result = run_lazify("apply", "--dry-run", ".", cwd=tmp_path)
    assert result.returncode == 1
    notes = [line for line in result.stderr.decode().splitlines() if line.startswith("note:")]
    if note is None:
        assert notes == []
    else:
        assert any(note in n for n in notes), notes


def test_declarative_facts_only_where_the_project_has_a_base(tmp_path: Path) -> None:
    """declarative-base's plan needs a `declarative_base()` somewhere: without the word in any
    file, no file's facts are taken for it (issue 16); with it, every file's are, the models
    in other files included."""
    models = "from app.db import Base\n\n\nclass User(Base):\n    __tablename__ = 'u'\n"
    without = write_tree(
        tmp_path / "without",
        {"pyproject.toml": "[tool.lazify]\n", "app/__init__.py": "", "app/models.py": models},
    )
    # A cache directory, so the facts the index took can be looked at.
    engine = Engine(
        load_settings([without]), [without], jobs=1, use_cache=True, read_only=True, isolate=False
    )
    assert engine.plans == {}
    taken = {rel: facts for rel, (_key, facts) in engine.cache.facts.items()}
    assert taken["app/models.py"].extra_for("LZY002") is not None
    assert all(f.extra_for("LZY003") is None for f in taken.values()), "no base anywhere: no LZY003 facts"
    project_level = [cls for cls in REGISTRY if cls.project_level]
    assert facts_codes(project_level, [models.encode()]) == {"LZY002"}
    assert facts_codes(project_level, [models.encode(), b"Base = declarative_base()"]) == {"LZY002", "LZY003"}
    with_base = write_tree(tmp_path / "with", {
        "pyproject.toml": "[project]\nname = 'x'\ndependencies = ['sqlalchemy>=2']\n[tool.lazify]\n",
        "app/__init__.py": "",
        "app/db.py": "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n",
        "app/models.py": models,
    })  # fmt: skip
    engine = Engine(
        load_settings([with_base]), [with_base], jobs=1, use_cache=True, read_only=True, isolate=False
    )
    assert "LZY003" in engine.plans.get("app.db", {})
    assert engine.cache.facts["app/models.py"][1].extra_for("LZY003") is not None


@pytest.mark.slow
def test_lazify_profile_writes_the_run_by_stage(tmp_path: Path) -> None:
    """`LAZIFY_PROFILE=FILE`: the run's seconds by stage, for the benchmark (issue 16)."""
    import json

    root = write_tree(tmp_path / "p", {
        "pyproject.toml": "[tool.lazify]\n",
        "m.py": "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n",
    })  # fmt: skip
    profile = tmp_path / "profile.json"
    r = run_lazify("apply", "--dry-run", "--no-cache", ".", cwd=root, env={"LAZIFY_PROFILE": str(profile)})
    assert r.returncode == 1, r.stderr.decode()
    stages = json.loads(profile.read_text())
    for name in ("read, decode, prefilter", "index (ast facts)", "CST parse", "analysis", "edit", "verify"):
        assert stages[name] > 0, (name, stages)


def test_the_reason_a_singleton_is_blocked_does_not_depend_on_the_order_facts_arrive() -> None:
    """The engine's workers finish in any order; with two modules reading a singleton at
    import, the reason reported must be the same every run (the first module, by name)."""
    import ast

    from codemods._singleton_facts import extract_facts as singleton_facts
    from codemods._singleton_plan import plan_project

    sources = {
        "db": "import sqlite3\n\nconn = sqlite3.connect('x.db')\n",
        "b_user": "from db import conn\n\nCURSOR = conn.cursor()\n",
        "a_user": "from db import conn\n\nROWS = conn.execute('select 1')\n",
    }
    facts = {m: singleton_facts(ast.parse(src), m, False) for m, src in sources.items()}
    reasons = set()
    for order in (["db", "a_user", "b_user"], ["b_user", "db", "a_user"], ["a_user", "b_user", "db"]):
        plan = plan_project({m: facts[m] for m in order}, set(sources))
        (blocked,) = plan["db"].blocked
        reasons.add(blocked.reason)
    assert reasons == {"read at import on line 3 of a_user"}


def test_the_patch_from_the_workers_hunks_is_the_patch_from_the_texts(tmp_path: Path) -> None:
    # The worker diffs each file it changed (in parallel, cached with the result); the run's
    # patch from those hunks must be the one made from the two texts, file by file.
    from dataclasses import replace

    from lazifier.report import render_patch

    project = Path(__file__).resolve().parent.parent / "examples" / "app"
    settings = load_settings([project], {})
    outcome = Engine(settings, [project], jobs=1, use_cache=False, isolate=False).run(Policy())
    changed = [r for r in outcome.results if r.changed]
    assert len(changed) >= 3 and all(r.patch is not None and r.patch[0] == r.new_text for r in changed)
    originals = {
        r: (s.decoded.text, s.decoded.encoding, s.decoded.bom)
        for r, s in outcome.sources.items()
        if s.decoded
    }
    from_hunks = render_patch(changed, originals, "sub/")
    from_texts = render_patch([replace(r, patch=None) for r in changed], originals, "sub/")
    assert from_hunks == from_texts and from_hunks.count(b"diff --git a/sub/") == len(changed)


REAL_MODULES = ["ast", "dataclasses", "typing", "asyncio.base_events", "email._header_value_parser", "pydoc"]


@pytest.mark.parametrize("name", REAL_MODULES)
def test_the_index_walks_real_modules_in_a_node_visitors_order(name: str) -> None:
    """The collector leaves out leaves no handler reads; the facts are what an
    ``ast.NodeVisitor`` over every node collects, in the same order."""
    import ast
    import importlib.util

    from lazifier.index import _Collector

    tree = ast.parse(Path(importlib.util.find_spec(name).origin).read_bytes())

    class Everything(ast.NodeVisitor):
        def __init__(self, c: _Collector) -> None:
            self.c = c

        def visit(self, node: ast.AST) -> None:
            handler = self.c._handlers.get(type(node))
            if handler is None or handler(node):
                self.generic_visit(node)

    fast, reference = _Collector(name, False), _Collector(name, False)
    fast.visit(tree)
    Everything(reference).visit(tree)
    assert fast.refs and fast.refs == reference.refs
    assert (fast.star, fast.readers, fast.defined, fast.aliases) == (
        reference.star, reference.readers, reference.defined, reference.aliases,
    )  # fmt: skip


@pytest.mark.parametrize("name", REAL_MODULES)
def test_the_singleton_facts_walk_finds_what_ast_walk_finds(name: str) -> None:
    import ast
    import importlib.util

    from codemods._singleton_facts import _attributes_and_globals

    tree = ast.parse(Path(importlib.util.find_spec(name).origin).read_bytes())
    for stmt in tree.body:
        expected = [n for n in ast.walk(stmt) if isinstance(n, (ast.Attribute, ast.Global))]
        found = list(_attributes_and_globals(stmt))
        assert len(found) == len(expected) and all(a is b for a, b in zip(found, expected))


def _threshold(_: object) -> tuple[int, int, int]:
    import gc

    return gc.get_threshold()


@pytest.mark.slow  # forks workers
def test_a_run_collects_cycles_less_often_in_its_workers_too() -> None:
    import gc

    from lazifier.pool import collecting_less, run_tasks

    before = gc.get_threshold()
    with collecting_less():
        inside = gc.get_threshold()
        in_workers = {value for _, value in run_tasks(_threshold, [0, 1], 2)}
    assert inside[0] > before[0] and in_workers == {inside}
    assert gc.get_threshold() == before
