#!/usr/bin/env python
"""Check the ``app-factory`` codemod (LZY004) on FastAPI's own tutorial apps and their tests.

FastAPI's source distribution ships the tutorial apps of its documentation (``docs_src/``) and
the tests that exercise them (``tests/test_tutorial/``). This script:

1. gets the sdist of the installed FastAPI version (``pip download fastapi==<version>
   --no-binary :all: --no-deps``, cached in ``build/fastapi-sdist/``; ``--source DIR`` uses an
   already-extracted copy instead);
2. extracts ``docs_src/``, ``tests/``, ``docs/`` and ``pyproject.toml`` twice into a temporary directory,
   ``untouched/`` and ``rewritten/`` (never the sdist's ``fastapi/`` package: the tests import
   the installed FastAPI);
3. counts the examples: ``.py`` files under ``docs_src/`` with a module-level ``app = FastAPI(``
   line (at column 0);
4. runs ``lazify apply --yes --select app-factory --output-format json --no-cache -j 1 docs_src``
   in ``rewritten/`` (with a ``[tool.lazify]`` table appended to its ``pyproject.toml`` that
   declares the ``docs_src`` directories without ``__init__.py`` as namespace packages, so the
   modules are named ``docs_src.…`` as the tests import them). Every example must come out
   rewritten, blocked with a reason, or with an error; one with none of these is a failure;
5. runs ``python -m pytest tests/test_tutorial`` in both copies (FastAPI's own pytest
   configuration, ``--junitxml`` for per-test outcomes) and compares the test IDs that pass:
   every ID that passes on the untouched copy must pass on the rewritten one;
6. imports every rewritten example in both copies (one process per copy) and compares the
   untouched module's ``app`` with the rewritten module's ``app`` and with a fresh
   ``create_app()``: routes (type, path, methods, name), middleware, exception handlers, startup
   and shutdown handlers and the OpenAPI schema; this also covers the examples no test imports;
7. prints a summary and writes ``build/fastapi-tutorials.json``.

The tests need FastAPI's test dependencies, which the project's venv lacks, so they run with a
separate interpreter: ``build/tutorial-venv/bin/python`` when it exists (``--python`` chooses
another). ``--setup-venv`` creates that venv: the installed FastAPI version, pytest,
pytest-timeout (FastAPI's pytest configuration sets ``timeout``), pytest-xdist (a test uses its
``xdist_group`` marker) and the libraries the tutorials
and their tests import, with the versions of the packages the project's venv shares pinned to
the project's.

Usage, from the repository root with the project's venv::

    .venv/bin/python scripts/fastapi_tutorials.py [--setup-venv] [--python PY] [--source DIR]
        [--workdir DIR] [--keep] [-n N] [--module-app eager|lazy|none] [--pytest-args ARGS]

``-n N`` runs each test suite with pytest-xdist on N workers when the test interpreter has it
(default: serially). ``--keep`` keeps the temporary directory (its path is printed), for a look
at the rewritten examples.

Exit status: 0 when at least 90 % of the examples are rewritten, every example left alone has a
reason, lazify did not crash, no test regressed and no rewritten app differs from the original;
1 otherwise; 2 on a setup problem.
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
SDIST_CACHE = BUILD / "fastapi-sdist"
TUTORIAL_VENV = BUILD / "tutorial-venv"
REPORT_PATH = BUILD / "fastapi-tutorials.json"
THRESHOLD = 0.90

#: A module-level app, as the acceptance point counts them.
MODULE_APP = re.compile(r"^app = FastAPI\(", re.MULTILINE)
#: What the tutorials and their tests import besides FastAPI (``--setup-venv``).
TEST_PACKAGES = [
    "pytest", "pytest-timeout", "pytest-xdist", "httpx2", "ujson", "inline-snapshot", "dirty-equals", "sqlmodel", "pyjwt",
    "pwdlib[argon2]", "pydantic-settings", "python-multipart", "email-validator", "jinja2",
    "httpx", "pyyaml", "flask", "a2wsgi", "strawberry-graphql", "opentelemetry-sdk", "orjson",
    "uvicorn", "anyio[trio]",
]  # fmt: skip
#: A pytest plugin loaded into each test run: records which ``docs_src`` modules the tests
#: imported and where ``fastapi`` came from.
PROBE = """\
import json, os, sys

def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("FASTAPI_TUTORIALS_PROBE")
    if not out:
        return
    import fastapi
    mods = sorted(m for m in sys.modules if m == "docs_src" or m.startswith("docs_src."))
    # One file per process: with pytest-xdist the workers import the examples.
    with open(out + "." + os.environ.get("PYTEST_XDIST_WORKER", "main"), "w") as fh:
        json.dump({"fastapi": fastapi.__file__, "docs_src_modules": mods}, fh)
"""

#: Run in each copy: imports the examples and describes their apps (routes, middleware,
#: exception handlers, event handlers, the OpenAPI schema), for ``app`` and, when the module
#: has one, for a fresh ``create_app()``.
APP_PROBE = r"""
import hashlib, importlib, json, sys, warnings
warnings.simplefilter("ignore")
from fastapi import FastAPI

def describe(app):
    if not isinstance(app, FastAPI):
        return {"type": type(app).__name__}
    try:
        schema = json.dumps(app.openapi(), sort_keys=True, default=repr)
        schema = hashlib.blake2b(schema.encode(), digest_size=8).hexdigest()
    except Exception as e:
        schema = "error: " + type(e).__name__
    routes = [[type(r).__name__, getattr(r, "path", None), sorted(getattr(r, "methods", None) or []),
               getattr(r, "name", None)] for r in app.routes]
    return {
        "routes": routes,
        "middleware": [getattr(m, "cls", type(m)).__name__ for m in app.user_middleware],
        "exception_handlers": sorted(repr(k) for k in app.exception_handlers),
        "events": [len(app.router.on_startup), len(app.router.on_shutdown)],
        "openapi": schema,
    }

out = {}
sys.path.insert(0, sys.argv[3])
for mod in json.loads(sys.argv[1]):
    if "sqlmodel" in sys.modules:  # the SQL tutorials all define table "hero"
        sys.modules["sqlmodel"].SQLModel.metadata.clear()
    try:
        m = importlib.import_module(mod)
        d = {"app": describe(getattr(m, "app", None))}
        if hasattr(m, "create_app"):
            a, b = m.create_app(), m.create_app()
            d["create_app"] = describe(a)
            d["fresh"] = a is not b and a is not getattr(m, "app", None)
        out[mod] = d
    except BaseException as e:
        out[mod] = {"error": type(e).__name__ + ": " + str(e)[:200]}
json.dump(out, open(sys.argv[2], "w"))
"""


class SetupError(Exception):
    pass


def log(msg: str) -> None:
    print(f"fastapi-tutorials: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


# ---------------------------------------------------------------------------------------------
# The sdist and the copies


def installed_fastapi(python: str) -> str:
    p = run([python, "-c", "import importlib.metadata as m; print(m.version('fastapi'))"])
    if p.returncode != 0:
        raise SetupError(f"{python} has no fastapi: {p.stderr.strip()[-300:]}")
    return p.stdout.strip()


def get_sdist(version: str) -> Path:
    tgz = SDIST_CACHE / f"fastapi-{version}.tar.gz"
    if tgz.is_file():
        return tgz
    SDIST_CACHE.mkdir(parents=True, exist_ok=True)
    log(f"downloading the fastapi {version} sdist into {SDIST_CACHE}")
    p = run([sys.executable, "-m", "pip", "download", f"fastapi=={version}", "--no-binary", ":all:",
             "--no-deps", "--no-build-isolation", "-d", str(SDIST_CACHE)])  # fmt: skip
    if not tgz.is_file():
        p = run([sys.executable, "-m", "pip", "download", f"fastapi=={version}", "--no-binary", ":all:",
                 "--no-deps", "-d", str(SDIST_CACHE)])  # fmt: skip
    if not tgz.is_file():
        raise SetupError(f"pip download failed:\n{p.stdout[-1000:]}\n{p.stderr[-2000:]}")
    return tgz


#: What the copies hold (``docs/`` has the one image a test copies).
WANTED = ("docs_src", "tests", "docs", "pyproject.toml")


def extract(tgz: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    with tarfile.open(tgz) as tf:
        members = []
        for m in tf.getmembers():
            parts = m.name.split("/", 1)
            if len(parts) == 2 and parts[1].split("/")[0] in WANTED:
                m.name = parts[1]
                members.append(m)
        tf.extractall(dest, members=members, filter="data")


def copy_source(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    for name in WANTED:
        p = src / name
        if p.is_dir():
            shutil.copytree(
                p, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
            )
        elif p.is_file():
            shutil.copy2(p, dest / name)
    if not (dest / "docs_src").is_dir() or not (dest / "tests" / "test_tutorial").is_dir():
        raise SetupError(f"{src} has no docs_src/ or tests/test_tutorial/")


def namespace_dirs(root: Path) -> list[str]:
    """Directories under docs_src (and docs_src itself) without ``__init__.py`` holding Python."""
    out = []
    for d in sorted([root / "docs_src", *(p for p in (root / "docs_src").rglob("*") if p.is_dir())]):
        if "__pycache__" in d.parts or (d / "__init__.py").exists():
            continue
        if any(d.rglob("*.py")):
            out.append(d.relative_to(root).as_posix())
    return out


def configure_lazify(root: Path, module_app: str) -> None:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text() if pyproject.is_file() else ""
    if "[tool.lazify]" in text:
        raise SetupError("the sdist's pyproject.toml already has [tool.lazify]")
    ns = ", ".join(json.dumps(d) for d in namespace_dirs(root))
    # lazy and none are unsafe fixes (the module's `app` changes type or goes away): opt in.
    unsafe = "true" if module_app != "eager" else "false"
    text += (
        f'\n\n[tool.lazify]\nsrc = ["."]\nnamespace-packages = [{ns}]\nmodule-app = "{module_app}"\n'
        f"unsafe-fixes = {unsafe}\n"
    )
    pyproject.write_text(text)


def module_app_examples(root: Path) -> list[str]:
    out = []
    for f in sorted((root / "docs_src").rglob("*.py")):
        if MODULE_APP.search(f.read_text(encoding="utf-8", errors="replace")):
            out.append(f.relative_to(root).as_posix())
    return out


# ---------------------------------------------------------------------------------------------
# lazify


def lazify_exe(explicit: str | None) -> list[str]:
    if explicit:
        return shlex.split(explicit)
    for cand in (ROOT / ".venv" / "bin" / "lazify", Path(sys.executable).parent / "lazify"):
        if cand.is_file() and os.access(cand, os.X_OK):
            return [str(cand)]
    found = shutil.which("lazify")
    return [found] if found else [sys.executable, "-m", "lazifier"]


def lazify_code_hash() -> str:
    """A hash of lazify's source (``lazifier/``, ``codemods/``) when the rewrite ran."""
    h = hashlib.blake2b(digest_size=8)
    for pkg in ("lazifier", "codemods"):
        for f in sorted((ROOT / pkg).rglob("*.py")):
            h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def norm_reason(reason: str) -> str:
    """Group blocked reasons: names, paths and line numbers out."""
    r = re.sub(r"\S+\.py:\d+", "<file:line>", reason)
    r = re.sub(r"`[^`]*`", "`…`", r)
    return re.sub(r"\b\d+\b", "N", r)


@dataclass
class LazifyRun:
    cmd: list[str]
    returncode: int
    seconds: float
    doc: dict | None
    stderr: str
    rewritten: set[str] = field(default_factory=set)
    blocked: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    unapplied: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    diffs: dict[str, str] = field(default_factory=dict)


def run_lazify(root: Path, exe: list[str], before: dict[str, str]) -> LazifyRun:
    cmd = [*exe, "apply", "--yes", "--select", "app-factory", "--output-format", "json",
           "--no-cache", "-j", "1", "--color", "never", "docs_src"]  # fmt: skip
    env = dict(os.environ, NO_COLOR="1")
    env.pop("FORCE_COLOR", None)
    t0 = time.monotonic()
    p = run(cmd, cwd=root, env=env)
    res = LazifyRun(cmd, p.returncode, time.monotonic() - t0, None, p.stderr)
    try:
        res.doc = json.loads(p.stdout)
    except json.JSONDecodeError:
        return res
    for c in res.doc.get("changes", []):
        if c.get("codemod") != "LZY004":
            continue
        f = c["file"]
        if c.get("reason"):
            res.blocked[f].append(c)
        elif c.get("applied"):
            res.diffs[f] = c.get("diff") or ""
        else:
            res.unapplied[f].append(c)
    for e in res.doc.get("errors", []):
        res.errors[e["file"]].append(f"{e['file']}:{e.get('line') or ''}: {e['message']}")
    for rel, text in before.items():
        now = (root / rel).read_text(encoding="utf-8", errors="replace")
        if now != text:
            res.rewritten.add(rel)
    return res


# ---------------------------------------------------------------------------------------------
# pytest


@dataclass
class TestRun:
    cmd: list[str]
    returncode: int
    seconds: float
    outcomes: dict[str, str]  # id -> passed | failed | error | skipped
    details: dict[str, str]  # id -> failure text
    probe: dict
    tail: str


def run_tests(root: Path, python: str, probe_dir: Path, jobs: int, extra: list[str]) -> TestRun:
    junit = root.parent / f"junit-{root.name}.xml"
    probe_out = root.parent / f"probe-{root.name}.json"
    cmd = [python, "-m", "pytest", "tests/test_tutorial", "-q", "-p", "no:cacheprovider",
           "-p", "fastapi_tutorials_probe", "--inline-snapshot=disable", f"--junitxml={junit}",
           "-o", "junit_family=xunit1", "--tb=short"]  # fmt: skip
    if jobs > 1:
        cmd += ["-n", str(jobs)]
    cmd += extra
    env = dict(os.environ, FASTAPI_TUTORIALS_PROBE=str(probe_out), NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("FORCE_COLOR", None)
    env["PYTHONPATH"] = str(probe_dir)
    log(f"running the tutorial tests in {root.name}/ ...")
    t0 = time.monotonic()
    p = run(cmd, cwd=root, env=env)
    secs = time.monotonic() - t0
    outcomes: dict[str, str] = {}
    details: dict[str, str] = {}
    if junit.is_file():
        for case in ET.parse(junit).getroot().iter("testcase"):
            cls, name = case.get("classname", ""), case.get("name", "")
            file_ = case.get("file") or ""
            if cls:
                tid = f"{file_ or cls.replace('.', '/') + '.py'}::{name}"
            else:
                tid = name  # a collection error
            outcome = "passed"
            for tag in ("failure", "error", "skipped"):
                el = case.find(tag)
                if el is not None:
                    outcome = {"failure": "failed"}.get(tag, tag)
                    if tag != "skipped":
                        details[tid] = ((el.get("message") or "") + "\n" + (el.text or "")).strip()
                    break
            if tid in outcomes and outcomes[tid] == "passed" and outcome != "passed":
                outcomes[tid] = outcome  # a teardown error reported on the same test
            elif tid not in outcomes or outcome != "passed":
                outcomes.setdefault(tid, outcome)
                if outcome != "passed":
                    outcomes[tid] = outcome
    probe: dict = {}
    for f in sorted(probe_out.parent.glob(probe_out.name + ".*")):
        one = json.loads(f.read_text())
        probe.setdefault("fastapi", one["fastapi"])
        if one["fastapi"] != probe["fastapi"]:
            probe["fastapi"] = f"{probe['fastapi']} and {one['fastapi']}"
        probe["docs_src_modules"] = sorted(
            set(probe.get("docs_src_modules", [])) | set(one["docs_src_modules"])
        )
    tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-15:])
    return TestRun(cmd, p.returncode, secs, outcomes, details, probe, tail)


def probe_apps(root: Path, python: str, modules: list[str]) -> dict:
    out = root.parent / f"apps-{root.name}.json"
    # A scratch working directory with what some examples open at import (StaticFiles("static"),
    # a frontend's "dist"), and the settings the settings tutorials require.
    cwd = root.parent / f"probe-cwd-{root.name}"
    (cwd / "static").mkdir(parents=True, exist_ok=True)
    (cwd / "dist").mkdir(exist_ok=True)
    for page in ("index.html", "404.html"):
        (cwd / "dist" / page).write_text("<html></html>\n")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", ADMIN_EMAIL="admin@example.com")
    env.pop("PYTHONPATH", None)
    try:
        p = run(
            [python, "-c", APP_PROBE, json.dumps(modules), str(out), str(root)], cwd=cwd, env=env, timeout=600
        )
    except subprocess.TimeoutExpired:
        return {"_error": "timed out"}
    if not out.is_file():
        return {"_error": (p.stdout + p.stderr)[-2000:]}
    return json.loads(out.read_text())


def compare_apps(before: dict, after: dict, modules: list[str]) -> list[dict]:
    """Examples whose rewritten app (or ``create_app()``) differs from the untouched app."""
    problems = []
    for mod in modules:
        b, a = before.get(mod, {}), after.get(mod, {})
        why = []
        if "error" in a and "error" not in b:
            why.append(f"import fails: {a['error']}")
        elif "error" not in b:
            if a.get("app") != b.get("app"):
                why.append("module-level `app` differs: " + _first_diff(b.get("app"), a.get("app")))
            if "create_app" not in a:
                why.append("no create_app()")
            else:
                if a["create_app"] != b.get("app"):
                    why.append("create_app() differs: " + _first_diff(b.get("app"), a["create_app"]))
                if not a.get("fresh"):
                    why.append("create_app() does not build a new app on each call")
        if why:
            problems.append({"module": mod, "problems": why})
    return problems


def _first_diff(x: object, y: object) -> str:
    if isinstance(x, dict) and isinstance(y, dict):
        order = ["routes", "middleware", "exception_handlers", "events", "openapi"]
        keys = sorted(set(x) | set(y), key=lambda k: (order.index(k) if k in order else len(order), k))
        diffs = [k for k in keys if x.get(k) != y.get(k)]
        if diffs:
            k = diffs[0]
            more = f" (also {', '.join(diffs[1:])})" if diffs[1:] else ""
            return f"{k}: {_short(x.get(k), y.get(k))}{more}"
    return _short(x, y)


def _short(x: object, y: object) -> str:
    if isinstance(x, list) and isinstance(y, list):
        gone = [e for e in x if e not in y]
        new = [e for e in y if e not in x]
        if gone or new:
            return f"missing {json.dumps(gone)[:300]}, extra {json.dumps(new)[:300]}"
    return f"{json.dumps(x)[:300]} -> {json.dumps(y)[:300]}"


def examples_of_test(tid: str, root: Path, details: str) -> list[str]:
    """The docs_src files a failing test exercises: from its traceback, else from its module's
    ``docs_src.…`` strings and the test's parameter."""
    found = []
    for m in re.finditer(r"(docs_src/[\w/]+\.py)", details):
        if m.group(1) not in found:
            found.append(m.group(1))
    if found:
        return found
    test_file = root / tid.split("::")[0]
    params = re.findall(r"\[([^\]]*)\]", tid)
    try:
        src = test_file.read_text()
    except OSError:
        return []
    mods = set(re.findall(r"docs_src\.[\w.]+", src))
    for m in re.findall(r"[\"'](docs_src\.[\w.]+)\.\{request\.param\}(\.\w+)?", src):
        for p in (params[0].split("-") if params else []):
            mods.add(f"{m[0]}.{p}{m[1]}")
    mods = {m.rstrip(".") for m in mods}
    # `docs_src.body` from "docs_src.body.{request.param}" is not an example of its own.
    mods = {m for m in mods if not any(o.startswith(m + ".") for o in mods)}
    out = []
    for mod in sorted(mods):
        for cand in (root / (mod.replace(".", "/") + ".py"), root / mod.replace(".", "/") / "__init__.py"):
            if cand.is_file():
                out.append(cand.relative_to(root).as_posix())
                break
    return out


def key_lines(text: str, n: int = 12) -> str:
    """The end of a failure: the lines that say what went wrong."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    picked = [
        ln
        for ln in lines
        if re.match(r"^(E |\S+Error|\S+Exception|docs_src/|tests/)", ln.strip()) or ln.startswith("E ")
    ]
    return "\n".join((picked or lines)[-n:])


# ---------------------------------------------------------------------------------------------
# Setup of the test interpreter


def setup_venv(version: str) -> None:
    python = "python3.11" if shutil.which("python3.11") else sys.executable
    if not (TUTORIAL_VENV / "bin" / "python").exists():
        log(f"creating {TUTORIAL_VENV}")
        subprocess.run([python, "-m", "venv", str(TUTORIAL_VENV)], check=True)
    constraints = BUILD / "tutorial-constraints.txt"
    freeze = run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"])
    lines = [
        ln for ln in freeze.stdout.splitlines() if "==" in ln and not ln.lower().startswith(("lazify", "-e"))
    ]
    constraints.write_text("\n".join(lines) + "\n")
    cmd = [str(TUTORIAL_VENV / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(constraints),
           f"fastapi=={version}", *TEST_PACKAGES]  # fmt: skip
    log("installing: " + " ".join(cmd[6:]))
    subprocess.run(cmd, check=True)


# ---------------------------------------------------------------------------------------------
# Main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--python", help=f"interpreter for the tests (default: {TUTORIAL_VENV}/bin/python)")
    ap.add_argument("--setup-venv", action="store_true", help=f"create/refresh {TUTORIAL_VENV} first")
    ap.add_argument(
        "--source", type=Path, help="an extracted fastapi sdist to use instead of downloading one"
    )
    ap.add_argument(
        "--workdir", type=Path, help="where to make the copies (default: a new temporary directory)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument(
        "-n", "--jobs", type=int, default=1, help="pytest-xdist workers per test run (default: 1, serial)"
    )
    ap.add_argument("--module-app", choices=("eager", "lazy", "none"), default="eager")
    ap.add_argument("--lazify", help="the lazify command (default: the project's venv's)")
    ap.add_argument("--pytest-args", default="", help="extra pytest arguments (e.g. '-k body')")
    ap.add_argument("--report", type=Path, default=REPORT_PATH)
    args = ap.parse_args(argv)

    try:
        version = installed_fastapi(sys.executable)
    except SetupError:
        version = installed_fastapi(str(ROOT / ".venv" / "bin" / "python"))
    if args.setup_venv:
        setup_venv(version)
    python = args.python or str(TUTORIAL_VENV / "bin" / "python")
    if not Path(python).exists() and not shutil.which(python):
        log(f"no test interpreter {python}: run with --setup-venv or pass --python")
        return 2
    try:
        test_version = installed_fastapi(python)
        if test_version != version:
            log(f"warning: the tests' fastapi is {test_version}, lazify's venv has {version}")
        work = args.workdir or Path(tempfile.mkdtemp(prefix="fastapi-tutorials-"))
        work.mkdir(parents=True, exist_ok=True)
        for name in ("untouched", "rewritten"):
            if (work / name).exists():
                shutil.rmtree(work / name)
        for pattern in ("junit-*.xml", "probe-*.json.*", "apps-*.json"):
            for stale in work.glob(pattern):
                stale.unlink()
        if args.source:
            source = str(args.source)
            for name in ("untouched", "rewritten"):
                copy_source(args.source, work / name)
        else:
            tgz = get_sdist(version)
            source = str(tgz)
            for name in ("untouched", "rewritten"):
                extract(tgz, work / name)
    except SetupError as e:
        log(f"error: {e}")
        return 2
    untouched, rewritten = work / "untouched", work / "rewritten"
    probe_dir = work / "probe"
    probe_dir.mkdir(exist_ok=True)
    (probe_dir / "fastapi_tutorials_probe.py").write_text(PROBE)
    configure_lazify(rewritten, args.module_app)
    log(f"copies in {work}")

    examples = module_app_examples(untouched)
    all_py = sorted(f.relative_to(rewritten).as_posix() for f in (rewritten / "docs_src").rglob("*.py"))
    before = {rel: (rewritten / rel).read_text(encoding="utf-8", errors="replace") for rel in all_py}

    exe = lazify_exe(args.lazify)
    code_hash = lazify_code_hash()
    log("running " + " ".join(exe) + " apply --select app-factory on rewritten/docs_src ...")
    lz = run_lazify(rewritten, exe, before)
    code_changed = lazify_code_hash() != code_hash
    if code_changed:
        log("warning: lazify's source changed while it ran; the results may mix two versions")
    lazify_crashed = lz.doc is None or any(
        "internal error" in m or "worker" in m for ms in lz.errors.values() for m in ms
    )

    # -- the examples: rewritten, blocked, unapplied, error, or unexplained --------------------
    status: dict[str, str] = {}
    for rel in examples:
        if rel in lz.rewritten:
            status[rel] = "rewritten"
        elif lz.blocked.get(rel):
            status[rel] = "blocked"
        elif lz.errors.get(rel):
            status[rel] = "error"
        elif lz.unapplied.get(rel):
            status[rel] = "not applied"
        else:
            status[rel] = "no reason"
    counts = Counter(status.values())
    n_examples = len(examples)
    n_rewritten = counts["rewritten"]
    share = n_rewritten / n_examples if n_examples else 0.0
    by_reason: dict[str, list[dict]] = defaultdict(list)
    for rel, st in status.items():
        if st == "blocked":
            for c in lz.blocked[rel]:
                by_reason[norm_reason(c["reason"])].append(
                    {"file": rel, "line": c["line"], "reason": c["reason"]}
                )
        elif st == "error":
            for m in lz.errors[rel]:
                by_reason["error: " + m.split(": ", 1)[-1][:80]].append({"file": rel, "reason": m})
        elif st == "not applied":
            for c in lz.unapplied[rel]:
                by_reason[
                    "not applied (" + (c.get("safety") or "?") + "): " + norm_reason(c["message"])
                ].append({"file": rel, "line": c["line"], "reason": c["message"]})
    unexplained = [rel for rel, st in status.items() if st == "no reason"]
    extra_rewritten = sorted(lz.rewritten - set(examples))

    # -- the tests -------------------------------------------------------------------------------
    extra = shlex.split(args.pytest_args)
    t_before = run_tests(untouched, python, probe_dir, args.jobs, extra)
    t_after = run_tests(rewritten, python, probe_dir, args.jobs, extra)
    bad_fastapi = [
        t.probe.get("fastapi", "?")
        for t in (t_before, t_after)
        if not t.probe or str(work.resolve()) in t.probe.get("fastapi", "")
    ]
    passed_before = {t for t, o in t_before.outcomes.items() if o == "passed"}
    passed_after = {t for t, o in t_after.outcomes.items() if o == "passed"}
    regressed = sorted(passed_before - passed_after)
    fixed = sorted(passed_after - passed_before)
    regressions = []
    for tid in regressed:
        text = t_after.details.get(tid, "")
        files = examples_of_test(tid, rewritten, text)
        regressions.append({
            "test": tid,
            "outcome": t_after.outcomes.get(tid, "missing"),
            "examples": files,
            "example_status": {f: status.get(f, "no module-level app" if f not in lz.rewritten else "rewritten") for f in files},
            "key_lines": key_lines(text),
            "failure": text[-4000:],
        })  # fmt: skip
    imported = set(t_after.probe.get("docs_src_modules", []))

    def module_of(rel: str) -> str:
        return rel[:-3].replace("/", ".").removesuffix(".__init__")

    rewritten_examples = [r for r, s in status.items() if s == "rewritten"]
    tested = [r for r in rewritten_examples if module_of(r) in imported]

    # -- the apps themselves: the rewritten module's `app` and `create_app()` against the original
    log("comparing the apps of the rewritten examples ...")
    probe_mods = [module_of(r) for r in sorted(lz.rewritten)]
    apps_before = probe_apps(untouched, python, probe_mods)
    apps_after = probe_apps(rewritten, python, probe_mods)
    app_problems = compare_apps(apps_before, apps_after, probe_mods)
    if "_error" in apps_before or "_error" in apps_after:
        app_problems.append(
            {"module": "(probe)", "problems": [str(apps_before.get("_error") or apps_after.get("_error"))]}
        )
    import_failing_both = sorted(m for m in probe_mods if "error" in apps_before.get(m, {}))

    no_baseline = not passed_before
    ok = (
        not no_baseline
        and share >= THRESHOLD
        and not regressed
        and not app_problems
        and not unexplained
        and not lazify_crashed
        and not bad_fastapi
    )
    report = {
        "ok": ok,
        "no_baseline": no_baseline,
        "fastapi_version": version,
        "source": source,
        "workdir": str(work),
        "module_app": args.module_app,
        "lazify_source_hash": code_hash,
        "lazify_source_changed_during_run": code_changed,
        "lazify": {
            "cmd": lz.cmd, "exit_code": lz.returncode, "seconds": round(lz.seconds, 1),
            "summary": (lz.doc or {}).get("summary"), "stderr_tail": lz.stderr[-2000:],
            "crashed": lazify_crashed,
        },
        "examples": {
            "docs_src_py_files": len(all_py),
            "module_level_app": n_examples,
            "rewritten": n_rewritten,
            "rewritten_share": round(share, 4),
            "threshold": THRESHOLD,
            "counts": dict(counts),
            "left_alone_by_reason": dict(sorted(by_reason.items(), key=lambda kv: -len(kv[1]))),
            "unexplained": unexplained,
            "rewritten_without_module_level_app_line": extra_rewritten,
            "rewritten_and_imported_by_tests": len(tested),
            "rewritten_not_imported_by_tests": sorted(set(rewritten_examples) - set(tested)),
            "status": status,
        },
        "tests": {
            "untouched": {"exit_code": t_before.returncode, "seconds": round(t_before.seconds, 1),
                          "outcomes": dict(Counter(t_before.outcomes.values())), "tail": t_before.tail,
                          "fastapi": t_before.probe.get("fastapi")},
            "rewritten": {"exit_code": t_after.returncode, "seconds": round(t_after.seconds, 1),
                          "outcomes": dict(Counter(t_after.outcomes.values())), "tail": t_after.tail,
                          "fastapi": t_after.probe.get("fastapi")},
            "cmd": t_after.cmd,
            "passed_untouched": len(passed_before),
            "passed_rewritten": len(passed_after),
            "regressions": regressions,
            "passing_only_rewritten": fixed,
            "fastapi_from_copy": bad_fastapi,
        },
        "apps": {
            "compared": len(probe_mods) - len(import_failing_both),
            "not_importable_untouched": {m: apps_before.get(m, {}).get("error") for m in import_failing_both},
            "differences": app_problems,
        },
        "diffs_of_regressed_examples": {
            f: lz.diffs.get(f, "") for r in regressions for f in r["examples"] if f in lz.diffs
        },
    }  # fmt: skip
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")

    # -- summary ---------------------------------------------------------------------------------
    p = print
    p(f"FastAPI {version} tutorials ({source}), module-app = {args.module_app}")
    p(f"lazify source {code_hash}" + (" (CHANGED while lazify ran)" if code_changed else ""))
    p(
        f"lazify: exit {lz.returncode}, {lz.seconds:.1f}s: {(lz.doc or {}).get('summary', {}).get('text', '(no JSON output)')}"
    )
    if lazify_crashed:
        p(
            "  lazify crashed or reported internal errors:\n    "
            + "\n    ".join(lz.stderr.strip().splitlines()[-10:])
        )
    p(f"examples with a module-level `app = FastAPI(`: {n_examples} of {len(all_py)} docs_src files")
    p(f"  rewritten: {n_rewritten} ({share:.1%}; needed {THRESHOLD:.0%})")
    for st in ("blocked", "error", "not applied", "no reason"):
        if counts[st]:
            p(f"  {st}: {counts[st]}")
    if extra_rewritten:
        p(f"  also rewritten (no `app = FastAPI(` line at column 0): {len(extra_rewritten)}")
    p(f"  rewritten examples the tests import: {len(tested)} of {n_rewritten}")
    if by_reason:
        p("left alone, by reason:")
        for kind, items in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
            p(f"  {len(items):3d}  {kind}")
            for it in items:
                p(f"         {it['file']}:{it.get('line', '')}  {it['reason']}")
    if unexplained:
        p("FAIL: examples left alone without a reason:")
        for rel in unexplained:
            p(f"  {rel}")
    p(f"tutorial tests: untouched {dict(Counter(t_before.outcomes.values()))} in {t_before.seconds:.0f}s; "
      f"rewritten {dict(Counter(t_after.outcomes.values()))} in {t_after.seconds:.0f}s")  # fmt: skip
    p(f"  passed: {len(passed_before)} untouched, {len(passed_after)} rewritten; "
      f"{len(regressed)} regressed, {len(fixed)} pass only on the rewritten copy")  # fmt: skip
    if no_baseline:
        p(
            "FAIL: no test passed on the untouched copy (a setup problem?):\n    "
            + t_before.tail.replace("\n", "\n    ")
        )
    if bad_fastapi:
        p(f"FAIL: the tests did not import the installed fastapi: {bad_fastapi}")
    p(f"apps compared (untouched `app` vs rewritten `app` and `create_app()`: routes, middleware, "
      f"handlers, OpenAPI): {len(probe_mods) - len(import_failing_both)}; differences: {len(app_problems)}"
      + (f"; {len(import_failing_both)} not importable on the untouched copy either" if import_failing_both else ""))  # fmt: skip
    for ap_ in app_problems:
        p(f"  APP DIFFERS {ap_['module']}: " + "; ".join(ap_["problems"]))
    for r in regressions:
        p(f"REGRESSION {r['test']} ({r['outcome']}) examples: {', '.join(r['examples']) or '?'}")
        p("    " + r["key_lines"].replace("\n", "\n    "))
    p(f"report: {args.report}")
    p("OK" if ok else "FAIL")
    if not args.keep and not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    elif args.keep:
        log(f"kept {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
