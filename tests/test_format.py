"""``--format black|ruff``: the files lazify changes are formatted with the project's own
formatter configuration before they are written or shown as a patch. Through the real CLI,
with the real formatters."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import LAZIFY, ROOT, assert_moved, concurrently, diffed_files, err, run_lazify, write_tree

# After the move, `f`'s call is longer than the project's line length (30).
LONG = 'import numpy as np\n\n\ndef f():\n    return np.zeros(1, dtype="float32", order="C")\n'
UNFORMATTED = "x = [1,2,3]\n"
CONFIG = (
    "[tool.lazify]\n"
    "[tool.black]\nline-length = 30\n"
    '[tool.ruff]\nline-length = 30\n[tool.ruff.format]\nquote-style = "single"\n'
)


def formatter(name: str) -> str:
    exe = shutil.which(
        name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if exe is None:
        # black and ruff are in the `test` extra: missing means a broken install, not a skip.
        pytest.fail(f"{name} is not installed (pip install -e '.[test]')")
    return exe


def check_formatted(name: str, path: Path, cwd: Path) -> None:
    cmd = (
        [formatter(name), "--check", "--quiet", str(path)]
        if name == "black"
        else [formatter(name), "format", "--check", str(path)]
    )
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=120)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()


def make(tmp_path: Path, name: str, files: dict[str, str | bytes] | None = None) -> Path:
    return write_tree(
        tmp_path / name,
        {"pyproject.toml": CONFIG, "a.py": LONG, "untouched.py": UNFORMATTED, **(files or {})},
    )


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["black", "ruff"])
def test_format_formats_the_changed_files_with_the_project_config(tool: str, tmp_path: Path) -> None:
    formatter(tool)
    dry_root, yes_root, plain_root = make(tmp_path, "dry"), make(tmp_path, "yes"), make(tmp_path, "plain")
    dry, yes, plain = concurrently(
        lambda: run_lazify("apply", "--dry-run", "--format", tool, ".", cwd=dry_root),
        lambda: run_lazify("apply", "--yes", "--format", tool, ".", cwd=yes_root),
        lambda: run_lazify("apply", "--yes", ".", cwd=plain_root),
    )
    assert dry.returncode == 1, err(dry)
    assert diffed_files(dry.stdout) == ["a.py"]  # only what lazify changed is formatted
    quote = '"' if tool == "black" else "'"
    # line-length 30 splits the call; ruff's config also makes quotes single.
    assert f"\n+        dtype={quote}float32{quote},\n".encode() in dry.stdout, dry.stdout.decode()

    assert yes.returncode == 0, err(yes)
    text = (yes_root / "a.py").read_text()
    assert_moved(text)
    assert f"dtype={quote}float32{quote}," in text
    check_formatted(tool, yes_root / "a.py", yes_root)
    assert (yes_root / "untouched.py").read_text() == UNFORMATTED
    # The patch is what --yes writes.
    applied = subprocess.run(
        ["git", "apply", "-"], cwd=dry_root, input=dry.stdout, capture_output=True, timeout=60
    )
    assert applied.returncode == 0, applied.stderr
    assert (dry_root / "a.py").read_bytes() == (yes_root / "a.py").read_bytes()

    # Without --format the file keeps its own formatting (the long line stays).
    assert plain.returncode == 0
    assert 'return np.zeros(1, dtype="float32", order="C")' in (plain_root / "a.py").read_text()


@pytest.mark.slow
def test_format_black_keeps_bom_crlf_and_applies_like_the_patch(tmp_path: Path) -> None:
    formatter("black")
    crlf = b"\xef\xbb\xbf" + LONG.replace("\n", "\r\n").encode()
    root = make(tmp_path, "p", {"a.py": crlf})
    twin = make(tmp_path, "twin", {"a.py": crlf})
    dry, yes = concurrently(
        lambda: run_lazify("apply", "--dry-run", "--format", "black", "a.py", cwd=root),
        lambda: run_lazify("apply", "--yes", "--format", "black", "a.py", cwd=twin),
    )
    assert yes.returncode == 0, err(yes)
    out = (twin / "a.py").read_bytes()
    assert out.startswith(b"\xef\xbb\xbfdef f():\r\n")
    assert b"\n" not in out.replace(b"\r\n", b"")
    subprocess.run(["git", "init", "-q", "."], cwd=root, check=True)
    applied = subprocess.run(
        ["git", "-c", "core.autocrlf=false", "apply", "-"], cwd=root, input=dry.stdout, capture_output=True
    )
    assert applied.returncode == 0, applied.stderr
    assert (root / "a.py").read_bytes() == out


@pytest.mark.slow
def test_format_on_stdin(tmp_path: Path) -> None:
    formatter("black")
    root = make(tmp_path, "p")
    env = {**os.environ, "NO_COLOR": "1"}
    r = subprocess.run(
        [*LAZIFY, "apply", "--format", "black", "--stdin-filename", "a.py", "-"],
        cwd=root, input=LONG.encode(), capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, err(r)
    assert r.stdout.decode() == (
        "def f():\n    import numpy as np\n\n    return np.zeros(\n"
        '        1,\n        dtype="float32",\n        order="C",\n    )\n'
    )


@pytest.mark.slow
def test_a_formatter_that_fails_is_an_error_for_that_file(tmp_path: Path) -> None:
    formatter("black")
    root = write_tree(
        tmp_path / "p",
        {"pyproject.toml": '[tool.lazify]\n[tool.black]\nline-length = "long"\n', "a.py": LONG},
    )
    before = (root / "a.py").read_bytes()
    r = run_lazify("apply", "--yes", "--format", "black", ".", cwd=root)
    assert r.returncode == 2, err(r)
    assert (root / "a.py").read_bytes() == before
    assert "a.py: error: black could not format" in err(r)
    assert "1 file failed" in err(r).splitlines()[-1]


@pytest.mark.slow
def test_a_missing_formatter_is_a_clear_error(tmp_path: Path) -> None:
    """A Python with lazify importable but no black beside it nor on PATH."""
    root = make(tmp_path, "p")
    before = (root / "a.py").read_bytes()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    base = Path(getattr(sys, "_base_executable", sys.executable))
    (bin_dir / "python").symlink_to(base)
    site = sysconfig.get_paths()["purelib"]
    # PATH holds only that python: no black on it, whatever the machine has installed.
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "PATH": str(bin_dir),
        "PYTHONPATH": os.pathsep.join([str(ROOT), site]),
    }
    assert shutil.which("black", path=env["PATH"]) is None
    r = subprocess.run(
        [str(bin_dir / "python"), "-m", "lazifier", "apply", "--yes", "--format", "black", "."],
        cwd=root, capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    assert r.returncode == 2, err(r)
    assert "`black` is not installed" in err(r) and "pip install black" in err(r)
    assert r.stdout == b""
    assert (root / "a.py").read_bytes() == before
