"""Writing results: every file is replaced atomically, and a run's files all or none.

Each new file is written to a temporary file beside its target (same mode), then the originals
are hard-linked to backups, the journal lists them, and the temporaries are renamed into place.
An exception or Ctrl-C during the renames restores every original; a run killed outright leaves
the journal, and the next run restores from it before doing anything else. Either way each file
is always fully old or fully new. Only one run at a time writes to a project
(:class:`ProjectLock`), so no run undoes the journal of a live one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lazifier.sources import content_hash

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, and runs are not serialised
    fcntl = None  # type: ignore[assignment]

JOURNAL = "journal.json"


@dataclass
class Pending:
    rel: str
    path: Path
    data: bytes
    #: Hash of the bytes we read: the file must still hold them when we write.
    expected_hash: str


@dataclass
class WriteError:
    rel: str
    reason: str


def is_read_only(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


# ---------------------------------------------------------------------------------------------
# One run at a time


class ProjectLock:
    """One run at a time writes to a project: an exclusive ``flock`` on ``<cache-dir>/lock``,
    which holds the pid of the run that has it, for the message the next run prints. The kernel
    drops the lock when its process ends, however it ends, so the lock file a killed run leaves
    behind is stale by construction and simply taken over."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> int | None:
        """Take the lock: None, or the pid of the live run that has it (0 if it hasn't written
        its pid yet). Raises OSError when the lock file can't be created."""
        if fcntl is None:  # pragma: no cover
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).strip()
                os.close(fd)
                return int(holder) if holder.isdigit() else 0
            try:
                ours = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                ours = False
            if ours:
                break
            os.close(fd)  # its holder removed it as we opened it: take the next one
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # a full disk: the lock holds all the same, the pid is only for messages
        self._fd = fd
        return None

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # before closing: no one can hold a removed file
        os.close(self._fd)
        self._fd = None
        try:
            self.path.parent.rmdir()  # only when empty: --no-cache leaves nothing behind
        except OSError:
            pass


def has_journal(journal_dir: Path) -> bool:
    return (journal_dir / JOURNAL).exists()


def recover(journal_dir: Path) -> list[str]:
    """Undo an interrupted write. Returns the files restored."""
    journal = journal_dir / JOURNAL
    try:
        entries = json.loads(journal.read_text())
    except (OSError, ValueError):
        return []
    restored = []
    for e in entries:
        target, backup, tmp = Path(e["target"]), Path(e["backup"]), Path(e["tmp"])
        if backup.exists():
            os.replace(backup, target)
            restored.append(e["rel"])
        if tmp.exists():
            tmp.unlink()
    journal.unlink(missing_ok=True)
    return restored


class _DeferSignals:
    """Hold SIGINT/SIGTERM until the renames are done (then deliver them)."""

    def __enter__(self) -> "_DeferSignals":
        self.received: list[int] = []
        self.old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.old[sig] = signal.signal(sig, lambda s, f: self.received.append(s))
            except ValueError:  # not the main thread
                pass
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)
        for sig in self.received:
            os.kill(os.getpid(), sig)


def write_all(pending: list[Pending], journal_dir: Path) -> list[WriteError]:
    """Write every pending file, or none. Returns per-file problems (those files are skipped
    before anything is written; an error during the renames rolls everything back)."""
    errors: list[WriteError] = []
    ready: list[tuple[Pending, Path]] = []
    try:
        for p in pending:
            if is_read_only(p.path):
                errors.append(WriteError(p.rel, "read-only file: skipped"))
                continue
            try:
                if content_hash(p.path.read_bytes()) != p.expected_hash:
                    errors.append(WriteError(p.rel, "changed on disk during the run: skipped"))
                    continue
                mode = stat.S_IMODE(p.path.stat().st_mode)
                fd, tmp = tempfile.mkstemp(dir=p.path.parent, prefix=f".{p.path.name}.", suffix=".lazify-tmp")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(p.data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, mode)
                ready.append((p, Path(tmp)))
                checkpoint("temp", len(ready))
            except OSError as e:
                errors.append(WriteError(p.rel, f"can't write: {e.strerror or e}"))
        if not ready:
            return errors
        made_dir = not journal_dir.exists()
        journal_dir.mkdir(parents=True, exist_ok=True)
        entries = []
        for p, tmp in ready:
            backup = tmp.with_suffix(".lazify-bak")
            entries.append({"rel": p.rel, "target": str(p.path), "backup": str(backup), "tmp": str(tmp)})
        journal = journal_dir / JOURNAL
        journal.write_text(json.dumps(entries))
        done: list[int] = []
        with _DeferSignals():
            try:
                for i, ((p, tmp), e) in enumerate(zip(ready, entries)):
                    checkpoint("rename", i)
                    try:
                        os.link(p.path, e["backup"])
                    except OSError:
                        shutil.copy2(p.path, e["backup"])
                    os.replace(tmp, p.path)
                    done.append(i)
                checkpoint("rename", len(ready))
            except BaseException:
                for i in reversed(done):
                    os.replace(entries[i]["backup"], ready[i][0].path)
                raise
        for e in entries:
            Path(e["backup"]).unlink(missing_ok=True)
        journal.unlink(missing_ok=True)
        if made_dir and not any(journal_dir.iterdir()):
            journal_dir.rmdir()  # --no-cache leaves nothing behind
        return errors
    finally:
        for _, tmp in ready:
            if tmp.exists():
                tmp.unlink()


def checkpoint(point: str, n: int) -> None:
    """A place where a test can stop the run: ``LAZIFY_TEST_SIGNAL=point:n:SIGNAL`` (say
    ``rename:2:KILL``) makes the process send itself SIGNAL when it reaches ``point`` for the
    ``n``-th time. The points: ``compute`` after n files were transformed, ``temp`` after n
    temporary files were written, ``rename`` after n files were replaced (before the next one
    is checked). ``STOP`` pauses the run there until a test sends SIGCONT."""
    wanted = os.environ.get("LAZIFY_TEST_SIGNAL")
    if wanted and wanted.split(":")[:2] == [point, str(n)]:
        os.kill(os.getpid(), getattr(signal, "SIG" + wanted.split(":")[2]))
