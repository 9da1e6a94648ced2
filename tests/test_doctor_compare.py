"""``lazify doctor --compare REF``: a git revision against the working tree, in real temporary
git repositories with real commits; every measurement is real probe processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from lazifier.cli import main

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "lazifier" / "doctor" / "schema.json").read_text())

pytestmark = pytest.mark.slow


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)


def commit(repo: Path, message: str, files: dict[str, str]) -> None:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A service with one entry, svc.main, at its first commit."""
    root = tmp_path / "service"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    commit(root, "a small service", {
        "pyproject.toml": "[project]\nname = 'service'\nversion = '0'\n\n[tool.lazify]\nentry = ['svc.main']\n",
        "svc/__init__.py": "",
        "svc/main.py": "import json\n\nfrom svc import report\n\nAPP = {'name': 'service'}\n",
        "svc/report.py": '"""Reports."""\nimport os\n\n\ndef render(rows):\n    return len(rows)\n',
    })  # fmt: skip
    return root


def doctor(capsys, root: Path, *args: str) -> tuple[int, dict, str]:
    common = ["doctor", "--python", sys.executable, "--timeout", "300", "--project", str(root)]
    code = main([*common, "--output-format", "json", *args])
    captured = capsys.readouterr()
    assert captured.out, captured.err
    doc = json.loads(captured.out)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    return code, doc, captured.err


def worktrees(root: Path) -> list[str]:
    return [
        line
        for line in git(root, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


def test_a_commit_that_adds_a_heavy_import(repo, capsys):
    pytest.importorskip("numpy")
    commit(repo, "reports use numpy", {
        "svc/report.py": '"""Reports."""\nimport os\nimport numpy\n\n\ndef render(rows):\n    return numpy.asarray(rows).sum()\n',
    })  # fmt: skip
    code, doc, _ = doctor(capsys, repo, "--runs", "3", "--compare", "HEAD~1", "--max-regression", "30ms")
    (cmp,) = doc["compare"]["comparisons"]
    assert code == 1 and cmp["regression"]
    assert cmp["distributions"]["added"] == ["numpy"] and cmp["size"]["delta"] > 1_000_000
    top = cmp["responsible"][0]
    assert top["line"] == {"file": "svc/report.py", "line": 3} and top["text"] == "import numpy"
    assert top["seconds"] > 0.03 and "numpy" in top["modules"]
    (reason,) = doc["verdict"]["reasons"]
    assert reason.startswith("svc.main: ") and "slower than HEAD~1" in reason
    assert reason.endswith("through svc/report.py:3 import numpy")
    assert len(cmp["time"]["ref_runs"]) == 3 and len(cmp["time"]["work_runs"]) == 3
    assert doc["compare"]["subject"] == "a small service" and len(doc["compare"]["entries"]) == 1
    assert len(worktrees(repo)) == 1  # the temporary worktree is gone
    # The text report says the same, side by side.
    main(["doctor", "--python", sys.executable, "--project", str(repo), "--runs", "2", "--compare", "HEAD~1",
          "--max-regression", "30ms"])  # fmt: skip
    out = capsys.readouterr().out
    assert "== Compare: HEAD~1" in out and "working tree" in out and "+numpy" in out
    assert "adds " in out and " through svc/report.py:3 import numpy" in out and "REGRESSION" in out


def test_a_commit_that_adds_a_module_level_sqlite_connection(repo, capsys):
    commit(repo, "cache reports", {
        "svc/db.py": "import sqlite3\n\nconn = sqlite3.connect('reports.db')\n",
        "svc/main.py": "import json\n\nfrom svc import db, report\n\nAPP = {'name': 'service'}\n",
    })  # fmt: skip
    code, doc, _ = doctor(capsys, repo, "--runs", "2", "--compare", "HEAD~1", "--max-regression", "10s")
    (cmp,) = doc["compare"]["comparisons"]
    assert code == 1 and not cmp["regression"] and cmp["new_side_effects"]
    (added,) = cmp["side_effects"]["added"]
    assert added["kind"] == "sqlite" and added["statement"] == {"file": "svc/db.py", "line": 3}
    assert added["fix"]["codemod"] == "LZY002"
    assert [f["path"] for f in cmp["side_effects"]["files_left_added"]] == ["reports.db"]
    assert (
        "svc.main: a side effect HEAD~1 did not have: sqlite3.connect('reports.db') at svc/db.py:3"
        in doc["verdict"]["reasons"]
    )


def test_an_unchanged_tree_passes_with_the_noise_shown(repo, capsys):
    code, doc, _ = doctor(capsys, repo, "--runs", "5", "--compare", "main")
    (cmp,) = doc["compare"]["comparisons"]
    assert code == 0 and doc["verdict"]["reasons"] == []
    assert not cmp["regression"] and not cmp["new_side_effects"] and cmp["responsible"] == []
    assert cmp["distributions"] == {"added": [], "removed": []} and cmp["time"]["noise"] is not None
    assert doc["compare"]["max_regression"] == {"text": "10%", "percent": 10.0, "seconds": None}
    main(["doctor", "--python", sys.executable, "--project", str(repo), "--runs", "3", "--compare", "main"])
    out = capsys.readouterr().out
    assert "noise ±" in out and "within --max-regression 10%" in out
    assert len(worktrees(repo)) == 1


def test_uncommitted_work_is_what_is_measured(repo, capsys):
    """The working tree, not HEAD: an edit not yet committed is compared with REF."""
    write(repo, {"svc/report.py": "import os\nimport sqlite3\n\nDB = sqlite3.connect(':memory:')\n"})
    code, doc, _ = doctor(capsys, repo, "--runs", "1", "--compare", "HEAD", "--max-regression", "10s")
    (cmp,) = doc["compare"]["comparisons"]
    assert code == 1 and cmp["side_effects"]["added"][0]["statement"] == {"file": "svc/report.py", "line": 4}


def test_a_project_in_a_subdirectory_of_the_repository(tmp_path, capsys):
    top = tmp_path / "mono"
    top.mkdir()
    git(top, "init", "-q")
    git(top, "config", "user.email", "dev@example.com")
    git(top, "config", "user.name", "dev")
    commit(top, "api", {"services/api/pyproject.toml": "[project]\nname = 'api'\nversion = '0'\n",
                        "services/api/app.py": "X = 1\n"})  # fmt: skip
    code, doc, _ = doctor(capsys, top / "services" / "api", "--runs", "1", "--compare", "HEAD", "app.py")
    assert code == 0 and doc["compare"]["entries"][0]["error"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compare", "no-such-branch"], "--compare no-such-branch: no such revision in"),
        (
            ["--compare", "HEAD", "--max-regression", "fast"],
            "--max-regression: 'fast' is not a threshold (say 10% or 50ms)",
        ),
        (["--max-regression", "10%"], "--max-regression: only with --compare REF"),
        (["--compare=-x"], "--compare -x: not a revision"),
    ],
)
def test_bad_compare_options_are_usage_errors(repo, capsys, args, message):
    code = main(["doctor", "--python", sys.executable, "--project", str(repo), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


def test_compare_outside_a_git_repository(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
    (tmp_path / "app.py").write_text("X = 1\n")
    code = main(
        ["doctor", "--python", sys.executable, "--project", str(tmp_path), "--compare", "main", "app.py"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--compare main:" in err and "is not in a git repository" in err
