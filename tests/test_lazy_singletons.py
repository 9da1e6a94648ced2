"""Generated getters at runtime: exactly-once construction under contention, the old name,
assignment from outside, reload."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import run_lazify, top_level_imports, write_tree

SERVICE = '''\
import threading
import time

CALLS = []


class Slow:
    """Takes a while to build, like a client that connects."""

    def __init__(self):
        CALLS.append(threading.get_ident())
        time.sleep(0.05)


slow = Slow()


def use():
    return slow
'''


@pytest.fixture
def rewritten(tmp_path: Path):
    root = write_tree(tmp_path / "proj", {"pyproject.toml": "[tool.lazify]\n", "svc_mod.py": SERVICE})
    result = run_lazify("apply", "--yes", ".", cwd=root)
    assert result.returncode == 0, result.stderr.decode()
    text = (root / "svc_mod.py").read_text()
    assert "def get_slow()" in text
    sys.path.insert(0, str(root))
    sys.modules.pop("svc_mod", None)
    try:
        yield root, importlib.import_module("svc_mod"), text
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("svc_mod", None)


def _race(getter, n: int = 16) -> list:
    barrier = threading.Barrier(n)
    got: list = []

    def worker() -> None:
        barrier.wait()
        got.append(getter())

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


@pytest.mark.slow
def test_the_constructor_runs_exactly_once_under_concurrent_first_calls(rewritten) -> None:
    _root, mod, text = rewritten
    assert mod.CALLS == [], "importing the module must not build the singleton"
    got = _race(mod.get_slow)
    assert len(mod.CALLS) == 1
    assert all(g is got[0] for g in got)

    # The control: the same generated getter without its lock builds more than once.
    unlocked = text.replace("    with _lazify_lock:\n", "    if True:\n").replace(
        "in _lazify_building:", "in ():"
    )
    assert unlocked != text
    namespace: dict = {}
    exec(compile(unlocked, "svc_unlocked.py", "exec"), namespace)
    got = _race(namespace["get_slow"])
    assert len(namespace["CALLS"]) > 1, "without the lock the race must show (else this test proves nothing)"


@pytest.mark.slow
def test_old_name_assignment_and_reload(rewritten) -> None:
    _root, mod, _text = rewritten
    from svc_mod import slow  # the old name still imports (module __getattr__)

    assert slow is mod.get_slow() is mod.use()
    assert len(mod.CALLS) == 1

    replacement = object()
    mod.slow = replacement  # what tests do: assign the module attribute
    assert mod.get_slow() is replacement
    assert mod.use() is replacement

    reloaded = importlib.reload(mod)
    assert reloaded.get_slow() is not replacement, "a reload starts afresh"
    assert len(reloaded.CALLS) == 1  # CALLS itself was rebuilt by the reload, then one build


@pytest.mark.slow
def test_type_checkers_see_the_old_name(rewritten) -> None:
    _root, _mod, text = rewritten
    assert "if TYPE_CHECKING:\n    slow: Slow\n" in text
    assert 'def get_slow() -> "Slow":' in text


SELF_READ = """\
import sys

SEEN = []


class Probe:
    def __init__(self):
        SEEN.append(hasattr(sys.modules[__name__], "probe"))
        try:
            use()
        except NameError as e:
            SEEN.append(str(e))


def use():
    return probe


probe = Probe()
"""


@pytest.mark.slow
def test_while_it_is_built_the_name_is_unbound_as_during_the_import(tmp_path: Path) -> None:
    """A constructor that looks its own name up sees what it saw at import: no attribute on the
    module, and a NameError from a function that reads it; it neither recurses nor deadlocks."""
    before = write_tree(tmp_path / "before", {"self_read.py": SELF_READ})
    after = write_tree(tmp_path / "after", {"pyproject.toml": "[tool.lazify]\n", "self_read.py": SELF_READ})
    result = run_lazify("apply", "--yes", ".", cwd=after)
    assert result.returncode == 0, result.stderr.decode()
    assert "def get_probe()" in (after / "self_read.py").read_text()
    script = "import self_read; self_read.use(); print(self_read.SEEN)"
    seen = [
        subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
        for root in (before, after)
    ]
    assert seen[0].returncode == 0 and seen[1].returncode == 0, (seen[0].stderr, seen[1].stderr)
    assert seen[0].stdout == seen[1].stdout == "[False, \"name 'probe' is not defined\"]\n"


@pytest.mark.slow
def test_readers_are_not_rewritten_when_the_defining_module_cannot_be(tmp_path: Path) -> None:
    """All or nothing across files: `user.py` would call `get_conn()`, which only exists if
    `db.py` is rewritten; LibCST 1.9 can't round-trip db.py (a comment after the last
    statement), so neither file changes."""
    root = write_tree(tmp_path / "proj", {
        "pyproject.toml": "[tool.lazify]\n",
        "db.py": "import sqlite3\nconn = sqlite3.connect(':memory:')\n #c\n ",
        "user.py": "from db import conn\n\n\ndef q():\n    return conn.execute('select 1')\n",
    })  # fmt: skip
    result = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert result.returncode == 2, result.stderr.decode()
    assert b"user.py" not in result.stdout, result.stdout.decode()
    assert "db.py: error: LibCST does not reproduce this file" in result.stderr.decode()

    # With the defining module fixed, both change together.
    (root / "db.py").write_text("import sqlite3\nconn = sqlite3.connect(':memory:')\n")
    result = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert result.returncode == 1
    assert b"+++ b/user.py" in result.stdout and b"+++ b/db.py" in result.stdout


@pytest.mark.slow
def test_a_file_the_plan_only_blocks_is_not_parsed(tmp_path: Path) -> None:
    """The plan's facts decide a blocked singleton, so the file needs no syntax tree: LibCST
    never parses it, and a file it could not round-trip is reported, not failed."""
    root = write_tree(tmp_path / "proj", {
        "pyproject.toml": "[tool.lazify]\n",
        "db.py": "import sqlite3\nconn = sqlite3.connect(':memory:')\nconn.execute('select 1')\n #c\n ",
    })  # fmt: skip
    result = run_lazify("apply", "--dry-run", "--select", "lazy-singletons", ".", cwd=root)
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert "db.py:2:1: LZY002 [blocked] `conn` stays built at import: read at import on line 3" in err
    assert "error" not in err
    assert result.stdout == b""


@pytest.mark.slow
def test_factories_and_cheap_calls_are_configurable(tmp_path: Path) -> None:
    files = {
        "svc.py": "import mylib\n\nclient = mylib.connect('db')\nclock = mylib.Clock()\n\n\ndef f():\n    return client, clock\n",
        "mylib.py": "def connect(x):\n    return x\n\n\nclass Clock:\n    pass\n",
    }
    root = write_tree(tmp_path / "a", {**files, "pyproject.toml": "[tool.lazify]\n"})
    plain = run_lazify("apply", "--dry-run", "--select", "lazy-singletons", ".", cwd=root)
    assert b"get_client" not in plain.stdout  # mylib.connect is nobody's known factory
    assert b"get_clock" in plain.stdout  # a project class

    config = '[tool.lazify]\nextend-singleton-factories = ["mylib.connect"]\nextend-cheap-calls = ["mylib.Clock"]\n'
    root = write_tree(tmp_path / "b", {**files, "pyproject.toml": config})
    configured = run_lazify("apply", "--dry-run", "--select", "lazy-singletons", ".", cwd=root)
    assert b"get_client" in configured.stdout
    assert b"get_clock" not in configured.stdout


@pytest.mark.slow
def test_heavy_imports_and_singletons_together_converge_in_one_run(tmp_path: Path) -> None:
    """lazy-singletons' plan comes from the file on disk; heavy-imports, which runs first, moves
    lines. The singleton must still be found (by name), so a second run has nothing left."""
    root = write_tree(tmp_path / "proj", {
        "pyproject.toml": "[tool.lazify]\n",
        "pkg/__init__.py": "",
        "pkg/core.py": "import numpy as np\n\n\nclass Op:\n    def __init__(self, f):\n        self.f = f\n\n\nsqrt = Op(abs)\n\n\ndef g(x):\n    return np.zeros(x)\n",
        "pkg/extras.py": "from pkg.core import sqrt\n\n\ndef h(x):\n    return sqrt.f(x)\n",
    })  # fmt: skip
    first = run_lazify("apply", "--yes", ".", cwd=root)
    assert first.returncode == 0, first.stderr.decode()
    assert "def get_sqrt()" in (root / "pkg/core.py").read_text()
    assert "get_sqrt().f(x)" in (root / "pkg/extras.py").read_text()
    again = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert again.returncode == 0 and again.stdout == b"", again.stdout.decode()


def _script(root: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=root, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_a_script_under_the_main_guard_runs_as_before(tmp_path: Path) -> None:
    """Issue 11.4: reads under `if __name__ == "__main__":` call the getter; the script part
    (here training the model, from its own module and from another) prints what it printed."""
    fixture = Path(__file__).parent / "fixtures" / "lazy_singletons" / "main_guard"
    original = tmp_path / "orig"
    shutil.copytree(fixture, original)
    root = tmp_path / "proj"
    shutil.copytree(fixture, root)
    (root / "pyproject.toml").write_text("[tool.lazify]\n")
    result = run_lazify("apply", "--yes", ".", cwd=root)
    assert result.returncode == 0, result.stderr.decode()
    assert "get_model().train(X, y)" in (root / "ml/model.py").read_text()
    for argv in (["-m", "ml.model", "3"], ["-m", "ml.serve"]):
        before, after = _script(original, *argv), _script(root, *argv)
        assert before.returncode == 0, before.stderr
        assert (after.returncode, after.stdout) == (0, before.stdout), after.stderr
    # Imported, nothing is built; the old name still answers.
    probe = "import ml.model as m; assert 'model' not in vars(m); print(m.model.path, m.predict(2))"
    assert _script(root, "-c", probe).stdout == "model.bin []\n"


@pytest.mark.slow
def test_the_existing_accessor_is_the_getter(tmp_path: Path) -> None:
    """Issue 11.8: `def get_model() -> Model: return model` becomes the building getter, under
    its own name, signature and docstring: its callers (and `dependency_overrides[get_model]`
    keys) need no change, and the readers of `model` call it."""
    fixture = Path(__file__).parent / "fixtures" / "lazy_singletons" / "existing_accessor"
    original, root = tmp_path / "orig", tmp_path / "proj"
    shutil.copytree(fixture, original)
    shutil.copytree(fixture, root)
    (root / "pyproject.toml").write_text("[tool.lazify]\n")
    result = run_lazify("apply", "--yes", ".", cwd=root)
    assert result.returncode == 0, result.stderr.decode()
    text = (root / "app/ml.py").read_text()
    assert text.count("def get_model") == 1 and "_lazily" not in text
    probe = (
        "import inspect, app.ml as m\n"
        "from app.api import handler\n"
        "built = 'model' in vars(m)\n"
        "print(built, inspect.signature(m.get_model), m.get_model.__doc__)\n"
        "print(handler(2)[0], m.get_model() is m.get_model() is m.model, m.predict(1))\n"
        "m.model = 'fake'\n"
        "print(m.get_model())\n"
    )
    before, after = _script(original, "-c", probe), _script(root, "-c", probe)
    assert before.returncode == 0, before.stderr
    assert after.returncode == 0, after.stderr
    first, *rest = after.stdout.splitlines()
    assert first.startswith("False ")  # nothing built at import
    assert [first[len("False ") :], *rest] == [
        before.stdout.splitlines()[0][len("True ") :],
        *before.stdout.splitlines()[1:],
    ]
    again = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert again.returncode == 0 and again.stdout == b"", again.stdout.decode()


FAKE_HEAVY = '''\
"""Stands in for torch: slow to import, and load() reads a file."""
LOADS = []


class Net:
    def __init__(self, path):
        self.path = path

    def __call__(self, x):
        return x * 2


def load(path):
    LOADS.append(path)
    return Net(path)
'''


@pytest.mark.slow
def test_a_model_loaded_at_import_and_its_heavy_import_move_in_one_run(tmp_path: Path) -> None:
    """Issue 11.9: `model = heavy.load(path)` is a singleton because it calls into a heavy
    module; once it is, `heavy` is read only in functions, so heavy-imports moves it in the
    same run (the annotation's `Net` goes under `if TYPE_CHECKING:`). A second run finds
    nothing, and the module behaves as before, without importing `fakeheavy` at import."""
    svc = (
        '"""Serves the model."""\n'
        "import fakeheavy\nfrom fakeheavy import Net\n\n"
        'model: Net = fakeheavy.load("model.pt")\n\n\n'
        "def predict(x):\n    return model(x)\n\n\n"
        'if __name__ == "__main__":\n    print(predict(21))\n'
    )
    files = {"fakeheavy/__init__.py": FAKE_HEAVY, "svc.py": svc}
    original = write_tree(tmp_path / "orig", files)
    config = '[tool.lazify]\nextend-heavy-modules = ["fakeheavy"]\n'
    root = write_tree(tmp_path / "proj", {**files, "pyproject.toml": config})
    first = run_lazify("apply", "--yes", ".", cwd=root)
    assert first.returncode == 0, first.stderr.decode()
    report = first.stderr.decode()
    assert "LZY002" in report and "LZY001" in report and "blocked" not in report, report
    text = (root / "svc.py").read_text()
    assert top_level_imports(text) == {"threading", "typing"}, text
    assert "    import fakeheavy\n" in text and "if TYPE_CHECKING:\n    from fakeheavy import Net\n" in text
    again = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert again.returncode == 0 and again.stdout == b"", again.stdout.decode()

    probe = (
        "import sys, svc\n"
        "print('fakeheavy' in sys.modules)\n"
        "print(svc.predict(2), sys.modules['fakeheavy'].LOADS, svc.model.path)\n"
    )
    before, after = _script(original, "-c", probe), _script(root, "-c", probe)
    assert before.stdout.splitlines() == ["True", "4 ['model.pt'] model.pt"], before.stderr
    assert after.stdout.splitlines() == ["False", "4 ['model.pt'] model.pt"], after.stderr
    assert _script(root, "svc.py").stdout == _script(original, "svc.py").stdout == "42\n"


@pytest.mark.slow
def test_a_heavy_call_listed_as_cheap_stays(tmp_path: Path) -> None:
    files = {
        "fakeheavy/__init__.py": FAKE_HEAVY,
        "svc.py": "import fakeheavy\n\nnet = fakeheavy.load('x')\n\n\ndef f():\n    return net\n",
    }
    config = '[tool.lazify]\nextend-heavy-modules = ["fakeheavy"]\nextend-cheap-calls = ["fakeheavy.load"]\n'
    root = write_tree(tmp_path / "proj", {**files, "pyproject.toml": config})
    result = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert result.returncode == 0 and b"get_net" not in result.stdout, result.stdout.decode()
    assert "used at module level" in result.stderr.decode()  # so `import fakeheavy` stays too


@pytest.mark.slow
def test_a_singleton_added_after_a_rewrite_is_blocked_and_the_file_left_whole(tmp_path: Path) -> None:
    """A second run over a rewritten module with a singleton added since: the module has a
    `__getattr__` now (lazify's), which the plan does not extend, so the new one is reported
    blocked with that reason and nothing is written: no second lock, no half-done getter."""
    root = write_tree(tmp_path / "proj", {"pyproject.toml": "[tool.lazify]\n", "svc_mod.py": SERVICE})
    assert run_lazify("apply", "--yes", ".", cwd=root).returncode == 0
    mod = root / "svc_mod.py"
    mod.write_text(mod.read_text() + "\n\nother = Slow()\n\n\ndef use_other():\n    return other\n")
    before = mod.read_text()
    result = run_lazify("apply", "--yes", ".", cwd=root)
    assert result.returncode == 0, result.stderr.decode()
    assert mod.read_text() == before
    assert "`other` stays built at import: the module defines its own `__getattr__`" in result.stderr.decode()
    done = subprocess.run(
        [sys.executable, "-c", "import svc_mod; print(len(svc_mod.CALLS), svc_mod.use() is svc_mod.get_slow())"],
        cwd=root, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.stdout == "1 True\n", done.stderr  # `other` built at import; `slow` only on use()


def test_the_codemods_code_is_the_one_its_findings_carry() -> None:
    # The class spells its code out, so that a warm run need not import the facts module.
    from codemods._singleton_facts import CODE
    from codemods.lazy_singletons import LazySingletons

    assert LazySingletons.code == CODE
