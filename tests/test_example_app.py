"""The bundled example app, rewritten by the real CLI, must still pass its own tests and import
without loading heavy modules."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_lazify

APP = ROOT / "examples" / "app"

#: Imports the app in a fresh process and records what the import did: heavy modules loaded,
#: files opened for writing, SQLite connections, secrets drawn, project constructors run.
PROBE = r"""
import json, os, secrets, sys
app = sys.argv[1]
sys.path.insert(0, app)
events = []
def hook(event, args):
    if event == "open" and args[1] and any(c in str(args[1]) for c in "wax+"):
        events.append("open for writing: " + str(args[0]))
    elif event == "sqlite3.connect":
        events.append("sqlite3.connect: " + str(args[0]))
sys.addaudithook(hook)
drawn = []
token_urlsafe = secrets.token_urlsafe
def counted(*a, **k):
    drawn.append(1)
    return token_urlsafe(*a, **k)
secrets.token_urlsafe = counted
inits = []
def profile(frame, event, arg):
    code = frame.f_code
    if event == "call" and code.co_name == "__init__" and code.co_filename.startswith(app):
        inits.append(os.path.relpath(code.co_filename, app))
sys.setprofile(profile)
import api.index  # noqa: F401
sys.setprofile(None)
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"numpy", "PIL", "torch", "clip"})
print(json.dumps({"heavy": heavy, "files": sorted(os.listdir(".")), "events": events,
                  "secrets": len(drawn), "inits": sorted(set(inits))}))
"""

SINGLETON_CLASSES = {
    "src/middleware/csrf.py",
    "src/middleware/security.py",
    "src/middleware/audit_logger.py",
    "src/services/image_processing_service.py",
}


def _copy_app(tmp_path: Path) -> Path:
    dest = tmp_path / "app"
    shutil.copytree(
        APP, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.db", ".lazify_cache")
    )
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
        cwd=app,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def _calls_of(nodes: list[ast.stmt], methods: set[str]) -> list[str]:
    """``app.<method>(...)`` calls made by these statements (not inside nested functions)."""
    found = []
    todo: list[ast.AST] = list(nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [
                ast.unparse(d) for d in node.decorator_list if any(m in ast.unparse(d) for m in methods)
            ]
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in methods:
            found.append(ast.unparse(node))
        todo.extend(ast.iter_child_nodes(node))
    return found


def assert_factory_holds_the_middleware(text: str) -> None:
    tree = ast.parse(text)
    factory = next(s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "create_app")
    top = [s for s in tree.body if s is not factory]
    kinds = {"add_middleware", "middleware", "exception_handler", "include_router"}
    inside = _calls_of(factory.body, kinds)
    assert _calls_of(top, kinds) == [], "every registration moved into create_app()"
    assert (
        sum("add_middleware" in c for c in inside) == 3
        and sum("middleware('http')" in c for c in inside) == 2
    )
    assert sum("include_router" in c for c in inside) == 3
    assert any(isinstance(s, ast.Assign) and ast.unparse(s) == "app = create_app()" for s in top)


@pytest.mark.slow
def test_example_app_after_apply_yes(tmp_path: Path) -> None:
    app = _copy_app(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    before = _import_probe(app, empty)
    assert before["heavy"] == ["PIL", "numpy"], "the example app should start out import-heavy"
    assert before["files"] == ["audit.db", "cache.db"] and before["secrets"] == 1
    assert SINGLETON_CLASSES <= set(before["inits"])

    result = run_lazify("apply", "--yes", ".", cwd=app)
    assert result.returncode == 0, result.stderr.decode()

    tests = _app_tests(app)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    after = _import_probe(app, fresh)
    assert after["heavy"] == []
    assert after["files"] == [], "importing the app must create no file"
    assert after["events"] == [], "importing the app must open no database and write no file"
    assert after["secrets"] == 0, "importing the app must draw no secret"
    assert not SINGLETON_CLASSES & set(after["inits"]), after["inits"]
    assert_factory_holds_the_middleware((app / "src" / "api" / "main.py").read_text())

    again = run_lazify("apply", "--dry-run", ".", cwd=app)
    assert again.returncode == 0, again.stderr.decode()
    assert again.stdout == b""
