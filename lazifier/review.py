"""Reviewing changes on a terminal, one decision at a time, before anything is written.

A *decision* is one fix: every change that shares its fix id (the codemod, the file that owns
the fix, the fix key). A change that spans files (a singleton and the modules that read it) is
therefore one decision, all of it or none of it.

Decisions are shown in a fixed order: by codemod (registry order), then file, then line. What a
decision does is always computed from the files as they are on disk and the set of decisions
accepted so far (``Policy(only=...)``), so the diff shown is exactly the diff that will be
written: each shown diff starts where the previous accepted one ended. When a change is skipped,
the files it touches are recomputed without it (``Policy(rejected=...)``) before anything else is
shown, so later changes that depended on it are shown as they now are, or not at all.

The review itself writes nothing: it returns the accepted fix ids, and the caller writes them
when the review ends (also when the user quits). Ctrl-C raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codemods import REGISTRY
from codemods._api import Location
from lazifier.console import Colors
from lazifier.docs import doc_of
from lazifier.report import RunReport, render_text
from lazifier.sources import split_lines
from lazifier.terminal import (
    CODEMOD,
    DIFF,
    EXPLAIN,
    FILE,
    PROMPT_ROWS,
    QUIT,
    SKIP,
    Ask,
    Terminal,
)
from lazifier.transform import Change, FileResult, Policy

if TYPE_CHECKING:
    from lazifier.engine import Engine

_ORDER = {cls.code: i for i, cls in enumerate(REGISTRY)}


# ---------------------------------------------------------------------------------------------
# Decisions


@dataclass
class Decision:
    """One fix, in one or more files."""

    fix_id: str
    code: str
    name: str
    #: Every change with this fix id, by file and line.
    changes: list[Change]

    @property
    def primary(self) -> Change:
        """The change the decision is listed under: in the file that owns the fix when that
        file changes, else the first by file and line."""
        owner = self.changes[0].finding.fix_owner
        for c in self.changes:
            if owner is not None and c.path == owner:
                return c
        return self.changes[0]

    @property
    def path(self) -> str:
        return self.primary.path

    @property
    def paths(self) -> list[str]:
        return sorted({c.path for c in self.changes})

    @property
    def safety(self) -> str:
        return "unsafe" if any(c.safety_label == "unsafe" for c in self.changes) else "safe"

    @property
    def sort_key(self) -> tuple:  # type: ignore[type-arg]
        p = self.primary
        return (_ORDER.get(self.code, len(_ORDER)), p.path, p.line, p.finding.span.column, self.fix_id)


def decisions(results: Iterable[FileResult]) -> list[Decision]:
    """The fixes a run applied, grouped by fix id, in review order."""
    by_id: dict[str, Decision] = {}
    for r in results:
        if r.error:
            continue
        for c in r.changes:
            if not c.applied or c.fix_id is None:
                continue
            d = by_id.get(c.fix_id)
            if d is None:
                by_id[c.fix_id] = Decision(c.fix_id, c.code, c.name, [c])
            else:
                d.changes.append(c)
    for d in by_id.values():
        d.changes.sort(key=lambda c: (c.path, c.line, c.finding.span.column))
    return sorted(by_id.values(), key=lambda d: d.sort_key)


def write_groups(paths: Iterable[str], ds: Iterable[Decision]) -> list[list[str]]:
    """``paths`` in the groups the writer writes together or not at all: files that share a
    decision are in one group, and so on transitively, since a file that can't be written
    holds back its decisions, and with them every other file they change. Sorted by path."""
    group = {p: [p] for p in paths}
    for d in ds:
        members = [p for p in d.paths if p in group]
        for p in members[1:]:
            if group[p] is not group[members[0]]:
                merged = group[members[0]] + group[p]
                for q in merged:
                    group[q] = merged
    unique = {id(g): sorted(g) for g in group.values()}
    return sorted(unique.values())


# ---------------------------------------------------------------------------------------------
# The state of a review


class Selection:
    """Which fixes to write, and what the files look like with them.

    ``results`` is the latest proposal: what the engine would apply given the fixes rejected
    so far. Every text is computed by the engine from the files on disk and a set of fix ids,
    never by patching text, so a state is the same however it was reached.
    """

    def __init__(self, engine: Engine, policy: Policy, results: Sequence[FileResult]) -> None:
        self.engine = engine
        self.unsafe_fixes = policy.unsafe_fixes
        self.initial = list(results)
        self.results: dict[str, FileResult] = {r.path: r for r in results}
        self.accepted: set[str] = set()
        self.rejected: set[str] = set()
        self._memo: dict[tuple, dict[str, FileResult]] = {}  # type: ignore[type-arg]

    # -- what is left --------------------------------------------------------------------------

    def pending(self) -> list[Decision]:
        return [
            d for d in decisions(self.results.values())
            if d.fix_id not in self.accepted and d.fix_id not in self.rejected
        ]  # fmt: skip

    def accept(self, d: Decision) -> None:
        self.accepted.add(d.fix_id)

    def accept_all(self) -> None:
        for d in self.pending():
            self.accept(d)

    def skip(self, d: Decision) -> None:
        """Reject the fix, and recompute what the rest of the proposal now is in the files it
        touches (a fix may have made another one possible, or shaped its diff)."""
        self.rejected.add(d.fix_id)
        files = self.closure(d.paths)
        policy = Policy(unsafe_fixes=self.unsafe_fixes, rejected=frozenset(self.rejected))
        for r in self.engine.run(policy, only=files).results:
            self.results[r.path] = r

    # -- computing states ----------------------------------------------------------------------

    def closure(self, paths: Iterable[str]) -> list[str]:
        """The files that must be computed together with ``paths``: those sharing a fix id
        with them, and the files that own those fixes (the engine's all-or-nothing check for
        a change that spans files needs the owner in the same run)."""
        by_id: dict[str, set[str]] = {}
        for path, r in self.results.items():
            for c in r.changes:
                if c.fix_id is None:
                    continue
                by_id.setdefault(c.fix_id, set()).add(path)
                owner = c.finding.fix_owner
                if owner is not None and owner in self.results:
                    by_id[c.fix_id].add(owner)
        ids_of: dict[str, set[str]] = {}
        for fid, ps in by_id.items():
            for p in ps:
                ids_of.setdefault(p, set()).add(fid)
        seen = {p for p in paths if p in self.results}
        todo = list(seen)
        while todo:
            p = todo.pop()
            for fid in ids_of.get(p, ()):
                for q in by_id[fid]:
                    if q not in seen:
                        seen.add(q)
                        todo.append(q)
        return sorted(seen)

    def run_only(
        self, paths: Iterable[str], only: Iterable[str], *, change_diffs: bool = False
    ) -> dict[str, FileResult]:
        """The engine's results for ``paths`` (and their closure) with exactly ``only`` applied."""
        files = self.closure(paths)
        relevant = {c.fix_id for p in files for c in self.results[p].changes if c.fix_id is not None}
        chosen = frozenset(set(only) & (relevant | self.accepted))
        key = (tuple(files), chosen, change_diffs)
        if key not in self._memo:
            policy = Policy(unsafe_fixes=self.unsafe_fixes, only=chosen)
            self._memo[key] = {
                r.path: r for r in self.engine.run(policy, only=files, change_diffs=change_diffs).results
            }
        return self._memo[key]

    def original(self, path: str) -> str:
        src = self.engine.sources[path]
        assert src.decoded is not None
        return src.decoded.text

    def texts(self, paths: Iterable[str], only: Iterable[str]) -> dict[str, str]:
        out = {}
        for path, r in self.run_only(paths, only).items():
            out[path] = r.new_text if r.changed and not r.error else self.original(path)
        return out

    def diff(self, d: Decision) -> list[tuple[str, str, str]]:
        """``(path, before, after)`` for every file the decision changes, from the state with
        the decisions accepted so far."""
        before = self.texts(d.paths, self.accepted)
        after = self.texts(d.paths, self.accepted | {d.fix_id})
        return [(p, before[p], after[p]) for p in sorted(after) if before.get(p) != after[p]]

    # -- the end -------------------------------------------------------------------------------

    def unchanged(self) -> bool:
        """Every fix of the first proposal accepted, nothing rejected (so nothing recomputed): the first run's
        results are already what will be written."""
        return not self.rejected and {d.fix_id for d in decisions(self.initial)} <= self.accepted

    def final(self, *, change_diffs: bool = False) -> list[FileResult]:
        """Every file's result with exactly the accepted fixes applied."""
        if self.unchanged():
            return self.initial
        merged = {r.path: r for r in self.initial}
        touched = [p for p, r in self.results.items() if any(c.fix_id is not None for c in r.changes)]
        if touched:
            merged.update(self.run_only(touched, self.accepted, change_diffs=change_diffs))
        return [merged[p] for p in sorted(merged)]

    def stages(self, final: Sequence[FileResult]) -> list[tuple[type, dict[str, str]]]:
        """The accepted fixes codemod by codemod (registry order): for each codemod that
        changes something, the files it changes and their text once it and every codemod
        before it are applied. The last stage is exactly ``final``."""
        changed = {r.path: r.new_text for r in final if r.changed and not r.error}
        if not changed:
            return []
        by_code = {c.fix_id: c.code for r in final for c in r.changes if c.applied and c.fix_id is not None}
        accepted = set(by_code) if self.unchanged() else self.accepted & set(by_code)
        codes = [cls for cls in REGISTRY if cls.code in set(by_code.values())]
        previous: dict[str, str] = {p: self.original(p) for p in changed}
        out: list[tuple[type, dict[str, str]]] = []
        for i, cls in enumerate(codes):
            if i == len(codes) - 1:
                now = dict(changed)
            else:
                upto = {c.code for c in codes[: i + 1]}
                ids = {fid for fid in accepted if by_code[fid] in upto}
                texts = self.texts(list(changed), ids)
                now = {p: texts.get(p, previous[p]) for p in changed}
            step = {p: t for p, t in now.items() if t != previous[p]}
            if step:
                out.append((cls, step))
            previous.update(now)
        return out


# ---------------------------------------------------------------------------------------------
# Showing a decision


def render_diff(path: str, before: str, after: str, colors: Colors, context: int = 3) -> str:
    """A diff for a person: the file, each hunk's header, and both line numbers."""
    old, new = split_lines(before), split_lines(after)
    width = len(str(max(len(old), len(new), 1)))
    out = [colors.bold(path)]
    for group in difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(context):
        a0, a1, b0, b1 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(colors.cyan(f"@@ -{a0 + 1},{a1 - a0} +{b0 + 1},{b1 - b0} @@"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for k in range(i2 - i1):
                    out.append(_row(i1 + k + 1, j1 + k + 1, " ", old[i1 + k], width, colors))
                continue
            for k in range(i1, i2):
                out.append(_row(k + 1, None, "-", old[k], width, colors))
            for k in range(j1, j2):
                out.append(_row(None, k + 1, "+", new[k], width, colors))
    return "\n".join(out) + "\n"


def _row(a: int | None, b: int | None, sign: str, line: str, width: int, colors: Colors) -> str:
    gutter = f"{'' if a is None else a:>{width}} {'' if b is None else b:>{width}} "
    text = sign + line.rstrip("\r\n")
    if sign == "-":
        text = colors.red(text)
    elif sign == "+":
        text = colors.green(text)
    return colors.dim(gutter) + "│" + text


def render_head(d: Decision, position: tuple[int, int], display: Callable[[str], str], colors: Colors) -> str:
    """The header of a decision: its number, codemod and safety, then each finding."""
    n, total = position
    safety = colors.yellow("unsafe") if d.safety == "unsafe" else colors.green("safe")
    files = f"  ({len(d.paths)} files, one decision)" if len(d.paths) > 1 else ""
    out = [
        "",
        colors.bold(f"[{n}/{total}] {d.code} {d.name}") + f"  {safety}{files}",
    ]
    for c in d.changes:
        f = c.finding
        out.append(f"{colors.bold(f'{display(c.path)}:{f.span.line}:{f.span.column}')}: {f.message}")
        if f.help:
            out.append(f"  = {colors.bold('help')}: {f.help}")
        for where, note in f.notes:
            if isinstance(where, Location):
                out.append(f"  = {colors.bold('note')}: {display(where.path)}:{where.line}: {note}")
            else:
                out.append(f"  = {colors.bold('unsafe')}: {note}")
    return "\n".join(out) + "\n"


def render_diffs(diffs: list[tuple[str, str, str]], display: Callable[[str], str], colors: Colors) -> str:
    if not diffs:
        return colors.dim("(no change to the text on its own)") + "\n"
    return "\n".join(render_diff(display(path), before, after, colors) for path, before, after in diffs)


def render_decision(
    d: Decision,
    diffs: list[tuple[str, str, str]],
    position: tuple[int, int],
    display: Callable[[str], str],
    colors: Colors,
) -> str:
    """A decision as the review shows it: the header, then the diff of every file."""
    return render_head(d, position, display, colors) + "\n" + render_diffs(diffs, display, colors)


def title(d: Decision, display: Callable[[str], str]) -> str:
    """The change's one-line title, as the prompt and the final list name it."""
    more = f" (+{len(d.paths) - 1} file{'s' if len(d.paths) > 2 else ''})" if len(d.paths) > 1 else ""
    return f"{d.code} {display(d.path)}:{d.primary.line}{more}: {d.primary.finding.message}"


# ---------------------------------------------------------------------------------------------
# The review


@dataclass
class Outcome:
    """What the review decided, in the order it was decided."""

    applied: list[tuple[Decision, str]] = field(default_factory=list)
    skipped: list[Decision] = field(default_factory=list)
    #: Left when the user quit.
    unreviewed: list[Decision] = field(default_factory=list)


#: Asks about a decision, given the prompt's text; returns one of the actions above.


def review(
    selection: Selection,
    ask: Ask,
    *,
    display: Callable[[str], str] = lambda p: p,
    terminal: Terminal | None = None,
) -> Outcome:
    """Walk through the decisions on ``terminal`` (by default stderr, no colour, no pager)."""
    term = terminal if terminal is not None else Terminal(sys.stderr, Colors(False), pager=False)
    colors = term.colors
    result = Outcome()
    rest_files: set[str] = set()
    rest_codes: set[str] = set()
    while True:
        pending = selection.pending()
        if not pending:
            break
        d = pending[0]
        if d.path in rest_files or d.code in rest_codes:
            selection.accept(d)
            how = "rest of file" if d.path in rest_files else f"rest of {d.name}"
            result.applied.append((d, how))
            continue
        diffs = selection.diff(d)
        if not diffs:
            # Nothing to see: it changes no text given what was accepted so far. It is still
            # one of the changes written (and counted in the summary), so it is listed.
            selection.accept(d)
            result.applied.append((d, "no change to the text on its own"))
            continue
        done = len(result.applied) + len(result.skipped)
        position = (done + 1, done + len(pending))
        head = render_head(d, position, display, colors)
        question = f"Apply [{position[0]}/{position[1]}] {title(d, display)}"
        show_decision(term, head, render_diffs(diffs, display, colors), len(diffs))
        while True:
            action = ask(d, question)
            if action not in (EXPLAIN, DIFF):
                break
            if action == EXPLAIN:
                cls = next(c for c in REGISTRY if c.code == d.code)
                term.show("\n" + doc_of(cls).markdown(), reserve=PROMPT_ROWS)
            # Back to the decision as it was first shown, the diff with it.
            show_decision(term, head, render_diffs(diffs, display, colors), len(diffs))
        if action == QUIT:
            result.unreviewed = selection.pending()
            break
        if action == SKIP:
            result.skipped.append(d)
            selection.skip(d)
            continue
        selection.accept(d)
        result.applied.append((d, "applied"))
        if action == FILE:
            rest_files.add(d.path)
        elif action == CODEMOD:
            rest_codes.add(d.code)
    return result


def show_decision(term: Terminal, head: str, diff: str, files: int) -> None:
    """The header and the diff; through the pager when they don't fit above the prompt, and
    then the header again (the pager has the screen while it runs), so the header, a line
    saying where the diff went, and the prompt are what is left in sight."""
    if term.show(head + "\n" + diff, reserve=PROMPT_ROWS):
        rows = diff.count("\n")
        where = f"{rows} lines, {files} files" if files > 1 else f"{rows} lines"
        term.write(
            head + term.colors.dim(f"  (the diff, {where}, was shown in the pager; d shows it again)") + "\n"
        )


def render_outcome(result: Outcome, display: Callable[[str], str], colors: Colors) -> str:
    """The final list: what was applied and what was not."""

    def line(d: Decision, note: str = "") -> str:
        tail = colors.dim(f"  [{note}]") if note and note != "applied" else ""
        return f"  {title(d, display)}{tail}"

    out = [
        "",
        (
            colors.bold(f"Applied ({len(result.applied)}):")
            if result.applied
            else colors.bold("Applied: nothing")
        ),
    ]
    out += [line(d, how) for d, how in sorted(result.applied, key=lambda x: x[0].sort_key)]
    if result.skipped:
        out.append(colors.bold(f"Skipped ({len(result.skipped)}):"))
        out += [line(d) for d in sorted(result.skipped, key=lambda d: d.sort_key)]
    if result.unreviewed:
        out.append(colors.bold(f"Not reviewed, you quit ({len(result.unreviewed)}):"))
        out += [line(d) for d in result.unreviewed]
    return "\n".join(out) + "\n"


def render_rest(
    report: RunReport, texts: dict[str, str], display: Callable[[str], str], colors: Colors
) -> str:
    """Everything the review does not ask about: blocked findings, unsafe fixes left out,
    errors, skipped files and notes."""

    def left_out(c: Change) -> bool:
        unsafe = c.finding.safety is not None and c.finding.safety.value == "unsafe"
        return c.finding.blocked or (unsafe and not c.applied and not report.unsafe_fixes)

    rest = [dataclasses.replace(r, changes=[c for c in r.changes if left_out(c)]) for r in report.results]
    partial = dataclasses.replace(report, results=rest)
    return render_text(partial, texts, display=display, colors=colors)
