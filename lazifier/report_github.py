"""``--output-format github``: GitHub Actions workflow commands, one annotation per finding."""

from __future__ import annotations

from collections.abc import Callable

from codemods._api import Span
from lazifier.report import RunReport, status_message


def _gh_escape(s: str, prop: bool = False) -> str:
    """Escape a workflow command's message (``%``, CR, LF) or property value (also ``:``, ``,``),
    as the Actions runner unescapes them."""
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


def workflow_command(level: str, props: list[tuple[str, object]], message: str) -> str:
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
            out.append(workflow_command(level, props, msg))
    for path, line, column, reason in report.errors:
        props = (
            [("file", display(path))]
            + ([("line", line)] if line else [])
            + ([("col", column)] if line and column else [])
        )
        props.append(("title", "lazify: error"))
        out.append(workflow_command("error", props, reason))
    for note in report.notes:
        out.append(workflow_command("notice", [("title", "lazify")], note))
    return "\n".join(out) + ("\n" if out else "")


# ---------------------------------------------------------------------------------------------
# SARIF 2.1.0
