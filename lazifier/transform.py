"""The pure core: one file's text in, findings and new text out. No I/O; never raises.

Runs in worker processes. Codemods run in registry order, each on the output of the one before.
Before a file is edited, LibCST's round trip must reproduce it byte for byte; after, the new
text must parse (LibCST, for the target version) and compile (where this interpreter can).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codemods import REGISTRY
from codemods._api import Codemod, FileContext, Finding, Location, ProjectView, Safety, Settings, Span
from lazifier.stages import stage

if TYPE_CHECKING:
    import libcst as cst

#: ``# lazify: ignore`` or ``# lazify: ignore[heavy-imports, LZY002]``
SUPPRESSION = re.compile(r"#\s*lazify:\s*ignore(?:\[([^\]]*)\])?")


@dataclass(frozen=True)
class Policy:
    """Which fixes to apply."""

    unsafe_fixes: bool = False
    #: Fix ids never to apply (skipped in the review).
    rejected: frozenset[str] = frozenset()
    #: When set, apply only these fix ids (the review applies one change at a time).
    only: frozenset[str] | None = None

    def accepts(self, fix_id: str, safety: Safety | None) -> bool:
        if fix_id in self.rejected:
            return False
        if self.only is not None:
            return fix_id in self.only
        return safety is Safety.SAFE or (safety is Safety.UNSAFE and self.unsafe_fixes)


@dataclass(frozen=True)
class Change:
    """A finding as the engine reports it."""

    path: str
    code: str
    name: str
    finding: Finding
    fix_id: str | None
    applied: bool
    #: The unified diff of this change alone (only when asked for).
    diff: str | None = None

    @property
    def line(self) -> int:
        return self.finding.span.line

    @property
    def safety_label(self) -> str:
        if self.finding.blocked:
            return "blocked"
        return self.finding.safety.value if self.finding.safety else "safe"


@dataclass
class FileResult:
    path: str
    changes: list[Change] = field(default_factory=list)
    new_text: str | None = None
    error: str | None = None
    error_line: int | None = None
    error_column: int | None = None
    #: "parse" (syntax error/LibCST can't handle) | "internal" (a codemod produced bad code)
    error_kind: str | None = None
    #: Seconds by stage (:mod:`lazifier.stages`) the worker spent on it; emptied before caching.
    stages: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    #: ``(new_text, hunks)``: the diff's hunks from the input to that text, made in the worker
    #: (in parallel, and cached with the result) for the run's patch (:func:`report.render_patch`).
    patch: tuple[str, str] | None = field(default=None, compare=False, repr=False)

    @property
    def changed(self) -> bool:
        return self.new_text is not None


def suppressions(text: str) -> dict[int, set[str] | None]:
    """line -> suppressed codes/names (``None``: everything)."""
    out: dict[int, set[str] | None] = {}
    if "lazify" not in text:
        return out
    for lineno, line in enumerate(text.split("\n"), 1):
        if "lazify" not in line:
            continue
        m = SUPPRESSION.search(line)
        if m:
            out[lineno] = None if m.group(1) is None else {s.strip() for s in m.group(1).split(",")}
    return out


def _suppressed(f: Finding, cm: type[Codemod], sup: dict[int, set[str] | None]) -> bool:
    for line in range(f.span.line, f.span.end_line + 1):
        if line in sup:
            codes = sup[line]
            if codes is None or cm.code in codes or cm.name in codes:
                return True
    return False


class _LineMap:
    """Positions in a text an earlier codemod rewrote, mapped back to the original file: a
    finding is reported (and suppressed) where the user sees it. A line the earlier codemod
    wrote maps to the original line at its place, without a column."""

    def __init__(self, original: str, current: str) -> None:
        from lazifier.sources import split_lines

        self.lines: dict[int, tuple[int, bool]] = {}
        matcher = difflib.SequenceMatcher(None, split_lines(original), split_lines(current), autojunk=False)
        for tag, i1, _i2, j1, j2 in matcher.get_opcodes():
            for k in range(j2 - j1):
                self.lines[j1 + k + 1] = (i1 + k + 1, True) if tag == "equal" else (i1 + 1, False)

    def span(self, span: Span) -> Span:
        line, exact = self.lines.get(span.line, (span.line, False))
        end_line, end_exact = self.lines.get(span.end_line, (span.end_line, False))
        return Span(
            line, span.column if exact else 1, max(line, end_line), span.end_column if end_exact else 0
        )

    def finding(self, f: Finding) -> Finding:
        def lines(notes: tuple[tuple[Location | Span, str], ...]) -> tuple[tuple[Location | Span, str], ...]:
            return tuple((self.span(w) if isinstance(w, Span) else w, note) for w, note in notes)

        # "... used at module level on line 8": the line the user sees, too.
        message = _ON_LINE.sub(
            lambda m: f"{m.group(1)}{self.lines.get(int(m.group(2)), (int(m.group(2)),))[0]}", f.message
        )
        return dataclasses.replace(
            f,
            span=self.span(f.span),
            unsafe_because=lines(f.unsafe_because),
            related=lines(f.related),
            message=message,
        )


_ON_LINE = re.compile(r"(\bon line )(\d+)\b")


def fix_id(code: str, path: str, key: str) -> str:
    return f"{code}:{path}:{key}"


def _parse(text: str, target: tuple[int, int]):  # -> cst.Module
    import libcst as cst

    version = f"{target[0]}.{target[1]}"
    try:
        return cst.parse_module(text, config=cst.PartialParserConfig(python_version=version))
    except ValueError:
        # An older LibCST that doesn't know this version: parse with its newest grammar.
        return cst.parse_module(text)


def _compiles_here(text: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, "<file>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def compile_error(text: str, path: str = "<file>") -> SyntaxError | None:
    """Python's own verdict on ``text``: its SyntaxError (message, line, column), or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, path, "exec", dont_inherit=True)
        except SyntaxError as e:
            return e
        except (ValueError, RecursionError, MemoryError):
            pass
    return None


def _syntax_result(result: FileResult, error: SyntaxError) -> FileResult:
    """Report a syntax error once, in Python's words and at Python's position."""
    result.error = f"SyntaxError: {error.msg}"
    result.error_line, result.error_column = error.lineno or 1, error.offset or None
    result.error_kind = "parse"
    return result


def _libcst_syntax_result(result: FileResult, text: str, e: Exception) -> FileResult:
    """A syntax error only LibCST (which knows a newer target's grammar) can judge, in the same
    shape as Python's: ``SyntaxError: expected one of ...`` at its line and column, once."""
    message = getattr(e, "message", str(e))
    m = re.search(r"error at \d+:\d+: (.*)", message, re.S)
    result.error = f"SyntaxError: {m.group(1).strip() if m else message}"
    result.error_line = _error_line(text, e)
    # LibCST's columns are not reliable (1.9 counts from the wrong token); Python's are, when it
    # fails on the same line.
    here = compile_error(text)
    result.error_column = here.offset if here is not None and here.lineno == result.error_line else None
    result.error_kind = "parse"
    return result


def _error_line(text: str, e: Exception) -> int:
    """The line of a syntax error. LibCST 1.9's ``raw_line`` is one too far when more lines
    follow, so ask the interpreter first, then LibCST's message ("error at L:C")."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, "<file>", "exec", dont_inherit=True)
        except SyntaxError as se:
            if se.lineno:
                return se.lineno
        except (ValueError, RecursionError, MemoryError):
            pass
    m = re.search(r"error at (\d+):\d+", str(e))
    return int(m.group(1)) if m else getattr(e, "raw_line", 1)


def _verify(original: str, new: str, target: tuple[int, int], path: str) -> str | None:
    """Why ``new`` must not be written, or None: it must compile and bind in time. LibCST
    parses it again only when a later codemod needs its tree (:func:`_reparse`): the
    compiler has said it is Python."""
    return _compiles(original, new, target, path) or _binds_in_time(original, new, target)


def _reparse(text: str, target: tuple[int, int]):  # -> (Module | None, str)
    """A codemod's output as a tree for the next codemod, or None and why not."""
    import libcst as cst

    try:
        return _parse(text, target), ""
    except (cst.ParserSyntaxError, RecursionError) as e:
        return None, f"the output does not parse: {e}"


def _internal(result: FileResult, cls: type[Codemod], problem: str | None) -> FileResult:
    result.error = f"internal error in {cls.name} ({cls.code}): {problem}; file left untouched"
    result.error_kind = "internal"
    result.new_text = None
    return result


def _binds_in_time(original: str, new: str, target: tuple[int, int]) -> str | None:
    """Compiling is not running: the output must not read a name at import before binding
    it where the input did not (a guard above its own import, say)."""
    from lazifier.import_order import read_before_bound

    deferred = target >= (3, 14)
    before = read_before_bound(original, deferred_annotations=deferred)
    if before is None:
        return None
    after = read_before_bound(new, deferred_annotations=deferred)
    if after is None:
        return None
    early = sorted(after - before)
    if early:
        names = ", ".join(f"`{n}`" for n in early)
        return f"the output reads {names} at import before binding it"
    return None


def _compiles(original: str, new: str, target: tuple[int, int], path: str) -> str | None:
    if target > sys.version_info[:2]:
        return None  # the output may use syntax this interpreter doesn't have (PEP 810)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(new, path, "exec", dont_inherit=True)
        except SyntaxError as e:
            try:
                compile(original, path, "exec", dont_inherit=True)
            except SyntaxError:
                return None  # syntax newer than this interpreter: LibCST's check stands
            return f"the output does not compile: {e.msg} (line {e.lineno})"
        except (ValueError, RecursionError, MemoryError):
            return None
    return None


def transform(
    text: str,
    path: str,
    module_name: str | None,
    settings: Settings,
    codes: tuple[str, ...],
    view: ProjectView,
    policy: Policy,
    *,
    change_diffs: bool = False,
) -> FileResult:
    """Run the selected codemods over one file. Never raises."""
    try:
        return _transform(text, path, module_name, settings, codes, view, policy, change_diffs)
    except RecursionError:
        return FileResult(path, error="too deeply nested for LibCST (RecursionError)", error_kind="parse")
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)
        where = next(
            (
                f"{fr.filename.rsplit('/', 1)[-1]}:{fr.lineno}"
                for fr in reversed(tb)
                if "codemods" in fr.filename
            ),
            "",
        )
        return FileResult(
            path,
            error=f"internal error: {type(e).__name__}: {e}" + (f" (in {where})" if where else ""),
            error_kind="internal",
        )


def _parse_checked(
    text: str, target: tuple[int, int], result: FileResult
):  # -> (Module, SourcePositions) | None
    """The module and its positions, or None with the reason on ``result``: a syntax error, or
    a file LibCST's round trip would not reproduce byte for byte (editing it could lose what
    the user wrote). The round trip's code generation records every node's span on the way."""
    import libcst as cst

    from codemods._positions import SourcePositions

    try:
        module = _parse(text, target)
    except cst.ParserSyntaxError as e:
        error = compile_error(text)
        if error is not None and target <= sys.version_info[:2]:
            _syntax_result(result, error)
            return None
        if _compiles_here(text):
            # Valid Python (`(x): int = 1`) that LibCST's grammar rejects.
            result.error = f"LibCST can't parse this file, though it is valid Python: {e.message}"
            result.error_line, result.error_kind = _error_line(text, e), "parse"
        else:
            _libcst_syntax_result(result, text, e)
        return None
    positions = SourcePositions(module)
    if positions.code != text:
        result.error = "LibCST does not reproduce this file byte for byte; skipped so nothing is lost"
        result.error_kind = "parse"
        return None
    return module, positions


def syntax_error(text: str, path: str, target: tuple[int, int]) -> FileResult | None:
    """The syntax error of a file no codemod parses, or None. This interpreter's compiler
    decides (a file it can't compile can't run), unless the target is newer than it: then
    LibCST, which knows the target's grammar. Runs in a worker, since LibCST's native parser
    can overflow the stack."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, path, "exec", dont_inherit=True)
            return None
        except SyntaxError as e:
            error = e
        except (ValueError, RecursionError, MemoryError):
            return None
    if target <= sys.version_info[:2]:
        return _syntax_result(FileResult(path), error)
    import libcst as cst

    try:
        _parse(text, target)
    except cst.ParserSyntaxError as e:
        return _libcst_syntax_result(FileResult(path), text, e)
    except RecursionError:
        return FileResult(path, error="too deeply nested for LibCST (RecursionError)", error_kind="parse")
    return None


def _record(
    result: FileResult,
    cls: type[Codemod],
    path: str,
    findings: list[Finding],
    keys: frozenset[str] = frozenset(),
    diff_of: Callable[[str], str] | None = None,
) -> None:
    """One ``Change`` per finding; applied when its fix is among ``keys``."""
    for f in findings:
        fid = fix_id(cls.code, f.fix_owner or path, f.fix_key) if f.fix_key is not None else None
        diff = diff_of(f.fix_key) if diff_of is not None and f.fix_key is not None else None
        result.changes.append(Change(path, cls.code, cls.name, f, fid, f.fix_key in keys, diff))


def _transform(
    text: str,
    path: str,
    module_name: str | None,
    settings: Settings,
    codes: tuple[str, ...],
    view: ProjectView,
    policy: Policy,
    change_diffs: bool,
) -> FileResult:
    from libcst.metadata import MetadataWrapper

    from codemods._fit import refit
    from lazifier.diff import hunks, unified_diff

    result = FileResult(path)
    codemods = [cls for cls in REGISTRY if cls.code in codes]
    todo = [
        cls for cls in codemods
        if (cls.code in view.plans if cls.project_level else cls().prefilter(text, settings))
    ]  # fmt: skip
    if not todo:
        return result
    sup = suppressions(text)
    current = text
    module: cst.Module | None = None  # parsed when the first codemod needs a tree
    changed_by: type[Codemod] | None = None  # the codemod whose output ``current`` is
    wrapper: MetadataWrapper | None = None
    ctx_memo: dict[str, object] = {}
    for cls in todo:
        cm = cls()
        if current is not text and not cls.project_level and not cm.prefilter(current, settings):
            continue
        with stage("analysis (no tree)"):
            quick = cm.analyze_without_tree(view, settings) if current is text else None
        if quick is not None:
            _record(result, cls, path, [f for f in quick.findings if not _suppressed(f, cls, sup)])
            continue
        if module is None and changed_by is not None:
            # The tree of the previous codemod's output, parsed only now that one needs it.
            with stage("verify"):
                module, problem = _reparse(current, settings.target_version)
            if module is None:
                return _internal(result, changed_by, problem)
        if module is None:
            with stage("CST parse"):
                parsed = _parse_checked(text, settings.target_version, result)
            if parsed is None:
                result.changes = []
                return result
            # The round-trip check generated the code with every node's span: positions ready.
            module, positions = parsed
            wrapper, ctx_memo = MetadataWrapper(module, unsafe_skip_copy=True), {"positions": positions}
        if wrapper is None or wrapper.module is not module:
            # Metadata, parents and positions are shared while the module is unchanged.
            wrapper, ctx_memo = MetadataWrapper(module, unsafe_skip_copy=True), {}
        ctx = FileContext(module, wrapper, path, module_name, settings, view, ctx_memo)
        with stage("analysis"):
            analysis = cm.analyze(ctx)
        findings = analysis.findings
        if current is not text:
            where = _LineMap(text, current)
            findings = [where.finding(f) for f in findings]
        findings = [f for f in findings if not _suppressed(f, cls, sup)]
        keys = frozenset(
            f.fix_key for f in findings
            if f.fix_key is not None and policy.accepts(fix_id(cls.code, f.fix_owner or path, f.fix_key), f.safety)
        )  # fmt: skip

        def diff_of(key: str) -> str:  # called right away, inside this iteration
            alone = _code(ctx, cm.apply(ctx, analysis, frozenset({key})))  # noqa: B023
            return unified_diff(path, current, refit(alone, current))  # noqa: B023

        with stage("diffs"):
            _record(result, cls, path, findings, keys, diff_of if change_diffs else None)
        if not keys:
            continue
        with stage("edit"):
            # A line the rewrite made too long is split as black would (codemods/_fit.py).
            new = refit(_code(ctx, cm.apply(ctx, analysis, keys)), current)
        if new == current:
            continue
        with stage("verify"):
            problem = _verify(current, new, settings.target_version, path)
        if problem:
            return _internal(result, cls, problem)
        current, module, changed_by = new, None, cls
    if current != text:
        result.new_text = current
        with stage("diffs"):
            result.patch = (current, hunks(unified_diff(path, text, current)))
    return result


def _code(ctx: FileContext, new: cst.Module) -> str:
    """The code of a codemod's output; the statements it left alone are copied from the
    input's code when that was generated already (the round-trip check did it)."""
    positions = ctx.memo.get("positions")
    return positions.code_of(new) if positions is not None else new.code  # type: ignore[attr-defined]


def orphaned_fix_ids(results: dict[str, FileResult]) -> set[str]:
    """Fix ids applied in some file whose owner did not apply them (so a getter it calls would
    not exist)."""
    owned = {
        c.fix_id
        for path, r in results.items()
        if r.changed and not r.error
        for c in r.changes
        if c.applied and (c.finding.fix_owner or path) == path
    }  # fmt: skip
    return {
        c.fix_id
        for r in results.values()
        for c in r.changes
        if c.applied and c.finding.needs_owner and c.fix_id not in owned and c.fix_id is not None
    }  # fmt: skip
