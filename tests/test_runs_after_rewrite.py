"""Rewritten code must run, not just compile: each case is rewritten by the real CLI in a
temporary project, then imported (and exercised) in a fresh interpreter, next to the original.

These are the breakages issue 10 found in installed packages, each reduced to a few lines.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import err, run_lazify, write_tree

from lazifier.import_order import read_before_bound


def run_module(root: Path, module: str, code: str = "") -> subprocess.CompletedProcess:
    script = f"import {module}\n{textwrap.dedent(code)}"
    return subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60
    )


def rewritten(tmp_path: Path, files: dict[str, str], config: str = "", *args: str) -> Path:
    root = tmp_path / "proj"
    write_tree(
        root,
        {"pyproject.toml": "[tool.lazify]\n" + config, **{k: textwrap.dedent(v) for k, v in files.items()}},
    )
    r = run_lazify("apply", "--yes", *args, ".", cwd=root)
    assert r.returncode == 0, err(r)
    return root


def assert_same_outcome(
    tmp_path: Path, files: dict[str, str], module: str, code: str = "", config: str = "", *args: str
) -> str:
    """The rewritten module imports (and ``code`` runs) as the original does; returns the
    rewritten text of ``module``."""
    original = tmp_path / "orig"
    write_tree(original, {k: textwrap.dedent(v) for k, v in files.items()})
    before = run_module(original, module, code)
    assert before.returncode == 0, before.stderr
    root = rewritten(tmp_path, files, config, *args)
    path = root / (module.replace(".", "/") + ".py")
    new = path.read_text()
    assert new != textwrap.dedent(files[path.relative_to(root).as_posix()]), "nothing was rewritten"
    after = run_module(root, module, code)
    assert after.returncode == 0, f"{after.stderr}\n--- rewritten {module}:\n{new}"
    assert after.stdout == before.stdout
    return new


# -- 1. an inserted `if TYPE_CHECKING:` above what binds it ------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            """\
            import numpy as np
            from typing import TYPE_CHECKING


            def f(a: np.ndarray) -> None:
                pass
            """,
            id="typing-import-below",
        ),
        pytest.param(
            '''\
            """Docstring."""
            import numpy as np
            from typing import TYPE_CHECKING


            def f(a: np.ndarray) -> None:
                pass
            ''',
            id="docstring",
        ),
        pytest.param(
            '''\
            """Docstring."""
            from __future__ import annotations
            import numpy as np
            import typing


            def f(a: np.ndarray) -> None:
                return np.zeros(1)
            ''',
            id="future-and-typing-module",
        ),
        pytest.param(
            """\
            import numpy as np
            import os

            X = os.sep
            from typing import TYPE_CHECKING


            def f(a: np.ndarray) -> None:
                pass
            """,
            id="typing-import-after-code",
        ),
    ],
)
def test_type_checking_block_comes_after_its_guard(tmp_path: Path, source: str) -> None:
    new = assert_same_outcome(tmp_path, {"m.py": source}, "m", "m.f(None)")
    assert "if TYPE_CHECKING:\n    import numpy as np" in new or "if typing.TYPE_CHECKING:" in new


@pytest.mark.slow
def test_docstring_and_future_import_stay_first(tmp_path: Path) -> None:
    source = '''\
        """Docstring."""
        from __future__ import annotations

        import numpy as np


        def f(a: np.ndarray) -> None:
            pass
        '''
    new = assert_same_outcome(tmp_path, {"m.py": source}, "m", "assert m.__doc__ == 'Docstring.'")
    assert new.startswith('"""Docstring."""\nfrom __future__ import annotations\n'), new


# -- 2. a guard spelled with the name being moved ----------------------------------------------


@pytest.mark.slow
def test_the_guard_is_never_the_import_it_guards(tmp_path: Path) -> None:
    source = """\
        import typing as t


        def f(a: t.Any) -> int:
            return t.cast(int, a)
        """
    new = assert_same_outcome(
        tmp_path, {"m.py": source}, "m", "print(m.f(3))", 'extend-heavy-modules = ["typing"]\n'
    )
    assert "if t.TYPE_CHECKING" not in new


# -- the engine's own check: a name read at import before it is bound ---------------------------


@pytest.mark.parametrize(
    ("source", "early"),
    [
        ("if TYPE_CHECKING:\n    import numpy\nfrom typing import TYPE_CHECKING\n", {"TYPE_CHECKING"}),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import numpy\n", set()),
        ("if t.TYPE_CHECKING:\n    import typing as t\n", {"t"}),
        ("def f(x=y):\n    pass\ny = 1\n", {"y"}),
        ("def f():\n    return y\ny = 1\n", set()),
        ("@d\ndef f():\n    pass\nd = 1\n", {"d"}),
        ("def f(x: T) -> None:\n    pass\nT = int\n", {"T"}),
        ("from __future__ import annotations\ndef f(x: T) -> None:\n    pass\nT = int\n", set()),
        ("class A:\n    x = 1\n    y = x\n", set()),
        ("class A:\n    y = z\nz = 1\n", {"z"}),
        ("[i for i in range(3)]\nf = lambda: q\n", set()),
        ("try:\n    import a\nexcept ImportError:\n    a = None\nprint(a)\n", set()),
        ("if x := 1:\n    pass\nprint(x)\n", set()),
        ("if TYPE_CHECKING:\n    pass\nelse:\n    y = 1\nprint(y)\n", {"TYPE_CHECKING"}),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    y = 1\nprint(y)\n", {"y"}),
        ("globals().pop('a', None)\nprint(len)\n", set()),
    ],
)
def test_read_before_bound(source: str, early: set[str]) -> None:
    assert read_before_bound(source) == early


@pytest.mark.parametrize(
    "source",
    [
        "from os import *\nprint(x)\n",
        "globals()['x'] = 1\nprint(x)\n",
        "globals().update(x=1)\n",
        "exec('x = 1')\n",
    ],
)
def test_dynamic_bindings_give_no_answer(source: str) -> None:
    assert read_before_bound(source) is None


def test_deferred_annotations_are_not_read_at_import() -> None:
    assert read_before_bound("def f(x: T) -> None:\n    pass\nT = int\n", deferred_annotations=True) == set()


# -- 3. a constructor that asks its own module for the object it is building ---------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "check",
    [
        'hasattr(sys.modules[__name__], "registry")',
        'getattr(sys.modules[__name__], "registry", None) is not None',
        '"registry" in globals()',
    ],
)
def test_a_singleton_that_looks_itself_up_while_built(tmp_path: Path, check: str) -> None:
    source = f"""\
        import sys


        class Registry:
            def __init__(self):
                if {check}:
                    raise RuntimeError("only one registry")
                self.ready = True


        registry = Registry()


        def ready():
            return registry.ready
        """
    new = assert_same_outcome(tmp_path, {"reg.py": source}, "reg", "print(reg.ready(), reg.registry.ready)")
    assert "def get_registry()" in new
    again = run_module(
        tmp_path / "proj", "reg", "assert reg.get_registry() is reg.registry is reg.get_registry()"
    )
    assert again.returncode == 0, again.stderr


@pytest.mark.slow
def test_reading_the_global_while_it_is_built_fails_as_before(tmp_path: Path) -> None:
    source = """\
        class Registry:
            def __init__(self):
                try:
                    registry
                except NameError as e:
                    self.seen = str(e)


        registry = Registry()


        def seen():
            return registry.seen
        """
    assert_same_outcome(tmp_path, {"reg.py": source}, "reg", "print(reg.seen())")


# -- 5. one statement binding a name twice -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("style", ["local", "lazy-keyword"])
def test_a_name_imported_twice_in_one_statement_is_one_fix(tmp_path: Path, style: str) -> None:
    files = {"m.py": "import numpy, numpy\n\n\ndef f():\n    return numpy.zeros(1)\n"}
    root = rewritten(
        tmp_path,
        files,
        f'style = "{style}"\ntarget-version = "py315"\n' if style != "local" else "",
        "--unsafe-fixes",
    )
    again = run_lazify("apply", "--dry-run", "--unsafe-fixes", ".", cwd=root)
    assert again.returncode == 0, again.stdout.decode() + err(again)
    if style == "local":
        assert run_module(root, "m", "print(m.f())").returncode == 0


@pytest.mark.slow
def test_an_unused_duplicate_goes_in_one_run(tmp_path: Path) -> None:
    root = rewritten(
        tmp_path, {"m.py": "import numpy, numpy\n\n\ndef f():\n    return 1\n"}, "", "--unsafe-fixes"
    )
    assert "numpy" not in (root / "m.py").read_text()
    again = run_lazify("apply", "--dry-run", "--unsafe-fixes", ".", cwd=root)
    assert again.returncode == 0, again.stdout.decode()


# -- 6. imports kept for their side effects are not "unused" ------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("rel", "source"),
    [
        ("m.py", "import numpy  # noqa: F401\n"),
        ("m.py", "import numpy  # noqa\n"),
        ("m.py", "from numpy import (  # noqa: F401\n    zeros,\n)\n"),
        ("pkg/__init__.py", "import numpy\n"),
        ("m.py", "import numpy.linalg\n"),
    ],
)
def test_no_removal_of_imports_kept_for_side_effects(tmp_path: Path, rel: str, source: str) -> None:
    root = tmp_path / "proj"
    write_tree(root, {"pyproject.toml": "[tool.lazify]\n", rel: source})
    r = run_lazify("apply", "--dry-run", "--unsafe-fixes", "--output-format", "json", ".", cwd=root)
    assert r.returncode == 0, r.stdout.decode() + err(r)
    assert b"never used" not in r.stdout


# -- a deferred construction must not see later module state (found by the fuzz) -----------------


@pytest.mark.slow
@pytest.mark.parametrize("later", ["LIMIT = 2", "del LIMIT"])
def test_a_singleton_reading_a_name_bound_again_later_stays(tmp_path: Path, later: str) -> None:
    source = f"LIMIT = 1\n\n\nclass Svc:\n    def __init__(self):\n        self.limit = LIMIT\n\n\nsvc = Svc()\n{later}\n\n\ndef use():\n    return svc.limit\n"
    root = tmp_path / "proj"
    write_tree(root, {"pyproject.toml": "[tool.lazify]\n", "m.py": source})
    r = run_lazify("apply", "--dry-run", "--output-format", "json", ".", cwd=root)
    assert r.returncode == 0, r.stdout.decode() + err(r)
    assert b"which the module binds again" in r.stdout


@pytest.mark.slow
def test_a_name_imported_twice_does_not_block_a_singleton_that_reads_it(tmp_path: Path) -> None:
    """Found by the fuzz: the duplicate counted as a rebinding, so the first run blocked the
    singleton and the second (after heavy-imports merged the duplicate) rewrote it."""
    files = {
        "m.py": "from numpy import pi, pi\n\n\nclass Svc:\n    def __init__(self):\n        self.v = pi\n\n\nsvc = Svc()\n"
    }
    root = rewritten(tmp_path, files)
    assert "def get_svc()" in (root / "m.py").read_text()
    again = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert again.returncode == 0, again.stdout.decode()


# -- a parameter named like a module-level binding (sqlalchemy's BinaryExpression) --------------


@pytest.mark.slow
def test_a_parameter_reassigned_later_is_not_the_module_binding(tmp_path: Path) -> None:
    """LibCST 1.9 resolves `x = operator` to the module's import when the function assigns
    its parameter `operator` afterwards; the import then landed in that function and shadowed
    the parameter."""
    source = """\
        import operator


        def combine(left, right, operator):
            if isinstance(operator, str):
                operator = {"+": "add"}[operator]
            return (left, right, operator)


        def add(a, b):
            return operator.add(a, b)
        """
    new = assert_same_outcome(
        tmp_path,
        {"m.py": source},
        "m",
        "print(m.combine(1, 2, '+'), m.add(1, 2))",
        'extend-heavy-modules = ["operator"]\n',
    )
    assert new.count("import operator") == 1


@pytest.mark.slow
def test_a_singleton_name_used_as_a_parameter_is_left_alone(tmp_path: Path) -> None:
    source = """\
        class Engine:
            pass


        engine = Engine()


        def describe(engine):
            label = type(engine).__name__
            engine = None
            return label


        def default():
            return engine
        """
    new = assert_same_outcome(
        tmp_path, {"m.py": source}, "m", "print(m.describe(3), type(m.default()).__name__)"
    )
    assert "label = type(engine).__name__" in new


# -- a singleton passed on by the module that imports it (django.contrib.admin.site) -------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "init",
    [
        'from pkg.sites import Site, site\n\n__all__ = ["Site", "site"]\n\n\ndef f():\n    return site\n',
        "from pkg.sites import Site, site\n\n\ndef f():\n    return site\n",
    ],
    ids=["in-__all__", "package-__init__"],
)
def test_a_re_exported_singleton_stays_importable_from_the_package(tmp_path: Path, init: str) -> None:
    files = {"pkg/__init__.py": init, "pkg/sites.py": "class Site:\n    pass\n\n\nsite = Site()\n"}
    root = rewritten(tmp_path, files)
    r = run_module(root, "pkg", "from pkg import site; print(type(pkg.site).__name__, type(site).__name__)")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Site Site\n"
