"""Writes that can't lose work: a run killed or interrupted anywhere, an edit during the run,
two runs at once, a write that fails, a full disk.

Real processes on real files: a tree of small files that heavy-imports rewrites. A run is
stopped at a named point of each phase (computing, writing the temporary files, replacing the
files) with ``LAZIFY_TEST_SIGNAL`` (see ``lazifier.writer.checkpoint``), which lands exactly
where it says on a loaded machine, where a delay would not. Afterwards every file is byte for
byte the old or the new text, no edit is lost, the message is one clear line, and after the
next run no temporary file, backup or journal is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import LAZIFY, err, run_lazify, write_tree

N = 6
OLD = {f"m{i}.py": f"import numpy as np\n\n\ndef f{i}():\n    return np.zeros({i})\n".encode() for i in range(N)}
LEFTOVER = (".lazify-tmp", ".lazify-bak")


def make_tree(root: Path, files: dict[str, bytes] = OLD) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return write_tree(root, {"pyproject.toml": "[tool.lazify]\n", **files})


@pytest.fixture(scope="module")
def new() -> dict[str, bytes]:
    """What a clean run makes of each file (computed, so the tests don't pin the codemod's output)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        root = make_tree(Path(d))
        r = run_lazify("apply", "--yes", "--no-cache", ".", cwd=root)
        assert r.returncode == 0, err(r)
        out = {rel: (root / rel).read_bytes() for rel in OLD}
    assert all(out[rel] != OLD[rel] for rel in OLD)
    return out


def start(root: Path, *args: str, at: str | None = None, **kwargs) -> subprocess.Popen:  # noqa: ANN003
    """``lazify apply ARGS`` in the background, stopped at ``at`` (``point:n:SIGNAL``)."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("LAZIFY_TEST_SIGNAL", None)
    if at is not None:
        env["LAZIFY_TEST_SIGNAL"] = at
    return subprocess.Popen(
        [*LAZIFY, "apply", *args], cwd=root, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
    )  # fmt: skip


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    try:
        out, errs = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the run, or a process it started, is still running (its output is still open)") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, errs)


def wait_stopped(proc: subprocess.Popen) -> None:
    """Until the run has stopped itself (``...:STOP``); it must not end instead."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, err(finish(proc))
        with open(f"/proc/{proc.pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.02)
    raise AssertionError("the run never reached its stop")


def resume(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    os.kill(proc.pid, signal.SIGCONT)
    return finish(proc)


def states(root: Path, new: dict[str, bytes], old: dict[str, bytes] = OLD) -> dict[str, str]:
    """Each file's state, "old" or "new"; anything else fails the test."""
    out = {}
    for rel in old:
        data = (root / rel).read_bytes()
        assert data in (old[rel], new[rel]), f"{rel} is neither the old nor the new file:\n{data!r}"
        out[rel] = "old" if data == old[rel] else "new"
    return out


def leftovers(root: Path) -> list[str]:
    """What a write that did not finish leaves behind: temporary files, backups, a journal.
    (Not the lock file of a killed run: it is stale once its process is gone, and the next
    run that writes takes it over and removes it.)"""
    left = [p.name for p in root.rglob("*") if p.name.endswith(LEFTOVER)]
    return sorted(left + [p.name for p in root.glob(".lazify_cache/journal*")])


def locked(root: Path) -> bool:
    return (root / ".lazify_cache" / "lock").exists()


def assert_clean_exit(r: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in err(r), err(r)
    assert r.returncode in (0, 1, 2, 130), (r.returncode, err(r))


# ---------------------------------------------------------------------------------------------
# 9. One run at a time


@pytest.mark.slow
def test_a_second_run_waits_its_turn_and_a_stale_lock_is_taken_over(tmp_path: Path, new: dict[str, bytes]) -> None:
    root = make_tree(tmp_path / "p")
    first = start(root, "--yes", ".", at="rename:0:STOP")
    wait_stopped(first)
    try:
        second = run_lazify("apply", "--yes", ".", cwd=root)
        reader = run_lazify("apply", "--dry-run", ".", cwd=root)
    finally:
        done = resume(first)
    assert done.returncode == 0, err(done)
    assert_clean_exit(second)
    assert second.returncode == 2, err(second)
    assert f"another lazify run (pid {first.pid}) is writing to this project" in err(second)
    assert len(err(second).strip().splitlines()) == 1, err(second)
    # A dry run does not wait, and leaves the live run's journal alone.
    assert_clean_exit(reader)
    assert reader.returncode == 1, err(reader)
    assert f"another lazify run (pid {first.pid}) is writing to this project" in err(reader)
    assert set(states(root, new).values()) == {"new"}
    assert leftovers(root) == []

    # A lock left by a run that is gone is taken over.
    make_tree(root)
    gone = subprocess.Popen(["true"])
    gone.wait()
    (root / ".lazify_cache" / "lock").write_text(f"{gone.pid}\n")
    third = run_lazify("apply", "--yes", ".", cwd=root)
    assert third.returncode == 0, err(third)
    assert set(states(root, new).values()) == {"new"}
    assert leftovers(root) == [] and not locked(root)
