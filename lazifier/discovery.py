"""Which files a run looks at: the paths given (targets) and the whole project (for the index).

Honours ``.gitignore`` files (at every level), ``exclude``/``extend-exclude`` globs and files
marked ``@generated``. Symlinked files are followed only when they point inside the project.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
from pathspec.util import normalize_file

from lazifier.settings import DEFAULT_EXCLUDE, ConfigError, Settings

GENERATED = re.compile(rb"(?m)^[ \t]*(?:#|\*|//|\"\"\"|''')?.*@generated\b")


@dataclass
class Skipped:
    path: str
    reason: str
    line: int | None = None
    #: A short category for the summary ("generated", "symlink loop", ...).
    kind: str = ""
    #: Whether the file could not be processed (exit code 2), rather than skipped by design.
    error: bool = False


@dataclass
class FileSet:
    #: Files to rewrite, relative to the project root (posix), sorted.
    targets: list[str] = field(default_factory=list)
    #: Every Python file of the project (for cross-file questions), sorted.
    project: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    #: Files a target symlink resolves to (written through, never twice).
    links: dict[str, str] = field(default_factory=dict)


class _Ignore:
    """gitignore-style matching: exclude globs plus .gitignore files found on the way down."""

    def __init__(self, settings: Settings, *, user_excludes: bool = True) -> None:
        self.root = settings.project_root
        if user_excludes:
            patterns = [*settings.exclude, *settings.extend_exclude]
        else:
            patterns = list(DEFAULT_EXCLUDE)
        self.exclude = pathspec.GitIgnoreSpec.from_lines(patterns)
        # Without a negation, the last match can't undo an earlier one: a path is excluded
        # when any pattern matches it, and the patterns' own expressions say so, cheaper.
        active = [p for p in self.exclude.patterns if p.include is not None]
        plain = all(p.include for p in active) and not any("(?P" in str(p.pattern) for p in active)
        self._any = _any_of([p.regex.pattern for p in active]) if plain else None
        self.respect_gitignore = settings.respect_gitignore
        self._gitignores: dict[str, pathspec.GitIgnoreSpec | None] = {}
        self._chains: dict[str, tuple[tuple[int, pathspec.GitIgnoreSpec], ...]] = {}

    def _spec_for(self, rel_dir: str) -> pathspec.GitIgnoreSpec | None:
        if rel_dir not in self._gitignores:
            f = self.root / rel_dir / ".gitignore"
            spec = None
            if f.is_file():
                try:
                    spec = pathspec.GitIgnoreSpec.from_lines(f.read_text(errors="replace").splitlines())
                except (OSError, ValueError):
                    spec = None
            self._gitignores[rel_dir] = spec
        return self._gitignores[rel_dir]

    def _excluded(self, probe: str) -> bool:
        if self._any is None:
            return self.exclude.match_file(probe)
        return self._any.search(normalize_file(probe)) is not None

    def _chain(self, rel_dir: str) -> tuple[tuple[int, pathspec.GitIgnoreSpec], ...]:
        """The ``.gitignore`` specs of ``rel_dir`` and the directories above it, outermost
        first, each with the depth of the directory it is in."""
        chain = self._chains.get(rel_dir)
        if chain is None:
            parent = self._chain(rel_dir.rpartition("/")[0]) if rel_dir else ()
            spec = self._spec_for(rel_dir)
            depth = rel_dir.count("/") + 1 if rel_dir else 0
            chain = self._chains[rel_dir] = (*parent, (depth, spec)) if spec is not None else parent
        return chain

    def ignored(self, rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        if self._excluded(probe):
            return True
        if not self.respect_gitignore:
            return False
        parts = rel.split("/")
        ignored = False
        for depth, spec in self._chain(rel.rpartition("/")[0]):
            sub = "/".join(parts[depth:]) + ("/" if is_dir else "")
            result = spec.check_file(sub)
            if result.include is not None:
                ignored = result.include
        return ignored


def _any_of(expressions: list[str]) -> re.Pattern[str] | None:
    """One expression matching where any of ``expressions`` does (their named groups, which
    only mark a directory match, made plain), or None when one refers back to a group. The
    patterns must not spell ``(?P`` themselves (inside ``[...]`` pathspec copies it as is)."""
    if any("(?P=" in e for e in expressions):
        return None
    plain = [re.sub(r"\(\?P<\w+>", "(?:", e) for e in expressions]
    return re.compile("|".join(f"(?:{e})" for e in plain) or "(?!)")


def _rel(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def is_generated(head: bytes) -> bool:
    head = head[:4096]
    return b"@generated" in head and GENERATED.search(head) is not None


def discover(settings: Settings, paths: list[Path]) -> FileSet:
    root = settings.project_root
    ign = _Ignore(settings)
    out = FileSet()
    # The index covers the whole project (tests and user-excluded files included): excluding a
    # file from rewriting doesn't stop it from importing names we would move.
    whole = _Ignore(settings, user_excludes=False)
    targets: set[str] = set()
    if any(_is_root(Path(os.path.abspath(p)), root) for p in paths if os.path.lexists(p)):
        # ``lazify apply .``: one walk finds both sets.
        project, targets = _walk_sets(root, root, [(whole, False), (ign, True)], out)
    else:
        project = _walk(root, root, whole, out, report=False)
    out.project = sorted(project)
    for p in paths:
        if not os.path.lexists(p):
            raise ConfigError(f"{p}: no such file or directory")
        ap = Path(os.path.abspath(p))
        rel = _rel(ap, root)
        if rel is None:
            raise ConfigError(f"{p}: outside the project root {root}")
        if ap.is_dir() and not ap.is_symlink():
            if _is_root(ap, root):
                continue  # walked with the project
            elif ign.ignored(rel, is_dir=True):
                continue
            else:
                targets.update(_walk(ap, root, ign, out, report=True))
        else:
            # A file named explicitly is processed even when excluded (as ruff does), unless
            # force-exclude says otherwise (pre-commit names every changed file).
            if settings.force_exclude and _excluded(ign, rel):
                continue
            t = _file(ap, root, out)
            if t is not None:
                targets.add(t)
    out.targets = sorted(targets)
    return out


def _is_root(ap: Path, root: Path) -> bool:
    return _rel(ap, root) == "." and ap.is_dir() and not ap.is_symlink()


def _excluded(ign: _Ignore, rel: str) -> bool:
    parts = rel.split("/")
    dirs = ("/".join(parts[:i]) for i in range(1, len(parts)))
    return any(ign.ignored(d, is_dir=True) for d in dirs) or ign.ignored(rel, is_dir=False)


def is_excluded(settings: Settings, rel: str) -> bool:
    """Whether a file (relative to the project root) is excluded or git-ignored, by itself or
    through one of its directories."""
    return _excluded(_Ignore(settings), rel)


def _file(ap: Path, root: Path, out: FileSet) -> str | None:
    rel = _rel(ap, root) or str(ap)
    if ap.is_symlink():
        try:
            real = ap.resolve(strict=True)
        except RuntimeError:
            out.skipped.append(Skipped(rel, "symlink loop", kind="symlink loop", error=True))
            return None
        except OSError:
            out.skipped.append(Skipped(rel, "broken symlink", kind="broken symlink", error=True))
            return None
        if not real.is_file():  # a FIFO would block the read forever, a device could be worse
            out.skipped.append(Skipped(rel, "not a regular file", kind="not a regular file", error=True))
            return None
        real_rel = _rel(real, root)
        if real_rel is None:
            out.skipped.append(
                Skipped(
                    rel,
                    f"symlink to {real}, outside the project: not written through",
                    kind="symlink out of the project",
                )
            )
            return None
        out.links[rel] = real_rel
        return real_rel
    if not ap.is_file():
        out.skipped.append(Skipped(rel, "not a regular file", kind="not a regular file", error=True))
        return None
    return rel


def _walk(start: Path, root: Path, ign: _Ignore, out: FileSet, *, report: bool) -> set[str]:
    """The ``.py`` files under ``start`` that ``ign`` keeps; with ``report``, what can't be
    read (a broken symlink, a FIFO) goes to ``out.skipped``."""
    return _walk_sets(start, root, [(ign, report)], out)[0]


def module_name(rel: str, settings: Settings, is_package_dir: Callable[[str], bool]) -> str | None:
    """Dotted module name of a project file (``rel`` is posix, relative to the project root).

    Walks up through directories holding ``__init__.py`` (or listed in ``namespace-packages``),
    never above a ``src`` root, like ruff's package resolution.
    """
    parts = rel.split("/")
    stem = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
    dirs = parts[:-1]
    src_roots = {s.strip("/") for s in settings.src if s not in (".", "./", "")}
    namespace = {n.strip("/") for n in settings.namespace_packages}
    start = len(dirs)
    while start > 0:
        d = "/".join(dirs[:start])
        if d in src_roots or not (is_package_dir(d) or d in namespace):
            break
        start -= 1
    name = dirs[start:] + ([] if stem == "__init__" else [stem])
    if not name or not all(p.isidentifier() for p in name):
        return None
    return ".".join(name)


def repo_prefix(root: Path) -> str:
    """The project root relative to the git repository root, for patch paths ("" if none)."""
    for d in (root, *root.parents):
        if (d / ".git").exists():
            rel = root.relative_to(d).as_posix()
            return "" if rel == "." else rel + "/"
    return ""


def _walk_sets(start: Path, root: Path, ignores: list[tuple[_Ignore, bool]], out: FileSet) -> list[set[str]]:
    """:func:`_walk` for each ``(ignore, report)``, in one pass (``lazify apply .`` wants the
    project and the targets): a directory is entered while one of them still wants it, in
    ``os.walk``'s order (top down, names sorted). A regular file is taken from the directory
    listing's own type, without a ``stat`` per file; anything else (a symlink, a FIFO) goes
    through :func:`_file`, which reports to ``out`` when a reporting walk wants the file."""
    found: list[set[str]] = [set() for _ in ignores]
    rel_start = _rel(start, root) or ""
    todo = [(str(start), "" if rel_start == "." else rel_start, tuple(True for _ in ignores))]
    while todo:
        path, rel_dir, wanting = todo.pop()
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except OSError:
            continue  # as os.walk: a directory that can't be listed is passed over
        dirs, files = [], []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            (dirs if is_dir else files).append(entry)
        below = []
        for entry in sorted(dirs, key=lambda e: e.name):
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink():
                continue
            wants = tuple(w and not ign.ignored(rel, is_dir=True) for w, (ign, _) in zip(wanting, ignores))
            if any(wants):
                below.append((entry.path, rel, wants))
        todo.extend(reversed(below))
        for entry in sorted(files, key=lambda e: e.name):
            if not entry.name.endswith(".py"):
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            wants = tuple(w and not ign.ignored(rel, is_dir=False) for w, (ign, _) in zip(wanting, ignores))
            if not any(wants):
                continue
            try:
                regular = entry.is_file(follow_symlinks=False)
            except OSError:
                regular = False
            if regular:
                kept: str | None = rel
            else:
                reported = any(w and report for w, (_, report) in zip(wants, ignores))
                kept = _file(Path(entry.path), root, out if reported else FileSet())
            if kept is not None:
                for w, into in zip(wants, found):
                    if w:
                        into.add(kept)
    return found
