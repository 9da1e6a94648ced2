"""From the probe's raw runs to the report document (the json output, which the other formats
render): timings, the import tree, costs by distribution, slow statements, side effects, each
tied to the project line that caused it and to lazify's fix for it."""

from __future__ import annotations

import ast
import statistics
from dataclasses import dataclass
from pathlib import Path

from lazifier.doctor.fixes import Findings, no_codemod
from lazifier.doctor.runner import Entry, Run

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


def stats(values: list[float]) -> dict:
    if not values:
        return {"median": None, "min": None, "max": None, "runs": []}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def _where(frame: list | None) -> dict | None:
    return {"file": frame[0], "line": frame[1]} if frame else None


@dataclass
class _Statements:
    """The module-level statements of the project's files, by line."""

    root: Path

    def __post_init__(self) -> None:
        self._cache: dict[str, list[tuple[int, int, ast.stmt]]] = {}
        self._text: dict[str, list[str]] = {}

    def _load(self, rel: str) -> list[tuple[int, int, ast.stmt]]:
        if rel not in self._cache:
            spans: list[tuple[int, int, ast.stmt]] = []
            try:
                text = (self.root / rel).read_text(encoding="utf-8")
                tree = ast.parse(text)
                self._text[rel] = text.splitlines()
            except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
                tree = ast.Module(body=[], type_ignores=[])
            self._collect(tree.body, spans)
            self._cache[rel] = spans
        return self._cache[rel]

    def _collect(self, body: list[ast.stmt], out: list) -> None:
        for stmt in body:
            compound = (
                isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For, ast.While))
                or type(stmt).__name__ == "TryStar"
            )
            if compound:
                for name in ("body", "orelse", "finalbody"):
                    self._collect(getattr(stmt, name, []) or [], out)
                for h in getattr(stmt, "handlers", []) or []:
                    self._collect(h.body, out)
                # the header itself (the test, the context manager)
                out.append((stmt.lineno, stmt.lineno, stmt))
            else:
                out.append((stmt.lineno, stmt.end_lineno or stmt.lineno, stmt))

    def statement(self, rel: str, line: int) -> tuple[int, int, ast.stmt] | None:
        best = None
        for start, end, stmt in self._load(rel):
            if start <= line <= end and (best is None or end - start < best[1] - best[0]):
                best = (start, end, stmt)
        return best

    def source(self, rel: str, start: int, end: int) -> str:
        self._load(rel)
        lines = self._text.get(rel, [])
        text = " ".join(s.strip() for s in lines[start - 1 : end])
        return text if len(text) <= 90 else text[:87] + "..."


def _fix_for(findings: Findings, where: dict | None, kind: str) -> dict:
    if where is not None:
        fix = findings.for_line(where["file"], where["line"])
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


def _display_path(path: str, copy_root: str, tmp_root: str) -> str:
    """A path as the user knows it: relative to the project (the copy), or under $TMPDIR."""
    p = str(path)
    if p.rstrip("/") == copy_root.rstrip("/"):
        return "."
    for prefix, name in ((copy_root.rstrip("/") + "/", ""), (tmp_root.rstrip("/") + "/", "$TMPDIR/")):
        if prefix != "/" and p.startswith(prefix):
            return name + p[len(prefix) :]
    return p


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def build_entry(
    entry: Entry,
    root: Path,
    runs: list[Run],
    traced: Run | None,
    bare: list[Run],
    inventory: dict,
    findings: Findings,
    *,
    threshold: float,
    sandbox: bool = False,
) -> dict:
    """One entry's report. ``runs`` are the timed runs (the first gives the tree and the side
    effects), ``traced`` the run with the statement tracer, ``bare`` the start-up runs."""
    first = runs[0]
    data = first.data
    stmts = _Statements(root)
    out: dict = {
        "entry": entry.spec,
        "module": entry.module,
        "file": entry.file,
        "attribute": entry.attribute,
        "source": entry.source,
        "python": data.get("python"),
        "timing": {
            "import": stats([r.import_seconds for r in runs if r.data]),
            "import_cpu": stats([float(r.data.get("import_cpu_seconds", 0.0)) for r in runs if r.data]),
            "process": stats([r.wall for r in runs]),
            "bare_startup": stats([r.wall for r in bare]),
        },
    }
    timed_out = next((r for r in runs if r.timed_out), None)
    if not data:
        out["ok"] = False
        out["error"] = {
            "type": "timeout" if timed_out else "probe-failed",
            "message": (
                "the import did not finish in time"
                if timed_out
                else f"the probe wrote no result (exit {first.returncode})"
            ),
            "stderr": first.stderr_tail[-2000:],
            "traceback": [],
            "statement": None,
            "line": None,
            "fix": no_codemod("the import must finish; see stderr"),
        }
        for key in ("modules_loaded", "distributions", "statements", "side_effects", "files_left", "tree"):
            out[key] = (
                [] if key != "modules_loaded" and key != "tree" else (0 if key == "modules_loaded" else None)
            )
        out["size"] = {"bytes": 0, "distributions": 0}
        if sandbox and timed_out:
            out["error"]["type"] = INIT_LIMIT
            out["error"][
                "message"
            ] = "the import did not finish within the init limit (killed: stuck outside Python code)"
        if sandbox:
            out["sandbox"] = _sandbox_result(out)
        return out

    copy_root = _copy_root(data)
    tmp_root = str(Path(copy_root).parent / "tmp")
    modules: dict[str, str | None] = data.get("modules", {})
    stdlib = set(data.get("stdlib", ()))

    def rel_of(filename: str | None) -> str | None:
        if not filename or not filename.startswith(copy_root.rstrip("/") + "/"):
            return None
        rel = filename[len(copy_root.rstrip("/")) + 1 :]
        parts = rel.split("/")
        if {".venv", "venv", "site-packages", "node_modules"} & set(parts[:-1]):
            return None
        return rel

    dist_of_top = inventory.get("modules", {})
    dists_info = inventory.get("distributions", {})

    def group(name: str) -> str:
        if rel_of(modules.get(name)) is not None:
            return "(project)"
        top = _top(name)
        if top in stdlib or name in stdlib or (top.startswith("_") and top[1:] in stdlib):
            return "(standard library)"
        names = dist_of_top.get(top) or []
        return names[0] if names else top

    # -- time by distribution, and where each package was first imported --------------------
    first_import: dict[str, list] = {}
    for module, stack, *_ in data.get("imports", []):
        first_import.setdefault(module, stack)
    by_dist: dict[str, dict] = {}
    for self_us, _cum, _level, name in first.importtime:
        if name not in modules:
            continue  # an import that failed (``try: from org.python.core import ...``)
        g = group(name)
        d = by_dist.setdefault(g, {"name": g, "self_seconds": 0.0, "modules": 0, "packages": {}})
        d["self_seconds"] += self_us / 1e6
        d["modules"] += 1
        top = _top(name)
        if g not in ("(project)", "(standard library)") and top not in d["packages"]:
            stack = first_import.get(name) or first_import.get(top) or []
            d["packages"][top] = stack
    cumulative = {}
    for _self, cum, _level, name in first.importtime:
        cumulative.setdefault(name, cum / 1e6)
    # Over every timed run, for the profile (--write-profile): one run's figure is noisy.
    per_run: dict[str, list[float]] = {}
    for r in runs:
        seen_here: set[str] = set()
        for _self, cum, _level, name in r.importtime:
            if name not in seen_here:
                seen_here.add(name)
                per_run.setdefault(name, []).append(cum / 1e6)
    distributions = []
    for g, d in by_dist.items():
        info = dists_info.get(g, {})
        packages = []
        for top, stack in d["packages"].items():
            statement = _statement_frame(stack)
            line = _where(stack[-1]) if stack else None
            packages.append({
                "name": top,
                "cumulative_seconds": cumulative.get(top),
                "cumulative_median_seconds": statistics.median(per_run[top]) if top in per_run else None,
                "chain": [_where(f) for f in stack if f[2]] + ([line] if stack and not stack[-1][2] else []),
                "statement": statement,
                "fix": _package_fix(findings, top, statement),
            })  # fmt: skip
        distributions.append({
            "name": g,
            "kind": "project" if g == "(project)" else "stdlib" if g == "(standard library)" else "distribution",
            "version": info.get("version"),
            "bytes": info.get("bytes"),
            "self_seconds": d["self_seconds"],
            "modules": d["modules"],
            "packages": packages,
        })  # fmt: skip
    distributions.sort(key=lambda d: -d["self_seconds"])
    out["modules_loaded"] = len(modules)
    out["distributions"] = distributions
    sized = [d for d in distributions if d["kind"] == "distribution" and d["bytes"]]
    out["size"] = {"bytes": sum(d["bytes"] for d in sized), "distributions": len(sized)}

    # -- slow module-level statements (from the traced run) ----------------------------------
    per_statement: dict[tuple[str, int], float] = {}
    spans: dict[tuple[str, int], tuple[int, int, ast.stmt]] = {}
    for key, seconds in (traced.data.get("lines", {}) if traced and traced.data else {}).items():
        rel, _, line = key.rpartition(":")
        found = stmts.statement(rel, int(line))
        if found is None:
            continue
        start, end, node = found
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        per_statement[(rel, start)] = per_statement.get((rel, start), 0.0) + seconds
        spans[(rel, start)] = found
    statements = []
    for (rel, start), seconds in sorted(per_statement.items(), key=lambda kv: -kv[1]):
        _, end, node = spans[(rel, start)]
        where = {"file": rel, "line": start}
        found = findings.for_line(rel, start)
        # Over the threshold, or something lazify rewrites however cheap it was this time.
        if seconds < threshold and not findings.covers(rel, start):
            continue
        fix = found or no_codemod(_statement_advice(node))
        statements.append({"file": rel, "line": start, "end_line": end, "text": stmts.source(rel, start, end),
                           "seconds": seconds, "fix": fix, "where": where})  # fmt: skip
    out["statements"] = statements

    # -- side effects --------------------------------------------------------------------------
    effects = []
    by_file = {f: name for name, f in modules.items() if f}
    for kind, detail, stack, _library, inside in data.get("effects", []):
        detail = dict(detail) if isinstance(detail, dict) else {"value": detail}
        for k in ("path", "database"):
            if k in detail and isinstance(detail[k], str):
                detail[k] = _display_path(detail[k], copy_root, tmp_root)
        statement = _statement_frame(stack)
        # Done by a package while the project imports it: deferring that import defers it.
        package = None
        innermost = stack[-1] if stack else None
        if innermost is not None and inside:
            found = stmts.statement(innermost[0], innermost[1])
            if found is not None and isinstance(found[2], (ast.Import, ast.ImportFrom)):
                package = _top(by_file.get(inside, "")) or Path(inside).stem
        effects.append({
            "origin": "project" if package is None else "package",
            "package": package,
            "kind": kind,
            "title": KINDS.get(kind, kind),
            "summary": _summary(kind, detail),
            "detail": detail,
            "statement": statement,
            "line": _where(stack[-1]) if stack else None,
            "chain": [_where(f) for f in stack if f[2]],
            "stack": [_where(f) for f in stack],
            "fix": _fix_for(findings, statement, kind),
        })  # fmt: skip
    out["side_effects"] = effects

    # -- imports the project tried that failed (an optional dependency not installed) -------
    missing = []
    seen = set()
    sys_modules_at_start: set[str] = set()
    for module, stack, direct in data.get("imports", []):
        if module in modules or not direct or _top(module) in seen or module in sys_modules_at_start:
            continue
        if _project_module(root, module):
            continue  # the project's own, dropped from sys.modules because its import failed
        statement = _statement_frame(stack) or _where(stack[-1])
        seen.add(_top(module))
        missing.append({"module": module, "statement": statement, "line": _where(stack[-1]),
                        "fix": _package_fix(findings, _top(module), statement)})  # fmt: skip
    out["missing_imports"] = missing
    out["files_left"] = [{"path": p, "change": "created"} for p in first.created] + [
        {"path": p, "change": "modified"} for p in first.modified
    ]

    # -- the exception that ended the import ---------------------------------------------------
    error = data.get("error")
    if error is None and timed_out is not None:
        error = {"type": "timeout", "message": "the import did not finish in time", "frames": []}
    if error is not None:
        frames = error.get("frames", [])
        project = [fr for fr in frames if fr[3] is not None]
        module_level = [fr for fr in project if fr[2] == "<module>"]
        statement = {"file": module_level[-1][3], "line": module_level[-1][1]} if module_level else None
        line = {"file": project[-1][3], "line": project[-1][1]} if project else None
        raised = frames[-1] if frames else None
        if error.get("type") == "__main__.InitLimitExceeded":
            error = dict(error, type=INIT_LIMIT)
            frames = frames[:-1] if raised and raised[3] is None and raised[2] == "expired" else frames
            raised = frames[-1] if frames else None
        out["error"] = {
            "type": error.get("type"),
            "message": error.get("message"),
            "traceback": [{"file": fr[3], "line": fr[1], "function": fr[2]} for fr in project],
            "raised_in": (
                {"file": fr_display(raised, copy_root), "line": raised[1], "function": raised[2]}
                if raised
                else None
            ),
            "statement": statement,
            "line": line,
            "fix": (
                _fix_for(findings, statement, "error")
                if statement
                else no_codemod("the import fails outside the project's code")
            ),
        }
    else:
        out["error"] = None
    out["ok"] = out["error"] is None
    out["tree"] = _tree(first, modules, rel_of, group, first_import, entry)
    out["attribute_type"] = data.get("attribute_type")
    if sandbox:
        out["sandbox"] = _sandbox_result(out)
    return out


def _sandbox_result(out: dict) -> dict:
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


def _project_module(root: Path, module: str) -> bool:
    base = root.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def fr_display(frame: list, copy_root: str) -> str:
    return frame[3] if frame[3] is not None else _display_path(frame[0], copy_root, "")


def _copy_root(data: dict) -> str:
    return data.get("root") or ""


def _statement_frame(stack: list) -> dict | None:
    """The innermost module-level project frame: the statement that set it off."""
    for f in reversed(stack):
        if f[2]:
            return {"file": f[0], "line": f[1]}
    return None


def _statement_advice(node: ast.stmt) -> str:
    if isinstance(node, ast.ClassDef):
        return f"the body of class `{node.name}` does work when it is defined (a model, a mapping); nothing lazify defers"
    text = ast.unparse(node).splitlines()[0] if hasattr(ast, "unparse") else ""
    text = text if len(text) <= 60 else text[:57] + "..."
    return (
        f"a module-level statement that does work (`{text}`); move it into a function that runs on first use"
    )


def _package_fix(findings: Findings, top: str, statement: dict | None) -> dict:
    if statement is not None:
        fix = findings.for_line(statement["file"], statement["line"])
        if fix is not None:
            return fix
    if top in findings.heavy_modules:
        return no_codemod(
            f"heavy-imports keeps `{top}`: the project uses it at module level (or it is imported by a package that is)"
        )
    return no_codemod(
        f"`{top}` is not in heavy-modules; add it with `extend-heavy-modules` in [tool.lazify] if the project uses it only inside functions"
    )


def _tree(run: Run, modules: dict, rel_of, group, first_import: dict, entry: Entry) -> dict | None:
    """The ``-X importtime`` tree (it prints children before their parent, indented deeper)."""
    pending: dict[int, list[dict]] = {}
    for self_us, cum_us, level, name in run.importtime:
        children = pending.pop(level + 1, [])
        if name not in modules:  # a failed import: not in the tree, its children (if any) kept
            pending.setdefault(level, []).extend(children)
            continue
        stack = first_import.get(name) or []
        via = _where(stack[-1]) if stack else None
        node = {
            "module": name,
            "file": rel_of(modules.get(name)),
            "group": group(name),
            "via": via,
            "self_seconds": self_us / 1e6,
            "cumulative_seconds": cum_us / 1e6,
            "children": children,
        }
        pending.setdefault(level, []).append(node)
    roots = pending.get(0, [])
    if not roots:
        return None
    return {"module": "(entry)", "file": entry.file, "group": "(project)", "via": None,
            "self_seconds": 0.0, "cumulative_seconds": sum(r["cumulative_seconds"] for r in roots),
            "children": roots}  # fmt: skip
