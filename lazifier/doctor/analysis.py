"""From the probe's raw runs to the report document (the json output, which the other formats
render): timings, the import tree, costs by distribution, slow statements, side effects, each
tied to the project line that caused it and to lazify's fix for it. ``build_entry`` assembles
the document a section at a time; side effects and the sandbox's verdict are in ``effects``."""

from __future__ import annotations

import ast
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from lazifier.doctor.effects import INIT_LIMIT, display_path, fix_for, sandbox_result, side_effects
from lazifier.doctor.fixes import Findings, no_codemod
from lazifier.doctor.runner import Entry, Run
from lazifier.doctor.statements import Statements, statement_advice, statement_frame, top, where

__all__ = ["INIT_LIMIT", "build_entry", "stats"]


def stats(values: list[float]) -> dict:
    if not values:
        return {"median": None, "min": None, "max": None, "runs": []}
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


@dataclass
class _Places:
    """Where the run's modules live: a project file (relative to the copy), the standard
    library, or an installed distribution."""

    copy_root: str
    modules: dict[str, str | None]
    stdlib: set[str]
    inventory: dict
    first_import: dict[str, list] = field(default_factory=dict)

    def rel_of(self, filename: str | None) -> str | None:
        root = self.copy_root.rstrip("/")
        if not filename or not filename.startswith(root + "/"):
            return None
        rel = filename[len(root) + 1 :]
        parts = rel.split("/")
        if {".venv", "venv", "site-packages", "node_modules"} & set(parts[:-1]):
            return None
        return rel

    def group(self, name: str) -> str:
        if self.rel_of(self.modules.get(name)) is not None:
            return "(project)"
        first = top(name)
        if (
            first in self.stdlib
            or name in self.stdlib
            or (first.startswith("_") and first[1:] in self.stdlib)
        ):
            return "(standard library)"
        names = self.inventory.get("modules", {}).get(first) or []
        return names[0] if names else first


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
        return _no_result(out, first, timed_out, sandbox)

    stmts = Statements(root)
    places = _Places(data.get("root") or "", data.get("modules", {}), set(data.get("stdlib", ())), inventory)
    for module, stack, *_ in data.get("imports", []):
        places.first_import.setdefault(module, stack)
    distributions = _distributions(first, runs, places, findings)
    out["modules_loaded"] = len(places.modules)
    out["distributions"] = distributions
    sized = [d for d in distributions if d["kind"] == "distribution" and d["bytes"]]
    out["size"] = {"bytes": sum(d["bytes"] for d in sized), "distributions": len(sized)}
    out["statements"] = _slow_statements(traced, stmts, findings, threshold)
    out["side_effects"] = side_effects(data, places.copy_root, stmts, findings)
    out["missing_imports"] = _missing_imports(data, root, findings)
    out["files_left"] = [{"path": p, "change": "created"} for p in first.created] + [
        {"path": p, "change": "modified"} for p in first.modified
    ]
    out["error"] = _error(data.get("error"), timed_out, places.copy_root, findings)
    out["ok"] = out["error"] is None
    out["tree"] = _tree(first, places, entry)
    out["attribute_type"] = data.get("attribute_type")
    if sandbox:
        out["sandbox"] = sandbox_result(out)
    return out


def _no_result(out: dict, first: Run, timed_out: Run | None, sandbox: bool) -> dict:
    """The report of a probe that wrote nothing: it timed out, or died."""
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
        out[key] = {"modules_loaded": 0, "tree": None}.get(key, [])
    out["size"] = {"bytes": 0, "distributions": 0}
    if sandbox and timed_out:
        out["error"]["type"] = INIT_LIMIT
        out["error"][
            "message"
        ] = "the import did not finish within the init limit (killed: stuck outside Python code)"
    if sandbox:
        out["sandbox"] = sandbox_result(out)
    return out


def _distributions(first: Run, runs: list[Run], places: _Places, findings: Findings) -> list[dict]:
    """Import time by distribution (self time, from ``-X importtime``), each third-party
    package with the project line that first imported it."""
    modules = places.modules
    by_dist: dict[str, dict] = {}
    for self_us, _cum, _level, name in first.importtime:
        if name not in modules:
            continue  # an import that failed (``try: from org.python.core import ...``)
        g = places.group(name)
        d = by_dist.setdefault(g, {"name": g, "self_seconds": 0.0, "modules": 0, "packages": {}})
        d["self_seconds"] += self_us / 1e6
        d["modules"] += 1
        first_name = top(name)
        if g not in ("(project)", "(standard library)") and first_name not in d["packages"]:
            stack = places.first_import.get(name) or places.first_import.get(first_name) or []
            d["packages"][first_name] = stack
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
    dists_info = places.inventory.get("distributions", {})
    distributions = []
    for g, d in by_dist.items():
        info = dists_info.get(g, {})
        packages = []
        for name, stack in d["packages"].items():
            statement = statement_frame(stack)
            line = where(stack[-1]) if stack else None
            packages.append({
                "name": name,
                "cumulative_seconds": cumulative.get(name),
                "cumulative_median_seconds": statistics.median(per_run[name]) if name in per_run else None,
                "chain": [where(f) for f in stack if f[2]] + ([line] if stack and not stack[-1][2] else []),
                "statement": statement,
                "fix": _package_fix(findings, name, statement),
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
    return distributions


def _slow_statements(
    traced: Run | None, stmts: Statements, findings: Findings, threshold: float
) -> list[dict]:
    """Module-level statements from the traced run: those over the threshold, and those lazify
    rewrites however cheap they were this time."""
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
        found = findings.for_line(rel, start)
        if seconds < threshold and not findings.covers(rel, start):
            continue
        fix = found or no_codemod(statement_advice(node))
        statements.append({"file": rel, "line": start, "end_line": end, "text": stmts.source(rel, start, end),
                           "seconds": seconds, "fix": fix, "where": {"file": rel, "line": start}})  # fmt: skip
    return statements


def _missing_imports(data: dict, root: Path, findings: Findings) -> list[dict]:
    """Imports the project tried that failed: an optional dependency not installed."""
    modules = data.get("modules", {})
    missing = []
    seen = set()
    for module, stack, direct in data.get("imports", []):
        if module in modules or not direct or top(module) in seen:
            continue
        if _project_module(root, module):
            continue  # the project's own, dropped from sys.modules because its import failed
        statement = statement_frame(stack) or where(stack[-1])
        seen.add(top(module))
        missing.append({"module": module, "statement": statement, "line": where(stack[-1]),
                        "fix": _package_fix(findings, top(module), statement)})  # fmt: skip
    return missing


def _error(error: dict | None, timed_out: Run | None, copy_root: str, findings: Findings) -> dict | None:
    """The exception that ended the import, with the module-level project line it came from."""
    if error is None and timed_out is not None:
        error = {"type": "timeout", "message": "the import did not finish in time", "frames": []}
    if error is None:
        return None
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
    return {
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
            fix_for(findings, statement, "error")
            if statement
            else no_codemod("the import fails outside the project's code")
        ),
    }


def _project_module(root: Path, module: str) -> bool:
    base = root.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def fr_display(frame: list, copy_root: str) -> str:
    return frame[3] if frame[3] is not None else display_path(frame[0], copy_root, "")


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


def _tree(run: Run, places: _Places, entry: Entry) -> dict | None:
    """The ``-X importtime`` tree (it prints children before their parent, indented deeper)."""
    pending: dict[int, list[dict]] = {}
    for self_us, cum_us, level, name in run.importtime:
        children = pending.pop(level + 1, [])
        if name not in places.modules:  # a failed import: not in the tree, its children (if any) kept
            pending.setdefault(level, []).extend(children)
            continue
        stack = places.first_import.get(name) or []
        via = where(stack[-1]) if stack else None
        node = {
            "module": name,
            "file": places.rel_of(places.modules.get(name)),
            "group": places.group(name),
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
