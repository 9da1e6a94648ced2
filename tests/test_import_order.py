"""Imports lazify adds go where isort and ruff's ``I`` rules put them (issue 15 #5): each case is
a project whose imports ruff finds sorted before the rewrite, and must find sorted after it.
Through the real CLI and the real ruff, in a project ruff reads first-party modules from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_lazify, write_tree

CONFIG = '[project]\nname = "proj"\ndependencies = ["sqlalchemy>=2"]\n\n[tool.lazify]\n\n[tool.ruff.lint]\nselect = ["I"]\n'
APP = {"app/__init__.py": "", "app/config.py": 'URL = "sqlite://"\n'}

CASES = {
    # `import threading` and `from typing import TYPE_CHECKING` join the standard-library group.
    "singleton": (
        "import os\n\nimport requests\n\nfrom app.config import URL\n\n"
        "session = requests.Session()\n\n\ndef fetch():\n    return session.get(os.path.join(URL, 'x'))\n"
    ),
    # DeclarativeBase in a third-party group of its own, before the first-party one that is all
    # that is left once `declarative_base`'s import goes.
    "declarative": (
        "import os\n\nfrom sqlalchemy.ext.declarative import declarative_base\n\nfrom app.config import URL\n\n"
        "Base = declarative_base()\nPATH = os.path.join(URL, 'db')\n"
    ),
    # The TYPE_CHECKING import block after the whole import section, the guard's import in the
    # standard-library group.
    "annotation": (
        "import os\n\nimport numpy as np\n\nfrom app import config\n\n\n"
        "def f(a: np.ndarray) -> np.ndarray:\n    return np.asarray(a) + len(os.sep + config.URL)\n"
    ),
    # A first-party module imported under TYPE_CHECKING sorts after the third-party ones there.
    "first-party-annotation": (
        "from typing import TYPE_CHECKING\n\nimport numpy as np\n\nfrom app import config\n\n"
        "if TYPE_CHECKING:\n    import pandas as pd\n\n    from app.config import URL\n\n\n"
        "def f(a: np.ndarray, b: pd.DataFrame, u: URL) -> np.ndarray:\n    return np.asarray(a) + len(config.URL)\n"
    ),
}


def _ruff_sorted(root: Path, rel: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", rel],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_added_imports_are_where_ruff_sorts_them(tmp_path: Path, case: str) -> None:
    root = write_tree(tmp_path / "proj", {"pyproject.toml": CONFIG, **APP, "app/mod.py": CASES[case]})
    before = _ruff_sorted(root, "app/mod.py")
    assert before.returncode == 0, f"the case itself must be sorted:\n{before.stdout}"
    result = run_lazify("apply", "--yes", ".", cwd=root)
    assert result.returncode == 0, result.stderr.decode()
    text = (root / "app/mod.py").read_text()
    assert text != CASES[case], "lazify must have rewritten the module"
    after = _ruff_sorted(root, "app/mod.py")
    assert after.returncode == 0, f"{after.stdout}\n{text}"
