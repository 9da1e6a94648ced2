"""The ``lazify`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codemods import BY_CODE, by_name_or_code
from lazifier import __version__
from lazifier.formatters import FORMATTERS, format_results, formatter_command
from lazifier.report import (
    EXIT_ERROR,
    EXIT_OK,
    Colors,
    RunReport,
    render_errors,
    render_github,
    render_json,
    render_patch,
    render_sarif,
    render_text,
    write_stderr,
)
from lazifier.settings import TARGET_VERSIONS, ConfigError, load_settings

if TYPE_CHECKING:
    from lazifier.writer import Written

DESCRIPTION = """\
Make a Python service cheap and safe to import: heavy imports move into the functions that use
them, singletons become lazy getters, app setup moves into a factory. Safe rewrites change only
*when* an import or a construction happens; unsafe ones are opt-in; what can't be done correctly
is reported as blocked, with the reason and the line.
"""

APPLY_EPILOG = """\
examples:
  lazify apply --dry-run src/          show the patch (stdout) and the report (stderr)
  lazify apply --dry-run src/ | git apply   the same thing as --yes, through git
  lazify apply --yes src/              apply every safe rewrite without review
  lazify apply src/                    review each change on a terminal
  lazify apply --branch lazify/cold-start --commit src/   on a new branch, one commit per codemod
  lazify apply --check --output-format github .   in CI: annotate and fail on changes
  lazify apply --check --exit-zero --output-format sarif . > lazify.sarif   for code scanning
  lazify apply --stdin-filename app/models.py - < app/models.py   rewritten source on stdout
  lazify apply --format black --yes src/   apply, then black the files lazify changed

standard input (`-` as the only PATH, or --stdin-filename without a PATH):
  The source is read from stdin and nothing is written to disk, so no --yes is needed and there
  is no review. Without --dry-run, stdout is the rewritten source (the input itself when nothing
  changes or the file can't be processed); with --dry-run, the patch (or the --output-format
  output). The report is on stderr. --stdin-filename gives the path for the configuration, the
  module name, the report and the project index (the rest of the project is read from disk).

exit codes:
  0  nothing to change (or changes applied); with --exit-zero, also changes found
  1  --dry-run found changes; or --strict and something is blocked or unsafe
  2  usage error, or a file could not be processed (the others still were; also with
     --exit-zero); a git option that can't be honoured, or files with uncommitted changes
     (see --allow-dirty)
  130  interrupted (Ctrl-C): nothing was written, or, if files were being replaced, that was
     finished first (the last line says which)
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=min(100, _width()))


def _width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lazify", description=DESCRIPTION, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"lazify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    apply = sub.add_parser(
        "apply",
        help="find and rewrite import-time work (review, --yes, or --dry-run)",
        description="Find import-time work under PATHs and rewrite it.",
        epilog=APPLY_EPILOG,
        formatter_class=_Formatter,
    )
    apply.add_argument(
        "paths", nargs="*", metavar="PATH", type=Path, help="files or directories (default: .)"
    )
    mode = apply.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run",
        "--check",
        dest="dry_run",
        action="store_true",
        help="write nothing; print the patch and exit 1 if anything would change",
    )
    mode.add_argument("-y", "--yes", action="store_true", help="apply without review")
    apply.add_argument(
        "--select",
        metavar="CODEMODS",
        type=_csv,
        help="only these codemods (names or codes, comma-separated)",
    )
    apply.add_argument("--ignore", metavar="CODEMODS", type=_csv, help="skip these codemods")
    apply.add_argument("--unsafe-fixes", action="store_true", default=None, help="also apply unsafe rewrites")
    apply.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="blocked findings and unapplied unsafe fixes count as changes (exit 1)",
    )
    apply.add_argument(
        "--style",
        choices=("local", "lazy-keyword", "lazy-modules"),
        help="heavy-imports: function-local imports (default), PEP 810 `lazy import`, or `__lazy_modules__`",
    )
    apply.add_argument(
        "--module-app",
        choices=("eager", "lazy", "none"),
        help="app-factory: keep `app = create_app()` (default), bind `app` to a stand-in that builds it on first use, or drop it",
    )
    apply.add_argument("--target-version", choices=TARGET_VERSIONS, help="oldest Python the code must run on")
    apply.add_argument("-j", "--jobs", type=int, metavar="N", help="worker processes (default: one per core)")
    apply.add_argument(
        "--output-format",
        choices=("text", "json", "github", "sarif"),
        default="text",
        help="text: patch on stdout, report on stderr; json; github annotations; sarif (2.1.0)",
    )
    apply.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when changes (or, with --strict, blocked findings) are found; "
        "usage errors and files that could not be processed still exit 2",
    )
    apply.add_argument(
        "--stdin-filename",
        metavar="PATH",
        type=Path,
        help="read the source from stdin (PATH `-`) as the file at PATH: its configuration, "
        "module name, report and project",
    )
    apply.add_argument(
        "--format",
        dest="formatter",
        choices=FORMATTERS,
        metavar="black|ruff",
        help="format the files lazify changes with this formatter and the project's config "
        "(default: keep each file's formatting)",
    )
    apply.add_argument(
        "--force-exclude",
        action="store_true",
        default=None,
        help="skip excluded files even when named as PATHs (for pre-commit)",
    )
    apply.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    apply.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour output (default: on a terminal)",
    )
    apply.add_argument("-q", "--quiet", action="store_true", help="print only the summary on stderr")
    vcs = apply.add_argument_group("git (not with --dry-run)")
    vcs.add_argument(
        "--allow-dirty",
        action="store_true",
        help="rewrite files that have uncommitted changes (by default lazify refuses, naming them)",
    )
    vcs.add_argument(
        "--branch",
        metavar="NAME",
        help="create branch NAME at HEAD and check it out before writing (NAME must not exist)",
    )
    vcs.add_argument(
        "--commit",
        action="store_true",
        help="commit the changes, one commit per codemod; other staged changes stay staged and uncommitted",
    )

    sub.add_parser(
        "codemods", help="list the codemods", description="List the codemods.", formatter_class=_Formatter
    )
    config = sub.add_parser(
        "config", help="print the effective settings and where each comes from",
        description="Print the settings a run on PATHs would use: each key of [tool.lazify] with its "
        "value and where it came from (default, which pyproject.toml), and what lazify detected "
        "about the project.",
        formatter_class=_Formatter,
    )  # fmt: skip
    config.add_argument(
        "paths", nargs="*", metavar="PATH", type=Path, help="files or directories (default: .)"
    )
    explain = sub.add_parser(
        "explain",
        help="print a codemod's documentation",
        description="Print a codemod's documentation.",
        formatter_class=_Formatter,
    )
    explain.add_argument("codemod", metavar="NAME-OR-CODE")
    from lazifier.doctor.command import add_parser as add_doctor

    add_doctor(sub, _Formatter)
    return parser


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # The usage of the command the user typed (`lazify apply --bogus` shows apply's).
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        where = subparsers.choices.get(args.command, parser) if args.command else parser
        where.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        if args.command == "codemods":
            return _codemods()
        if args.command == "explain":
            return _explain(args.codemod)
        if args.command == "config":
            return _config(args.paths or [Path(".")])
        if args.command == "doctor":
            from lazifier.doctor.command import run as doctor

            return doctor(args)
        return _apply(args)
    except ConfigError as e:
        write_stderr(f"lazify: error: {e}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        write_stderr("lazify: interrupted; nothing was written")
        return 130
    except BrokenPipeError:
        # Whoever read stdout stopped (`| head`): say nothing more, and keep Python's exit
        # flush of stdout from printing a traceback of its own.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as e:
        write_stderr(_unexpected(e))
        return EXIT_ERROR


def _unexpected(e: Exception) -> str:
    """One line for an error nothing else handled: the file an OSError names, or else the line
    of lazify that raised it (for a bug report)."""
    if isinstance(e, OSError) and e.filename:
        return f"lazify: error: {e.filename}: {e.strerror or e}"
    where = next(
        (f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}"
         for f in reversed(traceback.extract_tb(e.__traceback__))
         if Path(f.filename).parent.name in ("lazifier", "codemods")),
        "?",
    )  # fmt: skip
    message = " ".join(str(e).split())
    return f"lazify: internal error in {where}: {type(e).__name__}: {message}; please report it"


def _codemods() -> int:
    for cls in BY_CODE:
        print(f"{cls.code}  {cls.name:<20} {cls.summary}")
    return EXIT_OK


def explain_text(cls: type) -> str:
    doc = textwrap.dedent((cls.__doc__ or "").split("\n", 1)[1] if "\n" in (cls.__doc__ or "") else "")
    first = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    return f"# {cls.name} ({cls.code})\n\n{first}\n{doc}".rstrip() + "\n"


def _config(paths: list[Path]) -> int:
    """``lazify config``: the settings as a ``[tool.lazify]`` table, each with its origin."""
    from lazifier.settings import CONFIG_KEYS, load_settings_with_origins

    settings, origins = load_settings_with_origins(paths)
    lines = [
        f"# project root: {settings.project_root}",
        f"# configuration: {settings.config_path or 'none (no pyproject.toml with [tool.lazify] found)'}",
        "[tool.lazify]",
    ]
    for key, spec in CONFIG_KEYS.items():
        if key.startswith("extend-"):
            continue  # folded into the key they extend, and named in its origin
        value = getattr(settings, spec.field)
        if value is None:
            continue
        where = origins.get(spec.field, "default")
        text = _toml(value, len(key) + 3)
        if "\n" in text:
            lines += [f"# {key}: {where}", f"{key} = {text}"]
        else:
            lines.append(f"{key} = {text}  # {where}")
    facts = settings.codemod_settings()
    lines += [
        "",
        "# detected:",
        f"#   SQLAlchemy 2.0 usable: {facts.sqlalchemy2} ({facts.sqlalchemy_source})",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _toml(value: object, indent: int) -> str:
    """A setting's value in TOML; a long list wrapped one item a line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        one_line = "[" + ", ".join(json.dumps(v) for v in value) + "]"
        if indent + len(one_line) <= 88:
            return one_line
        return "[\n" + "".join(f"    {json.dumps(v)},\n" for v in value) + "]"
    return json.dumps(str(value))


def _explain(key: str) -> int:
    cls = by_name_or_code(key)
    if cls is None:
        write_stderr(f"lazify: error: no codemod named {key!r} (see `lazify codemods`)")
        return EXIT_ERROR
    sys.stdout.write(explain_text(cls) + _defaults_text(cls.name))
    return EXIT_OK


def _defaults_text(name: str) -> str:
    """The default lists a codemod works from, which live in the source: shown by explain."""
    from lazifier.settings import DEFAULT_CHEAP, DEFAULT_FACTORIES, DEFAULT_HEAVY_MODULES

    lists = {
        "heavy-imports": [("heavy-modules", DEFAULT_HEAVY_MODULES)],
        "lazy-singletons": [("singleton-factories", DEFAULT_FACTORIES), ("cheap-calls", DEFAULT_CHEAP)],
    }.get(name, [])
    out = ""
    for key, values in lists:
        out += (
            f"\n## Default `{key}`\n\nReplace it with `{key}`, or add to it with `extend-{key}`, in "
            f"`[tool.lazify]`; `lazify config` shows the effective list.\n\n"
            + "".join(f"- `{v}`\n" for v in values)
        )
    return out


class _Progress:
    """A one-line counter on a terminal for runs that take a while; nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.start < 0.5:
            return
        sys.stderr.write(f"\rlazify: {done}/{total} files")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _apply(args: argparse.Namespace) -> int:
    from lazifier.engine import Engine

    if args.stdin_filename is not None or any(str(p) == "-" for p in args.paths):
        return _apply_stdin(args)
    if not args.dry_run and not args.yes and not sys.stdin.isatty():
        write_stderr(
            "lazify: error: standard input is not a terminal, so there is no one to review the "
            "changes; pass --yes to apply them or --dry-run to only show them"
        )
        return EXIT_ERROR
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    paths = args.paths or [Path(".")]
    settings = load_settings(paths, _overrides(args))
    if args.dry_run and (args.branch is not None or args.commit):
        raise ConfigError("--branch and --commit write to the repository; they can't be used with --dry-run")
    if args.formatter and args.commit:
        raise ConfigError(
            "--format can't be combined with --commit: each codemod's commit would hold the "
            "formatter's changes too; commit first, then run the formatter"
        )
    if args.formatter:
        formatter_command(args.formatter)  # a missing formatter is an error before any work
    repo = _repository(args, settings.project_root)
    progress = _Progress(sys.stderr.isatty() and not args.quiet)
    engine = Engine(
        settings,
        paths,
        jobs=args.jobs,
        use_cache=not args.no_cache,
        progress=progress,
        write=not args.dry_run,
    )
    try:
        return _apply_with(engine, args, settings, repo, progress)
    finally:
        engine.close()


def _apply_with(engine, args: argparse.Namespace, settings, repo, progress: _Progress) -> int:
    """The run itself, once the engine has the project (and, when it writes, its lock)."""
    from lazifier.transform import Policy
    from lazifier.writer import WriteFailed

    err_colors = Colors.for_stream(sys.stderr, args.color)
    policy = Policy(unsafe_fixes=settings.unsafe_fixes)
    interactive = not args.dry_run and not args.yes
    change_diffs = args.output_format in ("json", "sarif") or interactive
    outcome = engine.run(policy, change_diffs=change_diffs)
    progress.clear()
    engine.progress = None  # later runs (the review's) are short and would draw over it

    report = _report(args, settings, outcome, targets=len(engine.files.targets))
    root = settings.project_root
    repo_prefix = _repo_prefix(root)
    cwd = Path.cwd()

    def display(rel: str) -> str:
        try:
            return os.path.relpath(root / rel, cwd) if (root / rel).is_relative_to(cwd) else str(root / rel)
        except ValueError:
            return rel

    texts = {rel: s.decoded.text for rel, s in outcome.sources.items() if s.decoded is not None}
    if not args.dry_run and repo is not None and report.changed_files:
        _refuse_dirty(repo, args, root, [r.path for r in report.changed_files], display)

    from lazifier.review import Selection

    selection = Selection(engine, policy, outcome.results)
    decided = None
    if interactive and report.changed_files:
        from lazifier.review import Terminal, confirm, review

        term = Terminal.open(args.color)  # stderr, or stdin's terminal when stderr is redirected
        if term is None:
            write_stderr(
                "lazify: error: can't open the terminal standard input is on to review the changes; pass --yes or --dry-run"
            )
            return EXIT_ERROR
        try:
            ask = term.questionary_ask()
            if ask is None:
                if not confirm(report, texts, display, term):
                    write_stderr("lazify: nothing written.")
                    return EXIT_OK
                selection.accept_all()
            else:
                decided = review(selection, ask, display=display, terminal=term)
        finally:
            term.close()
    else:
        selection.accept_all()
    if decided is not None:
        report.results = selection.final(change_diffs=args.output_format in ("json", "sarif"))

    if args.formatter and report.changed_files:
        encodings = {r.path: engine.sources[r.path].decoded.encoding for r in report.changed_files}
        report.write_errors.update(
            format_results(args.formatter, report.changed_files, encodings, root, jobs=engine.jobs)
        )
    commits: list[str] = []
    interrupted = False
    if not args.dry_run and report.changed_files:
        try:
            if args.branch is not None:
                repo.create_branch(args.branch)  # type: ignore[union-attr]
                write_stderr(f"lazify: created and checked out branch {args.branch}")
            if args.commit:
                interrupted = _write_and_commit(engine, report, selection, repo, err_colors, commits)
            else:
                interrupted = _write(engine, report)
        except (KeyboardInterrupt, WriteFailed) as e:
            made = f"; {len(commits)} commit(s) made before it" if commits else ""
            if isinstance(e, WriteFailed):
                raise ConfigError(f"{e}{made}") from None
            write_stderr(
                f"lazify: interrupted; nothing was written{' in this step' if commits else ''}{made}"
            )
            return 130
    elif not args.dry_run and args.branch is not None:
        write_stderr(f"lazify: nothing to write; branch {args.branch} not created")

    machine = _machine_output(args.output_format, report, display, texts, root, repo_prefix)
    if machine is not None:
        sys.stdout.write(machine)
    elif args.dry_run:
        originals = {
            rel: (s.decoded.text, s.decoded.encoding, s.decoded.bom)
            for rel, s in outcome.sources.items()
            if s.decoded is not None
        }
        sys.stdout.buffer.write(render_patch(report.changed_files, originals, repo_prefix))
        sys.stdout.flush()
    if args.output_format == "text" and not args.quiet:
        if decided is not None:
            from lazifier.review import render_outcome, render_rest

            write_stderr(render_outcome(decided, display, err_colors))
            rest = render_rest(report, texts, display, err_colors)
            write_stderr("\n" + rest if rest else "")
        elif not interactive:
            write_stderr(render_text(report, texts, display=display, colors=err_colors))
    elif args.output_format == "text":
        write_stderr("\n".join(render_errors(report, display=display, colors=err_colors)))
    write_stderr(err_colors.bold("lazify: ") + report.summary())
    if interrupted:
        write_stderr("lazify: interrupted while the files were being replaced: the write was finished first")
        return 130
    return report.exit_code()


def _repository(args: argparse.Namespace, root: Path):
    """The git repository the files are in, when lazify will write (GitPython is imported only
    then). --branch and --commit need one; their problems are found before any work."""
    if args.dry_run:
        return None
    from lazifier import vcs

    repo = vcs.find(root)
    wanted = [opt for opt, on in (("--branch", args.branch is not None), ("--commit", args.commit)) if on]
    if repo is None:
        if wanted:
            raise ConfigError(
                f"{' and '.join(wanted)} need{'s' if len(wanted) == 1 else ''} a git repository, and {root} is not in one"
            )
        return None
    if args.branch is not None:
        repo.check_new_branch(args.branch)
    if args.commit:
        repo.check_identity()
    return repo


def _refuse_dirty(repo, args: argparse.Namespace, root: Path, rels: list[str], display) -> None:
    """Refuse to rewrite files that hold uncommitted work (unless --allow-dirty), and always
    with --commit, which would commit that work as lazify's."""
    dirty = repo.uncommitted([root / rel for rel in rels])
    if not dirty or (args.allow_dirty and not args.commit):
        return
    names = "\n".join(
        f"  {display(p.relative_to(root).as_posix())} ({why})" for p, why in sorted(dirty.items())
    )
    if args.commit:
        raise ConfigError(
            f"these files have uncommitted changes, and --commit would commit them as lazify's:\n{names}\n"
            "commit or stash them first"
        )
    raise ConfigError(
        f"these files have uncommitted changes, and lazify would rewrite them:\n{names}\n"
        "commit or stash them first, or pass --allow-dirty"
    )


def _report(args: argparse.Namespace, settings, outcome, targets: int) -> RunReport:
    return RunReport(
        results=outcome.results,
        skipped=outcome.skipped,
        notes=outcome.notes,
        dry_run=args.dry_run,
        strict=settings.strict,
        unsafe_fixes=settings.unsafe_fixes,
        targets=targets,
        exit_zero=args.exit_zero,
    )


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    return {
        "select": args.select,
        "ignore": args.ignore,
        "unsafe_fixes": args.unsafe_fixes,
        "strict": args.strict,
        "style": args.style,
        "module_app": args.module_app,
        "target_version": args.target_version,
        "force_exclude": args.force_exclude,
    }


def _machine_output(
    fmt: str, report: RunReport, display: Callable[[str], str], texts: dict[str, str], root: Path, prefix: str
) -> str | None:
    """The json, github or sarif output (None for text). GitHub and SARIF paths are relative to
    the repository root, as GitHub resolves them."""
    if fmt == "json":
        return render_json(report, display)
    if fmt == "github":
        return render_github(report, lambda rel: prefix + rel)
    if fmt == "sarif":
        repo_root = root.parents[prefix.count("/") - 1] if prefix else root
        return render_sarif(report, texts, prefix, repo_root.as_uri() + "/")
    return None


def _apply_stdin(args: argparse.Namespace) -> int:
    """``lazify apply -``: one file from stdin; its new text (or the patch) on stdout."""
    from lazifier.discovery import is_excluded
    from lazifier.engine import Engine
    from lazifier.transform import Policy

    if args.paths and [str(p) for p in args.paths] != ["-"]:
        raise ConfigError("standard input (`-`, or --stdin-filename) can't be combined with other paths")
    if args.branch is not None or args.commit:
        raise ConfigError(
            "--branch and --commit write to the repository; standard input writes only to stdout"
        )
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    name = args.stdin_filename or Path("-")
    settings = load_settings([name], _overrides(args))
    if args.formatter:
        formatter_command(args.formatter)
    root = settings.project_root
    rel = name.resolve().relative_to(root).as_posix()
    raw = sys.stdin.buffer.read()
    err_colors = Colors.for_stream(sys.stderr, args.color)
    if settings.force_exclude and args.stdin_filename and is_excluded(settings, rel):
        if not args.dry_run:
            sys.stdout.buffer.write(raw)
            sys.stdout.flush()
        write_stderr(err_colors.bold("lazify: ") + f"{args.stdin_filename} is excluded: nothing done.")
        return EXIT_OK
    engine = Engine(settings, [], jobs=args.jobs, use_cache=not args.no_cache, stdin=(rel, raw))
    outcome = engine.run(
        Policy(unsafe_fixes=settings.unsafe_fixes), change_diffs=args.output_format in ("json", "sarif")
    )
    report = _report(args, settings, outcome, targets=1)
    src = engine.sources[rel]
    texts = {rel: src.decoded.text} if src.decoded is not None else {}
    if args.formatter and report.changed_files:
        report.write_errors.update(
            format_results(
                args.formatter,
                report.changed_files,
                {rel: src.decoded.encoding},  # type: ignore[union-attr]
                root,
                paths={rel: name.resolve()},
            )
        )
    data = raw
    for r in report.changed_files:
        try:
            data = src.decoded.encode(r.new_text)  # type: ignore[union-attr, arg-type]
        except UnicodeEncodeError as e:
            report.write_errors[rel] = f"the new text can't be encoded as {src.decoded.encoding}: {e.reason}"  # type: ignore[union-attr]

    def display(path: str) -> str:
        return str(args.stdin_filename) if args.stdin_filename else "-"

    prefix = _repo_prefix(root)
    machine = _machine_output(args.output_format, report, display, texts, root, prefix)
    if args.dry_run:
        if machine is not None:
            sys.stdout.write(machine)
        else:
            originals = (
                {rel: (src.decoded.text, src.decoded.encoding, src.decoded.bom)} if src.decoded else {}
            )
            sys.stdout.buffer.write(render_patch(report.changed_files, originals, prefix))
    else:
        # The input itself when nothing changed or the file can't be processed: an editor that
        # replaces its buffer with our output never loses it.
        sys.stdout.buffer.write(data)
        if machine is not None:
            write_stderr(machine)
    sys.stdout.flush()
    if args.output_format == "text" and not args.quiet:
        write_stderr(render_text(report, texts, display=display, colors=err_colors))
    elif args.output_format == "text":
        write_stderr("\n".join(render_errors(report, display=display, colors=err_colors)))
    write_stderr(err_colors.bold("lazify: ") + report.summary())
    return report.exit_code()


def _write(engine, report: RunReport) -> bool:
    """Write the run's files, each decision in all its files or in none. True if Ctrl-C came
    while the files were being replaced (the write was finished first)."""
    from lazifier.review import decisions, write_groups

    texts = {r.path: r.new_text for r in report.changed_files}
    groups = write_groups([*texts, *report.write_errors], decisions(report.results))
    written = _write_texts(engine, texts, {}, groups, dict(report.write_errors))
    for e in written.errors:
        report.write_errors.setdefault(e.rel, e.reason)
    return written.interrupted


def _write_texts(
    engine, texts: dict[str, str], previous: dict[str, str], groups: list[list[str]], failed: dict[str, str]
) -> Written:
    """Write ``texts``, each group all or none; files in ``failed`` can't be written, and hold
    back their groups. ``previous`` is what a file holds now if an earlier step of this run
    rewrote it."""
    from lazifier.sources import content_hash
    from lazifier.writer import Pending, write_all

    pending = {rel: Pending(rel, engine.root / rel, b"", "", problem=why) for rel, why in failed.items()}
    for rel, text in texts.items():
        src = engine.sources[rel]
        try:
            data = src.decoded.encode(text)
            expected = content_hash(src.decoded.encode(previous[rel])) if rel in previous else src.hash
        except UnicodeEncodeError as e:
            pending[rel] = Pending(
                rel,
                src.path,
                b"",
                "",
                problem=f"the new text can't be encoded as {src.decoded.encoding}: {e.reason}",
            )
            continue
        pending.setdefault(rel, Pending(rel, src.path, data, expected))
    return write_all([[pending[rel] for rel in g if rel in pending] for g in groups], engine.journal_dir)


def _write_and_commit(engine, report: RunReport, selection, repo, colors: Colors, commits: list[str]) -> bool:
    """--commit: write and commit codemod by codemod, in registry order. Each step's files are
    written each decision all or none, then committed (only those paths); the last step leaves
    exactly what a single run writes. A file that could not be written in one step is not
    written in the later ones, and holds back their decisions that change it. ``commits``
    gets each commit made. True if Ctrl-C came while the files were being replaced (that step
    was finished and committed, and the later ones not done)."""
    from lazifier.review import decisions, write_groups
    from lazifier.vcs import commit_message

    errors = report.write_errors
    previous: dict[str, str] = {}
    root = engine.root
    changes = [c for r in report.changed_files for c in r.changes if c.applied]
    ds = decisions(report.results)
    for cls, step in selection.stages(report.changed_files):
        held = {p: errors[p] for p in step if p in errors}
        groups = write_groups(step, [d for d in ds if d.code == cls.code])
        written = _write_texts(engine, step, previous, groups, held)
        for e in written.errors:
            errors.setdefault(e.rel, e.reason)
        done = sorted(p for p in step if p not in errors)
        previous.update({p: step[p] for p in done})
        if done:
            items = [
                (repo.relpath(root / c.path), c.line, c.finding.message, c.safety_label)
                for c in changes
                if c.code == cls.code and c.path in done
            ]
            sha = repo.commit([root / p for p in done], commit_message(cls, items))
            commits.append(sha)
            subject = commit_message(cls, items).split("\n", 1)[0]
            write_stderr(f"{colors.bold('lazify: ')}committed {sha[:10]} {subject}")
        if written.interrupted:
            return True
    return False


def _repo_prefix(root: Path) -> str:
    """The project root relative to the git repository root, for patch paths ("" if none)."""
    for d in (root, *root.parents):
        if (d / ".git").exists():
            rel = root.relative_to(d).as_posix()
            return "" if rel == "." else rel + "/"
    return ""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
