"""lazify doctor on real projects in temporary directories: what importing them costs and does.

Every test here runs real processes (the probe, with the project's interpreter); --runs 1 except
where medians are the point."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from lazifier.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "doctor" / "svc"
APP = ROOT / "examples" / "app"
PROBE = ROOT / "lazifier" / "doctor" / "probe.py"
SCHEMA = json.loads((ROOT / "lazifier" / "doctor" / "schema.json").read_text())


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(
        src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.db", ".lazify_cache", ".pytest_cache")
    )
    return dest


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def doctor(capsys, *args: str) -> tuple[int, str]:
    # A generous per-process timeout: it guards against a hang, and a loaded CI machine (the
    # suite runs these beside other process-heavy tests) can take far longer than 60 s.
    extra = [] if "--timeout" in args else ["--timeout", "300"]
    code = main(["doctor", "--python", sys.executable, *extra, *args])
    return code, capsys.readouterr().out


@pytest.fixture()
def listener(monkeypatch):
    """A real local listener the fixture's net.py connects to at import."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    monkeypatch.setenv("DOCTOR_TEST_PORT", str(s.getsockname()[1]))
    yield s.getsockname()[1]
    s.close()


@pytest.fixture(scope="module")
def svc_json(tmp_path_factory):
    """The fixture project's json report (one run), shared by the tests that read it."""
    project = _copy(FIXTURE, tmp_path_factory.mktemp("svc") / "svc")
    before = _tree(project)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    out = subprocess.run(
        [sys.executable, "-m", "lazifier", "doctor", "--python", sys.executable, "--runs", "1", "--output-format", "json"],
        cwd=project, capture_output=True, text=True, env={**__import__("os").environ, "DOCTOR_TEST_PORT": str(s.getsockname()[1])},
    )  # fmt: skip
    s.close()
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), before, _tree(project), project


def _effect(entry: dict, kind: str) -> dict:
    found = [e for e in entry["side_effects"] if e["kind"] == kind and e["origin"] == "project"]
    assert found, f"no {kind} effect in {[e['kind'] for e in entry['side_effects']]}"
    return found[0]


@pytest.mark.slow
def test_every_effect_with_its_file_line_and_codemod(svc_json):
    doc, *_ = svc_json
    (entry,) = doc["entries"]
    assert entry["source"].endswith("[tool.lazify] entry") and entry["module"] == "svc.main"
    sqlite = _effect(entry, "sqlite")
    assert sqlite["detail"]["database"] == "app.db"
    assert sqlite["statement"] == {"file": "svc/db.py", "line": 3}
    assert sqlite["fix"]["codemod"] == "LZY002" and sqlite["fix"]["safety"] == "safe"
    write = _effect(entry, "open")
    assert write["detail"]["path"] == "written.txt" and write["statement"] == {
        "file": "svc/writer.py",
        "line": 1,
    }
    assert write["fix"]["codemod"] is None and write["fix"]["note"].startswith("no codemod:")
    conn = _effect(entry, "connect")
    assert conn["statement"] == {"file": "svc/net.py", "line": 9} and conn["line"] == {
        "file": "svc/net.py",
        "line": 6,
    }
    assert conn["chain"] == [{"file": "svc/main.py", "line": 4}, {"file": "svc/net.py", "line": 9}]
    thread = _effect(entry, "thread")
    assert thread["statement"] == {"file": "svc/worker.py", "line": 5}
    secret = _effect(entry, "random")
    assert secret["statement"] == {"file": "svc/tokens.py", "line": 9} and secret["line"] == {
        "file": "svc/tokens.py",
        "line": 6,
    }
    assert secret["fix"]["codemod"] == "LZY002" and "tokens = Tokens()" in secret["fix"]["message"]
    assert {f["path"] for f in entry["files_left"]} == {"app.db", "written.txt"}
    assert entry["error"] is None and doc["exit_code"] == 0


@pytest.mark.slow
def test_slow_statement_heavy_package_and_function_local_import(svc_json):
    doc, *_ = svc_json
    (entry,) = doc["entries"]
    slow = next(s for s in entry["statements"] if s["file"] == "svc/slow.py")
    assert slow["line"] == 3 and slow["seconds"] >= 0.25 and slow["fix"]["codemod"] is None
    numpy = next(d for d in entry["distributions"] if d["name"] == "numpy")
    (pkg,) = numpy["packages"]
    assert pkg["statement"] == {"file": "svc/images.py", "line": 1}
    assert pkg["chain"][0] == {"file": "svc/main.py", "line": 8}
    assert pkg["fix"]["codemod"] == "LZY001" and numpy["bytes"] > 1_000_000
    # csv is imported only inside a function: never at import.
    assert not any(n["module"] == "csv" for n in _walk(entry["tree"]))


def _walk(node: dict):
    yield node
    for c in node["children"]:
        yield from _walk(c)


@pytest.mark.slow
def test_doctor_writes_nothing_into_the_project(svc_json):
    _, before, after, _ = svc_json
    assert before == after


@pytest.mark.slow
def test_json_matches_the_documented_schema(svc_json):
    doc, *_ = svc_json
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.slow
def test_an_import_that_raises_is_a_finding(tmp_path, capsys):
    project = _copy(FIXTURE, tmp_path / "svc")
    code, out = doctor(
        capsys, "--runs", "1", "--output-format", "json", "--project", str(project), "svc.broken"
    )
    doc = json.loads(out)
    err = doc["entries"][0]["error"]
    assert code == 1 and doc["exit_code"] == 1
    assert err["type"] == "builtins.FileNotFoundError"
    assert err["statement"] == {"file": "svc/broken.py", "line": 3}
    assert err["line"] == {"file": "svc/settings_loader.py", "line": 5}
    assert [f["file"] for f in err["traceback"]] == ["svc/broken.py", "svc/settings_loader.py"]
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.slow
def test_budget_strict_and_exit_codes(tmp_path, capsys, listener):
    project = _copy(FIXTURE, tmp_path / "svc")
    code, out = doctor(
        capsys, "--runs", "1", "--project", str(project), "--budget", "1ms", "--output-format", "github"
    )
    assert code == 1
    assert "::error" in out and "title=lazify doctor%3A over-budget" in out
    assert "::warning file=svc/db.py,line=3,title=lazify doctor%3A side-effect/sqlite::" in out
    code, out = doctor(
        capsys,
        "--runs",
        "1",
        "--project",
        str(project),
        "--budget",
        "60s",
        "--strict",
        "--output-format",
        "sarif",
        "svc.db",
    )
    sarif = json.loads(out)
    assert code == 1 and sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"side-effect/sqlite", "side-effect/file-left"}
    sqlite = next(r for r in results if r["ruleId"] == "side-effect/sqlite")
    assert (
        sqlite["level"] == "error" and sqlite["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    )
    code, _ = doctor(capsys, "--runs", "1", "--project", str(project), "--budget", "60s", "svc.later")
    assert code == 0


def test_doctor_cant_work_exit_2(tmp_path, capsys):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "index.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '0'\n")
    assert main(["doctor", "--project", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no entry point" in err and "lazify doctor api/index.py" in err
    assert (
        main(["doctor", "--project", str(tmp_path), "--python", str(tmp_path / "nope"), "api/index.py"]) == 2
    )
    assert "no such interpreter" in capsys.readouterr().err


def test_help_says_it_runs_the_users_code(capsys):
    with pytest.raises(SystemExit):
        main(["doctor", "--help"])
    out = capsys.readouterr().out
    assert "RUNS THE PROJECT'S CODE" in out and "apply` never does" in out


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.10.13", "3.11.7", "3.12.1", "3.13.0"])
def test_probe_runs_on_each_python(tmp_path, version):
    """The probe is a plain file: each interpreter runs it on a stdlib-only project."""
    python = Path(f"/root/.pyenv/versions/{version}/bin/python")
    if not python.exists():
        pytest.skip(f"Python {version} is not installed at {python}")
    pkg = tmp_path / "proj" / "app"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "main.py").write_text(
        "import sqlite3, secrets, threading, time\n"
        "conn = sqlite3.connect('x.db')\n"
        "KEY = secrets.token_hex(4)\n"
        "threading.Thread(target=time.sleep, args=(0,)).start()\n"
        "time.sleep(0.05)\n"
    )  # fmt: skip
    out = tmp_path / "out.json"
    proc = subprocess.run([str(python), "-B", "-X", "importtime", str(PROBE), str(out), str(tmp_path / "proj"), "app.main", "", "1"],
                          cwd=tmp_path / "proj", capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["python"] == version
    kinds = {(e[0], e[2][-1][1]) for e in data["effects"]}
    assert {("sqlite", 2), ("random", 3), ("thread", 4)} <= kinds
    assert data["lines"]["app/main.py:5"] >= 0.04
    assert "lazifier" not in " ".join(data["modules"])


@pytest.mark.slow
def test_example_app_report_names_every_readme_hazard(tmp_path, capsys):
    app = _copy(APP, tmp_path / "app")
    code, out = doctor(capsys, "--runs", "1", "--project", str(app), "--output-format", "json")
    doc = json.loads(out)
    (entry,) = doc["entries"]
    assert entry["source"] == "vercel.json" and entry["file"] == "api/index.py"
    effects = {(e["kind"], e["statement"]["file"], e["statement"]["line"], e["fix"]["codemod"])
               for e in entry["side_effects"] if e["origin"] == "project"}  # fmt: skip
    assert ("random", "src/middleware/csrf.py", 59, "LZY002") in effects
    assert ("sqlite", "src/middleware/security.py", 87, "LZY002") in effects
    assert ("mkdir", "src/middleware/security.py", 87, "LZY002") in effects
    assert ("sqlite", "src/services/cache_service.py", 23, "LZY002") in effects
    # A value read from the environment by module-level code is frozen at import (the README's
    # `ADMIN_API_KEY = os.getenv(...)`); reads a package makes, or a function called later
    # would make again, are not listed.
    env = {(e["detail"]["name"], e["statement"]["file"], e["statement"]["line"])
           for e in entry["side_effects"] if e["kind"] == "env"}  # fmt: skip
    assert ("ADMIN_API_KEY", "src/api/endpoints/admin.py", 15) in env
    assert ("CACHE_DATABASE_URL", "src/services/cache_service.py", 22) in env
    assert not any(name.startswith(("PYDANTIC", "FASTAPI", "OTEL")) for name, _, _ in env), env
    assert {f["path"] for f in entry["files_left"]} == {"audit.db", "cache.db"}
    packages = {p["name"]: p for d in entry["distributions"] for p in d["packages"]}
    assert packages["numpy"]["statement"]["line"] == 12 and packages["numpy"]["fix"]["codemod"] == "LZY001"
    assert packages["PIL"]["statement"]["line"] == 13 and packages["PIL"]["fix"]["codemod"] == "LZY001"
    assert packages["redis"]["statement"] == {"file": "src/services/cache_service.py", "line": 13}
    assert packages["sqlalchemy"]["statement"]["file"] == "src/services/cache_service.py"
    missing = {m["module"]: m for m in entry["missing_imports"]}
    assert missing["clip"]["statement"]["line"] == 16 and missing["clip"]["fix"]["codemod"] == "LZY001"
    statements = {(s["file"], s["line"]): s["fix"]["codemod"] for s in entry["statements"]}
    for where, codemod in {
        ("src/services/cache_service.py", 22): "LZY002", ("src/middleware/security.py", 87): "LZY002",
        ("src/middleware/csrf.py", 59): "LZY002", ("src/api/main.py", 24): "LZY004",
        ("src/api/endpoints/products.py", 12): "LZY002", ("src/services/cache_service.py", 25): "LZY002",
    }.items():  # fmt: skip
        assert statements.get(where) == codemod, where
    assert code == 0
    assert not (APP / "audit.db").exists() and not (APP / "cache.db").exists()


@pytest.mark.slow
def test_preview_on_the_example_app(tmp_path, capsys):
    """Before: the SQLite files and the heavy packages; after `lazify apply`: none of them, and a
    lower import time (fresh processes, before and after interleaved run by run; CPU time, which
    a loaded machine disturbs far less than wall-clock, and of the fastest run)."""
    app = _copy(APP, tmp_path / "app")
    _code, out = doctor(capsys, "--runs", "3", "--project", str(app), "--preview", "--output-format", "json")
    doc = json.loads(out)
    before, after = doc["entries"][0], doc["preview"]["entries"][0]
    assert doc["preview"]["applied"]
    names = lambda e: {d["name"] for d in e["distributions"]}  # noqa: E731
    assert {"numpy", "pillow"} <= names(before) and not {"numpy", "pillow"} & names(after)
    assert {f["path"] for f in before["files_left"]} == {"audit.db", "cache.db"} and after["files_left"] == []
    assert not [e for e in after["side_effects"] if e["origin"] == "project" and e["kind"] != "env"]
    # No codemod reads settings later: the module-level `os.getenv` stays, and is still shown.
    assert any(e["kind"] == "env" and e["detail"]["name"] == "ADMIN_API_KEY" for e in after["side_effects"])
    assert after["modules_loaded"] < before["modules_loaded"]
    assert len(before["timing"]["import"]["runs"]) == 3
    # The fastest of the runs: a loaded machine slows single runs, never speeds one up.
    assert after["timing"]["import_cpu"]["min"] < before["timing"]["import_cpu"]["min"]
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.slow
def test_text_report_fits_a_screen_with_every_effect_in_the_tree(tmp_path, capsys):
    """The default text: the measured tree carries every side effect of the project, at its
    statement's line, each pointing at a numbered fix written out once below; every rewrite
    the report knows of is named; it fits one screen. ``-v`` keeps every figure."""
    from lazifier.doctor.render import render_text

    app = _copy(APP, tmp_path / "app")
    _code, out = doctor(capsys, "--runs", "1", "--project", str(app), "--output-format", "json")
    doc = json.loads(out)
    text = render_text(doc)
    lines = text.splitlines()
    # One screen: about 60 rows, besides the few slow statements no codemod rewrites (at most
    # three, whose count depends on how loaded the machine is).
    slow = next((i for i, x in enumerate(lines) if x.startswith("Slow module-level")), None)
    varying = lines[slow : lines.index("", slow)] if slow is not None else []
    assert len(lines) - len(varying) <= 60 and len(varying) <= 1 + 3 * 3, text
    tree = lines[lines.index(next(x for x in lines if x.startswith("Import tree"))) :]
    tree = tree[: tree.index("")]
    fixes = text[text.index("\nFixes") :]
    numbered = dict(re.findall(r"^  \[(\d+)\] (.*)$", fixes, re.M))
    (entry,) = doc["entries"]
    for effect in (e for e in entry["side_effects"] if e["origin"] == "project"):
        stmt = effect["statement"]
        mark = next(x for x in tree if effect["summary"] in x and f"{stmt['file']}:" in x)
        assert str(stmt["line"]) in mark.split(" at ")[-1], mark
        (n,) = re.findall(r"\[(\d+)\]$", mark)
        fix = effect["fix"]
        expected = f"{fix['file']}:{fix['line']}  {fix['codemod']}" if fix["codemod"] else "by hand"
        assert numbered[n].startswith(expected), (mark, numbered[n])
    # Every default rewrite the report ties to a line is named, numbered or in the "also" line.
    named = " ".join(fixes.split())
    for s in entry["statements"]:
        if s["fix"]["applied_by_default"]:
            assert f"{s['fix']['file']}:{s['fix']['line']}" in named, s
    assert "numpy" in " ".join(lines[lines.index(next(x for x in lines if x.startswith("Time by"))) :][:4])
    # The summary counts the rewrites the list names (every one here applies by default).
    also = re.findall(r"LZY\d+ \S+:\d+", named[named.index("also, under 1 ms") :])
    codemods = [v for v in numbered.values() if not v.startswith("by hand")]
    assert f"; {len(codemods) + len(also)} fixed by `lazify apply`" in lines[-1], lines[-1]
    verbose = render_text(doc, verbose=True)
    # A project module that a package imports while it loads (an app registry importing the
    # project's models): its node sits under the package's, and its effects are marked there.
    parent, node = _find(entry["tree"], "src.middleware.security")
    parent["children"] = [
        {**node, "module": "registry", "group": "registry-dist", "file": None, "children": [node]}
        if c is node else c for c in parent["children"]
    ]  # fmt: skip
    nested = render_text(doc)
    assert "└─ src.middleware.security" in nested or "├─ src.middleware.security" in nested
    assert (
        "not in the tree" not in nested
        and "sqlite3.connect('audit.db')  at src/middleware/security.py:87" in nested
    )
    assert len(verbose.splitlines()) > len(lines)
    assert all(f"{s['file']}:{s['line']}" in verbose for s in entry["statements"])


@pytest.mark.slow
def test_text_tree_marks_effects_of_a_module_whose_import_failed(tmp_path, capsys, monkeypatch):
    """Nothing listens on the port: svc.net's connect raises, so svc.net has no node in the
    import tree; its effects are still marked, under its file, with their fixes."""
    from lazifier.doctor.render import render_text

    project = _copy(FIXTURE, tmp_path / "svc")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    monkeypatch.setenv("DOCTOR_TEST_PORT", str(closed.getsockname()[1]))
    _code, out = doctor(capsys, "--runs", "1", "--output-format", "json", "--project", str(project))
    closed.close()
    doc = json.loads(out)
    (entry,) = doc["entries"]
    assert entry["error"] and entry["error"]["statement"]["file"] == "svc/net.py"
    text = render_text(doc)
    tree = text[text.index("Import tree") : text.index("\nFixes")]
    assert "svc/net.py  (not in the tree: its import did not finish)" in tree
    for effect in (e for e in entry["side_effects"] if e["origin"] == "project"):
        assert f"{effect['summary']}  at {effect['statement']['file']}:" in tree, effect
    # An import that fails before -X importtime records a line has no tree: the effects stay.
    entry["tree"] = None
    text = render_text(doc)
    assert "Side effects at import (no import tree was recorded" in text
    for effect in (e for e in entry["side_effects"] if e["origin"] == "project"):
        assert f"{effect['summary']}  at {effect['statement']['file']}:" in text, effect


def _find(tree: dict, module: str, parent: dict | None = None) -> tuple[dict, dict]:
    """(parent, node) of ``module`` in a doctor import tree."""
    if tree["module"] == module and parent is not None:
        return parent, tree
    for child in tree["children"]:
        try:
            return _find(child, module, tree)
        except LookupError:
            continue
    raise LookupError(module)
