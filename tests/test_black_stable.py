"""What lazify writes is already black-formatted: a black-formatted project stays formatted.

Each fixture is first formatted with black (the fixture files themselves are written compactly),
then rewritten by its codemod; black must leave every rewritten file exactly as lazify wrote it.
Black runs in-process through its API (the same code as ``black --check``), with its defaults.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import black
import pytest
from snapshot import FIXTURES, materialize, run_project

from codemods import REGISTRY

MODE = black.Mode()


def _black(text: str) -> str | None:
    """The text as black formats it; None when black can't parse it (newer syntax)."""
    try:
        return black.format_str(text, mode=MODE)
    except (black.parsing.InvalidInput, ValueError):
        return None


CASES = [
    pytest.param(cls, path, id=f"{cls.name}/{path.stem}")
    for cls in REGISTRY
    for path in sorted((FIXTURES / cls.name.replace("-", "_")).iterdir())
    if path.suffix == ".py" or path.is_dir()
]


@pytest.mark.parametrize(("cls", "fixture"), CASES)
def test_black_leaves_lazify_output_of_formatted_input_unchanged(
    cls: type, fixture: Path, tmp_path: Path
) -> None:
    project = materialize(fixture, tmp_path)
    formatted = set()
    for f in sorted(project.rglob("*.py")):
        text = f.read_text(encoding="utf-8")
        out = _black(text)
        if out is not None:
            f.write_text(out, encoding="utf-8", newline="")
            formatted.add(f.relative_to(project).as_posix())
    outcome = run_project(project, (cls.name,))
    for r in outcome.results:
        if not r.changed or r.path not in formatted:
            continue
        assert r.new_text is not None
        again = _black(r.new_text)
        assert again is not None, f"{r.path}: black can't parse lazify's output"
        diff = "".join(
            difflib.unified_diff(r.new_text.splitlines(True), again.splitlines(True), "lazify", "black")
        )
        assert again == r.new_text, f"{r.path}: black would reformat lazify's output:\n{diff}"


PARENTHESIZED = {
    "middle alias moves, trailing comma stays": "from numpy import (\n    zeros,\n    ones,\n    empty,\n)\n",
    "last alias moves, trailing comma stays": "from numpy import (\n    zeros,\n    empty,\n    ones,\n)\n",
    "comments stay with their aliases": (
        "from numpy import (\n    zeros,  # the zeros\n    empty,  # the empty\n    ones,  # the ones\n)\n"
    ),
}


@pytest.mark.parametrize("imports", list(PARENTHESIZED.values()), ids=list(PARENTHESIZED))
def test_a_parenthesized_import_losing_an_alias_stays_formatted(imports: str) -> None:
    from codemods._api import ProjectView, Settings
    from lazifier.transform import Policy, transform

    source = imports + "\nX = zeros(3)\nY = empty(3)\n\n\ndef f():\n    return ones(2)\n"
    assert _black(source) == source
    result = transform(
        source,
        "m.py",
        "m",
        Settings(heavy_modules=frozenset({"numpy"})),
        ("LZY001",),
        ProjectView("m"),
        Policy(),
    )
    assert result.error is None and result.new_text is not None
    assert _black(result.new_text) == result.new_text, result.new_text
    kept = [line for line in imports.splitlines() if "ones" not in line]
    assert result.new_text.startswith("\n".join(kept) + "\n"), result.new_text


def test_a_moved_value_with_a_multiline_string_is_reindented_around_it(tmp_path: Path) -> None:
    """The call's continuation lines move with it; the string's own lines stay as they are."""
    source = (
        "import sqlite3\n\n"
        'conn = sqlite3.connect(\n    """file:app.db\n?mode=ro""",\n    uri=True,\n)\n\n\n'
        'def count():\n    return conn.execute("select 1").fetchone()\n'
    )
    assert _black(source) == source
    (tmp_path / "pyproject.toml").write_text("[tool.lazify]\n")
    (tmp_path / "m.py").write_text(source)
    outcome = run_project(tmp_path, ("lazy-singletons",))
    (result,) = [r for r in outcome.results if r.changed]
    assert result.new_text is not None
    assert _black(result.new_text) == result.new_text, result.new_text
    assert '"""file:app.db\n?mode=ro"""' in result.new_text


def test_a_moved_from_import_too_long_for_its_new_depth_is_exploded() -> None:
    from codemods._api import ProjectView, Settings
    from lazifier.transform import Policy, transform

    source = (
        "from numpy import arange, asarray, concatenate, empty, full, linspace, ones, stack\n\n\n"
        "class A:\n    def method(self):\n"
        "        return ones, empty, full, arange, linspace, concatenate, stack, asarray\n"
    )
    assert _black(source) == source
    result = transform(
        source,
        "m.py",
        "m",
        Settings(heavy_modules=frozenset({"numpy"})),
        ("LZY001",),
        ProjectView("m"),
        Policy(),
    )
    assert result.error is None and result.new_text is not None
    assert "        from numpy import (\n            arange,\n" in result.new_text
    assert _black(result.new_text) == result.new_text, result.new_text


@pytest.mark.parametrize(
    ("prelude", "value"),
    [
        ("import sqlite3", 'sqlite3.connect("file:/var/lib/service/app.db?mode=rwc", uri=True, timeout=5)'),
        (
            "class Svc:\n    def __init__(self, *args, **kwargs):\n        self.args = args",
            'Svc("file:/srv/data/service/app.db", "readonly", timeout=5, check_same_thread=0)',
        ),
    ],
    ids=["arguments-on-one-line", "one-argument-a-line"],
)
def test_a_value_that_fits_at_module_level_is_split_as_black_splits_it_in_the_getter(
    tmp_path: Path, prelude: str, value: str
) -> None:
    source = _black(f"{prelude}\n\nconn = {value}\n\n\ndef count():\n    return conn\n")
    assert source is not None and f"conn = {value}\n" in source, "the input must keep the value on one line"
    (tmp_path / "pyproject.toml").write_text("[tool.lazify]\n")
    (tmp_path / "m.py").write_text(source)
    (result,) = [r for r in run_project(tmp_path, ("lazy-singletons",)).results if r.changed]
    assert result.new_text is not None
    assert _black(result.new_text) == result.new_text, result.new_text


def test_two_import_groups_moved_away_leave_one_gap() -> None:
    from codemods._api import ProjectView, Settings
    from lazifier.transform import Policy, transform

    source = (
        '"""Doc."""\n\nfrom __future__ import annotations\n\nimport numpy\n\nfrom PIL import Image\n\n'
        "X = 1\n\n\ndef f():\n    return numpy, Image\n"
    )
    assert _black(source) == source
    result = transform(
        source,
        "m.py",
        "m",
        Settings(heavy_modules=frozenset({"numpy", "PIL"})),
        ("LZY001",),
        ProjectView("m"),
        Policy(),
    )
    assert result.error is None and result.new_text is not None
    assert _black(result.new_text) == result.new_text, result.new_text


def test_imports_under_type_checking_count_the_block_indent() -> None:
    from codemods._api import ProjectView, Settings
    from lazifier.transform import Policy, transform

    source = (
        "from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError\n\n\n"
        "def f(a: RequestValidationError, b: WebSocketRequestValidationError) -> None:\n    pass\n"
    )
    assert _black(source) == source
    result = transform(
        source,
        "m.py",
        "m",
        Settings(heavy_modules=frozenset({"fastapi"})),
        ("LZY001",),
        ProjectView("m"),
        Policy(),
    )
    assert result.error is None and result.new_text is not None
    assert _black(result.new_text) == result.new_text, result.new_text


SIGNATURES = {
    "parameters on a line of their own": (
        "from typing import Any\n\n\n"
        "def deep_dict_update(main_dict: dict[Any, Any], update_dict: dict[Any, Any]) -> None:\n    pass\n"
    ),
    "one parameter a line": (
        "from starlette.types import ASGIApp, Receive, Scope, Send\n\n\nclass T:\n"
        "    async def lifespan(\n        self, *, config: int, app: ASGIApp, scope: Scope, receive: Receive, send: Send\n"
        "    ) -> None:\n        pass\n"
    ),
}


@pytest.mark.parametrize("source", list(SIGNATURES.values()), ids=list(SIGNATURES))
def test_a_signature_pushed_past_the_line_length_by_quoting_is_split_as_black_splits_it(source: str) -> None:
    from codemods._api import ProjectView, Settings
    from lazifier.transform import Policy, transform

    assert _black(source) == source
    settings = Settings(heavy_modules=frozenset({"typing", "starlette"}))
    result = transform(source, "m.py", "m", settings, ("LZY001",), ProjectView("m"), Policy())
    assert result.error is None and result.new_text is not None
    assert '"' in result.new_text  # the annotations were quoted
    assert _black(result.new_text) == result.new_text, result.new_text


def test_a_reader_import_keeps_its_trailing_comma_when_the_name_becomes_the_getter(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/db.py": "class Engine:\n    pass\n\n\nengine = Engine()\n",
        "pkg/use.py": (
            "from pkg.db import (\n    Engine,\n    engine,\n)\n\n\ndef current() -> Engine:\n    return engine\n"
        ),
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        assert _black(text) == text
        (tmp_path / rel).write_text(text)
    (tmp_path / "pyproject.toml").write_text("[tool.lazify]\n")
    outcome = run_project(tmp_path, ("lazy-singletons",))
    (use,) = [r for r in outcome.results if r.changed and r.path.endswith("use.py")]
    assert use.new_text is not None and "    get_engine,\n)" in use.new_text, use.new_text
    assert _black(use.new_text) == use.new_text, use.new_text


def test_a_value_split_at_module_level_is_split_again_when_its_arguments_no_longer_fit(
    tmp_path: Path,
) -> None:
    source = _black(
        "class Svc:\n    def __init__(self, *args, **kwargs):\n        self.args = args\n\n\n"
        'conn = Svc("GEOSWKTWriter_getOutputDimension", argtypes=["WKT_WRITE_PTR"], restype="c_int")\n\n\n'
        "def count():\n    return conn\n"
    )
    assert source is not None and 'conn = Svc(\n    "GEOSWKTWriter' in source
    (tmp_path / "pyproject.toml").write_text("[tool.lazify]\n")
    (tmp_path / "m.py").write_text(source)
    (result,) = [r for r in run_project(tmp_path, ("lazy-singletons",)).results if r.changed]
    assert result.new_text is not None
    assert _black(result.new_text) == result.new_text, result.new_text


def _heavy(
    source: str, heavy: set[str], *, unsafe: bool = False, codes: tuple[str, ...] = ("LZY001",)
) -> str:
    from codemods._api import ProjectView, Settings
    from lazifier.transform import Policy, transform

    assert _black(source) == source, "the case must start black-clean"
    result = transform(
        source,
        "m.py",
        "m",
        Settings(heavy_modules=frozenset(heavy)),
        codes,
        ProjectView("m"),
        Policy(unsafe_fixes=unsafe),
    )
    assert result.error is None and result.new_text is not None
    return result.new_text


# Seen in the django sweep (issue 10), each black-clean before the rewrite and not after.
def test_an_import_added_above_a_comment_gets_black_s_blank_line() -> None:
    source = (
        "import unicodedata\n\n\ndef f(x):\n"
        '    """Doc."""\n    # About the next import.\n    from os import path\n\n    return unicodedata.name(x), path\n'
    )
    new = _heavy(source, {"unicodedata"})
    assert "    import unicodedata\n\n    # About the next import.\n" in new, new
    assert _black(new) == new, new


def test_imports_removed_below_the_opening_comment_leave_two_blank_lines() -> None:
    source = "# A comment that opens the module.\n\nimport warnings\n\nfrom json import dumps\n\n\ndef f():\n    warnings.warn(dumps(1))\n"
    new = _heavy(source, {"warnings", "json"})
    assert new.startswith("# A comment that opens the module.\n\n\ndef f():\n"), new
    assert _black(new) == new, new


def test_two_optional_import_flags_in_a_row_are_two_lines_apart() -> None:
    source = (
        "try:\n    import bz2\n\n    has_bz2 = True\nexcept ImportError:\n    has_bz2 = False\n\n"
        "try:\n    import lzma\n\n    has_lzma = True\nexcept ImportError:\n    has_lzma = False\n\n\n"
        "def f():\n    return has_bz2, has_lzma\n"
    )
    new = _heavy(source, {"bz2", "lzma"})
    assert "    return has_bz2\n\n\nhas_lzma: bool\n" in new, new
    assert _black(new) == new, new
