"""``make demo``'s summary of the default rewrite (issue 15 #13): a time within the runs' spread
is called that, and what no longer happens at import is always said."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import demo  # scripts/ is not a package

BEFORE = {
    "seconds": 0.58,
    "min": 0.55,
    "max": 0.93,
    "modules": 668,
    "heavy": ["PIL", "numpy", "redis"],
    "files": ["audit.db"],
}
AFTER = {"seconds": 0.57, "min": 0.50, "max": 0.58, "modules": 561, "heavy": ["redis"], "files": []}


def test_a_time_within_the_spread_is_called_so() -> None:
    text = demo.default_step(BEFORE, AFTER)
    assert "within the runs' spread (0.38s)" in text
    assert "saves" not in text
    assert "107 fewer modules; no PIL, numpy; no audit.db created" in text


def test_a_time_beyond_the_spread_is_a_saving() -> None:
    before = {**BEFORE, "seconds": 1.5, "min": 1.45, "max": 1.6}
    assert demo.default_step(before, AFTER).startswith("The default rewrite saves 0.93s at import;")
