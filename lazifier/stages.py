"""Where a run's time goes, by stage: read, index, plan, CST parse, analysis, edit, verify,
write (issue 16: the next regression should show where it is).

Each process adds to its own totals; a worker hands its per-file figures back with the file's
result (:func:`take`), and the engine adds them to the run's. With ``LAZIFY_PROFILE=FILE`` in
the environment, ``lazify apply`` writes the run's totals to FILE as JSON at the end
(``bench/bench_stdlib.py`` reads them). Worker stages are summed over the workers, so with
``-j 2`` they can add up to twice the wall-clock time they took.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from lazifier import STARTED

_TOTALS: dict[str, float] = {}


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Add the time the block takes to stage ``name``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _TOTALS[name] = _TOTALS.get(name, 0.0) + time.perf_counter() - start


def add(figures: Mapping[str, float]) -> None:
    for name, seconds in figures.items():
        _TOTALS[name] = _TOTALS.get(name, 0.0) + seconds


def take() -> dict[str, float]:
    """This process's totals since the last call (a worker's, for the file it just did)."""
    out = dict(_TOTALS)
    _TOTALS.clear()
    return out


def dump_if_asked() -> None:
    """Write the totals to ``$LAZIFY_PROFILE``, when it is set."""
    path = os.environ.get("LAZIFY_PROFILE")
    if not path:
        return
    try:
        with open(path, "w", encoding="utf-8") as fh:
            # From lazify's import on: what the stages leave out is imports, settings and the like.
            figures = {**_TOTALS, "in process, total": time.perf_counter() - STARTED}
            json.dump({k: round(v, 4) for k, v in sorted(figures.items())}, fh, indent=1)
    except OSError:
        pass  # a profile nobody can read is not worth failing the run for
