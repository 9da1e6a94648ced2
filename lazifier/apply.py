"""``lazify apply``: the run from the command line's arguments to what is written and printed.

Load the settings, take the repository (refusing dirty files, making ``--branch``), run the
engine over the paths, then one of: print (``--dry-run``, the machine formats), review on a
terminal, or write (``--yes``), with ``--format`` and ``--commit`` around the writes. Standard
input (``-``) is its own small path through the same steps. :func:`run` is the entry.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lazifier import discovery, stages
from lazifier.console import EXIT_ERROR, EXIT_OK, Colors, write_stderr
from lazifier.formatters import format_results, formatter_command
from lazifier.report import RunReport, render_errors, render_patch, render_text
from lazifier.report_github import render_github
from lazifier.report_json import render_json
from lazifier.report_sarif import render_sarif
from lazifier.settings import ConfigError, load_settings, settings_overrides

if TYPE_CHECKING:
    from lazifier.writer import Written


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


def run(args: argparse.Namespace) -> int:
    from lazifier.engine import Engine
    from lazifier.pool import collecting_less

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
    settings = load_settings(paths, settings_overrides(args))
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
    with collecting_less():
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
            stages.dump_if_asked()


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
    repo_prefix = discovery.repo_prefix(root)
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
        from lazifier.review import review
        from lazifier.terminal import Terminal, confirm

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
        with stages.stage("report"):
            patch = render_patch(report.changed_files, originals, repo_prefix)
        sys.stdout.buffer.write(patch)
        sys.stdout.flush()
    if args.output_format == "text" and not args.quiet:
        if decided is not None:
            from lazifier.review import render_outcome, render_rest

            write_stderr(render_outcome(decided, display, err_colors))
            rest = render_rest(report, texts, display, err_colors)
            write_stderr("\n" + rest if rest else "")
        elif not interactive:
            with stages.stage("report"):
                text = render_text(report, texts, display=display, colors=err_colors)
            write_stderr(text)
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
    settings = load_settings([name], settings_overrides(args))
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

    prefix = discovery.repo_prefix(root)
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
            expected = content_hash(src.decoded.encode(previous[rel]) if rel in previous else src.raw)
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
    with stages.stage("write"):
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
