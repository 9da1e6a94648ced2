"""``scripts/corpus.py`` runs one at a time: two runs shared the work directory, the venvs and
the logs, and each deleted the other's copies mid-run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import corpus  # scripts/ is not a package


def test_a_second_run_is_told_who_holds_the_lock_and_the_lock_goes_with_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus, "BUILD", tmp_path / "corpus")
    with corpus._run_lock() as first:
        assert first is None
        with corpus._run_lock() as second:
            assert second == str(os.getpid())
    with corpus._run_lock() as again:
        assert again is None
