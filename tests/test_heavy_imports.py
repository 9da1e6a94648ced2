"""heavy-imports edge cases: small (source, expected) pairs and inputs that must not change,
through the pure transform (no I/O)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from codemods._api import Location, ProjectView, Settings
from codemods.heavy_imports import _prefilter, imports_one
from codemods.options import DEFAULT_HEAVY_MODULES
from lazifier.transform import Policy, transform

SETTINGS = Settings(heavy_modules=frozenset(DEFAULT_HEAVY_MODULES), target_version=(3, 10))


def run(src: str, *, view: ProjectView | None = None, unsafe: bool = False, **kw: object):
    settings = Settings(**{**SETTINGS.__dict__, **kw})  # type: ignore[arg-type]
    result = transform(
        textwrap.dedent(src),
        "m.py",
        "m",
        settings,
        ("LZY001",),
        view or ProjectView("m"),
        Policy(unsafe_fixes=unsafe),
    )
    assert result.error is None, result.error
    return result


def rewrite(src: str, **kw: object) -> str:
    result = run(src, **kw)
    return result.new_text if result.new_text is not None else textwrap.dedent(src)


CASES = {
    "nested function reuses the enclosing import": (
        """\
        import numpy as np
        def f():
            def g():
                return np.ones(1)
            return np.zeros(1), g
        """,
        """\
        def f():
            import numpy as np

            def g():
                return np.ones(1)
            return np.zeros(1), g
        """,
    ),
    "only the nested function uses it": (
        """\
        import numpy as np
        def f():
            def g():
                return np.ones(1)
            return g
        """,
        """\
        def f():
            def g():
                import numpy as np

                return np.ones(1)
            return g
        """,
    ),
    "lambda inside a function": (
        """\
        import numpy as np
        def f(xs):
            return sorted(xs, key=lambda x: np.abs(x))
        """,
        """\
        def f(xs):
            import numpy as np

            return sorted(xs, key=lambda x: np.abs(x))
        """,
    ),
    "comprehension and class body inside a function": (
        """\
        import numpy as np
        def f():
            class Local:
                zero = np.zeros(1)
            return [np.ones(i) for i in range(2)], Local
        """,
        """\
        def f():
            import numpy as np

            class Local:
                zero = np.zeros(1)
            return [np.ones(i) for i in range(2)], Local
        """,
    ),
    "decorated function body (the decorator itself is cheap)": (
        """\
        import functools
        import numpy as np
        @functools.lru_cache
        def f():
            return np.zeros(1)
        """,
        """\
        import functools
        @functools.lru_cache
        def f():
            import numpy as np

            return np.zeros(1)
        """,
    ),
    "one statement, two heavy names, partially used": (
        """\
        import os, numpy as np, pandas as pd
        def f():
            return np.zeros(1), os.sep
        def g():
            return pd.DataFrame()
        """,
        """\
        import os
        def f():
            import numpy as np

            return np.zeros(1), os.sep
        def g():
            import pandas as pd

            return pd.DataFrame()
        """,
    ),
    "parenthesized from-import keeps the rest": (
        """\
        from PIL import (
            Image,
            ImageOps,
        )
        X = ImageOps
        def f():
            return Image.new("RGB", (1, 1))
        """,
        """\
        from PIL import ImageOps
        X = ImageOps
        def f():
            from PIL import Image

            return Image.new("RGB", (1, 1))
        """,
    ),
    "docstring stays first, comment above the body stays above it": (
        '''\
        import numpy as np
        def f():
            """Doc."""
            # compute
            return np.zeros(1)
        ''',
        '''\
        def f():
            """Doc."""
            import numpy as np

            # compute
            return np.zeros(1)
        ''',
    ),
    "comment above a removed import is kept": (
        """\
        import os
        # numerics
        import numpy as np
        X = os.sep
        def f():
            return np.zeros(1)
        """,
        """\
        import os
        # numerics
        X = os.sep
        def f():
            import numpy as np

            return np.zeros(1)
        """,
    ),
    "existing TYPE_CHECKING block is reused": (
        """\
        from typing import TYPE_CHECKING
        import numpy as np
        if TYPE_CHECKING:
            import os
        def f(x: np.ndarray) -> None:
            pass
        """,
        """\
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            import os

            import numpy as np
        def f(x: "np.ndarray") -> None:
            pass
        """,
    ),
    "import typing spelled as typing.TYPE_CHECKING": (
        """\
        import typing
        import numpy as np
        def f(x: np.ndarray) -> int:
            return int(np.sum(x))
        """,
        """\
        import typing

        if typing.TYPE_CHECKING:
            import numpy as np
        def f(x: "np.ndarray") -> int:
            import numpy as np

            return int(np.sum(x))
        """,
    ),
    "annotation with a string literal inside gets the other quote": (
        """\
        from typing import Literal
        import numpy as np
        def f(x: "np.ndarray", mode: Literal["a"]) -> np.dtype[Literal["b"]]:
            return x.dtype
        """,
        """\
        from typing import TYPE_CHECKING, Literal

        if TYPE_CHECKING:
            import numpy as np
        def f(x: "np.ndarray", mode: Literal["a"]) -> 'np.dtype[Literal["b"]]':
            return x.dtype
        """,
    ),
    "target 3.14 defers annotations: nothing is quoted": (
        """\
        import numpy as np
        def f(x: np.ndarray) -> np.ndarray:
            return np.abs(x)
        """,
        """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            import numpy as np


        def f(x: np.ndarray) -> np.ndarray:
            import numpy as np

            return np.abs(x)
        """,
    ),
    "methods of a plain subclass of a plain local class are safe": (
        """\
        import numpy as np
        class Base:
            pass
        class Child(Base):
            def f(self, x: np.ndarray) -> None:
                pass
        """,
        """\
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            import numpy as np


        class Base:
            pass
        class Child(Base):
            def f(self, x: "np.ndarray") -> None:
                pass
        """,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rewrite(name: str) -> None:
    src, expected = CASES[name]
    kw = {"target_version": (3, 14)} if "3.14" in name else {}
    assert rewrite(src, **kw) == textwrap.dedent(expected)


UNCHANGED = {
    "no heavy import": "import os\ndef f():\n    return os.sep\n",
    "already local": "def f():\n    import numpy as np\n    return np.zeros(1)\n",
    "type-checking only": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import numpy as np\n",
    "relative import named like a heavy module": "from . import numpy\ndef f():\n    return numpy.x\n",
    "module-level use": "import numpy as np\nX = np.float64\ndef f():\n    return np.zeros(1)\n",
    "used in a default": "import numpy as np\ndef f(x=np.pi):\n    return x\n",
    "used in a decorator argument": "import numpy as np\nimport functools\n@functools.lru_cache(maxsize=np.int8(3))\ndef f():\n    return 1\n",
    "used in a class body": "import numpy as np\nclass C:\n    dtype = np.float64\n",
    "used as a base class": "import numpy as np\nclass A(np.ndarray):\n    pass\n",
    "global declaration": "import numpy as np\ndef f():\n    global np\n    return np\n",
    "rebound": "import numpy as np\ndef f():\n    return np.zeros(1)\nnp = None\n",
    "in __all__": "import numpy as np\n__all__ = ['np']\ndef f():\n    return np.zeros(1)\n",
    "computed __all__": "import numpy as np\n__all__ = ['f'] + []\ndef f():\n    return np.zeros(1)\n",
    "module-level lambda": "import numpy as np\nf = lambda: np.zeros(1)\n",
    "module-level comprehension": "import numpy as np\nXS = [np.zeros(i) for i in range(2)]\n",
    "unused (unsafe, not enabled)": "import torch\n",
    "dotted import (unsafe, not enabled)": "import torch.nn\ndef f():\n    return torch.nn.Linear\n",
    "FastAPI route annotation (unsafe)": "import numpy as np\nfrom fastapi import APIRouter\nr = APIRouter()\n@r.get('/')\ndef f(x: np.ndarray):\n    return x\n",
    "pydantic model field (unsafe)": "import numpy as np\nfrom pydantic import BaseModel\nclass M(BaseModel):\n    x: np.ndarray\n",
    "dependency passed to Depends (unsafe)": "import numpy as np\nfrom fastapi import Depends\ndef dep(x: np.ndarray):\n    return x\ndef route(d=Depends(dep)):\n    return d\n",
    "suppressed": "import numpy as np  # lazify: ignore\ndef f():\n    return np.zeros(1)\n",
    "conditional": "import sys\nif sys.version_info > (3,):\n    import numpy as np\ndef f():\n    return np.zeros(1)\n",
    "try without flag": "try:\n    import numpy as np\nexcept ImportError:\n    np = None\ndef f():\n    return np\n",
    "flag read at module level": "try:\n    import torch\n    T = True\nexcept ImportError:\n    T = False\nif T:\n    pass\n",
    "user-defined __getattr__ blocks the flag": "try:\n    import torch\n    T = True\nexcept ImportError:\n    T = False\ndef __getattr__(name):\n    raise AttributeError(name)\ndef f():\n    return T\n",
    "flag with finally": "try:\n    import torch\n    T = True\nexcept ImportError:\n    T = False\nfinally:\n    pass\ndef f():\n    return T\n",
    "except binds the error": "try:\n    import torch\n    T = True\nexcept ImportError as e:\n    T = False\ndef f():\n    return T\n",
    "except catches more than import errors": "try:\n    import torch\n    T = True\nexcept (ImportError, KeyError):\n    T = False\ndef f():\n    return T\n",
}


@pytest.mark.parametrize("name", list(UNCHANGED))
def test_unchanged(name: str) -> None:
    src = UNCHANGED[name]
    assert rewrite(src) == src


def test_blocked_findings_name_the_blocking_line() -> None:
    result = run("import numpy as np\n\n\nX = np.float64\n")
    (change,) = result.changes
    assert change.finding.blocked
    assert change.finding.span.line == 1
    assert "line 4" in change.finding.message
    assert change.finding.related[0][0].line == 4


def test_an_unsafe_fix_gives_its_reasons_in_their_own_field() -> None:
    (change,) = run("import numpy\n").changes
    assert change.finding.safety is not None and change.finding.safety.value == "unsafe"
    assert [note for _, note in change.finding.unsafe_because] == [
        "the import would never happen, not just later"
    ]
    assert change.finding.related == ()
    (safe,) = run("import numpy as np\n\n\ndef f():\n    return np.e\n").changes
    assert safe.finding.unsafe_because == ()


def test_the_first_blocking_use_in_the_file_is_the_one_reported() -> None:
    # Scope analysis keeps assignments and accesses in sets (memory order); the report must
    # name the first in the file, on every run, whatever the memory layout.
    others = "".join(f"import numpy.m{i}\n" for i in range(12))
    result = run("import numpy.linalg\n" + others + "\n\ndef f():\n    return numpy.linalg\n")
    first = next(c for c in result.changes if c.finding.span.line == 1)
    assert first.finding.blocked
    assert "rebound on line 2" in first.finding.message
    assert first.finding.related[0][0].line == 2
    used_first = run("import numpy as np\n\n" + "".join(f"X{i} = np.e\n" for i in range(12)))
    (change,) = used_first.changes
    assert "line 3" in change.finding.message


@pytest.mark.parametrize(
    ("view", "reason"),
    [
        (ProjectView("m", star_imported_by=(Location("other.py", 3),)), "star-imports this module"),
        (ProjectView("m", external_refs={"np": ((Location("t.py", 5), "`m.np` is imported"),)}), "t.py:5"),
        (
            ProjectView("m", external_refs={"np": ((Location("t.py", 9), 'named in the string "m.np"'),)}),
            "named in the string",
        ),
    ],
    ids=["star-import", "imported-elsewhere", "dotted-string"],
)
def test_cross_module_facts_block(view: ProjectView, reason: str) -> None:
    src = "import numpy as np\ndef f():\n    return np.zeros(1)\n"
    result = run(src, view=view)
    assert result.new_text is None
    assert reason in result.changes[0].finding.message


def test_annotation_readers_elsewhere_make_it_unsafe() -> None:
    src = "import numpy as np\ndef f(x: np.ndarray) -> None:\n    pass\n"
    safe = run(src)
    assert safe.changes[0].finding.safety.value == "safe"
    read = run(src, view=ProjectView("m", annotation_readers=frozenset({"f"})))
    assert read.changes[0].finding.safety.value == "unsafe"
    assert read.new_text is None
    assert run(src, view=ProjectView("m", annotation_readers=frozenset({"f"})), unsafe=True).new_text


def test_unsafe_fixes_apply_when_enabled() -> None:
    assert rewrite("import torch\nimport os\n", unsafe=True) == "import os\n"


def test_star_import_of_a_heavy_module_is_blocked() -> None:
    result = run("from numpy import *\ndef f():\n    return zeros(1)\n")
    assert result.changes[0].finding.blocked


def test_lazy_keyword_marks_imports_lazy() -> None:
    out = rewrite(
        "import numpy as np\ndef f():\n    return np.zeros(1)\n", style="lazy-keyword", target_version=(3, 15)
    )
    assert out.startswith("lazy import numpy as np\n")


def test_lazy_modules_lists_modules() -> None:
    out = rewrite(
        '"""Doc."""\nimport numpy as np\nfrom PIL import Image\ndef f():\n    return np, Image\n',
        style="lazy-modules",
    )
    assert '__lazy_modules__ = ["numpy", "PIL"]\n' in out
    assert out.index("__lazy_modules__") < out.index("import numpy")


def test_lazy_modules_extends_an_existing_list() -> None:
    out = rewrite(
        '__lazy_modules__ = ["json"]\nimport numpy as np\ndef f():\n    return np\n', style="lazy-modules"
    )
    assert out.startswith('__lazy_modules__ = ["json", "numpy"]\n')


def test_python_310_cannot_parse_modern_syntax_but_lazify_can() -> None:
    src = "type V = list[float]\nimport numpy as np\ndef f():\n    match 1:\n        case _:\n            return np.zeros(1)\n"
    out = rewrite(src, target_version=(3, 12))
    assert (
        out
        == "type V = list[float]\ndef f():\n    import numpy as np\n\n    match 1:\n        case _:\n            return np.zeros(1)\n"
    )


def test_safety_does_not_leak_between_bindings() -> None:
    """Risks were keyed on id(binding): a blocked binding's id, reused by the next one, made a
    safe fix unsafe at random (seen on the stdlib's test_ast.py)."""
    src = (
        "import unittest\nimport json\nimport re\n"
        "class T(unittest.TestCase):\n    def m(self, x: json.JSONDecoder):\n        pass\n"
        "DUMP = json.dumps\n"
        "def f():\n    return re.compile('x')\n"
    )
    for _ in range(20):
        result = run(src, heavy_modules=frozenset({"json", "re"}))
        (fix,) = [c for c in result.changes if not c.finding.blocked]
        assert fix.finding.safety.value == "safe"
        assert result.new_text is not None


def test_computed_all_message_names_the_binding() -> None:
    result = run("import numpy as np\n__all__ = ['f'] + []\ndef f():\n    return np.zeros(1)\n")
    assert "`np` may be re-exported" in result.changes[0].finding.message


def test_a_future_import_is_never_heavy() -> None:
    """`from __future__ import ...` is a directive to the compiler, not an import to defer or
    remove, even when a configuration names `__future__`."""
    src = "from __future__ import annotations\n\nimport os\n\n\ndef f():\n    return os\n"
    out = rewrite(src, heavy_modules=frozenset({"__future__", "os"}), unsafe=True)
    assert out.startswith("from __future__ import annotations\n"), out


def test_one_statement_is_one_finding_and_one_decision() -> None:
    """Issue 15 #7: `from langdetect import detect, LangDetectException` gave two identical
    findings, one per name, and two decisions in the review for one line."""
    src = """\
        from langdetect import detect, LangDetectException


        def f(text):
            try:
                return detect(text)
            except LangDetectException:
                return None
        """
    result = run(src, heavy_modules=frozenset({"langdetect"}))
    (change,) = result.changes
    assert (
        change.applied
        and change.finding.help == "Move `from langdetect import detect, LangDetectException` into `f()`"
    )
    assert "    from langdetect import detect, LangDetectException\n" in (result.new_text or "")
    # Names with different fates stay apart: one is used at module level.
    mixed = run(textwrap.dedent(src) + "\n\nX = detect\n", heavy_modules=frozenset({"langdetect"}))
    assert len([c for c in mixed.changes if not c.finding.blocked]) == 1
    assert len([c for c in mixed.changes if c.finding.blocked]) == 1


@pytest.mark.parametrize("module", ["joblib", "onnxruntime", "boto3", "openai", "anthropic", "elasticsearch"])
def test_measured_api_clients_and_loaders_are_heavy_by_default(module: str) -> None:
    """Issue 15 #12: measured with scripts/heavy_costs.py, each costs more to import than numpy;
    used only in a function, the default settings move it there."""
    new = rewrite(f"import {module}\n\n\ndef f():\n    return {module}\n")
    assert new == f"def f():\n    import {module}\n\n    return {module}\n", new


_PIECES = st.sampled_from(
    ("import", "from", " ", "\t", "#", "numpy", "np", "torch.nn", "torch", ",", ".", "(", "x", "as", "'")
)
_LINES = st.tuples(
    st.sampled_from(("", " ", "\t", "    ", "lazy ", "  lazy\t", "lazy", "x ", "#")),
    st.sampled_from(("import", "from", "importlib", "fromage", "")),
    st.sampled_from((" ", "\t", "", "  ")),
    st.lists(_PIECES, max_size=6).map("".join),
).map("".join)


@given(
    st.tuples(st.lists(_LINES, max_size=6), st.sampled_from(("\n", "\r\n", "\r"))).map(
        lambda t: t[1].join(t[0])
    )
)
@examples(max_examples=500, deadline=None)
@example("from\nfrom numpy")  # a match right after another word
@example("x = 1\n  lazy import torch.nn as nn")
def test_the_prefilter_shortcut_is_the_pattern(text: str) -> None:
    """``imports_one`` answers what the prefilter's pattern answers (issue 16: it only tries
    the pattern where it can match)."""
    pattern = _prefilter(("numpy", "torch.nn"))
    assert pattern is not None
    assert imports_one(text, pattern) == (pattern.search(text) is not None)


def test_the_prefilter_shortcut_is_the_pattern_on_the_standard_library() -> None:
    pattern = _prefilter(tuple({*DEFAULT_HEAVY_MODULES, "os", "re", "typing", "collections", "sys"}))
    assert pattern is not None
    texts = [f.read_text("utf-8", "replace") for f in sorted(Path(os.__file__).parent.glob("*.py"))]
    assert len(texts) > 100
    answers = [imports_one(t, pattern) for t in texts]
    assert answers == [pattern.search(t) is not None for t in texts]
    assert True in answers and False in answers
