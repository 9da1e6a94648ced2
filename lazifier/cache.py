"""The cache: per-file facts, prefilter decisions and results, keyed by everything they depend
on, and the last runs' project views.

A result's key is its file's content hash, the settings fingerprint, lazify's version and the
hash of the file's project view (what other files say about it), so a result is never reused
after another file it depends on changed. A run's entry (:class:`~lazifier.engine.Engine`'s
``_inputs_key``) holds what the project index said for a whole set of inputs (every file's
content, the settings, the installed packages' answers), so a run whose inputs are all
unchanged neither loads the facts nor builds the index.

Stored in ``.lazify_cache/`` (git-ignored by itself, like ruff's), written atomically; a
corrupt or foreign cache file is ignored. Two files: the facts of every file the index read
(most of the bytes, loaded only when the index is built) and the rest.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from lazifier import build_id

SCHEMA = 4
#: Run entries kept (one per set of paths and settings a project is run with).
RUNS = 8


class Cache:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._facts: dict[str, tuple[str, Any]] | None = None if directory is not None else {}
        self.results: dict[str, tuple[str, Any]] = {}
        self.prefilter: dict[str, tuple[str, bool]] = {}
        self.runs: dict[str, Any] = {}
        self._dirty: set[str] = set()
        if directory is not None:
            data = self._load("cache")
            self.results = data.get("results", {})
            self.prefilter = data.get("prefilter", {})
            self.runs = data.get("runs", {})

    def _file(self, name: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{name}-{SCHEMA}.pickle"

    def _load(self, name: str) -> dict[str, Any]:
        try:
            with self._file(name).open("rb") as fh:
                data = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != build_id():
            return {}
        return data

    @property
    def facts(self) -> dict[str, tuple[str, Any]]:
        """The facts table, read from its file on first use."""
        if self._facts is None:
            self._facts = self._load("facts").get("facts", {})
        return self._facts

    # Each table maps a file to (key, value): a value is returned only for the key it was
    # stored with (the file's content hash and everything else it depends on).

    @staticmethod
    def _get(table: dict[str, tuple[str, Any]], rel: str, key: str) -> Any | None:
        hit = table.get(rel)
        return hit[1] if hit is not None and hit[0] == key else None

    def _put(
        self, table: dict[str, tuple[str, Any]], rel: str, key: str, value: Any, file: str = "cache"
    ) -> None:
        table[rel] = (key, value)
        self._dirty.add(file)

    def get_facts(self, rel: str, key: str) -> Any | None:
        return self._get(self.facts, rel, key)

    def put_facts(self, rel: str, key: str, value: Any) -> None:
        self._put(self.facts, rel, key, value, "facts")

    def get_prefilter(self, rel: str, key: str) -> bool | None:
        return self._get(self.prefilter, rel, key)  # type: ignore[no-any-return]

    def put_prefilter(self, rel: str, key: str, value: bool) -> None:
        self._put(self.prefilter, rel, key, value)  # type: ignore[arg-type]

    def get_result(self, rel: str, key: str) -> Any | None:
        return self._get(self.results, rel, key)

    def put_result(self, rel: str, key: str, value: Any) -> None:
        self._put(self.results, rel, key, value)

    def get_run(self, key: str) -> Any | None:
        return self.runs.get(key)

    def put_run(self, key: str, value: Any, *, changed: bool = False) -> None:
        """Store a run's entry as the newest (``changed``: the same object as stored, grown)."""
        if not changed and self.runs.get(key) == value and next(reversed(self.runs)) == key:
            return  # already stored, and the newest: nothing to write
        self.runs.pop(key, None)
        self.runs[key] = value  # the newest last; the oldest go first
        while len(self.runs) > RUNS:
            del self.runs[next(iter(self.runs))]
        self._dirty.add("cache")

    def save(self) -> None:
        if self.directory is None or not self._dirty:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by lazify automatically.\n*\n")
        except OSError:
            return  # a read-only project still works, just without a cache
        tables = {
            "cache": {"results": self.results, "prefilter": self.prefilter, "runs": self.runs},
            "facts": {"facts": self._facts},
        }
        for name in sorted(self._dirty):
            self._write(name, {"version": build_id(), **tables[name]})
        self._dirty.clear()

    def _write(self, name: str, data: dict[str, Any]) -> None:
        assert self.directory is not None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{name}-", suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._file(name))
        except OSError:
            os.unlink(tmp)  # a full disk: no cache this time, and no half-written file left
