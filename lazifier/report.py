"""One report decides what is printed and the exit code.

stdout carries only diffs (text format) or machine output (json, github); everything else goes
to stderr and ends with a one-line summary. The same renderer produces the snapshots.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
    def for_stream(cls, stream: object, mode: str = "auto") -> Colors:
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
            {
                "file": display(w.path) if isinstance(w, Location) else display(c.path),
                "line": w.line,
                "message": m,
            }
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


def _gh_escape(s: str, prop: bool = False) -> str:
    """Escape a workflow command's message (``%``, CR, LF) or property value (also ``:``, ``,``),
    as the Actions runner unescapes them."""
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def _gh_command(level: str, props: list[tuple[str, object]], message: str) -> str:
    rendered = ",".join(f"{k}={_gh_escape(str(v), True)}" for k, v in props)
    return f"::{level} {rendered}::{_gh_escape(message)}"


def _gh_span(span: Span) -> list[tuple[str, object]]:
    """``line``/``endLine``, plus ``col``/``endColumn`` where GitHub uses them: annotations carry
    columns only on a single line (the checks API rejects them otherwise)."""
    props: list[tuple[str, object]] = [("line", span.line), ("endLine", span.end_line)]
    if span.end_line == span.line:
        props.append(("col", span.column))
        if span.end_column > span.column:
            props.append(("endColumn", span.end_column))
    return props


def render_github(report: RunReport, display: Callable[[str], str] = lambda p: p) -> str:
    """GitHub Actions workflow commands: one annotation per change, blocked finding and error
    (``::error file=F,line=L,endLine=E,col=C,endColumn=D,title=T::message``), a notice per note.

    ``display`` maps a project path to the path GitHub shows: relative to the repository root."""
    out = []
    for r in report.results:
        for c in sorted(r.changes, key=lambda c: (c.line, c.finding.span.column, c.code, c.finding.message)):
            f = c.finding
            hidden = f.blocked or not c.applied
            level = "warning" if hidden and not report.strict else "error"
            title = f"{c.code} {c.name} ({c.safety_label})"
            msg = status_message(c)
            if f.help:
                msg += f"\nhelp: {f.help}"
            props = [("file", display(c.path)), *_gh_span(f.span), ("title", title)]
            out.append(_gh_command(level, props, msg))
    for path, line, column, reason in report.errors:
        props = (
            [("file", display(path))]
            + ([("line", line)] if line else [])
            + ([("col", column)] if line and column else [])
        )
        props.append(("title", "lazify: error"))
        out.append(_gh_command("error", props, reason))
    for note in report.notes:
        out.append(_gh_command("notice", [("title", "lazify")], note))
    return "\n".join(out) + ("\n" if out else "")


# ---------------------------------------------------------------------------------------------
# SARIF 2.1.0

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"


def codemod_doc(cls: type) -> tuple[str, str, str]:
    """A codemod's one-line summary of its docstring, its *What it does* section, and the whole
    documentation (markdown, as ``lazify explain`` prints it)."""
    raw = cls.__doc__ or ""
    first, _, rest = raw.strip().partition("\n")
    body = textwrap.dedent(rest).strip()
    m = re.search(r"## What it does\n(.*?)(?:\n## |\Z)", body, re.S)
    what = " ".join(m.group(1).split()) if m else first.strip()
    doc = f"# {cls.name} ({cls.code})\n\n{first.strip()}\n\n{body}".rstrip() + "\n"  # type: ignore[attr-defined]
    return first.strip(), what, doc


def _sarif_rules() -> list[dict]:  # type: ignore[type-arg]
    from codemods import BY_CODE

    rules = []
    for cls in BY_CODE:
        _first, what, doc = codemod_doc(cls)
        rules.append({
            "id": cls.code,
            "name": cls.name,
            "shortDescription": {"text": cls.summary},
            "fullDescription": {"text": what},
            "help": {"text": doc, "markdown": doc},
            "defaultConfiguration": {"level": "warning"},
            "properties": {"tags": ["import-time", "performance"]},
        })  # fmt: skip
    return rules


def _sarif_location(uri: str, region: dict | None = None) -> dict:  # type: ignore[type-arg]
    loc: dict = {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT}}  # type: ignore[type-arg]
    if region:
        loc["region"] = region
    return {"physicalLocation": loc}


def _sarif_region(span: Span) -> dict:  # type: ignore[type-arg]
    region = {"startLine": span.line, "startColumn": max(1, span.column), "endLine": span.end_line}
    if span.end_column >= 1 and (span.end_line > span.line or span.end_column > span.column):
        region["endColumn"] = span.end_column
    return region


def _position(lines: list[str], index: int) -> tuple[int, int]:
    """Line and column (1-based) of the start of old line ``index`` (0-based); past the last line,
    the end of the file."""
    if index < len(lines):
        return index + 1, 1
    if lines and not lines[-1].endswith("\n"):
        return len(lines), len(lines[-1]) + 1
    return len(lines) + 1, 1


def diff_replacements(diff: str, old: str) -> list[dict]:  # type: ignore[type-arg]
    """SARIF ``replacements`` (regions of ``old``, inserted text) for a unified diff of ``old``."""
    old_lines = split_lines(old)
    out: list[dict] = []  # type: ignore[type-arg]
    start: int | None = None  # 0-based old line where the pending edit starts
    deleted = 0
    inserted: list[str] = []
    last = ""
    old_no = 0

    def flush() -> None:
        nonlocal start, deleted, inserted
        if start is None:
            return
        a, b = _position(old_lines, start), _position(old_lines, start + deleted)
        rep: dict = {  # type: ignore[type-arg]
            "deletedRegion": {"startLine": a[0], "startColumn": a[1], "endLine": b[0], "endColumn": b[1]}
        }
        if inserted:
            rep["insertedContent"] = {"text": "".join(inserted)}
        out.append(rep)
        start, deleted, inserted = None, 0, []

    in_hunk = False
    for line in split_lines(diff):
        if line.startswith("@@"):
            in_hunk = True
            flush()
            m = re.match(r"@@ -(\d+)(?:,(\d+))? ", line)
            assert m, line
            begin, length = int(m.group(1)), int(m.group(2) or 1)
            old_no = begin - 1 if length else begin  # 0-based index of the next old line
        elif not in_hunk:
            continue  # the file headers
        elif line.startswith("\\"):
            if last.startswith("+") and inserted and inserted[-1].endswith("\n"):
                inserted[-1] = inserted[-1][:-1]
        elif line.startswith("-"):
            if start is None:
                start = old_no
            deleted += 1
            old_no += 1
        elif line.startswith("+"):
            if start is None:
                start = old_no
            inserted.append(line[1:])
        else:
            flush()
            old_no += 1
        last = line
    flush()
    return out


def _sarif_level(c: Change, strict: bool) -> str:
    """A change lazify makes (or would make) is a warning; a blocked finding or an unsafe fix not
    applied is a note, and a warning with --strict (which fails on them)."""
    if c.finding.blocked or not c.applied:
        return "warning" if strict else "note"
    return "warning"


def _sarif_result(
    c: Change, rule_index: dict[str, int], uri: Callable[[str], str], strict: bool, original: str | None
) -> dict:  # type: ignore[type-arg]
    """One change or blocked finding; with its fix when ``original`` is the text its diff is of."""
    f = c.finding
    message = status_message(c)
    props: dict = {"safety": c.safety_label, "applied": c.applied, "blocked": f.blocked}  # type: ignore[type-arg]
    if f.reason:
        props["reason"] = f.reason
    if f.help:
        props["help"] = f.help
    if c.fix_id:
        props["fixId"] = c.fix_id
    res: dict = {  # type: ignore[type-arg]
        "ruleId": c.code,
        "ruleIndex": rule_index[c.code],
        "level": _sarif_level(c, strict),
        "message": {"text": message},
        "locations": [_sarif_location(uri(c.path), _sarif_region(f.span))],
    }
    related = []
    for i, (where, note) in enumerate(f.related, 1):
        if isinstance(where, Location):
            loc = _sarif_location(uri(where.path), {"startLine": max(1, where.line)})
        else:
            loc = _sarif_location(uri(c.path), _sarif_region(where))
        related.append({"id": i, **loc, "message": {"text": note}})
    if related:
        res["relatedLocations"] = related
    if c.diff and original is not None:
        replacements = diff_replacements(c.diff, original)
        if replacements:
            label = "unsafe fix (--unsafe-fixes)" if c.safety_label == "unsafe" else "safe fix"
            res["fixes"] = [{
                "description": {"text": f"{c.name}: {label}"},
                "artifactChanges": [
                    {"artifactLocation": {"uri": uri(c.path), "uriBaseId": SRCROOT}, "replacements": replacements}
                ],
            }]  # fmt: skip
    res["properties"] = props
    return res


def render_sarif(
    report: RunReport, texts: dict[str, str], prefix: str = "", repo_root: str | None = None
) -> str:
    """The run as a SARIF 2.1.0 log: one run, every codemod a rule, every change and blocked
    finding a result (with its fix, when the change's diff is a diff of the original file), every
    file that could not be processed a tool execution notification.

    URIs are relative to ``%SRCROOT%``, the repository root (``repo_root``, a file URI), and
    ``prefix`` is the project's path inside it. ``texts`` are the original files' texts."""
    from urllib.parse import quote

    from codemods import BY_CODE, REGISTRY

    rule_index = {cls.code: i for i, cls in enumerate(BY_CODE)}
    run_order = {cls.code: i for i, cls in enumerate(REGISTRY)}

    def uri(rel: str) -> str:
        return quote(prefix + rel, safe="/")

    results = []
    for r in report.results:
        # A change's own diff is against the text its codemod saw (codemods run in registry
        # order): it is a fix of the original file only if no earlier codemod changed the file.
        first_rewrite = min((run_order[c.code] for c in r.changes if c.applied), default=len(run_order))
        for c in sorted(r.changes, key=lambda c: (c.line, c.finding.span.column, c.code, c.finding.message)):
            original = texts.get(r.path) if run_order[c.code] <= first_rewrite else None
            results.append(_sarif_result(c, rule_index, uri, report.strict, original))

    notifications = []
    for path, line, column, reason in report.errors:
        region = ({"startLine": line} | ({"startColumn": column} if column else {})) if line else None
        notifications.append(
            {"level": "error", "message": {"text": reason}, "locations": [_sarif_location(uri(path), region)]}
        )
    for s in report.skipped:
        if not s.error:
            notifications.append(
                {
                    "level": "note",
                    "message": {"text": f"skipped: {s.reason}"},
                    "locations": [_sarif_location(uri(s.path))],
                }
            )
    invocation: dict = {  # type: ignore[type-arg]
        "executionSuccessful": not report.errors,
        "exitCode": report.exit_code(),
        "toolExecutionNotifications": notifications,
    }
    if report.notes:
        invocation["toolConfigurationNotifications"] = [
            {"level": "note", "message": {"text": n}} for n in report.notes
        ]
    run: dict = {  # type: ignore[type-arg]
        "tool": {"driver": {
            "name": "lazify",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": _sarif_rules(),
        }},
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"dryRun": report.dry_run, "summary": report.summary()},
    }  # fmt: skip
    if repo_root is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": repo_root}}
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_stderr(text: str) -> None:
    if text:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()
