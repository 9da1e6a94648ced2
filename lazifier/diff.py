"""Unified diffs that ``git apply`` accepts: ``a/``/``b/`` prefixes, paths from the repository
root, CRLF kept inside lines, and the "no newline at end of file" marker where it belongs."""

from __future__ import annotations

import difflib

from lazifier.sources import split_lines

NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(path: str, old: str, new: str, context: int = 3) -> str:
    """The diff of one file as text (encode it with the file's own encoding)."""
    if old == new:
        return ""
    out = [f"diff --git a/{path} b/{path}\n"]
    for line in difflib.unified_diff(split_lines(old), split_lines(new), f"a/{path}", f"b/{path}", n=context):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n" + NO_NEWLINE)
    return "".join(out)


def hunks(diff: str) -> str:
    """The diff without its file headers (for per-change display)."""
    lines = diff.splitlines(keepends=True)
    i = 0
    while i < len(lines) and not lines[i].startswith("@@"):
        i += 1
    return "".join(lines[i:])
