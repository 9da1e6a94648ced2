"""What the project index answered on a run whose inputs were all the same (a warm run).

The index, the plans and the list of files with something to do are a function of lazify,
the settings, every file of the project (its content and module name) and what the project's
installed packages say about the names the plans ask for. A run stores those answers under a
key of its inputs (:func:`inputs_key`); a later run with the same key, whose installed
packages still answer the same (:meth:`IndexAnswers.still_holds`), takes them as they are
and reads neither the facts nor builds the index: what is left of a warm run is finding,
reading and hashing the files and printing the cached results.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lazifier import build_id, installed


@dataclass
class IndexAnswers:
    #: The files with something to do (the prefilter's, and those a plan names).
    candidates: list[str] = field(default_factory=list)
    #: Files that can't be processed, as the reading and the index found them.
    errors: dict[str, object] = field(default_factory=dict)
    #: What the installed packages define the asked names as (``CodemodSettings.definitions``).
    definitions: tuple[tuple[str, str], ...] = ()
    asked_definitions: tuple[str, ...] = ()
    #: The extension verdicts the files' views were given (``ProjectView.extensions``).
    extensions: dict[str, object] = field(default_factory=dict)
    #: Each candidate's ``view_hash``: the part of its result's cache key the index gives.
    views: dict[str, str] = field(default_factory=dict)
    #: False when a syntax check of the index failed (a file whose facts fail stops the run):
    #: answers that may come out otherwise next time are not stored.
    settled: bool = field(default=True, compare=False)
    #: Whether views were added since the answers were taken from the cache (to store again).
    grown: bool = field(default=False, compare=False)

    def define(self, names: Iterable[str], dirs: tuple[Path, ...]) -> tuple[tuple[str, str], ...]:
        """What the installed packages define ``names`` as, noted."""
        self.asked_definitions = tuple(sorted(names))
        self.definitions = installed.definitions(self.asked_definitions, dirs)
        return self.definitions

    def inspect(self, wanted: Iterable[str], dirs: tuple[Path, ...]) -> dict[str, object]:
        """The verdicts on the installed extension classes ``wanted``, noted."""
        from lazifier import extensions

        found = {q: extensions.inspect(q, dirs) for q in wanted}
        self.extensions.update(found)
        return found  # type: ignore[return-value]

    def still_holds(self, dirs: tuple[Path, ...]) -> bool:
        """Whether the installed packages answer as they did: the same definitions of the
        names asked and the same verdicts on the extensions (read again, never assumed)."""
        if self.asked_definitions and installed.definitions(self.asked_definitions, dirs) != self.definitions:
            return False
        if self.extensions:
            from lazifier import extensions

            return all(extensions.inspect(q, dirs) == v for q, v in self.extensions.items())
        return True


def inputs_key(
    fingerprint: str,
    codes: Iterable[str],
    dirs: tuple[Path, ...],
    skipped: Iterable[str],
    files: Iterable[tuple[str, str | None, str | None, bool]],
) -> str:
    """The key of a run's inputs: lazify's build, the interpreter, the settings' ``fingerprint``, the codes
    selected, the environment's site directories, the files skipped, and for every file
    (the project's and the targets) its path, content hash, module name and whether it is a
    target."""
    # The running interpreter's ``ast`` decides which files are syntax errors.
    parts = (
        build_id(), sys.version, fingerprint, sorted(codes), [str(d) for d in dirs], sorted(skipped), list(files),
    )  # fmt: skip
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


__all__ = ["IndexAnswers", "inputs_key"]
