"""Issue 11, lazy-singletons and SQLAlchemy, on the real packages: factories reached through
re-exports (SQLModel, redis.asyncio), and the FastAPI SQL tutorial's layout, rewritten with the
real CLI and then run: importing creates no database, the first request creates the tables."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import err, run_lazify, write_tree

pytestmark = pytest.mark.slow

#: lazify's own environment has SQLModel, redis and SQLAlchemy installed: named as the
#: project's environment, its packages are what the project's names resolve to.
REAL_ENV = {"VIRTUAL_ENV": sys.prefix}


def run_in(root: Path, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


SQLMODEL_APP = {
    "pyproject.toml": "[tool.lazify]\n",
    "requirements.txt": "fastapi\nsqlmodel\n",
    "heroes/__init__.py": "",
    "heroes/database.py": """\
from sqlmodel import Field, Session, SQLModel, create_engine


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("sqlite:///heroes.db", connect_args={"check_same_thread": False})
SQLModel.metadata.create_all(engine)


def get_session():
    with Session(engine) as session:
        yield session
""",
    "heroes/main.py": """\
from fastapi import Depends, FastAPI
from sqlmodel import Session, select

from .database import Hero, get_session

app = FastAPI()


@app.post("/heroes")
def create_hero(hero: Hero, session: Session = Depends(get_session)):
    session.add(hero)
    session.commit()
    session.refresh(hero)
    return hero


@app.get("/heroes")
def read_heroes(session: Session = Depends(get_session)):
    return session.exec(select(Hero)).all()
""",
    "clients.py": """\
from redis.asyncio.client import Redis
from sqlalchemy.orm.session import sessionmaker

cache = Redis(host="localhost")
Session = sessionmaker()


def get_cached(key):
    return cache.get(key)


def new_session():
    return Session()
""",
}

USE_THE_APP = """
    import os
    from fastapi.testclient import TestClient
    from {module} import app
    assert not os.path.exists({db!r}), "the database was created at import"
    client = TestClient(app)
    {requests}
    assert os.path.exists({db!r})
    print("ok")
"""


def test_factories_reached_through_reexports_are_singletons(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "proj", SQLMODEL_APP)
    # Without the project's environment, `sqlmodel.create_engine` is just some function.
    without = run_lazify("apply", "--dry-run", "--select", "lazy-singletons", ".", cwd=root)
    assert without.returncode == 0, err(without)
    r = run_lazify("apply", "--yes", "--select", "lazy-singletons", ".", cwd=root, env=REAL_ENV)
    assert r.returncode == 0, err(r)
    database = (root / "heroes/database.py").read_text()
    assert (
        'def get_engine() -> "Engine":' in database and "SQLModel.metadata.create_all(instance)" in database
    )
    clients = (root / "clients.py").read_text()
    assert "def get_cache()" in clients and "def get_session()" in clients
    again = run_lazify("apply", "--dry-run", "--select", "lazy-singletons", ".", cwd=root, env=REAL_ENV)
    assert again.returncode == 0, err(again)  # a second run changes nothing
    requests = """
    assert client.post("/heroes", json={"name": "Deadpond"}).status_code == 200
    assert [h["name"] for h in client.get("/heroes").json()] == ["Deadpond"]"""
    ran = run_in(root, USE_THE_APP.format(module="heroes.main", db="heroes.db", requests=requests))
    assert ran.returncode == 0 and ran.stdout.strip() == "ok", ran.stderr


TUTORIAL = Path(__file__).parent / "fixtures" / "lazy_singletons" / "fastapi_sql_tutorial"


def test_the_fastapi_sql_tutorial_creates_its_tables_on_the_first_request(tmp_path: Path) -> None:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "sql-app"\nversion = "0"\ndependencies = ["fastapi", "sqlalchemy>=2"]\n'
    )
    r = run_lazify("apply", "--yes", ".", cwd=root)
    assert r.returncode == 0, err(r)
    main = (root / "sql_app/main.py").read_text()
    database = (root / "sql_app/database.py").read_text()
    assert "create_all" not in main and "from . import crud, models, schemas" in main
    assert "Base.metadata.create_all(bind=instance)" in database
    again = run_lazify("apply", "--dry-run", ".", cwd=root)
    assert again.returncode == 0, err(again)  # a second run changes nothing
    requests = """
    created = client.post("/users/", json={"email": "ada@example.com", "password": "pw"})
    assert created.status_code == 200, created.text
    uid = created.json()["id"]
    item = client.post(f"/users/{uid}/items/", json={"title": "lamp"})
    assert item.status_code == 200, item.text
    user = client.get(f"/users/{uid}").json()
    assert user["email"] == "ada@example.com" and [i["title"] for i in user["items"]] == ["lamp"]
    assert client.post("/users/", json={"email": "ada@example.com", "password": "x"}).status_code == 400"""
    ran = run_in(root, USE_THE_APP.format(module="sql_app.main", db="sql_app.db", requests=requests))
    assert ran.returncode == 0 and ran.stdout.strip() == "ok", ran.stderr
