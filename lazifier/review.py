"""Reviewing changes on a terminal before they are written.

The seam the per-change review plugs into: given the run's report, decide what to write.
"""

from __future__ import annotations

import sys
from typing import Callable

from lazifier.report import Colors, RunReport, render_text


def confirm(
    report: RunReport, texts: dict[str, str], display: Callable[[str], str], colors: Colors
) -> bool:
    """Show every change with its diff, then ask once whether to write them all."""
    sys.stderr.write(render_text(report, texts, display=display, colors=colors, show_diffs=True))
    n = sum(1 for c in report.changes if c.applied)
    files = len(report.changed_files)
    sys.stderr.write(f"\nApply {n} change(s) to {files} file(s)? [y/N] ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        return False
    return answer.strip().lower() in ("y", "yes")
