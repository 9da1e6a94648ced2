"""The import sweep of ``scripts/sweep.py --packages``: does a rewritten package still import?

Issue 10 found that lazify's rewrites always parse and compile but can break a program at
import. The output checks test syntax; this tests behaviour. For each large installed package
(django, sqlalchemy, pandas, scipy, pydantic, flask, fastapi, starlette, requests; pip-installed
into a throw-away venv, ``build/sweep-venv``) and each configuration:

* ``a``: lazify's defaults;
* ``b``: heavy-modules widened (``WIDE_STDLIB`` plus the package itself and its own heavy
  dependencies, ``OWN_DEPS``) and ``unsafe-fixes = true``,

the package is copied out of site-packages (compiled extensions and the ``<pkg>.libs`` directory
their RPATH points at come along) into a pristine and a rewritten copy; lazify rewrites the
second (``sweep.sweep_copy``: ``apply --yes``, parse/compile, a second ``--dry-run`` for
idempotence), and then, in fresh subprocesses of the sweep venv's python with ``PYTHONPATH`` at
each copy in turn (``pkg.__file__`` is checked to be the copy's):

1. every module of the package is imported, one by one, in one subprocess per copy, with a
   per-module timeout (a module that hangs or kills the interpreter is recorded and the
   importer restarts after it): ``module -> ok | ExceptionType: message``. A module that
   imports in the pristine copy but not in the rewritten one is a *regression*, reported with
   the exception, the innermost frame inside the copy (where it broke) and lazify's changes to
   that file and to the module's own file. Modules that fail in the pristine copy too are
   "failed before" and don't count; nothing is skipped silently;
2. a smoke script per package (``SMOKE``: a request through a test client, an ORM query,
   ``django.setup()``, a groupby, ...) must pass on the rewritten copy where it passes on the
   pristine one;
3. black-stable: every rewritten file whose original was black-clean (the project venv's black,
   its defaults) is black-clean too.

Standard library only (black is run as a subprocess).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWEEP_VENV = ROOT / "build" / "sweep-venv"

#: The packages of issue 10, in the order they are swept (small first, so a long run reports
#: early): distribution name -> import name.
PACKAGES = {
    "requests": "requests",
    "flask": "flask",
    "starlette": "starlette",
    "fastapi": "fastapi",
    "pydantic": "pydantic",
    "sqlalchemy": "sqlalchemy",
    "django": "django",
    "scipy": "scipy",
    "pandas": "pandas",
}
#: What the sweep venv gets besides the packages: the test clients (httpx), and pytest and
#: hypothesis so that the packages' own test modules import (more modules exercised).
EXTRA_REQUIREMENTS = ["httpx", "pytest", "hypothesis"]

#: Configuration (b): standard-library modules that nearly every package imports at module level,
#: so that every package has many candidates (most of them blocked, which is the point: the
#: blocked ones must stay put, the moved ones must still work).
WIDE_STDLIB = [
    "typing", "json", "re", "collections", "inspect", "functools", "itertools", "warnings",
    "datetime", "decimal", "dataclasses", "enum", "abc", "contextlib", "copy", "operator",
    "textwrap", "types", "weakref", "threading", "logging", "pathlib", "os", "io", "math",
    "numbers", "string", "struct", "traceback", "asyncio", "email", "http", "urllib", "base64",
    "hashlib", "pickle", "uuid", "tempfile", "shutil", "subprocess", "sqlite3", "socket", "ssl",
    "zlib", "codecs", "importlib", "pprint", "difflib", "unicodedata", "calendar", "time",
    "random", "argparse", "ast", "dis", "tokenize", "mimetypes", "html", "hmac", "secrets",
    "concurrent", "queue", "heapq", "bisect", "fnmatch", "glob", "zoneinfo", "locale", "gettext",
    "signal", "errno", "stat", "platform", "sysconfig", "ctypes", "gc", "cProfile", "pstats",
    "csv", "gzip", "bz2", "lzma", "zipfile", "tarfile", "xml", "array", "binascii", "keyword",
]  # fmt: skip
#: Configuration (b): the package itself (so its own absolute imports are candidates) and the
#: third-party packages it imports.
OWN_DEPS = {
    "django": ["django", "asgiref", "sqlparse"],
    "sqlalchemy": ["sqlalchemy", "greenlet", "typing_extensions"],
    "pandas": ["pandas", "numpy", "dateutil", "pytz", "tzdata", "pyarrow"],
    "scipy": ["scipy", "numpy"],
    "pydantic": ["pydantic", "pydantic_core", "typing_extensions", "annotated_types", "typing_inspection"],
    "flask": ["flask", "werkzeug", "jinja2", "click", "itsdangerous", "markupsafe", "blinker"],
    "fastapi": ["fastapi", "starlette", "pydantic", "anyio", "typing_extensions", "annotated_doc"],
    "starlette": ["starlette", "anyio", "typing_extensions", "httpx"],
    "requests": ["requests", "urllib3", "charset_normalizer", "idna", "certifi"],
}

CONFIGS = {
    "a": "lazify's defaults",
    "b": "heavy-modules widened (WIDE_STDLIB + the package and its deps), --unsafe-fixes",
}


def config_toml(pkg: str, config: str) -> str:
    if config == "a":
        return "[tool.lazify]\n"
    mods = ", ".join(json.dumps(m) for m in dict.fromkeys([*OWN_DEPS[pkg], *WIDE_STDLIB]))
    return f"[tool.lazify]\nextend-heavy-modules = [{mods}]\nunsafe-fixes = true\n"


# ---------------------------------------------------------------------------------------------
# the venv and the copies


def sweep_python() -> Path:
    return SWEEP_VENV / "bin" / "python"


def setup_venv(upgrade: bool = False) -> dict[str, str]:
    """Create (or top up) the sweep venv; return {distribution: version}."""
    py = sweep_python()
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SWEEP_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    have = installed_versions()
    missing = [d for d in [*PACKAGES, *EXTRA_REQUIREMENTS] if d not in have]
    if missing or upgrade:
        cmd = [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            *(["--upgrade"] if upgrade else []),
            *PACKAGES,
            *EXTRA_REQUIREMENTS,
        ]
        subprocess.run(cmd, check=True)
    return installed_versions()


def installed_versions() -> dict[str, str]:
    py = sweep_python()
    if not py.exists():
        return {}
    out = subprocess.run([str(py), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        return {}
    return {d["name"].lower(): d["version"] for d in json.loads(out.stdout)}


def site_packages() -> Path:
    out = subprocess.run(
        [str(sweep_python()), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(out.stdout.strip())


def copy_installed(site: Path, pkg: str, dest: Path) -> Path:
    """``dest/<pkg>`` (and ``dest/<pkg>.libs``, the shared libraries auditwheel vendors, which
    the extensions find through ``$ORIGIN/../<pkg>.libs``-style RPATHs). Extension modules and
    data files come along; bytecode caches don't."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        site / pkg, dest / pkg, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    libs = site / f"{pkg}.libs"
    if libs.is_dir():
        shutil.copytree(libs, dest / libs.name, symlinks=True)
    return dest / pkg


def module_names(pkg_dir: Path) -> tuple[list[str], list[str]]:
    """(importable module names in sorted order, files that can't be named as a module)."""
    pkg = pkg_dir.name
    mods, unnamed = [], []
    for f in sorted(pkg_dir.rglob("*.py")):
        rel = f.relative_to(pkg_dir.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if all(p.isidentifier() for p in parts):
            mods.append(".".join(parts))
        else:
            unnamed.append(f.relative_to(pkg_dir.parent).as_posix())
    assert (mods and mods[0] == pkg) or pkg in mods, f"no {pkg}/__init__.py?"
    return sorted(set(mods)), unnamed


# ---------------------------------------------------------------------------------------------
# importing every module

#: Runs in the sweep venv: argv = package, copy dir, module list file, results file, start index,
#: per-module timeout, prelude name. One JSON line per module (and a "start" line before it, so
#: the parent knows which module a dead or hung interpreter was importing).
IMPORTER = r'''
import importlib, json, os, signal, sys, traceback
pkg, copy_dir, mods_file, out_file, start, timeout, prelude = sys.argv[1:8]
start, timeout = int(start), int(timeout)
sys.argv = ["importer"]
mods = open(mods_file).read().split()
out = open(out_file, "a", buffering=1)
copy_dir = os.path.realpath(copy_dir)

def emit(**kw):
    out.write(json.dumps(kw) + "\n")
    out.flush()

class ImportTimeout(BaseException):
    pass

def on_alarm(signum, frame):
    raise ImportTimeout(f"import took more than {timeout}s")

signal.signal(signal.SIGALRM, on_alarm)

def where(exc):
    """The innermost frame inside the copy, and the last frames."""
    tb = traceback.extract_tb(exc.__traceback__)
    inner = None
    for fr in tb:
        if os.path.realpath(fr.filename).startswith(copy_dir + os.sep):
            inner = {"file": os.path.relpath(os.path.realpath(fr.filename), copy_dir), "line": fr.lineno, "code": fr.line}
    tail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:])
    return inner, tail[-2500:]

def outcome(exc):
    msg = str(exc).replace(copy_dir + os.sep, "")
    return f"{type(exc).__name__}: {msg}"[:500]

if start == 0:
    # The copy must shadow the installed package.
    try:
        m = importlib.import_module(pkg)
        f = os.path.realpath(m.__file__)
        emit(kind="header", file=f, shadows=f.startswith(copy_dir + os.sep))
    except BaseException as e:
        emit(kind="header", file=None, shadows=False, error=outcome(e))
    if prelude == "django":
        try:
            from django.conf import settings
            settings.configure(
                INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                                "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
                                "django.contrib.sites", "django.contrib.flatpages", "django.contrib.redirects",
                                "django.contrib.sitemaps", "django.contrib.humanize", "django.contrib.admindocs",
                                "django.contrib.syndication"],
                DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
                SECRET_KEY="sweep", USE_TZ=True, SITE_ID=1, ROOT_URLCONF=[],
            )
            import django
            django.setup()
            emit(kind="prelude", ok=True)
        except BaseException as e:
            emit(kind="prelude", ok=False, error=outcome(e), where=where(e))
elif prelude == "django":
    # A restart after a dead module: the same prelude, quietly.
    try:
        from django.conf import settings
        settings.configure(INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes"],
                           DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})
        import django
        django.setup()
    except BaseException:
        pass

for i in range(start, len(mods)):
    mod = mods[i]
    emit(kind="start", i=i, module=mod)
    signal.alarm(timeout)
    try:
        importlib.import_module(mod)
        signal.alarm(0)
        emit(kind="result", i=i, module=mod, ok=True)
    except BaseException as e:
        signal.alarm(0)
        inner, tail = where(e)
        emit(kind="result", i=i, module=mod, ok=False, outcome=outcome(e), where=inner, traceback=tail)
emit(kind="done")
out.close()
os._exit(0)  # don't wait for threads a module started
'''

#: Modules whose import needs configuration first (``IMPORTER``'s prelude).
PRELUDES = {"django": "django"}


def import_all(pkg: str, copy_dir: Path, mods: list[str], work: Path, timeout: int, label: str) -> dict:
    """Import every module of the copy at ``copy_dir`` (which holds ``<pkg>/``)."""
    work.mkdir(parents=True, exist_ok=True)
    script = work / "importer.py"
    script.write_text(IMPORTER)
    mods_file = work / f"{label}-modules.txt"
    mods_file.write_text("\n".join(mods) + "\n")
    out_file = work / f"{label}-results.jsonl"
    out_file.unlink(missing_ok=True)
    log = work / f"{label}-importer.log"
    cwd = work / f"{label}-cwd"
    cwd.mkdir(exist_ok=True)
    env = {
        k: v for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }  # fmt: skip
    env.update(PYTHONPATH=str(copy_dir), PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1",
               MPLBACKEND="Agg", NO_COLOR="1", PYTHONWARNINGS="ignore")  # fmt: skip
    results: dict[str, dict] = {}
    header: dict = {}
    prelude: dict | None = None
    start = 0
    restarts = []
    t0 = time.perf_counter()
    with open(log, "ab") as logf:
        while start < len(mods):
            out_file.write_text("")
            proc = subprocess.Popen(
                [str(sweep_python()), str(script), pkg, str(copy_dir), str(mods_file), str(out_file),
                 str(start), str(timeout), PRELUDES.get(pkg, "")],
                cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
            )  # fmt: skip
            current: str | None = None
            done = False
            last_progress = time.monotonic()
            with open(out_file) as reader:
                while True:
                    code = proc.poll()  # before reading: what a dead process wrote is all there
                    while True:
                        pos = reader.tell()
                        line = reader.readline()
                        if not line:
                            break
                        if not line.endswith("\n"):
                            reader.seek(pos)  # half-written; read it again
                            break
                        rec = json.loads(line)
                        last_progress = time.monotonic()
                        if rec["kind"] == "header" and not header:
                            header = rec
                        elif rec["kind"] == "prelude":
                            prelude = rec
                        elif rec["kind"] == "start":
                            current = rec["module"]
                        elif rec["kind"] == "result":
                            results[rec["module"]] = rec
                            current = None
                        elif rec["kind"] == "done":
                            done = True
                    if done:
                        try:
                            proc.wait(timeout=30)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                            proc.wait()
                        break
                    stalled = time.monotonic() - last_progress > timeout + 30
                    if code is not None or stalled:
                        if code is None:
                            proc.kill()
                            proc.wait()
                        why = (f"killed: no progress for {timeout + 30}s" if stalled
                               else f"the interpreter died (exit code {code})")  # fmt: skip
                        if current is not None:
                            results[current] = {"module": current, "ok": False, "outcome": why, "where": None}
                        restarts.append({"after": current, "why": why})
                        break
                    time.sleep(0.05)
            if done:
                break
            # Restart after the last module with a result (or the one that killed it).
            done_idx = [i for i, m in enumerate(mods) if m in results]
            start = (max(done_idx) + 1) if done_idx else len(mods)
    missing = [m for m in mods if m not in results]
    for m in missing:
        results[m] = {"module": m, "ok": False, "outcome": "not reached (importer gave up)", "where": None}
    return {
        "header": header,
        "prelude": prelude,
        "results": {m: results[m] for m in mods},
        "restarts": restarts,
        "elapsed": round(time.perf_counter() - t0, 1),
    }


def compare_imports(pristine: dict, rewritten: dict, changes_by_file: dict[str, list[dict]]) -> dict:
    ok_before = [m for m, r in pristine["results"].items() if r["ok"]]
    failed_before = [m for m, r in pristine["results"].items() if not r["ok"]]
    regressions = []
    fixed = []
    for m, r in rewritten["results"].items():
        before = pristine["results"].get(m)
        if before is None:
            continue
        if before["ok"] and not r["ok"]:
            file_of_module = module_file(m, changes_by_file)
            where = r.get("where") or {}
            regressions.append(
                {
                    "module": m,
                    "outcome": r.get("outcome"),
                    "where": where,
                    "traceback": r.get("traceback"),
                    "changes_in_module_file": changes_by_file.get(file_of_module, []),
                    "changes_where_it_broke": changes_by_file.get(where.get("file", ""), []) if where else [],
                }
            )
        elif not before["ok"] and r["ok"]:
            fixed.append(m)
    return {
        "modules": len(pristine["results"]),
        "imported_pristine": len(ok_before),
        "failed_before": len(failed_before),
        "failed_before_examples": {m: pristine["results"][m].get("outcome") for m in failed_before[:40]},
        "imported_rewritten": sum(1 for r in rewritten["results"].values() if r["ok"]),
        "regressions": regressions,
        "regression_causes": regression_causes(regressions),
        "newly_importing": fixed,
    }


def recheck_fresh(
    pkg: str, pristine_dir: Path, rewritten_dir: Path, imports: dict, work: Path, timeout: int
) -> None:
    """Import each regression again, alone, in a fresh process of each copy.

    The importer shares one process per copy, so a module can import "fine" from what a failed
    import left behind: Python drops the package whose ``__init__`` raised from ``sys.modules``
    but keeps the submodules it had finished, and the next ``import pkg.sub`` returns the
    cached one. When the rewrite changes what loads before that failure, the leftover is gone
    and the module looks broken, though it fails in a fresh process of the pristine copy too
    (django's ``contrib.gis.gdal.envelope`` without GDAL). Such a module is not a regression:
    it moves to ``order_dependent`` with both fresh outcomes.
    """
    kept, moved = [], []
    for reg in imports["regressions"]:
        m = reg["module"]
        safe = m.replace(".", "_")
        before = import_all(pkg, pristine_dir, [m], work, timeout, f"fresh-pristine-{safe}")
        after = import_all(pkg, rewritten_dir, [m], work, timeout, f"fresh-rewritten-{safe}")
        b, a = before["results"][m], after["results"][m]
        if not b["ok"] and not a["ok"]:
            moved.append(
                {"module": m, "pristine_fresh": b.get("outcome"), "rewritten_fresh": a.get("outcome")}
            )
        else:
            kept.append(reg)
    imports["regressions"] = kept
    imports["order_dependent"] = moved
    imports["regression_causes"] = regression_causes(kept)


def regression_causes(regressions: list[dict]) -> dict[str, list[str]]:
    """A broken module breaks every module that imports it: group them by where it broke."""
    causes: dict[str, list[str]] = {}
    for reg in regressions:
        w = reg["where"] or {}
        key = f"{w.get('file')}:{w.get('line')}: {reg['outcome'].split(':')[0]}" if w else reg["outcome"]
        causes.setdefault(key, []).append(reg["module"])
    return causes


def module_file(module: str, changes_by_file: dict[str, list[dict]]) -> str:
    base = module.replace(".", "/")
    for cand in (f"{base}.py", f"{base}/__init__.py"):
        if cand in changes_by_file:
            return cand
    return f"{base}.py"


# ---------------------------------------------------------------------------------------------
# black


def black_exe() -> list[str]:
    for cand in (Path(sys.executable).parent / "black", ROOT / ".venv" / "bin" / "black"):
        if cand.is_file():
            return [str(cand)]
    return [sys.executable, "-m", "black"]


def black_unclean(files: list[Path], cwd: Path) -> set[str] | None:
    """Which of ``files`` black (its defaults) would reformat; None when black isn't there."""
    if not files:
        return set()
    out: set[str] = set()
    for i in range(0, len(files), 200):
        chunk = files[i : i + 200]
        try:
            proc = subprocess.run(
                [*black_exe(), "--check", "--config", os.devnull, "--workers", "2", *map(str, chunk)],
                cwd=cwd, capture_output=True, text=True, timeout=1800,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        for line in proc.stderr.splitlines():
            for prefix in ("would reformat ", "error: cannot format "):
                if line.startswith(prefix):
                    out.add(str(Path(line[len(prefix) :].split(": ")[0]).resolve()))
    return out


def black_stability(original: Path, pkg_dir: Path, rewritten: list[str]) -> dict:
    """Rewritten files whose original black leaves alone must stay so."""
    orig_files = [(original / rel).resolve() for rel in rewritten]
    dirty_orig = black_unclean(orig_files, original.parent)
    if dirty_orig is None:
        return {"checked": 0, "unstable": [], "note": "black not found"}
    clean = [rel for rel, f in zip(rewritten, orig_files) if str(f) not in dirty_orig]
    new_files = [(pkg_dir / rel).resolve() for rel in clean]
    dirty_new = black_unclean(new_files, pkg_dir.parent) or set()
    unstable = [rel for rel, f in zip(clean, new_files) if str(f) in dirty_new]
    return {"rewritten": len(rewritten), "black_clean_before": len(clean), "unstable": unstable}


def black_diff(path: Path) -> str:
    proc = subprocess.run(
        [*black_exe(), "--diff", "-q", "--config", os.devnull, str(path)], capture_output=True, text=True
    )
    return proc.stdout[:3000]


# ---------------------------------------------------------------------------------------------
# smoke scripts: one small real use per package, no network

SMOKE = {
    "requests": r"""
import requests
from requests.adapters import HTTPAdapter
s = requests.Session()
s.mount("https://", HTTPAdapter(max_retries=2))
req = requests.Request("POST", "https://example.invalid/api", params={"q": "x y"}, json={"a": [1, 2]},
                       headers={"X-Test": "1"}, auth=("u", "p"))
p = s.prepare_request(req)
assert p.url == "https://example.invalid/api?q=x+y", p.url
assert p.headers["Content-Type"] == "application/json" and p.headers["Authorization"].startswith("Basic ")
assert p.body == b'{"a": [1, 2]}', p.body
r = requests.models.Response(); r.status_code = 404; r._content = b'{"e": 1}'
assert r.json() == {"e": 1} and not r.ok
try:
    r.raise_for_status()
except requests.HTTPError:
    pass
else:
    raise AssertionError("no HTTPError")
print("requests ok")
""",
    "flask": r"""
from flask import Flask, jsonify, request, Blueprint, render_template_string
app = Flask(__name__)
bp = Blueprint("bp", __name__)
@bp.get("/hello/<name>")
def hello(name):
    return jsonify(hello=name, q=request.args.get("q"))
@app.get("/tpl")
def tpl():
    return render_template_string("{{ x|upper }}", x="ok")
app.register_blueprint(bp)
c = app.test_client()
r = c.get("/hello/world?q=1")
assert r.status_code == 200 and r.get_json() == {"hello": "world", "q": "1"}, r.data
assert c.get("/tpl").data == b"OK"
assert c.get("/nope").status_code == 404
print("flask ok")
""",
    "starlette": r"""
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.testclient import TestClient
async def home(request):
    return JSONResponse({"path": request.url.path, "q": request.query_params.get("q")})
async def text(request):
    return PlainTextResponse("hi")
app = Starlette(routes=[Route("/", home), Route("/t", text)], middleware=[Middleware(CORSMiddleware, allow_origins=["*"])])
with TestClient(app) as c:
    r = c.get("/?q=2", headers={"Origin": "http://x"})
    assert r.json() == {"path": "/", "q": "2"} and r.headers["access-control-allow-origin"] == "*"
    assert c.get("/t").text == "hi"
print("starlette ok")
""",
    "fastapi": r"""
from fastapi import FastAPI, Depends, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel
class Item(BaseModel):
    name: str
    price: float
app = FastAPI()
def dep():
    return 3
@app.post("/items")
def create(item: Item, n: int = Depends(dep)):
    return {"name": item.name, "total": item.price * n}
@app.get("/fail")
def fail():
    raise HTTPException(418, "teapot")
c = TestClient(app)
r = c.post("/items", json={"name": "a", "price": 2})
assert r.status_code == 200 and r.json() == {"name": "a", "total": 6.0}, r.text
assert c.post("/items", json={"name": "a"}).status_code == 422
assert c.get("/fail").status_code == 418
assert "/items" in c.get("/openapi.json").json()["paths"]
print("fastapi ok")
""",
    "pydantic": r"""
from typing import Optional
from pydantic import BaseModel, Field, ValidationError, TypeAdapter, field_validator
class User(BaseModel):
    id: int
    name: str = Field(min_length=1)
    tags: list[str] = []
    friend: Optional["User"] = None
    @field_validator("name")
    @classmethod
    def strip(cls, v):
        return v.strip()
u = User.model_validate({"id": "1", "name": " ann ", "friend": {"id": 2, "name": "bo"}})
assert u.id == 1 and u.name == "ann" and u.friend.name == "bo"
assert User.model_validate_json(u.model_dump_json()) == u
try:
    User(id="x", name="")
except ValidationError as e:
    assert len(e.errors()) == 2
else:
    raise AssertionError("no ValidationError")
assert TypeAdapter(list[int]).validate_python(["1", 2]) == [1, 2]
schema = User.model_json_schema()
assert "User" in schema.get("$defs", {}) or "properties" in schema, schema
print("pydantic ok")
""",
    "sqlalchemy": r"""
from sqlalchemy import create_engine, ForeignKey, select, func, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, Session
class Base(DeclarativeBase):
    pass
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30))
    posts: Mapped[list["Post"]] = relationship(back_populates="user")
class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User] = relationship(back_populates="posts")
engine = create_engine("sqlite://")
Base.metadata.create_all(engine)
with Session(engine) as s:
    s.add_all([User(name="a", posts=[Post(), Post()]), User(name="b")])
    s.commit()
    rows = s.execute(select(User.name, func.count(Post.id)).outerjoin(Post).group_by(User.name).order_by(User.name)).all()
    assert [tuple(r) for r in rows] == [("a", 2), ("b", 0)], rows
    assert s.scalars(select(User).where(User.name == "a")).one().posts[0].user.name == "a"
print("sqlalchemy ok")
""",
    "django": r"""
import sys, types
from django.conf import settings
urls = types.ModuleType("smoke_urls")
sys.modules["smoke_urls"] = urls
settings.configure(
    DEBUG=True, SECRET_KEY="smoke", ROOT_URLCONF="smoke_urls", ALLOWED_HOSTS=["testserver"],
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
                    "django.contrib.messages", "django.contrib.admin"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
                "django.contrib.messages.middleware.MessageMiddleware"],
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth",
                                                   "django.contrib.messages.context_processors.messages",
                                                   "django.template.context_processors.request"]}}],
    USE_TZ=True,
)
import django
django.setup()
from django.http import JsonResponse
from django.urls import path
from django.contrib import admin
def hello(request, name):
    return JsonResponse({"hello": name})
urls.urlpatterns = [path("hello/<str:name>/", hello), path("admin/", admin.site.urls)]
from django.core.management import call_command
call_command("check", verbosity=0)
call_command("migrate", verbosity=0, interactive=False)
from django.contrib.auth.models import User
User.objects.create_user("ann", password="pw")
assert User.objects.filter(username__startswith="a").count() == 1
from django.template import Template, Context
assert Template("{{ x|upper }}").render(Context({"x": "ok"})) == "OK"
from django.test import Client
c = Client()
r = c.get("/hello/world/")
assert r.status_code == 200 and r.json() == {"hello": "world"}, r.content
assert c.get("/admin/login/").status_code == 200
print("django ok")
""",
    "scipy": r"""
import numpy as np
from scipy import linalg, optimize, stats, sparse, integrate, interpolate, signal, special
a = np.array([[3.0, 1.0], [1.0, 2.0]])
assert np.allclose(linalg.solve(a, [9.0, 8.0]), [2.0, 3.0])
r = optimize.minimize(lambda x: (x[0] - 1) ** 2 + (x[1] + 2) ** 2, [0.0, 0.0])
assert np.allclose(r.x, [1, -2], atol=1e-4)
assert abs(stats.norm.cdf(0) - 0.5) < 1e-12
m = sparse.csr_matrix(a)
assert np.allclose((m @ m).toarray(), a @ a)
assert abs(integrate.quad(np.sin, 0, np.pi)[0] - 2) < 1e-9
assert abs(interpolate.interp1d([0, 1], [0, 2])(0.5) - 1) < 1e-12
b, aa = signal.butter(2, 0.1)
assert len(b) == 3 and abs(special.gamma(5) - 24) < 1e-9
print("scipy ok")
""",
    "pandas": r"""
import io
import numpy as np
import pandas as pd
df = pd.read_csv(io.StringIO("k,v,d\na,1,2024-01-01\nb,2,2024-01-02\na,3,2024-01-03\n"), parse_dates=["d"])
g = df.groupby("k")["v"].agg(["sum", "mean"])
assert g.loc["a", "sum"] == 4 and g.loc["b", "mean"] == 2.0
assert df.set_index("d").resample("2D")["v"].sum().tolist() == [3, 3]
p = df.pivot_table(index="k", values="v", aggfunc="sum")
assert p["v"].tolist() == [4, 2]
m = df.merge(pd.DataFrame({"k": ["a", "b"], "w": [10, 20]}), on="k")
assert (m["v"] * m["w"]).sum() == 10 + 40 + 30
s = pd.Series(np.arange(5), dtype="Int64"); s[1] = pd.NA
assert s.isna().sum() == 1 and pd.read_json(io.StringIO(df.to_json())).shape == df.shape
print("pandas ok")
""",
}


def run_smoke(pkg: str, copy_dir: Path, work: Path, label: str, timeout: float = 600) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    script = work / f"smoke_{pkg}.py"
    script.write_text(SMOKE[pkg])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PYTHONPATH=str(copy_dir), PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    check = f"import {pkg}, os; assert os.path.realpath({pkg}.__file__).startswith(os.path.realpath({str(copy_dir)!r})), {pkg}.__file__"
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [str(sweep_python()), "-c", check + "\nexec(compile(open(" + repr(str(script)) + ").read(), 'smoke', 'exec'))"],
            cwd=work, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        ok, out = proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    except subprocess.TimeoutExpired:
        ok, out = False, f"timed out after {timeout}s"
    return {"ok": ok, "output_tail": out, "elapsed": round(time.perf_counter() - t0, 1), "label": label}
