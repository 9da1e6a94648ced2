"""black over the statements a rewrite wrote and their neighbours, not over the whole file.

With line ranges black leaves every other line as it is, but it still parses and lays out the
whole file, twice when something changed: on a 230 KB module that is most of a rewrite's cost
(issue 16). What black writes for the lines in range depends only on

- those statements,
- the lines around them (the blank lines black puts before a statement depend on the one above
  it, and those after it on the statement below), and the blocks they sit in,
- the target versions black infers from the whole file: they decide the trailing comma after
  ``*args`` in a split call or def, parenthesized ``with`` items, bare ``except`` tuples and
  t-strings.

So :func:`format_ranges` hands black a slice of the file: every top-level statement, class or
function that holds a line in range; within a long class or function only its first statement,
the members that hold such a line, and the member before and after each (a long neighbour cut
the same way, to its first and last or first statement). The slice is valid Python with the
same lines, so the lines in range map one to one. It gives None, and the caller runs black on
the whole file, whenever the slice might not answer for the file: lines in range that hold
anything whose layout depends on the target versions, ``fmt:``/``yapf:`` switches anywhere,
line breaks other than ``\n``, a change black makes away from the lines in range or at a seam
of the slice, or black failing on the slice.

One difference is meant: black over the whole file sometimes also rewrites comments or blank
lines far from the range (a comment block in a loop's tail, blank lines above a comment in a
class), and the whole-file step then gives up and leaves lazify's statement as written. The
slice does not reach those lines, so the statement gets black's layout. Over the standard
library with every file matching, 3 of 91 sliced calls were such. ``tests/test_black_slice.py``
holds the other answers to the whole file's, byte for byte.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Sequence

# A part of a file shorter than this is given to black whole.
LONG = 40
_SWITCHES = re.compile(r"#\s*(?:fmt|yapf)\s*:")
# Characters some tools take for a line break and others don't.
_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# ``*args``/``**kwargs`` in a call or def (a ``*`` at a line's start or after ``(`` or ``,``;
# a product is no matter), ``with``, ``except``, and a t-string's prefix.
_VERSIONED = re.compile(r"(?:^|[(,])\s*\*|\bwith\b|\bexcept\b|(?<![\w'\"])[rR]?[tT][rR]?['\"]")

Format = Callable[[str, list[tuple[int, int]]], "str | None"]


def format_ranges(text: str, tree: ast.Module, allowed: set[int], black_format: Format) -> str | None:
    """``text`` as ``black_format`` would write the whole of it with only the 0-based lines
    ``allowed`` in range, from a slice of it; None when the slice can't answer for the file.

    ``black_format(source, ranges)`` is black with 1-based inclusive line ranges: its output, or
    None when there is nothing to change or it fails. ``text`` ends with a newline.
    """
    lines = text.split("\n")[:-1]
    if (
        not tree.body
        or _BREAKS.search(text)
        or _SWITCHES.search(text)
        or any(_VERSIONED.search(lines[i]) for i in allowed if i < len(lines))
    ):
        return None
    keep: set[int] = set()
    _keep_body(_slots(tree.body, 0, len(lines) - 1), allowed, keep)
    if not allowed <= keep:
        return None
    if len(keep) == len(lines):
        return None  # nothing to cut: the whole file it is
    where = sorted(keep)  # slice line -> file line
    at = {line: k for k, line in enumerate(where)}
    piece = [lines[i] for i in where]
    out = black_format("\n".join(piece) + "\n", line_ranges({at[i] for i in allowed}))
    if out is None:
        return None
    return _map_back(lines, piece, out.split("\n")[:-1], where, allowed)


def _map_back(
    lines: list[str], piece: list[str], done: list[str], where: list[int], allowed: set[int]
) -> str | None:
    """The file's lines with black's changes to the slice applied where they belong, or None
    when a change is away from the lines in range or at a seam (two slice lines that are not
    neighbours in the file)."""

    def seam(k: int) -> bool:  # between slice lines k - 1 and k
        return 0 < k < len(where) and where[k] != where[k - 1] + 1

    edits: list[tuple[int, int, list[str]]] = []
    matcher = difflib.SequenceMatcher(None, piece, done, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            near = [k for k in (i1 - 1, i1) if 0 <= k < len(where) and where[k] in allowed]
            if not near or seam(i1):
                return None
            start = where[i1] if i1 < len(where) else len(lines)
            edits.append((start, start, done[j1:j2]))
            continue
        if not all(where[k] in allowed for k in range(i1, i2)) or any(seam(k) for k in range(i1 + 1, i2)):
            return None
        edits.append((where[i1], where[i2 - 1] + 1, done[j1:j2]))
    out = list(lines)
    for start, end, new in reversed(edits):
        out[start:end] = new
    return "\n".join(out) + "\n"


_Slot = tuple[int, int, list[ast.stmt]]


def _first(node: ast.stmt) -> int:
    """A statement's first line (0-based), its decorators included."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))]) - 1


def _slots(body: Sequence[ast.stmt], start: int, end: int) -> list[_Slot]:
    """A body's statements as 0-based inclusive line ranges that tile ``start..end``: each
    with the blank and comment lines above it (statements that share a line share a slot; the
    last slot runs to ``end``)."""
    out: list[_Slot] = []
    for node in body:
        last = (node.end_lineno or node.lineno) - 1
        if out and _first(node) <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], last), [*out[-1][2], node])
        else:
            out.append((start, last, [node]))
        start = out[-1][1] + 1
    if out:
        out[-1] = (out[-1][0], max(out[-1][1], end), out[-1][2])
    return out


def _inner(slot: _Slot) -> tuple[int, list[_Slot]] | None:
    """A long class or function's slot as its head (up to the end of its first statement) and
    the slots of the rest of its body; None for any other slot."""
    a, b, nodes = slot
    node = nodes[0]
    if (
        len(nodes) != 1
        or b - a < LONG
        or not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
    ):
        return None
    body = node.body
    head = (body[0].end_lineno or body[0].lineno) - 1
    if len(body) < 2 or _first(body[0]) <= node.lineno - 1 or head >= b:
        return None  # a one-liner, or nothing to leave out
    return head, _slots(body[1:], head + 1, (body[-1].end_lineno or body[-1].lineno) - 1)


def _keep_body(slots: list[_Slot], allowed: set[int], keep: set[int]) -> None:
    """Add to ``keep`` what black needs of a body: its first statement, each statement that
    holds a line in ``allowed`` (a long one cut down the same way) and its two neighbours."""
    need = [any(i in allowed for i in range(a, b + 1)) for a, b, _ in slots]
    for k, slot in enumerate(slots):
        above = k + 1 < len(slots) and need[k + 1]
        if need[k]:
            _keep_slot(slot, allowed, keep)
        elif k == 0 or above or need[k - 1]:
            # The statement above a kept one needs its end; any other, only its start.
            _keep_context(slot, keep, last=above)


def _keep_slot(slot: _Slot, allowed: set[int], keep: set[int]) -> None:
    split = _inner(slot)
    if split is None:
        keep.update(range(slot[0], slot[1] + 1))
        return
    head, rest = split
    keep.update(range(slot[0], head + 1))
    _keep_body(rest, allowed, keep)
    keep.update(range(rest[-1][1] + 1, slot[1] + 1) if rest else ())


def _keep_context(slot: _Slot, keep: set[int], last: bool) -> None:
    split = _inner(slot)
    if split is None:
        keep.update(range(slot[0], slot[1] + 1))
        return
    head, rest = split
    keep.update(range(slot[0], head + 1))
    if last and rest:
        _keep_context(rest[-1], keep, last=True)
    keep.update(range(rest[-1][1] + 1, slot[1] + 1) if rest else ())


def line_ranges(lines: set[int]) -> list[tuple[int, int]]:
    """0-based line indexes as black's 1-based, inclusive, contiguous ranges."""
    out: list[tuple[int, int]] = []
    for i in sorted(lines):
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i + 1, i + 1))
    return out
