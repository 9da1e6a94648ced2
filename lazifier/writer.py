"""Writing results: every file is replaced atomically, and a change in all of its files or in none.

A write is recorded in a journal (``<cache-dir>/journal.json``) before anything else, so a run
stopped at any point leaves a record of what to undo:

1. the journal lists every file to write, with the hashes of its old and new bytes, and its
   temporary file and backup, beside it (``.NAME.lazify-tmp``, ``.NAME.lazify-bak``);
2. each new file is written to its temporary file, with the original's mode;
3. each original is checked, just before, to still hold what the run read; it is hard-linked to
   its backup and the temporary file is renamed over it;
4. the journal is renamed to ``journal-done.json``: from here the write stands, and the backups
   and that journal are removed.

Files come in groups that are written together or not at all: the files one change spans (see
``lazifier.review.write_groups``). A file that can't be written (read-only, changed on disk, a
write that fails) holds back its whole group, found before the renames or during them; the
other groups are still written.

Ctrl-C while the files are being replaced is held until they all are: the write finishes, and
:attr:`Written.interrupted` says so. Before that, Ctrl-C rolls the write back. A run killed
outright leaves its journal, and the next run rolls the write back (:func:`recover`): it
restores each file the write had replaced, unless the file changed since (then it is kept, and
the run says so). Only one run at a time writes to a project (:class:`ProjectLock`), so no run
undoes the journal of a live one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
from dataclasses import dataclass, field
from pathlib import Path

from lazifier.sources import content_hash

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, and runs are not serialised
    fcntl = None  # type: ignore[assignment]

JOURNAL = "journal.json"
DONE = "journal-done.json"


@dataclass
class Pending:
    rel: str
    path: Path
    data: bytes
    #: Hash of the bytes we read: the file must still hold them when we write.
    expected_hash: str
    #: Why the file can't be written, found before the writer (its new text can't be encoded,
    #: an earlier step failed): it holds back its group like any other failure.
    problem: str | None = None


@dataclass
class WriteError:
    rel: str
    reason: str


@dataclass
class Written:
    """What :func:`write_all` did."""

    errors: list[WriteError] = field(default_factory=list)
    #: Ctrl-C came while the files were being replaced; the write was finished first.
    interrupted: bool = False


class WriteFailed(Exception):
    """Nothing could be written, for one reason (the journal can't be written)."""


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


# ---------------------------------------------------------------------------------------------
# Undoing an unfinished write


def open_project(lock: ProjectLock, root: Path, *, write: bool, read_only: bool) -> list[str]:
    """Take the project's lock if this run writes, and deal with what an interrupted write
    left, but only holding the lock: a journal whose run still holds it is a write in
    progress. ``read_only`` (``lazify doctor``): neither, only a note. Returns the notes."""
    from lazifier.settings import ConfigError

    if read_only:
        if has_journal(lock.path.parent):
            return ["an interrupted lazify run left a journal: this run reads the files as they are now"]
        return []
    try:
        holder = lock.acquire() if write or has_journal(lock.path.parent) else None
    except OSError as e:
        raise ConfigError(f"{lock.path}: can't take the lock: {e.strerror or e}") from None
    if holder is not None:
        who = f"another lazify run (pid {holder})" if holder else "another lazify run"
        if write:
            raise ConfigError(f"{who} is writing to this project ({root}); try again when it has finished")
        return [f"{who} is writing to this project: this run reads the files as they are now"]
    notes: list[str] = []
    if lock.held:
        notes = recover(lock.path.parent)
        if not write:
            lock.release()
    return notes


def has_journal(journal_dir: Path) -> bool:
    return any((journal_dir / name).exists() for name in (JOURNAL, DONE, JOURNAL + ".tmp"))


def recover(journal_dir: Path) -> list[str]:
    """Deal with what an interrupted write left: roll back one that had not finished, clean up
    after one that had. Returns what was done, for the report. Call it holding the lock."""
    notes = []
    (journal_dir / (JOURNAL + ".tmp")).unlink(missing_ok=True)  # killed while starting a write
    done = journal_dir / DONE
    if done.exists():
        for e in _read_journal(done) or []:
            _remove_leftovers(e)
        done.unlink()
        notes.append("removed the backups of an interrupted write, which had finished")
    journal = journal_dir / JOURNAL
    if not journal.exists():
        return notes
    entries = _read_journal(journal)
    if entries is None:
        what = "an empty" if journal.stat().st_size == 0 else "an unreadable"
        journal.unlink()
        return [
            *notes,
            f"removed {what} journal of an interrupted write ({journal}): it named no file to restore",
        ]
    restored, replaced = [], 0
    for e in entries:
        try:
            state = _undo(e)
        except OSError as err:
            notes.append(f"{e['rel']}: can't be restored after an interrupted write ({err.strerror or err}): "
                         f"the original is in {e['backup']}")  # fmt: skip
            continue
        if state == "restored":
            restored.append(e["rel"])
        elif state == "kept":
            notes.append(f"{e['rel']}: changed since the interrupted write: kept as it is, not restored")
        replaced += state != ""
    journal.unlink()
    if restored:
        notes.insert(0, f"restored {len(restored)} file(s) from an interrupted write: {', '.join(restored)}")
    elif not replaced:
        notes.append("removed the temporary files of an interrupted write, which had replaced no file yet")
    return notes


def _read_journal(path: Path) -> list[dict[str, str]] | None:
    try:
        entries = json.loads(path.read_bytes())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return entries if isinstance(entries, list) else None


def _hash_of(path: Path) -> str | None:
    try:
        return content_hash(path.read_bytes())
    except OSError:
        return None


def _undo(e: dict[str, str]) -> str:
    """Put back one file of an unfinished write. Returns "restored" (the write had replaced it,
    and it still holds exactly what the write put there), "kept" (it changed since: what is
    there now wins), or "" (the write never replaced it). Its temporary file and backup go."""
    target, backup = Path(e["target"]), Path(e["backup"])
    state = ""
    if backup.exists():  # linked just before the file was replaced
        now = _hash_of(target)
        if now == e["new"]:
            os.replace(backup, target)
            state = "restored"
        elif now != e["old"]:
            state = "kept"
    _remove_leftovers(e)
    return state


def _remove_leftovers(e: dict[str, str]) -> None:
    for name in ("backup", "tmp"):
        Path(e[name]).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Writing


class _Journal:
    """The record of one write: what the next run undoes if this one stops before the end."""

    def __init__(self, directory: Path, entries: list[dict[str, str]]) -> None:
        self.path = directory / JOURNAL
        self.entries = entries

    def start(self) -> None:
        """Write the journal (atomically: a journal is whole or absent), before anything else."""
        tmp = self.path.with_name(JOURNAL + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_file(tmp, json.dumps({"files": self.entries}).encode())
            os.replace(tmp, self.path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise WriteFailed(
                f"{self.path}: can't write the journal: {e.strerror or e}; nothing was written"
            ) from None

    def commit(self) -> None:
        """The write stands: a rename, which needs no free space."""
        os.replace(self.path, self.path.with_name(DONE))

    def clean(self) -> None:
        for e in self.entries:
            _remove_leftovers(e)
        self.path.with_name(DONE).unlink(missing_ok=True)

    def roll_back(self) -> None:
        """Undo a write that can't finish (an exception, Ctrl-C before the renames). If a file
        can't be put back, the journal stays, for the next run to try again and report."""
        try:
            for e in self.entries:
                _undo(e)
        except OSError:
            return
        self.path.unlink(missing_ok=True)


def _write_file(path: Path, data: bytes, mode: int | None = None) -> None:
    """A new file holding ``data``, flushed to disk; removed again if that fails."""
    path.unlink(missing_ok=True)  # ours by its name; O_EXCL below never follows a link
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(path, mode)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


class _HeldSignals:
    """Hold SIGINT and SIGTERM while files are being replaced; ``received`` says which came."""

    def __enter__(self) -> _HeldSignals:
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


def _entry(p: Pending) -> dict[str, str]:
    name = p.path.name
    return {
        "rel": p.rel,
        "target": str(p.path),
        "tmp": str(p.path.with_name(f".{name}.lazify-tmp")),
        "backup": str(p.path.with_name(f".{name}.lazify-bak")),
        "old": p.expected_hash,
        "new": content_hash(p.data),
    }


def _why_not(p: Pending) -> str | None:
    """Why ``p`` can't be written, checked before the write starts."""
    if p.problem is not None:
        return p.problem
    if is_read_only(p.path):
        return "read-only file: skipped"
    return _changed(p)


def _changed(p: Pending) -> str | None:
    try:
        if content_hash(p.path.read_bytes()) != p.expected_hash:
            return "changed on disk during the run: skipped"
    except OSError as e:
        return f"can't read: {e.strerror or e}"
    return None


def _held_back(group: list[Pending], failed: Pending, reason: str) -> list[WriteError]:
    return [
        WriteError(p.rel, reason if p is failed else f"not written: it shares a change with {failed.rel}, which can't be written")
        for p in group
    ]  # fmt: skip


def write_all(groups: list[list[Pending]], journal_dir: Path) -> Written:
    """Write every group whose files can all be written, each file atomically; hold back the
    others whole (their errors are in the result). Raises :class:`WriteFailed` when the journal
    can't be written, and ``KeyboardInterrupt`` for a Ctrl-C before the renames: nothing is
    written then."""
    out = Written()
    ready: list[list[Pending]] = []
    for group in groups:
        failed = next(((p, why) for p in group if (why := _why_not(p)) is not None), None)
        if failed is None:
            ready.append(group)
        else:
            out.errors += _held_back(group, *failed)
    entries = {p.rel: _entry(p) for group in ready for p in group}
    if not entries:
        return out
    journal = _Journal(journal_dir, list(entries.values()))
    try:
        journal.start()
        checkpoint("temp", 0)
        written = 0
        for group in list(ready):
            for p in group:
                try:
                    _write_file(Path(entries[p.rel]["tmp"]), p.data, stat.S_IMODE(p.path.stat().st_mode))
                except OSError as e:
                    out.errors += _held_back(group, p, f"can't write: {e.strerror or e}")
                    ready.remove(group)
                    for q in group:
                        _remove_leftovers(entries[q.rel])
                    break
                written += 1
                checkpoint("temp", written)
        with _HeldSignals() as held:
            replaced = 0
            for group in ready:
                done: list[Pending] = []
                for p in group:
                    checkpoint("rename", replaced)
                    why = _replace(p, entries[p.rel])
                    if why is not None:
                        for q in done:
                            _undo(entries[q.rel])
                        out.errors += _held_back(group, p, why)
                        replaced -= len(done)
                        break
                    done.append(p)
                    replaced += 1
            checkpoint("rename", replaced)
            journal.commit()
            journal.clean()
    except BaseException:
        journal.roll_back()
        raise
    out.interrupted = signal.SIGINT in held.received
    if signal.SIGTERM in held.received:
        os.kill(os.getpid(), signal.SIGTERM)  # now that the write is whole
    return out


def _replace(p: Pending, e: dict[str, str]) -> str | None:
    """Replace one file by its temporary file, checking first that it still holds what the run
    read (an editor may have saved it since the first check). The reason if not."""
    why = _changed(p)
    if why is not None:
        return why
    backup = Path(e["backup"])
    try:
        backup.unlink(missing_ok=True)
        try:
            os.link(p.path, backup)
        except OSError:
            shutil.copy2(p.path, backup)  # a file system without hard links
        os.replace(e["tmp"], p.path)
    except OSError as err:
        backup.unlink(missing_ok=True)
        return f"can't write: {err.strerror or err}"
    return None


def checkpoint(point: str, n: int) -> None:
    """A place where a test can stop the run: ``LAZIFY_TEST_SIGNAL=point:n:SIGNAL`` (say
    ``rename:2:KILL``) makes the process send itself SIGNAL when it reaches ``point`` with
    ``n``. The points: ``compute`` after n files were transformed, ``temp`` after n temporary
    files were written (``temp:0``: the journal is written, no temporary file yet), ``rename``
    after n files were replaced (before the next one is checked). ``STOP`` pauses the run there
    until a test sends SIGCONT."""
    wanted = os.environ.get("LAZIFY_TEST_SIGNAL")
    if wanted and wanted.split(":")[:2] == [point, str(n)]:
        os.kill(os.getpid(), getattr(signal, "SIG" + wanted.split(":")[2]))
