"""lazify against the cost of parsing the tree once (issue 16): ``make bench``.

Over a copy of the standard library without its tests (about 730 files), in one run:

floor
    ``ast.parse`` of every file in a pool of ``-j`` processes (reading included): what any
    tool that looks at every file pays at least. The ratios below are against it.
A cold / A warm
    ``lazify apply --dry-run -j N`` with the defaults, without a cache, then again with the
    cache the first run left. Targets: cold at most 2x the floor, warm at most 0.25x.
B cold
    Every file matches: ``heavy-modules`` lists the modules standard-library files import
    most (``bench_stdlib.EVERY_FILE_HEAVY``), so heavy-imports analyses nearly every file.
scaling
    A cold over 1x, 2x and 4x copies of the library (time should grow with the files), and
    with ``-j 1`` against ``-j N`` (time should fall with the cores).

lazify runs as installed, reading its modules' bytecode (one run first, not timed, writes it
where ``PYTHONDONTWRITEBYTECODE`` would stop that). Each lazify run writes its seconds by
stage (``LAZIFY_PROFILE``, see ``lazifier/stages.py``) and the table after the ratios shows them, so a regression shows where it is. Every figure is
the best of ``--runs`` runs (wall clock; the load average is printed beside it). The figures
also go to ``build/bench-floor.json``. A benchmark, not a test: nothing here fails on time.

    .venv/bin/python bench/bench_floor.py [--runs 3] [--jobs N] [--scale 1,2,4] [--keep]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from bench_stdlib import EVERY_FILE_HEAVY  # noqa: E402  (bench/ is not a package)

IGNORE = ("__pycache__", "site-packages", "*.pyc", "test", "tests", "idle_test", "config-3.*", "lib-dynload")
TARGETS = {"A cold": 2.0, "A warm": 0.25}


def copy_library(dest: Path, copies: int, table: str = "") -> Path:
    """The library without its tests, ``copies`` times, under a project with ``[tool.lazify]``."""
    src = Path(os.__file__).resolve().parent
    dest.mkdir(parents=True)
    for i in range(copies):
        shutil.copytree(src, dest / ("Lib" if i == 0 else f"Lib{i + 1}"), symlinks=True,
                        ignore=shutil.ignore_patterns(*IGNORE))  # fmt: skip
    (dest / "pyproject.toml").write_text("[tool.lazify]\n" + table)
    return dest


def _parse(path: str) -> int:
    try:
        ast.parse(Path(path).read_bytes())
    except (SyntaxError, ValueError):
        pass
    return 0


def floor(root: Path, jobs: int) -> float:
    files = [str(p) for p in sorted(root.rglob("*.py"))]
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_parse, files, chunksize=16))
    return time.perf_counter() - start


def lazify(root: Path, jobs: int, *, cold: bool, profile: Path) -> float:
    if cold:
        shutil.rmtree(root / ".lazify_cache", ignore_errors=True)
    env = {**os.environ, "LAZIFY_PROFILE": str(profile), "NO_COLOR": "1"}
    # As installed: pip compiles an installed tool's modules, so a run reads their bytecode
    # (an environment that forbids writing it would have every run, and every worker, compile
    # lazify's own ~80 modules again).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lazifier", "apply", "--dry-run", "-j", str(jobs), "."],
        cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    took = time.perf_counter() - start
    # 2 with a summary: a file it could not process (LibCST can't round-trip one library file).
    if done.returncode not in (0, 1, 2) or b"\nlazify: " not in b"\n" + done.stderr:
        raise SystemExit(f"bench: lazify exited {done.returncode}:\n{done.stderr.decode()[-2000:]}")
    return took


def best(runs: int, measure) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The best of ``runs`` measurements, and the load average before them."""
    load = os.getloadavg()[0]
    return min(measure() for _ in range(runs)), load


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per figure; the best is kept (default 3)")
    ap.add_argument(
        "--jobs", "-j", type=int, default=os.cpu_count() or 1, help="workers (default: the cores)"
    )
    ap.add_argument("--scale", default="1,2,4", help="copies of the library for the scaling rows")
    ap.add_argument("--json", type=Path, default=REPO / "build" / "bench-floor.json")
    ap.add_argument("--keep", action="store_true", help="keep the copies (printed)")
    args = ap.parse_args()
    commit = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=REPO, capture_output=True, text=True)
    print(f"lazify at {commit.stdout.strip()}")
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, -j {args.jobs}\n"
    )

    tmp = Path(tempfile.mkdtemp(prefix="lazify-bench-floor-"))
    rows: list[dict] = []
    profiles: dict[str, dict[str, float]] = {}

    def record(case: str, root: Path, seconds: float, load: float, base: float) -> None:
        files = sum(1 for _ in root.rglob("*.py"))
        rows.append({"case": case, "files": files, "seconds": round(seconds, 3), "floor": round(base, 3),
                     "ratio": round(seconds / base, 2), "load": round(load, 1),
                     "target": TARGETS.get(case)})  # fmt: skip
        print(f"  {case:<14} {files:5d} files  {seconds:7.2f} s  floor {base:6.2f} s  ratio {seconds / base:5.2f}"
              f"   (load {load:.1f})", flush=True)  # fmt: skip

    def lazify_case(case: str, root: Path, jobs: int, cold: bool, base: float) -> None:
        profile = tmp / f"{case.replace(' ', '-')}.json"
        if not cold:
            lazify(root, jobs, cold=True, profile=profile)  # leaves the cache the warm runs read
        seconds, load = best(args.runs, lambda: lazify(root, jobs, cold=cold, profile=profile))
        # An older lazify (a before-and-after comparison) writes no profile.
        profiles[case] = json.loads(profile.read_text()) if profile.exists() else {}
        record(case, root, seconds, load, base)

    try:
        a = copy_library(tmp / "a", 1)
        b = copy_library(
            tmp / "b", 1, "heavy-modules = [" + ", ".join(json.dumps(m) for m in EVERY_FILE_HEAVY) + "]\n"
        )
        # Not timed: lazify's bytecode written and the OS's caches warm, for the floor too.
        lazify(a, args.jobs, cold=True, profile=tmp / "warm-up.json")
        base, load = best(args.runs, lambda: floor(a, args.jobs))
        record("floor", a, base, load, base)
        lazify_case("A cold", a, args.jobs, True, base)
        lazify_case("A warm", a, args.jobs, False, base)
        lazify_case("B cold", b, args.jobs, True, base)
        if args.jobs > 1:
            one, load = best(args.runs, lambda: floor(a, 1))
            seconds, load = best(args.runs, lambda: lazify(a, 1, cold=True, profile=tmp / "j1.json"))
            record("A cold -j 1", a, seconds, load, one)
        for k in [int(x) for x in args.scale.split(",") if x.strip() and int(x) > 1]:
            root = copy_library(tmp / f"scale{k}", k)
            here, _ = best(args.runs, lambda: floor(root, args.jobs))  # noqa: B023
            seconds, load = best(
                args.runs, lambda: lazify(root, args.jobs, cold=True, profile=tmp / "s.json")  # noqa: B023
            )
            record(f"A cold x{k}", root, seconds, load, here)
    finally:
        if args.keep:
            print(f"\ncopies kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print("\n| case | files | seconds | floor | ratio | target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        target = f"<= {r['target']}" if r["target"] else ""
        print(
            f"| {r['case']} | {r['files']} | {r['seconds']:.2f} | {r['floor']:.2f} | {r['ratio']:.2f} | {target} |"
        )
    stages = sorted({s for p in profiles.values() for s in p})
    print("\nseconds by stage (worker stages summed over the workers):\n")
    print("| stage | " + " | ".join(profiles) + " |")
    print("| --- |" + " ---: |" * len(profiles))
    for s in stages:
        print(f"| {s} | " + " | ".join(f"{p.get(s, 0.0):.2f}" for p in profiles.values()) + " |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"commit": commit.stdout.strip(), "rows": rows, "stages": profiles}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
