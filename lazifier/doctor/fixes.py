"""What ``lazify apply`` would do about a measured line: lazify's own analysis, run in-process on
the project as a dry run (no cache, nothing written), and matched to lines by file and line.

A finding matches a line when its span covers it; failing that, a change whose diff rewrites
that line of the original file (a singleton's getter takes the ``create_all`` on the line below
it along). A blocked finding is the reason nothing can be done; no finding at all is "no
codemod", with what to do by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lazifier.transform import Change

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


@dataclass
class Findings:
    changes: list[Change] = field(default_factory=list)
    #: (path, original line) -> the changes whose diff removes or rewrites that line
    touched: dict[tuple[str, int], list[Change]] = field(default_factory=dict)
    heavy_modules: frozenset[str] = frozenset()
    error: str | None = None

    def covers(self, path: str, line: int) -> bool:
        """Whether a finding's own span covers ``path:line``."""
        return any(
            c.path == path and c.finding.span.line <= line <= c.finding.span.end_line for c in self.changes
        )

    def for_line(self, path: str, line: int) -> dict | None:
        """The fix for ``path:line`` as the report gives it, or None when lazify has none."""
        covering = [
            c
            for c in self.changes
            if c.path == path and c.finding.span.line <= line <= c.finding.span.end_line
        ]
        if not covering:
            covering = self.touched.get((path, line), [])
        if not covering:
            return None
        order = {"safe": 0, "unsafe": 1, "blocked": 2}
        best = min(covering, key=lambda c: (order.get(c.safety_label, 3), not c.applied, c.finding.span.line))
        return fix_json(best)


def fix_json(c: Change) -> dict:
    f = c.finding
    out = {
        "codemod": c.code,
        "name": c.name,
        "file": c.path,
        "line": f.span.line,
        "message": f.message,
        "safety": c.safety_label,
        #: Whether ``lazify apply`` (default settings, no --unsafe-fixes) applies it.
        "applied_by_default": bool(c.applied),
        "reason": f.reason,
        "note": None,
    }
    if f.blocked:
        out["note"] = f"blocked: {f.reason}" if f.reason else "blocked"
    elif not c.applied and c.safety_label == "unsafe":
        out["note"] = "unsafe fix: `lazify apply --unsafe-fixes`"
    return out


def no_codemod(reason: str) -> dict:
    return {"codemod": None, "name": None, "file": None, "line": None, "message": reason,
            "safety": None, "applied_by_default": False, "reason": reason, "note": f"no codemod: {reason}"}  # fmt: skip


def _touched_lines(diff: str) -> list[int]:
    """The original-file line numbers a unified diff removes (a rewritten line is removed and
    added again)."""
    out: list[int] = []
    old = 0
    for line in diff.splitlines():
        m = _HUNK.match(line)
        if m:
            old = int(m.group(1))
            continue
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            out.append(old)
            old += 1
        elif line.startswith(" "):
            old += 1
    return out


def analyse(root: Path) -> Findings:
    """Run every selected codemod over the project as ``lazify apply --dry-run`` would, with
    the project's settings, and keep what it found. Never raises: a failure is recorded."""
    from lazifier.engine import Engine
    from lazifier.settings import ConfigError, load_settings
    from lazifier.transform import Policy

    try:
        settings = load_settings([root])
        engine = Engine(settings, [root], use_cache=False, write=False, read_only=True)
        try:
            outcome = engine.run(Policy(unsafe_fixes=settings.unsafe_fixes), change_diffs=True)
        finally:
            engine.close()
    except (ConfigError, OSError) as e:
        return Findings(error=str(e))
    changes = [c for r in outcome.results for c in r.changes]
    touched: dict[tuple[str, int], list[Change]] = {}
    for c in changes:
        for line in _touched_lines(c.diff or ""):
            touched.setdefault((c.path, line), []).append(c)
    return Findings(changes, touched, frozenset(settings.heavy_modules))
