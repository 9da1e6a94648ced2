"""The bundled example app, rewritten by the real CLI, must still pass its own tests and import
without loading heavy modules."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_lazify

APP = ROOT / "examples" / "app"

PROBE = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import api.index  # noqa: F401
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"numpy", "PIL", "torch", "clip"})
print(json.dumps({"heavy": heavy, "files": sorted(os.listdir("."))}))
"""


def _copy_app(tmp_path: Path) -> Path:
    dest = tmp_path / "app"
    shutil.copytree(APP, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.db", ".lazify_cache"))
    return dest


def _import_probe(app: Path, cwd: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(app)], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _app_tests(app: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=app, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.slow
def test_example_app_after_apply_yes(tmp_path: Path) -> None:
    app = _copy_app(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    before = _import_probe(app, empty)
    assert before["heavy"] == ["PIL", "numpy"], "the example app should start out import-heavy"

    result = run_lazify("apply", "--yes", ".", cwd=app)
    assert result.returncode == 0, result.stderr.decode()

    tests = _app_tests(app)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    after = _import_probe(app, fresh)
    assert after["heavy"] == []

    again = run_lazify("apply", "--dry-run", ".", cwd=app)
    assert again.returncode == 0, again.stderr.decode()
    assert again.stdout == b""
