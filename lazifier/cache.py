"""The cache: per-file facts, prefilter decisions and results, keyed by everything they depend on.

A result's key is its file's content hash, the settings fingerprint, lazify's version and the
hash of the file's project view (what other files say about it), so a result is never reused
after another file it depends on changed. Stored in ``.lazify_cache/`` (git-ignored by itself,
like ruff's), written atomically; a corrupt or foreign cache file is ignored.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from lazifier import build_id

SCHEMA = 3


class Cache:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.facts: dict[str, tuple[str, Any]] = {}
        self.results: dict[str, tuple[str, Any]] = {}
        self.prefilter: dict[str, tuple[str, bool]] = {}
        self._dirty = False
        if directory is not None:
            self._load()

    @property
    def _file(self) -> Path:
        assert self.directory is not None
        return self.directory / f"cache-{SCHEMA}.pickle"

    def _load(self) -> None:
        try:
            with self._file.open("rb") as fh:
                data = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
            return
        if not isinstance(data, dict) or data.get("version") != build_id():
            return
        self.facts = data.get("facts", {})
        self.results = data.get("results", {})
        self.prefilter = data.get("prefilter", {})

    # Each table maps a file to (key, value): a value is returned only for the key it was
    # stored with (the file's content hash and everything else it depends on).

    @staticmethod
    def _get(table: dict[str, tuple[str, Any]], rel: str, key: str) -> Any | None:
        hit = table.get(rel)
        return hit[1] if hit is not None and hit[0] == key else None

    def _put(self, table: dict[str, tuple[str, Any]], rel: str, key: str, value: Any) -> None:
        table[rel] = (key, value)
        self._dirty = True

    def get_facts(self, rel: str, key: str) -> Any | None:
        return self._get(self.facts, rel, key)

    def put_facts(self, rel: str, key: str, value: Any) -> None:
        self._put(self.facts, rel, key, value)

    def get_prefilter(self, rel: str, key: str) -> bool | None:
        return self._get(self.prefilter, rel, key)  # type: ignore[no-any-return]

    def put_prefilter(self, rel: str, key: str, value: bool) -> None:
        self._put(self.prefilter, rel, key, value)  # type: ignore[arg-type]

    def get_result(self, rel: str, key: str) -> Any | None:
        return self._get(self.results, rel, key)

    def put_result(self, rel: str, key: str, value: Any) -> None:
        self._put(self.results, rel, key, value)

    def save(self) -> None:
        if self.directory is None or not self._dirty:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by lazify automatically.\n*\n")
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".cache-", suffix=".tmp")
        except OSError:
            return  # a read-only project still works, just without a cache
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(
                    {
                        "version": build_id(),
                        "facts": self.facts,
                        "results": self.results,
                        "prefilter": self.prefilter,
                    },
                    fh,
                    protocol=pickle.HIGHEST_PROTOCOL,
                )
            os.replace(tmp, self._file)
        except OSError:
            os.unlink(tmp)  # a full disk: no cache this time, and no half-written file left
