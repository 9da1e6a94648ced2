"""Where the per-file time goes: lazify's transform vs the LibCST codemod baseline, in-process.

    .venv/bin/python bench/profile_transform.py PROJECT_ROOT [--sample N] [--seed S] [--cprofile]

PROJECT_ROOT is a copy made by ``bench/bench_stdlib.py --keep`` (e.g. ``.../b-lazify``: its
pyproject sets the heavy modules). On a seeded sample of the files lazify would transform, runs

* lazify's ``transform`` step by step (parse, round-trip check, metadata + analysis, apply,
  code generation, verification: re-parse + compile), and
* what LibCST's CLI does with ``libcst_baseline.commands.HeavyImportsCommand`` (parse,
  ``transform_module``: wrapper copy + metadata + analysis + apply, ``bytes``, diff),

and prints seconds per stage, single process. ``--cprofile`` also profiles the real
``lazifier.transform.transform`` on the sample and prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("--sample", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args()

    import libcst as cst
    from libcst.codemod import CodemodContext, SkipFile
    from libcst.codemod._cli import diff_code
    from libcst.helpers import calculate_module_and_package
    from libcst.metadata import MetadataWrapper
    from libcst_baseline.commands import HeavyImportsCommand

    from codemods._api import FileContext
    from codemods.heavy_imports import HeavyImports
    from lazifier.engine import Engine
    from lazifier.settings import load_settings
    from lazifier.transform import Policy, _parse, _suppressed, fix_id, suppressions, transform

    lib = args.root / "Lib"
    # heavy-imports alone, as in the benchmark's case B.
    settings = load_settings([lib], {"select": ("heavy-imports",)})
    t0 = time.process_time()
    engine = Engine(settings, [lib], jobs=1, use_cache=False)
    t_read = time.process_time() - t0
    t0 = time.process_time()
    engine.index()
    t_index = time.process_time() - t0
    n_all = len(engine.candidates)
    rels = sorted(random.Random(args.seed).sample(engine.candidates, min(args.sample, n_all)))
    cs = engine.codemod_settings
    policy = Policy()
    size = sum(len(engine.sources[r].decoded.text) for r in rels)  # type: ignore[union-attr]
    print(f"{n_all} candidates; discovery+read+decode+prefilter {t_read:.2f} s, index (ast facts, "
          f"all files, 1 process) {t_index:.2f} s; sample {len(rels)} files, {size / 1e6:.2f} MB")  # fmt: skip

    lz: dict[str, float] = defaultdict(float)
    lc: dict[str, float] = defaultdict(float)
    changed_lz = changed_lc = 0

    def clock(d: dict[str, float], key: str, t: float) -> float:
        now = time.process_time()
        d[key] += now - t
        return now

    heavy = ",".join(sorted(cs.heavy_modules))
    target = f"{cs.target_version[0]}.{cs.target_version[1]}"
    for rel in rels:
        text = engine.sources[rel].decoded.text  # type: ignore[union-attr]
        view = engine.view(rel)
        mod = engine.module_of(rel)
        # -- lazify, step by step (as lazifier.transform._transform) --------------------------
        t = time.process_time()
        try:
            module = _parse(text, cs.target_version)
        except cst.ParserSyntaxError:
            module = None
        t = clock(lz, "1 parse", t)
        if module is not None:
            same = module.code == text
            t = clock(lz, "2 round-trip check (codegen)", t)
            if same:
                sup = suppressions(text)
                wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
                ctx = FileContext(module, wrapper, rel, mod, cs, view)
                cm = HeavyImports()
                analysis = cm.analyze(ctx)
                t = clock(lz, "3 metadata + analyze", t)
                findings = [f for f in analysis.findings if not _suppressed(f, HeavyImports, sup)]
                keys = frozenset(
                    f.fix_key for f in findings
                    if f.fix_key is not None and policy.accepts(fix_id(cm.code, rel, f.fix_key), f.safety)
                )  # fmt: skip
                if keys:
                    new_mod = cm.apply(ctx, analysis, keys)
                    t = clock(lz, "4 apply", t)
                    new = new_mod.code
                    t = clock(lz, "5 codegen of the output", t)
                    if new != text:
                        changed_lz += 1
                        _parse(new, cs.target_version)
                        t = clock(lz, "6 verify: re-parse output", t)
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            try:
                                compile(new, rel, "exec", dont_inherit=True)
                            except (SyntaxError, ValueError, RecursionError):
                                pass
                        t = clock(lz, "7 verify: compile output", t)
        # -- LibCST's CLI with the baseline codemod (as _execute_transform) -------------------
        path = str((args.root / rel).resolve())
        t = time.process_time()
        oldcode = (args.root / rel).read_bytes()
        try:
            mn = calculate_module_and_package(str(lib.resolve()), path)
            context = CodemodContext(filename=path, full_module_name=mn.name, full_package_name=mn.package)
        except ValueError:
            context = CodemodContext(filename=path)
        command = HeavyImportsCommand(context, heavy_modules=heavy, target=target)
        t = clock(lc, "0 read + instantiate", t)
        try:
            tree = cst.parse_module(oldcode, config=cst.PartialParserConfig(python_version=target))
        except cst.ParserSyntaxError:
            continue
        t = clock(lc, "1 parse", t)
        # transform_module = wrapper (deep copy) + metadata + transform_module_impl; split the
        # copy out by building the wrapper the same way first.
        MetadataWrapper(tree)
        t = clock(lc, "2 MetadataWrapper copy (measured apart)", t)
        try:
            out = command.transform_module(tree)
        except SkipFile:
            clock(lc, "3 transform_module (copy+metadata+analyze+apply)", t)
            continue
        t = clock(lc, "3 transform_module (copy+metadata+analyze+apply)", t)
        newcode = out.bytes
        t = clock(lc, "4 codegen (bytes)", t)
        if newcode != oldcode:
            changed_lc += 1
            diff_code(oldcode.decode(out.encoding), newcode.decode(out.encoding), 5, filename=path)
            t = clock(lc, "5 unified diff", t)

    # The copy is also inside transform_module: don't count it twice in the total.
    copy = lc.get("2 MetadataWrapper copy (measured apart)", 0.0)
    print(f"\nlazify transform, per stage (CPU s, {changed_lz} files changed):")
    for k in sorted(lz):
        print(f"  {k:<50} {lz[k]:8.2f}")
    print(f"  {'total':<50} {sum(lz.values()):8.2f}")
    print(f"\nLibCST CLI + HeavyImportsCommand, per stage (CPU s, {changed_lc} files changed):")
    for k in sorted(lc):
        print(f"  {k:<50} {lc[k]:8.2f}")
    print(f"  {'total (without the separate copy)':<50} {sum(lc.values()) - copy:8.2f}")

    if args.cprofile:
        prof = cProfile.Profile()
        prof.enable()
        for rel in rels:
            src = engine.sources[rel]
            transform(src.decoded.text, rel, engine.module_of(rel), cs, engine.codes, engine.view(rel), policy)  # type: ignore[union-attr]
        prof.disable()
        st = pstats.Stats(prof)
        st.sort_stats("cumulative").print_stats(35)
        st.sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
