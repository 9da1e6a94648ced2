"""Which SQLAlchemy a project uses, from every form it can say so in (lazifier.declared and
settings.detect_sqlalchemy), and what declarative-base's safe rewrite keeps, on real SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_tree

from lazifier import declared, installed
from lazifier.settings import detect_sqlalchemy


@pytest.fixture(autouse=True)
def _fresh_environment_cache() -> None:
    installed.site_dirs.cache_clear()


def detect(root: Path, files: dict[str, str | bytes]) -> tuple[str, str]:
    write_tree(root, files)
    config = root / "pyproject.toml"
    return detect_sqlalchemy(root, config if config.is_file() else None)


@pytest.mark.parametrize(
    ("files", "state", "source"),
    [
        # A bare requirement installs the newest SQLAlchemy: 2.x.
        (
            {"requirements.txt": "fastapi\nsqlalchemy\n"},
            "yes",
            "declared `sqlalchemy` in requirements.txt, which installs SQLAlchemy 2.x",
        ),
        (
            {"requirements.txt": "SQLAlchemy[asyncio]>=2.0.20  # orm\n"},
            "yes",
            "declared `SQLAlchemy[asyncio]>=2.0.20` in requirements.txt",
        ),
        (
            {"requirements.txt": "sqlalchemy>=1.3,<2.0\n"},
            "no",
            "declared `sqlalchemy>=1.3,<2.0` in requirements.txt",
        ),
        (
            {"requirements.txt": "sqlalchemy~=1.4.0\n"},
            "no",
            "declared `sqlalchemy~=1.4.0` in requirements.txt",
        ),
        (
            {"requirements-dev.txt": "sqlalchemy==2.0.*\n"},
            "yes",
            "declared `sqlalchemy==2.0.*` in requirements-dev.txt",
        ),
        # Included files, relative to the file that includes them, and constraints files.
        (
            {
                "requirements.txt": "-r requirements/base.txt\n",
                "requirements/base.txt": "-c ../constraints.txt\n",
                "constraints.txt": "sqlalchemy==1.4.52\n",
            },
            "no",
            "declared `sqlalchemy==1.4.52` in constraints.txt",
        ),
        (
            {"requirements.txt": "--requirement=deps/prod.txt\n", "deps/prod.txt": "sqlalchemy>=2\n"},
            "yes",
            "declared `sqlalchemy>=2` in deps/prod.txt",
        ),
        (
            {"requirements.txt": "-r requirements.txt\nsqlalchemy<2\n"},
            "no",
            "declared `sqlalchemy<2` in requirements.txt",
        ),  # a loop ends
        (
            {
                "pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = ["SQLAlchemy >= 2.0"]\n'
            },
            "yes",
            "declared `SQLAlchemy >= 2.0` in pyproject.toml",
        ),
        (
            {
                "pyproject.toml": '[project]\nname = "x"\nversion = "1"\n[project.optional-dependencies]\ndb = ["sqlalchemy<2"]\n'
            },
            "no",
            "declared `sqlalchemy<2` in pyproject.toml",
        ),
        (
            {"pyproject.toml": '[dependency-groups]\ndev = ["sqlalchemy>=2.0.30"]\n'},
            "yes",
            "declared `sqlalchemy>=2.0.30` in pyproject.toml",
        ),
        (
            {"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.10"\nSQLAlchemy = "^1.4"\n'},
            "no",
            'declared `SQLAlchemy = "^1.4"` in pyproject.toml',
        ),
        (
            {
                "pyproject.toml": '[tool.poetry.group.db.dependencies]\nsqlalchemy = {version = "^2.0", extras = ["asyncio"]}\n'
            },
            "yes",
            None,
        ),
        (
            {"setup.cfg": "[options]\ninstall_requires =\n    requests\n    SQLAlchemy>=1.4,<2\n"},
            "no",
            "declared `SQLAlchemy>=1.4,<2` in setup.cfg",
        ),
        (
            {"setup.cfg": "[options.extras_require]\ndb = sqlalchemy>=2\n"},
            "yes",
            "declared `sqlalchemy>=2` in setup.cfg",
        ),
        (
            {
                "setup.py": 'from setuptools import setup\nsetup(name="x", install_requires=["sqlalchemy==1.4.46"])\n'
            },
            "no",
            "declared `sqlalchemy==1.4.46` in setup.py",
        ),
        (
            {
                "setup.py": 'import setuptools\nDB = ["sqlalchemy>=2"]\nsetuptools.setup(extras_require={"db": DB})\n'
            },
            "yes",
            "declared `sqlalchemy>=2` in setup.py",
        ),
        (
            {"Pipfile": '[packages]\nsqlalchemy = "*"\n'},
            "yes",
            'declared `sqlalchemy = "*"` in Pipfile, which installs SQLAlchemy 2.x',
        ),
        # Lock files pin what a requirement leaves open.
        (
            {
                "requirements.txt": "sqlalchemy\n",
                "uv.lock": '[[package]]\nname = "sqlalchemy"\nversion = "1.4.54"\n',
            },
            "no",
            "SQLAlchemy 1.4.54 in uv.lock",
        ),
        (
            {"poetry.lock": '[[package]]\nname = "SQLAlchemy"\nversion = "2.0.36"\n'},
            "yes",
            "SQLAlchemy 2.0.36 in poetry.lock",
        ),
        (
            {"pdm.lock": '[[package]]\nname = "sqlalchemy"\nversion = "1.4.0"\n'},
            "no",
            "SQLAlchemy 1.4.0 in pdm.lock",
        ),
        (
            {"Pipfile.lock": '{"default": {"sqlalchemy": {"version": "==2.0.1"}}, "develop": {}}'},
            "yes",
            "SQLAlchemy 2.0.1 in Pipfile.lock",
        ),
        # A requirement that decides wins over a stale lock file.
        (
            {
                "requirements.txt": "sqlalchemy>=2\n",
                "uv.lock": '[[package]]\nname = "sqlalchemy"\nversion = "1.4.54"\n',
            },
            "yes",
            "declared `sqlalchemy>=2` in requirements.txt",
        ),
        ({}, "unknown", "not declared and not installed in the project's environment"),
        # Broken files say nothing; they never raise.
        (
            {
                "pyproject.toml": "[project\n",
                "poetry.lock": "[[",
                "Pipfile.lock": "{",
                "setup.py": "setup(",
                "setup.cfg": "[options",
            },
            "unknown",
            None,
        ),
        (
            {"requirements.txt": "sqlalchemy<2\n".encode("utf-16")},
            "no",
            "declared `sqlalchemy<2` in requirements.txt",
        ),
    ],
)
def test_the_version_comes_from_what_the_project_declares(
    tmp_path: Path, files: dict, state: str, source: str | None
) -> None:
    found = detect(tmp_path, files)
    assert found[0] == state, found
    if source is not None:
        assert found[1] == source


def _venv(root: Path, version: str, name: str = ".venv") -> None:
    site = root / name / "lib" / "python3.11" / "site-packages"
    (site / f"SQLAlchemy-{version}.dist-info").mkdir(parents=True)
    (root / name / "pyvenv.cfg").write_text("home = /usr/bin\n")


def test_the_projects_environment_counts_and_lazifys_own_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lazify's own environment has SQLAlchemy 2: that says nothing about the project.
    assert detect(tmp_path, {}) == ("unknown", "not declared and not installed in the project's environment")
    _venv(tmp_path, "1.4.54", "venv")
    installed.site_dirs.cache_clear()
    assert detect(tmp_path, {"requirements.txt": "sqlalchemy\n"}) == (
        "no",
        "SQLAlchemy 1.4.54 installed in the project's environment",
    )
    # An activated virtualenv is the project's environment, even lazify's own.
    other = tmp_path / "other"
    _venv(other, "2.0.36")
    monkeypatch.setenv("VIRTUAL_ENV", str(other / ".venv"))
    installed.site_dirs.cache_clear()
    assert detect(other, {})[0] == "yes"
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    installed.site_dirs.cache_clear()
    assert detect(tmp_path / "empty", {})[1].endswith("installed in the project's environment")


@pytest.mark.parametrize(
    ("spec", "one", "two"),
    [("", True, True), (">=2", False, True), (">=1.4,<2", True, False), ("==2.0.1", False, True), ("~=1.4", True, False),
     ("~=2.0", False, True), ("!=2.*", True, False), ("<2.0.0", True, False), ("==1.4.*", True, False), (">1.4.99", True, True)],
)  # fmt: skip
def test_specifiers(spec: str, one: bool, two: bool) -> None:
    assert (declared.admits(spec, 1), declared.admits(spec, 2)) == (one, two)


# ---------------------------------------------------------------------------------------------
# What the safe rewrite keeps, on real SQLAlchemy: the same mapping, plain annotations included.

MODELS = """
from typing import Optional
from sqlalchemy import Column, ForeignKey, Integer, String, inspect
from sqlalchemy.orm import relationship, Session
from sqlalchemy import create_engine

{base}


class User(Base):
    __tablename__ = "users"
    id: int = Column(Integer, primary_key=True)
    name: Optional[str] = Column(String(50), nullable=False)
    items = relationship("Item", back_populates="owner")


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
    owner_id = Column(ForeignKey("users.id"))
    owner = relationship(User, back_populates="items")


engine = create_engine("sqlite://")
Base.metadata.create_all(engine)
with Session(engine) as s:
    s.add(User(id=1, name="ada", items=[Item(id=7)]))
    s.commit()
    user = s.get(User, 1)
    print(sorted((t.name, [(c.name, str(c.type), c.nullable, c.primary_key) for c in t.c]) for t in Base.metadata.sorted_tables))
    print(sorted(inspect(User).relationships.keys()), user.name, [i.id for i in user.items], Item.__init__ is User.__init__)
try:
    class Broken(Base):
        __tablename__ = "broken"
        id = Column(Integer, primary_key=True)
        users: list = relationship(User)
except Exception as e:
    print(type(e).__name__)
"""


def _run(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.slow
def test_both_bases_map_plain_annotations_the_same(tmp_path: Path) -> None:
    legacy = _run(
        MODELS.format(base="from sqlalchemy.orm import declarative_base\nBase = declarative_base()")
    )
    new = _run(
        MODELS.format(
            base="from sqlalchemy.orm import DeclarativeBase\nclass Base(DeclarativeBase):\n    pass"
        )
    )
    assert legacy == new
    assert legacy.splitlines()[-1] == "MappedAnnotationError"  # raised by both: not the rewrite's doing
