from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# An activated virtualenv is the environment of every project lazify looks at ($VIRTUAL_ENV):
# the tests' projects have their own, or none, whoever runs them.
os.environ.pop("VIRTUAL_ENV", None)
LAZIFY = [sys.executable, "-m", "lazifier"]


def err(r: subprocess.CompletedProcess) -> str:
    return r.stderr.decode(errors="replace")


def concurrently(*calls: Callable[[], subprocess.CompletedProcess]) -> list[subprocess.CompletedProcess]:
    """Independent runs in parallel (each is a separate process; this only saves wall time)."""
    with ThreadPoolExecutor(max_workers=4) as ex:
        futures = [ex.submit(c) for c in calls]
        return [f.result() for f in futures]


def run_lazify(
    *args: str, cwd: Path, input: str | None = None, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The real command, in a subprocess, with stdin closed (not a terminal) unless given."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [*LAZIFY, *args],
        cwd=cwd,
        input=input if input is not None else "",
        capture_output=True,
        text=False,
        env=full_env,
        timeout=timeout,
    )


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8", newline="")
    return root


@pytest.fixture
def project(tmp_path: Path):
    """A fresh project directory with a pyproject.toml; call it with files to add."""

    def make(files: dict[str, str | bytes], config: str = "") -> Path:
        root = tmp_path / "proj"
        root.mkdir(exist_ok=True)
        (root / "pyproject.toml").write_text("[tool.lazify]\n" + config)
        return write_tree(root, files)

    return make


collect_ignore_glob = ["fixtures/*"]


# Helpers shared by the CLI tests: what a rewrite did to a file's imports, which files a patch touches.


def top_level_imports(text: str) -> set[str]:
    names = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def function_imports(text: str, func: str) -> set[str]:
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func:
            return {a.name for s in node.body if isinstance(s, ast.Import) for a in s.names}
    raise AssertionError(f"no function {func}")


def assert_moved(text: str, module: str = "numpy", func: str = "f") -> None:
    assert module not in top_level_imports(text), text
    assert module in function_imports(text, func), text


def diffed_files(patch: bytes) -> list[str]:
    return re.findall(r"(?m)^diff --git a/(\S+) b/", patch.decode(errors="replace"))


# ---------------------------------------------------------------------------------------------
# Tiers. `make check` runs the fast tier (`-m "not slow"`): in-process transforms, the
# snapshots' invariants, the engine with one job. A test that starts a process (the real CLI, a
# pseudo-terminal, git, a formatter, a second interpreter) is slow by definition, and this
# guard holds the definition: in a test not marked `slow`, starting one fails the test.


class _StartsAProcess(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _fast_tier_starts_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("slow") is not None:
        return
    name = request.node.nodeid

    def refuse(*args: object, **kwargs: object) -> None:
        raise _StartsAProcess(f"{name} starts a process: mark it @pytest.mark.slow (see tests/conftest.py)")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(os, "forkpty", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse, raising=False)
