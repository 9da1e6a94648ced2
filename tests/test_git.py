"""Git: the dirty-tree check, --branch and --commit, on real temporary repositories (GitPython),
with the real CLI in a subprocess. The user's global git configuration is kept out: identity
comes from each repository's own config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import git
import pexpect
import pytest
from conftest import LAZIFY, write_tree

NAME, EMAIL = "Lazy Tester", "lazy@example.test"
MOVES_NUMPY = "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n"
SINGLETON = (
    'import sqlite3\n\nconn = sqlite3.connect("x.db")\n\n\ndef q():\n    return conn.execute("select 1")\n'
)
#: One file with a change from each of two codemods.
BOTH = 'import sqlite3\n\nimport numpy as np\n\nconn = sqlite3.connect("y.db")\n\n\ndef f():\n    return np.zeros(1), conn\n'
PLAIN = "import json\n\n\ndef h():\n    return json.dumps(1)\n"


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """No global or system git config, no identity from the environment (also for GitPython
    in this process)."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_DIR",
        "GIT_WORK_TREE",
    ):
        monkeypatch.delenv(var, raising=False)


def lazify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [*LAZIFY, "apply", *args], cwd=cwd, input="", capture_output=True, text=True, env=env, timeout=300
    )


def make_repo(root: Path, files: dict[str, str]) -> git.Repo:
    """A repository with ``files`` committed by someone else than the configured user."""
    write_tree(root, {"pyproject.toml": "[tool.lazify]\n", ".gitignore": ".lazify_cache/\n", **files})
    repo = git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as cw:
        cw.set_value("user", "name", NAME)
        cw.set_value("user", "email", EMAIL)
        cw.set_value("core", "autocrlf", "false")
    repo.git.add("--all")
    repo.index.commit(
        "initial",
        author=git.Actor("Someone", "someone@example.test"),
        committer=git.Actor("Someone", "someone@example.test"),
    )
    return repo


def text(root: Path, rel: str) -> str:
    return (root / rel).read_text()


def expected_with(tmp: Path, files: dict[str, str], *args: str) -> dict[str, str]:
    """What a plain `--yes` run (outside any repository) makes of ``files``."""
    plain = tmp / f"plain{len(list(tmp.glob('plain*')))}"
    write_tree(plain, {"pyproject.toml": "[tool.lazify]\n", **files})
    r = lazify("--yes", *args, ".", cwd=plain)
    assert r.returncode == 0, r.stderr
    return {rel: text(plain, rel) for rel in files}


# ---------------------------------------------------------------------------------------------
# The dirty-tree check


@pytest.mark.slow
def test_dirty_files_are_refused_by_name_and_allow_dirty_overrides(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repo = make_repo(root, {"a.py": MOVES_NUMPY, "b.py": MOVES_NUMPY, "c.py": PLAIN, "d.py": MOVES_NUMPY})
    (root / "a.py").write_text(MOVES_NUMPY + "\n# local edit\n")  # modified, not staged
    (root / "b.py").write_text(MOVES_NUMPY.replace("zeros", "ones"))
    repo.git.add("b.py")  # staged
    (root / "new.py").write_text(MOVES_NUMPY)  # untracked
    (root / "c.py").write_text(PLAIN + "# dirty, but lazify has nothing to do here\n")
    before = {p.name: p.read_bytes() for p in root.glob("*.py")}

    r = lazify("--yes", ".", cwd=root)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert "  a.py (modified)" in lines
    assert "  b.py (modified, staged)" in lines or "  b.py (staged)" in lines, r.stderr
    assert "  new.py (untracked)" in lines
    assert "c.py" not in r.stderr and "d.py" not in r.stderr  # clean, or nothing to rewrite
    assert "--allow-dirty" in r.stderr
    assert {p.name: p.read_bytes() for p in root.glob("*.py")} == before

    # Interactive mode checks before it asks anything.
    child = pexpect.spawn(sys.executable, [*LAZIFY[1:], "apply", "."], cwd=str(root), env={**os.environ, "TERM": "xterm"},
                          encoding="utf-8", timeout=120, dimensions=(40, 160))  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "uncommitted changes" in child.before and "Apply this change?" not in child.before
    assert {p.name: p.read_bytes() for p in root.glob("*.py")} == before

    # A dry run writes nothing, so it doesn't care.
    assert lazify("--dry-run", ".", cwd=root).returncode == 1

    ok = lazify("--yes", "--allow-dirty", ".", cwd=root)
    assert ok.returncode == 0, ok.stderr
    assert "import numpy" not in text(root, "a.py").split("def f")[0]
    assert text(root, "a.py").endswith("# local edit\n")
    for name in ("b.py", "new.py", "d.py"):
        assert "    import numpy as np\n" in text(root, name), name
    assert repo.head.commit.message == "initial"  # nothing committed


# ---------------------------------------------------------------------------------------------
# --branch


@pytest.mark.slow
def test_branch_is_created_at_head_and_checked_out_and_an_existing_name_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repo = make_repo(root, {"a.py": MOVES_NUMPY})
    head = repo.head.commit.hexsha

    taken = lazify("--yes", "--branch", "main", ".", cwd=root)
    assert taken.returncode == 2
    assert "'main' already exists" in taken.stderr
    invalid = lazify("--yes", "--branch", "no..dots", ".", cwd=root)
    assert invalid.returncode == 2
    assert "not a valid branch name" in invalid.stderr
    assert text(root, "a.py") == MOVES_NUMPY and repo.active_branch.name == "main"

    r = lazify("--yes", "--branch", "lazify/cold-start", ".", cwd=root)
    assert r.returncode == 0, r.stderr
    assert repo.active_branch.name == "lazify/cold-start"
    assert repo.head.commit.hexsha == head == repo.heads.main.commit.hexsha  # from HEAD, no commit
    assert "    import numpy as np\n" in text(root, "a.py")
    assert [i.a_path for i in repo.index.diff(None)] == ["a.py"]  # written, left for the user

    again = lazify("--yes", "--branch", "lazify/cold-start", ".", cwd=root)
    assert again.returncode == 2 and "already exists" in again.stderr


# ---------------------------------------------------------------------------------------------
# --commit


@pytest.mark.slow
def test_commit_makes_one_commit_per_codemod_and_leaves_other_staged_changes_staged(tmp_path: Path) -> None:
    files = {"app/__init__.py": "", "app/models.py": MOVES_NUMPY, "app/db.py": SINGLETON, "app/both.py": BOTH}
    root = tmp_path / "repo"
    repo = make_repo(root, {**files, "notes.txt": "notes\n", "other.txt": "other\n"})
    head = repo.head.commit
    (root / "notes.txt").write_text("notes, staged\n")
    repo.git.add("notes.txt")
    (root / "other.txt").write_text("other, not staged\n")

    r = lazify("--yes", "--commit", ".", cwd=root)
    assert r.returncode == 0, r.stderr
    commits = list(repo.iter_commits(f"{head.hexsha}..HEAD", reverse=True))
    # In the order the codemods run: lazy-singletons, then heavy-imports.
    assert [c.summary for c in commits] == [
        "lazify: lazy-singletons (LZY002) in 2 files",
        "lazify: heavy-imports (LZY001) in 2 files",
    ]
    assert "committed" in r.stderr and "lazify: heavy-imports (LZY001) in 2 files" in r.stderr
    first, second = commits
    assert first.parents == (head,) and second.parents == (first,)
    for c in commits:
        assert (c.author.name, c.author.email) == (NAME, EMAIL)
        assert (c.committer.name, c.committer.email) == (NAME, EMAIL)
    assert sorted(first.stats.files) == ["app/both.py", "app/db.py"]
    assert sorted(second.stats.files) == ["app/both.py", "app/models.py"]
    # The message says what changed, where, and why.
    assert (
        "- app/models.py:1: `numpy` is imported at module level but only used inside functions"
        in second.message
    )
    assert "- app/both.py:3: `numpy` is imported" in second.message
    assert "Why: Importing a heavy module" in second.message
    assert '- app/db.py:3: `conn = sqlite3.connect("x.db")` is built at import' in first.message

    # The unrelated staged change is still staged, and in no commit; the unstaged one too.
    assert [d.a_path for d in repo.index.diff("HEAD")] == ["notes.txt"]
    assert repo.git.show(":notes.txt") == "notes, staged"
    assert [d.a_path for d in repo.index.diff(None)] == ["other.txt"]
    assert repo.git.show("HEAD:notes.txt") == "notes"
    # lazify's files are committed exactly as written.
    assert repo.git.status("--porcelain", "--", "app") == ""

    # The last commit is what a single run writes; the one before, lazy-singletons alone.
    single = expected_with(tmp_path, files)
    assert {rel: text(root, rel) for rel in files} == single
    alone = expected_with(tmp_path, files, "--select", "lazy-singletons")
    assert {
        rel: repo.git.show(f"{first.hexsha}:{rel}") + "\n" for rel in files if rel != "app/__init__.py"
    } == {rel: t for rel, t in alone.items() if rel != "app/__init__.py"}


@pytest.mark.slow
def test_commit_refuses_files_with_uncommitted_work_even_with_allow_dirty(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repo = make_repo(root, {"a.py": MOVES_NUMPY})
    (root / "a.py").write_text(MOVES_NUMPY + "# mine\n")
    r = lazify("--yes", "--commit", "--allow-dirty", ".", cwd=root)
    assert r.returncode == 2
    assert "a.py (modified)" in r.stderr and "--commit would commit them" in r.stderr
    assert text(root, "a.py") == MOVES_NUMPY + "# mine\n"
    assert len(list(repo.iter_commits())) == 1


@pytest.mark.slow
def test_commit_without_a_git_identity_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    """lazify commits as the user git names, and never makes one up: where git itself would
    refuse (here: `user.useConfigOnly` and no user configured), nothing is written."""
    root = tmp_path / "repo"
    repo = make_repo(root, {"a.py": MOVES_NUMPY})
    with repo.config_writer() as cw:
        cw.remove_section("user")
        cw.set_value("user", "useConfigOnly", "true")
    r = lazify("--yes", "--commit", ".", cwd=root)
    assert r.returncode == 2, r.stderr
    assert "--commit: git has no identity to commit with" in r.stderr and "user.email" in r.stderr
    assert text(root, "a.py") == MOVES_NUMPY
    assert len(list(repo.iter_commits())) == 1


@pytest.mark.slow
def test_interactive_review_commits_only_what_was_accepted(tmp_path: Path) -> None:
    files = {"a.py": MOVES_NUMPY, "b.py": MOVES_NUMPY.replace("def f", "def g")}
    root = tmp_path / "repo"
    repo = make_repo(root, files)
    child = pexpect.spawn(sys.executable, [*LAZIFY[1:], "apply", "--commit", "--branch", "review", "."], cwd=str(root),
                          env={**os.environ, "TERM": "xterm"}, encoding="utf-8", timeout=120, dimensions=(40, 160))  # fmt: skip
    child.expect(r"q\) quit")
    child.send("s")  # a.py
    child.expect(r"q\) quit")
    child.send("a")  # b.py
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert repo.active_branch.name == "review"
    assert repo.head.commit.summary == "lazify: heavy-imports (LZY001) in 1 file"
    assert list(repo.head.commit.stats.files) == ["b.py"]
    assert text(root, "a.py") == MOVES_NUMPY
    assert repo.git.status("--porcelain") == ""


# ---------------------------------------------------------------------------------------------
# Where lazify runs


@pytest.mark.slow
def test_from_a_subdirectory_paths_are_from_the_repository_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repo = make_repo(
        root,
        {
            "README": "x\n",
            "svc/pyproject.toml": "[tool.lazify]\n",
            "svc/pkg/__init__.py": "",
            "svc/pkg/a.py": MOVES_NUMPY,
            "svc/b.py": MOVES_NUMPY,
        },
    )
    (root / "svc/b.py").write_text(MOVES_NUMPY + "# dirty, but not passed\n")
    r = lazify("--yes", "--commit", ".", cwd=root / "svc" / "pkg")
    assert r.returncode == 0, r.stderr
    assert repo.head.commit.summary == "lazify: heavy-imports (LZY001) in 1 file"
    assert list(repo.head.commit.stats.files) == ["svc/pkg/a.py"]
    assert "- svc/pkg/a.py:1: " in repo.head.commit.message
    assert text(root, "svc/b.py").endswith("# dirty, but not passed\n")

    (root / "svc/pkg/c.py").write_text(MOVES_NUMPY)
    dirty = lazify("--yes", ".", cwd=root / "svc" / "pkg")
    assert dirty.returncode == 2
    assert "  c.py (untracked)" in dirty.stderr.splitlines()  # named as the user would type it


@pytest.mark.slow
def test_in_a_git_worktree(tmp_path: Path) -> None:
    main_root = tmp_path / "main"
    repo = make_repo(main_root, {"a.py": MOVES_NUMPY})
    wt = tmp_path / "wt"
    repo.git.worktree("add", "-b", "feature", str(wt))
    (wt / "a.py").write_text(MOVES_NUMPY + "# wip\n")
    dirty = lazify("--yes", ".", cwd=wt)
    assert dirty.returncode == 2 and "a.py (modified)" in dirty.stderr
    (wt / "a.py").write_text(MOVES_NUMPY)

    r = lazify("--yes", "--commit", "--branch", "feature-lazy", ".", cwd=wt)
    assert r.returncode == 0, r.stderr
    wt_repo = git.Repo(wt)
    assert wt_repo.active_branch.name == "feature-lazy"
    assert wt_repo.head.commit.summary == "lazify: heavy-imports (LZY001) in 1 file"
    assert repo.active_branch.name == "main" and repo.head.commit.summary == "initial"
    assert text(main_root, "a.py") == MOVES_NUMPY  # the main worktree is untouched
    assert repo.git.status("--porcelain") == ""


@pytest.mark.slow
def test_outside_a_repository_git_options_are_refused_and_the_rest_works(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "proj", {"pyproject.toml": "[tool.lazify]\n", "a.py": MOVES_NUMPY})
    assert not (root / ".git").exists()
    for args in (("--branch", "x"), ("--commit",), ("--commit", "--branch", "x")):
        r = lazify("--yes", *args, ".", cwd=root)
        assert r.returncode == 2, args
        assert "need" in r.stderr and "git repository" in r.stderr, r.stderr
        assert text(root, "a.py") == MOVES_NUMPY
    with_dry = lazify("--dry-run", "--commit", ".", cwd=root)
    assert with_dry.returncode == 2 and "--dry-run" in with_dry.stderr

    ok = lazify("--yes", ".", cwd=root)
    assert ok.returncode == 0, ok.stderr
    assert "    import numpy as np\n" in text(root, "a.py")
    shutil.rmtree(root / ".lazify_cache", ignore_errors=True)
