"""A process pool where a dying worker costs one task, never the run.

``concurrent.futures`` marks the whole pool broken when one worker dies (LibCST's native parser
can overflow its stack on huge expressions). Here each worker handles one task at a time over
its own pipe, so the parent always knows which task killed a worker, reports that one, and
starts a replacement.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # multiprocessing is imported by the runs that start a process
    import multiprocessing as mp
    from multiprocessing.connection import Connection

T = TypeVar("T")
R = TypeVar("R")


class WorkerDied(Exception):
    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"worker process died (exit code {exitcode})")
        self.exitcode = exitcode


def _worker(conn: Connection, parent_end: Connection, func: Callable[[Any], Any]) -> None:
    # Ctrl-C is the parent's to handle (the review, the run); a worker that took it too would
    # print a traceback over the terminal. Daemon workers end with the parent, and a parent
    # killed outright (SIGKILL) ends them too: its end of the pipe closes, so recv() raises
    # EOFError, once the worker has closed the copy of that end it inherited.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_end.close()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        index, task = item
        try:
            result: Any = ("ok", func(task))
        except BaseException as e:
            result = ("error", f"{type(e).__name__}: {e}")
        try:
            conn.send((index, result))
        except OSError:  # the parent is gone
            return


@contextmanager
def collecting_less() -> Iterator[None]:
    """Run the block with the cycle collector's thresholds raised (200,000 allocations, then
    30 and 30 collections; mypy does the same);
    the workers forked meanwhile inherit it. lazify builds trees of a million objects (ASTs,
    LibCST's trees and their metadata), which reference counting frees: the collector's
    passes over them were a tenth of a run, and peak memory does not move."""
    before = gc.get_threshold()
    gc.set_threshold(200_000, 30, 30)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _context() -> mp.context.BaseContext:
    import multiprocessing as mp

    if sys.platform == "linux":
        return mp.get_context("fork")
    return mp.get_context("spawn")


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def run_tasks(
    func: Callable[[T], R], tasks: Iterable[T], jobs: int, isolate: bool = True
) -> Iterator[tuple[int, R | BaseException]]:
    """Yield ``(index, result)`` as tasks finish; a result is an exception when the task raised
    (``RuntimeError``) or killed its worker (:class:`WorkerDied`). Order is completion order.

    ``isolate=False`` runs the tasks in this process, one after the other (for callers that
    embed the engine, such as the fast test tier): a task that raises is reported the same way,
    but one that kills the interpreter kills the caller."""
    items = list(tasks)
    if not items:
        return
    if not isolate:
        for index, task in enumerate(items):
            try:
                yield index, func(task)
            except Exception as e:
                yield index, RuntimeError(f"{type(e).__name__}: {e}")
        return
    from multiprocessing.connection import wait

    jobs = max(1, min(jobs, len(items)))
    ctx = _context()
    pending = list(enumerate(items))[::-1]
    workers: dict[Connection, tuple[Any, int | None]] = {}

    def start() -> None:
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_worker, args=(child, parent, func), daemon=True)
        p.start()
        child.close()
        workers[parent] = (p, None)

    def feed(conn: Connection) -> None:
        p, _ = workers[conn]
        if pending:
            index, task = pending.pop()
            conn.send((index, task))
            workers[conn] = (p, index)
        else:
            conn.send(None)
            conn.close()
            p.join()
            del workers[conn]

    try:
        for _ in range(jobs):
            start()
        for conn in list(workers):
            feed(conn)
        while workers:
            sentinels = {workers[c][0].sentinel: c for c in workers}
            for r in wait([*workers, *sentinels]):
                conn = r if r in workers else sentinels.get(r)  # type: ignore[arg-type]
                if conn is None or conn not in workers:
                    continue
                p, index = workers[conn]
                try:
                    message = conn.recv() if conn.poll() else None
                except (EOFError, OSError):
                    message = None
                if message is not None:
                    got_index, (status, value) = message
                    yield got_index, (value if status == "ok" else RuntimeError(value))
                    workers[conn] = (p, None)
                    feed(conn)
                    continue
                p.join(timeout=5)
                if p.is_alive():
                    continue  # spurious wake-up
                conn.close()
                del workers[conn]
                if index is not None:
                    yield index, WorkerDied(p.exitcode)
                if pending:
                    start()
                    feed(next(reversed(workers)))
    finally:
        for conn, (p, _) in list(workers.items()):
            try:
                conn.send(None)
            except OSError:
                pass
            p.join(timeout=1)
            if p.is_alive():
                p.kill()
