"""A warm run takes the last run's index answers only when all of its inputs are the same
(lazifier/last_run.py): the files, the settings, and what the installed packages say."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_tree

from lazifier import installed
from lazifier.discovery import FileSet, _Ignore, _walk, discover
from lazifier.engine import Engine, Outcome
from lazifier.settings import load_settings
from lazifier.transform import Policy

SITE = ".venv/lib/python3.11/site-packages"
ENV = {
    ".venv/pyvenv.cfg": "home = /usr/bin\n",
    f"{SITE}/sqlalchemy/__init__.py": "from .engine.create import create_engine as create_engine\n",
    f"{SITE}/sqlalchemy/engine/__init__.py": "",
    f"{SITE}/sqlalchemy/engine/create.py": "def create_engine(url, **kw):\n    return object()\n",
    f"{SITE}/sqlmodel/__init__.py": "from sqlalchemy.engine.create import create_engine as create_engine\n",
}
PROJECT = {
    "pyproject.toml": "[tool.lazify]\n",
    "app/__init__.py": "",
    "app/database.py": 'from sqlmodel import create_engine\n\nengine = create_engine("sqlite:///app.db")\n',
    "app/main.py": "from app.database import engine\n\n\ndef handler():\n    return engine.connect()\n",
    "app/broken.py": "def f(:\n",
}


@pytest.fixture(autouse=True)
def _no_active_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    installed.site_dirs.cache_clear()


def _run(root: Path, *, use_cache: bool = True) -> tuple[Engine, list[tuple]]:
    engine = Engine(load_settings([root], {}), [root], jobs=1, use_cache=use_cache, isolate=False)
    return engine, _seen(engine.run(Policy()))


def _seen(outcome: Outcome) -> list[tuple]:
    return [
        (r.path, r.new_text, r.error, [(c.code, c.fix_id, c.applied, c.finding.message) for c in r.changes])
        for r in outcome.results
    ]


def _changed(seen: list[tuple]) -> set[str]:
    return {path for path, new_text, *_ in seen if new_text is not None}


def test_a_run_with_the_same_inputs_builds_no_index_and_finds_the_same(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {**ENV, **PROJECT})
    first, cold = _run(root)
    assert first._index is not None
    # The installed packages decide it: `sqlmodel.create_engine` is SQLAlchemy's.
    assert _changed(cold) == {"app/database.py", "app/main.py"}
    assert any(path == "app/broken.py" and error for path, _, error, _ in cold)
    again, warm = _run(root)
    assert again._index is None  # neither the facts nor the index were needed
    assert warm == cold
    assert again.codemod_settings.definitions == first.codemod_settings.definitions != ()


def test_another_file_changed_means_a_new_index(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {**ENV, **PROJECT})
    _run(root)
    # main.py is not what changes, but what it says about database.py's `engine` does.
    (root / "app/main.py").write_text("import app.database\n\nprint(app.database.engine)\n")
    engine, warm = _run(root)
    assert engine._index is not None
    assert warm == _run(root, use_cache=False)[1]


def test_an_installed_package_that_answers_otherwise_means_a_new_index(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {**ENV, **PROJECT})
    _, before = _run(root)
    # sqlmodel's create_engine becomes its own function: no longer a known factory.
    (root / SITE / "sqlmodel/__init__.py").write_text(
        "def create_engine(url):\n    print(url)\n    return url\n"
    )
    engine, after = _run(root)
    assert engine._index is not None
    assert after == _run(root, use_cache=False)[1]
    assert "app/database.py" not in _changed(after) and _changed(before) != _changed(after)


def test_one_walk_finds_what_the_two_walks_found(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "pyproject.toml": '[tool.lazify]\nextend-exclude = ["gen/", "skip_me.py"]\n',
        ".gitignore": "ignored/\n*_local.py\n",
        "a.py": "", "skip_me.py": "", "b_local.py": "", "gen/c.py": "", "ignored/d.py": "",
        "pkg/__init__.py": "", "pkg/.gitignore": "secret.py\n", "pkg/secret.py": "", "pkg/e.py": "",
        "venv/lib/f.py": "", "notes.txt": "",
    })  # fmt: skip
    (root / "link.py").symlink_to(root / "a.py")
    (root / "outside.py").symlink_to(tmp_path.parent / "nowhere.py")
    (root / "pkg_link").symlink_to(root / "pkg", target_is_directory=True)
    settings = load_settings([root], {})
    one = discover(settings, [root])
    old = FileSet()
    project = _walk(root, root, _Ignore(settings, user_excludes=False), old, report=False)
    targets = _walk(root, root, _Ignore(settings), old, report=True)
    assert one.project == sorted(project) and one.targets == sorted(targets)
    assert [vars(s) for s in one.skipped] == [vars(s) for s in old.skipped] != []
    assert one.links == old.links == {"link.py": "a.py"}
    # The user's excludes keep files out of the targets, not out of the project.
    assert "gen/c.py" in one.project and "gen/c.py" not in one.targets
    assert "venv/lib/f.py" not in one.project and "pkg/secret.py" not in one.project


@pytest.mark.parametrize(
    "patterns",
    [
        ["venv", ".git", "build", "*_pb2.py", "docs/*.py", "/top.py", "**/deep/x.py", "gen/"],
        ["*.py", "!keep.py", "keep_not/"],  # a negation: pathspec's own rule of the last match
    ],
)
def test_the_exclude_shortcut_agrees_with_pathspec(tmp_path: Path, patterns: list[str]) -> None:
    settings = load_settings(
        [write_tree(tmp_path, {"pyproject.toml": "[tool.lazify]\n"})], {"exclude": tuple(patterns)}
    )
    ign = _Ignore(settings)
    assert (ign._any is None) == any(p.startswith("!") for p in patterns)
    paths = [
        "a.py", "venv", "venv/", "src/venv/", "x/build/y.py", "m_pb2.py", "p/m_pb2.py", "docs/a.py",
        "docs/sub/a.py", "top.py", "sub/top.py", "a/deep/x.py", "deep/x.py", "gen/", "gen/a.py",
        "keep.py", "sub/keep.py", "keep_not/", "./a.py", ".gitx/", ".git/",
    ]  # fmt: skip
    assert [ign._excluded(p) for p in paths] == [ign.exclude.match_file(p) for p in paths]


def test_nested_gitignores_apply_from_their_own_directory(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "pyproject.toml": "[tool.lazify]\n",
        ".gitignore": "*.gen.py\nlogs/\n",
        "a/.gitignore": "!keep.gen.py\nlocal.py\n",
        "a/b/.gitignore": "/only_here.py\n*.py\n!wanted.py\n",
    })  # fmt: skip
    ign = _Ignore(load_settings([root], {}))
    # What each directory's .gitignore says, applied in order from the root down, the last match winning.
    cases = {
        "x.gen.py": True, "a/x.gen.py": True, "a/keep.gen.py": False, "keep.gen.py": True,
        "a/local.py": True, "local.py": False, "a/b/local.py": True, "a/b/only_here.py": True,
        "a/only_here.py": False, "a/b/wanted.py": False, "a/b/other.py": True, "a/b/c/d.py": True,
        "logs/x.py": True, "a/logs/x.py": True, "a/b/keep.gen.py": True,
    }  # fmt: skip
    assert {rel: ign.ignored(rel, is_dir=False) for rel in cases} == cases
    assert ign.ignored("a/logs", is_dir=True) and not ign.ignored("a/b", is_dir=True)
