"""Fixture runs and snapshots, as ruff and LibCST do them.

A fixture is a file (options in a ``# lazify-test: key=value, ...`` first line; ``requirements=``
is written to the project's requirements.txt, ``;`` between lines) or a directory
(a small project with its own pyproject.toml). Its snapshot is exactly what a user sees: each
change rendered as the CLI renders it, with its diff, then the whole patch. Every fixture is also
checked for invariants, whatever its expected text: the output parses (LibCST and ``ast``), a
second run changes nothing, ``ok_*`` fixtures come out byte-identical, and top-level statements
no codemod touched are AST-identical to the input.
"""

from __future__ import annotations

import ast
import difflib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from lazifier.engine import Engine, Outcome
from lazifier.report import RunReport, render_change, render_patch
from lazifier.settings import load_settings
from lazifier.transform import Policy

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SNAPSHOTS = ROOT / "snapshots"
UPDATE = os.environ.get("LAZIFY_UPDATE_SNAPSHOTS") == "1"


@dataclass
class FixtureRun:
    name: str
    project: Path
    outcome: Outcome
    rendered: str
    select: tuple[str, ...] | None = None

    @property
    def changed(self) -> dict[str, tuple[str, str]]:
        return {
            r.path: (self.outcome.sources[r.path].decoded.text, r.new_text)  # type: ignore[union-attr]
            for r in self.outcome.results
            if r.changed
        }


def options_of(path: Path) -> dict[str, str]:
    first = path.read_text().split("\n", 1)[0]
    if not first.startswith("# lazify-test:"):
        return {}
    pairs = (p.strip() for p in first.split(":", 1)[1].split(","))
    return dict(p.split("=", 1) for p in pairs if p)


def _pyproject(options: dict[str, str]) -> str:
    lines = ["[tool.lazify]"]
    for key, value in options.items():
        if key == "venv":
            continue  # not lazify's: see materialize
        if value in ("true", "false"):
            lines.append(f"{key} = {value}")
        elif value.startswith("["):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def materialize(fixture: Path, dest: Path) -> Path:
    project = dest / fixture.stem
    if fixture.is_dir():
        shutil.copytree(fixture, project)
        if not (project / "pyproject.toml").exists():
            (project / "pyproject.toml").write_text("[tool.lazify]\n")
    else:
        project.mkdir(parents=True)
        shutil.copy(fixture, project / fixture.name)
        options = options_of(fixture)
        # `requirements=sqlalchemy>=2`: what the project declares, in its requirements.txt.
        requirements = options.pop("requirements", None)
        if requirements is not None:
            (project / "requirements.txt").write_text(requirements.replace(";", "\n") + "\n")
        (project / "pyproject.toml").write_text(_pyproject(options))
    if uses_test_venv(fixture):
        (project / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return project


def uses_test_venv(fixture: Path) -> bool:
    """``# lazify-test: venv=test`` (or a ``.test-venv`` file in a directory fixture): the
    project's environment is the tests' own, so lazify reads the real installed extensions."""
    if fixture.is_dir():
        return (fixture / ".test-venv").is_file()
    return options_of(fixture).get("venv") == "test"


def run_project(project: Path, select: tuple[str, ...] | None = None) -> Outcome:
    # The project's environment is its own `.venv`/`venv` only, whatever the shell activated.
    active = os.environ.pop("VIRTUAL_ENV", None)
    try:
        settings = load_settings([project], {"select": select})
        engine = Engine(settings, [project], jobs=1, use_cache=False, isolate=False)
        return engine.run(Policy(unsafe_fixes=settings.unsafe_fixes), change_diffs=True)
    finally:
        if active is not None:
            os.environ["VIRTUAL_ENV"] = active


def render(name: str, outcome: Outcome) -> str:
    report = RunReport(results=outcome.results, skipped=outcome.skipped, dry_run=True)
    out = [f"# {name}\n"]
    for r in outcome.results:
        text = outcome.sources[r.path].decoded.text if outcome.sources[r.path].decoded else ""
        for c in sorted(r.changes, key=lambda c: (c.line, c.finding.span.column, c.code, c.finding.message)):
            out.append(render_change(c, text, show_diff=True))
        if r.error:
            out.append(f"{r.path}:{r.error_line or 1}: error: {r.error}\n")
    for s in outcome.skipped:
        out.append(f"{s.path}: skipped: {s.reason}\n")
    originals = {
        rel: (s.decoded.text, s.decoded.encoding, s.decoded.bom)
        for rel, s in outcome.sources.items()
        if s.decoded is not None
    }
    patch = render_patch(outcome.results, originals).decode()
    out.append("----- patch -----\n" + (patch or "(no change)\n"))
    out.append("----- summary -----\n" + report.summary() + "\n")
    return "\n".join(out)


def run_fixture(fixture: Path, tmp: Path, codemod: str) -> FixtureRun:
    """Run one codemod's fixture with only that codemod selected."""
    project = materialize(fixture, tmp)
    outcome = run_project(project, (codemod,))
    return FixtureRun(fixture.stem, project, outcome, render(fixture.stem, outcome), (codemod,))


def check_snapshot(codemod_dir: str, run: FixtureRun) -> None:
    snap = SNAPSHOTS / codemod_dir / f"{run.name}.snap"
    new = snap.with_suffix(".snap.new")
    if UPDATE:
        snap.parent.mkdir(parents=True, exist_ok=True)
        snap.write_text(run.rendered)
        new.unlink(missing_ok=True)
        return
    expected = snap.read_text() if snap.exists() else ""
    if expected == run.rendered:
        new.unlink(missing_ok=True)
        return
    new.parent.mkdir(parents=True, exist_ok=True)
    new.write_text(run.rendered)
    diff = "".join(
        difflib.unified_diff(expected.splitlines(True), run.rendered.splitlines(True), str(snap), str(new))
    )
    raise AssertionError(
        f"snapshot mismatch; review {new.relative_to(ROOT)} and rename it, or rerun with "
        f"LAZIFY_UPDATE_SNAPSHOTS=1\n{diff}"
    )


# ---------------------------------------------------------------------------------------------
# Invariants


def _parses(text: str, target: tuple[int, int]) -> None:
    cst.parse_module(text, config=cst.PartialParserConfig(python_version=f"{target[0]}.{target[1]}"))
    if target <= sys.version_info[:2]:
        ast.parse(text)


def _touched_old_lines(old: str, new: str) -> set[int]:
    a, b = old.splitlines(), new.splitlines()
    touched: set[int] = set()
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        touched.update(range(i1 + 1, i2 + 1))
        # An insertion touches the statements on both sides of it, across blank lines (an
        # indented line added after a block's trailing blank line extends that block).
        before, after = i1, i1 + 1
        while before > 1 and not a[before - 1].strip():
            before -= 1
        while after < len(a) and not a[after - 1].strip():
            after += 1
        touched.update({max(1, before), after})
    return touched


def _statements(tree: ast.Module) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for s in tree.body:
        if isinstance(s, ast.ClassDef):
            out.extend(s.body)
        else:
            out.append(s)
    return out


def assert_untouched_statements_identical(old: str, new: str) -> None:
    """Every (top-level or class-level) statement whose lines the diff doesn't touch must
    appear, AST-identical, in the output."""
    try:
        old_tree, new_tree = ast.parse(old), ast.parse(new)
    except SyntaxError:
        return  # syntax newer than this interpreter: covered by the LibCST parse check
    touched = _touched_old_lines(old, new)
    remaining = [ast.dump(s) for s in _statements(new_tree)]
    for s in _statements(old_tree):
        start = min([s.lineno, *(d.lineno for d in getattr(s, "decorator_list", ()))])
        lines = set(range(start, (s.end_lineno or s.lineno) + 1))
        if lines & touched:
            continue
        dump = ast.dump(s)
        assert dump in remaining, f"statement on line {s.lineno} changed although no edit touched it"
        remaining.remove(dump)


def check_invariants(run: FixtureRun, target: tuple[int, int]) -> None:
    changed = run.changed
    if run.name.startswith("ok_"):
        assert not changed, f"ok_ fixture {run.name} was changed: {sorted(changed)}"
        assert all(not c.applied for r in run.outcome.results for c in r.changes)
    for rel, (old, new) in changed.items():
        _parses(new, target)
        assert_untouched_statements_identical(old, new)
        (run.project / rel).write_text(new, encoding="utf-8", newline="")
    if changed:
        again = run_project(run.project, run.select)
        second = [r.path for r in again.results if r.changed]
        assert not second, f"a second run still changes {second} (not idempotent)"
