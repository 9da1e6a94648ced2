"""Side effects recorded during the import, as the report states them: each kind's words, the
statement that set it off, and lazify's fix (or the advice when no codemod fixes it); and what
the serverless sandbox refused."""

from __future__ import annotations

import ast
from pathlib import Path

from lazifier.doctor.fixes import Findings, no_codemod
from lazifier.doctor.statements import Statements, statement_frame, top, where

#: The side-effect kinds, with the words the report uses.
KINDS = {
    "sqlite": "SQLite connection",
    "open": "file opened for writing",
    "logging-file": "logging handler opens a file",
    "mkdir": "directory created",
    "connect": "network connection",
    "dns": "name lookup",
    "subprocess": "subprocess",
    "thread": "thread started",
    "random": "random bytes drawn (secrets/os.urandom)",
    "env": "environment variable read (its value is frozen at import)",
    "file-left": "file left in the project directory",
    "fs": "file system change (rename, remove, link, chmod)",
}

#: The error type of an import the sandbox interrupted at the platform's init limit.
INIT_LIMIT = "init-limit-exceeded"

_NO_CODEMOD = {
    "sqlite": "a module-level call opens the database; move it into a function (or a getter) that runs on first use",
    "open": "a module-level `open()` for writing; write on first use instead",
    "logging-file": "a logging `FileHandler` configured at import; configure logging when the app starts (delay=True opens the file on first record)",
    "mkdir": "a directory made at import; make it on first use",
    "connect": "a connection made at import; connect on first use",
    "dns": "a name looked up at import; connect on first use",
    "subprocess": "a subprocess started at import; start it on first use",
    "thread": "a thread started at import; start it when the app starts (a startup hook)",
    "random": "a secret or random value drawn at import; draw it on first use",
    "env": "a value read from the environment at import is fixed for the process's life (and a variable the platform sets later is missed); read it where it is used",
    "file-left": "something at import writes into the deployed code's directory, which is read-only on serverless platforms",
    "fs": "a file renamed, removed or changed at import; do it on first use, under /tmp",
}


def fix_for(findings: Findings, at: dict | None, kind: str) -> dict:
    if at is not None:
        fix = findings.for_line(at["file"], at["line"])
        if fix is not None:
            return fix
    return no_codemod(
        _NO_CODEMOD.get(kind, "nothing lazify rewrites causes it; move the work into a function")
    )


def _summary(kind: str, detail: dict) -> str:
    if kind == "sqlite":
        return f"sqlite3.connect({detail.get('database')!r})"
    if kind in ("open", "logging-file"):
        return f"open({detail.get('path')!r}, {detail.get('mode')!r})"
    if kind == "mkdir":
        return f"mkdir {detail.get('path')!r}" + (" (already there)" if detail.get("exists") else "")
    if kind == "connect":
        return f"connect to {detail.get('address')}"
    if kind == "dns":
        return f"look up {detail.get('host')}" + (
            f" port {detail.get('port')}" if detail.get("port") not in ("", "None", None) else ""
        )
    if kind == "subprocess":
        return f"run {detail.get('command')!r}"
    if kind == "thread":
        return f"start a thread running {detail.get('target')}"
    if kind == "random":
        return f"draw {detail.get('bytes')} random bytes"
    if kind == "env":
        return f"read ${detail.get('name')}" + ("" if detail.get("present") else " (not set)")
    if kind == "file-left":
        return f"{detail.get('path')} {detail.get('change')}"
    return kind


def display_path(path: str, copy_root: str, tmp_root: str) -> str:
    """A path as the user knows it: relative to the project (the copy), or under $TMPDIR."""
    p = str(path)
    if p.rstrip("/") == copy_root.rstrip("/"):
        return "."
    for prefix, name in ((copy_root.rstrip("/") + "/", ""), (tmp_root.rstrip("/") + "/", "$TMPDIR/")):
        if prefix != "/" and p.startswith(prefix):
            return name + p[len(prefix) :]
    return p


def sandbox_result(out: dict) -> dict:
    """What the sandbox refused and why the import failed there, if it did: ``cause`` is
    ``refused`` (an operation the platform refuses), ``environment`` (a variable that isn't set
    there), ``init-limit`` (too slow), ``error`` (anything else) or None (it imports)."""
    refused = [e for e in out.get("side_effects", []) if e["detail"].get("refused")]
    unset = [e for e in out.get("side_effects", []) if e["kind"] == "env" and not e["detail"].get("present")]
    err = out.get("error")
    cause = None
    needed = []
    if err:
        if err["type"] == INIT_LIMIT:
            cause = "init-limit"
        elif err["type"] == "builtins.KeyError" and any(
            repr(e["detail"]["name"]) == err["message"] for e in unset
        ):
            cause = "environment"
            needed = [e["detail"]["name"] for e in unset if repr(e["detail"]["name"]) == err["message"]]
        elif refused:
            cause = "refused"
        else:
            cause = "error"
    return {
        "ok": err is None,
        "cause": cause,
        "refused": refused,
        "needed_variables": needed,
        "unset_variables": sorted({e["detail"]["name"] for e in unset}),
    }


def side_effects(data: dict, copy_root: str, stmts: Statements, findings: Findings) -> list[dict]:
    """The probe's recorded effects, each tied to the module-level statement that set it off.
    One done by a package while the project imports it names the package: deferring that
    import defers it."""
    tmp_root = str(Path(copy_root).parent / "tmp")
    by_file = {f: name for name, f in data.get("modules", {}).items() if f}
    effects = []
    for kind, detail, stack, _library, inside in data.get("effects", []):
        detail = dict(detail) if isinstance(detail, dict) else {"value": detail}
        for k in ("path", "database"):
            if k in detail and isinstance(detail[k], str):
                detail[k] = display_path(detail[k], copy_root, tmp_root)
        statement = statement_frame(stack)
        package = None
        innermost = stack[-1] if stack else None
        if innermost is not None and inside:
            found = stmts.statement(innermost[0], innermost[1])
            if found is not None and isinstance(found[2], (ast.Import, ast.ImportFrom)):
                package = top(by_file.get(inside, "")) or Path(inside).stem
        effects.append({
            "origin": "project" if package is None else "package",
            "package": package,
            "kind": kind,
            "title": KINDS.get(kind, kind),
            "summary": _summary(kind, detail),
            "detail": detail,
            "statement": statement,
            "line": where(stack[-1]) if stack else None,
            "chain": [where(f) for f in stack if f[2]],
            "stack": [where(f) for f in stack],
            "fix": fix_for(findings, statement, kind),
        })  # fmt: skip
    return effects
