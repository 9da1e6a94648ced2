"""One report decides what is printed and the exit code.

stdout carries only diffs (text format) or machine output (json, github); everything else goes
to stderr and ends with a one-line summary. The same renderer produces the snapshots.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

from codemods._api import Location, Span
from lazifier import __version__
from lazifier.diff import hunks, unified_diff
from lazifier.sources import split_lines
from lazifier.transform import Change, FileResult

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2


class Colors:
    """ANSI colours, or nothing (not a terminal, NO_COLOR set, or --color never)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: object, mode: str = "auto") -> "Colors":
        if mode == "always":
            return cls(True)
        if mode == "never" or os.environ.get("NO_COLOR"):
            return cls(False)
        if os.environ.get("FORCE_COLOR"):
            return cls(True)
        isatty = getattr(stream, "isatty", None)
        return cls(bool(isatty and isatty()) and os.environ.get("TERM") != "dumb")

    def _c(self, code: str, s: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if self.enabled and s else s

    def bold(self, s: str) -> str:
        return self._c("1", s)

    def red(self, s: str) -> str:
        return self._c("31", s)

    def green(self, s: str) -> str:
        return self._c("32", s)

    def yellow(self, s: str) -> str:
        return self._c("33", s)

    def cyan(self, s: str) -> str:
        return self._c("36", s)

    def dim(self, s: str) -> str:
        return self._c("2", s)


PLAIN = Colors(False)


@dataclass
class RunReport:
    results: list[FileResult]
    skipped: list  # list[Skipped]
    notes: list[str] = field(default_factory=list)
    dry_run: bool = True
    strict: bool = False
    unsafe_fixes: bool = False
    #: Problems writing files (path -> reason).
    write_errors: dict[str, str] = field(default_factory=dict)
    targets: int = 0

    # -- counting ----------------------------------------------------------------------------

    @property
    def changes(self) -> list[Change]:
        return [c for r in self.results for c in r.changes]

    @property
    def changed_files(self) -> list[FileResult]:
        return [r for r in self.results if r.changed and r.path not in self.write_errors]

    @property
    def errors(self) -> list[tuple[str, int | None, str]]:
        out = [(r.path, r.error_line, r.error) for r in self.results if r.error]
        out += [(s.path, s.line, s.reason) for s in self.skipped if s.error]
        out += [(p, None, why) for p, why in self.write_errors.items()]
        return sorted(out, key=lambda e: (e[0], e[1] or 0))  # type: ignore[arg-type,return-value]

    def exit_code(self) -> int:
        if self.errors:
            return EXIT_ERROR
        if self.dry_run and self.changed_files:
            return EXIT_CHANGES
        if self.strict and (self.blocked or self.unsafe_hidden):
            return EXIT_CHANGES
        return EXIT_OK

    @property
    def blocked(self) -> list[Change]:
        return [c for c in self.changes if c.finding.blocked]

    @property
    def unsafe_hidden(self) -> list[Change]:
        if self.unsafe_fixes:
            return []  # enabled: one not applied was skipped in the review, not hidden
        return [
            c for c in self.changes
            if not c.finding.blocked and not c.applied and c.finding.safety is not None
            and c.finding.safety.value == "unsafe"
        ]  # fmt: skip

    def summary(self) -> str:
        changed = len(self.changed_files)
        errors = self.errors
        n_err = len({e[0] for e in errors})
        skipped_ok = [s for s in self.skipped if not s.error]
        unchanged = max(0, self.targets - changed - n_err - len(skipped_ok))
        verb = "would be rewritten" if self.dry_run else "rewritten"
        parts = [f"{_n(changed, 'file')} {verb}", f"{unchanged} unchanged"]
        applied = [c for c in self.changes if c.applied]
        tail = []
        if applied:
            tail.append(f"{_n(len(applied), 'change')}")
        if self.blocked:
            tail.append(f"{len(self.blocked)} blocked")
        if self.unsafe_hidden:
            tail.append(f"{_n(len(self.unsafe_hidden), 'unsafe fix', 'unsafe fixes')} not applied (--unsafe-fixes)")
        if skipped_ok:
            why = Counter(s.kind or s.reason for s in skipped_ok)
            parts.append(f"{len(skipped_ok)} skipped ({', '.join(f'{v} {k}' for k, v in sorted(why.items()))})")
        if errors:
            why = Counter(_error_kind(e[2]) for e in errors)
            parts.append(f"{_n(n_err, 'file')} failed ({', '.join(f'{v} {k}' for k, v in sorted(why.items()))})")
        line = ", ".join(parts)
        if tail:
            line += "; " + ", ".join(tail)
        return line + "."


def _error_kind(reason: str) -> str:
    for key in ("worker", "syntax error", "internal error", "read-only", "can't decode", "symlink loop",
                "broken symlink", "too deeply nested", "LibCST can't parse", "LibCST", "changed on disk",
                "encoding", "null byte"):  # fmt: skip
        if key in reason:
            return {
                "can't decode": "undecodable", "LibCST": "round-trip", "worker": "crashed worker",
                "LibCST can't parse": "unsupported by LibCST",
            }.get(key, key)  # fmt: skip
    return "error"


def _n(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


# ---------------------------------------------------------------------------------------------
# Text


def frame(lines: list[str], span: Span, label: str, colors: Colors = PLAIN) -> list[str]:
    """A source frame with a caret line under the span, ruff style."""
    first, last = span.line, min(span.end_line, span.line + 2)
    width = len(str(last))
    out = [f"{' ' * width} {colors.cyan('|')}"]
    for n in range(first, last + 1):
        text = lines[n - 1].rstrip("\r\n") if 0 < n <= len(lines) else ""
        out.append(f"{colors.cyan(str(n).rjust(width) + ' |')} {text}")
    start_col = span.column
    if span.end_line == span.line and span.end_column > span.column:
        carets = "^" * (span.end_column - span.column)
    else:
        src = lines[first - 1].rstrip("\r\n") if 0 < first <= len(lines) else ""
        carets = "^" * max(1, len(src) - start_col + 1)
    out.append(f"{' ' * width} {colors.cyan('|')} {' ' * (start_col - 1)}{colors.red(carets)} {colors.red(label)}")
    out.append(f"{' ' * width} {colors.cyan('|')}")
    return out


def render_change(
    change: Change,
    source: str,
    *,
    display_path: str | None = None,
    colors: Colors = PLAIN,
    show_diff: bool = False,
) -> str:
    f = change.finding
    lines = split_lines(source)
    where = f"{display_path or change.path}:{f.span.line}:{f.span.column}"
    if f.blocked:
        tag = colors.yellow("[blocked]")
    elif change.finding.safety is not None and change.finding.safety.value == "unsafe":
        tag = colors.yellow("[unsafe]")
    else:
        tag = colors.green("[*]")
    out = [f"{colors.bold(where)}: {colors.red(change.code)} {tag} {f.message}"]
    out += frame(lines, f.span, change.code, colors)
    if f.help:
        out.append(f"  = {colors.bold('help')}: {f.help}")
    if f.blocked and f.reason:
        out.append(f"  = {colors.bold('blocked')}: {f.reason}")
    for where_, note in f.related:
        if isinstance(where_, Span) and f.blocked:
            out.append(f"  = {colors.bold('note')}: line {where_.line}: {note}")
            out += ["    " + x for x in frame(lines, where_, note, colors)]
        elif isinstance(where_, Location):
            out.append(f"  = {colors.bold('note')}: {where_}: {note}")
        else:
            out.append(f"  = {colors.bold('unsafe')}: {note}")
    if not f.blocked and not change.applied and f.safety is not None and f.safety.value == "unsafe":
        out.append(f"  = {colors.bold('note')}: unsafe fix, not applied (enable with --unsafe-fixes)")
    if show_diff and change.diff:
        out.append("")
        out += [_color_diff_line(x, colors) for x in hunks(change.diff).splitlines()]
    return "\n".join(out) + "\n"


def _color_diff_line(line: str, colors: Colors) -> str:
    if line.startswith("+"):
        return colors.green(line)
    if line.startswith("-"):
        return colors.red(line)
    if line.startswith("@@"):
        return colors.cyan(line)
    return line


def render_text(
    report: RunReport,
    sources: dict[str, str],
    *,
    display: Callable[[str], str] = lambda p: p,
    colors: Colors = PLAIN,
    show_diffs: bool = False,
) -> str:
    out = []
    for r in report.results:
        for c in sorted(r.changes, key=lambda c: (c.line, c.finding.span.column, c.code)):
            out.append(render_change(c, sources.get(r.path, ""), display_path=display(r.path), colors=colors, show_diff=show_diffs))
    for path, line, reason in report.errors:
        loc = f"{display(path)}:{line}" if line else display(path)
        out.append(f"{colors.bold(loc)}: {colors.red('error')}: {reason}\n")
    for s in report.skipped:
        if not s.error:
            out.append(f"{colors.bold(display(s.path))}: {colors.dim('skipped')}: {s.reason}\n")
    for note in report.notes:
        out.append(f"{colors.yellow('note')}: {note}\n")
    return "\n".join(out)


def render_patch(results: Iterable[FileResult], originals: dict[str, tuple[str, str, bool]], prefix: str = "") -> bytes:
    """The whole run as one patch, each file's hunks in its own encoding (BOM included), so
    ``git apply`` from the repository root gives the same bytes as ``apply --yes``."""
    out = bytearray()
    for r in results:
        if not r.changed:
            continue
        text, encoding, bom = originals[r.path]
        lead = "\ufeff" if bom else ""
        diff = unified_diff(prefix + r.path, lead + text, lead + (r.new_text or ""))
        out += diff.encode(encoding, errors="surrogateescape")
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Machine formats


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
            {"file": display(w.path) if isinstance(w, Location) else display(c.path), "line": w.line, "message": m}
            for w, m in f.related
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
            "changes": sum(1 for c in report.changes if c.applied),
            "blocked": len(report.blocked),
            "unsafe_not_applied": len(report.unsafe_hidden),
            "errors": len(report.errors),
            "text": report.summary(),
        },
        "changes": [_change_json(c, display) for r in report.results for c in r.changes],
        "errors": [{"file": display(p), "line": line, "message": m} for p, line, m in report.errors],
        "skipped": [{"file": display(s.path), "reason": s.reason} for s in report.skipped if not s.error],
        "notes": report.notes,
    }
    return json.dumps(doc, indent=2) + "\n"


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def render_github(report: RunReport, display: Callable[[str], str] = lambda p: p) -> str:
    """GitHub Actions workflow commands: one annotation per change, blocked finding and error."""
    out = []
    for c in report.changes:
        f = c.finding
        level = "warning" if f.blocked and not report.strict else "error"
        if not f.blocked and not c.applied:
            level = "warning" if not report.strict else "error"
        title = f"{c.code} {c.name} ({c.safety_label})"
        props = (
            f"file={_gh_escape(display(c.path), True)},line={f.span.line},col={f.span.column},"
            f"endLine={f.span.end_line},endColumn={f.span.end_column},title={_gh_escape(title, True)}"
        )
        msg = f.message + (f" ({f.help})" if f.help else "")
        out.append(f"::{level} {props}::{_gh_escape(msg)}")
    for path, line, reason in report.errors:
        props = f"file={_gh_escape(display(path), True)}" + (f",line={line}" if line else "")
        out.append(f"::error {props},title=lazify::{_gh_escape(reason)}")
    return "\n".join(out) + ("\n" if out else "")


def write_stderr(text: str) -> None:
    if text:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()
