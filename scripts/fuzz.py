#!/usr/bin/env python
"""Seeded fuzz of lazify's pure ``transform()`` (issue 10).

Generates programs with a fixed seed from three generators: hypothesmith's ``from_grammar()``
and ``from_node()``, and lazify's own ``targeted`` generator (programs that import stub modules
and use the names in every position lazify reasons about; see ``tests/fuzzing.py``). Each
program goes through ``transform()`` in two configurations (heavy-modules = every module it
imports at module level; ``safe``: lazify's safe fixes, ``unsafe``: with unsafe fixes), and must:
raise nothing and report no internal error, give output that parses and compiles, be left alone
by a second pass, and import (and run its zero-argument functions) the way the input does.

Every failure is written to ``build/fuzz-failures/`` as a reproducer (the program, the settings,
what went wrong, lazify's output); the first few of each kind are minimised too (``*-min.py``).
The counts and failures go to ``build/fuzz-report.json``.

Usage (with the project's venv)::

    .venv/bin/python scripts/fuzz.py [--seed N] [--count N] [--generators targeted,grammar,node]
        [--configs safe,unsafe] [--no-run] [--minimise-per-kind N]

Exit status: 0 when nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import fuzzing as F  # noqa: E402

OUT = ROOT / "build" / "fuzz-failures"
REPORT = ROOT / "build" / "fuzz-report.json"


def generate(name: str, count: int, seed: int) -> list[str]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    programs: list[str] = []
    strategy = F.GENERATORS[name]()

    @hseed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def collect(source: str) -> None:
        programs.append(source)

    collect()
    return programs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=10, help="hypothesis seed (default 10: issue 10)")
    ap.add_argument("--count", type=int, default=1000, help="programs per generator (default 1000)")
    ap.add_argument("--generators", default="targeted,grammar,node")
    ap.add_argument("--configs", default="safe,unsafe")
    ap.add_argument("--no-run", action="store_true", help="skip the runtime comparison")
    ap.add_argument("--timeout", type=int, default=5, help="seconds per program run")
    ap.add_argument(
        "--minimise-per-kind", type=int, default=2, help="minimise the first N failures of each kind"
    )
    ap.add_argument("--minimise-budget", type=int, default=120, help="checks one minimisation may run")
    args = ap.parse_args(argv)
    gens = [g.strip() for g in args.generators.split(",") if g.strip()]
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if any(g not in F.GENERATORS for g in gens) or any(c not in F.CONFIGS for c in configs):
        print(
            f"fuzz: generators are {','.join(F.GENERATORS)}; configs {','.join(F.CONFIGS)}", file=sys.stderr
        )
        return 2
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    started = time.perf_counter()
    counts: dict[str, Counter] = {}
    failures: list[dict] = []
    minimised_per_kind: Counter = Counter()
    print(
        f"[fuzz] seed {args.seed}, {args.count} programs per generator: {', '.join(gens)}; configs {', '.join(configs)}"
    )
    runner = None if args.no_run else F.Runner(timeout=args.timeout)
    try:
        for gen in gens:
            t0 = time.perf_counter()
            programs = generate(gen, args.count, args.seed)
            c = counts[gen] = Counter()
            c["generated"] = len(programs)
            c["distinct"] = len(set(programs))
            print(
                f"[fuzz] {gen}: generated {len(programs)} ({c['distinct']} distinct) in {time.perf_counter() - t0:.1f}s",
                flush=True,
            )
            t0 = time.perf_counter()
            for idx, source in enumerate(programs):
                for config in configs:
                    checked = F.check_program(source, config, runner)
                    c[f"{config}: {checked.status}"] += 1
                    if checked.status != "skipped":
                        c[f"{config}: transformed"] += 1
                    if checked.deferred:
                        c[f"{config}: deferred an error"] += 1
                    for f in checked.failures:
                        c[f"{config}: FAILED: {f.kind}"] += 1
                        digest = hashlib.blake2b(source.encode(), digest_size=4).hexdigest()
                        stem = f"{gen}-{idx:04d}-{config}-{f.kind.replace(' ', '-')}-{digest}"
                        (OUT / f"{stem}.py").write_text(f.render())
                        rec = {"generator": gen, "index": idx, "file": f"{stem}.py", **F.failure_record(f)}
                        key = (gen, f.kind, config)
                        if minimised_per_kind[key] < args.minimise_per_kind:
                            minimised_per_kind[key] += 1
                            small = F.minimise(source, config, f.kind, runner, budget=args.minimise_budget)
                            again = F.check_program(small, config, runner)
                            mf = next((x for x in again.failures if x.kind == f.kind), None)
                            if mf is not None:
                                (OUT / f"{stem}-min.py").write_text(mf.render())
                                rec["minimised"] = f"{stem}-min.py"
                                rec["minimised_program"] = small
                        failures.append(rec)
                if (idx + 1) % 100 == 0:
                    print(f"[fuzz] {gen}: {idx + 1}/{len(programs)} checked ({time.perf_counter() - t0:.0f}s); "
                          f"failures so far: {sum(v for k, v in c.items() if 'FAILED' in k)}", flush=True)  # fmt: skip
    finally:
        if runner is not None:
            runner.__exit__(None, None, None)
    total_failures = sum(v for c in counts.values() for k, v in c.items() if "FAILED" in k)
    report = {
        "seed": args.seed,
        "count_per_generator": args.count,
        "configs": {k: {"unsafe_fixes": F.CONFIGS[k][0].unsafe_fixes, **F.CONFIGS[k][1]} for k in configs},
        "runtime_check": not args.no_run,
        "counts": {g: dict(sorted(c.items())) for g, c in counts.items()},
        "failures": failures,
        "elapsed": round(time.perf_counter() - started, 1),
    }
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n[fuzz] seed {args.seed}; {time.perf_counter() - started:.0f}s")
    for gen, c in counts.items():
        print(f"  {gen}:")
        for k, v in sorted(c.items()):
            print(f"    {v:6d}  {k}")
    print(f"[fuzz] {total_failures} failure(s); reproducers in {OUT}; report {REPORT}")
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())
