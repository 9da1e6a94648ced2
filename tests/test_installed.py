"""lazifier.installed: the project's environment and its packages, read without importing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lazifier import installed


def _env(root: Path, name: str = ".venv") -> Path:
    prefix = root / name
    site = prefix / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (prefix / "pyvenv.cfg").write_text("home = /usr/bin\n")
    return site


def _write(site: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture(autouse=True)
def _no_active_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    installed.site_dirs.cache_clear()


def test_environment_is_the_projects_not_lazifys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert installed.site_dirs(tmp_path) == ()
    assert not installed.is_own_environment(tmp_path)
    site = _env(tmp_path)
    installed.site_dirs.cache_clear()
    assert installed.site_dirs(tmp_path) == (site,)
    other = tmp_path / "elsewhere"
    other_site = _env(other, "env")
    monkeypatch.setenv("VIRTUAL_ENV", str(other / "env"))
    installed.site_dirs.cache_clear()
    assert installed.site_dirs(tmp_path) == (site, other_site)
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    assert installed.is_own_environment(tmp_path) == (Path(sys.prefix) / "pyvenv.cfg").is_file()


def test_reexports_are_followed_to_the_definition(tmp_path: Path) -> None:
    site = _env(tmp_path)
    _write(site, {
        "facade/__init__.py": "from core import make_engine as make_engine\nfrom .sub import Client\n",
        "facade/sub/__init__.py": "try:\n    from ._fast import Client\nexcept ImportError:\n    from ._slow import Client\n",
        "facade/sub/_fast.py": "class Client:\n    pass\n",
        "core/__init__.py": "from .engine import make_engine\n",
        "core/engine/__init__.py": "from core.engine.create import make_engine\n",
        "core/engine/create.py": "def make_engine(url):\n    return url\n",
        "lazy/__init__.py": "def __getattr__(name):\n    raise AttributeError(name)\n",
        "Facade-1.2.dist-info/METADATA": "Name: facade\n",
    })  # fmt: skip
    dirs = installed.site_dirs(tmp_path)
    assert installed.resolve("facade.make_engine", dirs) == (
        "facade.make_engine", "core.make_engine", "core.engine.make_engine", "core.engine.create.make_engine",
    )  # fmt: skip
    assert installed.resolve("facade.Client", dirs)[-1] == "facade.sub._fast.Client"
    found = installed.definition("facade.make_engine", dirs)
    assert found is not None and found[0] == site / "core/engine/create.py" and found[1].name == "make_engine"
    # A name a module makes up at run time can't be followed: the chain is just the name.
    assert installed.resolve("lazy.thing", dirs) == ("lazy.thing",)
    assert installed.resolve("missing.thing", dirs) == ("missing.thing",)
    assert installed.distribution_version("facade", dirs) == "1.2"
    assert installed.distribution_version("absent", dirs) is None


def test_a_cycle_of_reexports_ends(tmp_path: Path) -> None:
    site = _env(tmp_path)
    _write(site, {"a/__init__.py": "from b import x\n", "b/__init__.py": "from a import x\n"})
    assert installed.resolve("a.x", installed.site_dirs(tmp_path)) == ("a.x", "b.x")


def test_where_a_reexported_name_or_method_is_defined(tmp_path: Path) -> None:
    site = _env(tmp_path)
    _write(site, {
        "facade/__init__.py": "from core.client import Client as Client\nfrom core.client import connect\n",
        "core/__init__.py": "",
        "core/client.py": "class Client:\n    @classmethod\n    def from_url(cls, url):\n        return cls()\n\ndef connect():\n    pass\n",
    })  # fmt: skip
    dirs = installed.site_dirs(tmp_path)
    assert installed.defined_as("facade.connect", dirs) == "core.client.connect"
    assert installed.defined_as("facade.Client.from_url", dirs) == "core.client.Client.from_url"
    assert installed.defined_as("core.client.connect", dirs) is None  # defined right there
    assert installed.definitions(["facade.connect", "core.client.connect", "nowhere.x"], dirs) == (
        ("facade.connect", "core.client.connect"),
    )
    assert installed.definitions(["facade.connect"], ()) == ()


# A facade that defines its own factory, setting defaults and passing the rest on (the shape of
# sqlmodel 0.0.8's `create_engine`), beside functions that do more than that.
WRAPPERS = {
    "facade/__init__.py": "from .make import make_engine as make_engine, noisy\n",
    "facade/make.py": """\
from core import make_engine as _make_engine
from core import connect, other


def make_engine(url, *, echo=None, **kwargs):
    options = {"future": True}
    if not isinstance(echo, bool):
        options["echo"] = echo
    options.update(kwargs)
    return _make_engine(url, **options)


def noisy(url):
    connect(url)
    return _make_engine(url)


def two_ways(url):
    if url:
        return _make_engine(url)
    return other(url)


def _build(url):
    return url


def local_build(url):
    return _build(url)


_REGISTRY = {}
_HOOKS = []


def registers(url, app):
    app.register(url)
    return _make_engine(url)


def fills_a_table(url):
    _REGISTRY["engine"] = url
    return _make_engine(url)


def runs_hooks(url):
    for hook in _HOOKS:
        hook(url)
    return _make_engine(url)


def aliases_a_global(url):
    table = _REGISTRY
    table.clear()
    return _make_engine(url)


@staticmethod
def decorated(url):
    return _make_engine(url)


def may_fall_through(url):
    if url:
        return _make_engine(url)
""",
    "core/__init__.py": "from .engine import make_engine\n\ndef connect(url):\n    pass\n\ndef other(url):\n    pass\n",
    "core/engine.py": "def make_engine(url, **kwargs):\n    return url\n",
}


def test_a_function_that_only_passes_its_arguments_on_is_what_it_calls(tmp_path: Path) -> None:
    site = _env(tmp_path)
    _write(site, WRAPPERS)
    dirs = installed.site_dirs(tmp_path)
    assert installed.wrapped("facade.make.make_engine", dirs) == "core.make_engine"
    assert installed.defined_as("facade.make_engine", dirs) == "core.engine.make_engine"
    assert installed.defined_as("core.make_engine", dirs) == "core.engine.make_engine"
    # A wrapper that also does work of its own, or returns one of two things, is itself.
    assert installed.wrapped("facade.make.noisy", dirs) is None
    assert installed.defined_as("facade.noisy", dirs) == "facade.make.noisy"
    assert installed.wrapped("facade.make.two_ways", dirs) is None
    assert installed.wrapped("facade.make.local_build", dirs) == "facade.make._build"
    assert installed.wrapped("core.engine.make_engine", dirs) is None  # returns no call
    # Work on what it is given or on module-level state: a call with effects of its own.
    for name in (
        "registers",
        "fills_a_table",
        "runs_hooks",
        "aliases_a_global",
        "decorated",
        "may_fall_through",
    ):
        assert installed.wrapped(f"facade.make.{name}", dirs) is None, name
