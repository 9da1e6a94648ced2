"""The run: find files, read them, ask the index, transform in parallel, cache.

Layers around the pure :func:`lazifier.transform.transform`. Output never depends on ``-j``:
results are collected and sorted by path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from codemods import REGISTRY
from codemods._api import ProjectView
from lazifier import build_id, installed, stages
from lazifier.cache import Cache
from lazifier.discovery import FileSet, Skipped, discover, is_generated, module_name
from lazifier.index import (
    FACTS_VERSION,
    FileFacts,
    ProjectIndex,
    facts_codes,
    facts_of,
    needles_regex,
    view_hash,
)
from lazifier.last_run import IndexAnswers, inputs_key
from lazifier.notes import lint_notes, measured_notes
from lazifier.pool import WorkerDied, default_jobs, run_tasks
from lazifier.settings import Settings
from lazifier.sources import Decoded, SourceError, cache_hash, decode
from lazifier.transform import FileResult, Policy, orphaned_fix_ids, syntax_error, transform
from lazifier.writer import ProjectLock, checkpoint, open_project


@dataclass
class Source:
    rel: str
    path: Path
    raw: bytes
    #: ``cache_hash(raw)``, for cache keys (a write checks ``content_hash``).
    hash: str
    decoded: Decoded | None = None
    module: str | None = None


@dataclass
class Outcome:
    """Everything one run found, in path order."""

    results: list[FileResult]
    skipped: list[Skipped]
    sources: dict[str, Source]
    #: Notes for the whole run (lint configuration that conflicts, recovered writes...).
    notes: list[str] = field(default_factory=list)
    cached: int = 0
    elapsed: float = 0.0


def _transform_task(args: tuple) -> FileResult:  # type: ignore[type-arg]
    # The file's own stage times travel with its result; the process's are put back (in a
    # one-process run they are the main process's).
    saved = stages.take()
    result = transform(*args[:-1], change_diffs=args[-1])
    result.stages = stages.take()
    stages.add(saved)
    return result


def _syntax_task(args: tuple[str, str, tuple[int, int]]) -> FileResult | None:
    return syntax_error(*args)


class Engine:
    def __init__(
        self,
        settings: Settings,
        paths: list[Path],
        *,
        jobs: int | None = None,
        use_cache: bool = True,
        progress: Callable[[int, int], None] | None = None,
        stdin: tuple[str, bytes] | None = None,
        write: bool = False,
        read_only: bool = False,
        isolate: bool = True,
    ) -> None:
        """``stdin``: ``(path, content)`` of the one file to process instead of ``paths``
        (``lazify apply -``); the path need not exist, and the content is what the index sees.
        ``write``: this run may write files, so it takes the project's lock (see :meth:`close`).
        ``read_only``: never write, not even to roll back an interrupted run (``lazify doctor``,
        which promises to write nothing into the project): the files are read as they are.
        ``isolate``: transform files in worker processes (the default, so a file that crashes
        the parser costs that file); ``False`` runs them in this process (the fast tests)."""
        self.settings = settings
        self.isolate = isolate
        self.paths = paths
        self.jobs = jobs or default_jobs()
        self.root = settings.project_root
        cache_dir = self.root / settings.cache_dir
        self.journal_dir = cache_dir
        self.cache = Cache(cache_dir if use_cache else None)
        self.progress = progress
        self.codes = settings.selected_codes()
        self.codemod_settings = settings.codemod_settings()
        self.notes: list[str] = []
        self.lock = ProjectLock(self.journal_dir)
        self.notes += open_project(self.lock, self.root, write=write, read_only=read_only)
        with stages.stage("discover"):
            self.files: FileSet = discover(settings, paths)
        self.sources: dict[str, Source] = {}
        if stdin is not None:
            rel, raw = stdin
            self.files.targets = [rel]
            self.sources[rel] = Source(rel, self.root / rel, raw, cache_hash(raw))
        self.errors: dict[str, FileResult] = {}
        self.skipped: list[Skipped] = list(self.files.skipped)
        self._index: ProjectIndex | None = None
        self._plans: dict[str, dict[str, object]] = {}
        self._project_level = [cls for cls in REGISTRY if cls.code in self.codes and cls.project_level]
        with stages.stage("read, decode, prefilter"):
            self._read_targets()
        # What the project index answered on a run with all the same inputs: a run that
        # finds them needs neither the facts nor the index (lazifier/last_run.py).
        self._answers = IndexAnswers()
        self._answers_taken = False
        with stages.stage("index (last run's)"):
            self._inputs = self._inputs_key() if use_cache and stdin is None else None
            last = self.cache.get_run(self._inputs) if self._inputs else None
            if isinstance(last, IndexAnswers) and last.still_holds(installed.site_dirs(self.root)):
                self._answers, self._answers_taken = last, True
                last.grown = False
                self.candidates = list(last.candidates)
                self.errors.update(last.errors)  # type: ignore[arg-type]
                self._set_definitions(last.definitions)
                return
        self.index()
        if self._project_level:
            # Which files have something to do depends on the whole project's plan.
            planned = set(self.plans)
            extra = [
                r for r in self.files.targets
                if r in self.sources and self.sources[r].decoded is not None
                and self.module_of(r) in planned and r not in self.candidates and r not in self.errors
            ]  # fmt: skip
            self.candidates = sorted({*self.candidates, *extra})
        self._answers.candidates = list(self.candidates)
        self._answers.errors = dict(self.errors)

    def _inputs_key(self) -> str:
        targets = set(self.files.targets)
        files = []
        for rel in sorted(set(self.files.project) | targets):
            src = self._read(rel)
            files.append((rel, src.hash if src is not None else None, self.module_of(rel), rel in targets))
        return inputs_key(
            self.settings.fingerprint(), self.codes, installed.site_dirs(self.root),
            (s.path for s in self.skipped), files,
        )  # fmt: skip

    def _view_key(self, rel: str) -> str:
        """The hash of ``rel``'s project view: the last run's, or the view's own."""
        key = self._answers.views.get(rel)
        if key is None:
            key = self._answers.views[rel] = view_hash(self.view(rel))
            self._answers.grown = True
        return key

    def close(self) -> None:
        """Release the project's lock (a run that ends without it releases it too: its process
        ends, and the kernel drops the lock; only the lock file stays)."""
        self.lock.release()

    # -- reading -----------------------------------------------------------------------------

    def _read(self, rel: str) -> Source | None:
        if rel in self.sources:
            return self.sources[rel]
        path = self.root / rel
        try:
            raw = path.read_bytes()
        except OSError as e:
            self.errors[rel] = FileResult(rel, error=f"can't read: {e.strerror or e}", error_kind="parse")
            return None
        src = Source(rel, path, raw, cache_hash(raw))
        self.sources[rel] = src
        return src

    def _read_targets(self) -> None:
        self.candidates: list[str] = []
        prefilters = [cls() for cls in REGISTRY if cls.code in self.codes]
        prefilter_key = self.settings.fingerprint()
        for rel in self.files.targets:
            src = self._read(rel)
            if src is None:
                continue
            if is_generated(src.raw):
                self.skipped.append(Skipped(rel, "marked @generated", kind="generated"))
                continue
            try:
                src.decoded = decode(src.raw)
            except SourceError as e:
                self.errors[rel] = FileResult(rel, error=e.reason, error_line=e.line, error_kind="parse")
                continue
            if "\0" in src.decoded.text:
                self.errors[rel] = FileResult(rel, error="source contains a null byte", error_kind="parse")
                continue
            # The decision is cached with the content and the settings it depends on: a warm
            # run reads no regular expression over a file that has not changed.
            key = f"{src.hash}:{prefilter_key}"
            hit = self.cache.get_prefilter(rel, key)
            if hit is None:
                hit = any(cm.prefilter(src.decoded.text, self.codemod_settings) for cm in prefilters)
                self.cache.put_prefilter(rel, key, hit)
            if hit:
                self.candidates.append(rel)

    # -- the index ---------------------------------------------------------------------------

    @cache  # noqa: B019 - one engine per run
    def _is_package_dir(self, d: str) -> bool:
        return (self.root / d / "__init__.py").is_file()

    def module_of(self, rel: str) -> str | None:
        return module_name(rel, self.settings, self._is_package_dir)

    def index(self) -> ProjectIndex:
        if self._index is not None:
            return self._index
        modules = {rel: self.module_of(rel) for rel in self.files.project}
        for rel in self.files.targets:
            modules.setdefault(rel, self.module_of(rel))
        named = {rel: m for rel, m in modules.items() if m is not None}
        wanted = [named[r] for r in self.candidates if r in named]
        needles = needles_regex(wanted)
        facts: dict[str, FileFacts] = {}
        # Every target's facts, even when no other file asks: they say which ones ``ast`` can't parse.
        targets = set(self.files.targets)
        todo: list[tuple[str, tuple[str, str | None, bool, frozenset[str]]]] = []
        files = sorted(set(self.files.project) | set(self.files.targets))
        codes = facts_codes(self._project_level, (s.raw for r in files if (s := self._read(r)) is not None))

        def facts_key(src: Source, mod: str | None, is_pkg: bool) -> str:
            return f"{FACTS_VERSION}:{sorted(codes)}:{src.hash}:{mod}:{is_pkg}"

        for rel in files:
            src = self._read(rel)
            if src is None:
                continue
            mod = modules.get(rel)
            is_pkg = rel.endswith("__init__.py")
            hit = self.cache.get_facts(rel, facts_key(src, mod, is_pkg))
            if hit is not None:
                facts[rel] = hit
                continue
            try:
                text = src.decoded.text if src.decoded else decode(src.raw).text
            except SourceError:
                continue
            if not self._project_level and rel not in targets and not needles.search(text):
                continue
            todo.append((rel, (text, mod, is_pkg, codes)))
        with stages.stage("index (ast facts)"):
            facts.update(facts_of(todo, self.jobs))  # or IndexUnreadable: the run stops
        for rel, args in todo:
            self.cache.put_facts(rel, facts_key(self.sources[rel], args[1], args[2]), facts[rel])
        with stages.stage("index (inverted)"):
            self._index = ProjectIndex(named, facts)
        with stages.stage("syntax errors of unmatched files"):
            self._syntax_errors(facts)
        with stages.stage("plan"):
            self._plan(named, facts)
        return self._index

    def _syntax_errors(self, facts: dict[str, FileFacts]) -> None:
        """Report the syntax errors of targets no codemod would parse: a file nothing matches
        is never given to LibCST, but it can't be processed all the same. The index's ``ast``
        parse says which to look at."""
        todo: list[tuple[str, tuple[str, str, tuple[int, int]]]] = []
        for rel in self.files.targets:
            if rel in self.candidates or rel in self.errors or rel not in facts or facts[rel].error is None:
                continue
            decoded = self.sources[rel].decoded
            if decoded is not None:
                todo.append((rel, (decoded.text, rel, self.settings.target)))
        for i, value in run_tasks(_syntax_task, [args for _, args in todo], self.jobs, self.isolate):
            rel = todo[i][0]
            if isinstance(value, BaseException):
                value = _task_failed(rel, value)
                if not self._answers_taken:  # taken from the last run, they stay as stored
                    self._answers.settled = False  # the next run asks again
            if value is not None:
                self.errors[rel] = value

    def _plan(self, named: dict[str, str], facts: dict[str, FileFacts]) -> None:
        """Run the project-level codemods' planners over every file's facts."""
        self._plans = {}  # module -> code -> slice
        skipped = {s.path for s in self.skipped}
        rewritten = {
            named[r] for r in self.files.targets
            if r in named and r not in self.errors and r not in skipped
        }  # fmt: skip
        paths = {m: r for r, m in named.items()}
        per_code = {
            cls.code: {
                named[rel]: f.extra_for(cls.code)
                for rel, f in facts.items()
                if rel in named and f.extra_for(cls.code) is not None
            }
            for cls in self._project_level
        }
        self._resolve_definitions(per_code, set(named.values()))
        for cls in self._project_level:
            for mod, slice_ in cls.plan(per_code[cls.code], rewritten, paths, self.codemod_settings).items():  # type: ignore[attr-defined]
                self._plans.setdefault(mod, {})[cls.code] = slice_

    def _resolve_definitions(self, per_code: dict[str, dict[str, object]], modules: set[str]) -> None:
        """Where the project's installed packages define the names its planners ask about
        (``sqlmodel.create_engine``), read statically; the codemods get the answers in their
        settings, which the cache key includes."""
        names: set[str] = set()
        for cls in self._project_level:
            asked = getattr(cls, "external_names", None)
            if asked is not None:
                names.update(asked(per_code[cls.code], self.codemod_settings))
        # The project's own modules are read by the index, not followed into site-packages.
        tops = {m.split(".")[0] for m in modules}
        names = {n for n in names if n.split(".")[0] not in tops}
        self._set_definitions(self._answers.define(names, installed.site_dirs(self.root)))

    def _set_definitions(self, definitions: tuple[tuple[str, str], ...]) -> None:
        self.codemod_settings = dataclasses.replace(self.codemod_settings, definitions=definitions)

    @property
    def plans(self) -> dict[str, dict[str, object]]:
        """The project-level codemods' plans: module -> code -> slice."""
        self.index()
        return self._plans

    def view(self, rel: str) -> ProjectView:
        index = self.index()
        return index.view(rel, self._plans.get(index.module_of.get(rel) or "", {}), self._extensions(rel))

    def _extensions(self, rel: str) -> dict[str, object]:
        """What the installed classes this file calls with a name do with it (for app-factory's
        ``db = SQLAlchemy(app)``), read from the project's environment; classes of the project
        itself are not asked about."""
        if "LZY004" not in self.codes:
            return {}
        wanted = [
            q
            for q in self.index().calls_with_names.get(rel, ())
            if q.split(".")[0] not in self._own_packages()
        ]
        return self._answers.inspect(wanted, installed.site_dirs(self.root)) if wanted else {}

    @cache  # noqa: B019 - one engine per run
    def _own_packages(self) -> frozenset[str]:
        return frozenset(m.split(".")[0] for m in self.index().files)

    # -- the run -----------------------------------------------------------------------------

    def result_key(self, rel: str, policy: Policy, change_diffs: bool) -> str:
        src = self.sources[rel]
        parts = (
            build_id(), src.hash, self.settings.fingerprint(), self._view_key(rel), self.codemod_settings.definitions,
            policy.unsafe_fixes, change_diffs,
        )  # fmt: skip
        return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()

    def run(
        self,
        policy: Policy,
        *,
        change_diffs: bool = False,
        only: list[str] | None = None,
        texts: dict[str, str] | None = None,
    ) -> Outcome:
        """Transform the candidates (or ``only`` these files, with ``texts`` instead of what is
        on disk: the review recomputes from its current state). Cached unless the policy names
        specific fixes.

        A change that spans files is all or nothing: when the file that owns it could not apply
        it (an error, a round-trip failure), the files that rely on it are redone without it."""
        started = time.perf_counter()
        with stages.stage("transform (wall)"):
            results, cached = self._run_once(policy, change_diffs, only, texts)
        for _ in range(3):
            orphans = orphaned_fix_ids(results)
            if not orphans:
                break
            policy = dataclasses.replace(policy, rejected=policy.rejected | frozenset(orphans))
            redo = sorted(r for r, res in results.items() if any(c.fix_id in orphans for c in res.changes))
            again, _ = self._run_once(policy, change_diffs, redo, texts)
            results.update(again)
        if only is None:
            results.update(self.errors)
        ordered = [results[r] for r in sorted(results)]
        with stages.stage("cache save"):
            if only is None and texts is None and self._inputs is not None and self._answers.settled:
                self.cache.put_run(self._inputs, self._answers, changed=self._answers.grown)
            self.cache.save()
        shown = {rel: src.decoded.text for rel, src in self.sources.items() if src.decoded is not None}
        shown.update(texts or {})
        return Outcome(
            results=ordered,
            skipped=sorted(self.skipped, key=lambda s: s.path),
            sources=self.sources,
            notes=self.notes
            + lint_notes(self.settings, ordered)
            + measured_notes(self.settings, ordered, shown),
            cached=cached,
            elapsed=time.perf_counter() - started,
        )

    def _run_once(
        self,
        policy: Policy,
        change_diffs: bool,
        only: list[str] | None,
        texts: dict[str, str] | None,
    ) -> tuple[dict[str, FileResult], int]:
        cacheable = policy.only is None and not policy.rejected and texts is None
        rels = only if only is not None else self.candidates
        results: dict[str, FileResult] = {}
        tasks: list[tuple[str, str, tuple]] = []  # type: ignore[type-arg]
        cached = 0
        for rel in rels:
            src = self.sources[rel]
            assert src.decoded is not None
            key = self.result_key(rel, policy, change_diffs) if cacheable else ""
            hit = self.cache.get_result(rel, key) if cacheable else None
            if hit is not None:
                results[rel] = hit
                cached += 1
                continue
            text = texts[rel] if texts and rel in texts else src.decoded.text
            args = (
                text,
                rel,
                self.module_of(rel),
                self.codemod_settings,
                self.codes,
                self.view(rel),
                policy,
                change_diffs,
            )
            tasks.append((rel, key, args))
        # Largest files first: a big file started last would leave the other workers idle.
        # Results are keyed by path and reported sorted, so the order of work shows nowhere.
        tasks.sort(key=lambda t: -len(t[2][0]))
        done = 0
        total = len(tasks)
        for i, value in run_tasks(_transform_task, [t[2] for t in tasks], self.jobs, self.isolate):
            rel, key, _ = tasks[i]
            if isinstance(value, BaseException):
                value = _task_failed(rel, value)
            stages.add(value.stages)
            value.stages = {}
            results[rel] = value
            if cacheable and value.error_kind != "internal":
                self.cache.put_result(rel, key, value)
            done += 1
            checkpoint("compute", done)
            if self.progress:
                self.progress(done, total)
        return results, cached


def _task_failed(rel: str, e: BaseException) -> FileResult:
    """The result of a file whose task raised, or killed its worker."""
    if isinstance(e, WorkerDied):
        return FileResult(
            rel,
            error=f"the worker processing this file died (exit code {e.exitcode}); "
            "LibCST's parser may have overflowed its stack",
            error_kind="parse",
        )
    return FileResult(rel, error=f"internal error: {e}", error_kind="internal")


__all__ = ["Engine", "Outcome", "Source"]
