"""A warm run takes the last run's index answers only when all of its inputs are the same
(lazifier/last_run.py): the files, the settings, and what the installed packages say. And the
cheaper discovery a warm run relies on (one walk, the exclude shortcut, each directory's chain
of .gitignore files), held to what it replaced."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import write_tree

from lazifier import installed
from lazifier.cache import Cache
from lazifier.discovery import FileSet, _file, _Ignore, discover
from lazifier.engine import Engine, Outcome
from lazifier.settings import ConfigError, load_settings
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


def _os_walk(start: Path, root: Path, ign: _Ignore, out: FileSet, *, report: bool) -> set[str]:
    """The walk discovery had before it walked once (os.walk, a stat per file): the reference."""
    found: set[str] = set()
    sink = out if report else FileSet()
    for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
        d = Path(dirpath)
        rel_dir = d.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        dirnames[:] = [
            n for n in sorted(dirnames)
            if not (d / n).is_symlink() and not ign.ignored(f"{rel_dir}/{n}".lstrip("/"), is_dir=True)
        ]  # fmt: skip
        for name in sorted(filenames):
            rel = f"{rel_dir}/{name}".lstrip("/")
            if name.endswith(".py") and not ign.ignored(rel, is_dir=False):
                if (t := _file(d / name, root, sink)) is not None:
                    found.add(t)
    return found


def test_one_walk_finds_what_os_walk_found(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {
        "pyproject.toml": '[tool.lazify]\nextend-exclude = ["gen/", "skip_me.py"]\n',
        ".gitignore": "ignored/\n*_local.py\n",
        "a.py": "", "skip_me.py": "", "b_local.py": "", "gen/c.py": "", "ignored/d.py": "",
        "pkg/__init__.py": "", "pkg/.gitignore": "secret.py\n", "pkg/secret.py": "", "pkg/e.py": "",
        "pkg/sub/g.py": "", "venv/lib/f.py": "", "notes.txt": "",
    })  # fmt: skip
    (root / "link.py").symlink_to(root / "a.py")
    (root / "outside.py").symlink_to(tmp_path.parent / "nowhere.py")
    (root / "pkg_link").symlink_to(root / "pkg", target_is_directory=True)
    os.mkfifo(root / "pkg" / "pipe.py")
    (root / "zz").mkdir()
    (root / "zz" / "gone.py").symlink_to(root / "zz" / "nowhere.py")  # reported after pkg's FIFO
    settings = load_settings([root], {})
    for paths in ([root], [root / "pkg"], [root / "pkg", root / "link.py"]):
        found = discover(settings, paths)
        old = FileSet()
        project = _os_walk(root, root, _Ignore(settings, user_excludes=False), old, report=False)
        targets: set[str] = set()
        for p in paths:
            if p.is_symlink():
                targets.add(_file(p, root, old) or "")
            else:
                targets |= _os_walk(p, root, _Ignore(settings), old, report=True)
        assert found.project == sorted(project) and found.targets == sorted(targets), paths
        assert [vars(s) for s in found.skipped] == [vars(s) for s in old.skipped] != [], paths
        assert found.links == old.links
    # The user's excludes keep files out of the targets, not out of the project.
    found = discover(settings, [root])
    assert "gen/c.py" in found.project and "gen/c.py" not in found.targets
    assert "venv/lib/f.py" not in found.project and "pkg/secret.py" not in found.project
    assert found.links == {"link.py": "a.py"}


@pytest.mark.parametrize(
    "patterns",
    [
        ["venv", ".git", "build", "*_pb2.py", "docs/*.py", "/top.py", "**/deep/x.py", "gen/"],
        ["*.py", "!keep.py", "keep_not/"],  # a negation: pathspec's own rule of the last match
        ["[(?P<a>]x.py", "venv"],  # spells a named group: pathspec's own matching
    ],
)
def test_the_exclude_shortcut_agrees_with_pathspec(tmp_path: Path, patterns: list[str]) -> None:
    settings = load_settings(
        [write_tree(tmp_path, {"pyproject.toml": "[tool.lazify]\n"})], {"exclude": tuple(patterns)}
    )
    ign = _Ignore(settings)
    assert (ign._any is None) == any(p.startswith("!") or "(?P" in p for p in patterns)
    paths = [
        "a.py", "venv", "venv/", "src/venv/", "x/build/y.py", "m_pb2.py", "p/m_pb2.py", "docs/a.py",
        "docs/sub/a.py", "top.py", "sub/top.py", "a/deep/x.py", "deep/x.py", "gen/", "gen/a.py",
        "keep.py", "sub/keep.py", "keep_not/", "./a.py", ".gitx/", ".git/", "Px.py", "ax.py", ":x.py",
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


def test_a_syntax_check_that_failed_is_asked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lazifier.engine as engine_module

    root = write_tree(tmp_path, {**ENV, **PROJECT})
    real = engine_module.syntax_error

    def failing(*args: object) -> object:
        raise MemoryError("this time only")

    monkeypatch.setattr(engine_module, "syntax_error", failing)
    _, first = _run(root)
    assert any(path == "app/broken.py" and "MemoryError" in (error or "") for path, _, error, _ in first)
    monkeypatch.setattr(engine_module, "syntax_error", real)
    engine, again = _run(root)
    assert engine._index is not None  # the failed run's answers were not kept
    assert again == _run(root, use_cache=False)[1]


def test_answers_taken_from_the_last_run_stay_as_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that takes the last run's answers but misses a result (another policy) builds the
    index for its views; a syntax check failing then must not mark the stored answers as
    shaped by a failure (they were not, and could then never be refreshed)."""
    import lazifier.engine as engine_module

    # Newer syntax than this interpreter's: `ast` can't parse it, so each index checks its syntax.
    newer = {"pyproject.toml": '[tool.lazify]\ntarget-version = "py312"\n', "app/alias.py": "type X = int\n"}
    root = write_tree(tmp_path, {**ENV, **PROJECT, **newer})
    _run(root)

    def failing(*args: object) -> object:
        raise MemoryError("this time only")

    monkeypatch.setattr(engine_module, "syntax_error", failing)
    engine = Engine(load_settings([root], {}), [root], jobs=1, isolate=False)
    engine.run(Policy(unsafe_fixes=True))
    assert engine._index is not None  # the answers were taken, then the index built for the views
    assert all(answers.settled for answers in Cache(root / ".lazify_cache").runs.values())


@pytest.mark.parametrize("jobs", [1, pytest.param(2, marks=pytest.mark.slow)])  # 2: in workers, past 64 files
@pytest.mark.parametrize("failures", [1, 2])
def test_a_file_the_index_could_not_read_is_read_again_or_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, failures: int
) -> None:
    """A facts task that fails is tried once more; a file that fails twice stops the run, since
    without what it uses a rewrite elsewhere could break it (here: `other.py` reads
    `app.util.np`, which blocks moving util's numpy import)."""
    import lazifier.index as index_module

    filler = {f"filler/m{i}.py": f"x{i} = {i}\n" for i in range(70)}
    root = write_tree(tmp_path, {
        **ENV, **PROJECT, **filler,
        "app/util.py": "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n",
        "app/other.py": "import app.util\n\n\ndef g():\n    return app.util.np.ones(1)\n",
    })  # fmt: skip
    real = index_module.extract_facts
    marks = tmp_path / "failed"
    marks.mkdir()

    def failing_for_other(text: str, *args: object) -> object:
        # Counted in files: a worker's calls are not seen by this process.
        if "app.util.np" in text and len(list(marks.iterdir())) < failures:
            (marks / str(len(list(marks.iterdir())))).touch()
            raise MemoryError("this time")
        return real(text, *args)

    def run(**kw: bool) -> tuple[Engine, Outcome]:
        engine = Engine(load_settings([root], {}), [root], jobs=jobs, isolate=False, **kw)
        return engine, engine.run(Policy(unsafe_fixes=True))

    healthy = _seen(run(use_cache=False)[1])
    assert "app/util.py" not in _changed(healthy)  # blocked by other.py's use
    monkeypatch.setattr(index_module, "extract_facts", failing_for_other)
    if failures == 1:
        engine, outcome = run()
        assert len(list(marks.iterdir())) == 1
        assert _seen(outcome) == healthy and engine._answers.settled
        return
    with pytest.raises(ConfigError) as raised:
        run()
    assert str(raised.value) == (
        "the project index could not read app/other.py (MemoryError: this time). Without what it "
        "uses, a rewrite elsewhere could break it, so nothing was changed; run again, or exclude the file"
    )
    monkeypatch.setattr(index_module, "extract_facts", real)
    engine, again = run()
    assert engine._index is not None  # nothing was kept from the run that stopped
    assert _seen(again) == healthy


@pytest.mark.slow  # workers, past 64 files
def test_a_file_that_kills_its_worker_is_tried_again_in_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry of one file stays in a worker process: in this one it would end the run (here,
    the test) without a word."""
    import lazifier.index as index_module

    filler = {f"filler/m{i}.py": f"x{i} = {i}\n" for i in range(70)}
    root = write_tree(tmp_path, {**ENV, **PROJECT, **filler})
    real = index_module.extract_facts

    def dying_on_main(text: str, *args: object) -> object:
        if "def handler" in text:
            os._exit(3)
        return real(text, *args)

    monkeypatch.setattr(index_module, "extract_facts", dying_on_main)
    with pytest.raises(
        ConfigError, match=r"could not read app/main.py \(worker process died \(exit code 3\)\)"
    ):
        Engine(load_settings([root], {}), [root], jobs=2, isolate=False, use_cache=False)


def test_an_extension_read_earlier_in_the_process_is_read_again(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "fixtures" / "app_factory" / "blocked_extension_does_more"
    root = tmp_path / "proj"
    shutil.copytree(fixture, root, symlinks=True)
    (root / "pyproject.toml").write_text("[tool.lazify]\n")
    _, blocked = _run(root)
    assert _changed(blocked) == set()
    assert _run(root)[0]._index is None
    # The extension now does nothing with the app but pass it to `init_app`.
    (root / "venv/lib/python3.11/site-packages/fancy_ext/__init__.py").write_text(
        "class Fancy:\n    def __init__(self, app=None):\n        if app is not None:\n"
        "            self.init_app(app)\n\n    def init_app(self, app):\n        app.extensions['fancy'] = self\n"
    )
    engine, after = _run(root)
    assert engine._index is not None and _changed(after) == {"main.py"}
    assert after == _run(root, use_cache=False)[1]


def test_a_run_taken_again_is_kept_as_the_newest(tmp_path: Path) -> None:
    from lazifier.cache import RUNS, Cache

    cache = Cache(tmp_path)
    cache.put_run("often", "answers")
    for i in range(RUNS - 1):
        cache.put_run(f"other{i}", "answers")
    cache.save()
    again = Cache(tmp_path)
    again.put_run("often", again.get_run("often"))  # taken by a warm run: the newest now
    again.put_run("one more", "answers")
    again.save()
    assert Cache(tmp_path).get_run("often") == "answers"
    assert Cache(tmp_path).get_run("other0") is None  # the oldest went
