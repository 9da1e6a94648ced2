"""Bad input, one case per test: the file is reported (``path:line: reason``) or skipped with a
clear message, the other files are still processed, nothing is corrupted, and the exit code is
the contract's (0 nothing to do / applied, 1 dry run found changes, 2 a file failed).

The real CLI in a subprocess, on real files. Several healthy-but-unusual files (encodings, line
endings, modes) share one project and one pair of runs, to keep the file fast.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import LAZIFY, assert_moved, concurrently, diffed_files, err, run_lazify, write_tree

MOVES_NUMPY = "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n"


# ---------------------------------------------------------------------------------------------
# helpers


def git(*args: str, cwd: Path, input: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        ["git", "-c", "core.autocrlf=false", *args],
        cwd=cwd, input=input, capture_output=True, env=env, timeout=60,
    )  # fmt: skip


def both(a, b):
    """Two independent runs in parallel (separate processes; this only saves wall time)."""
    with ThreadPoolExecutor(max_workers=2) as ex:
        fa, fb = ex.submit(a), ex.submit(b)
        return fa.result(), fb.result()


def summary_line(r: subprocess.CompletedProcess) -> str:
    return err(r).rstrip("\n").split("\n")[-1]


def good_project(project, files: dict, config: str = "") -> Path:
    """A project with the bad input plus a healthy file that must still be rewritten."""
    return project({"good.py": MOVES_NUMPY, **files}, config)


def assert_good_rewritten(root: Path) -> None:
    assert_moved((root / "good.py").read_text())


# ---------------------------------------------------------------------------------------------
# Broken files: reported with their line, left alone, exit 2


@pytest.mark.slow
def test_syntax_error_is_reported_with_its_line_and_left_unchanged(project) -> None:
    broken = b"import numpy as np\n\nx = = 1\n\n\ndef f():\n    return np.zeros(1)\n"
    with pytest.raises(SyntaxError) as python_says:
        compile(broken, "broken.py", "exec")
    assert python_says.value.lineno == 3
    root = good_project(project, {"broken.py": broken})
    r = run_lazify("apply", "--yes", ".", cwd=root)
    assert r.returncode == 2, err(r)
    assert (root / "broken.py").read_bytes() == broken
    assert_good_rewritten(root)
    # Python's own message and position, once (issue 15 #8: not LibCST's "parser error: error
    # at 3:4: expected one of ..." after a line of its own).
    e = python_says.value
    assert err(r).count(f"broken.py:{e.lineno}:{e.offset}: error: SyntaxError: {e.msg}\n") == 1, err(r)
    assert "parser error" not in err(r) and "error at" not in err(r)
    assert "1 file failed (1 syntax error)" in summary_line(r)
    # Errors are never quiet (issue 15 #9): -q still names the file.
    quiet = run_lazify("apply", "--dry-run", "-q", ".", cwd=root)
    assert quiet.returncode == 2
    assert f"broken.py:{e.lineno}:{e.offset}: error: SyntaxError: {e.msg}" in err(quiet), err(quiet)


@pytest.mark.slow
def test_undecodable_bytes_are_reported_with_their_line_and_left_unchanged(project) -> None:
    bad = b"import numpy as np\n\n\nS = '\xff\xfe'\n\n\ndef f():\n    return np.zeros(1)\n"
    root = good_project(project, {"undecodable.py": bad})
    r = run_lazify("apply", "--yes", ".", cwd=root)
    assert r.returncode == 2, err(r)
    assert (root / "undecodable.py").read_bytes() == bad
    assert_good_rewritten(root)
    assert re.search(r"(?m)^undecodable\.py:4: error: can't decode byte 0xff", err(r)), err(r)
    assert "1 undecodable" in summary_line(r)


@pytest.mark.slow
def test_read_only_file_is_reported_and_left_unchanged(project) -> None:
    root = good_project(project, {"ro.py": MOVES_NUMPY})
    ro = root / "ro.py"
    ro.chmod(0o444)
    r = run_lazify("apply", "--yes", ".", cwd=root)
    assert r.returncode == 2, err(r)
    # Compare bytes: as root, writing a 0o444 file would succeed.
    assert ro.read_bytes() == MOVES_NUMPY.encode()
    assert stat.S_IMODE(ro.stat().st_mode) == 0o444
    assert_good_rewritten(root)
    assert re.search(r"(?m)^ro\.py(:\d+)?: error: read-only", err(r)), err(r)
    assert "1 file rewritten" in summary_line(r)


@pytest.mark.slow
def test_a_syntax_error_no_codemod_would_touch_is_still_reported(project) -> None:
    # Nothing here matches a codemod, so only a parse finds the error. The README's promise:
    # syntax errors are reported as `path:line:column: reason`, and a file that could not be processed
    # exits 2. Syntax the target version has (3.12's `type`) is not an error, whatever Python
    # runs lazify.
    files = {"broken.py": b"def f(:\n    pass\n", "newer.py": b"type Alias = int\n"}
    root = good_project(project, files, 'target-version = "py312"\n')
    default, only_heavy, older = concurrently(
        lambda: run_lazify("apply", "--dry-run", ".", cwd=root),
        lambda: run_lazify("apply", "--dry-run", "--select", "heavy-imports", ".", cwd=root),
        # A target this interpreter covers: its compiler decides.
        lambda: run_lazify(
            "apply", "--dry-run", "--target-version", "py310", "good.py", "broken.py", cwd=root
        ),
    )
    for r in (default, only_heavy, older):
        assert r.returncode == 2, err(r)
        assert re.search(r"(?m)^broken\.py:1:\d+: error: SyntaxError: ", err(r)), err(r)
        assert "newer.py" not in err(r)
        unchanged = 0 if r is older else 1
        assert summary_line(r).startswith(
            f"lazify: 1 file would be rewritten, {unchanged} unchanged, 1 file failed (1 syntax error)"
        ), err(r)


@pytest.mark.slow
def test_a_utf16_requirements_file_is_read_not_a_traceback(project) -> None:
    # pip reads a requirements file with a UTF-16 BOM, so lazify does too.
    models = b"from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n"
    root = good_project(project, {"requirements.txt": "sqlalchemy<2\n".encode("utf-16"), "models.py": models})
    r = run_lazify("apply", "--dry-run", "--unsafe-fixes", ".", cwd=root)
    assert "Traceback" not in err(r), err(r)
    assert r.returncode == 1, err(r)
    assert "declared `sqlalchemy<2` in requirements.txt" in err(r), err(r)


# ---------------------------------------------------------------------------------------------
# Unusual but healthy files, in one project: a dry run whose patch goes through `git apply`,
# and `--yes` on an identical copy.

LATIN1 = (
    b"# -*- coding: latin-1 -*-\n"
    b"import numpy as np\n"
    b"\n"
    b'GREETING = "caf\xe9 \xa9 \xbd"\n'
    b"\n"
    b"\n"
    b"def f():\n"
    b"    return np.zeros(1)\n"
)
CRLF = b"import os\r\nimport numpy as np\r\n\r\n\r\ndef f():\r\n    return np.zeros(1)\r\n\r\n\r\ndef g():\r\n    return os.sep\r\n"
BOM = b"\xef\xbb\xbf" + b"import os\nimport numpy as np\n\n\ndef f():\n    return np.zeros(1), os.sep\n"
NO_FINAL_NEWLINE = b"import os\nimport numpy as np\n\n\ndef f():\n    return np.zeros(1), os.sep"
ODD = {
    "latin1.py": LATIN1,
    "crlf.py": CRLF,
    "bom.py": BOM,
    "no_newline.py": NO_FINAL_NEWLINE,
    "empty.py": b"",
    "script.py": b"#!/usr/bin/env python\n" + MOVES_NUMPY.encode(),
}


class Odd:
    def __init__(self, pristine: Path, via_git: Path, via_yes: Path, dry, yes) -> None:
        self.pristine, self.via_git, self.via_yes, self.dry, self.yes = pristine, via_git, via_yes, dry, yes

    def all(self, rel: str) -> tuple[bytes, bytes, bytes]:
        """(original, after git apply of the dry-run patch, after --yes)."""
        return tuple((d / rel).read_bytes() for d in (self.pristine, self.via_git, self.via_yes))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Odd:
    base = tmp_path_factory.mktemp("odd")
    pristine = base / "pristine"
    pristine.mkdir()
    (pristine / "pyproject.toml").write_text("[tool.lazify]\n")
    write_tree(pristine, {"good.py": MOVES_NUMPY, **ODD})
    (pristine / "script.py").chmod(0o755)
    via_git = base / "via_git"
    via_yes = base / "via_yes"
    shutil.copytree(pristine, via_git, symlinks=True)
    shutil.copytree(pristine, via_yes, symlinks=True)
    assert git("init", "-q", ".", cwd=via_git).returncode == 0
    dry, yes = both(
        lambda: run_lazify("apply", "--dry-run", ".", cwd=via_git),
        lambda: run_lazify("apply", "--yes", ".", cwd=via_yes),
    )
    if dry.returncode == 1:
        applied = git("apply", "-", cwd=via_git, input=dry.stdout)
        assert (
            applied.returncode == 0
        ), f"git apply failed: {applied.stderr.decode()}\n{dry.stdout.decode(errors='replace')}"
    return Odd(pristine, via_git, via_yes, dry, yes)


def _check_odd_run(odd: Odd, rel: str) -> None:
    assert odd.dry.returncode == 1, err(odd.dry)
    assert odd.yes.returncode == 0, err(odd.yes)
    for r in (odd.dry, odd.yes):
        assert not re.search(rf"(?m)^{re.escape(rel)}(:\d+)?: (error|skipped)", err(r)), err(r)
    assert_good_rewritten(odd.via_yes)


@pytest.mark.slow
def test_latin1_file_is_rewritten_and_stays_latin1(odd: Odd) -> None:
    _check_odd_run(odd, "latin1.py")
    original, via_git, via_yes = odd.all("latin1.py")
    assert via_yes != original
    assert b'GREETING = "caf\xe9 \xa9 \xbd"\n' in via_yes  # the exact latin-1 bytes survive
    assert b"\xc3" not in via_yes  # not re-encoded as UTF-8
    assert via_yes.startswith(b"# -*- coding: latin-1 -*-\n")
    assert_moved(via_yes.decode("latin-1"))
    assert via_git == via_yes


@pytest.mark.slow
def test_crlf_file_keeps_crlf_everywhere(odd: Odd) -> None:
    _check_odd_run(odd, "crlf.py")
    original, via_git, via_yes = odd.all("crlf.py")
    assert via_yes != original
    assert re.search(rb"(?<!\r)\n", via_yes) is None, via_yes
    assert b"\r\n    import numpy as np\r\n" in via_yes
    assert_moved(via_yes.decode())
    assert via_git == via_yes


@pytest.mark.slow
def test_utf8_bom_is_kept(odd: Odd) -> None:
    _check_odd_run(odd, "bom.py")
    original, via_git, via_yes = odd.all("bom.py")
    assert via_yes != original
    assert via_yes.startswith(b"\xef\xbb\xbf") and not via_yes.startswith(b"\xef\xbb\xbf" * 2)
    assert_moved(via_yes.decode("utf-8-sig"))
    assert via_git == via_yes


@pytest.mark.slow
def test_no_final_newline_is_handled(odd: Odd) -> None:
    _check_odd_run(odd, "no_newline.py")
    original, via_git, via_yes = odd.all("no_newline.py")
    assert via_yes != original
    assert via_yes.endswith(b"return np.zeros(1), os.sep")  # no newline added
    assert_moved(via_yes.decode())
    assert via_git == via_yes
    assert b"\\ No newline at end of file\n" in odd.dry.stdout


@pytest.mark.slow
def test_empty_file_is_left_alone(odd: Odd) -> None:
    _check_odd_run(odd, "empty.py")
    assert odd.all("empty.py") == (b"", b"", b"")
    assert "empty.py" not in diffed_files(odd.dry.stdout)
    assert "empty.py" not in err(odd.dry) + err(odd.yes)


@pytest.mark.slow
def test_file_mode_survives(odd: Odd) -> None:
    _check_odd_run(odd, "script.py")
    original, via_git, via_yes = odd.all("script.py")
    assert via_yes != original
    assert_moved(via_yes.decode())
    assert stat.S_IMODE((odd.via_yes / "script.py").stat().st_mode) == 0o755
    assert via_git == via_yes


# ---------------------------------------------------------------------------------------------
# Symlinks


@pytest.mark.slow
def test_symlink_loop_is_reported_and_the_run_continues(project) -> None:
    root = good_project(project, {})
    os.symlink("b.py", root / "a.py")
    os.symlink("a.py", root / "b.py")
    r = run_lazify("apply", "--yes", ".", cwd=root)
    assert r.returncode == 2, err(r)
    assert_good_rewritten(root)
    assert re.search(r"(?m)^a\.py: error: symlink loop", err(r)), err(r)
    assert re.search(r"(?m)^b\.py: error: symlink loop", err(r)), err(r)
    assert os.readlink(root / "a.py") == "b.py" and os.readlink(root / "b.py") == "a.py"


@pytest.mark.slow
def test_a_symlink_to_a_fifo_is_reported_not_read(project) -> None:
    root = good_project(project, {})
    os.mkfifo(root / "pipe")
    os.mkfifo(root / "fifo.py")
    os.symlink("pipe", root / "link.py")
    r = run_lazify("apply", "--yes", ".", cwd=root, timeout=60)  # reading it would wait forever
    assert r.returncode == 2, err(r)
    assert_good_rewritten(root)
    assert re.search(r"(?m)^link\.py: error: not a regular file", err(r)), err(r)
    assert re.search(r"(?m)^fifo\.py: error: not a regular file", err(r)), err(r)


@pytest.mark.slow
def test_symlinks_inside_and_outside_the_project(project, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "shared.py"
    outside.parent.mkdir()
    outside.write_text(MOVES_NUMPY)
    root = project({"real.py": MOVES_NUMPY})
    os.symlink("real.py", root / "link.py")
    os.symlink(outside, root / "ext.py")

    dry = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert dry.returncode == 1, err(dry)
    assert diffed_files(dry.stdout) == ["real.py"]  # once, under its real name

    r = run_lazify("apply", "--yes", ".", cwd=root)
    assert r.returncode == 0, err(r)
    text = (root / "real.py").read_text()
    assert_moved(text)
    assert text.count("import numpy as np") == 1
    assert err(r).count("LZY001 [*]") == 1
    assert "1 file rewritten" in summary_line(r)
    # The links are still links, to the same targets.
    assert (root / "link.py").is_symlink() and os.readlink(root / "link.py") == "real.py"
    assert (root / "ext.py").is_symlink() and os.readlink(root / "ext.py") == str(outside)
    # Not written through.
    assert outside.read_text() == MOVES_NUMPY
    assert re.search(r"(?m)^ext\.py: skipped: .*outside the project", err(r)), err(r)


# ---------------------------------------------------------------------------------------------
# Usage errors


@pytest.mark.slow
def test_unknown_config_key_exits_2_naming_it(project) -> None:
    root = good_project(project, {}, 'heavy-modules = ["numpy"]\nheavy-modulez = ["torch"]\n')
    r = run_lazify("apply", "--yes", ".", cwd=root)
    assert r.returncode == 2
    assert "`heavy-modulez`" in err(r)
    assert "unknown key" in err(r)
    assert (root / "good.py").read_text() == MOVES_NUMPY


@pytest.mark.slow
def test_usage_errors_name_the_likely_word_and_where_it_came_from(project) -> None:
    """Issue 15 #10, #11: the command's own usage; "did you mean"; which file said it."""
    root = good_project(project, {}, 'extend-heavy-module = ["torch"]\n')
    key, bogus = concurrently(
        lambda: run_lazify("apply", "--yes", ".", cwd=root),
        lambda: run_lazify("apply", "--bogus", ".", cwd=root),
    )
    assert (
        key.returncode == 2
        and "unknown key `extend-heavy-module`; did you mean `extend-heavy-modules`?" in err(key)
    )
    # argparse's error, but with `apply`'s usage, not the top-level one.
    assert bogus.returncode == 2
    assert err(bogus).startswith(
        "usage: lazify apply "
    ) and "lazify apply: error: unrecognized arguments: --bogus" in err(bogus)
    root = good_project(project, {}, 'select = ["lazy-singleton"]\n')
    in_file, on_line = concurrently(
        lambda: run_lazify("apply", "--dry-run", ".", cwd=root),
        lambda: run_lazify("apply", "--dry-run", "--select", "heavy-import", ".", cwd=root),
    )
    assert in_file.returncode == 2
    assert (
        f"{root / 'pyproject.toml'} [tool.lazify]: unknown codemod `lazy-singleton` in `select`; did you mean `lazy-singletons`?"
        in err(in_file)
    )
    assert (
        on_line.returncode == 2
        and "--select: unknown codemod `heavy-import` in `select`; did you mean `heavy-imports`?"
        in err(on_line)
    )
    assert (root / "good.py").read_text() == MOVES_NUMPY


@pytest.mark.slow
def test_a_pyproject_that_is_not_utf8_is_one_line_not_a_traceback(project) -> None:
    root = good_project(project, {})
    (root / "pyproject.toml").write_bytes("[tool.lazify]\n".encode("utf-16"))
    r = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert r.returncode == 2, err(r)
    assert err(r).count("\n") == 1 and "pyproject.toml: invalid TOML: not UTF-8" in err(r), err(r)


@pytest.mark.slow
def test_missing_path_exits_2_with_a_clear_message(project) -> None:
    root = good_project(project, {})
    r = run_lazify("apply", "--dry-run", "does_not_exist.py", cwd=root)
    assert r.returncode == 2
    assert r.stdout == b""
    assert "does_not_exist.py" in err(r)
    assert "no such file" in err(r).lower()


@pytest.mark.slow
def test_a_reader_that_stops_reading_the_patch_gets_no_traceback(project) -> None:
    root = project({f"m{i}.py": MOVES_NUMPY.replace("def f", f"def f{i}") for i in range(40)})
    proc = subprocess.Popen(
        [*LAZIFY, "apply", "--dry-run", "."], cwd=root, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdout.close()  # as `| head` does once it has its lines
    errors = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 2
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors


@pytest.mark.slow
def test_an_unexpected_error_is_one_line_saying_where_not_a_traceback(project, monkeypatch, capsys) -> None:
    # The last resort, for what no test has found yet: so a fault is injected (a real input
    # that reaches here would be a bug to fix where it happens).
    from lazifier import cli
    from lazifier.engine import Engine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something no one foresaw\non two lines")

    monkeypatch.chdir(good_project(project, {}))
    monkeypatch.setattr(Engine, "run", broken)
    assert cli.main(["apply", "--dry-run", "."]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert re.fullmatch(
        r"lazify: internal error in lazifier/apply\.py:\d+: RuntimeError: something no one foresaw on two lines; please report it\n",
        out.err,
    ), out.err


# ---------------------------------------------------------------------------------------------
# An interrupted write


@pytest.mark.slow
def test_interrupted_write_leaves_whole_files_and_a_rerun_completes(project, tmp_path: Path) -> None:
    files = {f"m{i}.py": MOVES_NUMPY.replace("def f", f"def f{i}") for i in range(3)}
    root = project(files)
    twin = tmp_path / "twin"
    shutil.copytree(root, twin)
    expected_run, killed = both(
        lambda: run_lazify("apply", "--yes", ".", cwd=twin),
        lambda: run_lazify("apply", "--yes", ".", cwd=root, env={"LAZIFY_TEST_SIGNAL": "rename:1:KILL"}),
    )
    assert expected_run.returncode == 0
    expected = {rel: (twin / rel).read_bytes() for rel in files}
    assert all(expected[rel] != files[rel].encode() for rel in files)

    assert killed.returncode == -signal.SIGKILL, err(killed)
    states = {}
    for rel in files:
        data = (root / rel).read_bytes()
        tree = ast.dump(ast.parse(data))
        if data == files[rel].encode():
            assert tree == ast.dump(ast.parse(files[rel]))
            states[rel] = "old"
        else:
            assert data == expected[rel], f"{rel} is neither the old nor the new file:\n{data!r}"
            assert tree == ast.dump(ast.parse(expected[rel]))
            states[rel] = "new"
    assert sorted(states.values()) == ["new", "old", "old"], states

    again = run_lazify("apply", "--yes", ".", cwd=root)
    assert again.returncode == 0, err(again)
    assert {rel: (root / rel).read_bytes() for rel in files} == expected
    leftovers = [p.name for p in root.iterdir() if p.name.endswith((".lazify-tmp", ".lazify-bak"))]
    assert leftovers == []
    assert "interrupted write" in err(again)
