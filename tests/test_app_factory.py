"""app-factory on real framework objects: each fixture app is built from the original module and
from the module the real CLI rewrote, and the two apps must be the same app.

Compared: routes (kind, path, methods, endpoint name, order, mounts and their routes),
middleware classes with their options in order, exception and error handlers, request hooks,
config, and the responses to a few requests. Two ``create_app()`` calls must give two
independent apps, and ``module-app = "lazy"`` must import without building the app.
"""

from __future__ import annotations

import importlib
import shutil
import sqlite3
import sys
import types
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_lazify
from fastapi.testclient import TestClient
from snapshot import options_of, uses_test_venv
from starlette.routing import Mount

FIXTURES = ROOT / "tests" / "fixtures" / "app_factory"

# ---------------------------------------------------------------------------------------------
# Loading two copies of one module


def _copy(fixture: Path, dest: Path, module: str, tag: str) -> str:
    """Copy the fixture project to ``dest`` with its top-level module renamed ``<name>_<tag>``,
    so both copies live side by side in ``sys.modules``; return the module's new name."""
    top, _, rest = module.partition(".")
    if fixture.is_dir():
        shutil.copytree(fixture, dest)
        (dest / top).rename(dest / f"{top}_{tag}")
    else:
        dest.mkdir(parents=True)
        shutil.copy(fixture, dest / f"{top}_{tag}.py")
    options = options_of(fixture) if fixture.is_file() else {}
    if uses_test_venv(fixture):
        (dest / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    options.pop("venv", None)
    table = "".join(
        f"{k} = {v}\n" if v in ("true", "false") else f'{k} = "{v}"\n' for k, v in options.items()
    )
    (dest / "pyproject.toml").write_text("[tool.lazify]\n" + table)
    return f"{top}_{tag}" + (f".{rest}" if rest else "")


def load_both(
    fixture: Path, module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[types.ModuleType, types.ModuleType, str]:
    """The fixture's module as written, and as ``lazify apply --yes`` rewrote it."""
    tag = uuid.uuid4().hex[:8]
    names = {}
    for which in ("before", "after"):
        names[which] = _copy(fixture, tmp_path / which, module, f"{which}_{tag}")
        monkeypatch.syspath_prepend(str(tmp_path / which))
    after_root = tmp_path / "after"
    original = (after_root / (names["after"].replace(".", "/") + ".py")).read_text()
    proc = run_lazify("apply", "--yes", "--select", "app-factory", ".", cwd=after_root)
    assert proc.returncode == 0, proc.stderr
    new_text = (after_root / (names["after"].replace(".", "/") + ".py")).read_text()
    assert new_text != original, proc.stderr
    # Done in one run: nothing left, not even a blocked finding (a mounted sub-app once was one).
    again = run_lazify("apply", "--dry-run", "--strict", "--select", "app-factory", ".", cwd=after_root)
    assert again.returncode == 0 and again.stdout == b"", again.stderr.decode()
    return importlib.import_module(names["before"]), importlib.import_module(names["after"]), new_text


# ---------------------------------------------------------------------------------------------
# Describing an app


def _name(value: Any) -> Any:
    """Functions and classes by qualified name (the copies are different objects)."""
    if isinstance(value, (types.FunctionType, type)):
        return value.__qualname__
    if isinstance(value, (list, tuple)):
        return [_name(v) for v in value]
    if isinstance(value, dict):
        return {k: _name(v) for k, v in value.items()}
    return value


def _route(r: Any) -> tuple:
    if isinstance(r, Mount):
        inner = getattr(r.app, "routes", None) if r.routes == [] else r.routes
        return ("mount", r.path, r.name, [_route(x) for x in inner or ()])
    context = getattr(r, "include_context", None)
    if context is not None:  # FastAPI >= 0.16x keeps an included router as one entry
        inner = context.included_router.routes
        return ("included", context.prefix, list(context.tags), [_route(x) for x in inner])
    endpoint = getattr(r, "endpoint", None)
    return (
        type(r).__name__,
        r.path,
        sorted(getattr(r, "methods", None) or ()),
        r.name,
        _name(endpoint),
        getattr(r, "status_code", None),
    )


def describe_asgi(app: Any) -> dict:
    return {
        "class": type(app).__name__,
        "routes": [_route(r) for r in app.routes],
        "middleware": [
            (_name(m.cls), _name(list(m.args)), _name(dict(m.kwargs))) for m in app.user_middleware
        ],
        "exception_handlers": {str(_name(k)): _name(v) for k, v in app.exception_handlers.items()},
        "state": dict(app.state._state),
        "title": getattr(app, "title", None),
    }


def describe_flask(app: Any, skip_hooks: tuple[str, ...] = ()) -> dict:
    def hooks(funcs: dict) -> dict:
        named = {k: [f.__qualname__ for f in v if f.__name__ not in skip_hooks] for k, v in funcs.items()}
        return {k: v for k, v in named.items() if v}

    return {
        "rules": [(r.rule, sorted(r.methods or ()), r.endpoint) for r in app.url_map.iter_rules()],
        "view_functions": {k: v.__qualname__ for k, v in app.view_functions.items()},
        "before_request": hooks(app.before_request_funcs),
        "after_request": hooks(app.after_request_funcs),
        "teardown": [f.__qualname__ for f in app.teardown_appcontext_funcs],
        "errors": {
            f"{bp}:{code}": {cls.__name__: f.__qualname__ for cls, f in spec.items()}
            for bp, codes in app.error_handler_spec.items()
            for code, spec in codes.items()
        },
        "blueprints": list(app.blueprints),
        "config": {k: repr(v) for k, v in app.config.items()},
    }


def asgi_responses(app: Any, requests: list[tuple[str, str]]) -> list[tuple[int, bytes, str | None]]:
    with TestClient(app) as client:
        out = []
        for method, path in requests:
            r = client.request(method, path)
            out.append((r.status_code, r.content, r.headers.get("content-type")))
        return out


def flask_responses(app: Any, requests: list[tuple[str, str]]) -> list[tuple[int, bytes]]:
    client = app.test_client()
    return [(r.status_code, r.data) for r in (client.open(path, method=method) for method, path in requests)]


# ---------------------------------------------------------------------------------------------
# The apps

ASGI_CASES = {
    "fastapi_app": (
        "shop.main",
        [
            ("GET", "/health"),
            ("GET", "/items/3"),
            ("GET", "/items/-1"),
            ("GET", "/products/4"),
            ("GET", "/v1/orders"),
            ("GET", "/nope"),
        ],
    ),
    "fastapi_interleaved": (
        "fastapi_interleaved",
        [
            ("GET", "/"),
            ("GET", "/legacy/"),
            ("GET", "/after-mount"),
            ("GET", "/api/users"),
            ("POST", "/last"),
        ],
    ),
    "fastapi_sub_app": (
        "fastapi_sub_app",
        [("GET", "/app"), ("GET", "/subapi/sub"), ("GET", "/subapi/docs")],
    ),
    "fastapi_wsgi_mount": ("fastapi_wsgi_mount", [("GET", "/v2"), ("GET", "/v1/")]),
    "config_in_steps": ("config_in_steps", [("GET", "/"), ("GET", "/missing")]),
    "config_in_steps_read_elsewhere": ("config_in_steps_read_elsewhere", [("GET", "/origins")]),
    "value_rebound_between_routes": (
        "value_rebound_between_routes",
        [("GET", "/users"), ("GET", "/items"), ("GET", "/openapi.json")],
    ),
    "starlette_app": (
        "starlette_app",
        [("GET", "/"), ("GET", "/users/ann"), ("GET", "/added"), ("GET", "/missing")],
    ),
}


def _fixture(name: str) -> Path:
    path = FIXTURES / name
    return path if path.is_dir() else path.with_suffix(".py")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ASGI_CASES))
def test_asgi_app_is_the_same_app(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module, requests = ASGI_CASES[name]
    before, after, text = load_both(_fixture(name), module, tmp_path, monkeypatch)
    assert "def create_app()" in text and "app = create_app()" in text
    assert describe_asgi(after.app) == describe_asgi(before.app)
    assert asgi_responses(after.app, requests) == asgi_responses(before.app, requests)

    one, two = after.create_app(), after.create_app()
    assert one is not two and one.router is not two.router and one.state is not two.state
    assert describe_asgi(one) == describe_asgi(two) == describe_asgi(before.app)
    one.add_route("/only-one", lambda request: None)
    assert len(one.routes) == len(two.routes) + 1


@pytest.mark.slow
def test_route_functions_stay_importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, after, _ = load_both(_fixture("fastapi_app"), "shop.main", tmp_path, monkeypatch)
    for fn in ("health", "item", "shop_error", "add_process_time"):
        assert callable(getattr(after, fn)) and getattr(after, fn).__name__ == getattr(before, fn).__name__
    # The routes' endpoints are the module's functions themselves.
    endpoints = {r.name: r.endpoint for r in after.app.routes if hasattr(r, "endpoint")}
    assert endpoints["health"] is after.health and endpoints["read_item"] is after.item


@pytest.mark.slow
def test_flask_app_is_the_same_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, after, text = load_both(_fixture("flask_app"), "flask_app", tmp_path, monkeypatch)
    assert 'if __name__ == "__main__":\n    app.run(debug=True)' in text  # serving stays outside
    assert describe_flask(after.app) == describe_flask(before.app)
    # `config.from_object(__name__)` still reads the module's upper-case globals.
    assert after.app.config["ITEMS_PER_PAGE"] == 20 and after.app.config["SECRET_KEY"] == "dev"
    requests = [
        ("GET", "/"),
        ("GET", "/items/7"),
        ("POST", "/items/7"),
        ("GET", "/admin/stats"),
        ("GET", "/missing"),
    ]
    assert flask_responses(after.app, requests) == flask_responses(before.app, requests)
    with after.app.test_request_context():
        from flask import url_for

        assert url_for("item", item_id=1) == "/items/1" and url_for("admin.stats") == "/admin/stats"
    one, two = after.create_app(), after.create_app()
    assert one is not two and one.url_map is not two.url_map and one.config is not two.config
    assert describe_flask(one) == describe_flask(two) == describe_flask(before.app)


@pytest.mark.slow
def test_flask_schema_runs_once_before_the_first_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, after, text = load_both(_fixture("flask_schema"), "flask_schema", tmp_path, monkeypatch)
    assert "with app.app_context():" in text.split("def create_app()")[1]
    # Nothing created at import: the table appears with the first request.
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        after.connection.execute("SELECT COUNT(*) FROM items")
    assert describe_flask(after.app, skip_hooks=("setup_once",)) == describe_flask(before.app)
    assert after.app.before_request_funcs[None][0].__name__ == "setup_once"
    assert flask_responses(after.app, [("GET", "/items")]) == flask_responses(before.app, [("GET", "/items")])
    after.connection.execute("INSERT INTO items VALUES (1)")
    # Runs once: a second request doesn't recreate (or fail on) the table.
    assert flask_responses(after.app, [("GET", "/items")]) == [(200, b'{"count":1}\n')]


@pytest.mark.slow
def test_module_app_lazy_builds_nothing_at_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, after, text = load_both(_fixture("module_app_lazy"), "module_app_lazy", tmp_path, monkeypatch)
    assert "app = _LazyApp(create_app)" in text
    built: Callable[[], Any] = lambda: object.__getattribute__(after.app, "_built")  # noqa: E731
    assert built() is None
    requests = [("GET", "/ping"), ("GET", "/docs"), ("GET", "/missing")]
    assert asgi_responses(after.app, requests) == asgi_responses(before.app, requests)
    real = built()
    assert type(real).__name__ == "FastAPI" and describe_asgi(real) == describe_asgi(before.app)
    # Attribute access goes to the one real app, built once.
    assert after.app.title == "Lazy" and after.app.routes is real.routes and built() is real
    after.app.state.flag = 1
    assert real.state.flag == 1


@pytest.mark.slow
def test_module_app_lazy_builds_on_attribute_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _before, after, _ = load_both(_fixture("module_app_lazy"), "module_app_lazy", tmp_path, monkeypatch)
    assert object.__getattribute__(after.app, "_built") is None
    assert [r.path for r in after.app.routes][-1] == "/ping"
    assert object.__getattribute__(after.app, "_built") is not None


@pytest.mark.slow
def test_module_app_none_leaves_only_the_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, after, _text = load_both(_fixture("module_app_none"), "module_app_none", tmp_path, monkeypatch)
    assert not hasattr(after, "app")
    app = after.create_app()
    assert describe_flask(app) == describe_flask(before.app)
    assert flask_responses(app, [("GET", "/ping")]) == [(200, b"pong")]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["main_guard", "module_app_none_main_guard"])
def test_main_guard_serves_the_same_app(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as a script, the rewritten module serves the same app, whatever stays at module level."""
    import runpy

    served: list[tuple[Any, dict]] = []
    server = types.ModuleType("uvicorn")  # the server, replaced: it only records what it serves
    server.run = lambda app, **options: served.append((app, options))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "uvicorn", server)
    before, after, _ = load_both(_fixture(name), name, tmp_path, monkeypatch)
    for module in (before, after):
        runpy.run_path(module.__file__, run_name="__main__")
    (old, old_options), (new, new_options) = served
    assert type(new) is type(old) and new_options == old_options
    assert describe_asgi(new) == describe_asgi(old) and new.debug == old.debug


@pytest.mark.slow
def test_tests_that_configure_the_app_still_pass(tmp_path: Path) -> None:
    """A conftest that overrides a dependency on the module-level app, and a test module that sets
    its state, configure the app `app = create_app()` gives them: the project's own tests pass."""
    import subprocess

    project = tmp_path / "proj"
    shutil.copytree(_fixture("tests_configure_app"), project)
    (project / "pyproject.toml").write_text("[tool.lazify]\n")

    def own_tests() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "tests"],
            cwd=project, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    before = own_tests()
    assert before.returncode == 0 and "2 passed" in before.stdout, before.stdout
    proc = run_lazify("apply", "--yes", "--select", "app-factory", ".", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "app = create_app()" in (project / "svc" / "main.py").read_text()
    after = own_tests()
    assert after.returncode == 0 and "2 passed" in after.stdout, after.stdout


@pytest.mark.slow
@pytest.mark.parametrize("env", [{}, {"ENVIRONMENT": "production", "FORCE_HTTPS": "1"}])
def test_configuration_in_steps_reads_the_same_values(
    env: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The steps that compute `origins`, and the `if` blocks that add middleware, run in the
    factory in their order: the same middleware with the same options, in each environment."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    before, after, text = load_both(_fixture("config_in_steps"), "config_in_steps", tmp_path, monkeypatch)
    assert "\norigins" not in text and "\nsettings = " not in text  # nothing left at module level
    assert describe_asgi(after.app) == describe_asgi(before.app)
    names = [m.cls.__name__ for m in after.app.user_middleware]
    assert ("HTTPSRedirectMiddleware" in names) == bool(env)
    cors = next(m for m in after.app.user_middleware if m.cls.__name__ == "CORSMiddleware")
    assert cors.kwargs["allow_origins"] == (
        ["https://a.example"] if env else ["https://a.example", "http://localhost:3000"]
    )
    assert after.app.state.versions == before.app.state.versions == ["v1", "v2"]
    assert after.create_app().state.versions == ["v1", "v2"]  # a fresh app, configured afresh


@pytest.mark.slow
def test_flask_extensions_are_built_without_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flask-SQLAlchemy 3, Flask-Migrate, Flask-Login and Flask-CORS built from the app become
    module-level objects built without it, initialised in the factory: the same extensions,
    config, routes and responses, with a SQLite database in a temporary directory."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'before.db'}")
    before, after, text = load_both(_fixture("flask_extensions"), "flask_extensions", tmp_path, monkeypatch)
    assert "db = SQLAlchemy()\nmigrate = Migrate(db=db)\nlogin = LoginManager()\n" in text
    assert "    db.init_app(app)\n" in text and "    login.init_app(app)\n" in text
    # The module was imported by load_both with before.db; the rewritten factory reads its own.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'after.db'}")
    fresh = after.create_app()
    old = before.app
    assert sorted(fresh.extensions) == sorted(old.extensions) == ["migrate", "sqlalchemy"]
    assert fresh.extensions["sqlalchemy"] is after.db and fresh.extensions["migrate"].db is after.db
    assert fresh.login_manager is after.login and fresh.login_manager.login_view == "login_page"

    def config(app):
        return {k: v for k, v in describe_flask(app)["config"].items() if k != "SQLALCHEMY_DATABASE_URI"}

    assert config(fresh) == config(old)
    assert describe_flask(fresh)["rules"] == describe_flask(old)["rules"]
    for app, db in ((old, before.db), (fresh, after.db)):
        with app.app_context():
            db.create_all()
    requests = [
        ("POST", "/api/users", {"name": "ann"}), ("POST", "/api/users", {"name": "bob"}),
        ("GET", "/api/users", None), ("GET", "/me", None), ("POST", "/login/2", None), ("GET", "/me", None),
    ]  # fmt: skip

    def responses(app: Any) -> list:
        client = app.test_client()
        out = []
        for method, path, data in requests:
            r = client.open(path, method=method, data=data, headers={"Origin": "https://x.example"})
            out.append(
                (
                    r.status_code,
                    r.data,
                    r.headers.get("Access-Control-Allow-Origin"),
                    r.headers.get("Location"),
                )
            )
        return out

    assert responses(fresh) == responses(old)
    assert (tmp_path / "after.db").stat().st_size > 0
    # A second app shares the one module-level extension object, with its own engine.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'second.db'}")
    second = after.create_app()
    assert (
        second is not fresh and second.extensions["sqlalchemy"] is fresh.extensions["sqlalchemy"] is after.db
    )
    with second.app_context():
        after.db.create_all()
    assert second.test_client().get("/api/users").json == {"names": []}
    assert fresh.test_client().get("/api/users").json == {"names": ["ann", "bob"]}
