"""``make demo``: run lazify on the bundled example app, and show what it bought.

Copies examples/app to build/demo (the repository's copy is never touched), measures what
``import api.index`` does in a fresh process in an empty directory, shows the dry-run patch,
applies it, runs the app's own tests, and measures the import again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "app"
DEMO = ROOT / "build" / "demo"
LAZIFY = [sys.executable, "-m", "lazifier"]

PROBE = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
before = set(sys.modules)
t = time.perf_counter()
import api.index  # noqa: F401
elapsed = time.perf_counter() - t
heavy = sorted({m.split(".")[0] for m in set(sys.modules) - before} & {"numpy", "PIL", "torch", "clip", "sqlalchemy", "redis"})
print(json.dumps({"seconds": elapsed, "modules": len(set(sys.modules) - before), "heavy": heavy, "files": sorted(os.listdir("."))}))
"""


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m" if sys.stdout.isatty() else f"\n== {title}", flush=True)


def probe() -> dict:
    with tempfile.TemporaryDirectory() as empty:
        out = subprocess.run([sys.executable, "-c", PROBE, str(DEMO)], cwd=empty, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"importing the app failed:\n{out.stderr}")
    return json.loads(out.stdout)


def show(label: str, p: dict) -> None:
    print(
        f"{label}: import api.index took {p['seconds']:.2f}s, loaded {p['modules']} modules, "
        f"heavy: {', '.join(p['heavy']) or 'none'}; files created in an empty cwd: {', '.join(p['files']) or 'none'}"
    )


def main() -> int:
    shutil.rmtree(DEMO, ignore_errors=True)
    shutil.copytree(APP, DEMO, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.db", ".lazify_cache"))
    step("before: what importing the app does")
    before = probe()
    show("before", before)

    step("lazify apply --dry-run build/demo  (the patch on stdout, the report on stderr)")
    dry = subprocess.run([*LAZIFY, "apply", "--dry-run", str(DEMO)])
    if dry.returncode not in (0, 1):
        return dry.returncode

    step("lazify apply --yes build/demo")
    applied = subprocess.run([*LAZIFY, "apply", "--yes", "--quiet", str(DEMO)])
    if applied.returncode != 0:
        return applied.returncode

    step("the app's own test suite, after the rewrite")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=DEMO)
    if tests.returncode != 0:
        return tests.returncode

    step("after")
    after = probe()
    show("before", before)
    show("after ", after)
    step("a second dry run changes nothing")
    again = subprocess.run([*LAZIFY, "apply", "--dry-run", "--quiet", str(DEMO)], capture_output=True, text=True)
    print(again.stderr.strip())
    return 0 if again.returncode == 0 else again.returncode


if __name__ == "__main__":
    sys.exit(main())
