"""lazify starts fast (issue 14): the commands that only print (``--version``, ``--help``,
``codemods``, ``explain``) import no LibCST, and what they show is read from the codemods'
source (:mod:`codemods.catalog`), which must agree with the imported classes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from codemods import BY_CODE, REGISTRY
from codemods.catalog import entries, find
from lazifier.docs import doc_of
from lazifier.settings import CONFIG_KEYS, choices

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import contextlib, io, json, sys
sys.argv = ["lazify", *json.loads(sys.argv[1])]
from lazifier.cli import main
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main()
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "out": out.getvalue(),
                  "heavy": sorted(m for m in sys.modules if m == "libcst" or m.startswith("libcst."))}))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["--help"],
        ["apply", "--help"],
        ["doctor", "--help"],
        ["codemods"],
        ["explain", "LZY002"],
    ],
    ids=" ".join,
)
def test_printing_commands_import_no_libcst(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["code"] in (0, None), result
    assert result["out"].strip()  # it did print what it is for
    assert result["heavy"] == [], f"`lazify {' '.join(argv)}` imported {result['heavy'][:3]}"


@pytest.mark.slow
def test_a_run_answered_from_the_cache_imports_no_libcst(tmp_path: Path) -> None:
    """Issue 16: the second dry run of an unchanged project takes every result from the cache,
    so it needs no syntax tree, and LibCST is never imported; the first run needed one."""
    (tmp_path / "pyproject.toml").write_text("[tool.lazify]\n")
    (tmp_path / "svc.py").write_text("import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n")
    (tmp_path / "plain.py").write_text("import os\n\nX = os.sep\n")
    probe = (
        "import json, sys\nfrom lazifier.cli import main\ncode = main(['apply', '--dry-run', '.'])\n"
        "sys.stdout.flush()\nheavy = sorted(m for m in sys.modules if m.split('.')[0] == 'libcst')\n"
        "print(json.dumps({'code': code, 'heavy': heavy}), file=sys.stderr)\n"
    )
    runs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=60
        )
        runs.append({**json.loads(done.stderr.splitlines()[-1]), "out": done.stdout})
    assert runs[1]["heavy"] == [], f"the warm run imported {runs[1]['heavy'][:3]}"


def test_the_catalogue_agrees_with_the_classes() -> None:
    assert [e.code for e in entries()] == [cls.code for cls in BY_CODE]
    for entry, cls in zip(entries(), BY_CODE):
        assert (entry.code, entry.name, entry.summary) == (cls.code, cls.name, cls.summary)
        assert entry.doc == cls.__doc__
        assert doc_of(entry) == doc_of(cls)
    assert {find(c.name) for c in REGISTRY} == set(entries())
    assert find("lzy001") == find("heavy-imports") and find("nope") is None


@pytest.mark.slow
def test_explain_prints_the_documentation_as_the_review_and_sarif_read_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lazifier", "explain", "app-factory"], capture_output=True, text=True, cwd=ROOT
    )
    cls = next(c for c in REGISTRY if c.name == "app-factory")
    assert done.returncode == 0 and done.stdout.startswith(doc_of(cls).markdown())
    assert doc_of(cls).first_paragraph("Why is this bad?")
    assert doc_of(cls).what_it_does() != doc_of(cls).first


def test_the_readme_configuration_block_is_the_declared_settings() -> None:
    """Every ``[tool.lazify]`` key is in the README's example, and the choices it names are the
    ones the settings declare (they are derived from the types, as the CLI's are)."""
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("### Configuration") :]
    block = block[block.index("```toml") : block.index("```", block.index("```toml") + 3)]
    shown = re.findall(r"(?m)^([a-z-]+) =", block)
    assert sorted(shown) == sorted(CONFIG_KEYS)
    for key in ("style", "module-app"):
        line = next(line for line in block.splitlines() if line.startswith(f"{key} ="))
        assert line.rstrip().endswith(" | ".join(choices(key))), line


@pytest.mark.slow
def test_the_codemods_work_without_libcst_matchers() -> None:
    """Issue 16: every worker imports what the codemods use; ``libcst.matchers`` alone cost a
    worker a fifth of a second, so no codemod imports it. The bundled example app exercises
    all four codemods."""
    probe = (
        "import json, sys\nfrom pathlib import Path\nfrom lazifier.settings import load_settings\n"
        "from lazifier.engine import Engine\nfrom lazifier.transform import Policy\n"
        "root = Path('examples/app').resolve()\ns = load_settings([root], {})\n"
        "o = Engine(s, [root], jobs=1, use_cache=False, isolate=False).run(Policy(unsafe_fixes=True))\n"
        "codes = sorted({c.code for r in o.results for c in r.changes})\n"
        "print(json.dumps({'codes': codes, 'matchers': 'libcst.matchers' in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"codes": ["LZY001", "LZY002", "LZY003", "LZY004"], "matchers": False}


@pytest.mark.parametrize(
    "test",
    [
        '__name__ == "__main__"',
        "__name__ == '__main__'",
        '(__name__) == "__main__"',
        '__name__ == "main"',
        '"__main__" == __name__',
        '__name__ != "__main__"',
        '__name__ == "__main__" == x',
        "__name__ == x",
        '__name__ is "__main__"',
        'name == "__main__"',
        'm.__name__ == "__main__"',
        '__name__ == f"__main__"',
        '__name__ == "__main__" and x',
        'not __name__ == "__main__"',
        '__name__ == b"__main__"',
    ],
)
def test_the_main_guard_is_what_the_matcher_said(test: str) -> None:
    """``is_main_guard`` gives the answer of the ``libcst.matchers`` pattern it replaced."""
    import libcst as cst
    from libcst import matchers as m

    from codemods._cst import is_main_guard

    stmt = cst.parse_statement(f"if {test}:\n    pass\n")
    assert isinstance(stmt, cst.If)
    pattern = m.Comparison(
        left=m.Name("__name__"), comparisons=[m.ComparisonTarget(m.Equal(), m.SimpleString())]
    )
    expected = m.matches(stmt.test, pattern) and "__main__" in stmt.test.comparisons[0].comparator.value
    assert is_main_guard(stmt) == expected
