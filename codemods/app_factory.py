"""LZY004 app-factory: app creation, middleware and routes move into ``create_app()``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from codemods._api import Analysis, Codemod, FileContext, Settings

if TYPE_CHECKING:
    import libcst as cst

# The analyzer and the rewrite need LibCST and are imported where they run: the prefilter runs
# on every file, and a run whose results all come from the cache never imports LibCST.


class AppFactory(Codemod):
    """Move the module-level app, its middleware, handlers and routes into `create_app()`.

    ## What it does
    Finds a module-level `app = FastAPI(...)`, `Starlette(...)` or `Flask(...)` and the
    module-level statements that configure it: `add_middleware`, `middleware("http")(fn)`,
    `include_router`, `mount`, `register_blueprint`, `config.from_object(...)`, extension
    `init_app(app)` calls, `app.state...` assignments, and decorators such as `@app.get(...)`,
    `@app.middleware("http")`, `@app.exception_handler(...)`, `@app.route(...)`,
    `@app.errorhandler(...)`. It moves them, in their order, into `def create_app()`, which
    builds and returns a new app on each call. Decorated functions stay module-level functions
    under their names; only their registration moves (`app.get("/health")(health)` runs the
    decorator's own code, so every route option and the endpoint name are kept). Values
    computed only to configure the app move in too, in their order: CORS origins read from
    the environment, a value computed in steps or rebound under an `if`, `settings =
    get_settings()`, and imports that exist only to register routers; so do `if`, `try` and
    `for` blocks that configure the app (`if FORCE_HTTPS: app.add_middleware(...)`). A value
    also read outside the factory stays at module level when it is computed in full before
    the configuration first reads it; otherwise the rewrite is blocked, naming that read.

    `module-app` (`--module-app`) chooses what stays at module level:
    `eager` (default) keeps `app = create_app()`, for servers and platforms that look for a
    module-level `app`; `lazy` binds `app` to a small ASGI/WSGI callable that builds the real
    app on the first request or attribute access; `none` drops it (for
    `uvicorn --factory module:create_app` or `flask --app 'module:create_app()'`).
    `if __name__ == "__main__":` never runs at import: what it uses (`uvicorn.run(app)`) stays
    after the factory, and with `none` the block builds its own `app = create_app()`.

    A Flask extension built from the app (`db = SQLAlchemy(app)`, `migrate = Migrate(app, db)`,
    `login = LoginManager(app)`) stays a module-level object built without it (`db =
    SQLAlchemy()`: models on `db.Model`, `@login.user_loader` and blueprints that import `db`
    keep working), and `db.init_app(app, ...)`, with what the constructor would have passed
    it, runs in the factory where the extension was built. Whether that is the same is read
    from the installed extension's source (never imported): its `__init__` must do nothing
    with the app but call `self.init_app(app, ...)` at its end. A bare `CORS(app)` moves into
    the factory as it is.

    In a Flask module, a `with app.app_context():` block (schema creation, `db.create_all()`)
    does not move into the factory, which still runs at import: the factory registers it to
    run once, before the first request.

    Moved statements keep their formatting, four spaces deeper; a line that then runs past the
    project's line length is the formatter's to rewrap (`--format black`).

    The rewrite is blocked, with the line, when another module configures the app at import
    (its routes would be missing from `create_app()`; a test or `conftest.py` that sets
    `app.dependency_overrides[...]` or `app.config[...]` configures the module-level app, which
    blocks only `lazy` and `none`), when `app` is rebound, when a statement
    that stays at module level uses the app before the factory could have built it (an
    extension whose constructor does more with the app than `init_app`, or that lazify can't
    read in the project's environment), when a decorator on `app` returns something
    other than the function (`@app.cli.command()`), and when the factory would see something
    else than the module did: a function it calls reads the module-level `app`, a registered
    function's name is bound more than once, a value it reads is rebound after the factory
    first reads it and also used outside the factory, or a statement that stays
    changes what a moved statement read (`os.environ[...] = ...` between configuration lines).

    ## Why is this bad?
    A module-level app is built, with all its middleware and routers, while the module is
    imported: on a serverless cold start, in every test and CLI that imports the module. An
    application factory builds it when asked, gives tests a fresh app each time, and is what
    `uvicorn --factory` and `flask --app 'module:create_app()'` expect.

    ## Example
    ```python
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"])


    @app.get("/health")
    def health():
        return {"status": "ok"}
    ```

    Use instead:
    ```python
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware


    def health():
        return {"status": "ok"}


    def create_app() -> FastAPI:
        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=["*"])
        app.get("/health")(health)
        return app


    app = create_app()
    ```

    ## Fix safety
    Safe with `module-app = "eager"`: the same app is built from the same statements in the
    same order; only statements that configure it run after the module's other definitions.
    Unsafe with `lazy` (`app` is a stand-in until the first request, so `isinstance(app,
    FastAPI)` is false) and with `none` (the module has no `app`), and unsafe when a Flask
    `app_context()` block moves to the first request (code that uses the database outside a
    request finds no tables until then). An extension whose constructor also keeps the app
    (`self.app = app`, as Flask-SQLAlchemy 2.x does) is unsafe: built without it, the object
    finds the app only in an app context.
    """

    code = "LZY004"
    name = "app-factory"
    summary = "Move app creation, middleware and routes into an application factory `create_app()`"
    version = 2

    _WORDS = ("FastAPI", "Starlette", "Flask")
    _PREFILTER = re.compile(r"\b(?:FastAPI|Starlette|Flask)\b")

    def prefilter(self, text: str, settings: Settings) -> bool:
        # The words first (a substring search is far cheaper than the pattern's word test).
        return any(w in text for w in self._WORDS) and self._PREFILTER.search(text) is not None

    def analyze(self, ctx: FileContext) -> Analysis:
        from codemods._app_factory.analyzer import Analyzer

        return Analyzer(ctx, self.code).run()

    def apply(self, ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
        from codemods._app_factory.plan import Plan
        from codemods._app_factory.rewrite import rewrite

        plan = analysis.plan
        if not isinstance(plan, Plan) or plan.app not in keys:
            return ctx.module
        return rewrite(ctx, plan)
