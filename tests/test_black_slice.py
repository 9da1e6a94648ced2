"""codemods._black_slice: black over a slice of the file writes what black over the whole file
writes, with the same lines in range (issue 16: the whole file was most of a rewrite's cost).

Each answer is held to the whole file's (``_fit._whole_file``, what lazify ran before): on
real standard-library modules, which black reformats a lot, with seeded choices of statements
in range; and on the layouts where the lines around the range matter.
"""

from __future__ import annotations

import ast
import difflib
import random
import textwrap
from pathlib import Path

import black
import pytest

from codemods._black_slice import _map_back, format_ranges, line_ranges
from codemods._fit import _statement_spans, _whole_file

MODE = black.Mode()


def run(source: str, ranges: list[tuple[int, int]]) -> str | None:
    try:
        return black.format_file_contents(source, fast=False, mode=MODE, lines=ranges)
    except black.NothingChanged:
        return source
    except Exception:
        return None


def both(text: str, allowed: set[int]) -> tuple[str | None, str | None]:
    """The slice's answer (None: it can't answer) and the whole file's (None: left as it is)."""
    sliced = format_ranges(text, ast.parse(text), allowed, run)
    return sliced, _whole_file(text, allowed, run)


def in_range(text: str, allowed: set[int]) -> str | None:
    """What black over the whole file writes on the lines in range (and the blank lines next to
    them), the rest as it is. black also moves blank lines far from the range (above a comment
    block in a class, for one): those changes are left out here. The whole-file step gives up
    on them (``_fit._whole_file``), so the slice writes what it would have written without
    them. None: black changed a line away from the range that is not blank."""
    raw = run(text, line_ranges(allowed))
    assert raw is not None
    lines, done = text.split("\n"), raw.split("\n")
    out = list(lines)
    for tag, i1, i2, j1, j2 in reversed(
        difflib.SequenceMatcher(None, lines, done, autojunk=False).get_opcodes()
    ):
        if tag == "equal":
            continue
        near = {i1 - 1, i1} & allowed if tag == "insert" else set(range(i1, i2)) - allowed
        if (tag == "insert" and near) or (tag != "insert" and not near):
            out[i1:i2] = done[j1:j2]
        elif any(line.strip() for line in lines[i1:i2] + done[j1:j2]):
            return None
    return "\n".join(out)


def agree(text: str, allowed: set[int]) -> bool:
    """Asserts the slice answers as black over the whole file does; True when it answered."""
    sliced = format_ranges(text, ast.parse(text), allowed, run)
    if sliced is None:
        return False
    whole = _whole_file(text, allowed, run)
    if whole is not None:
        assert sliced == whole  # the whole-file step took black's output: the same one
    else:  # it gave up on a change far from the range: the slice writes the rest of black's
        expected = in_range(text, allowed)
        if expected is not None:
            assert sliced == expected
    return True


def spans_of(text: str) -> list[set[int]]:
    """Each statement's lines, as ``_fit`` puts them in range."""
    parsed = _statement_spans(text)
    assert parsed is not None
    tree, spans = parsed
    return sorted(
        {frozenset(spans.around({n.lineno - 1})) for n in ast.walk(tree) if isinstance(n, ast.stmt)}, key=min
    )


REAL = ["textwrap", "calendar", "dataclasses", "configparser", "argparse"]


@pytest.mark.parametrize("name", REAL)
def test_real_modules_come_out_as_black_writes_the_whole_file(name: str) -> None:
    text = Path(__import__(name).__file__).read_text(encoding="utf-8")
    statements = spans_of(text)
    rng = random.Random(name)
    answered = changed = 0
    for _ in range(6):
        allowed = set().union(*rng.sample(statements, rng.randint(1, 3)))
        if agree(text, allowed):
            answered += 1
            changed += format_ranges(text, ast.parse(text), allowed, run) != text
    # Not vacuous: the slice answers most of the time, and black had work in the file.
    assert answered >= 3 and changed >= 1, (answered, changed)


def test_every_multi_line_statement_of_a_module_comes_out_as_from_the_whole_file() -> None:
    text = Path(textwrap.__file__).read_text(encoding="utf-8")
    many = [s for s in spans_of(text) if len(s) > 1]
    assert len(many) > 10
    assert sum(agree(text, set(s)) for s in many) > len(many) // 2


# A long class whose members need the lines around them: blank lines after a def in range,
# the member above, a string statement that is not the class's docstring, the class's end.
LONG_CLASS = (
    'class Config:\n    """The docstring."""\n\n'
    + "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(30))
    + '    "a string statement, not a docstring"\n'
    + "    def target(self):\n        return call(\n            1)\n"
    + "    def after(self): pass\n"
    + "".join(f"    def n{i}(self):\n        return {i}\n\n" for i in range(30))
    + "x = compute(\n  2)\n"
    + "def tail(): pass\ny = 1\n"
)


@pytest.mark.parametrize(
    "needle, answers",
    [
        ("        return call(", True),  # inside a method, inside a long class
        ("    def after(self): pass", True),  # a member below a string statement
        ("x = compute(", True),  # below the class: its end is in the slice
        # black also puts two blank lines above `x`, the statement above: a change at the
        # slice's seam (the class's head, then `x`), so the whole file answers.
        ("def tail(): pass", False),
    ],
)
def test_the_lines_around_the_range_are_the_files(needle: str, answers: bool) -> None:
    lines = LONG_CLASS.split("\n")
    start = next(i for i, line in enumerate(lines) if line == needle)
    allowed = set(range(start, start + (2 if needle.endswith("(") else 1)))
    assert agree(LONG_CLASS, allowed) is answers
    whole = _whole_file(LONG_CLASS, allowed, run)
    assert whole is not None and whole != LONG_CLASS  # black had something to do in each


@pytest.mark.parametrize(
    "source",
    [
        "def f(*args):\n    return g(\n        *args)\n",  # the trailing comma after *args
        "with open(a) as f, open(\n    b) as g:\n    pass\n",  # parenthesized with items
        "# fmt: off\nx = [\n  1]\n",  # a switch anywhere
        "x = f(\n    1)\r\ny = 2\n",  # a lone carriage return
    ],
)
def test_what_depends_on_more_than_the_slice_goes_to_the_whole_file(source: str) -> None:
    text = "\n".join(f"a{i} = {i}" for i in range(60)) + "\n" + source.replace("\r\n", "\n")
    if "\r" in source:
        text = text.replace("x = f(\n", "x = f(\r", 1)
    start = 60
    sliced, _ = both(text, {start, start + 1})
    assert sliced is None


def test_a_change_at_a_seam_is_given_back_to_the_whole_file() -> None:
    lines = ["a = 1", "b = 2", "c = 3", "d = 4"]
    where = [0, 1, 3]  # the slice left out line 2
    piece = [lines[i] for i in where]
    assert _map_back(lines, piece, ["a = 1", "b = 2", "", "d = 4"], where, {1}) is None
    # The same blank line right below the line in range, where the file has it too, is fine.
    assert (
        _map_back(lines, piece, ["a = 1", "", "b = 2", "d = 4"], where, {1})
        == "a = 1\n\nb = 2\nc = 3\nd = 4\n"
    )


MATCH_AND_TRY = """
match x:
    case 1:
        a = 1
    case _:
        try:
            b = 2
        except* E:
            c = 3
        else:
            d = 4
        finally:
            e = 5
for i in y:
    f = lambda: 6
else:
    g = 7
"""


@pytest.mark.parametrize("name", ["MATCH_AND_TRY", *REAL])
def test_refit_walks_the_statements_in_ast_walk_order(name: str) -> None:
    # `_Spans` lets the last of two equal spans win: the order is part of the answer.
    from codemods._fit import _statements

    text = (
        MATCH_AND_TRY
        if name == "MATCH_AND_TRY"
        else Path(__import__(name).__file__).read_text(encoding="utf-8")
    )
    tree = ast.parse(text)
    assert list(_statements(tree)) == [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]
