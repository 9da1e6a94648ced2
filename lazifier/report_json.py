"""``--output-format json``: every change and blocked finding, with its diff, and the summary."""

from __future__ import annotations

import json
from collections.abc import Callable

from codemods._api import Location
from lazifier import __version__
from lazifier.report import RunReport, count_changes
from lazifier.transform import Change


def _change_json(c: Change, display: Callable[[str], str]) -> dict:  # type: ignore[type-arg]
    f = c.finding
    return {
        "file": display(c.path),
        "line": f.span.line,
        "column": f.span.column,
        "end_line": f.span.end_line,
        "end_column": f.span.end_column,
        "codemod": c.code,
        "name": c.name,
        "message": f.message,
        "safety": c.safety_label,
        "applied": c.applied,
        "fix_id": c.fix_id,
        "help": f.help,
        "reason": f.reason,
        "related": [
            {
                "file": display(w.path) if isinstance(w, Location) else display(c.path),
                "line": w.line,
                "message": m,
            }
            for w, m in f.notes
        ],
        "diff": c.diff,
    }


def render_json(report: RunReport, display: Callable[[str], str] = lambda p: p) -> str:
    doc = {
        "version": __version__,
        "dry_run": report.dry_run,
        "exit_code": report.exit_code(),
        "summary": {
            "files_changed": len(report.changed_files),
            "changes": count_changes(c for c in report.changes if c.applied),
            "blocked": len(report.blocked),
            "unsafe_not_applied": count_changes(report.unsafe_hidden),
            "errors": len(report.errors),
            "text": report.summary(),
        },
        "changes": [_change_json(c, display) for r in report.results for c in r.changes],
        "errors": [
            {"file": display(p), "line": line, "column": col, "message": m}
            for p, line, col, m in report.errors
        ],
        "skipped": [{"file": display(s.path), "reason": s.reason} for s in report.skipped if not s.error],
        "notes": report.notes,
    }
    return json.dumps(doc, indent=2) + "\n"
