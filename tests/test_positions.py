"""Findings point at the file the user has, also when an earlier codemod already rewrote it.

Codemods run in registry order, each on the output of the one before; a later codemod's
positions are in that rewritten text, and must be mapped back to the original.
"""

from __future__ import annotations

from pathlib import Path

from conftest import write_tree
from snapshot import run_project

# lazy-singletons (LZY002) runs first and turns line 3 into a getter several lines long, so
# heavy-imports (LZY001) sees the numpy import further down than line 5.
DB = (
    "import sqlite3\n"
    "\n"
    'conn = sqlite3.connect("x.db")  # a comment\n'
    "\n"
    "import numpy as np  # numpy\n"
    "\n"
    "\n"
    "def f():\n"
    '    return np.zeros(1), conn.execute("select 1")\n'
)


def _project(tmp_path: Path, text: str) -> Path:
    return write_tree(
        tmp_path / "p", {"pyproject.toml": "[tool.lazify]\n", "pkg/__init__.py": "", "pkg/db.py": text}
    )


def test_a_later_codemods_finding_is_on_its_original_line(tmp_path: Path) -> None:
    outcome = run_project(_project(tmp_path, DB))
    (result,) = [r for r in outcome.results if r.path == "pkg/db.py"]
    by_code = {c.code: c.finding.span for c in result.changes}
    assert by_code["LZY002"].line == 3
    span = by_code["LZY001"]
    assert (span.line, span.column, span.end_line) == (5, 1, 5)
    assert DB.split("\n")[span.line - 1][span.column - 1 : span.end_column - 1] == "import numpy as np"
    assert result.new_text is not None and "get_conn" in result.new_text
    assert result.new_text.index("import numpy as np") > result.new_text.index("def f():")


def test_a_later_codemod_is_suppressed_on_its_original_line(tmp_path: Path) -> None:
    text = DB.replace("# numpy", "# lazify: ignore[heavy-imports]")
    outcome = run_project(_project(tmp_path, text))
    (result,) = [r for r in outcome.results if r.path == "pkg/db.py"]
    assert [c.code for c in result.changes] == ["LZY002"]
    assert result.new_text is not None and "get_conn" in result.new_text
    assert "\nimport numpy as np  # lazify: ignore[heavy-imports]\n" in result.new_text


# ``SourcePositions`` records token indexes instead of positions; it must agree with LibCST's
# ``PositionProvider`` on every node, whatever the file looks like.
TRICKY = {
    "header comments and blank lines": "#!/usr/bin/env python\n# a comment\n\n\nimport os\n",
    "crlf": "import os\r\n\r\n\r\ndef f(a,\r\n      b):\r\n    return os.sep  # c\r\n",
    "cr only": "import os\rx = 1\rdef f():\r    return x\r",
    "no final newline": "x = 1\ndef f():\n    return [x,\n        2]",
    "semicolons and continuations": "a = 1; b = 2\nc = (a +\n     b) \\\n    + 3\n",
    "nested blocks": (
        "class C:\n    '''doc\n    more'''\n\n    @property\n    def p(self):\n"
        "        if self:\n            return {'k': [1, 2]}\n        else:\n            pass\n"
    ),
    "strings spanning lines": 'x = """\na\nb\n"""\ny = f"{x!r}"\n',
    "trailing comment in footer": "x = 1\n# footer\n\n",
    "empty": "",
}


def _assert_same_positions(source: str) -> None:
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from codemods._positions import SourcePositions

    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    positions = SourcePositions(module)
    assert expected, source
    for node, where in expected.items():
        assert positions[node] == where, (type(node).__name__, source[:60])


def test_source_positions_agree_with_position_provider_on_tricky_files() -> None:
    for source in TRICKY.values():
        _assert_same_positions(source)


def test_source_positions_agree_with_position_provider_on_real_files() -> None:
    import contextlib
    import textwrap

    for mod in (contextlib, textwrap):
        _assert_same_positions(Path(mod.__file__).read_text(encoding="utf-8"))


def _assert_same_code(source: str) -> int:
    """The code ``SourcePositions`` hands out from its one code generation is LibCST's: the
    module's (the engine's round-trip check), each child's, and an edit's (which copies the
    children it shares with the module). Returns how many edits it compared."""
    import libcst as cst

    from codemods._positions import SourcePositions

    module = cst.parse_module(source)
    positions = SourcePositions(module)
    assert positions.code == module.code  # (LibCST does not round-trip a file of bare \r)
    for stmt in [*module.header, *module.body, *module.footer]:
        assert positions.statement_code(stmt) == module.code_for_node(stmt)
    body = list(module.body)
    edits = [module, module.with_changes(body=[]), module.with_changes(has_trailing_newline=False)]
    if body:
        replaced = [*body[:-1], cst.parse_statement("zz = 1\n")]
        edits += [module.with_changes(body=replaced), module.with_changes(body=[*body, *body[:1]])]
        edits.append(module.with_changes(body=body[1:], has_trailing_newline=not module.has_trailing_newline))
    for new in edits:
        assert positions.code_of(new) == new.code, source[:60]
    return len(edits)


def test_source_positions_give_libcst_code_for_the_module_its_statements_and_edits() -> None:
    import contextlib
    import textwrap

    sources = [
        *TRICKY.values(),
        *(Path(m.__file__).read_text(encoding="utf-8") for m in (contextlib, textwrap)),
    ]
    assert sum(_assert_same_code(s) for s in sources) > 40
