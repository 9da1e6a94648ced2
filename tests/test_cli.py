"""The ``lazify`` command end to end: the real CLI in a subprocess, on real files.

Subprocesses are the cost here (about a second each), so several tests share one project that
they only read (the ``basic`` fixture): anything that writes works on a copy of it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import (
    LAZIFY,
    assert_moved,
    concurrently,
    diffed_files,
    err,
    run_lazify,
    top_level_imports,
    write_tree,
)

from codemods import REGISTRY
from lazifier.docs import doc_of

# ---------------------------------------------------------------------------------------------
# helpers

MOVES_NUMPY = "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n"
ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")
#: Every line a unified diff as ``git apply`` reads it may have.
PATCH_LINE = re.compile(
    rb"^(diff --git a/\S.* b/\S.*|--- a/\S.*|\+\+\+ b/\S.*|@@ -\d+(,\d+)? \+\d+(,\d+)? @@.*"
    rb"|[ +\-].*|\\ No newline at end of file)$"
)
SUMMARY = re.compile(r"^lazify: \d+ files? (would be )?rewritten, \d+ unchanged.*\.$")


def git(*args: str, cwd: Path, input: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        ["git", "-c", "core.autocrlf=false", *args],
        cwd=cwd, input=input, capture_output=True, env=env, timeout=60,
    )  # fmt: skip


def git_init(root: Path) -> None:
    r = git("init", "-q", ".", cwd=root)
    assert r.returncode == 0, r.stderr


def git_apply(patch: bytes, repo_root: Path) -> None:
    r = git("apply", "-", cwd=repo_root, input=patch)
    assert (
        r.returncode == 0
    ), f"git apply failed: {r.stderr.decode()}\n--- patch ---\n{patch.decode(errors='replace')}"


SKIP_DIRS = {".git", ".lazify_cache"}


def tree(root: Path, meta: bool = True) -> dict[str, tuple]:
    """Every file under root (symlinks not followed) -> bytes (and mtime_ns, mode)."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            st = p.lstat()
            data = os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
            out[rel] = (data, st.st_mtime_ns, st.st_mode) if meta else (data,)
    return out


def copy_project(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(".lazify_cache"))
    return dest


def out(r: subprocess.CompletedProcess) -> str:
    return r.stdout.decode()


def summary_line(r: subprocess.CompletedProcess) -> str:
    lines = err(r).rstrip("\n").split("\n")
    return lines[-1]


def assert_is_patch(stdout: bytes) -> None:
    assert stdout.startswith(b"diff --git a/"), stdout[:200]
    assert stdout.endswith(b"\n")
    for line in stdout.split(b"\n")[:-1]:
        assert PATCH_LINE.match(line.rstrip(b"\r")), f"not a patch line: {line!r}"
    assert not ANSI.search(stdout)


# ---------------------------------------------------------------------------------------------
# A shared project: one safe move in two files, one blocked import, one unused heavy import.

BASIC = {
    "app/__init__.py": "",
    "app/models.py": (
        '"""Models."""\n'
        "import os\n"
        "import numpy as np\n"
        "\n"
        "\n"
        "def predict(x):\n"
        "    return np.asarray(x)\n"
        "\n"
        "\n"
        "def where():\n"
        "    return os.getcwd()\n"
    ),
    "app/blocked.py": "import numpy as np\n\nX = np.zeros(1)\n\n\ndef f():\n    return np.ones(1)\n",
    "app/unused.py": "import os\nimport torch\n\n\ndef g():\n    return os.getcwd()\n",
    "app/plain.py": "import json\n\n\ndef h():\n    return json.dumps(1)\n",
    # A name that needs escaping in GitHub annotations (`,` and `%`).
    "we,ird%.py": "import pandas as pd\n\n\ndef f():\n    return pd.DataFrame()\n",
}


#: Runs that only read the shared project, all made once (concurrently) by the fixture.
READ_ONLY_RUNS: dict[str, tuple[tuple[str, ...], dict[str, str] | None]] = {
    "dry": (("apply", "--dry-run", "."), None),
    "check": (("apply", "--check", "."), None),
    "ignore-name": (("apply", "--dry-run", "--ignore", "heavy-imports", "."), None),
    "ignore-code": (("apply", "--dry-run", "--ignore", "LZY001", "."), None),
    "select-code": (("apply", "--dry-run", "--select", "LZY001", "."), None),
    "select-unknown": (("apply", "--dry-run", "--select", "heavy-imports,no-such-codemod", "."), None),
    "unsafe": (("apply", "--dry-run", "--unsafe-fixes", "."), None),
    "json": (("apply", "--dry-run", "--output-format", "json", "."), None),
    "github": (("apply", "--dry-run", "--output-format", "github", "."), None),
    # NO_COLOR="" is "not set" (https://no-color.org: only a non-empty value disables colour).
    "colour-auto": (("apply", "--dry-run", "."), {"NO_COLOR": ""}),
    "colour-always": (("apply", "--dry-run", "--color", "always", "."), {"NO_COLOR": ""}),
}


class Basic:
    def __init__(self, pristine: Path, proj: Path, before: dict, after: dict, runs: dict) -> None:
        self.pristine, self.proj, self.before, self.after, self.runs = pristine, proj, before, after, runs
        self.run = runs["dry"]


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory) -> Basic:
    base = tmp_path_factory.mktemp("basic")
    pristine = base / "pristine"
    pristine.mkdir()
    (pristine / "pyproject.toml").write_text("[tool.lazify]\n")
    write_tree(pristine, BASIC)
    git_init(pristine)
    proj = copy_project(pristine, base / "proj")
    before = tree(proj)
    time.sleep(0.01)  # mtimes would move if anything were rewritten
    names = list(READ_ONLY_RUNS)
    results = concurrently(
        *(
            lambda a=READ_ONLY_RUNS[n][0], e=READ_ONLY_RUNS[n][1]: run_lazify(*a, cwd=proj, env=e)
            for n in names
        )
    )
    return Basic(pristine, proj, before, tree(proj), dict(zip(names, results)))


# ---------------------------------------------------------------------------------------------
# 1. --dry-run / --check


@pytest.mark.slow
def test_dry_run_writes_nothing_prints_a_patch_and_exits_1(basic: Basic) -> None:
    r = basic.run
    assert r.returncode == 1, err(r)
    # Compared around every read-only run of the fixture, --check included.
    assert basic.after == basic.before, "--dry-run modified files"
    assert_is_patch(r.stdout)
    assert sorted(diffed_files(r.stdout)) == ["app/models.py", "we,ird%.py"]
    # The report is on stderr, never on stdout, and ends with the one-line summary.
    assert b"LZY001" not in r.stdout and "app/blocked.py:1:1" in err(r)
    assert "diff --git" not in err(r)
    assert err(r).endswith(".\n")
    assert SUMMARY.match(summary_line(r)), summary_line(r)
    assert "2 files would be rewritten" in summary_line(r)
    assert sum(bool(SUMMARY.match(x)) for x in err(r).splitlines()) == 1

    # --check is the same option.
    check = basic.runs["check"]
    assert check.returncode == 1
    assert check.stdout == r.stdout
    assert check.stderr == r.stderr


# ---------------------------------------------------------------------------------------------
# 2./3. the patch applies with git apply and equals --yes; --yes is idempotent


@pytest.mark.slow
def test_dry_run_patch_git_applies_like_yes_and_yes_is_idempotent(basic: Basic, tmp_path: Path) -> None:
    via_git = copy_project(basic.pristine, tmp_path / "via_git")
    via_yes = copy_project(basic.pristine, tmp_path / "via_yes")

    git_apply(basic.run.stdout, via_git)
    # The copy is a git repository whose files are all uncommitted (untracked).
    (yes,) = concurrently(lambda: run_lazify("apply", "--yes", "--allow-dirty", ".", cwd=via_yes))
    assert yes.returncode == 0, err(yes)
    assert "2 files rewritten" in summary_line(yes)
    assert yes.stdout == b""
    assert tree(via_git, meta=False) == tree(via_yes, meta=False)
    assert tree(via_yes, meta=False) != tree(basic.pristine, meta=False)
    models = (via_yes / "app/models.py").read_text()
    assert_moved(models, func="predict")
    assert (via_yes / "app/blocked.py").read_bytes() == (basic.pristine / "app/blocked.py").read_bytes()

    before = tree(via_yes)
    again, twice = concurrently(
        lambda: run_lazify("apply", "--dry-run", ".", cwd=via_git),
        lambda: run_lazify("apply", "--yes", ".", cwd=via_yes),
    )
    assert again.returncode == 0, err(again)
    assert again.stdout == b""
    assert "0 files would be rewritten" in summary_line(again)

    assert twice.returncode == 0, err(twice)
    assert "0 files rewritten" in summary_line(twice)
    assert tree(via_yes) == before


@pytest.mark.slow
def test_patch_paths_are_prefixed_when_the_project_is_a_subdirectory_of_the_repo(tmp_path: Path) -> None:
    files = {
        "svc/pyproject.toml": "[tool.lazify]\n",
        "svc/pkg/__init__.py": "",
        "svc/pkg/a.py": MOVES_NUMPY,
        "svc/b.py": "import torch\n\n\ndef g():\n    return torch.ones(1)\n",
        "README": "not python\n",
    }
    repo = write_tree(tmp_path / "repo", files)
    git_init(repo)
    twin = copy_project(repo, tmp_path / "twin")

    r, yes = concurrently(
        lambda: run_lazify("apply", "--dry-run", ".", cwd=repo / "svc"),
        lambda: run_lazify("apply", "--yes", "--allow-dirty", ".", cwd=twin / "svc"),  # nothing committed
    )
    assert r.returncode == 1, err(r)
    assert diffed_files(r.stdout) == ["svc/b.py", "svc/pkg/a.py"]
    assert b"\n--- a/svc/b.py\n+++ b/svc/b.py\n" in r.stdout
    git_apply(r.stdout, repo)
    assert yes.returncode == 0, err(yes)
    assert tree(repo, meta=False) == tree(twin, meta=False)
    assert_moved((repo / "svc/pkg/a.py").read_text())
    assert_moved((repo / "svc/b.py").read_text(), "torch", "g")


# ---------------------------------------------------------------------------------------------
# 4. no terminal, no --yes/--dry-run


@pytest.mark.slow
def test_no_tty_without_yes_or_dry_run_exits_2_at_once(basic: Basic) -> None:
    # stdin is a pipe that stays open: a prompt would block forever, so a timeout proves it
    # neither prompts nor waits.
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [*LAZIFY, "apply", "."], cwd=basic.proj, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("lazify apply without a terminal waited for input")
    stdout, stderr = proc.communicate()
    assert code == 2
    assert stdout == b""
    assert "--yes" in stderr.decode()
    assert "terminal" in stderr.decode()
    assert tree(basic.proj) == basic.before


# ---------------------------------------------------------------------------------------------
# 5. --select / --ignore


@pytest.mark.slow
@pytest.mark.parametrize("run", ["ignore-name", "ignore-code"])
def test_ignore_by_name_or_code_means_no_change(basic: Basic, run: str) -> None:
    r = basic.runs[run]
    assert r.returncode == 0, err(r)
    assert r.stdout == b""
    assert "LZY001" not in err(r)
    assert "0 files would be rewritten" in summary_line(r)


@pytest.mark.slow
def test_select_by_code_is_the_default_run(basic: Basic) -> None:
    r = basic.runs["select-code"]
    assert r.returncode == 1
    assert r.stdout == basic.run.stdout


@pytest.mark.slow
def test_unknown_codemod_name_exits_2_naming_it(basic: Basic) -> None:
    r = basic.runs["select-unknown"]
    assert r.returncode == 2
    assert r.stdout == b""
    assert "no-such-codemod" in err(r)


# ---------------------------------------------------------------------------------------------
# 6. --unsafe-fixes


@pytest.mark.slow
def test_unused_heavy_import_is_removed_only_with_unsafe_fixes(basic: Basic) -> None:
    # Without it (the shared run): not in the patch, and the summary says so.
    assert "app/unused.py" not in diffed_files(basic.run.stdout)
    line = summary_line(basic.run)
    assert "1 unsafe fix not applied" in line and "--unsafe-fixes" in line

    r = basic.runs["unsafe"]
    assert r.returncode == 1
    assert "app/unused.py" in diffed_files(r.stdout)
    assert "\n-import torch\n" in out(r)
    assert "unsafe" not in summary_line(r)


# ---------------------------------------------------------------------------------------------
# 7. --strict


@pytest.mark.slow
def test_strict_makes_a_blocked_finding_fail_a_dry_run(project) -> None:
    root = project({"mod.py": "import numpy as np\n\nX = np.zeros(1)\n\n\ndef f():\n    return np.ones(1)\n"})
    plain, strict = concurrently(
        lambda: run_lazify("apply", "--dry-run", ".", cwd=root),
        lambda: run_lazify("apply", "--check", "--strict", ".", cwd=root),
    )
    assert plain.returncode == 0, err(plain)  # nothing to change: exit 0
    assert plain.stdout == b""
    assert "1 blocked" in summary_line(plain)

    assert strict.returncode == 1, err(strict)
    assert strict.stdout == b""
    assert "1 blocked" in summary_line(strict)


# ---------------------------------------------------------------------------------------------
# 8. json


@pytest.mark.slow
def test_json_output(basic: Basic) -> None:
    r = basic.runs["json"]
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    changes = doc["changes"]
    assert isinstance(changes, list) and changes
    for c in changes:
        for key in ("file", "line", "codemod", "message", "safety", "applied", "diff"):
            assert key in c, (key, c)
        assert c["safety"] in ("safe", "unsafe", "blocked")
        assert isinstance(c["line"], int) and c["line"] >= 1
        assert isinstance(c["applied"], bool)
        assert c["codemod"] == "LZY001"
        assert c["message"]
        if c["applied"]:
            assert isinstance(c["diff"], str) and c["diff"].strip()
            assert f"--- a/{c['file']}\n+++ b/{c['file']}\n@@ " in c["diff"]
        if c["safety"] == "blocked":
            assert c["diff"] is None
            assert c["applied"] is False
    by_file = {c["file"]: c for c in changes}
    assert by_file["app/blocked.py"]["safety"] == "blocked"
    assert by_file["app/blocked.py"]["line"] == 1
    assert by_file["app/models.py"]["safety"] == "safe" and by_file["app/models.py"]["applied"] is True
    assert by_file["app/models.py"]["line"] == 3
    assert by_file["app/unused.py"]["safety"] == "unsafe" and by_file["app/unused.py"]["applied"] is False


# ---------------------------------------------------------------------------------------------
# 9. github

# https://docs.github.com/actions/reference/workflow-commands-for-github-actions
# ::error file={name},line={line},endLine={endLine},title={title}::{message}
# Data escapes % \r \n; property values also escape : and ,.
_PROP_VALUE = r"(?:[^%\r\n:,]|%25|%0D|%0A|%3A|%2C)*"
_PROP = rf"(?:title|file|col|endColumn|line|endLine)={_PROP_VALUE}"
GITHUB_LINE = re.compile(
    rf"^::(?P<level>error|warning|notice) (?P<props>{_PROP}(?:,{_PROP})*)::(?P<msg>(?:[^%\r\n]|%25|%0D|%0A)*)$"
)


def _gh_unescape(s: str) -> str:
    return re.sub(
        r"%(25|0D|0A|3A|2C)",
        lambda m: {"25": "%", "0D": "\r", "0A": "\n", "3A": ":", "2C": ","}[m.group(1)],
        s,
    )


@pytest.mark.slow
def test_github_output(basic: Basic) -> None:
    r = basic.runs["github"]
    assert r.returncode == 1
    lines = out(r).split("\n")
    assert lines[-1] == ""
    files = set()
    for line in lines[:-1]:
        m = GITHUB_LINE.match(line)
        assert m, f"not a GitHub workflow command: {line!r}"
        props = dict(p.split("=", 1) for p in m.group("props").split(","))
        assert "file" in props and "line" in props, line
        assert re.fullmatch(r"[1-9]\d*", props["line"]), line
        files.add(_gh_unescape(props["file"]))
    assert files == {"app/models.py", "app/blocked.py", "app/unused.py", "we,ird%.py"}
    assert "file=we%2Cird%25.py," in out(r)


# ---------------------------------------------------------------------------------------------
# 10. exit codes: the highest wins


@pytest.mark.slow
def test_a_broken_file_makes_exit_2_but_the_good_file_is_still_in_the_patch(project) -> None:
    root = project({"good.py": MOVES_NUMPY, "broken.py": "import numpy as np\n\ndef f(:\n    return np\n"})
    before = tree(root)
    r = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert r.returncode == 2, err(r)
    assert diffed_files(r.stdout) == ["good.py"]
    assert_is_patch(r.stdout)
    assert re.search(r"(?m)^broken\.py:\d+:\d+: error: SyntaxError: ", err(r)), err(r)
    assert "1 file failed" in summary_line(r)
    assert tree(root) == before


# ---------------------------------------------------------------------------------------------
# 11. -j does not change the output


@pytest.mark.slow
def test_output_does_not_depend_on_jobs(project) -> None:
    files = {f"pkg/m{i:02d}.py": MOVES_NUMPY for i in range(12)}
    files["pkg/__init__.py"] = ""
    files["pkg/z_blocked.py"] = "import torch\n\nT = torch.ones(1)\n"
    files["pkg/y_broken.py"] = "import numpy as np\nx = (\n"
    root = project(files)
    one, four = concurrently(
        lambda: run_lazify("apply", "--dry-run", "--no-cache", "-j1", ".", cwd=root),
        lambda: run_lazify("apply", "--dry-run", "--no-cache", "-j4", ".", cwd=root),
    )
    assert one.returncode == four.returncode == 2
    assert len(diffed_files(one.stdout)) == 12
    assert diffed_files(one.stdout) == sorted(diffed_files(one.stdout))
    assert one.stdout == four.stdout
    assert one.stderr == four.stderr
    # --no-cache neither reads nor writes a cache.
    assert not (root / ".lazify_cache").exists()


# ---------------------------------------------------------------------------------------------
# 12./13. codemods, explain, and the documented example


@pytest.mark.slow
def test_codemods_and_explain() -> None:
    here = Path(__file__).parent
    listing, by_name, by_code, unknown = concurrently(
        lambda: run_lazify("codemods", cwd=here),
        lambda: run_lazify("explain", "heavy-imports", cwd=here),
        lambda: run_lazify("explain", "LZY001", cwd=here),
        lambda: run_lazify("explain", "no-such-codemod", cwd=here),
    )
    assert listing.returncode == 0
    assert re.search(r"(?m)^LZY001\s+heavy-imports\b", out(listing)), out(listing)

    assert by_name.returncode == by_code.returncode == 0
    assert by_name.stdout == by_code.stdout
    doc = out(by_name)
    for section in ("## What it does", "## Why is this bad?", "## Example", "Use instead", "## Fix safety"):
        assert section in doc, section
    assert doc.index("## What it does") < doc.index("## Why is this bad?") < doc.index("## Example")
    assert doc.index("## Example") < doc.index("Use instead") < doc.index("## Fix safety")

    assert unknown.returncode == 2
    assert unknown.stdout == b""
    assert "no-such-codemod" in err(unknown)
    # The default list lives in the source; explain shows it (issue 15 #12).
    from lazifier.settings import DEFAULT_HEAVY_MODULES

    assert "## Default `heavy-modules`" in doc
    assert all(f"- `{m}`: " in doc for m in DEFAULT_HEAVY_MODULES)


@pytest.mark.slow
def test_config_shows_each_setting_and_where_it_came_from(project) -> None:
    """Issue 15 #12: the effective settings, as a [tool.lazify] table one can paste, each with
    its origin: a default, which pyproject.toml, or the inference from requires-python."""
    import tomllib

    root = project({"app.py": "x = 1\n"}, 'extend-heavy-modules = ["polars"]\nunsafe-fixes = true\n')
    pyproject = root / "pyproject.toml"
    pyproject.write_text('[project]\nrequires-python = ">=3.12"\n\n' + pyproject.read_text())
    r = run_lazify("config", cwd=root)
    assert r.returncode == 0, err(r)
    text = out(r)
    table = tomllib.loads(text)["tool"]["lazify"]  # what it prints is valid TOML
    from lazifier.settings import DEFAULT_HEAVY_MODULES

    assert table["heavy-modules"] == [*DEFAULT_HEAVY_MODULES, "polars"]
    assert table["unsafe-fixes"] is True and table["target-version"] == "py312"
    assert f"# heavy-modules: default, extended by {pyproject} [tool.lazify]" in text
    assert f"unsafe-fixes = true  # {pyproject} [tool.lazify]" in text
    assert f'target-version = "py312"  # {pyproject} (inferred from project.requires-python)' in text
    assert 'style = "local"  # default' in text
    assert f"# project root: {root}" in text and "SQLAlchemy 2.0 usable:" in text


@pytest.mark.slow
def test_config_takes_the_command_line_and_names_it(project) -> None:
    """The flags `apply` takes for settings, `config` takes too, and names as the origin; an
    unset `select` shows what it means (every codemod)."""
    import tomllib

    from codemods.catalog import entries

    root = project({"app.py": "x = 1\n"}, "unsafe-fixes = false\n")
    plain = out(run_lazify("config", cwd=root))
    codes = [e.code for e in entries()]
    assert tomllib.loads(plain)["tool"]["lazify"]["select"] == codes
    assert "# default: every codemod" in plain
    r = run_lazify(
        "config", "--unsafe-fixes", "--select", "heavy-imports", "--style", "lazy-modules", cwd=root
    )
    assert r.returncode == 0, err(r)
    text = out(r)
    table = tomllib.loads(text)["tool"]["lazify"]
    assert table["unsafe-fixes"] is True and table["select"] == ["heavy-imports"]
    assert "unsafe-fixes = true  # --unsafe-fixes" in text  # the command line wins over the file
    assert 'select = ["heavy-imports"]  # --select' in text
    assert 'style = "lazy-modules"  # --style' in text


def _python_block_after(doc: str, marker: str) -> str:
    start = doc.index(marker)
    m = re.compile(r"```python\n(.*?)```", re.S).search(doc, start)
    assert m, f"no python block after {marker!r}"
    return m.group(1)


@pytest.mark.slow
@pytest.mark.parametrize("cls", REGISTRY, ids=lambda c: c.name)
def test_documented_example_gives_exactly_use_instead(cls: type, project) -> None:
    doc = doc_of(cls).markdown()
    example = _python_block_after(doc, "## Example")
    expected = _python_block_after(doc, "Use instead:")
    # A project that uses SQLAlchemy 2 (declarative-base's examples need it).
    root = project({"example.py": example, "requirements.txt": "sqlalchemy>=2\n"})
    # The example documents this codemod alone, whether its fix is safe or not.
    r = run_lazify("apply", "--yes", "--unsafe-fixes", "--select", cls.name, "example.py", cwd=root)
    assert r.returncode == 0, err(r)
    assert (root / "example.py").read_text() == expected


# ---------------------------------------------------------------------------------------------
# 14. the cache


@pytest.mark.slow
def test_cache_is_not_stale_when_another_file_starts_importing_the_name(project) -> None:
    root = project({
        "pkg/__init__.py": "",
        "pkg/mod.py": MOVES_NUMPY,
        "other.py": "def g():\n    return 1\n",
    })  # fmt: skip
    first = run_lazify("apply", "--dry-run", ".", cwd=root)
    second = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert (root / ".lazify_cache").is_dir()
    assert first.returncode == second.returncode == 1
    assert diffed_files(first.stdout) == diffed_files(second.stdout) == ["pkg/mod.py"]
    assert first.stdout == second.stdout

    (root / "other.py").write_text("from pkg.mod import np\n\n\ndef g():\n    return np.ones(1)\n")
    third = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert third.returncode == 0, out(third) + err(third)
    assert third.stdout == b"", "a stale cached result still moves numpy out of pkg/mod.py"
    assert re.search(r"(?m)^pkg/mod\.py:1:1: LZY001 \[blocked\]", err(third)), err(third)
    assert "other.py" in err(third)


@pytest.mark.slow
def test_no_cache_leaves_no_cache_directory(project) -> None:
    root = project({"a.py": MOVES_NUMPY, "b.py": MOVES_NUMPY})
    r = run_lazify("apply", "--yes", "--no-cache", ".", cwd=root)
    assert r.returncode == 0, err(r)
    assert_moved((root / "a.py").read_text())
    assert not (root / ".lazify_cache").exists(), sorted(p.name for p in (root / ".lazify_cache").iterdir())


# ---------------------------------------------------------------------------------------------
# 15. configuration


JSON_IN_FUNCTION = "import json\n\n\ndef f():\n    return json.dumps(1)\n"


@pytest.mark.slow
def test_config_heavy_modules_replaces_the_list_and_exclude_skips(project) -> None:
    root = project(
        {
            "j.py": JSON_IN_FUNCTION,
            "n.py": MOVES_NUMPY,
            "legacy_j.py": JSON_IN_FUNCTION,
            "sub/legacy_x.py": JSON_IN_FUNCTION,
        },
        'heavy-modules = ["json"]\nexclude = ["legacy_*.py"]\n',
    )
    r = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert r.returncode == 1, err(r)
    assert diffed_files(r.stdout) == ["j.py"]  # numpy is no longer heavy; legacy_* excluded


@pytest.mark.slow
def test_config_extend_heavy_extend_exclude_gitignore_generated_and_suppressions(
    project,
) -> None:
    files = {
        "j.py": JSON_IN_FUNCTION,
        "n.py": MOVES_NUMPY,
        "vendor/lib.py": MOVES_NUMPY,
        "ignored_by_git.py": MOVES_NUMPY,
        ".gitignore": "ignored_by_git.py\n",
        "gen.py": "# @generated by a tool; do not edit\n" + MOVES_NUMPY,
        "sup.py": (
            "import numpy as np  # lazify: ignore\n"
            "import pandas as pd  # lazify: ignore[heavy-imports]\n"
            "import torch\n"
            "\n"
            "\n"
            "def f():\n"
            "    return np.zeros(1), pd.DataFrame(), torch.ones(1)\n"
        ),
    }
    root = project(files, 'extend-heavy-modules = ["json"]\nextend-exclude = ["vendor/"]\n')
    git_init(root)
    before = tree(root)
    r = run_lazify("apply", "--yes", "--allow-dirty", ".", cwd=root)  # a repository with nothing committed
    assert r.returncode == 0, err(r)
    after = tree(root, meta=False)
    changed = sorted(rel for rel in after if after[rel][0] != before[rel][0])
    assert changed == ["j.py", "n.py", "sup.py"], changed
    assert_moved((root / "j.py").read_text(), "json")
    assert_moved((root / "n.py").read_text(), "numpy")
    sup = (root / "sup.py").read_text()
    assert {"numpy", "pandas"} <= top_level_imports(sup)  # suppressed: kept
    assert_moved(sup, "torch")
    assert "gen.py: skipped: marked @generated" in err(r)
    assert "1 skipped" in summary_line(r)


# ---------------------------------------------------------------------------------------------
# 16. a crashing worker costs one file


@pytest.mark.slow
def test_a_worker_crash_costs_one_file_not_the_run(project) -> None:
    deep = (
        "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n\n\nx = "
        + "(" * 5000
        + "1"
        + ")" * 5000
        + "\n"
    )
    files = {"deep.py": deep, **{f"ok{i}.py": MOVES_NUMPY for i in range(3)}}
    root = project(files)
    r = run_lazify("apply", "--yes", ".", cwd=root)
    assert r.returncode == 2, err(r)
    assert (root / "deep.py").read_text() == deep
    for i in range(3):
        assert_moved((root / f"ok{i}.py").read_text())
    assert re.search(r"(?m)^deep\.py(:\d+)?: error: ", err(r)), err(r)
    line = summary_line(r)
    assert "3 files rewritten" in line and "1 file failed" in line, line
    # The file is not a round-trip problem: its worker died.
    assert "round-trip" not in line, line


# ---------------------------------------------------------------------------------------------
# 17. colour


@pytest.mark.slow
def test_no_colour_without_a_terminal_and_colour_with_always(basic: Basic) -> None:
    plain = basic.runs["colour-auto"]
    assert plain.returncode == 1
    assert not ANSI.search(plain.stderr), plain.stderr[:300]
    assert not ANSI.search(plain.stdout)

    always = basic.runs["colour-always"]
    assert always.returncode == 1
    assert ANSI.search(always.stderr)
    assert always.stdout == plain.stdout  # the patch stays a patch
    assert ANSI.sub(b"", always.stderr) == plain.stderr


@pytest.mark.slow
def test_one_run_is_enough_when_later_codemods_would_open_up_more(project) -> None:
    """A heavy import used only by a singleton's value, or by a line that moves into
    ``create_app()``, is movable only after those rewrites: codemods that move code into
    functions run first, so a second run finds nothing (the stdlib sweep found this)."""
    root = project(
        {
            "pkg/__init__.py": "",
            "pkg/model.py": (
                "import numpy as np\n\n\n"
                "class Model:\n    def __init__(self, w):\n        self.w = w\n\n\n"
                "model = Model(np.zeros(3))\n\n\n"
                "def predict(x):\n    return model.w @ x\n"
            ),
            "pkg/main.py": (
                "import numpy as np\nfrom fastapi import FastAPI\n\n"
                "app = FastAPI()\napp.state.weights = np.ones(3)\n"
            ),
        }
    )
    first = run_lazify("apply", "--yes", ".", cwd=root)
    assert first.returncode == 0, first.stderr.decode()
    model = (root / "pkg/model.py").read_text()
    main = (root / "pkg/main.py").read_text()
    assert "numpy" not in top_level_imports(model) and "def get_model()" in model, model
    assert "numpy" not in top_level_imports(main) and "def create_app()" in main, main
    again = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert again.returncode == 0 and again.stdout == b"", again.stdout.decode()


@pytest.mark.slow
def test_a_repository_inside_another_project_is_its_own_project(tmp_path: Path) -> None:
    """A checkout under an outer project's ignored `build/` takes neither the outer
    pyproject.toml nor its .gitignore: the nearest pyproject.toml or .git is the root."""
    outer = tmp_path / "outer"
    write_tree(
        outer, {"pyproject.toml": "[tool.lazify]\nselect = ['app-factory']\n", ".gitignore": "build/\n"}
    )
    inner = outer / "build" / "svc"
    write_tree(inner, {"m.py": "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n"})
    subprocess.run(["git", "init", "-q", str(inner)], check=True)
    r = run_lazify("apply", "--dry-run", ".", cwd=inner)
    assert r.returncode == 1, err(r)
    assert b"+    import numpy as np" in r.stdout


@pytest.mark.slow
def test_a_change_that_spans_files_counts_once_in_every_summary(project) -> None:
    """One unit everywhere: a change is one fix (one decision in the review), however many
    files it touches. A singleton and its reader are two files and one change, in the dry
    run's summary line, the JSON summary, and the --yes summary."""
    root = project({
        "pkg/__init__.py": "",
        "pkg/svc.py": "class Service:\n    def __init__(self):\n        self.ready = True\n\n\nservice = Service()\n",
        "pkg/view.py": "from pkg.svc import service\n\n\ndef handle():\n    return service.ready\n",
    })  # fmt: skip
    dry, as_json = concurrently(
        lambda: run_lazify("apply", "--dry-run", ".", cwd=root),
        lambda: run_lazify("apply", "--dry-run", "--output-format", "json", ".", cwd=root),
    )
    doc = json.loads(as_json.stdout)
    fix_ids = {c["fix_id"] for c in doc["changes"] if c["applied"]}
    files = {c["file"] for c in doc["changes"] if c["applied"]}
    assert len(fix_ids) == 1 and len(files) == 2, doc["changes"]
    assert doc["summary"]["changes"] == 1
    assert summary_line(dry) == "lazify: 2 files would be rewritten, 1 unchanged; 1 change.", err(dry)
    assert doc["summary"]["text"] == summary_line(dry).removeprefix("lazify: ")
    yes = run_lazify("apply", "--yes", ".", cwd=root)
    assert summary_line(yes) == "lazify: 2 files rewritten, 1 unchanged; 1 change.", err(yes)
