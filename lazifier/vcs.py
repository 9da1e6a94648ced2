"""Git, through GitPython: the dirty-tree check, ``--branch`` and ``--commit``.

Named ``vcs`` so it never shadows GitPython's ``git`` package. lazify never pushes, never
rewrites history and never touches a file it did not rewrite: commits take exactly lazify's
paths (``git commit --only``), so whatever else is staged stays staged and out of them.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Without a git executable GitPython raises at import unless told to stay quiet; we report
# the failure when git is actually needed.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import git
from git.exc import (
    GitCommandError,
    GitCommandNotFound,
    InvalidGitRepositoryError,
    NoSuchPathError,
)

from lazifier.docs import doc_of
from lazifier.settings import ConfigError


class VcsError(ConfigError):
    """Something git refused or a git option that can't be honoured (exit code 2)."""


@dataclass
class Repository:
    repo: git.Repo
    #: The working tree's root (of this worktree, when in a ``git worktree``).
    root: Path

    def relpath(self, path: Path) -> str:
        """``path`` relative to the working tree, in git's form. The directory is resolved
        (symlinked temp dirs), the file itself is not (it may be a symlink)."""
        full = Path(os.path.abspath(path))
        return (full.parent.resolve() / full.name).relative_to(self.root).as_posix()

    def _git(self, *args: str, **kwargs: object) -> str:
        # Paths are file names, not patterns: `we[ird].py` means that file.
        with self.repo.git.custom_environment(GIT_LITERAL_PATHSPECS="1"):
            return self.repo.git.execute(["git", *args], **kwargs)  # type: ignore[call-overload,no-any-return]

    # -- the dirty-tree check ----------------------------------------------------------------

    def uncommitted(self, paths: Iterable[Path]) -> dict[Path, str]:
        """Which of ``paths`` hold work git does not have: ``path -> why`` (modified, staged,
        untracked...). Rewriting such a file would mix lazify's changes with that work."""
        by_rel = {}
        for p in paths:
            try:
                by_rel[self.relpath(p)] = p
            except ValueError:
                pass  # outside this working tree (a symlinked directory): not git's to judge
        if not by_rel:
            return {}
        out = self._git(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=no", "--", *sorted(by_rel)
        )
        found: dict[Path, str] = {}
        entries = out.split("\0")
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            xy, rel = entry[:2], entry[3:]
            if xy[0] in "RC":
                i += 1  # the original path of a rename follows
            if rel in by_rel:
                found[by_rel[rel]] = _describe(xy)
        return found

    # -- branches ----------------------------------------------------------------------------

    def check_new_branch(self, name: str) -> None:
        try:
            self._git("check-ref-format", "--branch", name)
        except GitCommandError:
            raise VcsError(f"--branch: {name!r} is not a valid branch name") from None
        if any(h.name == name for h in self.repo.heads):
            raise VcsError(f"--branch: a branch named {name!r} already exists; choose another name")

    def create_branch(self, name: str) -> None:
        """Create ``name`` at HEAD and check it out, keeping the working tree and the index as
        they are (a new branch at the same commit changes no file)."""
        self.check_new_branch(name)
        try:
            self._git("switch", "--quiet", "--create", name)
        except GitCommandError as e:
            raise VcsError(f"--branch: git could not create {name!r}: {_stderr(e)}") from None

    # -- commits -----------------------------------------------------------------------------

    def check_identity(self) -> None:
        """--commit needs an author and committer that git itself accepts; found out before
        any file is written, so a refusal never leaves rewritten files uncommitted."""
        for what in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
            try:
                self._git("var", what)
            except GitCommandError as e:
                raise VcsError(
                    f"--commit: git has no identity to commit with: {_stderr(e)}\n"
                    "set user.name and user.email (git config), or leave out --commit"
                ) from None

    def commit(self, paths: Iterable[Path], message: str) -> str:
        """Commit exactly ``paths`` as they are in the working tree, and nothing else (other
        staged changes stay staged), as the user git itself names (configuration and
        environment). Returns the new commit's id."""
        rels = sorted({self.relpath(p) for p in paths})
        try:
            self._git(
                "commit", "--quiet", "--only", "--no-edit", "--cleanup=verbatim", "-m", message, "--", *rels
            )
        except GitCommandError as e:
            raise VcsError(f"--commit: git commit failed: {_stderr(e)}") from None
        return self.repo.head.commit.hexsha


def _describe(xy: str) -> str:
    if xy == "??":
        return "untracked"
    staged, worktree = xy[0], xy[1]
    if "U" in xy or xy in ("AA", "DD"):
        return "unmerged"
    parts = []
    if staged not in " ?":
        parts.append(
            {"A": "added", "D": "deleted", "R": "renamed", "C": "copied", "T": "type changed"}.get(
                staged, "staged"
            )
        )
        if parts[-1] != "staged":
            parts[-1] += ", staged"
    if worktree not in " ?":
        parts.append("modified" if worktree != "D" else "deleted")
    return "; ".join(parts) or "changed"


def _stderr(e: GitCommandError) -> str:
    text = (e.stderr or "").strip()
    for prefix in ("stderr: ", "'", '"'):
        text = text.removeprefix(prefix)
    return text.strip().strip("'").strip() or str(e)


def find(path: Path) -> Repository | None:
    """The repository whose working tree holds ``path`` (searching up), or None."""
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None
    except GitCommandNotFound:  # pragma: no cover - git not installed
        return None
    if repo.bare or repo.working_tree_dir is None:
        return None
    try:
        repo.git.version()
    except GitCommandNotFound as e:
        raise VcsError(f"git is needed for this repository but can't be run: {e}") from None
    return Repository(repo, Path(repo.working_tree_dir).resolve())


def commit_message(cls: type, items: list[tuple[str, int, str, str]]) -> str:
    """``lazify: heavy-imports (LZY001) in 3 files``, what and why (the codemod's summary and
    its documentation's *Why is this bad?*), and every change as ``file:line: message``.
    ``items`` are (path from the repository root, line, message, safety)."""
    name, code = cls.name, cls.code  # type: ignore[attr-defined]
    files = len({i[0] for i in items})
    subject = f"lazify: {name} ({code}) in {files} file{'s' if files != 1 else ''}"
    body = [f"{cls.summary}.", ""]  # type: ignore[attr-defined]
    why = doc_of(cls).first_paragraph("Why is this bad?")
    if why:
        body += [*textwrap.wrap("Why: " + why, 72), ""]
    unsafe = sum(1 for i in items if i[3] == "unsafe")
    if unsafe:
        body += [
            *textwrap.wrap(
                f"Includes {unsafe} unsafe rewrite{'s' if unsafe != 1 else ''}, applied with --unsafe-fixes: they may change more than timing.",
                72,
            ),
            "",
        ]
    body += [f"- {p}:{line}: {message}" for p, line, message, _ in sorted(items)]
    body += ["", f"Made by `lazify apply`; `lazify explain {name}` documents the rewrite and its safety."]
    return subject + "\n\n" + "\n".join(body) + "\n"


__all__ = ["Repository", "VcsError", "commit_message", "find"]
