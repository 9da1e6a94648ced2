"""``lazify doctor``: the subcommand's arguments and its run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Import the service's entry point the way a serverless platform does, in fresh processes of the
project's interpreter, and report what that costs and does: time per package (attributed to the
project line that imported it), slow module-level statements, side effects (files written,
SQLite, network, subprocesses, threads, secrets, an import that fails), each with the lazify
codemod that removes it.

THIS RUNS THE PROJECT'S CODE (`lazify apply` never does): every import-time statement of the
entry and everything it imports executes, in a temporary copy of the project, with your
environment and network. Nothing is written into the project itself.
"""

EPILOG = """\
entries:
  ENTRY is a module (api.index), a file (api/index.py) or module:attribute (src.api.main:app,
  which also reads the attribute). Without one: the Python files vercel.json names (builds,
  functions), else `entry` in [tool.lazify]; else an error that lists likely candidates.

interpreter:
  --python, else $VIRTUAL_ENV, else .venv or venv in the project root, else the one lazify runs
  in; the report says which. lazify itself is never imported into that process.

examples:
  lazify doctor                          the entries from vercel.json or [tool.lazify] entry
  lazify doctor api/index.py --preview   and what `lazify apply` would change, measured
  lazify doctor --budget 800ms --strict  in CI: fail when slow or when anything happens at import
  lazify doctor --output-format json > doctor.json   every figure
  lazify doctor --sandbox serverless --env-file .env.production   fails as the platform would
  lazify doctor --compare origin/main --max-regression 50ms   CI: what this branch adds to cold start
  lazify doctor --preview --html doctor.html         the report as a page: charts, before and after
  lazify doctor --write-profile          store the costs for heavy-modules = "measured"

compare:
  --compare REF checks REF out in a temporary git worktree and measures its entries and the
  working tree's, run by run interleaved, with the same interpreter and settings; side by side:
  time, packages, side effects, size, and the project lines that add time. Exit 1 when the
  working tree is slower by more than --max-regression (default 10% of REF's median; or 50ms;
  and by more than the runs of one revision vary) or has a side effect REF did not.

sandbox:
  --sandbox serverless imports the entry under the platform's constraints, imposed inside the
  probe by audit hooks: writes, new files, renames and mkdir outside /tmp (and anywhere in the
  code) fail with EROFS "Read-only file system", a SQLite file that would be created fails with
  "unable to open database file", connections fail with EHOSTUNREACH (--allow-network lifts
  it), the environment is PATH, HOME, LANG, the platform's own variables and --env-file only,
  and the import is interrupted at the platform's init limit (lambda: 10 s, vercel: 300 s;
  --init-limit sets another). --platform: vercel when the project has a vercel.json, else lambda.

exit codes:
  0  measured, within the budget (and, with --strict, no side effects)
  1  the import fails or times out (in the sandbox: fails there), the median is over the budget,
     --strict and a side effect, or with --compare a regression or a side effect REF did not have
  2  doctor can't work: no interpreter, no entry, a probe that didn't run, a usage error
"""


def add_parser(sub: argparse._SubParsersAction, formatter: type) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "doctor",
        help="measure what importing the service costs and does (RUNS the project's code)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=formatter,
    )
    p.add_argument("entries", nargs="*", metavar="ENTRY", help="module, file, or module:attribute")
    p.add_argument(
        "--project", metavar="DIR", type=Path, help="the project root (default: found from the entry or .)"
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help="the project's interpreter (default: $VIRTUAL_ENV, .venv, venv, lazify's own)",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=5,
        metavar="N",
        help="fresh processes to time (default: 5); the median, min and max",
    )
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="per process (default: 60)")
    p.add_argument(
        "--threshold",
        default="10ms",
        metavar="DURATION",
        help="report module-level statements that take longer (default: 10ms)",
    )
    p.add_argument(
        "--preview",
        action="store_true",
        help="also apply the default fixes to a temporary copy and measure it: before and after",
    )
    p.add_argument(
        "--budget",
        metavar="DURATION",
        help="exit 1 when the median import is over it (800ms, 1.5s); also `import-budget`",
    )
    p.add_argument("--strict", action="store_true", default=None, help="exit 1 when any side effect remains")
    p.add_argument(
        "--output-format",
        choices=("text", "json", "github", "sarif"),
        default="text",
        help="text (the report), json (every figure), github annotations, sarif 2.1.0",
    )
    compare = p.add_argument_group("compare (a git revision against the working tree)")
    compare.add_argument(
        "--compare",
        metavar="REF",
        help="also measure the entries at git revision REF (a temporary worktree), interleaved with the working tree",
    )
    compare.add_argument(
        "--max-regression",
        metavar="THRESHOLD",
        help="with --compare: exit 1 when slower than REF by more than this (10%% of REF's median, "
        "or 50ms; default 10%%)",
    )
    sandbox = p.add_argument_group("sandbox (the platform's constraints, simulated in the probe)")
    sandbox.add_argument(
        "--sandbox",
        choices=("serverless",),
        help="import under a serverless platform's constraints: read-only code, only /tmp writable, "
        "no network, a reduced environment, the init time limit",
    )
    sandbox.add_argument(
        "--platform",
        choices=("vercel", "lambda"),
        help="whose constraints (default: vercel if the project has a vercel.json, else lambda)",
    )
    sandbox.add_argument(
        "--env-file",
        metavar="FILE",
        help="a .env-style file (KEY=VALUE lines): the environment variables the function is configured with",
    )
    sandbox.add_argument(
        "--allow-network", action="store_true", help="let connections through (refused by default)"
    )
    sandbox.add_argument(
        "--init-limit",
        metavar="DURATION",
        help="interrupt the import after this long (default: the platform's: lambda 10s, vercel 300s)",
    )
    p.add_argument(
        "--html",
        metavar="FILE",
        type=Path,
        help="also write the report as one self-contained HTML page (the import tree as a chart, side "
        "effects, fixes; with --preview before and after)",
    )
    p.add_argument(
        "--write-profile",
        action="store_true",
        help="store the measured costs (per package, per module-level statement) in the cache directory, "
        'for heavy-modules = "measured"; keyed by the interpreter and its installed distributions',
    )
    p.add_argument("-v", "--verbose", action="store_true", help="the full import tree and every distribution")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return p


def run(args: argparse.Namespace) -> int:
    from lazifier.console import EXIT_ERROR, Colors, write_stderr
    from lazifier.doctor.core import Options, diagnose, parse_duration
    from lazifier.doctor.render import render_text
    from lazifier.doctor.render_machine import render_github, render_json, render_sarif
    from lazifier.doctor.runner import DoctorError, find_interpreter, resolve_entries
    from lazifier.doctor.sandbox import make_sandbox
    from lazifier.settings import ConfigError, load_settings

    try:
        if args.runs < 1:
            raise DoctorError("--runs must be at least 1")
        if args.write_profile and args.sandbox:
            raise DoctorError(
                "--write-profile: not with --sandbox (a sandboxed import is not the real one, so its costs would mislead)"
            )
        if args.html:
            from lazifier.doctor.html_page import check_target

            check_target(args.html)
        start = args.project or _start(args.entries)
        settings = load_settings([start])
        root = settings.project_root
        budget, budget_source = None, None
        if args.budget:
            budget, budget_source = parse_duration(args.budget, "--budget"), "--budget"
        elif settings.import_budget:
            where = f"{settings.config_path} [tool.lazify] import-budget"
            budget, budget_source = parse_duration(settings.import_budget, where), where
        entries = resolve_entries(
            root, args.entries, settings.entry, f"{settings.config_path} [tool.lazify] entry"
        )
        interpreter = find_interpreter(root, args.python)
        init_limit = parse_duration(args.init_limit, "--init-limit") if args.init_limit else None
        platform = args.platform or (
            ("vercel" if (root / "vercel.json").is_file() else "lambda") if args.sandbox else None
        )
        sandbox = make_sandbox(args.sandbox, platform, args.env_file, args.allow_network, init_limit)
        revision, threshold = _compare_options(root, args)
        progress = (
            (lambda m: (sys.stderr.write(f"\rlazify doctor: {m}\x1b[K"), sys.stderr.flush()))
            if sys.stderr.isatty()
            else (lambda m: None)
        )
        opts = Options(
            root=root, entries=entries, interpreter=interpreter, runs=args.runs, timeout=args.timeout,
            threshold=parse_duration(args.threshold, "--threshold"), preview=args.preview, budget=budget,
            budget_source=budget_source, strict=bool(args.strict if args.strict is not None else settings.strict),
            cache_dir=settings.cache_dir, progress=progress, sandbox=sandbox, compare=revision,
            max_regression=threshold, write_profile=args.write_profile,
            measured=settings.facts.measured is not None,
        )  # fmt: skip
        doc = diagnose(opts)
        if sys.stderr.isatty():
            sys.stderr.write("\r\x1b[K")
    except (DoctorError, ConfigError) as e:
        write_stderr(f"lazify doctor: error: {e}")
        return EXIT_ERROR
    if args.output_format == "json":
        sys.stdout.write(render_json(doc))
    elif args.output_format == "github":
        prefix = _repo_prefix(root)
        sys.stdout.write(render_github(doc, lambda rel: prefix + rel))
    elif args.output_format == "sarif":
        prefix = _repo_prefix(root)
        repo_root = root.parents[prefix.count("/") - 1] if prefix else root
        sys.stdout.write(render_sarif(doc, prefix, repo_root.as_uri() + "/"))
    else:
        sys.stdout.write(
            render_text(doc, verbose=args.verbose, colors=Colors.for_stream(sys.stdout, args.color))
        )
    if args.html:
        from lazifier.doctor.html_page import render_html, write_atomic

        try:
            write_atomic(args.html, render_html(doc))
        except OSError as e:
            write_stderr(f"lazify doctor: error: can't write --html {args.html}: {e.strerror or e}")
            return EXIT_ERROR
        write_stderr(f"lazify doctor: wrote {args.html}")
    return int(doc["exit_code"])


def _compare_options(root: Path, args: argparse.Namespace) -> tuple:
    from lazifier.doctor.compare import DEFAULT_MAX_REGRESSION, parse_threshold, resolve
    from lazifier.doctor.runner import DoctorError

    if args.compare is None:
        if args.max_regression is not None:
            raise DoctorError("--max-regression: only with --compare REF")
        return None, None
    threshold = parse_threshold(args.max_regression or DEFAULT_MAX_REGRESSION)
    return resolve(root, args.compare), threshold


def _start(entries: list[str]) -> Path:
    """Where to look for the project: the first entry that is a file, else the working directory."""
    for e in entries:
        p = Path(e.partition(":")[0])
        if p.suffix == ".py" and p.exists():
            return p
    return Path(".")


def _repo_prefix(root: Path) -> str:
    from lazifier.discovery import repo_prefix

    return repo_prefix(root)
