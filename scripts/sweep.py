#!/usr/bin/env python
"""Robustness sweep: run ``lazify apply --yes`` over large real code bases and check the result.

Copies of real code are rewritten in a temporary directory (nothing under the project changes
except ``build/sweep-report.json``):

* ``stdlib``: the installed standard library (the directory of ``os.__file__``, without
  ``site-packages`` and ``__pycache__``), with a ``[tool.lazify]`` table that makes most of it
  "heavy" (``STDLIB_HEAVY``), so that most files have candidates;
* ``numpy``: the numpy package installed next to lazify, with lazify's defaults (numpy is a
  default heavy module, so its own ``import numpy as np`` are candidates);
* ``pandas`` (only with ``--pandas``): pandas, pip-installed into a throw-away venv.

For each copy the sweep checks that:

1. the CLI does not crash (no traceback, JSON on stdout, no "internal error" and no dead
   worker in the ``errors`` list);
2. every rewritten file parses (``ast.parse``) and compiles (``compile(src, path, "exec")``),
   files whose original did not compile not counting;
3. a second ``lazify apply --dry-run`` over the rewritten copy changes nothing (idempotence).

With ``--packages`` (issue 10) the sweep instead takes large installed packages (django,
sqlalchemy, pandas, scipy, pydantic, flask, fastapi, starlette, requests, pip-installed into
``build/sweep-venv``), rewrites a copy of each in two configurations (``a``: lazify's defaults;
``b``: widened heavy-modules plus unsafe fixes), runs the three checks above, then imports every
module of the rewritten copy against a pristine copy, runs a smoke script per package and checks
black stability (see ``scripts/sweep_imports.py``). It prints one table row per package and
configuration, writes every regression in detail to ``build/sweep-report.json``, and exits 1
when a regression, internal error, second-pass change or black-unstable file was found. All
nine packages in both configurations take about an hour on 2 cores; ``--packages flask,django``
selects.

Usage (with the project's venv)::

    .venv/bin/python scripts/sweep.py [--keep] [--numpy-only] [--stdlib-only] [--pandas] [-j N]
        [--select CODEMODS] [--recheck-json] [--no-snapshot] [--timeout SECONDS]
    .venv/bin/python scripts/sweep.py --packages all|NAME,... [--configs a,b] [--module-timeout S]
        [--upgrade-venv] [--keep] [-j N]

Both runs use a snapshot of lazify's source (``lazifier/`` and ``codemods/``) taken when the
sweep starts, so edits to the working tree during a long sweep cannot make the second run
disagree with the first (``--no-snapshot`` runs the installed ``lazify`` instead). The second
run uses the text format (the patch tells which files would change); the first uses JSON, which
makes lazify compute one diff per finding and is several times slower on big files.

Exit status: 0 when every check passed, 1 when something failed, 2 on a usage error.
Standard library only.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT_PATH = ROOT / "build" / "sweep-report.json"

#: The brief's list, extended so that most standard-library files import something heavy.
STDLIB_HEAVY = [
    "json", "re", "os", "collections", "subprocess", "typing", "functools", "itertools",
    "warnings", "threading", "socket", "io", "sys", "time", "logging", "tempfile", "shutil",
    "struct", "datetime", "weakref",
    # extension: most stdlib files then have a candidate
    "unittest", "test", "contextlib", "types", "abc", "enum", "dataclasses", "math", "string",
    "errno", "stat", "copy", "operator", "textwrap", "inspect", "traceback", "pathlib", "random",
    "importlib", "codecs", "pickle", "select", "array", "binascii", "base64", "hashlib",
    "asyncio", "email", "http", "urllib", "xml", "locale", "signal", "glob", "fnmatch",
    "tkinter", "ctypes", "sysconfig", "decimal", "numbers", "concurrent", "queue", "heapq",
    "bisect", "zlib", "_thread", "platform", "difflib", "linecache", "tokenize", "token",
    "keyword", "ast", "dis", "unicodedata", "multiprocessing", "encodings", "pprint",
    "argparse", "configparser", "gc", "selectors", "ssl", "zipfile", "copyreg", "reprlib",
    "_collections_abc", "contextvars", "doctest", "shlex", "sre_constants", "posixpath", "ntpath",
]  # fmt: skip

#: The standard library is that of the running interpreter: it may use that version's syntax.
STDLIB_TARGET = f"py3{max(10, min(15, sys.version_info[1]))}"

#: ``--select`` for both runs (set by main()).
SELECT: list[str] = []

CRASH_MARKERS = ("internal error", "the worker processing this file died")


# ---------------------------------------------------------------------------------------------
# helpers


class Timer:
    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    def phase(self, name: str):
        timer = self

        class _Ctx:
            def __enter__(self):
                self.t0 = time.perf_counter()
                print(f"[sweep] {name} ...", flush=True)
                return self

            def __exit__(self, *exc):
                dt = time.perf_counter() - self.t0
                timer.phases[name] = round(dt, 2)
                print(f"[sweep] {name}: {dt:.1f}s", flush=True)
                return False

        return _Ctx()


#: Set by main(): run lazify from a snapshot of its source taken when the sweep starts, so that
#: both runs use the same code even if the working tree changes meanwhile.
SNAPSHOT: Path | None = None
LAUNCHER = (
    "import sys; del sys.path[0]; from lazifier.cli import main; sys.argv[0] = 'lazify'; sys.exit(main())"
)


def lazify_exe() -> list[str]:
    if SNAPSHOT is not None:
        # Not ``-m``: that puts the working directory (a copy of the stdlib!) first on sys.path.
        return [sys.executable, "-c", LAUNCHER]
    for cand in (Path(sys.executable).parent / "lazify", ROOT / ".venv" / "bin" / "lazify"):
        if cand.is_file() and os.access(cand, os.X_OK):
            return [str(cand)]
    found = shutil.which("lazify")
    if found:
        return [found]
    return [sys.executable, "-m", "lazifier"]


def lazify_env() -> dict[str, str]:
    env = dict(os.environ, NO_COLOR="1", PYTHONFAULTHANDLER="1")
    env.pop("FORCE_COLOR", None)
    if SNAPSHOT is not None:
        env["PYTHONPATH"] = str(SNAPSHOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def take_snapshot(dest: Path) -> tuple[Path, str]:
    """Copy lazify's packages; return the directory and a hash of the code."""
    import hashlib

    out = dest / "lazify-src"
    h = hashlib.blake2b(digest_size=8)
    for pkg in ("lazifier", "codemods"):
        shutil.copytree(ROOT / pkg, out / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for f in sorted((out / pkg).rglob("*.py")):
            h.update(f.relative_to(out).as_posix().encode() + b"\0" + f.read_bytes())
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; del sys.path[0]; import lazifier, codemods; print(lazifier.__file__); print(codemods.__file__)"],
        env=dict(os.environ, PYTHONPATH=str(out)), capture_output=True, text=True, check=True,
    )  # fmt: skip
    for line in probe.stdout.split():
        if not Path(line).resolve().is_relative_to(out.resolve()):
            raise SystemExit(f"sweep: the snapshot is not what gets imported ({line}); use --no-snapshot")
    return out, h.hexdigest()


def norm_reason(reason: str | None) -> str:
    """Group blocked reasons: drop names, paths and details, keep the kind of place."""
    if not reason:
        return "(no reason)"
    r = reason
    r = re.sub(r" at [^ ]+:\d+$", " at <file:line>", r)
    r = re.sub(r" on line \d+ of [\w.]+", " on line N of <module>", r)
    r = re.sub(r'"[^"]*"', '"…"', r)
    r = re.sub(r"`[^`]*`", "`…`", r)
    # "(decorator of class `…`)" -> "(decorator)", "(class body of `…`)" -> "(class body)"
    r = re.sub(r"\(([^()]*)\)", lambda m: "(" + re.split(r" of |`", m.group(1))[0].strip() + ")", r)
    r = re.sub(r": \S+ star-imports this module", ": <file:line> star-imports this module", r)
    return r


def norm_message(msg: str) -> str:
    m = re.sub(r"`[^`]*`", "`…`", msg)
    m = re.sub(r"\d+", "N", m)
    return m


def error_group(msg: str) -> str:
    """A short key for an error message: its prefix before the details."""
    if msg.startswith("the worker processing this file died"):
        return "worker died"
    if msg.startswith("internal error in "):
        # internal error in heavy-imports (LZY001): the output does not compile: ...
        head, _, rest = msg.partition("): ")
        detail = rest.split(":")[0]
        return f"{head}): {detail}"
    if msg.startswith("internal error: "):
        # internal error: KeyError: 'x' (in heavy_imports.py:123)
        rest = msg[len("internal error: ") :]
        exc = rest.split(":")[0]
        where = re.search(r"\(in ([^)]*)\)$", msg)
        return f"internal error: {exc}" + (f" (in {where.group(1)})" if where else "")
    return msg.split(":")[0]


def is_crash(msg: str) -> bool:
    return msg.startswith(CRASH_MARKERS)


def try_compile(data: bytes, path: str) -> tuple[bool, bool, str]:
    """(parses, compiles, why not)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(data, filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            return (
                False,
                False,
                f"{type(e).__name__}: {getattr(e, 'msg', e)} (line {getattr(e, 'lineno', '?')})",
            )
        try:
            compile(data, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            return (
                True,
                False,
                f"{type(e).__name__}: {getattr(e, 'msg', e)} (line {getattr(e, 'lineno', '?')})",
            )
    return True, True, ""


SUMMARY_PARTS = {
    "rewritten": re.compile(r"(\d+) files? (?:would be )?rewritten"),
    "unchanged": re.compile(r"(\d+) unchanged"),
    "skipped": re.compile(r"(\d+) skipped \("),
    "failed": re.compile(r"(\d+) files? failed"),
}


def parse_summary(text: str) -> dict[str, int]:
    out = {}
    for key, rx in SUMMARY_PARTS.items():
        m = rx.search(text)
        out[key] = int(m.group(1)) if m else 0
    return out


def run_lazify(args: list[str], cwd: Path, log_prefix: Path, timeout: float, fmt: str = "json") -> dict:
    """Run the CLI; return exit code, parsed output, stderr, crash signs.

    ``fmt="json"``: stdout is the JSON report. ``fmt="text"``: stdout is the patch and the report
    is on stderr; the result gets a JSON-like ``{"summary": {"text"}, "errors", "patched"}``.
    """
    env = lazify_env()
    cmd = [*lazify_exe(), *args]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        code, out, err = None, e.stdout or b"", (e.stderr or b"") + b"\n[sweep] TIMEOUT\n"
    elapsed = time.perf_counter() - t0
    log_prefix.with_suffix(".stdout.json" if fmt == "json" else ".patch").write_bytes(out)
    log_prefix.with_suffix(".stderr.txt").write_bytes(err)
    err_text = err.decode("utf-8", "replace")
    doc = None
    parse_error = None
    if fmt == "json":
        try:
            doc = json.loads(out.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            parse_error = f"stdout is not JSON: {e}"
    else:
        doc = parse_text_report(out, err_text)
        if doc["summary"]["text"] is None:
            parse_error = "no summary line on stderr"
    crash_signs = []
    if "Traceback (most recent call last)" in err_text:
        crash_signs.append("traceback on stderr")
    if "Fatal Python error" in err_text:
        crash_signs.append("fatal Python error on stderr")
    if code is None:
        crash_signs.append("timed out")
    elif code not in (0, 1, 2):
        crash_signs.append(f"exit code {code}")
    if parse_error:
        crash_signs.append(parse_error)
    return {
        "cmd": " ".join(cmd),
        "exit_code": code,
        "json": doc,
        "stderr_tail": err_text[-3000:],
        "crash_signs": crash_signs,
        "elapsed": round(elapsed, 2),
    }


ERROR_LINE = re.compile(r"^(?P<file>[^\s|][^|]*?)(?::(?P<line>\d+))?: error: (?P<message>.*)$")


def parse_text_report(patch: bytes, err_text: str) -> dict:
    """The text format: files in the patch, errors and the summary line from stderr."""
    patched: dict[str, list[str]] = {}
    current = None
    for raw in patch.split(b"\n"):
        if raw.startswith(b"diff --git a/"):
            line = raw.decode("utf-8", "replace")
            current = line[len("diff --git a/") :].rsplit(" b/", 1)[0]
            patched[current] = []
        if current is not None:
            patched[current].append(raw.decode("utf-8", "replace"))
    errors = []
    summary = None
    for line in err_text.splitlines():
        m = ERROR_LINE.match(line)
        if m and not line.startswith("lazify: "):
            errors.append(
                {"file": m["file"], "line": int(m["line"]) if m["line"] else None, "message": m["message"]}
            )
        if line.startswith("lazify: ") and not line.startswith("lazify: error"):
            summary = line[len("lazify: ") :]
    return {
        "summary": {"text": summary},
        "errors": errors,
        "patched": {f: "\n".join(lines) for f, lines in patched.items()},
    }


# ---------------------------------------------------------------------------------------------
# the copies


def copy_stdlib(dest: Path) -> tuple[Path, Path]:
    src = Path(os.__file__).resolve().parent
    root = dest / "stdlib"
    shutil.copytree(
        src, root, symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__", "site-packages", "*.pyc"),
    )  # fmt: skip
    heavy = ", ".join(json.dumps(m) for m in dict.fromkeys(STDLIB_HEAVY))
    (root / "pyproject.toml").write_text(
        f'[tool.lazify]\nheavy-modules = [{heavy}]\ntarget-version = "{STDLIB_TARGET}"\n'
    )
    return src, root


def site_packages_of(python: str) -> Path:
    out = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(out.stdout.strip())


def copy_package(dest: Path, name: str, site: Path) -> tuple[Path, Path]:
    src = site / name
    if not src.is_dir():
        raise SystemExit(f"sweep: {name} is not installed in {site}")
    root = dest / name
    root.mkdir()
    shutil.copytree(src, root / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # lazify's defaults; the file only marks the project root.
    (root / "pyproject.toml").write_text("[tool.lazify]\n")
    return src, root / name


def install_pandas(dest: Path) -> Path:
    venv = dest / "pandas-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "pandas"], check=True)
    return site_packages_of(py)


# ---------------------------------------------------------------------------------------------
# one copy


def sweep_copy(
    name: str,
    original: Path,
    project: Path,
    pkg_dir: Path,
    jobs: int,
    logs: Path,
    timeout: float,
    recheck_json: bool = False,
) -> dict:
    """``original``: the pristine tree; ``pkg_dir``: its copy (inside ``project``)."""
    timer = Timer()
    res: dict = {"name": name, "copy": str(project), "original": str(original)}
    py_files = sorted(p.relative_to(pkg_dir).as_posix() for p in pkg_dir.rglob("*.py") if p.is_file())
    res["py_files_in_copy"] = len(py_files)

    # -- run 1: apply --------------------------------------------------------------------------
    with timer.phase(f"{name}: lazify apply --yes"):
        run1 = run_lazify(
            ["apply", "--yes", "--output-format", "json", "-j", str(jobs), *SELECT, str(project)],
            project, logs / f"{name}-apply", timeout,
        )  # fmt: skip
    doc = run1["json"] or {}
    summary = doc.get("summary", {})
    counts = parse_summary(summary.get("text", ""))
    changes = doc.get("changes", [])
    errors = doc.get("errors", [])
    res["apply"] = {
        "cmd": run1["cmd"],
        "exit_code": run1["exit_code"],
        "summary_text": summary.get("text"),
        "files_scanned": counts["rewritten"] + counts["unchanged"] + counts["skipped"] + counts["failed"],
        "files_rewritten": summary.get("files_changed"),
        "files_unchanged": counts["unchanged"],
        "files_skipped": counts["skipped"],
        "files_failed": counts["failed"],
        "changes_applied": summary.get("changes"),
        "findings": len(changes),
        "blocked": summary.get("blocked"),
        "unsafe_not_applied": summary.get("unsafe_not_applied"),
        "errors": len(errors),
        "elapsed": run1["elapsed"],
        "crash_signs": run1["crash_signs"],
    }
    blocked = Counter()
    blocked_examples: dict[str, str] = {}
    unsafe = Counter()
    unsafe_examples: dict[str, str] = {}
    files_with_findings = set()
    for c in changes:
        files_with_findings.add(c["file"])
        where = f"{c['file']}:{c['line']}"
        if c["safety"] == "blocked":
            key = norm_reason(c.get("reason"))
            blocked[key] += 1
            blocked_examples.setdefault(key, f"{where}: {c.get('reason')}")
        elif c["safety"] == "unsafe" and not c["applied"]:
            key = norm_message(c["message"])
            unsafe[key] += 1
            unsafe_examples.setdefault(key, where)
    res["apply"]["files_with_findings"] = len(files_with_findings)
    res["apply"]["blocked_by_reason"] = dict(blocked.most_common())
    res["apply"]["blocked_examples"] = blocked_examples
    res["apply"]["unsafe_not_applied_by_message"] = dict(unsafe.most_common())
    res["apply"]["unsafe_examples"] = unsafe_examples
    err_groups = Counter(error_group(e["message"]) for e in errors)
    res["apply"]["errors_by_kind"] = dict(err_groups.most_common())
    res["apply"]["error_examples"] = {}
    for e in errors:
        res["apply"]["error_examples"].setdefault(
            error_group(e["message"]), f"{e['file']}:{e['line']}: {e['message'][:300]}"
        )
    crashes = [
        {"file": e["file"], "line": e["line"], "message": e["message"]}
        for e in errors
        if is_crash(e["message"])
    ]
    res["apply"]["crashes"] = crashes
    if doc.get("skipped"):
        res["apply"]["skipped_by_reason"] = dict(
            Counter(s["reason"].split(":")[0] for s in doc["skipped"]).most_common()
        )

    # -- verify the rewritten files ------------------------------------------------------------
    with timer.phase(f"{name}: parse/compile rewritten files"):
        rewritten = []
        for rel in py_files:
            o = original / rel
            n = pkg_dir / rel
            try:
                if o.read_bytes() != n.read_bytes():
                    rewritten.append(rel)
            except OSError:
                rewritten.append(rel)
        unparseable, uncompilable, orig_broken = [], [], []
        for rel in rewritten:
            data = (pkg_dir / rel).read_bytes()
            parses, compiles, why = try_compile(data, rel)
            if compiles:
                continue
            _o_parses, o_compiles, o_why = try_compile((original / rel).read_bytes(), rel)
            if not o_compiles:
                orig_broken.append({"file": rel, "why": why, "original": o_why})
            elif not parses:
                unparseable.append({"file": rel, "why": why})
            else:
                uncompilable.append({"file": rel, "why": why})
    res["verify"] = {
        "files_rewritten_on_disk": len(rewritten),
        "unparseable": unparseable,
        "uncompilable": uncompilable,
        "original_did_not_compile": orig_broken,
    }

    # -- run 2: idempotence --------------------------------------------------------------------
    with timer.phase(f"{name}: lazify apply --dry-run (idempotence)"):
        # The text format by default: JSON makes lazify compute one diff per finding, which is
        # several times slower on big files.
        fmt = "json" if recheck_json else "text"
        run2 = run_lazify(
            ["apply", "--dry-run", "--no-cache", "--output-format", fmt, "--color", "never",
             "-j", str(jobs), *SELECT, str(project)],
            project, logs / f"{name}-recheck", timeout, fmt,
        )  # fmt: skip
    doc2 = run2["json"] or {}
    errors2 = doc2.get("errors", [])
    err_files1 = {e["file"] for e in errors}
    err_files2 = {e["file"] for e in errors2}
    would_change: dict[str, str] = {}
    if fmt == "json":
        per_file = defaultdict(list)
        for c in doc2.get("changes", []):
            if c["applied"] and c["file"] not in err_files2:
                per_file[c["file"]].append(c.get("diff") or "")
        would_change = {f: "\n".join(d) for f, d in per_file.items()}
    else:
        would_change = dict(doc2.get("patched", {}))
    non_idempotent = []
    diffs_dir = logs / f"{name}-nonidempotent"
    for f, diff in sorted(would_change.items()):
        non_idempotent.append({
            "file": f,
            "diff_lines": diff.count("\n") + 1,
            "diff_head": diff[:1500],
        })  # fmt: skip
        diffs_dir.mkdir(exist_ok=True)
        (diffs_dir / (f.replace("/", "__") + ".diff")).write_text(diff)
    new_errors = [e for e in errors2 if e["file"] not in err_files1]
    res["recheck"] = {
        "cmd": run2["cmd"],
        "exit_code": run2["exit_code"],
        "summary_text": doc2.get("summary", {}).get("text"),
        "elapsed": run2["elapsed"],
        "crash_signs": run2["crash_signs"],
        "non_idempotent": non_idempotent,
        "new_errors": new_errors,
        "crashes": [e for e in errors2 if is_crash(e["message"])],
        "errors_by_kind": dict(Counter(error_group(e["message"]) for e in errors2).most_common()),
    }
    res["times"] = timer.phases
    res["ok"] = not (
        run1["crash_signs"] or crashes or unparseable or uncompilable
        or run2["crash_signs"] or non_idempotent or new_errors or res["recheck"]["crashes"]
    )  # fmt: skip
    return res


# ---------------------------------------------------------------------------------------------
# output


def print_table(results: list[dict]) -> None:
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:
        vals = []
        for r in results:
            try:
                vals.append(str(fn(r)))
            except Exception:
                vals.append("-")
        rows.append((label, vals))

    row("files scanned", lambda r: r["apply"]["files_scanned"])
    row("files with findings", lambda r: r["apply"]["files_with_findings"])
    row("files rewritten", lambda r: r["apply"]["files_rewritten"])
    row("  (differ on disk)", lambda r: r["verify"]["files_rewritten_on_disk"])
    row("changes applied", lambda r: r["apply"]["changes_applied"])
    row("blocked", lambda r: r["apply"]["blocked"])
    row("unsafe not applied", lambda r: r["apply"]["unsafe_not_applied"])
    row("errors (files)", lambda r: r["apply"]["files_failed"])
    row("exit code (apply)", lambda r: r["apply"]["exit_code"])
    row("CRASHES (apply)", lambda r: len(r["apply"]["crashes"]) + len(r["apply"]["crash_signs"]))
    row("UNPARSEABLE outputs", lambda r: len(r["verify"]["unparseable"]))
    row("UNCOMPILABLE outputs", lambda r: len(r["verify"]["uncompilable"]))
    row("  orig did not compile", lambda r: len(r["verify"]["original_did_not_compile"]))
    row("exit code (recheck)", lambda r: r["recheck"]["exit_code"])
    row("NON-IDEMPOTENT files", lambda r: len(r["recheck"]["non_idempotent"]))
    row("NEW errors on recheck", lambda r: len(r["recheck"]["new_errors"]))
    row("CRASHES (recheck)", lambda r: len(r["recheck"]["crashes"]) + len(r["recheck"]["crash_signs"]))
    row("time apply (s)", lambda r: r["apply"]["elapsed"])
    row("time recheck (s)", lambda r: r["recheck"]["elapsed"])
    row("OK", lambda r: "yes" if r["ok"] else "NO")

    w0 = max(len(label) for label, _ in rows)
    ws = [max(len(r["name"]), *(len(v[i]) for _, v in rows)) for i, r in enumerate(results)]
    print()
    print(" " * w0 + "  " + "  ".join(r["name"].rjust(w) for r, w in zip(results, ws)))
    for label, vals in rows:
        print(label.ljust(w0) + "  " + "  ".join(v.rjust(w) for v, w in zip(vals, ws)))
    for r in results:
        a = r["apply"]
        print(f"\n== {r['name']}: {a['summary_text']}")
        print("  blocked by reason:")
        for k, v in a["blocked_by_reason"].items():
            print(f"    {v:6d}  {k}")
        if a["unsafe_not_applied_by_message"]:
            print("  unsafe fixes not applied:")
            for k, v in a["unsafe_not_applied_by_message"].items():
                print(f"    {v:6d}  {k[:110]}")
        print("  errors by kind:")
        for k, v in a["errors_by_kind"].items():
            print(f"    {v:6d}  {k[:110]}")
        problems = [
            ("crash", a["crashes"] + [{"file": "-", "message": s} for s in a["crash_signs"]]),
            ("unparseable", r["verify"]["unparseable"]),
            ("uncompilable", r["verify"]["uncompilable"]),
            ("non-idempotent", r["recheck"]["non_idempotent"]),
            ("new error on recheck", r["recheck"]["new_errors"]),
            (
                "crash on recheck",
                r["recheck"]["crashes"] + [{"file": "-", "message": s} for s in r["recheck"]["crash_signs"]],
            ),
        ]
        for label, items in problems:
            for it in items:
                msg = it.get("message") or it.get("why") or it.get("diff_head", "").replace("\n", " | ")
                print(f"  {label.upper()}: {it['file']}: {str(msg)[:200]}")


# ---------------------------------------------------------------------------------------------
# installed packages: does the rewritten copy still import? (issue 10; scripts/sweep_imports.py)


def rewritten_files(original: Path, pkg_dir: Path) -> list[str]:
    out = []
    for f in sorted(pkg_dir.rglob("*.py")):
        rel = f.relative_to(pkg_dir).as_posix()
        o = original / rel
        if not o.is_file() or o.read_bytes() != f.read_bytes():
            out.append(rel)
    return out


def applied_changes_by_file(doc: dict) -> dict[str, list[dict]]:
    by_file: dict[str, list[dict]] = defaultdict(list)
    for c in doc.get("changes", []):
        if c.get("applied"):
            by_file[c["file"]].append({
                "line": c["line"], "codemod": f"{c['codemod']} {c['name']}", "safety": c["safety"],
                "message": c["message"], "diff": (c.get("diff") or "")[:4000],
            })  # fmt: skip
    return dict(by_file)


def sweep_package(
    pkg: str,
    configs: list[str],
    site: Path,
    tmp: Path,
    logs: Path,
    args: argparse.Namespace,
    on_result,
) -> list[dict]:
    """Both configurations of one installed package; ``on_result`` gets each as it is done."""
    import sweep_imports as SI

    timer = Timer()
    base = tmp / pkg
    work = base / "work"
    with timer.phase(f"{pkg}: copy + import the pristine copy"):
        pristine_dir = base / "pristine"
        original = SI.copy_installed(site, pkg, pristine_dir)
        mods, unnamed = SI.module_names(original)
        pristine = SI.import_all(pkg, pristine_dir, mods, work, args.module_timeout, "pristine")
        smoke_before = SI.run_smoke(pkg, pristine_dir, work, "pristine")
    print(f"[sweep] {pkg}: {len(mods)} modules, "
          f"{sum(r['ok'] for r in pristine['results'].values())} import in the pristine copy "
          f"({pristine['elapsed']}s); smoke {'ok' if smoke_before['ok'] else 'FAILS'}", flush=True)  # fmt: skip
    out = []
    for config in configs:
        name = f"{pkg}-{config}"
        project = base / f"config-{config}"
        pkg_dir = SI.copy_installed(site, pkg, project)
        (project / "pyproject.toml").write_text(SI.config_toml(pkg, config))
        res = sweep_copy(name, original, project, pkg_dir, args.jobs, logs, args.timeout, args.recheck_json)
        res["package"], res["config"], res["config_meaning"] = pkg, config, SI.CONFIGS[config]
        res["pyproject"] = (project / "pyproject.toml").read_text()
        try:
            doc = json.loads((logs / f"{name}-apply.stdout.json").read_text())
        except (OSError, json.JSONDecodeError):
            doc = {}
        by_file = applied_changes_by_file(doc)
        with timer.phase(f"{name}: import every module of the rewritten copy"):
            after = SI.import_all(pkg, project, mods, work, args.module_timeout, f"rewritten-{config}")
        imports = SI.compare_imports(pristine, after, by_file)
        SI.recheck_fresh(pkg, pristine_dir, project, imports, work, args.module_timeout)
        imports["unnamed_files"] = unnamed
        imports["shadowing"] = {"pristine": pristine["header"], "rewritten": after["header"]}
        imports["prelude"] = {"pristine": pristine["prelude"], "rewritten": after["prelude"]}
        imports["restarts"] = {"pristine": pristine["restarts"], "rewritten": after["restarts"]}
        imports["elapsed"] = {"pristine": pristine["elapsed"], "rewritten": after["elapsed"]}
        res["imports"] = imports
        with timer.phase(f"{name}: smoke script, black"):
            smoke_after = SI.run_smoke(pkg, project, work, f"rewritten-{config}")
            res["smoke"] = {"pristine": smoke_before, "rewritten": smoke_after}
            changed = rewritten_files(original, pkg_dir)
            black = SI.black_stability(original, pkg_dir, changed)
            black["diffs"] = {rel: SI.black_diff(pkg_dir / rel) for rel in black["unstable"][:30]}
            res["black"] = black
        shadows = bool(pristine["header"].get("shadows")) and bool(after["header"].get("shadows"))
        res["imports"]["copies_shadow_installed"] = shadows
        res["counts"] = package_counts(res)
        res["ok_syntax"] = res["ok"]
        res["ok"] = res["ok"] and shadows and all(
            res["counts"][k] == 0 for k in ("regressions", "internal_errors", "second_pass", "black_unstable")
        ) and (smoke_after["ok"] or not smoke_before["ok"])  # fmt: skip
        res["times"].update(timer.phases)
        out.append(res)
        on_result(res)
        print_package_table([res], header=False)
    return out


def package_counts(r: dict) -> dict[str, int]:
    a = r["apply"]
    return {
        "files": r["py_files_in_copy"],
        "rewritten": r["verify"]["files_rewritten_on_disk"],
        "changes": a.get("changes_applied") or 0,
        "blocked": a.get("blocked") or 0,
        "modules": r["imports"]["modules"],
        "imported_pristine": r["imports"]["imported_pristine"],
        "regressions": len(r["imports"]["regressions"]),
        "internal_errors": len(a["crashes"])
        + len(a["crash_signs"])
        + len(r["recheck"]["crashes"])
        + len(r["recheck"]["crash_signs"])
        + len(r["verify"]["unparseable"])
        + len(r["verify"]["uncompilable"]),
        "second_pass": len(r["recheck"]["non_idempotent"]) + len(r["recheck"]["new_errors"]),
        "black_unstable": len(r["black"]["unstable"]),
    }


PACKAGE_COLUMNS = [
    ("package", lambda r: r["package"]), ("config", lambda r: r["config"]),
    ("files", lambda r: r["counts"]["files"]), ("rewritten", lambda r: r["counts"]["rewritten"]),
    ("changes", lambda r: r["counts"]["changes"]), ("blocked", lambda r: r["counts"]["blocked"]),
    ("imported pristine", lambda r: f"{r['counts']['imported_pristine']}/{r['counts']['modules']}"),
    ("REGRESSIONS", lambda r: r["counts"]["regressions"]),
    ("internal errors", lambda r: r["counts"]["internal_errors"]),
    ("2nd-pass changes", lambda r: r["counts"]["second_pass"]),
    ("black-unstable", lambda r: r["counts"]["black_unstable"]),
    ("smoke", lambda r: "ok" if r["smoke"]["rewritten"]["ok"] else ("FAIL" if r["smoke"]["pristine"]["ok"] else "fails before")),
    ("ok", lambda r: "yes" if r["ok"] else "NO"),
]  # fmt: skip


def print_package_table(results: list[dict], header: bool = True) -> None:
    cells = [[str(fn(r)) for _, fn in PACKAGE_COLUMNS] for r in results]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (h, _) in enumerate(PACKAGE_COLUMNS)]
    print()
    print(" | ".join(h.ljust(w) for (h, _), w in zip(PACKAGE_COLUMNS, widths)))
    print("-+-".join("-" * w for w in widths))
    for c in cells:
        print(" | ".join(v.rjust(w) if i > 1 else v.ljust(w) for i, (v, w) in enumerate(zip(c, widths))))
    if not header:
        return
    for r in results:
        regs = r["imports"]["regressions"]
        if regs:
            print(f"\n== {r['package']} ({r['config']}): {len(regs)} regression(s), by where they broke:")
            for where, modules in r["imports"]["regression_causes"].items():
                print(
                    f"  {where[:160]}\n      {len(modules)} module(s): {', '.join(modules[:6])}{' ...' if len(modules) > 6 else ''}"
                )
        for od in r["imports"].get("order_dependent", []):
            print(
                f"  not counted: {od['module']} fails in a fresh process of both copies ({od['pristine_fresh'][:80]})"
            )
        for label, items in (
            ("non-idempotent", r["recheck"]["non_idempotent"]),
            ("black-unstable", r["black"]["unstable"]),
        ):
            for it in items[:10]:
                print(f"  {label.upper()}: {it['file'] if isinstance(it, dict) else it}")
        if not r["smoke"]["rewritten"]["ok"] and r["smoke"]["pristine"]["ok"]:
            print(
                "  SMOKE FAILS on the rewritten copy:\n    "
                + r["smoke"]["rewritten"]["output_tail"][-800:].replace("\n", "\n    ")
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--numpy-only", action="store_true", help="only the numpy copy")
    only.add_argument("--stdlib-only", action="store_true", help="only the standard-library copy")
    ap.add_argument("--pandas", action="store_true", help="also pandas (pip-installed into a temp venv)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="lazify -j (default: cores)")
    ap.add_argument(
        "--recheck-json",
        action="store_true",
        help="second run with --output-format json too (slower) instead of text",
    )
    ap.add_argument("--select", metavar="CODEMODS", help="pass --select to lazify (both runs)")
    ap.add_argument(
        "--no-snapshot",
        action="store_true",
        help="run the installed lazify instead of a snapshot of /work/main's source",
    )
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per lazify run")
    ap.add_argument(
        "--packages",
        metavar="NAMES",
        help="the import sweep over these installed packages (comma-separated, or 'all': "
        "requests,flask,starlette,fastapi,pydantic,sqlalchemy,django,scipy,pandas) instead of "
        "stdlib/numpy; installs them into build/sweep-venv first if needed",
    )
    ap.add_argument(
        "--configs",
        default="a,b",
        help="with --packages: a (lazify's defaults), b (widened heavy-modules + unsafe fixes)",
    )
    ap.add_argument(
        "--module-timeout", type=int, default=60, help="with --packages: seconds per module import"
    )
    ap.add_argument(
        "--upgrade-venv", action="store_true", help="with --packages: pip install --upgrade first"
    )
    args = ap.parse_args(argv)
    if args.packages:
        return main_packages(args)

    global SNAPSHOT
    timer = Timer()
    tmp = Path(tempfile.mkdtemp(prefix="lazify-sweep-")).resolve()
    logs = tmp / "logs"
    logs.mkdir()
    code_hash = None
    if args.select:
        SELECT[:] = ["--select", args.select]
    if not args.no_snapshot:
        SNAPSHOT, code_hash = take_snapshot(tmp)
    print(f"[sweep] lazify code: {SNAPSHOT or 'installed'} (hash {code_hash})", flush=True)
    print(f"[sweep] work dir: {tmp}  lazify: {' '.join(lazify_exe())}  -j {args.jobs}", flush=True)
    results = []
    started = time.perf_counter()
    try:
        plan = []
        if not args.numpy_only:
            with timer.phase("copy stdlib"):
                orig, copy = copy_stdlib(tmp)
            plan.append(("stdlib", orig, copy, copy))
        if not args.stdlib_only:
            with timer.phase("copy numpy"):
                orig, copy = copy_package(tmp, "numpy", site_packages_of(sys.executable))
            plan.append(("numpy", orig, copy.parent, copy))
            if args.pandas:
                with timer.phase("install + copy pandas"):
                    site = install_pandas(tmp)
                    orig, copy = copy_package(tmp, "pandas", site)
                plan.append(("pandas", orig, copy.parent, copy))
        for name, orig, project, pkg in plan:
            results.append(
                sweep_copy(name, orig, project, pkg, args.jobs, logs, args.timeout, args.recheck_json)
            )
    finally:
        total = time.perf_counter() - started
        report = {
            "python": sys.version.split()[0],
            "lazify": " ".join(lazify_exe()),
            "jobs": args.jobs,
            "lazify_code": str(SNAPSHOT) if SNAPSHOT else "installed",
            "lazify_code_hash": code_hash,
            "select": args.select,
            "work_dir": str(tmp) if args.keep else None,
            "stdlib_heavy_modules": list(dict.fromkeys(STDLIB_HEAVY)),
            "stdlib_target_version": STDLIB_TARGET,
            "times": {**timer.phases, "total": round(total, 2)},
            "copies": results,
        }
        REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
        REPORT_PATH.write_text(json.dumps(report, indent=2) + "\n")
        if results:
            print_table(results)
        print(f"\n[sweep] total {total:.1f}s; report: {REPORT_PATH}")
        if args.keep:
            print(f"[sweep] kept {tmp} (raw outputs in {logs})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if results and all(r["ok"] for r in results) else 1


def main_packages(args: argparse.Namespace) -> int:
    """``--packages``: the import sweep (issue 10)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import sweep_imports as SI

    global SNAPSHOT
    names = (
        list(SI.PACKAGES)
        if args.packages == "all"
        else [p.strip() for p in args.packages.split(",") if p.strip()]
    )
    unknown = [n for n in names if n not in SI.PACKAGES]
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if unknown or not names or any(c not in SI.CONFIGS for c in configs):
        print(
            f"sweep: --packages takes {','.join(SI.PACKAGES)} (or all); --configs takes a,b", file=sys.stderr
        )
        return 2
    if args.select:
        SELECT[:] = ["--select", args.select]
    timer = Timer()
    tmp = Path(tempfile.mkdtemp(prefix="lazify-sweep-")).resolve()
    logs = tmp / "logs"
    logs.mkdir()
    code_hash = None
    if not args.no_snapshot:
        SNAPSHOT, code_hash = take_snapshot(tmp)
    with timer.phase("sweep venv"):
        versions = SI.setup_venv(args.upgrade_venv)
    site = SI.site_packages()
    print(f"[sweep] lazify code: {SNAPSHOT or 'installed'} (hash {code_hash}); work dir {tmp}", flush=True)
    print("[sweep] versions: " + ", ".join(f"{n} {versions.get(n, '?')}" for n in names), flush=True)
    results: list[dict] = []
    started = time.perf_counter()

    def write_report() -> None:
        report = {
            "python": sys.version.split()[0],
            "lazify_code": str(SNAPSHOT) if SNAPSHOT else "installed",
            "lazify_code_hash": code_hash,
            "jobs": args.jobs,
            "select": args.select,
            "work_dir": str(tmp) if args.keep else None,
            "sweep_venv": str(SI.SWEEP_VENV),
            "versions": {n: versions.get(n) for n in [*names, *SI.EXTRA_REQUIREMENTS, "numpy"]},
            "configs": {c: SI.CONFIGS[c] for c in configs},
            "wide_stdlib_heavy_modules": SI.WIDE_STDLIB,
            "own_deps_heavy_modules": {n: SI.OWN_DEPS[n] for n in names},
            "module_timeout": args.module_timeout,
            "times": {**timer.phases, "total": round(time.perf_counter() - started, 2)},
            "table": [
                dict(zip([h for h, _ in PACKAGE_COLUMNS], [fn(r) for _, fn in PACKAGE_COLUMNS]))
                for r in results
            ],
            "copies": results,
        }
        REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
        REPORT_PATH.write_text(json.dumps(report, indent=2) + "\n")

    def on_result(r: dict) -> None:
        results.append(r)
        write_report()

    try:
        for pkg in names:
            sweep_package(pkg, configs, site, tmp, logs, args, on_result)
    finally:
        write_report()
        if results:
            print("\n[sweep] all packages:")
            print_package_table(results)
        print(f"\n[sweep] total {time.perf_counter() - started:.1f}s; report: {REPORT_PATH}")
        if args.keep:
            print(f"[sweep] kept {tmp} (raw outputs in {logs})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if results and len(results) == len(names) * len(configs) and all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
