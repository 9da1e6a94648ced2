"""Issue 13, part 3: measurements drive the rewrite.

``lazify doctor --write-profile`` stores what importing the project costs, keyed by the
interpreter and its installed distributions; ``heavy-modules = "measured"`` makes heavy-imports
move the packages measured over ``measured-threshold``. The slow tests are real: a virtualenv
made for the test, a package installed in it (by hand: a directory and its ``.dist-info``, no
network) that sleeps at import, doctor running the project's code, and the project's own tests
run with that interpreter after ``apply --yes``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from conftest import err, run_lazify, write_tree

from lazifier import profile
from lazifier.settings import CONFIG_KEYS, ConfigError, load_settings

# -- fast: the settings and the profile's logic, no process ---------------------------------------


def test_heavy_modules_takes_a_list_or_the_word_measured(project) -> None:
    assert CONFIG_KEYS["heavy-modules"].kind == "str-list-or-word"
    assert CONFIG_KEYS["heavy-modules"].choices == ("measured",)
    assert "measured-threshold" in CONFIG_KEYS
    root = project({"app.py": "x = 1\n"}, 'heavy-modules = "measurd"\n')
    with pytest.raises(ConfigError, match="must be a list of strings or \"measured\"; got 'measurd'"):
        load_settings([root])
    root = project({"app.py": "x = 1\n"}, "heavy-modules = 3\n")
    with pytest.raises(ConfigError, match='must be a list of strings or "measured", not 3'):
        load_settings([root])
    root = project({"app.py": "x = 1\n"}, 'measured-threshold = "soon"\n')
    with pytest.raises(ConfigError, match=r"measured-threshold.*'soon' is not a duration"):
        load_settings([root])
    root = project({"app.py": "x = 1\n"}, 'heavy-modules = ["json"]\nmeasured-threshold = "20ms"\n')
    settings = load_settings([root])
    assert settings.heavy_modules == ("json",) and settings.facts.measured is None


def _measured(**packages: float) -> profile.Measured:
    return profile.Measured(
        "used",
        "",
        0.05,
        "p.json",
        "2026-12-03 14:02 UTC",
        tuple(sorted(packages.items(), key=lambda kv: -kv[1])),
    )


def test_the_measurement_decides_for_what_it_measured_and_the_defaults_for_the_rest() -> None:
    defaults = ("torch", "numpy", "pandas")
    measured = _measured(slowcalc=0.21, numpy=0.03, fastapi=0.33, quick=0.001)
    # slowcalc and fastapi over 50 ms; numpy measured under it (not heavy here); torch and pandas
    # not measured (the entries don't import them at import): the default list's guess stands.
    assert profile.heavy_modules(measured, defaults) == ("fastapi", "slowcalc", "torch", "pandas")
    assert measured.describe("slowcalc", 0.21) == (
        "slowcalc: measured 210 ms at import in this project (profile of 2026-12-03 14:02 UTC)"
    )
    missing = profile.Measured("missing", "no profile", 0.05)
    assert profile.heavy_modules(missing, defaults) == defaults


def test_a_profile_of_another_environment_says_what_differs() -> None:
    env = profile.Environment("/p/.venv/bin/python", "3.11.7", (("slowcalc", "1.1"), ("zlib-ng", "1.0")))
    data = {"interpreter": {"path": "/p/.venv/bin/python", "version": "3.11.7"},
            "distributions": [["slowcalc", "1.0"], ["old", "2"]]}  # fmt: skip
    assert profile._why_not(data, env) == (
        "the installed distributions changed since (slowcalc 1.0 -> 1.1, +zlib-ng 1.0, -old 2)"
    )
    other = dict(data, interpreter={"path": "/usr/bin/python3", "version": "3.11.7"})
    assert "measured with /usr/bin/python3, and this project's interpreter is /p/.venv/bin/python" in (
        profile._why_not(other, env)
    )
    newer = dict(data, interpreter={"path": "/p/.venv/bin/python", "version": "3.12.1"})
    assert "Python 3.12.1" in profile._why_not(newer, env)
    # The key covers all three.
    keys = {
        profile.Environment("/a", "3.11.7", (("x", "1"),)).key,
        profile.Environment("/b", "3.11.7", (("x", "1"),)).key,
        profile.Environment("/a", "3.12.0", (("x", "1"),)).key,
        profile.Environment("/a", "3.11.7", (("x", "2"),)).key,
    }
    assert len(keys) == 4


# -- slow: the real thing ----------------------------------------------------------------------

SLOW = """\
import time

time.sleep(0.25)  # a package that does real work at import


def triple(x):
    return 3 * x
"""

PROJECT = {
    "svc/__init__.py": "",
    "svc/api.py": textwrap.dedent("""\
        import json

        import quickcalc
        import slowcalc


        def total(values):
            return slowcalc.triple(sum(values))


        def describe(values):
            return json.dumps({"name": quickcalc.NAME, "total": total(values)})
        """),
    "tests/test_api.py": textwrap.dedent("""\
        from svc.api import describe, total


        def test_total():
            assert total([1, 2]) == 9


        def test_describe():
            assert describe([1]) == '{"name": "quick", "total": 3}'
        """),
}


def _install(site: Path, name: str, version: str, code: str) -> None:
    """A distribution installed by hand (what pip leaves: the package and its .dist-info)."""
    (site / name).mkdir()
    (site / name / "__init__.py").write_text(code)
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{name}\n")
    (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n")


def _venv(prefix: Path) -> Path:
    """A virtualenv with slowcalc (0.25 s at import, not in the default heavy list) and
    quickcalc, and lazify's own packages on its path (pytest, for the project's tests)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    python = prefix / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    _install(site, "slowcalc", "1.0", SLOW)
    _install(site, "quickcalc", "1.0", 'NAME = "quick"\n')
    (site / "lazify_test_tools.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _project(tmp_path: Path, config: str) -> tuple[Path, Path]:
    root = write_tree(tmp_path / "proj", {**PROJECT, "pyproject.toml": "[tool.lazify]\n" + config})
    return root, _venv(root / ".venv")


def _doctor(root: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_lazify("doctor", "svc.api", "--runs", "3", "--write-profile", *extra, cwd=root)


def _top_imports(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("import ")]


@pytest.mark.slow
def test_measured_moves_a_slow_package_and_the_projects_tests_pass(tmp_path: Path) -> None:
    root, python = _project(tmp_path, 'heavy-modules = "measured"\nmeasured-threshold = "50ms"\n')
    api = root / "svc" / "api.py"
    # Without a profile: the default list, which doesn't name slowcalc, and the report says so.
    before = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert before.returncode == 0, err(before)
    assert 'heavy-modules = "measured": no profile for this project' in err(before)
    assert "using the default list" in err(before)

    doctor = _doctor(root)
    assert doctor.returncode == 0, err(doctor) + doctor.stdout.decode()
    report = doctor.stdout.decode()
    assert "Profile: wrote .lazify_cache/profiles/" in report
    (written,) = (root / ".lazify_cache" / "profiles").glob("*.json")
    data = json.loads(written.read_text())
    costs = {p["name"]: p["seconds"] for p in data["packages"]}
    assert costs["slowcalc"] > 0.2 and costs["quickcalc"] < 0.05, costs
    assert data["interpreter"]["path"] == str(python.absolute())
    assert ["slowcalc", "1.0"] in data["distributions"]
    assert not list(root.glob("svc/__pycache__")), "doctor ran the code in a copy"

    # doctor --preview applies with the profile too (the copy gets it, and the interpreter).
    preview = run_lazify("doctor", "svc.api", "--runs", "1", "--preview", "--output-format", "json", cwd=root)
    after = json.loads(preview.stdout)["preview"]["entries"][0]
    assert "slowcalc" not in [d["name"] for d in after["distributions"]], after["distributions"]

    config = run_lazify("config", cwd=root)
    assert "#   measured profile (used): profile of" in config.stdout.decode(), config.stdout.decode()

    applied = run_lazify("apply", "--yes", ".", cwd=root)
    assert applied.returncode == 0, err(applied)
    # The slow package moved into the function that uses it; the cheap one stayed.
    assert _top_imports(api) == ["import json", "import quickcalc"]
    assert "    import slowcalc\n" in api.read_text()
    stderr = err(applied)
    assert "LZY001" in stderr and "slowcalc: measured " in stderr, stderr
    assert "ms at import in this project (profile of " in stderr

    tests = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    # And importing the service no longer pays for slowcalc.
    cold = subprocess.run(
        [str(python), "-c", "import sys, svc.api; print('slowcalc' in sys.modules)"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert cold.stdout.strip() == "False", cold.stderr


@pytest.mark.slow
def test_a_profile_of_another_interpreter_or_other_versions_is_not_used(tmp_path: Path) -> None:
    root, python = _project(tmp_path, 'heavy-modules = "measured"\n')
    api = root / "svc" / "api.py"
    original = api.read_text()
    # Another interpreter: a second virtualenv with the very same packages.
    other = _venv(tmp_path / "other-venv")
    doctor = _doctor(root, "--python", str(other))
    assert doctor.returncode == 0, err(doctor) + doctor.stdout.decode()
    apply = run_lazify("apply", "--yes", ".", cwd=root)
    assert apply.returncode == 0, err(apply)
    assert api.read_text() == original, "a profile of another interpreter moved an import"
    assert "is not used: it was measured with " in err(apply)
    assert f"and this project's interpreter is {python.absolute()}" in err(apply)

    # This interpreter, then slowcalc upgraded: that profile is not used either.
    assert _doctor(root).returncode == 0
    site = next((root / ".venv" / "lib").glob("python3*/site-packages"))
    info = site / "slowcalc-1.0.dist-info"
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: slowcalc\nVersion: 1.1\n")
    info.rename(site / "slowcalc-1.1.dist-info")
    config = run_lazify("config", cwd=root).stdout.decode()
    assert "#   measured profile (ignored): the profile of " in config, config
    assert "the installed distributions changed since (slowcalc 1.0 -> 1.1)" in config
    dry = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert dry.returncode == 0 and not dry.stdout, dry.stdout.decode()
    assert "slowcalc 1.0 -> 1.1" in err(dry) and "using the default list" in err(dry)

    # Measured again with 1.1: used.
    assert _doctor(root).returncode == 0
    again = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert again.returncode == 1 and b"+    import slowcalc" in again.stdout, err(again)


TABLES = """\
import time


def build_table():
    time.sleep(0.2)  # work no name gives away: a project function, not a singleton factory
    return {i: i * i for i in range(10)}


TABLE = build_table()


def square(i):
    return TABLE[i]
"""


@pytest.mark.slow
def test_a_statement_measured_over_the_threshold_becomes_a_lazy_singleton(tmp_path: Path) -> None:
    files = {
        "svc/__init__.py": "",
        "svc/tables.py": TABLES,
        "svc/api.py": "from svc.tables import square\n\n\ndef answer():\n    return square(3)\n",
        "tests/test_tables.py": "from svc.api import answer\n\n\ndef test_answer():\n    assert answer() == 9\n",
    }
    root = write_tree(
        tmp_path / "proj", {**files, "pyproject.toml": '[tool.lazify]\nheavy-modules = "measured"\n'}
    )
    python = _venv(root / ".venv")
    tables = root / "svc" / "tables.py"
    # Without a profile, `TABLE = build_table()` is not a singleton: nothing says it is expensive.
    assert not run_lazify("apply", "--dry-run", ".", cwd=root).stdout
    assert _doctor(root).returncode == 0
    data = json.loads(next((root / ".lazify_cache" / "profiles").glob("*.json")).read_text())
    assert [(s["file"], s["line"]) for s in data["statements"] if s["seconds"] > 0.1] == [
        ("svc/tables.py", 9)
    ]
    applied = run_lazify("apply", "--yes", ".", cwd=root)
    assert applied.returncode == 0, err(applied)
    assert "def get_table()" in tables.read_text(), tables.read_text()
    assert "svc/tables.py:9: LZY002 `TABLE = build_table()`: measured " in err(applied), err(applied)
    tests = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    # Importing the service no longer builds the table.
    cold = subprocess.run(
        [str(python), "-c", "import time; t = time.perf_counter(); import svc.api; print(time.perf_counter() - t)"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert cold.returncode == 0 and float(cold.stdout) < 0.15, cold.stdout + cold.stderr
