"""Lines a rewrite made too long, split the way black splits them.

A codemod that replaces ``engine`` by ``get_engine()`` in a call, or moves a statement four
columns deeper, can push a line that fitted past the limit. Black would then reformat the file,
so the output would not be what a black user commits. :func:`refit` splits such lines as black's
right-hand split does, for the shape that covers the rewrites: a one-line statement ending in a
call's closing parenthesis. The arguments go on a line of their own, or one a line with a
trailing comma when they don't fit together; anything else is left as it is (still correct, and
black would settle it).

Only new lines are touched (a line also in the input is the user's), and every split is checked
to give the same AST as the line it replaces.

Any other statement the rewrite wrote that black would still change (a list moved three blocks
deeper into a getter, an assignment whose right-hand side black wraps in parentheses, a method
chain whose receiver became a call, a call split only to make room for a comment that moved)
goes to black itself, restricted to that statement's lines (its line ranges): black is the only
faithful copy of black, and it checks the AST itself. Its result is kept only if it changed no
statement the rewrite did not write; otherwise the statement stays as written, still correct.
"""

from __future__ import annotations

import ast
import difflib
import io
import tokenize
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from codemods._black_slice import Format, format_ranges, line_ranges

if TYPE_CHECKING:
    import black

LINE_LENGTH = 88
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


def refit(code: str, original: str, width: int = LINE_LENGTH) -> str:
    """``code`` with the over-long lines the rewrite wrote split black-style."""
    lines = code.splitlines(keepends=True)
    old = set(original.splitlines())
    long = {
        i for i, line in enumerate(lines)
        if len(line.rstrip("\r\n")) > width and line.rstrip("\r\n") not in old
    }  # fmt: skip
    if long:
        code = _split_one_liners(code, lines, long, width)
    return _black_lines(code, original, old, width)


def _split_one_liners(code: str, lines: list[str], long: set[int], width: int) -> str:
    """The one-line statements among ``long`` split by black's right-hand split, where it applies."""
    whole = _one_line_statements(code)
    changed = False
    for i in sorted(long & whole, reverse=True):
        line = lines[i]
        ending = line[len(line.rstrip("\r\n")) :]
        text = line.rstrip("\r\n")
        indent = text[: len(text) - len(text.lstrip(" "))]
        if "\t" in text[: len(indent) + 1]:
            continue
        split = _right_hand_split(text[len(indent) :], len(indent), width)
        if split is None:
            continue
        new = [indent + part for part in split]
        if not _same_ast(text.strip(), "\n".join(p.rstrip() for p in split)):
            continue
        lines[i] = "".join(part + (ending or "\n") for part in new)
        if not ending:
            lines[i] = lines[i][:-1]
        changed = True
    return "".join(lines) if changed else code


def _black_lines(code: str, original: str, old: set[str], width: int) -> str:
    """``code`` with black's formatting of the statements whose lines the rewrite wrote and
    black might lay out otherwise, or ``code`` as it is. ``old``: the lines of ``original``."""
    stripped = {line.strip() for line in old}
    if not _worth_black(code, old, stripped, width):
        return code
    lines = code.splitlines()
    if any("\t" in line[: len(line) - len(line.lstrip())] for line in lines):
        return code  # black would indent its lines with spaces among the user's tabs
    parsed = _statement_spans(code)
    if parsed is None:
        return code
    tree, spans = parsed
    # The lines a diff from the input shows as written anew, asked of the diff only where it
    # decides: a line found nowhere in the input is new in any diff (the diff of a long file
    # costs more than black over a slice of it).
    fresh = {i for i, line in enumerate(lines) if line.strip() not in stripped}
    long = [i for i, line in enumerate(lines) if len(line) > width]
    touched = {i for i in long if lines[i] not in old}
    if len(touched) < len(long):
        touched |= _new_lines(original.splitlines(), lines) & set(long)
    touched |= {i for i in fresh if spans.multi_line(i)}
    # A statement under a comment the rewrite moved off its end was split to make room for it.
    touched |= {i + 1 for i in fresh if lines[i].lstrip().startswith("#") and spans.multi_line(i + 1)}
    allowed = spans.around(touched)
    if not allowed:
        return code
    try:
        import black
    except ImportError:
        return code
    crlf = "\r\n" in code
    text = code.replace("\r\n", "\n") if crlf else code
    out = _black(text, tree, allowed, black.Mode(line_length=width))
    if out is None or out == text:
        return code
    return out.replace("\n", "\r\n") if crlf else out


def _black(text: str, tree: ast.Module, allowed: set[int], mode: black.Mode) -> str | None:
    """black's layout of the statements on the lines ``allowed`` of ``text``, the rest as it
    is; None when black fails or would change another statement. From a slice of the file
    when it can answer for the file (the same output, far cheaper on a long file), else from
    the whole file."""
    import black

    def run(source: str, ranges: list[tuple[int, int]]) -> str | None:
        try:
            return black.format_file_contents(source, fast=False, mode=mode, lines=ranges)
        except black.NothingChanged:
            return source
        except Exception:  # syntax black doesn't know (`lazy import`), its own checks
            return None

    out = format_ranges(text, tree, allowed, run) if text.endswith("\n") else None
    return out if out is not None else _whole_file(text, allowed, run)


def _whole_file(text: str, allowed: set[int], run: Format) -> str | None:
    out = run(text, line_ranges(allowed))
    if out is None or out == text:
        return out
    matcher = difflib.SequenceMatcher(None, text.splitlines(), out.splitlines(), autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete") and not all(i in allowed for i in range(i1, i2)):
            return None  # black reached a statement the rewrite did not write
    return out


def _worth_black(code: str, old: set[str], stripped: set[str], width: int) -> bool:
    """Cheaply: does a line the rewrite wrote leave black something to do? One too long, or one
    with new content that opens, continues or closes a split statement (``x = f(`` where a name
    became a call), or a comment of its own (one moved off a statement's end)."""
    for line in code.splitlines():
        if line in old:
            continue
        if len(line) > width:
            return True
        text = line.strip()
        if text and text not in stripped and (text[-1] in "([{," or text[0] in ")]}#"):
            return True
    return False


class _Spans:
    """Where each line's statement starts and ends (0-based, inclusive): a simple statement
    whole, a compound statement's header without its body."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self.of: dict[int, tuple[int, int]] = {}
        for a, b in sorted(spans, key=lambda s: s[1] - s[0], reverse=True):
            for i in range(a, b + 1):
                self.of[i] = (a, b)  # the innermost (shortest) span wins

    def multi_line(self, i: int) -> bool:
        a, b = self.of.get(i, (i, i))
        return b > a

    def around(self, lines: set[int]) -> set[int]:
        out: set[int] = set()
        for i in lines:
            a, b = self.of.get(i, (i, i))
            out.update(range(a, b + 1))
        return out


def _statement_spans(code: str) -> tuple[ast.Module, _Spans] | None:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    spans = []
    for node in _statements(tree):
        first = node.lineno - 1
        # A compound statement's header ends above its first statement (or case).
        inner = (
            [c.pattern for c in node.cases] if isinstance(node, ast.Match) else getattr(node, "body", None)
        )
        if inner:
            spans.append((first, max(first, inner[0].lineno - 2)))
        else:
            spans.append((first, (node.end_lineno or node.lineno) - 1))
    return tree, _Spans(spans)


_BODIES = ("body", "handlers", "orelse", "finalbody", "cases")


def _statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """The statements of ``tree`` in ``ast.walk``'s order (breadth first, fields in order),
    without visiting an expression: no statement is inside one."""
    todo: deque[ast.AST] = deque([tree])
    while todo:
        node = todo.popleft()
        for name in _BODIES:
            todo.extend(getattr(node, name, ()))
        if isinstance(node, ast.stmt):
            yield node


def _new_lines(before: list[str], after: list[str]) -> set[int]:
    """Indexes of the lines of ``after`` that a diff from ``before`` shows as written anew."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return {
        j
        for tag, _, _, j1, j2 in matcher.get_opcodes()
        if tag in ("replace", "insert")
        for j in range(j1, j2)
    }


def _one_line_statements(code: str) -> set[int]:
    """0-based indexes of lines that hold one whole simple statement (no comment, no
    continuation, not inside a string, not a compound statement's header)."""
    out: set[int] = set()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return out
    start: tokenize.TokenInfo | None = None
    clean = True
    last: tokenize.TokenInfo | None = None
    for tok in tokens:
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.ENCODING):
            if tok.type == tokenize.NL and start is not None:
                clean = False  # a line break inside brackets
            continue
        if tok.type == tokenize.COMMENT:
            clean = False
            continue
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if start is not None and clean and last is not None and last.end[0] == start.start[0]:
                if not (last.type == tokenize.OP and last.string == ":"):
                    out.add(start.start[0] - 1)
            start, clean, last = None, True, None
            continue
        if start is None:
            start = tok
        elif tok.type == tokenize.OP and tok.string == ";":
            clean = False
        if tok.start[0] != tok.end[0]:
            clean = False  # a multi-line string
        last = tok
    return out


def _right_hand_split(stmt: str, indent: int, width: int) -> list[str] | None:
    """Black's right-hand split of ``stmt`` at its last call's parentheses, or None."""
    try:
        toks = [t for t in tokenize.generate_tokens(io.StringIO(stmt).readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)]  # fmt: skip
    except (tokenize.TokenError, SyntaxError):
        return None
    if toks and toks[0].string == "from" and not any(t.string == "(" for t in toks):
        return _exploded_import(stmt)
    if len(toks) < 3 or toks[-1].string != ")" or toks[-1].type != tokenize.OP:
        return None
    depth = 0
    opener = None
    for k in range(len(toks) - 1, -1, -1):
        t = toks[k]
        if t.type != tokenize.OP:
            continue
        if t.string in _CLOSE:
            depth += 1
        elif t.string in _OPEN:
            depth -= 1
            if depth == 0:
                opener = k
                break
    if opener is None or opener == 0:
        return None
    before = toks[opener - 1]
    is_call = (before.type == tokenize.NAME and before.string not in _KEYWORDS) or before.string in (")", "]")
    if not is_call:
        return None  # a parenthesized expression: black's invisible parentheses, another rule
    head = stmt[: toks[opener].end[1]]
    body = stmt[toks[opener].end[1] : toks[-1].start[1]].strip()
    if not body or indent + len(head) > width:
        return None
    inner = indent + 4
    elements = _top_level_commas(body)
    if elements is None:
        return None
    magic = body.endswith(",")
    if not magic and inner + len(body) <= width:
        return [head, "    " + body, ")"]
    items = [e for e in elements if e]
    if len(items) < 2 and not magic:
        return None  # black would split inside the one argument: not this rule
    if any(e.startswith("*") or _is_generator(e) for e in items):
        return None  # black adds no trailing comma after an unpacking on old targets
    if not all(inner + len(e) + 1 <= width for e in items):
        return None
    return [head, *(f"    {e}," for e in items), ")"]


def _exploded_import(stmt: str) -> list[str] | None:
    """``from m import a, b`` too long: black puts the names one a line."""
    head, sep, names = stmt.partition(" import ")
    if not sep or "#" in names:
        return None
    return [f"{head} import (", *(f"    {n.strip()}," for n in names.split(",") if n.strip()), ")"]


_KEYWORDS = frozenset(
    "and as assert async await del elif else except for from if import in is lambda not or "
    "print return while with yield".split()
)


def _top_level_commas(body: str) -> list[str] | None:
    """``body`` split at its top-level commas (None if it can't be tokenized)."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(body).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    parts, depth, begin = [], 0, 0
    for t in toks:
        if t.type == tokenize.NAME and t.string == "lambda" and depth == 0:
            return None  # its parameters' commas are not the call's
        if t.type != tokenize.OP:
            continue
        if t.string in _OPEN:
            depth += 1
        elif t.string in _CLOSE:
            depth -= 1
        elif t.string == "," and depth == 0:
            parts.append(body[begin : t.start[1]].strip())
            begin = t.end[1]
    parts.append(body[begin:].strip())
    return parts


def _is_generator(element: str) -> bool:
    try:
        node = ast.parse(f"f({element})", mode="eval").body
    except SyntaxError:
        return True
    return isinstance(node, ast.Call) and len(node.args) == 1 and isinstance(node.args[0], ast.GeneratorExp)


def _same_ast(before: str, after: str) -> bool:
    try:
        return ast.dump(ast.parse(before)) == ast.dump(ast.parse(after))
    except SyntaxError:
        return False


__all__ = ["refit"]
