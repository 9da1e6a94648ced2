"""``lazify apply -``: one file from standard input, the result on standard output (like black's
and ruff's ``-``), for editors and pipelines. Through the real CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import LAZIFY, assert_moved, concurrently, diffed_files, err, run_lazify, write_tree

MOVES_NUMPY = "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n"
MOVED = "def f():\n    import numpy as np\n\n    return np.zeros(1)\n"
BOM = b"\xef\xbb\xbf"


def stdin_lazify(*args: str, cwd: Path, data: bytes) -> subprocess.CompletedProcess:
    """Like ``run_lazify``, with bytes on standard input."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([*LAZIFY, *args], cwd=cwd, input=data, capture_output=True, env=env, timeout=300)


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    """A project whose config makes `json` heavy, with a file that imports a name from
    pkg.used (so moving it is blocked) and an excluded directory."""
    return write_tree(tmp_path / "proj", {
        "pyproject.toml": '[tool.lazify]\nextend-heavy-modules = ["json"]\nextend-exclude = ["legacy/"]\n',
        "pkg/__init__.py": "",
        "pkg/user.py": "from pkg.used import np\n",
        "sub/keep.txt": "",
    })  # fmt: skip


@pytest.mark.slow
def test_stdin_prints_the_rewritten_source_and_writes_nothing(proj: Path) -> None:
    before = sorted(p.relative_to(proj).as_posix() for p in proj.rglob("*"))
    yes, default, dry = concurrently(
        lambda: stdin_lazify(
            "apply", "--yes", "--stdin-filename", "pkg/new.py", "-", cwd=proj, data=MOVES_NUMPY.encode()
        ),
        # No terminal, no --yes: nothing is written anyway, so it applies to stdout.
        lambda: stdin_lazify("apply", "-", cwd=proj, data=MOVES_NUMPY.encode()),
        lambda: stdin_lazify(
            "apply", "--dry-run", "--stdin-filename", "pkg/new.py", "-", cwd=proj, data=MOVES_NUMPY.encode()
        ),
    )
    assert yes.returncode == 0, err(yes)
    assert yes.stdout.decode() == MOVED
    assert "pkg/new.py:1:1: LZY001" in err(yes)
    assert "1 file rewritten" in err(yes).splitlines()[-1]

    assert default.returncode == 0, err(default)
    assert default.stdout == yes.stdout
    assert "-:1:1: LZY001" in err(default)

    assert dry.returncode == 1, err(dry)
    assert diffed_files(dry.stdout) == ["pkg/new.py"]
    assert b"\n-import numpy as np\n" in dry.stdout and b"\n+    import numpy as np\n" in dry.stdout
    assert "1 file would be rewritten" in err(dry)

    after = sorted(p.relative_to(proj).as_posix() for p in proj.rglob("*") if ".lazify_cache" not in p.parts)
    assert after == before


@pytest.mark.slow
def test_stdin_keeps_bom_crlf_and_encoding(proj: Path) -> None:
    crlf = BOM + MOVES_NUMPY.replace("\n", "\r\n").encode()
    latin = ("# -*- coding: latin-1 -*-\n" + MOVES_NUMPY + "S = 'caf\u00e9'\n").encode("latin-1")
    yes, dry, enc, unchanged = concurrently(
        lambda: stdin_lazify("apply", "--stdin-filename", "pkg/crlf.py", "-", cwd=proj, data=crlf),
        lambda: stdin_lazify(
            "apply", "--dry-run", "--stdin-filename", "pkg/crlf.py", "-", cwd=proj, data=crlf
        ),
        lambda: stdin_lazify("apply", "--stdin-filename", "pkg/latin.py", "-", cwd=proj, data=latin),
        lambda: stdin_lazify(
            "apply", "--stdin-filename", "pkg/same.py", "-", cwd=proj, data=BOM + b"import os\r\nX = 1"
        ),
    )
    assert yes.returncode == 0, err(yes)
    assert yes.stdout == BOM + MOVED.replace("\n", "\r\n").encode()
    # The patch applies to the file as it is on disk: BOM and CRLF kept inside its lines.
    assert dry.returncode == 1
    assert b"\n-" + BOM + b"import numpy as np\r\n" in dry.stdout
    assert b"\n+    import numpy as np\r\n" in dry.stdout
    assert enc.returncode == 0, err(enc)
    assert enc.stdout.decode("latin-1").endswith("S = 'caf\u00e9'\n") and b"caf\xe9" in enc.stdout
    assert_moved(enc.stdout.decode("latin-1"))
    assert unchanged.returncode == 0 and unchanged.stdout == BOM + b"import os\r\nX = 1"


@pytest.mark.slow
def test_stdin_filename_gives_config_module_name_and_project_index(proj: Path) -> None:
    uses_json = b"import json\n\n\ndef f():\n    return json.dumps(1)\n"
    config, indexed, plain = concurrently(
        # `json` is heavy only by this project's config, found from the stdin filename.
        lambda: stdin_lazify(
            "apply", "--stdin-filename", "proj/pkg/j.py", "-", cwd=proj.parent, data=uses_json
        ),
        # pkg/user.py imports `np` from pkg.used: the index of the project root knows it.
        lambda: stdin_lazify(
            "apply",
            "--stdin-filename",
            str(proj / "pkg/used.py"),
            "-",
            cwd=proj.parent,
            data=MOVES_NUMPY.encode(),
        ),
        lambda: stdin_lazify(
            "apply", "--stdin-filename", "pkg/other.py", "-", cwd=proj, data=MOVES_NUMPY.encode()
        ),
    )
    assert config.returncode == 0, err(config)
    assert_moved(config.stdout.decode(), "json")
    assert indexed.returncode == 0, err(indexed)
    assert indexed.stdout == MOVES_NUMPY.encode()
    assert "[blocked]" in err(indexed) and "pkg/user.py:1" in err(indexed)
    assert plain.stdout.decode() == MOVED


@pytest.mark.slow
def test_stdin_with_an_unprocessable_file_echoes_the_input_and_exits_2(proj: Path) -> None:
    broken = b"import numpy as np\ndef f(:\n"
    r, dry = concurrently(
        lambda: stdin_lazify("apply", "--stdin-filename", "pkg/broken.py", "-", cwd=proj, data=broken),
        lambda: stdin_lazify(
            "apply", "--dry-run", "--stdin-filename", "pkg/broken.py", "-", cwd=proj, data=broken
        ),
    )
    assert r.returncode == 2
    assert r.stdout == broken  # an editor replacing its buffer with our output loses nothing
    assert re.search(r"pkg/broken\.py:2:\d+: error: SyntaxError: ", err(r))
    assert dry.returncode == 2 and dry.stdout == b""


@pytest.mark.slow
def test_stdin_machine_output_and_force_exclude(proj: Path) -> None:
    data = MOVES_NUMPY.encode()
    as_json, applied_json, excluded, forced = concurrently(
        lambda: stdin_lazify(
            "apply",
            "--dry-run",
            "--output-format",
            "json",
            "--stdin-filename",
            "pkg/a.py",
            "-",
            cwd=proj,
            data=data,
        ),
        lambda: stdin_lazify(
            "apply", "--output-format", "json", "--stdin-filename", "pkg/a.py", "-", cwd=proj, data=data
        ),
        # A file named explicitly is processed even when excluded (as ruff does) ...
        lambda: stdin_lazify("apply", "--stdin-filename", "legacy/old.py", "-", cwd=proj, data=data),
        # ... unless --force-exclude: then it comes back unchanged.
        lambda: stdin_lazify(
            "apply", "--force-exclude", "--stdin-filename", "legacy/old.py", "-", cwd=proj, data=data
        ),
    )
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["changes"][0]["file"] == "pkg/a.py"
    # Applying: stdout is the source, the machine output goes to stderr.
    assert applied_json.returncode == 0 and applied_json.stdout.decode() == MOVED
    assert '"file": "pkg/a.py"' in err(applied_json)
    assert excluded.stdout.decode() == MOVED
    assert forced.returncode == 0 and forced.stdout == data
    assert "excluded" in err(forced)


@pytest.mark.slow
def test_stdin_usage_errors(proj: Path) -> None:
    (proj / "pkg/x.py").write_text(MOVES_NUMPY)
    mixed, filename_with_paths = concurrently(
        lambda: stdin_lazify("apply", "-", "pkg/x.py", cwd=proj, data=b""),
        lambda: stdin_lazify("apply", "--stdin-filename", "a.py", "pkg/x.py", cwd=proj, data=b""),
    )
    assert mixed.returncode == filename_with_paths.returncode == 2
    assert mixed.stdout == b"" and "standard input" in err(mixed)
    for git_option in (("--commit",), ("--branch", "lazify/x")):
        r = stdin_lazify(
            "apply", *git_option, "--stdin-filename", "pkg/x.py", "-", cwd=proj, data=MOVES_NUMPY.encode()
        )
        assert r.returncode == 2 and r.stdout == b"" and "--branch and --commit" in err(r), err(r)


@pytest.mark.slow
def test_stdin_does_not_wait_when_stdin_is_an_open_pipe_without_a_terminal(proj: Path) -> None:
    """`lazify apply -` with no --yes and no terminal neither prompts nor waits for more than
    its input."""
    proc = subprocess.Popen(
        [*LAZIFY, "apply", "-"], cwd=proj, env={**os.environ, "NO_COLOR": "1"},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(MOVES_NUMPY.encode(), timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("lazify apply - hung")
    assert proc.returncode == 0
    assert out.decode() == MOVED


@pytest.mark.slow
def test_run_lazify_helper_still_refuses_a_directory_without_a_terminal(proj: Path) -> None:
    # The usual rule for files on disk is unchanged: no terminal, no --yes/--dry-run, exit 2.
    r = run_lazify("apply", ".", cwd=proj)
    assert r.returncode == 2 and "--yes" in err(r)
