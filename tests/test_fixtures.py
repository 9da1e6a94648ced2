"""Every fixture of every codemod: snapshot plus invariants."""

from __future__ import annotations

from pathlib import Path

import pytest
from snapshot import FIXTURES, SNAPSHOTS, check_invariants, check_snapshot, options_of, run_fixture

from codemods import REGISTRY


def _dir(cls: type) -> str:
    return cls.name.replace("-", "_")


CASES = [
    pytest.param(cls, path, id=f"{cls.name}/{path.stem}")
    for cls in REGISTRY
    for path in sorted((FIXTURES / _dir(cls)).iterdir())
    if path.suffix == ".py" or path.is_dir()
]


@pytest.mark.parametrize(("cls", "fixture"), CASES)
def test_fixture(cls: type, fixture: Path, tmp_path: Path) -> None:
    run = run_fixture(fixture, tmp_path, cls.name)
    check_snapshot(_dir(cls), run)
    target = options_of(fixture).get("target-version", "py310") if fixture.is_file() else "py310"
    check_invariants(run, (3, int(target[3:])))


@pytest.mark.parametrize("cls", REGISTRY, ids=lambda c: c.name)
def test_every_codemod_has_fixtures_and_snapshots(cls: type) -> None:
    fixtures = [p for p in (FIXTURES / _dir(cls)).iterdir() if p.suffix == ".py" or p.is_dir()]
    assert any(p.name.startswith("ok_") for p in fixtures), "needs a no-change (ok_*) fixture"
    assert any(p.name.startswith("blocked_") for p in fixtures), "needs a blocked_* fixture"
    for p in fixtures:
        assert (SNAPSHOTS / _dir(cls) / f"{p.stem}.snap").exists(), f"no snapshot for {p.name}"
    snaps = {p.stem for p in (SNAPSHOTS / _dir(cls)).glob("*.snap")}
    assert snaps == {p.stem for p in fixtures}, "snapshots without fixtures"
