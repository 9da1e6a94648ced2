"""pre-commit hooks and the GitHub Actions workflow in the README, run for real.

The hooks' entries run through the real CLI with file arguments, as pre-commit passes them;
``pre-commit try-repo`` installs this repository (a clone of the working tree) into its own
environment and runs the hooks, when pre-commit is installed (PyPI is the only network it needs).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import LAZIFY, ROOT, assert_moved, diffed_files, write_tree

from lazifier.cli import build_parser

HOOKS = ROOT / ".pre-commit-hooks.yaml"
MOVES_NUMPY = "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n"
GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1"}
COMMIT = [
    "-c",
    "user.name=lazify tests",
    "-c",
    "user.email=tests@example.invalid",
    "-c",
    "commit.gpgsign=false",
]


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    r = subprocess.run(["git", *COMMIT, *args], cwd=cwd, capture_output=True, env=GIT_ENV, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    return r


def hooks() -> dict[str, dict]:
    data = yaml.safe_load(HOOKS.read_text())
    assert isinstance(data, list)
    return {h["id"]: h for h in data}


def consumer_project(tmp_path: Path) -> Path:
    """A git project with a file to rewrite, one excluded by its config, and one not Python."""
    root = write_tree(tmp_path / "proj", {
        "pyproject.toml": '[tool.lazify]\nextend-exclude = ["legacy/"]\n',
        "app/__init__.py": "",
        "app/a.py": MOVES_NUMPY,
        "app/plain.py": "import json\n\n\ndef h():\n    return json.dumps(1)\n",
        "legacy/old.py": MOVES_NUMPY,
        "notes.txt": "import numpy\n",
    })  # fmt: skip
    git("init", "-q", ".", cwd=root)
    git("add", "-A", cwd=root)
    return root


def test_hooks_manifest() -> None:
    found = hooks()
    assert set(found) == {"lazify", "lazify-fix"}
    for hook in found.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["python"]
        assert hook["require_serial"] is True
        assert hook["name"] and hook["entry"].startswith("lazify apply ")
        args = build_parser().parse_args([*shlex.split(hook["entry"])[1:], "x.py"])
        assert args.force_exclude
    assert build_parser().parse_args(shlex.split(found["lazify"]["entry"])[1:]).dry_run
    assert build_parser().parse_args(shlex.split(found["lazify-fix"]["entry"])[1:]).yes


def _run_entry(entry: str, root: Path) -> subprocess.CompletedProcess:
    """The hook's entry with the files pre-commit would pass (`types: [python]`)."""
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py") if ".git" not in p.parts)
    argv = shlex.split(entry)
    assert argv[0] == "lazify"
    return subprocess.run(
        [*LAZIFY, *argv[1:], *files], cwd=root, capture_output=True, env=GIT_ENV, timeout=300
    )


@pytest.mark.slow
def test_check_hook_entry_with_file_arguments(tmp_path: Path) -> None:
    root = consumer_project(tmp_path)
    r = _run_entry(hooks()["lazify"]["entry"], root)
    assert r.returncode == 1, r.stderr.decode()
    # The excluded file is passed too, and left alone.
    assert diffed_files(r.stdout) == ["app/a.py"]
    assert "1 file would be rewritten" in r.stderr.decode()


@pytest.mark.slow
def test_fix_hook_entry_with_file_arguments(tmp_path: Path) -> None:
    root = consumer_project(tmp_path)
    r = _run_entry(hooks()["lazify-fix"]["entry"], root)
    assert r.returncode == 0, r.stderr.decode()
    assert_moved((root / "app/a.py").read_text())
    assert (root / "legacy/old.py").read_text() == MOVES_NUMPY
    again = _run_entry(hooks()["lazify"]["entry"], root)
    assert again.returncode == 0 and again.stdout == b""


def _pre_commit() -> str:
    exe = shutil.which(
        "pre-commit", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if exe is None:
        # pre-commit is in the `test` extra: missing means a broken install, not a skip.
        pytest.fail("pre-commit is not installed (pip install -e '.[test]')")
    return exe


@pytest.mark.slow
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    """pre-commit installs lazify from a clone of this working tree and runs both hooks."""
    pre_commit = _pre_commit()
    clone = tmp_path / "clone"
    git("clone", "-q", str(ROOT), str(clone), cwd=tmp_path)
    # The working tree as it is (committed or not), without what .gitignore leaves out.
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True, env=GIT_ENV,
    ).stdout.decode().split("\0")  # fmt: skip
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / rel)
    git("add", "-A", cwd=clone)
    git("commit", "-q", "--allow-empty", "-m", "working tree", cwd=clone)

    root = consumer_project(tmp_path)
    env = {**GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PRE_COMMIT_COLOR": "never"}

    def try_repo(hook: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [pre_commit, "try-repo", str(clone), hook, "--all-files", "--verbose"],
            cwd=root, capture_output=True, env=env, timeout=600,
        )  # fmt: skip

    check = try_repo("lazify")
    out = check.stdout.decode()
    assert check.returncode == 1, out + check.stderr.decode()
    assert re.search(r"lazify \(check\)\.+Failed", out), out
    assert (
        "diff --git a/app/a.py b/app/a.py" in out
        and "legacy/old.py" not in out.split("Using config")[-1].split("Failed")[-1]
    )

    fix = try_repo("lazify-fix")
    out = fix.stdout.decode()
    assert fix.returncode == 1, out  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in out, out
    assert_moved((root / "app/a.py").read_text())
    assert (root / "legacy/old.py").read_text() == MOVES_NUMPY


# ---------------------------------------------------------------------------------------------
# The README's snippets


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


def test_readme_pre_commit_snippet_and_workflow() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [yaml.safe_load(b) for b in _yaml_blocks(readme)]
    configs = [b for b in blocks if isinstance(b, dict) and "repos" in b]
    workflows = [b for b in blocks if isinstance(b, dict) and "jobs" in b]
    assert configs and workflows

    ids = set(hooks())
    parser = build_parser()
    for config in configs:
        for repo in config["repos"]:
            if repo["repo"] == "local":
                for hook in repo["hooks"]:
                    assert hook["entry"] == hooks()[hook["id"]]["entry"]
                    assert hook["additional_dependencies"] == ["lazify-codemods"]
            else:
                assert repo["rev"]
                assert {h["id"] for h in repo["hooks"]} <= ids

    commands = []
    for workflow in workflows:
        assert workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1 reads `on` as true
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                for line in str(step.get("run", "")).splitlines():
                    if line.strip().startswith("lazify "):
                        commands.append(line.strip())
    assert any("--output-format github" in c for c in commands), commands
    assert any("--output-format sarif" in c for c in commands), commands
    for command in commands:
        argv = shlex.split(command.split(">")[0])
        args = parser.parse_args(argv[1:])  # exits (fails the test) on an unknown option
        assert args.command == "apply"
    # The annotating job fails on changes: a dry run without --exit-zero.
    github = [c for c in commands if "--output-format github" in c]
    assert all(("--dry-run" in c or "--check" in c) and "--exit-zero" not in c for c in github)
