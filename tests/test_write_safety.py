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

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import LAZIFY, err, run_lazify, write_tree

N = 6
OLD = {
    f"m{i}.py": f"import numpy as np\n\n\ndef f{i}():\n    return np.zeros({i})\n".encode() for i in range(N)
}
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


def start(root: Path, *args: str, at: str | None = None, **kwargs) -> subprocess.Popen:
    """``lazify apply ARGS`` in the background, stopped at ``at`` (``point:n:SIGNAL``)."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("LAZIFY_TEST_SIGNAL", None)
    if at is not None:
        env["LAZIFY_TEST_SIGNAL"] = at
    then = kwargs.pop("preexec_fn", None)
    return subprocess.Popen(
        [*LAZIFY, "apply", *args], cwd=root, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: _default_interrupt(then), **kwargs,
    )  # fmt: skip


def _default_interrupt(then=None) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C as on a terminal: a test suite started in the background by a shell (``make
    test &``, ``nohup``) hands its children SIGINT ignored, and Python then never raises
    KeyboardInterrupt, so a run stopped with INT would just finish. ``then``: the test's own
    ``preexec_fn``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if then is not None:
        then()


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    try:
        out, errs = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(
            "the run, or a process it started, is still running (its output is still open)"
        ) from None
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
# A run stopped anywhere: SIGKILL and Ctrl-C in each phase

POINTS = [
    ("compute", 1), ("compute", N),
    ("temp", 0), ("temp", 1), ("temp", N),
    ("rename", 0), ("rename", 1), ("rename", N // 2), ("rename", N - 1), ("rename", N),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["KILL", "INT"])
@pytest.mark.parametrize(("point", "n"), POINTS, ids=[f"{p}:{n}" for p, n in POINTS])
def test_a_run_stopped_anywhere_leaves_whole_files_and_the_next_run_cleans_up(
    tmp_path: Path, new: dict[str, bytes], point: str, n: int, sig: str
) -> None:
    root = make_tree(tmp_path / "p")
    r = finish(start(root, "--yes", ".", at=f"{point}:{n}:{sig}"))
    now = states(root, new)
    replaced = sorted(rel for rel, s in now.items() if s == "new")
    if sig == "KILL":
        assert r.returncode == -signal.SIGKILL, err(r)
        # Each file is a change of its own here, and changes are written in path order: the
        # kill landed after exactly n files were replaced.
        assert replaced == (sorted(OLD)[:n] if point == "rename" else []), now
    else:
        assert_clean_exit(r)
        assert r.returncode == 130, err(r)
        last = err(r).rstrip("\n").split("\n")[-1]
        if point == "rename":
            # The files were being replaced: the run finished that first, and says so.
            assert replaced == sorted(OLD), now
            assert "finished" in last, err(r)
        else:
            assert replaced == [], now
            assert "nothing was written" in last, err(r)
        assert leftovers(root) == [] and not locked(root), "a Ctrl-C must leave nothing behind"
        if point != "rename":
            return  # nothing written, nothing left: no next run needed to see that

    again = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert_clean_exit(again)
    assert leftovers(root) == []
    after = states(root, new)
    if sig == "KILL":
        # A killed write is rolled back: every file is old again, and the next run says so.
        assert set(after.values()) == {"old"}, after
        assert again.returncode == 1, err(again)
        if replaced:
            assert f"restored {len(replaced)} file(s) from an interrupted write" in err(again)
        elif point != "compute":  # the journal was written: its temporary files are gone
            assert "removed the temporary files of an interrupted write" in err(again), err(again)
    else:
        assert after == now, "the next run must not undo a finished write"
        assert "restored" not in err(again)


# ---------------------------------------------------------------------------------------------
# 8. Recovery keeps what the user changed since


@pytest.mark.slow
def test_recovery_after_a_kill_keeps_a_file_edited_since(tmp_path: Path, new: dict[str, bytes]) -> None:
    root = make_tree(tmp_path / "p")
    r = finish(start(root, "--yes", ".", at="rename:3:KILL"))
    assert r.returncode == -signal.SIGKILL
    assert states(root, new) == {rel: "new" if rel < "m3" else "old" for rel in OLD}
    edited = new["m1.py"] + b"\n\ndef mine():\n    return 1\n"
    (root / "m1.py").write_bytes(edited)

    again = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert_clean_exit(again)
    assert (root / "m1.py").read_bytes() == edited, "the user's edit was overwritten"
    assert (root / "m0.py").read_bytes() == OLD["m0.py"]
    assert (root / "m2.py").read_bytes() == OLD["m2.py"]
    assert "restored 2 file(s) from an interrupted write: m0.py, m2.py" in err(again)
    assert "m1.py: changed since the interrupted write: kept as it is" in err(again)
    assert leftovers(root) == []


# ---------------------------------------------------------------------------------------------
# 9. One run at a time


@pytest.mark.slow
def test_a_second_run_waits_its_turn_and_a_stale_lock_is_taken_over(
    tmp_path: Path, new: dict[str, bytes]
) -> None:
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


# ---------------------------------------------------------------------------------------------
# 10. An edit just before the rename


@pytest.mark.slow
def test_an_edit_made_while_the_files_are_replaced_is_kept(tmp_path: Path, new: dict[str, bytes]) -> None:
    root = make_tree(tmp_path / "p")
    run = start(root, "--yes", ".", at="rename:1:STOP")
    wait_stopped(run)
    edited = OLD["m3.py"] + b"\n\ndef mine():\n    return 1\n"
    (root / "m3.py").write_bytes(edited)
    r = resume(run)
    assert_clean_exit(r)
    assert r.returncode == 2, err(r)
    assert (root / "m3.py").read_bytes() == edited, "the edit was overwritten"
    assert "m3.py: error: changed on disk during the run" in err(r)
    assert [rel for rel in OLD if rel != "m3.py" and (root / rel).read_bytes() != new[rel]] == []
    assert leftovers(root) == [] and not locked(root)


# ---------------------------------------------------------------------------------------------
# 4. A change that spans files is written in all of them or in none


OWNER = 'from sqlalchemy import create_engine\n\nengine = create_engine("sqlite:///x.db")\n'
READER = "from app.z_owner import engine\n\n\ndef rows():\n    return engine.connect()\n"
SPANNING = {
    "app/__init__.py": b"",
    "app/a_reader.py": READER.encode(),
    "app/z_owner.py": OWNER.encode(),
    "app/other.py": OLD["m0.py"],
}


@pytest.mark.slow
def test_a_change_spanning_files_is_not_written_when_one_file_is_read_only(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "p", SPANNING)
    dry = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert "app/a_reader.py" in dry.stdout.decode() and "app/z_owner.py" in dry.stdout.decode(), err(dry)
    (root / "app/z_owner.py").chmod(0o444)
    r = run_lazify("apply", "--yes", ".", cwd=root)
    assert_clean_exit(r)
    assert r.returncode == 2, err(r)
    assert (root / "app/z_owner.py").read_bytes() == SPANNING["app/z_owner.py"]
    assert (root / "app/a_reader.py").read_bytes() == SPANNING[
        "app/a_reader.py"
    ], "the reader was written without its owner"
    assert "app/z_owner.py: error: read-only file" in err(r)
    assert "app/a_reader.py: error: not written: it shares a change with app/z_owner.py" in err(r)
    # Files that share nothing with it are still written.
    assert (root / "app/other.py").read_bytes() != SPANNING["app/other.py"]


def _limit_file_size(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.slow
def test_a_write_that_fails_holds_back_the_whole_change_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    # The owner's new text is over the file size limit (RLIMIT_FSIZE): its write fails, EFBIG.
    padding = "".join(
        f"# {i:05d} padding to make the owner bigger than the file size limit\n" for i in range(200)
    )
    files = {**SPANNING, "app/z_owner.py": (padding + OWNER).encode()}
    root = make_tree(tmp_path / "p", files)
    r = finish(
        start(
            root, "--yes", "--no-cache", ".", preexec_fn=_limit_file_size(len(files["app/z_owner.py"]) + 64)
        )
    )
    assert_clean_exit(r)
    assert r.returncode == 2, err(r)
    assert (root / "app/z_owner.py").read_bytes() == files["app/z_owner.py"]
    assert (root / "app/a_reader.py").read_bytes() == files[
        "app/a_reader.py"
    ], "the reader was written without its owner"
    assert "app/z_owner.py: error: can't write: File too large" in err(r)
    assert "app/a_reader.py: error: not written: it shares a change with app/z_owner.py" in err(r)
    assert (root / "app/other.py").read_bytes() != files["app/other.py"]
    assert leftovers(root) == []


# ---------------------------------------------------------------------------------------------
# 11. Leaks: an empty journal, a full disk


@pytest.mark.slow
def test_an_empty_journal_is_removed_and_reported(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "p")
    (root / ".lazify_cache").mkdir()
    (root / ".lazify_cache" / "journal.json").write_bytes(b"")
    r = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert_clean_exit(r)
    assert r.returncode == 1, err(r)
    assert "removed an empty journal" in err(r), err(r)
    assert leftovers(root) == []


FULL_DISK = textwrap.dedent("""
    import json, os, subprocess, sys
    from pathlib import Path

    disk, project, lazify = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)], check=True)
    out = []
    for free in range(int(sys.argv[4])):
        root = disk / "p"
        subprocess.run(["cp", "-a", str(project), str(root)], check=True)
        spacers = [disk / f"spacer{i}" for i in range(free)]
        for s in spacers:
            s.write_bytes(b"x")  # one page each
        with open(disk / "fill", "wb", buffering=0) as fh:
            try:
                while fh.write(b"x" * 4096):
                    pass
            except OSError:
                pass
        for s in spacers:
            s.unlink()
        r = subprocess.run([*lazify, "apply", "--yes", "--no-cache", "."], cwd=root, capture_output=True,
                           stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
        files = {p.relative_to(root).as_posix(): p.read_bytes().decode("latin-1")
                 for p in root.rglob("*") if p.is_file()}
        out.append({"free": free, "rc": r.returncode, "stderr": r.stderr.decode(errors="replace"), "files": files})
        subprocess.run(["rm", "-rf", str(root), str(disk / "fill")], check=True)
    print(json.dumps(out))
    """)


def _can_mount_tmpfs() -> str | None:
    """Why a private tmpfs can't be mounted here (None if it can)."""
    if shutil.which("unshare") is None:
        return "util-linux's unshare is not installed"
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True
    )
    return (
        None
        if probe.returncode == 0
        else f"can't mount a tmpfs in a private mount namespace: {probe.stderr.decode().strip()}"
    )


@pytest.mark.slow
def test_a_full_disk_gives_one_clear_line_and_never_half_a_file(
    tmp_path: Path, new: dict[str, bytes]
) -> None:
    why = _can_mount_tmpfs()
    if why is not None:
        pytest.skip(why)  # CI runs as root, where it can
    files = dict(list(OLD.items())[:3])
    project = make_tree(tmp_path / "project", files)
    disk = tmp_path / "disk"
    disk.mkdir()
    # From no free page at all to room for everything: the disk fills at every step of a write.
    r = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, "-c", FULL_DISK,
         str(disk), str(project), json.dumps(LAZIFY), str(len(files) + 4)],
        capture_output=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, err(r)
    runs = json.loads(r.stdout)
    for run in runs:
        where = f"with {run['free']} free page(s): {run['stderr']}"
        assert "Traceback" not in run["stderr"], where
        got = {rel: data.encode("latin-1") for rel, data in run["files"].items()}
        assert [
            rel for rel in got if rel.endswith(LEFTOVER) or "journal" in rel or "lock" in rel
        ] == [], where
        for rel in files:
            assert got[rel] in (files[rel], new[rel]), f"{rel} is half-written {where}"
        if run["rc"] != 0:
            assert run["rc"] == 2, where
            assert "No space left on device" in run["stderr"], where
    assert runs[0]["rc"] == 2 and all(runs[0]["files"][rel].encode("latin-1") == files[rel] for rel in files)
    assert runs[0]["stderr"].strip().count("\n") == 0, "a full disk is one line: " + runs[0]["stderr"]
    assert runs[-1]["rc"] == 0, runs[-1]["stderr"]


@pytest.mark.slow
def test_doctor_reads_a_killed_run_s_files_as_they_are(tmp_path: Path, new: dict[str, bytes]) -> None:
    """``lazify doctor`` writes nothing into the project, so it must not roll back an
    interrupted write either (the next ``apply`` does): its analysis reads the files as they
    are and says why."""
    from lazifier.engine import Engine
    from lazifier.settings import load_settings

    root = make_tree(tmp_path / "p")
    r = finish(start(root, "--yes", ".", at="rename:1:KILL"))
    assert r.returncode == -signal.SIGKILL
    before = {rel: (root / rel).read_bytes() for rel in OLD}
    left = leftovers(root)
    assert any(name.startswith("journal") for name in left), left
    engine = Engine(load_settings([root]), [root], use_cache=False, read_only=True)
    try:
        assert any("interrupted lazify run" in n for n in engine.notes), engine.notes
    finally:
        engine.close()
    assert {rel: (root / rel).read_bytes() for rel in OLD} == before
    assert leftovers(root) == left
    # The next apply still rolls the interrupted write back (or finishes it): old or new, whole.
    finish(start(root, "--dry-run", "."))
    states(root, new)
