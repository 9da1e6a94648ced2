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
from conftest import ROOT, run_lazify

from codemods import REGISTRY
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
    shutil.copytree(
        APP, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".lazify_cache", "*.db")
    )
    return dest


def files_of(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith(".lazify_cache") and "__pycache__" not in rel:
            out[rel] = p.read_bytes()
    return out


#: The terminal the tests run the review on (rows, columns): a common size, where the first
#: decision's diff does not fit.
SIZE = (40, 120)
INHERITED = ("NO_COLOR", "FORCE_COLOR", "LAZIFY_TEST_SIGNAL", "LAZIFY_PAGER", "PAGER", "LESS")


def spawn(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    pager: str | None = "",
    command: list[str] | None = None,
) -> pexpect.spawn:
    """The review on a real pseudo-terminal of ``SIZE``. ``pager`` is ``$LAZIFY_PAGER`` (by
    default none, so every diff is in the transcript; ``None``: unset, so the default, less)."""
    full_env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    full_env.update({"TERM": "xterm", "COLUMNS": str(SIZE[1]), "LINES": str(SIZE[0]), **(env or {})})
    if pager is not None:
        full_env["LAZIFY_PAGER"] = pager
    argv = command if command is not None else [sys.executable, "-m", "lazifier", "apply", *args]
    child = pexpect.spawn(
        argv[0], argv[1:], cwd=str(cwd), env=full_env,
        dimensions=SIZE, encoding="utf-8", codec_errors="replace", timeout=180,
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

    r = run_lazify(
        "apply",
        "--dry-run",
        "--output-format",
        "json",
        "--no-cache",
        "--select",
        SELECT,
        *extra,
        ".",
        cwd=root,
    )
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
    out: list[Shown] = []
    heads = list(HEADER.finditer(screen))
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(screen)
        block = screen[m.end() : end].split("? Apply [")[0]
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
        shown = Shown(int(m.group(1)), m.group(3), ids.pop(), rows)
        if out and out[-1].fix_id == shown.fix_id:  # shown again (after an explanation)
            assert out[-1].rows == shown.rows, shown.fix_id
            continue
        out.append(shown)
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
        for a, b, _sign, text in rows:
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
    # With a pager that isn't installed, everything is written as it is (and so is in the transcript).
    child = spawn(root, "--unsafe-fixes", "--select", SELECT, ".", pager="no-such-pager -R")
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
    # ... and then the decision again, the diff with it (shown_decisions checks it is the same).
    after_explanation = screen[screen.index("# heavy-imports (LZY001)") :]
    clip = next(s for s in shown_decisions(screen, where) if s.fix_id == ids["CLIP_AVAILABLE"])
    assert [x.fix_id for x in shown_decisions(after_explanation, where)][:1] == [clip.fix_id]
    again = shown_decisions(after_explanation, where)[0]
    assert again.rows == clip.rows and again.rows[ISP]
    # Each prompt names the change it asks about: its number, codemod, file and line.
    for s in shown_decisions(screen, where):
        fix = next(f for f in fixes if f.fix_id == s.fix_id)
        path, line = fix.primary
        assert re.search(
            rf"\? Apply \[{s.number}/\d+\] {fix.code} {re.escape(path)}:{line}\b", screen
        ), s.fix_id

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
    tail = screen[screen.rindex("Applied (") :]
    assert "Applied (7):" in tail and "Skipped (3):" in tail and "Not reviewed, you quit (1):" in tail
    assert re.search(r"(?m)^  LZY002 src/services/cache_service\.py:24: .*\[rest of file\]$", tail), tail
    # One unit: the last line counts changes as the list does (csrf_protection, in two files, once).
    assert re.search(rf"(?m)^lazify: {rewritten} files rewritten, \d+ unchanged; 7 changes\b", tail), tail


ENTER_PAGER, LEAVE_PAGER = "\x1b[?1049h", "\x1b[?1049l"  # less on xterm: the alternate screen


def rows_in_sight(text: str, columns: int = SIZE[1]) -> int:
    """The screen rows ``text`` (a stretch of the transcript) takes at most: each line, wrapped;
    blank lines left out (prompt_toolkit ends its lines with both a CR LF and a newline)."""
    return sum(-(-len(line) // columns) for line in plain(text).split("\n") if line.strip())


def test_a_long_diff_is_paged_and_the_header_and_prompt_stay_in_sight(tmp_path: Path) -> None:
    """At 120x40 the first decision (audit_logger, two files) doesn't fit above the prompt: it
    goes through the pager (less, the default), and what is left on the screen is its header,
    a line saying where the diff went, and the prompt naming the change. ``d`` pages it again;
    after ``e`` (the explanation, paged too), the diff is shown again."""
    root = copy_app(tmp_path / "app")
    before = files_of(root)
    child = spawn(root, "--select", SELECT, ".", pager=None)
    first = r"\[1/\d+\] LZY002 lazy-singletons"

    def pager_shows(*texts: str) -> str:
        child.expect_exact(ENTER_PAGER)
        for text in texts:
            child.expect(text)
        # From the pager's start, wherever the terminal's reads split the output.
        raw = "".join(child.transcript)  # type: ignore[attr-defined]
        shown = raw[raw.rindex(ENTER_PAGER) :]
        child.send("q")
        return shown

    def after_the_pager() -> str:
        child.expect(PROMPT)
        raw = "".join(child.transcript)  # type: ignore[attr-defined]
        return raw[raw.rindex(LEAVE_PAGER) + len(LEAVE_PAGER) :]

    # The pager has the whole decision, header first (in colour: it is a terminal). Wait for an
    # added line: the header's help line names the getter too, and may arrive in a read alone.
    added = re.escape("\x1b[32m+")
    paged = pager_shows(first, "get_audit_logger", added)
    assert re.search(first, plain(paged)) and "\x1b[32m+" in paged
    screen = after_the_pager()
    text = plain(screen)
    assert re.search(rf"(?m)^{first}  safe  \(2 files, one decision\)$", text), text
    assert "(the diff, " in text and "was shown in the pager; d shows it again)" in text, text
    assert re.search(
        r"\? Apply \[1/\d+\] LZY002 src/api/endpoints/admin\.py:34 \(\+1 file\): `audit_logger`", text
    ), text
    assert "│" not in text  # no diff rows pushing the header up
    assert rows_in_sight(screen[screen.index("[1/") :]) <= SIZE[0], text

    child.send("d")  # the diff again
    pager_shows(first, "get_audit_logger", added)
    assert re.search(first, plain(after_the_pager()))

    child.send("e")  # the explanation, then the decision again, diff and all
    pager_shows(r"# lazy-singletons \(LZY002\)", "## What it does")
    paged = pager_shows(first, "get_audit_logger", added)
    assert "│" in plain(paged)
    assert re.search(first, plain(after_the_pager()))

    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, transcript(child)[-2000:]
    assert files_of(root) == before  # quit before accepting anything


def test_with_stderr_redirected_the_review_is_on_the_terminal(tmp_path: Path) -> None:
    """stdin a terminal, stderr a file: the questions are asked (and the pager runs) on the
    terminal the answers come from; the report and the summary go to the file, as ever."""
    root = copy_app(tmp_path / "app")
    log = tmp_path / "stderr.txt"
    command = [
        "/bin/sh",
        "-c",
        f'exec "$0" -m lazifier apply --select {SELECT} . 2>"$1"',
        sys.executable,
        str(log),
    ]
    child = spawn(root, pager=None, command=command)

    def answer(number: int, where: str, key: str) -> None:
        """Page through decision ``number`` when it is paged, then answer it."""
        if child.expect_exact([ENTER_PAGER, "q) quit"], timeout=240) == 0:
            child.expect("│")  # less is drawing it
            child.send("q")
            child.expect(PROMPT)
        shown = transcript(child)
        asked = shown[shown.rindex("? Apply [") :]
        assert re.match(rf"\? Apply \[{number}/\d+\] LZY002 {re.escape(where)}", asked), asked[:300]
        child.send(key)

    answer(1, "src/api/endpoints/admin.py:34", "s")
    answer(2, "src/api/endpoints/products.py:12", "a")
    answer(3, "src/middleware/csrf.py:59", "q")
    child.expect(pexpect.EOF)
    child.close()
    screen = transcript(child)
    assert child.exitstatus == 0, screen[-2000:]
    err_text = log.read_text()
    assert "Apply [" not in err_text and "[y/N]" not in err_text and "│" not in err_text, err_text[:2000]
    assert "Applied (1):\n  LZY002 src/api/endpoints/products.py:12: `image_service" in err_text, err_text
    assert "Skipped (1):" in err_text and "Not reviewed, you quit (" in err_text, err_text
    assert re.search(r"(?m)^lazify: 1 file rewritten, \d+ unchanged; 1 change\b", err_text), err_text
    assert "Applied (" not in screen and "lazify: 1 file rewritten" not in screen
    assert "def get_image_service()" in (root / "src/api/endpoints/products.py").read_text()


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
