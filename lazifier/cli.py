"""The ``lazify`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lazifier import __version__
from lazifier.console import EXIT_ERROR, EXIT_OK, write_stderr
from lazifier.formatters import FORMATTERS
from lazifier.settings import TARGET_VERSIONS, ConfigError, choices, settings_overrides

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


def _add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line forms of ``[tool.lazify]`` keys (they win over the file), shared by
    ``apply`` and ``config``."""
    group = parser.add_argument_group("settings (override [tool.lazify])")
    group.add_argument(
        "--select",
        metavar="CODEMODS",
        type=_csv,
        help="only these codemods (names or codes, comma-separated)",
    )
    group.add_argument("--ignore", metavar="CODEMODS", type=_csv, help="skip these codemods")
    group.add_argument("--unsafe-fixes", action="store_true", default=None, help="also apply unsafe rewrites")
    group.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="blocked findings and unapplied unsafe fixes count as changes (exit 1)",
    )
    group.add_argument(
        "--style",
        choices=choices("style"),
        help="heavy-imports: function-local imports (default), PEP 810 `lazy import`, or `__lazy_modules__`",
    )
    group.add_argument(
        "--module-app",
        choices=choices("module_app"),
        help="app-factory: keep `app = create_app()` (default), bind `app` to a stand-in that builds it on first use, or drop it",
    )
    group.add_argument("--target-version", choices=TARGET_VERSIONS, help="oldest Python the code must run on")
    group.add_argument(
        "--force-exclude",
        action="store_true",
        default=None,
        help="skip excluded files even when named as PATHs (for pre-commit)",
    )


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
    _add_settings_arguments(apply)
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
        "value and where it came from (default, which pyproject.toml, the command line), and what "
        "lazify detected about the project.",
        formatter_class=_Formatter,
    )  # fmt: skip
    config.add_argument(
        "paths", nargs="*", metavar="PATH", type=Path, help="files or directories (default: .)"
    )
    _add_settings_arguments(config)
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
            return _config(args.paths or [Path(".")], settings_overrides(args))
        if args.command == "doctor":
            from lazifier.doctor.command import run as doctor

            return doctor(args)
        from lazifier.apply import run as apply

        return apply(args)
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
    import traceback

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
    from codemods.catalog import entries

    for e in entries():
        print(f"{e.code}  {e.name:<20} {e.summary}")
    return EXIT_OK


def _config(paths: list[Path], overrides: dict[str, object]) -> int:
    """``lazify config``: the settings as a ``[tool.lazify]`` table, each with its origin."""
    from codemods.catalog import entries
    from lazifier.settings import CONFIG_KEYS, load_settings_with_origins

    settings, origins = load_settings_with_origins(paths, overrides)
    lines = [
        f"# project root: {settings.project_root}",
        f"# configuration: {settings.config_path or 'none (no pyproject.toml with [tool.lazify] found)'}",
        "[tool.lazify]",
    ]
    for key, spec in CONFIG_KEYS.items():
        if key.startswith("extend-"):
            continue  # folded into the key they extend, and named in its origin
        value = getattr(settings, spec.field)
        where = origins.get(spec.field, "default")
        if value is None and key == "select":
            value, where = tuple(e.code for e in entries()), "default: every codemod"
        elif value is None:
            lines.append(f"# {key} is not set (default)")
            continue
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
    measured = settings.facts.measured
    if measured is not None:
        lines.append(f"#   measured profile ({measured.status}): {measured.note}")
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
    from codemods.catalog import find
    from lazifier.docs import doc_of

    entry = find(key)
    if entry is None:
        write_stderr(f"lazify: error: no codemod named {key!r} (see `lazify codemods`)")
        return EXIT_ERROR
    sys.stdout.write(doc_of(entry).markdown() + _defaults_text(entry.name))
    return EXIT_OK


def _defaults_text(name: str) -> str:
    """The default lists a codemod works from, which live in the source: shown by explain."""
    from codemods.options import HEAVY_MODULE_REASONS
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
        )
        if key == "heavy-modules":
            out += (
                "Each is there because importing it costs about numpy's import or more, and services "
                "import it at module level while using it only in functions (figures: median "
                "`-X importtime` of fresh processes, Python 3.11, 2 cores; see the README).\n\n"
            )
        out += "".join(
            f"- `{v}`: {HEAVY_MODULE_REASONS[v]}\n" if key == "heavy-modules" else f"- `{v}`\n"
            for v in values
        )
    return out


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
