"""One report decides what is printed and the exit code.

stdout carries only diffs (text format) or machine output (json, github, sarif: the
``report_*`` modules); everything else goes to stderr and ends with a one-line summary. The
same text renderer produces the snapshots.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from codemods._api import Location, Span
from lazifier.console import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, PLAIN, Colors
from lazifier.diff import hunks, unified_diff
from lazifier.sources import split_lines
from lazifier.transform import Change, FileResult


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
    #: --exit-zero: changes found (and, with --strict, blocked findings) don't make exit 1.
    exit_zero: bool = False

    # -- counting ----------------------------------------------------------------------------

    @property
    def changes(self) -> list[Change]:
        return [c for r in self.results for c in r.changes]

    @property
    def changed_files(self) -> list[FileResult]:
        return [r for r in self.results if r.changed and r.path not in self.write_errors]

    @property
    def errors(self) -> list[tuple[str, int | None, int | None, str]]:
        """(path, line, column, message) of every file that failed."""
        out = [(r.path, r.error_line, r.error_column, r.error) for r in self.results if r.error]
        out += [(s.path, s.line, None, s.reason) for s in self.skipped if s.error]
        out += [(p, None, None, why) for p, why in self.write_errors.items()]
        return sorted(out, key=lambda e: (e[0], e[1] or 0))  # type: ignore[arg-type,return-value]

    def exit_code(self) -> int:
        if self.errors:
            return EXIT_ERROR
        if self.exit_zero:
            return EXIT_OK
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
        applied = count_changes(c for c in self.changes if c.applied)
        hidden = count_changes(self.unsafe_hidden)
        tail = []
        if applied:
            tail.append(f"{_n(applied, 'change')}")
        if self.blocked:
            tail.append(f"{len(self.blocked)} blocked")
        if hidden:
            tail.append(f"{_n(hidden, 'unsafe fix', 'unsafe fixes')} not applied (--unsafe-fixes)")
        if skipped_ok:
            why = Counter(s.kind or s.reason for s in skipped_ok)
            parts.append(
                f"{len(skipped_ok)} skipped ({', '.join(f'{v} {k}' for k, v in sorted(why.items()))})"
            )
        if errors:
            why = Counter(_error_kind(e[3]) for e in errors)
            parts.append(
                f"{_n(n_err, 'file')} failed ({', '.join(f'{v} {k}' for k, v in sorted(why.items()))})"
            )
        line = ", ".join(parts)
        if tail:
            line += "; " + ", ".join(tail)
        return line + "."


def count_changes(changes: Iterable[Change]) -> int:
    """How many changes these are, in the one unit every summary uses: a *change* is one fix (one
    decision in the review), however many files it touches. ``Change`` objects are per file, so a
    singleton and the module that reads it are two of them and one change; this counts fix ids."""
    return len({c.fix_id if c.fix_id is not None else id(c) for c in changes})


def _error_kind(reason: str) -> str:
    if reason.startswith("SyntaxError:"):
        return "syntax error"
    for key in ("not written", "worker", "syntax error", "internal error", "read-only", "can't decode",
                "symlink loop", "broken symlink", "too deeply nested", "LibCST can't parse", "LibCST",
                "changed on disk", "encoding", "null byte", "can't write"):  # fmt: skip
        if key in reason:
            return {
                "can't decode": "undecodable", "LibCST": "round-trip", "worker": "crashed worker",
                "LibCST can't parse": "unsupported by LibCST", "not written": "held back with another file",
                "can't write": "write failed",
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
    out.append(
        f"{' ' * width} {colors.cyan('|')} {' ' * (start_col - 1)}{colors.red(carets)} {colors.red(label)}"
    )
    out.append(f"{' ' * width} {colors.cyan('|')}")
    return out


@functools.lru_cache(maxsize=1)
def _lines_of(source: str) -> list[str]:
    """``split_lines(source)``, once for a file's changes in a row (a report renders them by
    file); the list is only read."""
    return split_lines(source)


def render_change(
    change: Change,
    source: str,
    *,
    display_path: str | None = None,
    colors: Colors = PLAIN,
    show_diff: bool = False,
) -> str:
    f = change.finding
    lines = _lines_of(source)
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
    for where_, note in f.notes:
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


def render_errors(
    report: RunReport, *, display: Callable[[str], str] = lambda p: p, colors: Colors = PLAIN
) -> list[str]:
    """One line per file that failed, at the position of the failure. Never quiet."""
    out = []
    for path, line, column, reason in report.errors:
        loc = display(path) + (f":{line}" if line else "") + (f":{column}" if line and column else "")
        out.append(f"{colors.bold(loc)}: {colors.red('error')}: {reason}\n")
    return out


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
            out.append(
                render_change(
                    c,
                    sources.get(r.path, ""),
                    display_path=display(r.path),
                    colors=colors,
                    show_diff=show_diffs,
                )
            )
    out += render_errors(report, display=display, colors=colors)
    for s in report.skipped:
        if not s.error:
            out.append(f"{colors.bold(display(s.path))}: {colors.dim('skipped')}: {s.reason}\n")
    for note in report.notes:
        out.append(f"{colors.yellow('note')}: {note}\n")
    return "\n".join(out)


def render_patch(
    results: Iterable[FileResult], originals: dict[str, tuple[str, str, bool]], prefix: str = ""
) -> bytes:
    """The whole run as one patch, each file's hunks in its own encoding (BOM included), so
    ``git apply`` from the repository root gives the same bytes as ``apply --yes``."""
    out = bytearray()
    for r in results:
        if not r.changed:
            continue
        text, encoding, bom = originals[r.path]
        path = prefix + r.path
        if r.patch is not None and not bom and r.patch[0] == r.new_text:
            diff = f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n{r.patch[1]}"
        else:  # a BOM shows in the first line; a formatter changed the text after the worker
            lead = "\ufeff" if bom else ""
            diff = unified_diff(path, lead + text, lead + (r.new_text or ""))
        out += diff.encode(encoding, errors="surrogateescape")
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Machine formats


def status_message(c: Change) -> str:
    """A finding's message, saying why it is blocked or that its unsafe fix was not applied."""
    f = c.finding
    if f.blocked:
        if f.reason and f.reason not in f.message:
            return f"{f.message} (blocked: {f.reason})"
        return f.message
    if not c.applied and c.safety_label == "unsafe":
        return f"{f.message} (unsafe fix, not applied: enable with --unsafe-fixes)"
    return f.message
