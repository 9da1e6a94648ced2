"""An optional-dependency flag reads the same before and after the rewrite, with a real
installed-but-broken package: the value when the import fails with ImportError, the same
exception when it fails with something else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_lazify, write_tree

SERVICE = """\
import logging

try:
    import clip
    import torch
    CLIP_AVAILABLE = True
except ImportError:
    CLIP_AVAILABLE = False


def backend():
    return "clip" if CLIP_AVAILABLE else "fallback"


def encode(text):
    if not CLIP_AVAILABLE:
        return None
    return clip.tokenize(text)
"""

READER = """\
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
def attempt(f):
    try:
        return ("value", f())
    except BaseException as e:
        return ("raises", type(e).__name__, str(e))
def read_attr():
    import svc
    return svc.CLIP_AVAILABLE
def from_import():
    from svc import CLIP_AVAILABLE
    return CLIP_AVAILABLE
def in_module():
    import svc
    return svc.backend()
print(attempt(read_attr), attempt(from_import), attempt(in_module))
"""


def _read(project: Path, site: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-c", READER, str(project), str(site)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("clip_body", "expected"),
    [
        ('raise ImportError("libcudart.so.12: cannot open shared object file")', "('value', False)"),
        ('raise RuntimeError("CUDA driver initialization failed")', "('raises', 'RuntimeError'"),
        ("def tokenize(text):\n    return [text]\n", "('value', True)"),
    ],
    ids=["import-error", "other-error", "works"],
)
def test_flag_reads_the_same(tmp_path: Path, clip_body: str, expected: str) -> None:
    site = write_tree(tmp_path / "site", {"clip/__init__.py": clip_body, "torch/__init__.py": ""})
    project = write_tree(tmp_path / "proj", {"pyproject.toml": "[tool.lazify]\n", "svc.py": SERVICE})
    before = _read(project, site)
    assert expected in before

    result = run_lazify("apply", "--yes", ".", cwd=project)
    assert result.returncode == 0, result.stderr.decode()
    text = (project / "svc.py").read_text()
    assert "def _clip_available()" in text and "def __getattr__(name: str)" in text

    assert _read(project, site) == before


@pytest.mark.slow
def test_flag_assignment_from_outside_wins(tmp_path: Path) -> None:
    """Tests commonly monkeypatch the flag; after the rewrite that must still take effect."""
    site = write_tree(
        tmp_path / "site", {"clip/__init__.py": "def tokenize(t):\n    return [t]\n", "torch/__init__.py": ""}
    )
    project = write_tree(tmp_path / "proj", {"pyproject.toml": "[tool.lazify]\n", "svc.py": SERVICE})
    assert run_lazify("apply", "--yes", ".", cwd=project).returncode == 0
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import svc\n"
        "svc.CLIP_AVAILABLE = False\n"
        "print(svc.backend(), svc.encode('x'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(project), str(site)], capture_output=True, text=True
    )
    assert out.stdout.strip() == "fallback None", out.stderr
