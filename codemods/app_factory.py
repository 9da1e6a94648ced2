"""LZY004 app-factory: app creation, middleware and routes move into ``create_app()``."""

from __future__ import annotations

import re
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import QualifiedNameProvider, ScopeProvider

from codemods import _cst as u
from codemods._api import Analysis, Blocked, Codemod, FileContext, Finding, Location, Safety, Settings, Span
from codemods._app_factory.blockers import Blockers
from codemods._app_factory.classify import Classify
from codemods._app_factory.extensions import Extensions
from codemods._app_factory.plan import FACTORY, LAZY_CLASS, Plan
from codemods._app_factory.rewrite import rewrite
from codemods._app_factory.syntax import (  # noqa: F401  (APP_CLASSES, REGISTERING, RUNS: part of this module's API)
    APP_CLASSES,
    FROM_OBJECT_SELF,
    REGISTERING,
    RUNS,
    _assigned_call_with,
    _blocks,
    _bound_names,
    _last_attr,
    _mutates,
    _names_in,
    _root,
)
from codemods._app_factory.values import Values
from codemods._exports import exports


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

    _PREFILTER = re.compile(r"\b(?:FastAPI|Starlette|Flask)\b")

    def prefilter(self, text: str, settings: Settings) -> bool:
        return self._PREFILTER.search(text) is not None

    def analyze(self, ctx: FileContext) -> Analysis:
        return _Analyzer(ctx, self.code).run()

    def apply(self, ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
        plan = analysis.plan
        if not isinstance(plan, Plan) or plan.app not in keys:
            return ctx.module
        return rewrite(ctx, plan)


# ---------------------------------------------------------------------------------------------
# Analysis


class _Analyzer(Classify, Extensions, Values, Blockers):
    def __init__(self, ctx: FileContext, code: str) -> None:
        self.ctx = ctx
        self.code = code
        self.module = ctx.module
        self.body = list(ctx.module.body)
        meta = ctx.wrapper.resolve_many([QualifiedNameProvider, ScopeProvider])
        self.qnames = meta[QualifiedNameProvider]
        self.positions = ctx.positions
        self.gscope = meta[ScopeProvider][ctx.module]
        self._top: dict[int, int] = {}
        #: name -> (line, why) of what keeps a value at module level (see movable_values)
        self.kept: dict[str, tuple[cst.CSTNode | Location | None, str]] = {}

    # -- small helpers -----------------------------------------------------------------------

    @property
    def parents(self) -> Mapping[cst.CSTNode, cst.CSTNode]:
        return self.ctx.parents

    def top(self, node: cst.CSTNode) -> int:
        return u.top_level_index(node, self.parents, self.module, self._top)

    def deferred(self, node: cst.CSTNode) -> bool:
        return u.in_function_body(node, self.parents)

    def in_decorators(self, node: cst.CSTNode, stmt: cst.CSTNode, count: int) -> bool:
        """Inside one of the first ``count`` decorators of ``stmt``."""
        decorators = list(getattr(stmt, "decorators", ()))[:count]
        child = node
        while child is not None and child is not stmt:
            if any(child is d for d in decorators):
                return True
            child = self.parents.get(child)
        return False

    def qualified(self, node: cst.CSTNode) -> set[str]:
        found = self.qnames.get(node, ())
        if callable(found):  # LibCST computes qualified names lazily
            found = found()
        return {q.name for q in found}

    def refs(self, name: str) -> list[cst.Name]:
        out = []
        for a in self.ctx.in_source_order(self.gscope.assignments[name]):
            for acc in self.ctx.in_source_order(a.references):
                if isinstance(acc.node, cst.Name):
                    out.append(acc.node)
        return out

    def bound_names(self) -> set[str]:
        return {a.name for a in self.gscope.assignments}

    # -- the run -----------------------------------------------------------------------------

    def find_apps(self) -> list[tuple[int, str, cst.Call, str]]:
        apps = []
        for i, stmt in enumerate(self.body):
            assigned = u.single_assignment(stmt)
            if assigned is None or not isinstance(assigned[1], cst.Call):
                continue
            target, value = assigned
            kinds = {APP_CLASSES[q] for q in self.qualified(value.func) if q in APP_CLASSES}
            if kinds:
                apps.append((i, target.value, value, kinds.pop()))
        return apps

    def run(self) -> Analysis:
        apps = self.find_apps()
        if not apps:
            return Analysis([])
        findings = []
        # Sub-applications mounted on another app (also inside an existing factory, as after a
        # rewrite) stay as they are; the app nothing mounts is the one to move.
        mounted = self._mounted({a[1] for a in apps})
        apps = [a for a in apps if a[1] not in mounted]
        if not apps:
            return Analysis([])
        if len(apps) > 1:
            for i, name, _call, _kind in apps:
                findings.append(self.blocked(name, self.body[i], "the module builds more than one app"))
            return Analysis(findings)
        index, name, call, interface = apps[0]
        stmt = self.body[index]
        try:
            plan, related = self.plan(index, name, call, interface)
        except Blocked as b:
            return Analysis([self.blocked(name, stmt, b.reason, b.node, b.note)])
        unsafe = []
        if plan.mode == "lazy":
            unsafe.append(
                (
                    self.ctx.span(stmt),
                    f"`{name}` is a stand-in that builds the app on first use (`isinstance` checks see `{LAZY_CLASS}`)",
                )
            )
        if plan.mode == "none":
            unsafe.append(
                (
                    self.ctx.span(stmt),
                    f"the module no longer has `{name}`: serve `{FACTORY}()` with the server's factory option",
                )
            )
        for i, role in sorted(plan.roles.items()):
            if role == "setup":
                unsafe.append(
                    (self.ctx.span(self.body[i]), "runs once before the first request instead of at import")
                )
            if role == "extension" and plan.extensions[i].unsafe:
                unsafe.append((self.ctx.span(self.body[i]), plan.extensions[i].unsafe))
        where = {
            "eager": f"`{name} = {FACTORY}()` keeps",
            "lazy": f"`{name}` builds it on first use;",
            "none": "no",
        }[plan.mode]
        tail = {
            "eager": " a module-level app",
            "lazy": " nothing is built at import",
            "none": " module-level app remains",
        }[plan.mode]
        findings.append(
            Finding(
                code=self.code,
                message=f"`{name}` is built and configured at import; move it into `{FACTORY}()` ({where}{tail})",
                span=self.ctx.span(stmt),
                fix_key=name,
                safety=Safety.UNSAFE if unsafe else Safety.SAFE,
                help=f"Build the app in `def {FACTORY}() -> {plan.returns}`",
                unsafe_because=tuple(unsafe),
                related=tuple(related),
            )
        )
        return Analysis(findings, plan)

    def _mounted(self, names: set[str]) -> set[str]:
        """Apps passed to a call on another app (``app.mount("/sub", subapi)``), or to any
        ``.mount(...)``, as in an existing ``create_app()``."""
        out: set[str] = set()

        class V(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                r = _root(node.func)
                if (r is not None and r.value in names) or _last_attr(node.func) == "mount":
                    others = names - {r.value} if r is not None else names
                    for a in node.args:  # also wrapped: app.mount("/v1", WSGIMiddleware(flask_app))
                        out.update(n.value for n in _names_in(a.value) if n.value in others)

        for stmt in self.body:
            stmt.visit(V())
        return out

    def blocked(
        self,
        name: str,
        stmt: cst.CSTNode,
        reason: str,
        at: cst.CSTNode | Location | None = None,
        note: str | None = None,
    ) -> Finding:
        related: tuple = ()
        if isinstance(at, Location):
            related = ((at, note or reason),)
        elif at is not None:
            related = ((Span(self.ctx.line(at)), note or reason),)
        return Finding(
            code=self.code,
            message=f"`{name}` stays built at import: {reason}",
            span=self.ctx.span(stmt),
            reason=reason,
            related=related,
        )

    def plan(self, index: int, name: str, call: cst.Call, interface: str) -> tuple[Plan, list]:
        settings = self.ctx.settings
        mode = settings.module_app
        returns = cst.Module(body=[]).code_for_node(call.func)
        bound = self.bound_names()
        for taken in (FACTORY, *((LAZY_CLASS,) if mode == "lazy" else ())):
            if taken in bound:
                a = self.ctx.in_source_order(self.gscope.assignments[taken])[0]
                node = getattr(a, "node", None)
                raise Blocked(
                    f"the module already defines `{taken}`",
                    node if isinstance(node, cst.CSTNode) else None,
                    "defined here",
                )
        assignments = list(self.gscope.assignments[name])
        if len(assignments) > 1:
            nodes = sorted(
                (a.node for a in assignments if isinstance(getattr(a, "node", None), cst.CSTNode)),
                key=self.ctx.line,
            )
            here = self.ctx.line(self.body[index])
            other = next((n for n in nodes if self.ctx.line(n) != here), None)
            raise Blocked(f"`{name}` is rebound", other, f"`{name}` is bound again here")
        # Another module that configures the app at import would be missing from the factory.
        # Tests configure the module-level app for themselves (`dependency_overrides`,
        # `app.config["TESTING"] = True`): `app = create_app()` still gives them that app.
        elsewhere = self.ctx.project.configured_at_import.get(name, ())
        for loc in elsewhere:
            if not loc.in_tests:
                raise Blocked(
                    f"another module configures `{name}` at import, so `{FACTORY}()` would build an app without it",
                    loc,
                    f"configures `{name}` at import",
                )
        if elsewhere and mode != "eager":
            instead = "removes" if mode == "none" else "replaces with a stand-in built on first use"
            raise Blocked(
                f'a test configures the module-level `{name}` at import, which `module-app = "{mode}"` {instead}',
                elsewhere[0],
                f"configures `{name}` at import",
            )
        for loc, _how in self.ctx.project.refs_to(name):
            if mode == "none":
                raise Blocked(
                    f'another module imports `{name}`, which `module-app = "none"` removes',
                    loc,
                    f"imports `{name}`",
                )

        if mode == "none" and name in exports(self.module):
            raise Blocked(f'`{name}` is in `__all__`, and `module-app = "none"` removes it')
        plan = Plan(app=name, interface=interface, returns=returns, create=index, mode=mode)
        plan.roles[index] = "move"
        from_object_self = None
        for i in range(index + 1, len(self.body)):
            role, count = self.classify(self.body[i], name, interface)
            if role is not None:
                plan.roles[i] = role
                if role == "register":
                    plan.registering[i] = count
            elif i not in plan.roles:
                split = self._extension(self.body[i], name)
                if split is not None:
                    plan.roles[i] = "extension"
                    plan.extensions[i] = split
            if role == "move" and from_object_self is None and self._reads_own_globals(self.body[i], name):
                from_object_self = i
        self.movable_values(plan, from_object_self)
        related = self.check(plan, from_object_self)
        return plan, related

    def moved_ref(self, node: cst.CSTNode, plan: Plan, values: set[int]) -> bool:
        """Does this reference run inside the factory after the rewrite?"""
        i = self.top(node)
        role = plan.roles.get(i)
        if role in ("move", "setup") or i in values:
            return True
        if role == "register":
            return self.in_decorators(node, self.body[i], plan.registering[i])
        if role == "extension":
            return isinstance(node, cst.Name) and node.value == plan.app
        return False

    def _factory_nodes(self, plan: Plan, i: int) -> list[cst.CSTNode]:
        """What of statement ``i`` runs in the factory."""
        role = plan.roles[i]
        if role == "register":
            return list(self.body[i].decorators[: plan.registering[i]])  # type: ignore[attr-defined]
        if role == "extension":
            return [plan.extensions[i].init]
        return [self.body[i]]
