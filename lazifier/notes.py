"""The run's notes: what the report says about the run as a whole rather than about a finding,
such as the project's linter flagging the imports lazify moves into functions, or the findings a
measured profile (``heavy-modules = "measured"``) made, with their figures."""

from __future__ import annotations

from collections.abc import Mapping

from lazifier.settings import Settings
from lazifier.transform import FileResult


def lint_notes(settings: Settings, results: list[FileResult]) -> list[str]:
    """Say so when the project's linters will flag function-local imports."""
    if not any(c.applied and c.code == "LZY001" for r in results for c in r.changes):
        return []
    if settings.style != "local":
        return []
    notes = []
    if settings.config_path is not None:
        tool = settings.pyproject.get("tool", {})
        ruff = tool.get("ruff", {})
        lint = ruff.get("lint", ruff)
        selected = [*lint.get("select", []), *lint.get("extend-select", [])]
        ignored = [*lint.get("ignore", []), *lint.get("extend-ignore", [])]
        if any("PLC0415".startswith(s) for s in selected if s) and not any(
            "PLC0415".startswith(s) for s in ignored if s
        ):
            notes.append(
                "the project enables ruff's PLC0415 (import-outside-top-level): it will flag the "
                "function-local imports lazify writes; add them to `per-file-ignores` or use "
                '`style = "lazy-modules"`'
            )
        pylint = tool.get("pylint", {})
        control = pylint.get("messages control") or pylint.get("messages_control") or {}
        disabled = str(control.get("disable", ""))
        if pylint and "import-outside-toplevel" not in disabled and "C0415" not in disabled:
            notes.append(
                "the project configures pylint, whose C0415 (import-outside-toplevel) is on by "
                "default: it will flag the function-local imports lazify writes"
            )
    for name in (".pylintrc", "pylintrc"):
        p = settings.project_root / name
        if p.is_file():
            text = p.read_text(errors="replace")
            if "import-outside-toplevel" not in text and "C0415" not in text:
                notes.append(
                    f"{name} leaves pylint's C0415 (import-outside-toplevel) on: it will flag the "
                    "function-local imports lazify writes"
                )
    return notes


def measured_notes(settings: Settings, results: list[FileResult], texts: Mapping[str, str]) -> list[str]:
    """With ``heavy-modules = "measured"``: which findings the measurement made (a package or a
    module-level statement measured over the threshold, with its figure), or why no profile was
    used."""
    measured = settings.facts.measured
    if measured is None:
        return []
    if not measured.used:
        return [f'heavy-modules = "measured": {measured.note}']
    notes = []
    for r in results:
        for c in sorted(r.changes, key=lambda c: (c.line, c.code)):
            span = c.finding.span
            if c.code == "LZY001":
                for top in _imported_packages(texts.get(r.path, ""), span.line, span.end_line):
                    cost = measured.cost(top)
                    if cost is not None and cost > measured.threshold:
                        notes.append(f"{r.path}:{c.line}: {c.code} {measured.describe(top, cost)}")
            elif c.code == "LZY002" and (c.finding.fix_owner or r.path) == r.path:
                cost = measured.statement_cost(r.path, span.line)
                if cost is not None:
                    lines = texts.get(r.path, "").splitlines()
                    text = lines[span.line - 1].strip() if 0 < span.line <= len(lines) else "the statement"
                    text = text if len(text) <= 60 else text[:57] + "..."
                    notes.append(f"{r.path}:{c.line}: {c.code} {measured.describe(f'`{text}`', cost)}")
    return list(dict.fromkeys(notes))


def _imported_packages(text: str, first: int, last: int) -> list[str]:
    """The top-level packages that absolute imports on lines ``first``..``last`` name."""
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if not first <= getattr(node, "lineno", 0) <= last:
            continue
        if isinstance(node, ast.Import):
            found += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append(node.module.split(".")[0])
    return list(dict.fromkeys(found))
