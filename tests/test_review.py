"""The interactive review, on a real pseudo-terminal (pexpect), on a copy of the example app.

What the review writes is checked against the engine itself, run in this process with the same
decisions (``Policy(only=...)`` with the fix ids that were accepted), and every diff the review
showed is checked against the two states it claims to go between: the files with the changes
accepted before it, and with it too. So "the diff shown is the diff written" is tested, not
assumed.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from codemods import REGISTRY
from conftest import ROOT, run_lazify
from lazifier.engine import Engine
from lazifier.settings import load_settings
from lazifier.transform import Policy

pytestmark = pytest.mark.slow

APP = ROOT / "examples" / "app"
SELECT = "heavy-imports,lazy-singletons,declarative-base"
#: Everything a terminal program may send that is not text (CSI, OSC, charset, keypad modes).
ESCAPES = re.compile(r"\x1b(?:\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")
HEADER = re.compile(r"(?m)^\[(\d+)/(\d+)\] (LZY\d+) (\S+)")
PROMPT = r"q\) quit"
ISP = "src/services/image_processing_service.py"


def plain(text: str) -> str:
    return ESCAPES.sub("", text).replace("\r", "")


def copy_app(dest: Path) -> Path:
    shutil.copytree(APP, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".lazify_cache", "*.db"))
    return dest


def files_of(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith(".lazify_cache") and "__pycache__" not in rel:
            out[rel] = p.read_bytes()
    return out


def spawn(cwd: Path, *args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "LAZIFY_TEST_SIGNAL")}
    full_env.update({"TERM": "xterm", "COLUMNS": "200", "LINES": "50", **(env or {})})
    child = pexpect.spawn(
        sys.executable, ["-m", "lazifier", "apply", *args], cwd=str(cwd), env=full_env,
        dimensions=(50, 200), encoding="utf-8", codec_errors="replace", timeout=180,
    )  # fmt: skip
    child.transcript = []  # type: ignore[attr-defined]

    class _Log:
        def write(self, s: str) -> None:
            child.transcript.append(s)  # type: ignore[attr-defined]

        def flush(self) -> None:
            pass

    child.logfile_read = _Log()
    return child


def transcript(child: pexpect.spawn) -> str:
    return plain("".join(child.transcript))  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# What the decisions are, independently of the review: the dry run's JSON, grouped by fix id.


@dataclass
class Fix:
    fix_id: str
    code: str
    changes: list[dict]

    @property
    def primary(self) -> tuple[str, int]:
        """Listed under the file that owns the fix when that file changes, else the first."""
        owner = self.fix_id.split(":")[1]
        locs = sorted((c["file"], c["line"]) for c in self.changes)
        return next((loc for loc in locs if loc[0] == owner), locs[0])

    @property
    def order(self) -> tuple:  # type: ignore[type-arg]
        codes = [cls.code for cls in REGISTRY]
        return (codes.index(self.code), *self.primary)


def proposal(root: Path, *extra: str) -> tuple[list[Fix], dict[tuple[str, str, str], str]]:
    import json

    r = run_lazify("apply", "--dry-run", "--output-format", "json", "--no-cache", "--select", SELECT, *extra, ".", cwd=root)
    doc = json.loads(r.stdout)
    fixes: dict[str, Fix] = {}
    where = {}
    for c in doc["changes"]:
        if c["fix_id"]:
            where[(c["codemod"], c["file"], c["message"])] = c["fix_id"]
        if c["applied"]:
            fixes.setdefault(c["fix_id"], Fix(c["fix_id"], c["codemod"], [])).changes.append(c)
    return sorted(fixes.values(), key=lambda f: f.order), where


class States:
    """The project's files with exactly a set of fixes applied, from the engine in this process."""

    def __init__(self, root: Path, unsafe: bool) -> None:
        overrides = {"select": tuple(SELECT.split(",")), "unsafe_fixes": unsafe}
        self.engine = Engine(load_settings([root], overrides), [root], jobs=2, use_cache=False)
        self.unsafe = unsafe
        self.memo: dict[frozenset[str], dict[str, str]] = {}

    def text(self, ids: set[str] | frozenset[str]) -> dict[str, str]:
        key = frozenset(ids)
        if key not in self.memo:
            out = self.engine.run(Policy(unsafe_fixes=self.unsafe, only=key))
            texts = {rel: s.decoded.text for rel, s in self.engine.sources.items() if s.decoded is not None}
            texts.update({r.path: r.new_text for r in out.results if r.changed and not r.error})
            self.memo[key] = texts
        return self.memo[key]

    def files(self, ids: set[str], pristine: dict[str, bytes]) -> dict[str, bytes]:
        texts = self.text(ids)
        out = dict(pristine)
        for rel, text in texts.items():
            src = self.engine.sources[rel]
            if text != src.decoded.text:  # type: ignore[union-attr]
                out[rel] = src.decoded.encode(text)  # type: ignore[union-attr]
        return out


# ---------------------------------------------------------------------------------------------
# Reading the screen


@dataclass
class Shown:
    number: int
    code: str
    fix_id: str
    #: path -> [(old line number, new line number, sign, text)]
    rows: dict[str, list[tuple[int | None, int | None, str, str]]]


def shown_decisions(screen: str, where: dict[tuple[str, str, str], str]) -> list[Shown]:
    """Every decision the review showed: its number, its fix id (from its locations and
    messages) and the rows of its diff, per file."""
    out = []
    heads = list(HEADER.finditer(screen))
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(screen)
        block = screen[m.end():end].split("? Apply this change?")[0]
        ids = set()
        rows: dict[str, list] = {}
        current = None
        for line in block.split("\n")[1:]:
            loc = re.match(r"^(\S+\.py):(\d+):(\d+): (.*)$", line)
            if loc and current is None:
                ids.add(where[(m.group(3), loc.group(1), loc.group(4))])
                continue
            if "│" in line and current is not None:
                gutter, text = line.split("│", 1)
                w = (len(gutter) - 2) // 2
                a, b = gutter[:w].strip(), gutter[w + 1 : 2 * w + 1].strip()
                rows[current].append((int(a) if a else None, int(b) if b else None, text[0], text[1:]))
            elif re.fullmatch(r"[\w./-]+\.py", line.strip()):
                current = line.strip()
                rows[current] = []
        assert len(ids) == 1, (m.group(0), ids)
        out.append(Shown(int(m.group(1)), m.group(3), ids.pop(), rows))
    return out


def lines(text: str) -> list[str]:
    """Lines with their ends, split on newlines only (as Python source is)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def assert_diff_between(shown: Shown, before: dict[str, str], after: dict[str, str]) -> None:
    """The rows shown are exactly the diff from ``before`` to ``after``: every file that
    changes, every line removed and added, with both line numbers right."""
    changed = sorted(p for p in after if before[p] != after[p])
    assert sorted(shown.rows) == changed, (shown.fix_id, sorted(shown.rows), changed)
    for path, rows in shown.rows.items():
        old, new = lines(before[path]), lines(after[path])
        for a, b, sign, text in rows:
            if a is not None:
                assert old[a - 1].rstrip("\r\n") == text, (shown.fix_id, path, a, text)
            if b is not None:
                assert new[b - 1].rstrip("\r\n") == text, (shown.fix_id, path, b, text)
        removed = {a for a, _, s, _ in rows if s == "-"}
        added = {b for _, b, s, _ in rows if s == "+"}
        want_removed, want_added = set(), set()
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag != "equal":
                want_removed |= set(range(i1 + 1, i2 + 1))
                want_added |= set(range(j1 + 1, j2 + 1))
        assert (removed, added) == (want_removed, want_added), (shown.fix_id, path)


def drive(child: pexpect.spawn, keys: dict[str, str], where: dict, stop: str | None = None) -> list[str]:
    """Answer each decision as ``keys`` says (by fix id; anything else: quit). Returns the
    fix ids shown, in order. With ``stop``, sends Ctrl-C at that fix id instead."""
    seen: list[str] = []
    while True:
        i = child.expect([PROMPT, pexpect.EOF])
        if i == 1:
            return seen
        screen = transcript(child)
        last = shown_decisions(screen, where)[-1]
        if seen and seen[-1] == last.fix_id:  # the same decision asked again (after explain)
            child.send(keys[last.fix_id][-1])
            continue
        seen.append(last.fix_id)
        if last.fix_id == stop:
            child.sendcontrol("c")
            continue
        child.send(keys.get(last.fix_id, "q")[0])


# ---------------------------------------------------------------------------------------------
# The tests


def test_review_applies_exactly_what_was_accepted(tmp_path: Path) -> None:
    pristine_dir = copy_app(tmp_path / "pristine")
    root = copy_app(tmp_path / "app")
    pristine = files_of(pristine_dir)
    fixes, where = proposal(pristine_dir, "--unsafe-fixes")
    ids = {f.fix_id.rsplit(":", 1)[-1]: f.fix_id for f in fixes}
    order = [f.fix_id for f in fixes]
    run_order = [cls.code for cls in REGISTRY]
    assert [f.code for f in fixes] == sorted((f.code for f in fixes), key=run_order.index)

    keys = {
        ids["np"]: "a",
        ids["Image"]: "s",
        ids["CLIP_AVAILABLE"]: "ea",  # explain first, then apply
        ids["audit_logger"]: "s",
        ids["image_service"]: "a",
        ids["csrf_protection"]: "a",  # two files, one decision
        ids["security_manager"]: "s",
        ids["engine"]: "f",  # and the rest of cache_service.py: SessionLocal, redis_client
    }  # Base (LZY003, with --unsafe-fixes): quit there
    child = spawn(root, "--unsafe-fixes", "--select", SELECT, ".")
    seen = drive(child, keys, where)
    child.close()
    screen = transcript(child)
    assert child.exitstatus == 0, screen[-3000:]

    # Shown in order (codemod, file, line); the rest of cache_service.py was not shown.
    rest_of_file = [ids["SessionLocal"], ids["redis_client"]]
    assert seen == [f for f in order if f not in rest_of_file], seen
    assert seen[-1] == ids["Base"]
    csrf = next(s for s in shown_decisions(screen, where) if s.fix_id == ids["csrf_protection"])
    assert sorted(csrf.rows) == ["src/api/main.py", "src/middleware/csrf.py"]
    assert "(2 files, one decision)" in screen
    assert "# heavy-imports (LZY001)" in screen and "## What it does" in screen  # the explanation

    accepted = {keys_id for keys_id, k in keys.items() if k[-1] in "af"} | set(rest_of_file)
    states = States(pristine_dir, unsafe=True)
    expected = states.files(accepted, pristine)
    assert files_of(root) == expected
    rewritten = sum(expected[rel] != pristine[rel] for rel in expected)

    # Each diff shown went from the files with what was accepted before it to the files with
    # it too: after the skip of `Image`, the CLIP diff is the recomputed one.
    so_far: set[str] = set()
    for s in shown_decisions(screen, where):
        assert_diff_between(s, states.text(so_far), states.text(so_far | {s.fix_id}))
        if keys.get(s.fix_id, "q")[-1] in "af":
            so_far.add(s.fix_id)
            if keys[s.fix_id][-1] == "f":
                so_far |= set(rest_of_file)
    assert so_far == accepted

    # The final summary lists what was applied and what was not.
    tail = screen[screen.rindex("Applied ("):]
    assert "Applied (7):" in tail and "Skipped (3):" in tail and "Not reviewed, you quit (1):" in tail
    assert re.search(r"(?m)^  LZY002 src/services/cache_service\.py:24: .*\[rest of file\]$", tail), tail
    assert re.search(rf"(?m)^lazify: {rewritten} files rewritten, ", tail), tail


def test_ctrl_c_during_the_review_writes_nothing(tmp_path: Path) -> None:
    root = copy_app(tmp_path / "app")
    before = files_of(root)
    fixes, where = proposal(root)
    child = spawn(root, "--select", SELECT, ".")
    seen = drive(child, {fixes[0].fix_id: "a"}, where, stop=fixes[1].fix_id)
    child.close()
    screen = transcript(child)
    assert seen == [fixes[0].fix_id, fixes[1].fix_id]
    assert child.exitstatus == 130, screen[-2000:]
    assert "interrupted; nothing was written" in screen
    assert files_of(root) == before


def test_a_write_killed_midway_leaves_whole_files_and_a_rerun_completes(tmp_path: Path) -> None:
    pristine_dir = copy_app(tmp_path / "pristine")
    root = copy_app(tmp_path / "app")
    pristine = files_of(pristine_dir)
    fixes, where = proposal(pristine_dir)
    ids = {f.fix_id.rsplit(":", 1)[-1]: f.fix_id for f in fixes}
    # Skip one singleton, then all the rest of lazy-singletons, then all of heavy-imports, then
    # the declarative base (safe: nothing in the app looks at its metaclass).
    keys = {ids["np"]: "c", ids["audit_logger"]: "s", ids["image_service"]: "c", ids["Base"]: "a"}
    accepted = {f.fix_id for f in fixes} - {ids["audit_logger"]}
    expected = States(pristine_dir, unsafe=False).files(accepted, pristine)
    changed = sorted(rel for rel in expected if expected[rel] != pristine[rel])
    assert len(changed) >= 4

    child = spawn(root, "--select", SELECT, ".", env={"LAZIFY_TEST_SIGNAL": "rename:2:KILL"})
    seen = drive(child, keys, where)
    child.close()
    assert seen == [ids["audit_logger"], ids["image_service"], ids["np"], ids["Base"]]
    assert child.signalstatus == signal.SIGKILL, transcript(child)[-2000:]

    # The writer's temporaries and backups stay until the next run (they are its journal).
    journal = (".lazify-tmp", ".lazify-bak")
    states = {}
    for rel, data in files_of(root).items():
        if rel.endswith(journal):
            continue
        if data == pristine.get(rel):
            states[rel] = "old"
        else:
            assert data == expected[rel], f"{rel} is neither the old nor the new file"
            ast.parse(data)
            states[rel] = "new"
    # Killed after two renames: two whole new files (files are replaced one change's files
    # after the other, so not necessarily the first two by path).
    replaced = sorted(rel for rel, s in states.items() if s == "new")
    assert len(replaced) == 2 and set(replaced) <= set(changed), replaced

    # The same review again: the interrupted write is undone first, then done in full.
    again = spawn(root, "--select", SELECT, ".")
    assert drive(again, keys, where) == seen
    again.close()
    screen = transcript(again)
    assert again.exitstatus == 0, screen[-2000:]
    assert "restored 2 file(s) from an interrupted write" in screen
    assert files_of(root) == expected
    assert not [p for p in root.rglob("*") if p.name.endswith(journal)]
