#!/usr/bin/env python
"""What importing a package costs: the data behind lazify's default ``heavy-modules`` list.

For each module, N fresh processes of the given interpreter run ``import MODULE`` under
``-X importtime``; the figure is the median of the module's cumulative import time (what
``import MODULE`` adds to a cold start), beside the interpreter's own start-up. Prints a
Markdown table; not part of the test suite.

Usage::

    python scripts/heavy_costs.py --python /path/to/venv/bin/python [--runs 5] MODULE ...
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def cumulative_us(python: str, module: str) -> int | None:
    """Microseconds ``import module`` takes in a fresh process (None if it fails)."""
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        return None
    for line in proc.stderr.splitlines():
        m = _LINE.match(line)
        if m and m.group(4) == module and len(m.group(3)) == 1:
            return int(m.group(2))
    return None


def startup_ms(python: str) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", "pass"], check=True)
    return (time.perf_counter() - start) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default=sys.executable, help="the interpreter to measure (default: this one)")
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per module (default: 5)")
    ap.add_argument("modules", nargs="+", metavar="MODULE")
    args = ap.parse_args()
    for _ in range(2):  # warm the file cache, as a second deploy of the same image would
        for m in args.modules:
            cumulative_us(args.python, m)
    floor = statistics.median(startup_ms(args.python) for _ in range(args.runs))
    print(f"interpreter: `{args.python}`; bare start-up {floor:.0f} ms (median of {args.runs})\n")
    print("| module | import, median ms | min | max |")
    print("| --- | ---: | ---: | ---: |")
    rows = []
    for m in args.modules:
        times = [t for t in (cumulative_us(args.python, m) for _ in range(args.runs)) if t is not None]
        if not times:
            rows.append((m, None, None, None))
            continue
        rows.append((m, statistics.median(times) / 1000, min(times) / 1000, max(times) / 1000))
    for m, med, lo, hi in sorted(rows, key=lambda r: -(r[1] or -1)):
        if med is None:
            print(f"| `{m}` | fails to import | | |")
        else:
            print(f"| `{m}` | {med:.0f} | {lo:.0f} | {hi:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
