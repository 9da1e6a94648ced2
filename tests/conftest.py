from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAZIFY = [sys.executable, "-m", "lazifier"]


def run_lazify(*args: str, cwd: Path, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
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
        timeout=300,
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
