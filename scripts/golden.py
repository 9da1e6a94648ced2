#!/usr/bin/env python
"""Golden outputs: what lazify prints over a copy of the standard library, to show that a
refactoring changed no behaviour (issue 14: "the same outputs on the standard-library sweep").

It copies the standard library (as ``scripts/sweep.py`` does, with its widened heavy-module
list so that most files have candidates) and runs ``lazify apply --dry-run --no-cache`` over it
in three ways: JSON, JSON with ``--unsafe-fixes``, and the text report. Timings are dropped;
everything else (findings, messages, diffs, the summary) is kept, byte for byte.

Usage (with the project's venv)::

    .venv/bin/python scripts/golden.py capture build/golden-before.json [--quick] [-j N]
    .venv/bin/python scripts/golden.py compare build/golden-before.json build/golden-after.json

``--quick`` keeps the first 150 files of the copy (a minute instead of several); ``compare``
prints the first differences and exits 1 when there are any.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import sweep  # noqa: E402  (scripts/ is not a package)

RUNS = {
    "json": ["--output-format", "json"],
    "json-unsafe": ["--output-format", "json", "--unsafe-fixes"],
    "text": ["--output-format", "text", "--color", "never"],
}


def _trim(root: Path, keep: int) -> None:
    files = sorted(p for p in root.rglob("*.py") if p.is_file())
    for p in files[keep:]:
        p.unlink()


def _scrub(text: str, root: Path) -> str:
    return text.replace(str(root), "<root>")


def capture(out: Path, quick: bool, jobs: int) -> None:
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="lazify-golden-") as tmp:
        _, root = sweep.copy_stdlib(Path(tmp))
        if quick:
            _trim(root, 150)
        for name, extra in RUNS.items():
            cmd = [sys.executable, "-m", "lazifier", "apply", "--dry-run", "--no-cache", "-j", str(jobs)]
            done = subprocess.run(
                [*cmd, *extra, "."],
                cwd=root,
                capture_output=True,
                text=True,
                env={**os.environ, "NO_COLOR": "1"},
            )
            stdout = _scrub(done.stdout, root)
            if name.startswith("json"):
                doc = json.loads(stdout)
                doc.pop("timing", None)
                doc.get("summary", {}).pop("seconds", None)
                stdout = json.dumps(doc, indent=1, sort_keys=True)
            stderr = _scrub(done.stderr, root)
            results[name] = {"exit_code": done.returncode, "stdout": stdout, "stderr": stderr}
            print(f"golden: {name}: exit {done.returncode}, {len(stdout)} characters", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, sort_keys=True))
    print(f"golden: wrote {out}", file=sys.stderr)


def compare(a: Path, b: Path) -> int:
    one, two = json.loads(a.read_text()), json.loads(b.read_text())
    differences = 0
    for name in sorted(set(one) | set(two)):
        x, y = one.get(name, {}), two.get(name, {})
        for field in ("exit_code", "stdout", "stderr"):
            if x.get(field) == y.get(field):
                continue
            differences += 1
            print(f"== {name} {field} differs")
            xl, yl = str(x.get(field)).splitlines(), str(y.get(field)).splitlines()
            for line in list(difflib.unified_diff(xl, yl, lineterm="", n=1))[:40]:
                print(line)
    print("golden: identical" if not differences else f"golden: {differences} differences")
    return 1 if differences else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("capture")
    c.add_argument("out", type=Path)
    c.add_argument("--quick", action="store_true")
    c.add_argument("-j", type=int, default=2)
    d = sub.add_parser("compare")
    d.add_argument("a", type=Path)
    d.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "capture":
        capture(args.out, args.quick, args.j)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    raise SystemExit(main())
