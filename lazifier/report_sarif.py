"""``--output-format sarif``: a SARIF 2.1.0 log for code scanning: every codemod a rule (its
documentation the rule's help), every change and blocked finding a result with its fix."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from codemods._api import Location, Span
from lazifier import __version__
from lazifier.report import RunReport, status_message
from lazifier.sources import split_lines
from lazifier.transform import Change

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _sarif_rules() -> list[dict]:  # type: ignore[type-arg]
    from codemods import BY_CODE
    from lazifier.docs import doc_of

    rules = []
    for cls in BY_CODE:
        d = doc_of(cls)
        what, doc = d.what_it_does(), d.markdown()
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
