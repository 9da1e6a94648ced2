"""Time lazify against LibCST's own codemod CLI on a copy of the standard library.

Run with the project's venv (``make bench`` or ``.venv/bin/python bench/bench_stdlib.py``).
One run does both cases and prints a table; the figures also go to ``build/bench.json``.

Case A, defaults
    ``lazify apply --dry-run`` with lazify's default settings, cold (no ``.lazify_cache``) and
    warm (second run, cache present), against ``python -m libcst.tool codemod`` running a
    do-nothing ``VisitorBasedCodemodCommand`` over the same files. With the default heavy
    modules (torch, numpy, ...) no stdlib file matches lazify's prefilter, so this measures
    what a run costs on a project with nothing (or little) to do: LibCST's CLI parses every
    file whatever the codemod, lazify parses only the files that can need a change.
    Targets: cold <= 0.25 x LibCST, warm <= 0.05 x LibCST.

Case B, every file matches
    ``heavy-modules`` lists the modules stdlib files import most (os, sys, re, unittest, ...)
    and the copy keeps only the files lazify's prefilter matches, so every file is parsed,
    analysed and (where it can be) rewritten. ``lazify apply --dry-run`` cold against
    LibCST's CLI running ``libcst_baseline.commands.HeavyImportsCommand``: lazify's own
    heavy-imports analysis and rewrite as a LibCST codemod (see that module for exactly what it
    does and does not do), printing a diff (``-u``) instead of writing.
    Target: lazify no slower than the LibCST codemod (ratio <= 1).

Fairness: each tool gets its own copy (neither sees the other's cache or output); both copies
hold exactly the same ``.py`` files (files lazify's default ``exclude`` would skip, such as
``venv/``, are removed from both); both tools use the same ``-j``; LibCST runs with
``--no-format`` and ``--hide-progress``; before timing, each tool runs once on a tiny project
so imports and ``.pyc`` files are warm for both; "cold" means no lazify cache, while the OS
page cache is warm for both copies (they were just written).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

#: The modules stdlib files import most (absolute imports); see case B.
EVERY_FILE_HEAVY = (
    "os sys re io abc ast time types typing warnings functools itertools collections contextlib "
    "unittest test string struct enum copy math threading subprocess tempfile weakref operator "
    "errno socket codecs dataclasses pickle json email importlib textwrap shutil stat random "
    "logging inspect traceback signal select array binascii locale datetime tkinter idlelib "
    "lib2to3 encodings asyncio ctypes xml http urllib distutils gc builtins pathlib doctest "
    "sysconfig platform argparse ssl _testcapi sqlite3 decimal multiprocessing concurrent zipfile "
    "tarfile hashlib base64 queue heapq bisect fnmatch glob"
).split()

TARGETS = {"A_cold": 0.25, "A_warm": 0.05, "B_cold": 1.0}

LIBCST_CONFIG = """\
# LibCST codemod configuration for the benchmark (see bench/bench_stdlib.py).
generated_code_marker: "@gen{}erated"
formatter: ['black', '-']
blacklist_patterns: []
modules:
  - 'libcst_baseline'
repo_root: 'Lib'
""".format("")


# ------------------------------------------------------------------------------------------
# Running and timing


@dataclass
class Run:
    label: str
    wall: float
    cpu: float
    rc: int
    stdout: str
    stderr: str
    #: 1-minute load average before and after (other work on the machine skews wall time).
    load: tuple[float, float] = (0.0, 0.0)


@dataclass
class Timing:
    runs: list[Run] = field(default_factory=list)

    @property
    def best(self) -> Run:
        return min(self.runs, key=lambda r: r.wall)


def run_timed(
    label: str, cmd: list[str], cwd: Path, env: dict[str, str], logs: Path, ok: tuple[int, ...]
) -> Run:
    """Run ``cmd``; wall time, and CPU time of it and its (waited-for) descendants."""
    n = len(list(logs.glob(f"{label}-*.out")))
    out_path = logs / f"{label}-{n}.out"
    err_path = logs / f"{label}-{n}.err"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    if proc.returncode not in ok:
        sys.stderr.write(f"\n{label}: `{' '.join(cmd)}` exited {proc.returncode}\n{stderr[-3000:]}\n")
        raise SystemExit(2)
    load = os.getloadavg()[0]
    print(
        f"  {label:<22} {wall:8.2f} s wall  {cpu:8.2f} s cpu   (load before {load_before:.1f}, after {load:.1f})",
        flush=True,
    )
    return Run(label, wall, cpu, proc.returncode, stdout, stderr, (load_before, load))


def source_hash() -> str:
    """Hash of lazify's own sources: the run warns when they change while it runs."""
    import hashlib

    h = hashlib.blake2b(digest_size=8)
    for d in ("lazifier", "codemods"):
        for f in sorted((REPO / d).rglob("*.py")):
            h.update(f.as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------
# Copies of the standard library


def copy_stdlib(stdlib: Path, dest: Path) -> None:
    shutil.copytree(
        stdlib, dest / "Lib", symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__", "site-packages"),
    )  # fmt: skip


def libcst_files(root: Path) -> set[str]:
    """The files LibCST's CLI codemods (its own ``gather_files``), relative to ``root``."""
    from libcst.codemod import gather_files

    return {
        Path(f).resolve().relative_to(root.resolve()).as_posix() for f in gather_files([str(root / "Lib")])
    }


def lazify_targets(root: Path) -> set[str]:
    """The files ``lazify apply Lib`` looks at, relative to ``root``."""
    from lazifier.discovery import discover
    from lazifier.settings import load_settings

    lib = root / "Lib"
    return set(discover(load_settings([lib]), [lib]).targets)


def prefilter_matches(root: Path, rels: set[str]) -> tuple[set[str], set[str]]:
    """(files heavy-imports' prefilter matches with the copy's settings, files lazify would skip
    as generated or undecodable)."""
    from codemods.heavy_imports import HeavyImports
    from lazifier.discovery import is_generated
    from lazifier.settings import load_settings
    from lazifier.sources import SourceError, decode

    settings = load_settings([root / "Lib"])
    cms = [HeavyImports()]
    cs = settings.codemod_settings()
    match, other = set(), set()
    for rel in rels:
        raw = (root / rel).read_bytes()
        if is_generated(raw) or b"@gen" b"erated" in raw:
            other.add(rel)
            continue
        try:
            text = decode(raw).text
        except SourceError:
            other.add(rel)
            continue
        if any(cm.prefilter(text, cs) for cm in cms):
            match.add(rel)
    return match, other


def remove(root: Path, rels: set[str]) -> None:
    for rel in rels:
        (root / rel).unlink()


def write_lazify_config(root: Path, table: str = "") -> None:
    (root / "pyproject.toml").write_text(
        '[project]\nname = "stdlib-copy"\nversion = "0"\n\n[tool.lazify]\n' + table
    )


# ------------------------------------------------------------------------------------------
# Reading the tools' reports


LAZIFY_SUMMARY = re.compile(r"^lazify: (.*)$", re.M)


def lazify_counts(run: Run) -> dict[str, object]:
    m = list(LAZIFY_SUMMARY.finditer(run.stderr))
    summary = m[-1].group(1) if m else ""
    rewritten = re.search(r"(\d+) files? would be rewritten", summary)
    unchanged = re.search(r"(\d+) unchanged", summary)
    failed = re.search(r"(\d+) files? failed", summary)
    return {
        "summary": summary,
        "rewritten": int(rewritten.group(1)) if rewritten else 0,
        "unchanged": int(unchanged.group(1)) if unchanged else 0,
        "failed": int(failed.group(1)) if failed else 0,
    }


def libcst_counts(run: Run) -> dict[str, object]:
    def num(pattern: str) -> int:
        m = re.search(pattern, run.stderr)
        return int(m.group(1)) if m else -1

    skips = Counter(
        m.group(1).strip() for m in re.finditer(r"^Skipped codemodding .*?\.py: (.*)$", run.stderr, re.M)
    )
    total = num(r"Finished codemodding (\d+) files")
    failures = num(r"Failed to codemod (\d+) files")
    generated = sum(v for k, v in skips.items() if k.lower().startswith("generated"))
    return {
        "files": total,
        "transformed": num(r"Transformed (\d+) files"),
        "skipped": num(r"Skipped (\d+) files"),
        "skip_reasons": dict(skips),
        "failed": failures,
        # Files LibCST read and ran its parser on (failures are mostly parse errors).
        "parsed": total - generated,
        "parsed_ok": total - generated - failures,
        "diffs": len(re.findall(r"^\+\+\+ ", run.stdout, re.M)),
    }


# ------------------------------------------------------------------------------------------


def main() -> int:
    from importlib.metadata import version

    from lazifier import __version__ as lazify_version
    from lazifier.pool import default_jobs

    libcst_version = version("libcst")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="time each run N times, keep the best (default 1)"
    )
    ap.add_argument(
        "-j", "--jobs", type=int, default=default_jobs(), help="processes for both tools (default: cores)"
    )
    ap.add_argument("--stdlib", type=Path, default=Path(os.__file__).parent, help="the library to copy")
    ap.add_argument("--cases", default="AB", help="which cases to run (default AB)")
    ap.add_argument("--baseline-verify", action="store_true",
                    help="case B: the LibCST codemod also re-parses and compiles its output, as lazify does")  # fmt: skip
    ap.add_argument("--json", type=Path, default=REPO / "build" / "bench.json")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copies (printed)")
    args = ap.parse_args()

    python = sys.executable
    lazify = str(Path(python).parent / "lazify")
    work = Path(tempfile.mkdtemp(prefix="lazify-bench-"))
    logs = work / "logs"
    logs.mkdir()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(REPO)])
    env["NO_COLOR"] = "1"
    jobs = str(args.jobs)
    major, minor = sys.version_info[:2]

    def libcst_cmd(command: str, *extra: str) -> list[str]:
        # The command comes first: LibCST's CLI takes the first bare word as the command.
        return [python, "-m", "libcst.tool", "codemod", command, "--no-format", "--hide-progress",
                "-j", jobs, *extra, "Lib"]  # fmt: skip

    lazify_cmd = [lazify, "apply", "--dry-run", "-j", jobs, "--color", "never", "Lib"]
    heavy_args = ["--heavy-modules", ",".join(EVERY_FILE_HEAVY), "--target", f"{major}.{minor}"]
    if args.baseline_verify:
        heavy_args.append("--verify")
    # Case B compares lazify's heavy-imports with the same analysis run as a LibCST codemod, so
    # lazify runs that codemod alone (project-level codemods have no per-file LibCST twin).
    heavy_toml = (
        'select = ["heavy-imports"]\n'
        "heavy-modules = [" + ", ".join(f'"{m}"' for m in EVERY_FILE_HEAVY) + "]\n"
        f'target-version = "py{major}{minor}"\n'
    )

    print(f"lazify {lazify_version}, libcst {libcst_version}, Python {platform.python_version()}, "
          f"{os.cpu_count()} cores, -j {jobs}; stdlib {args.stdlib}")  # fmt: skip
    print(f"work dir {work}")

    report: dict[str, object] = {
        "lazify": lazify_version,
        "libcst": libcst_version,
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "jobs": args.jobs,
        "repeat": args.repeat,
        "stdlib": str(args.stdlib),
        "baseline_verify": args.baseline_verify,
        "targets": TARGETS,
        "load_average_at_start": os.getloadavg(),
        "source_hash": source_hash(),
    }
    try:
        # -- copies -------------------------------------------------------------------------
        t0 = time.perf_counter()
        dirs = {}
        for case in args.cases:
            for tool in ("lazify", "libcst"):
                d = work / f"{case.lower()}-{tool}"
                d.mkdir()
                copy_stdlib(args.stdlib, d)
                dirs[case, tool] = d
                if tool == "libcst":
                    (d / ".libcst.codemod.yaml").write_text(LIBCST_CONFIG)
                else:
                    write_lazify_config(d, heavy_toml if case == "B" else "")
        files: dict[str, object] = {}
        for case in args.cases:
            lz, lc = dirs[case, "lazify"], dirs[case, "libcst"]
            lc_files = libcst_files(lc)
            targets = lazify_targets(lz)
            # Same file set for both: drop what lazify's default excludes skip (venv/, ...).
            not_lazify = lc_files - targets
            not_libcst = targets - lc_files
            for d in (lz, lc):
                remove(d, {r for r in not_lazify | not_libcst if (d / r).exists()})
            kept = lc_files & targets
            info: dict[str, object] = {
                "py_files": len(kept),
                "removed_from_both": sorted(not_lazify | not_libcst),
            }
            matches, other = prefilter_matches(lz, kept)
            if case == "B":
                drop = kept - matches
                for d in (lz, lc):
                    remove(d, drop)
                info["removed_not_matching"] = len(drop)
                info["py_files"] = len(matches)
                info["matching"] = len(matches)
            else:
                info["matching"] = len(matches)
            info["generated_or_undecodable"] = len(other)
            assert libcst_files(lc) == lazify_targets(lz), "file sets differ"
            files[case] = info
            print(f"case {case}: {info['py_files']} files in both copies, {info['matching']} match "
                  f"heavy-imports' prefilter; removed from both: {len(info['removed_from_both'])} "
                  f"({', '.join(sorted({r.split('/')[1] for r in info['removed_from_both']})) or '-'})"
                  + (f", {info['removed_not_matching']} not matching" if case == "B" else ""))  # fmt: skip
        report["files"] = files
        print(f"copies made in {time.perf_counter() - t0:.1f} s")

        # -- warm up imports and .pyc files for both tools ----------------------------------
        warm = work / "warmup"
        (warm / "Lib" / "pkg").mkdir(parents=True)
        (warm / "Lib" / "pkg" / "__init__.py").write_text("")
        (warm / "Lib" / "pkg" / "a.py").write_text("import os\n\n\ndef f():\n    return os.getcwd()\n")
        (warm / "Lib" / "pkg" / "b.py").write_text(
            "import sys\nfrom pkg import a\n\n\ndef g():\n    return sys.argv, a.f()\n"
        )
        (warm / ".libcst.codemod.yaml").write_text(LIBCST_CONFIG)
        print("warming up (not timed)")
        for table in ("", heavy_toml):
            write_lazify_config(warm, table)
            shutil.rmtree(warm / ".lazify_cache", ignore_errors=True)
            run_timed("warmup-lazify", lazify_cmd, warm, env, logs, (0, 1))
        run_timed("warmup-libcst", libcst_cmd("commands.DoNothingCommand"), warm, env, logs, (0,))
        run_timed("warmup-libcst-heavy", libcst_cmd("commands.HeavyImportsCommand", "-u", *heavy_args),
                  warm, env, logs, (0,))  # fmt: skip

        # -- timing -------------------------------------------------------------------------
        timings: dict[str, Timing] = {}

        def t(key: str) -> Timing:
            return timings.setdefault(key, Timing())

        for rep in range(args.repeat):
            print(f"round {rep + 1}/{args.repeat}")
            if "A" in args.cases:
                lz, lc = dirs["A", "lazify"], dirs["A", "libcst"]
                t("A_libcst").runs.append(
                    run_timed(
                        "A-libcst-donothing", libcst_cmd("commands.DoNothingCommand"), lc, env, logs, (0, 1)
                    )
                )
                shutil.rmtree(lz / ".lazify_cache", ignore_errors=True)
                t("A_cold").runs.append(run_timed("A-lazify-cold", lazify_cmd, lz, env, logs, (0, 1, 2)))
                # With nothing to transform there may be nothing to cache: then warm == cold.
                info = files["A"]
                assert isinstance(info, dict)
                info["cache_written"] = (lz / ".lazify_cache").is_dir()
                t("A_warm").runs.append(run_timed("A-lazify-warm", lazify_cmd, lz, env, logs, (0, 1, 2)))
            if "B" in args.cases:
                lz, lc = dirs["B", "lazify"], dirs["B", "libcst"]
                t("B_libcst").runs.append(run_timed(
                    "B-libcst-heavyimports", libcst_cmd("commands.HeavyImportsCommand", "-u", *heavy_args),
                    lc, env, logs, (0, 1),
                ))  # fmt: skip
                shutil.rmtree(lz / ".lazify_cache", ignore_errors=True)
                t("B_cold").runs.append(run_timed("B-lazify-cold", lazify_cmd, lz, env, logs, (0, 1, 2)))
                t("B_warm").runs.append(run_timed("B-lazify-warm", lazify_cmd, lz, env, logs, (0, 1, 2)))

        # -- results ------------------------------------------------------------------------
        rows = []
        results: dict[str, object] = {}
        for key, base in (
            ("A_cold", "A_libcst"),
            ("A_warm", "A_libcst"),
            ("B_cold", "B_libcst"),
            ("B_warm", "B_libcst"),
        ):
            if key not in timings:
                continue
            lz_run, lc_run = timings[key].best, timings[base].best
            ratio = lz_run.wall / lc_run.wall
            target = TARGETS.get(key)
            met = None if target is None else ratio <= target
            results[key] = {
                "lazify_s": round(lz_run.wall, 3),
                "lazify_cpu_s": round(lz_run.cpu, 3),
                "libcst_s": round(lc_run.wall, 3),
                "libcst_cpu_s": round(lc_run.cpu, 3),
                "ratio": round(ratio, 4),
                "target": target,
                "met": met,
                "load": {"lazify": lz_run.load, "libcst": lc_run.load},
                "lazify_runs_s": [round(r.wall, 3) for r in timings[key].runs],
                "libcst_runs_s": [round(r.wall, 3) for r in timings[base].runs],
                "lazify_report": lazify_counts(lz_run),
                "libcst_report": libcst_counts(lc_run),
            }
            rows.append((key, lz_run.wall, lc_run.wall, ratio, target, met))
        report["results"] = results

        names = {
            "A_cold": "A defaults, cold",
            "A_warm": "A defaults, warm cache",
            "B_cold": "B every file matches, cold",
            "B_warm": "B every file matches, warm",
        }
        print()
        print(f"{'case':<29} {'lazify':>9} {'LibCST':>9} {'ratio':>7} {'target':>8}  {'met':<4}"
              f"{'cpu: lazify':>13} {'LibCST':>9} {'ratio':>7}")  # fmt: skip
        print("-" * 101)
        for key, lzw, lcw, ratio, target, met in rows:
            tgt = f"<= {target:g}" if target is not None else "(info)"
            mark = "-" if met is None else ("yes" if met else "NO")
            r = results[key]
            assert isinstance(r, dict)
            print(f"{names[key]:<29} {lzw:8.2f}s {lcw:8.2f}s {ratio:7.3f} {tgt:>8}  {mark:<4}"
                  f"{r['lazify_cpu_s']:12.2f}s {r['libcst_cpu_s']:8.2f}s "
                  f"{r['lazify_cpu_s'] / r['libcst_cpu_s']:7.3f}")  # fmt: skip
        print("(wall-clock ratios are the targets; CPU = user+sys of the process and its workers)")
        print()
        for case in args.cases:
            key = f"{case}_cold"
            if key not in results:
                continue
            r = results[key]
            lcr, lzr = r["libcst_report"], r["lazify_report"]  # type: ignore[index]
            print(f"case {case}: LibCST processed {lcr['files']} files, parsed {lcr['parsed_ok']} "
                  f"(failed {lcr['failed']}, skipped {lcr['skipped']}: {lcr['skip_reasons'] or '-'}), "
                  f"{lcr['diffs']} diffs")  # fmt: skip
            print(f"        lazify: {lzr['summary']}")
        if source_hash() != report["source_hash"]:
            report["source_changed_during_run"] = True
            print("\nWARNING: lazify's sources changed during the run; the figures mix versions")
        met_all = all(v["met"] for v in results.values() if v["met"] is not None)  # type: ignore[index]
        report["all_targets_met"] = met_all
        print(f"\nall targets met: {'yes' if met_all else 'NO'}")

        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
        return 0 if met_all else 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
