#!/usr/bin/env python
"""Does lazify help real projects without breaking them?  ``make corpus``.

For every project of the corpus (``manifest.tsv`` and ``freeze/`` in ``--corpus``, by default
``/work/shared/corpus``; see its README):

1. a venv from ``freeze/NAME.txt`` under ``build/corpus/venvs/NAME`` (kept: rebuilt only when the
   freeze file changes, its sha256 is in ``.corpus-stamp``);
2. a pristine clone at the manifest's commit under ``build/corpus/src/NAME`` (from a local git
   mirror, ``--mirrors``: ``OWNER+NAME/repo``, as the search tool's ``fetch`` leaves them), and two
   clean copies of it, ``WORKDIR/NAME/before`` and ``WORKDIR/NAME/after`` (git clones, so lazify sees a
   clean repository and ``git diff`` is the rewrite);
3. ``lazify apply --yes --no-cache --output-format json PATHS`` with the defaults in ``after``;
   the JSON report gives the changes by codemod, the blocked findings by (normalised) reason,
   the unsafe fixes not applied and the errors; the patch goes to ``build/corpus/patches/``;
4. a second ``lazify apply --dry-run`` on the rewritten copy, which must change nothing;
5. the project's own tests (``python -m pytest -q -p no:cacheprovider TEST_ARGS`` from the
   repository root, with the environment its notes ask for) in ``before`` and in ``after``:
   before must pass the manifest's ``baseline_passed``, after must pass what before passed, and
   every test that fails after but not before is listed;
6. the import time of the project's entry module (``ENTRIES``) in ``before`` and ``after``:
   ``python -c "import ENTRY"``, one unmeasured warm-up (it writes the ``.pyc`` files), then the
   median of 3 fresh processes (before and after alternate), wall-clock and the child's CPU time
   (user + system, which other jobs on the machine disturb less). Timing runs one project at a time after everything else, so
   ``--jobs 2`` does not slow down what is measured.

Output: one markdown table on stdout and in ``build/corpus.md``, everything in
``build/corpus.json``, logs under ``build/corpus/logs/``. Nothing of the projects is ever
committed: they stay under ``build/`` (git-ignored).

Usage::

    .venv/bin/python scripts/corpus.py [--only NAME,NAME] [--keep] [--jobs 2] [--lazify PATH]

Exit status 0 when every project ran and nothing regressed, 1 otherwise. Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "corpus"
#: The copies lazify rewrites and the tests run in. Not under build/: lazify takes the nearest
#: pyproject.toml up from the paths as the project root, and most of these projects have none,
#: so under build/ it would use lazify's own pyproject.toml (and .gitignore, which ignores
#: build/) and find nothing to do. Set by main() (--workdir).
WORK = Path("/tmp/lazify-corpus/work")
CODES = ("LZY001", "LZY002", "LZY003", "LZY004")

#: The module a server or a CLI imports first, whose import time a cold start pays; each from
#: how the project says it is served.
ENTRIES: dict[str, tuple[str, str]] = {
    "watchlist": ("wsgi", "wsgi.py is the WSGI entry (loads .env, then `from watchlist import app`)"),
    "fastapi-project-template": ("project_name.app", "`uvicorn project_name:app`; app.py builds the FastAPI app"),
    "deploy-scalable-ml-pipeline-project": ("main", "Procfile: `gunicorn ... main:app`"),
    "flasky": ("flasky", "FLASK_APP=flasky.py (the book's; it builds the app and Migrate)"),
    "microblog-api": ("microblog", "FLASK_APP=microblog.py (.flaskenv)"),
    "greybook": ("app", "FLASK_APP=app (.flaskenv); app.py calls create_app()"),
    "flask-realworld-example-app": ("autoapp", "FLASK_APP=autoapp.py (README); `app = create_app(CONFIG)`"),
    "todoism": ("todoism", "FLASK_APP=todoism (.flaskenv): flask finds create_app in the package"),
    "fastAPI-ML-quickstart": ("api.main", "Dockerfile: `uvicorn api.main:app`"),
    "Deploy-BERT-for-Sentiment-Analysis-with-FastAPI": ("sentiment_analyzer.api", "bin/start_server: `uvicorn sentiment_analyzer.api:app`"),
    "microblog": ("microblog", "FLASK_APP=microblog.py (.flaskenv)"),
    "python-rest-api-books-store": ("app.main", "Dockerfile: `uvicorn app.main:app`"),
    "REST-auth": ("api", "api.py is the whole app (`python api.py`)"),
}  # fmt: skip

#: Environment the manifest's notes ask for, for the tests and the import alike.
PROJECT_ENV: dict[str, dict[str, str]] = {
    "flasky": {"SERVER_NAME": "localhost"},  # config.py reads os.environ['SERVER_NAME'] at import
    "fastapi-project-template": {"FORCE_ENV_FOR_DYNACONF": "testing"},
}

#: For projects without tests: a few requests through the app, printed; before and after must
#: print the same. books-store's notes: its test file collects 0 tests, so "check by importing
#: and a smoke request" (GET /books/ goes through get_db and so through SessionLocal).
SMOKE: dict[str, str] = {
    "python-rest-api-books-store": (
        "from fastapi.testclient import TestClient\n"
        "from app.main import app\n"
        "c = TestClient(app)\n"
        "for path in ('/', '/books/', '/openapi.json'):  # /books/{id} calls a crud function it lacks\n"
        "    r = c.get(path)\n"
        "    print(path, r.status_code, r.text[:200] if path != '/openapi.json' else sorted(r.json()['paths']))\n"
    ),
}

TEST_TIMEOUT = 900
IMPORT_TIMEOUT = 180
LAZIFY_TIMEOUT = 900

_print_lock = threading.Lock()


def log(name: str, msg: str) -> None:
    with _print_lock:
        print(f"[corpus] {name}: {msg}", file=sys.stderr, flush=True)


def run(
    cmd: list[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    logfile: Path | None = None,
) -> tuple[int | None, str, str, float]:
    """(returncode or None on timeout, stdout, stderr, seconds)."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            timeout=timeout,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            errors="replace",
        )
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = None
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = (
            e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        ) + f"\n[timeout after {timeout}s]"
    dt = time.perf_counter() - t0
    if logfile is not None:
        logfile.parent.mkdir(parents=True, exist_ok=True)
        logfile.write_text(
            f"$ {shlex.join(cmd)}\n(cwd {cwd}; rc {rc}; {dt:.1f}s)\n--- stdout\n{out}\n--- stderr\n{err}"
        )
    return rc, out, err, dt


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


# ---------------------------------------------------------------------------------------------
# setup


def read_manifest(corpus: Path) -> list[dict[str, str]]:
    rows = (corpus / "manifest.tsv").read_text().rstrip("\n").split("\n")
    header = rows[0].split("\t")
    return [dict(zip(header, r.split("\t"))) for r in rows[1:] if r.strip()]


def setup_venv(p: dict[str, str], corpus: Path) -> Path:
    """The project's venv from its freeze file, reused while the freeze file is unchanged."""
    freeze = corpus / "freeze" / f"{p['name']}.txt"
    if not freeze.is_file():
        raise SetupError(f"no freeze file ({freeze.name} is not in {freeze.parent})")
    venv = BUILD / "venvs" / p["name"]
    stamp = venv / ".corpus-stamp"
    sha = hashlib.sha256(freeze.read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text().strip() == sha and (venv / "bin" / "python").exists():
        return venv
    log(p["name"], f"creating venv from {freeze.name} (minutes)")
    shutil.rmtree(venv, ignore_errors=True)
    rc, _, err, _ = run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    if rc != 0:
        raise SetupError(f"python -m venv failed: {last_line(err)}")
    rc, _out, err, dt = run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(freeze)],
        timeout=3600,
        logfile=BUILD / "logs" / f"{p['name']}.venv.log",
    )
    if rc != 0:
        errors = [ln for ln in err.splitlines() if ln.startswith("ERROR")]
        raise SetupError(f"pip install -r {freeze.name} failed: {(errors or [last_line(err)])[0][:300]}")
    stamp.write_text(sha + "\n")
    log(p["name"], f"venv ready ({dt:.0f}s)")
    return venv


class SetupError(Exception):
    pass


def git(*args: str, cwd: Path | None = None) -> str:
    rc, out, err, _ = run(["git", *args], cwd=cwd, timeout=600)
    if rc != 0:
        raise SetupError(f"git {' '.join(args)} failed: {last_line(err)}")
    return out.strip()


def mirror_of(repo: str, mirrors: Path) -> Path:
    base = mirrors / repo.replace("/", "+") / "repo"
    for cand in (base, base / ".git"):
        if (cand / "HEAD").is_file() or (cand / ".git").exists():
            return cand
    raise SetupError(f"no mirror of {repo} under {mirrors} (fetch github:{repo} with the search tool first)")


def pristine(p: dict[str, str], mirrors: Path) -> Path:
    """build/corpus/src/NAME at the manifest's commit, clean."""
    src = BUILD / "src" / p["name"]
    if not (src / ".git").exists():
        shutil.rmtree(src, ignore_errors=True)
        src.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "-q", str(mirror_of(p["repo"], mirrors)), str(src))
    if git("rev-parse", "HEAD", cwd=src) != p["commit"]:
        git("checkout", "-q", "--detach", p["commit"], cwd=src)
    if git("status", "--porcelain", "--ignored", cwd=src):
        git("reset", "-q", "--hard", cwd=src)
        git("clean", "-q", "-fdx", cwd=src)
    return src


def clean_copy(src: Path, dest: Path, commit: str) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    git("clone", "-q", "--no-hardlinks", str(src), str(dest))
    git("checkout", "-q", "--detach", commit, cwd=dest)
    return dest


def project_env(name: str, venv: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    for k in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "FORCE_COLOR"):
        env.pop(k, None)
    env["NO_COLOR"] = "1"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(PROJECT_ENV.get(name, {}))
    return env


# ---------------------------------------------------------------------------------------------
# lazify


def norm_reason(reason: str | None) -> str:
    """Group blocked reasons: names, strings, numbers and places become placeholders."""
    if not reason:
        return "(no reason)"
    r = re.sub(r"`[^`]*`", "`…`", reason)
    r = re.sub(r'"[^"]*"', '"…"', r)
    r = re.sub(r"\b[\w./-]+\.py(:\d+)?\b", "<file>", r)
    r = re.sub(r"\b(line|lines) \d+(-\d+)?", r"\1 N", r)
    r = re.sub(r"\d+", "N", r)
    return r


def lazify_run(
    lazify: str, cwd: Path, paths: list[str], dry_run: bool, logfile: Path, venv: Path | None = None
) -> dict:
    """``lazify apply`` as a user runs it: with the project's virtualenv active, so what lazify
    reads of the installed packages (re-exported factories, Flask extensions, the SQLAlchemy
    version) is the project's, as it would be on their machine."""
    mode = "--dry-run" if dry_run else "--yes"
    cmd = [lazify, "apply", mode, "--no-cache", "--output-format", "json", *paths]
    env = dict(os.environ, NO_COLOR="1", PYTHONFAULTHANDLER="1")
    env.pop("FORCE_COLOR", None)
    env.pop("VIRTUAL_ENV", None)
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
    rc, out, err, dt = run(cmd, cwd=cwd, env=env, timeout=LAZIFY_TIMEOUT, logfile=logfile)
    res: dict = {
        "cmd": shlex.join(cmd[1:]),
        "rc": rc,
        "seconds": round(dt, 2),
        "stderr_tail": err.strip().splitlines()[-5:],
    }
    try:
        res["report"] = json.loads(out)
    except json.JSONDecodeError:
        res["report"] = None
        res["crash"] = (
            "no JSON on stdout"
            + ("; traceback on stderr" if "Traceback" in err else "")
            + f": {last_line(err)}"
        )
    if "Traceback" in err:
        res["crash"] = "traceback on stderr: " + last_line(err)
    return res


def summarize_report(doc: dict | None) -> dict:
    if not doc:
        return {}
    changes = doc.get("changes", [])
    applied = [c for c in changes if c.get("applied")]
    blocked = [c for c in changes if c.get("safety") == "blocked"]
    unsafe = [c for c in changes if not c.get("applied") and c.get("safety") == "unsafe"]
    by_reason = Counter(f"{c['codemod']}: {norm_reason(c.get('reason'))}" for c in blocked)
    return {
        "files_changed": doc["summary"]["files_changed"],
        "applied_by_codemod": dict(Counter(c["codemod"] for c in applied)),
        "blocked_by_reason": dict(by_reason.most_common()),
        "unsafe_not_applied": [f"{c['codemod']} {c['file']}:{c['line']}: {c['message']}" for c in unsafe],
        "errors": doc.get("errors", []),
        "skipped": doc.get("skipped", []),
        "applied": [f"{c['codemod']} {c['file']}:{c['line']}: {c['message']}" for c in applied],
        "blocked": [f"{c['codemod']} {c['file']}:{c['line']}: {c.get('reason')}" for c in blocked],
        "summary": doc["summary"].get("text"),
    }


# ---------------------------------------------------------------------------------------------
# tests and import time


SUMMARY_WORDS = ("passed", "failed", "error", "errors", "skipped", "xfailed", "xpassed", "deselected")


def parse_pytest(out: str) -> dict:
    counts: dict[str, int] = {}
    for line in reversed(out.splitlines()):
        s = line.strip().strip("=").strip()
        if re.search(r"\bin [\d.]+s\b", s) and re.search(
            r"\d+ (passed|failed|error|errors|skipped|deselected|no tests ran)", s + " "
        ):
            for n, word in re.findall(r"(\d+) (\w+)", s):
                if word in SUMMARY_WORDS:
                    counts["errors" if word == "error" else word] = int(n)
            break
        if re.match(r"no tests ran in", s):
            break
    failing = sorted({ln.split()[1] for ln in out.splitlines() if re.match(r"(FAILED|ERROR) \S", ln)})
    return {"counts": counts, "failing": failing}


def ensure_pytest(p: dict[str, str], venv: Path, corpus: Path) -> str | None:
    """A note when the freeze file has no pytest (it is then installed into the venv, once)."""
    freeze = (corpus / "freeze" / f"{p['name']}.txt").read_text()
    if re.search(r"(?im)^pytest==", freeze):
        return None
    py = str(venv / "bin" / "python")
    if run([py, "-c", "import pytest"], timeout=60)[0] != 0:
        rc, _, err, _ = run([py, "-m", "pip", "install", "-q", "pytest"], timeout=600)
        if rc != 0:
            raise SetupError(f"freeze file has no pytest, and pip install pytest failed: {last_line(err)}")
    rc, out, _, _ = run([py, "-c", "import pytest; print(pytest.__version__)"], timeout=60)
    return f"pytest is not in freeze/{p['name']}.txt: ran with pytest {out.strip()}"


def run_smoke(name: str, venv: Path, copy: Path, which: str) -> dict:
    cmd = [str(venv / "bin" / "python"), "-c", SMOKE[name]]
    rc, out, err, _dt = run(
        cmd,
        cwd=copy,
        env=project_env(name, venv),
        timeout=IMPORT_TIMEOUT,
        logfile=BUILD / "logs" / f"{name}.smoke-{which}.log",
    )
    return {"rc": rc, "output": out, "error": last_line(err) if rc != 0 else None}


def run_tests(p: dict[str, str], venv: Path, copy: Path, which: str) -> dict:
    if p["test_args"].strip() == "-":
        if p["name"] in SMOKE:
            return {"skipped": "no tests in the manifest", "smoke": run_smoke(p["name"], venv, copy, which)}
        return {"skipped": "no tests in the manifest"}
    if p.get("install_self", "no") == "yes":
        run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "-e", str(copy)],
            timeout=600,
        )
    cmd = [
        str(venv / "bin" / "python"),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-rfE",
        *shlex.split(p["test_args"]),
    ]
    rc, out, err, dt = run(
        cmd,
        cwd=copy,
        env=project_env(p["name"], venv),
        timeout=TEST_TIMEOUT,
        logfile=BUILD / "logs" / f"{p['name']}.tests-{which}.log",
    )
    res = parse_pytest(out)
    res.update(rc=rc, seconds=round(dt, 1), passed=res["counts"].get("passed", 0))
    if rc is None:
        res["problem"] = f"timed out after {TEST_TIMEOUT}s"
    elif not res["counts"]:
        res["problem"] = f"no pytest summary (rc {rc}): {last_line(err) or last_line(out)}"
    return res


def time_imports(name: str, venv: Path, copies: dict[str, Path], entry: str) -> dict[str, dict]:
    """``python -c "import ENTRY"`` in each copy: a warm-up (it writes the .pyc files, and an
    import that fails is reported from it), then 3 rounds that alternate the copies, so a drift
    in the machine's speed hits both alike; the median of each copy's 3."""
    cmd = [str(venv / "bin" / "python"), "-c", f"import {entry}"]
    env = project_env(name, venv)
    out: dict[str, dict] = {}
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for which, copy in copies.items():
        logf = BUILD / "logs" / f"{name}.import-{which}.log"
        rc, _, err, dt = run(cmd, cwd=copy, env=env, timeout=IMPORT_TIMEOUT, logfile=logf)
        if rc != 0:
            why = f"timed out after {IMPORT_TIMEOUT}s" if rc is None else last_line(err)
            out[which] = {"ok": False, "error": why, "seconds": round(dt, 3)}
        else:
            times[which] = []
    for _ in range(3):
        for which in list(times):
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                cmd,
                cwd=copies[which],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            times[which].append(time.perf_counter() - t0)
            cpu.setdefault(which, []).append(usage.ru_utime + usage.ru_stime)
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                out[which] = {"ok": False, "error": f"fails after the warm-up (exit {proc.returncode})"}
                del times[which]
    for which, ts in times.items():
        out[which] = {
            "ok": True,
            "median": round(statistics.median(ts), 4),
            "runs": [round(t, 4) for t in ts],
            "cpu_median": round(statistics.median(cpu[which]), 4),
        }
    return out


# ---------------------------------------------------------------------------------------------
# one project


def prepare(p: dict[str, str], args: argparse.Namespace) -> dict:
    """Everything but the timing: venv, copies, lazify twice, tests before and after."""
    name = p["name"]
    res: dict = {"name": name, "repo": p["repo"], "commit": p["commit"], "problems": [], "notes": []}
    paths = [s for s in p["paths"].split(",") if s]
    venv: Path | None = None
    try:
        venv = setup_venv(p, args.corpus)
    except SetupError as e:
        res["problems"].append(f"venv: {e}")
        log(name, f"venv: {e}")
    try:
        src = pristine(p, args.mirrors)
        work = WORK / name
        before = clean_copy(src, work / "before", p["commit"])
        after = clean_copy(src, work / "after", p["commit"])
    except SetupError as e:
        res["problems"].append(f"setup: {e}")
        log(name, f"setup: {e}")
        return res
    res["_before"], res["_after"], res["_venv"] = str(before), str(after), str(venv) if venv else None
    for path in paths:
        if not (after / path).exists():
            res["problems"].append(f"path {path} is not in the repository")

    log(name, "lazify apply --yes")
    first = lazify_run(
        args.lazify, after, paths, dry_run=False, logfile=BUILD / "logs" / f"{name}.lazify.log", venv=venv
    )
    res["lazify"] = {k: v for k, v in first.items() if k != "report"}
    res["lazify"].update(summarize_report(first["report"]))
    if "crash" in first:
        res["problems"].append(f"lazify: {first['crash']}")
    if first["rc"] not in (0,):
        res["problems"].append(f"lazify apply --yes exited {first['rc']}")
    patch = git("diff", cwd=after)
    changed = [f for f in git("diff", "--name-only", cwd=after).splitlines() if f]
    res["files_rewritten"] = changed
    (BUILD / "patches").mkdir(parents=True, exist_ok=True)
    (BUILD / "patches" / f"{name}.diff").write_text(patch + ("\n" if patch else ""))

    second = lazify_run(
        args.lazify,
        after,
        paths,
        dry_run=True,
        logfile=BUILD / "logs" / f"{name}.lazify-second.log",
        venv=venv,
    )
    summ = summarize_report(second["report"])
    res["second_run"] = {
        "rc": second["rc"],
        "files_changed": summ.get("files_changed"),
        "applied": summ.get("applied", []),
        "errors": summ.get("errors", []),
        "crash": second.get("crash"),
    }
    res["second_run"]["clean"] = (
        bool(second["report"])
        and summ.get("files_changed") == 0
        and not summ.get("errors")
        and second["rc"] == 0
    )

    if venv is not None and p["test_args"].strip() != "-":
        try:
            note = ensure_pytest(p, venv, args.corpus)
        except SetupError as e:
            res["problems"].append(str(e))
            venv = None
        else:
            if note:
                res["notes"].append(note)
    if venv is not None:
        log(name, "tests before")
        res["tests_before"] = run_tests(p, venv, before, "before")
        log(name, "tests after")
        res["tests_after"] = run_tests(p, venv, after, "after")
        tb, ta = res["tests_before"], res["tests_after"]
        if "skipped" not in tb:
            base = int(p["baseline_passed"] or 0)
            if tb.get("passed") != base:
                res["problems"].append(f"tests before: {tb.get('passed')} passed, the manifest says {base}")
            if ta.get("passed") != tb.get("passed"):
                res["problems"].append(f"tests after: {ta.get('passed')} passed, before {tb.get('passed')}")
            regressed = sorted(set(ta.get("failing", [])) - set(tb.get("failing", [])))
            if regressed:
                res["regressed"] = regressed
                res["problems"].append(
                    f"{len(regressed)} test(s) fail only after the rewrite: {', '.join(regressed[:5])}"
                )
            for t in (tb, ta):
                if t.get("problem"):
                    res["problems"].append(t["problem"])
        elif "smoke" in tb:
            sb, sa = tb["smoke"], ta["smoke"]
            if sb["rc"] != 0:
                res["problems"].append(f"smoke check fails before: {sb['error']}")
            if sa["rc"] != 0 or sa["output"] != sb["output"]:
                res["problems"].append(
                    f"smoke check differs after the rewrite: {sa['error'] or 'other output'}"
                )
            else:
                res["notes"].append(
                    f"smoke check ({len(sb['output'].splitlines())} requests) same before and after"
                )
    log(name, "prepared")
    return res


def measure(res: dict) -> None:
    entry = ENTRIES.get(res["name"], (None, ""))[0]
    res["entry"] = entry
    if entry is None:
        res["notes"].append("no entry module in ENTRIES")
        return
    if not res.get("_venv") or not res.get("_before"):
        return
    venv = Path(res["_venv"])
    log(res["name"], f"import {entry}: timing")
    timed = time_imports(
        res["name"], venv, {"before": Path(res["_before"]), "after": Path(res["_after"])}, entry
    )
    res["import_before"], res["import_after"] = timed["before"], timed["after"]
    b, a = res["import_before"], res["import_after"]
    if b["ok"] and not a["ok"]:
        res["problems"].append(f"import {entry} fails only after the rewrite: {a['error']}")
    elif not b["ok"] and a["ok"]:
        res["notes"].append(f"import {entry} failed before ({b['error'][:120]}), imports after")
    elif not b["ok"]:
        res["notes"].append(f"import {entry} fails before and after: {a['error'][:120]}")


# ---------------------------------------------------------------------------------------------
# the table


def fmt_tests(res: dict, baseline: str) -> str:
    tb, ta = res.get("tests_before"), res.get("tests_after")
    if tb is None:
        return "n/a"
    if "skipped" in tb:
        if "smoke" in tb:
            ok = (
                tb["smoke"]["rc"] == 0
                and ta["smoke"]["rc"] == 0
                and tb["smoke"]["output"] == ta["smoke"]["output"]
            )
            return "no tests; smoke " + ("same" if ok else "**differs**")
        return "no tests"

    def one(t: dict) -> str:
        c = t.get("counts", {})
        s = str(c.get("passed", 0))
        bad = c.get("failed", 0) + c.get("errors", 0)
        return s + (f" ({bad} failed)" if bad else "") + (" (timeout)" if t.get("rc") is None else "")

    return f"{one(tb)} / {baseline} / {one(ta)}"


def fmt_import(res: dict) -> str:
    def one(t: dict | None) -> str:
        if not t:
            return "n/a"
        return f"{t['median'] * 1000:.0f} ms" if t["ok"] else "fails"

    b, a = res.get("import_before"), res.get("import_after")
    if not b and not a:
        return "n/a"
    s = f"{one(b)} → {one(a)}"
    if b and a and b["ok"] and a["ok"] and b["median"]:
        s += f" ({(a['median'] - b['median']) / b['median'] * 100:+.0f}%; CPU {b['cpu_median'] * 1000:.0f} → {a['cpu_median'] * 1000:.0f} ms)"
    return s


def fmt_blocked(lz: dict) -> str:
    reasons = lz.get("blocked_by_reason") or {}
    if not reasons:
        return "0"
    total = sum(reasons.values())
    times = "\u00d7"  # the multiplication sign
    top = "; ".join(f"{r} {times}{n}" for r, n in list(reasons.items())[:2])
    more = f"; +{len(reasons) - 2} more" if len(reasons) > 2 else ""
    return f"{total}: {top}{more}".replace("|", "\\|")


def table(results: list[dict], manifest: dict[str, dict[str, str]]) -> str:
    head = [
        "project",
        "files rewritten",
        *CODES,
        "blocked (top reasons)",
        "unsafe not applied",
        "tests before / baseline / after",
        "2nd run clean",
        "import entry: before → after",
        "notes",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([" --- "] * len(head)) + "|"]
    for r in results:
        lz = r.get("lazify", {})
        by = lz.get("applied_by_codemod", {})
        sr = r.get("second_run")
        notes = r["problems"] + r["notes"]
        cells = [
            r["name"],
            str(len(r.get("files_rewritten", []))) if "files_rewritten" in r else "n/a",
            *[str(by.get(c, 0)) if lz else "n/a" for c in CODES],
            fmt_blocked(lz) if lz else "n/a",
            str(len(lz.get("unsafe_not_applied", []))) if lz else "n/a",
            fmt_tests(r, manifest[r["name"]]["baseline_passed"]),
            ("yes" if sr["clean"] else "**no**") if sr else "n/a",
            (f"`{r['entry']}`: " if r.get("entry") else "") + fmt_import(r),
            "; ".join(n.replace("|", "\\|").replace("\n", " ") for n in notes) or "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def lazify_identity(lazify: str) -> dict:
    exe = Path(lazify).resolve()
    ident = {"lazify": lazify}
    rc, out, _, _ = run([lazify, "--version"], timeout=60)
    ident["version"] = out.strip() if rc == 0 else None
    # An editable install: name the commit of the source it runs.
    # cwd=/: with -c, the working directory comes first on sys.path (this repo's lazifier/!).
    rc, out, _, _ = run(
        [
            str(exe.parent / "python"),
            "-c",
            "import lazifier, os; print(os.path.dirname(os.path.dirname(lazifier.__file__)))",
        ],
        cwd=Path("/"),
        timeout=60,
    )
    if rc == 0 and out.strip():
        src = Path(out.strip())
        rc, head, _, _ = run(["git", "-C", str(src), "log", "-1", "--format=%H %s"], timeout=60)
        if rc == 0:
            ident["source"] = str(src)
            ident["head"] = head.strip()
            # The last commit that changed lazify's code (HEAD may be a commit of this script).
            rc, code, _, _ = run(
                [
                    "git",
                    "-C",
                    str(src),
                    "log",
                    "-1",
                    "--format=%H %s",
                    "--",
                    "lazifier",
                    "codemods",
                    "pyproject.toml",
                ],
                timeout=60,
            )
            ident["commit"] = code.strip() if rc == 0 else head.strip()
            rc, dirty, _, _ = run(
                ["git", "-C", str(src), "status", "--porcelain", "--", "lazifier", "codemods"], timeout=60
            )
            ident["source_dirty"] = bool(dirty.strip())
    return ident


def main(argv: list[str] | None = None) -> int:
    global WORK
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", help="comma-separated project names")
    ap.add_argument("--keep", action="store_true", help="keep the copies (under --workdir)")
    ap.add_argument(
        "--workdir",
        type=Path,
        default=WORK,
        help="where the copies go; no pyproject.toml may be above it (default: %(default)s)",
    )
    ap.add_argument("--jobs", "-j", type=int, default=1, help="projects in parallel (at most 2)")
    ap.add_argument(
        "--lazify",
        default=str(ROOT / ".venv" / "bin" / "lazify"),
        help="the lazify executable (default: %(default)s)",
    )
    ap.add_argument(
        "--corpus",
        type=Path,
        default=Path("/work/shared/corpus"),
        help="manifest.tsv and freeze/ (default: %(default)s)",
    )
    ap.add_argument(
        "--mirrors",
        type=Path,
        default=Path("/work/.mirror"),
        help="git mirrors, OWNER+NAME/repo (default: %(default)s)",
    )
    args = ap.parse_args(argv)
    WORK = args.workdir.resolve()
    above = [d for d in WORK.parents if (d / "pyproject.toml").is_file()]
    if above:
        ap.error(
            f"--workdir {WORK} is under {above[0] / 'pyproject.toml'}: lazify would take that as the projects' root"
        )
    if not Path(args.lazify).is_file():
        ap.error(f"no lazify at {args.lazify} (make .venv/.installed-stamp, or --lazify PATH)")
    manifest = read_manifest(args.corpus)
    by_name = {p["name"]: p for p in manifest}
    todo = manifest
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in by_name]
        if unknown:
            ap.error(f"not in the manifest: {', '.join(unknown)}")
        todo = [by_name[n] for n in names]
    with _run_lock() as held:
        if held is not None:
            print(
                f"corpus: another corpus run (pid {held}) is using build/corpus/ and {WORK}; "
                "wait for it to finish",
                file=sys.stderr,
            )
            return 2
        return _run(args, todo, by_name)


@contextlib.contextmanager
def _run_lock():
    """One corpus run at a time: the venvs, clones, logs and the work directory are shared.

    Yields None while holding the lock, or the holder's pid when another run has it. The lock is
    an flock, so a killed run never leaves a stale one behind.
    """
    BUILD.mkdir(parents=True, exist_ok=True)
    path = BUILD / "run.lock"
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            yield fh.read().strip() or "?"
            return
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        try:
            yield None
        finally:
            fh.truncate(0)


def _run(args: argparse.Namespace, todo: list[dict[str, str]], by_name: dict[str, dict[str, str]]) -> int:
    jobs = max(1, min(2, args.jobs))
    ident = lazify_identity(args.lazify)
    log(
        "lazify",
        f"{ident.get('version')} at {ident.get('commit', '?')}{' (dirty)' if ident.get('source_dirty') else ''}",
    )

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda p: _guarded(prepare, p, args), todo))
    for res in results:  # one at a time, nothing else running
        try:
            measure(res)
        except Exception as e:
            res["problems"].append(f"timing crashed: {e!r}")
        if not args.keep:
            shutil.rmtree(WORK / res["name"], ignore_errors=True)

    md = table(results, by_name)
    info = f"{ident.get('version')} at `{ident.get('commit', '?')}`" + (
        " (uncommitted changes)" if ident.get("source_dirty") else ""
    )
    doc_md = f"# lazify on the corpus\n\n{info}; {len(results)} projects in {time.perf_counter() - t0:.0f}s.\n\n{md}"
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "corpus.md").write_text(doc_md)
    for r in results:
        for k in [k for k in r if k.startswith("_")]:
            del r[k]
    (ROOT / "build" / "corpus.json").write_text(
        json.dumps({"lazify": ident, "projects": results}, indent=2) + "\n"
    )
    print(md, end="")
    log("done", "build/corpus.md, build/corpus.json, logs and patches under build/corpus/")
    return (
        1
        if any(r["problems"] or (r.get("second_run") and not r["second_run"]["clean"]) for r in results)
        else 0
    )


def _guarded(fn, p: dict[str, str], args: argparse.Namespace) -> dict:
    try:
        return fn(p, args)
    except Exception as e:
        import traceback

        log(p["name"], f"crashed: {e!r}")
        return {
            "name": p["name"],
            "problems": [f"corpus.py crashed: {e!r}"],
            "notes": [],
            "traceback": traceback.format_exc(),
        }


if __name__ == "__main__":
    sys.exit(main())
