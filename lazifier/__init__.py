"""lazify: make Python services cheap and safe to import (the engine around ``codemods``)."""

from __future__ import annotations

import hashlib
import time
from functools import cache
from pathlib import Path

#: When lazify's package was imported (the stage profile's total starts here).
STARTED = time.perf_counter()

__version__ = "0.1.0"


@cache
def build_id() -> str:
    """The version plus a fingerprint of lazify's own source files (size and mtime) and black's
    version, so an editable install never reuses cache entries written by different code."""
    h = hashlib.blake2b(__version__.encode(), digest_size=12)
    # black formats statements lazify writes (codemods/_fit.py): its version shows in them.
    # Its own version module, not importlib.metadata: that scans every installed distribution,
    # 45 ms of a warm run (issue 16).
    try:
        from _black_version import version as black_version
    except ImportError:
        from importlib.metadata import PackageNotFoundError, version

        try:
            black_version = version("black")
        except PackageNotFoundError:
            black_version = "no black"
    h.update(black_version.encode())
    for package in ("lazifier", "codemods"):
        root = Path(__file__).resolve().parent.parent / package
        for f in sorted(root.rglob("*.py")):
            st = f.stat()
            h.update(f"{package}/{f.relative_to(root).as_posix()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()
