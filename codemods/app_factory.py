"""LZY004 app-factory: app creation, middleware and routes move into ``create_app()``."""

from __future__ import annotations

import re
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import QualifiedNameProvider, ScopeProvider

from codemods import _cst as u
from codemods._api import Analysis, Blocked, Codemod, FileContext, Finding, Location, Safety, Settings, Span
from codemods._app_factory.plan import FACTORY, LAZY_CLASS, Plan, Split
from codemods._app_factory.rewrite import rewrite
from codemods._exports import exports

#: The application classes, by qualified name, and the server interface their instances speak.
APP_CLASSES = {
    "fastapi.FastAPI": "asgi",
    "fastapi.applications.FastAPI": "asgi",
    "starlette.applications.Starlette": "asgi",
    "flask.Flask": "wsgi",
    "flask.app.Flask": "wsgi",
}
#: ``@app.<method>`` decorators that register the function and return it unchanged, so the
#: module-level name stays the plain function when the registration moves into the factory.
REGISTERING = frozenset({
    # FastAPI and Starlette
    "get", "put", "post", "delete", "options", "head", "patch", "trace", "api_route",
    "websocket", "route", "websocket_route", "middleware", "exception_handler", "on_event",
    # Flask
    "before_request", "after_request", "teardown_request", "teardown_appcontext", "errorhandler",
    "context_processor", "url_value_preprocessor", "url_defaults", "template_filter",
    "template_global", "template_test", "shell_context_processor", "endpoint",
})  # fmt: skip
#: Calls that serve the app rather than configure it.
RUNS = frozenset({"run", "serve", "run_simple"})
FROM_OBJECT_SELF = re.compile(r"^(?:__name__|sys\.modules\[__name__\])$")


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


def _root(node: cst.BaseExpression) -> cst.Name | None:
    """The name at the bottom of ``a.b(...)[i].c``."""
    while True:
        if isinstance(node, cst.Attribute):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Subscript):
            node = node.value
        elif isinstance(node, cst.Name):
            return node
        else:
            return None


def _last_attr(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Call):
        node = node.func
    return node.attr.value if isinstance(node, cst.Attribute) else None


class _Analyzer:
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
                related=tuple(unsafe) + tuple(related),
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

    def classify(self, stmt: cst.BaseStatement, app: str, interface: str) -> tuple[str | None, int]:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            decorators = list(stmt.decorators)
            count = 0
            for d in decorators:
                r = _root(d.decorator)
                if r is None or r.value != app:
                    break
                count += 1
            for d in decorators[count:]:
                r = _root(d.decorator)
                if r is not None and r.value == app:
                    raise Blocked(
                        "a decorator on the app sits below another decorator, which wraps what it registers",
                        d,
                        "registers the function before the decorator above wraps it",
                    )
            if count == 0:
                return None, 0
            if isinstance(stmt, cst.ClassDef):
                raise Blocked("a class is registered with a decorator on the app", stmt, "registered here")
            for d in decorators[:count]:
                method = _last_attr(d.decorator)
                if method not in REGISTERING:
                    code = cst.Module(body=[]).code_for_node(d.decorator)
                    raise Blocked(
                        f"`@{code}` may return something other than the function",
                        d,
                        f"`{stmt.name.value}` would be the plain function instead of what this returns",
                    )
            return "register", count
        if self._configures(stmt, app) or self._configuring_block(stmt, app):
            return "move", 0
        if (
            interface == "wsgi"
            and isinstance(stmt, cst.With)
            and len(stmt.items) == 1
            and isinstance(stmt.items[0].item, cst.Call)
            and _last_attr(stmt.items[0].item) == "app_context"
            and isinstance(_root(stmt.items[0].item), cst.Name)
            and _root(stmt.items[0].item).value == app  # type: ignore[union-attr]
            and stmt.items[0].asname is None
            and stmt.asynchronous is None
        ):
            return "setup", 0
        return None, 0

    def _configures(self, stmt: cst.BaseStatement, app: str) -> bool:
        """A statement whose only effect is on the app: calls on it, calls that take it,
        assignments to its attributes or items (and ``if`` blocks of only those)."""
        if isinstance(stmt, cst.If):
            if u.is_main_guard(stmt):
                return False  # runs the app; stays after the factory
            blocks = [stmt.body]
            orelse = stmt.orelse
            while orelse is not None:
                blocks.append(orelse.body)
                orelse = orelse.orelse if isinstance(orelse, cst.If) else None
            return all(
                isinstance(b, cst.IndentedBlock) and b.body and all(self._configures(s, app) for s in b.body)
                for b in blocks
            )
        if not isinstance(stmt, cst.SimpleStatementLine):
            return False
        for small in stmt.body:
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                c = small.value
                if _last_attr(c.func) in RUNS or (isinstance(c.func, cst.Name) and c.func.value in RUNS):
                    return False  # `app.run()`, `uvicorn.run(app)`: serving, not configuring
                r = _root(c.func)
                if r is not None and r.value == app:
                    continue
                if any(isinstance(a.value, cst.Name) and a.value.value == app for a in c.args):
                    continue
                return False
            if isinstance(small, (cst.Assign, cst.AugAssign)):
                targets = (
                    [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                )
                if all(
                    isinstance(t, (cst.Attribute, cst.Subscript)) and (_root(t) is not None and _root(t).value == app)  # type: ignore[union-attr]
                    for t in targets
                ):
                    continue
            return False
        return True

    def _configuring_block(self, stmt: cst.BaseStatement, app: str) -> bool:
        """An ``if``/``try``/``for`` block that uses the app when it runs (``if FORCE_HTTPS:
        app.add_middleware(...)``, ``try: from .extra import router ... else:
        app.include_router(router)``): it moves as a whole; what it binds is checked later."""
        if not isinstance(stmt, (cst.If, cst.Try, cst.For)) or (
            isinstance(stmt, cst.For) and stmt.asynchronous
        ):
            return False
        if isinstance(stmt, cst.If) and (u.is_main_guard(stmt) or u.is_type_checking_test(stmt.test)):
            return False
        return any(n.value == app for n in self._executed_names(stmt))

    def _reads_own_globals(self, stmt: cst.BaseStatement, app: str) -> bool:
        """``app.config.from_object(__name__)``: Flask reads the module's upper-case globals."""
        found = False

        class V(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                nonlocal found
                if _last_attr(node.func) == "from_object" and node.args:
                    if FROM_OBJECT_SELF.match(cst.Module(body=[]).code_for_node(node.args[0].value)):
                        found = True

        stmt.visit(V())
        return found

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

    def _extension(self, stmt: cst.BaseStatement, app: str) -> Split | None:
        """``db = SQLAlchemy(app, ...)`` of an installed class whose constructor only passes
        the app to ``init_app``: split into ``db = SQLAlchemy(...)`` and, in the factory,
        ``db.init_app(app, ...)`` with what the constructor would have passed it."""
        target = _assigned_call_with(stmt, app)
        if target is None:
            return None
        call = stmt.body[0].value  # type: ignore[attr-defined]
        found = [
            self.ctx.project.extensions[q]
            for q in sorted(self.qualified(call.func))
            if q in self.ctx.project.extensions
        ]
        if not found:
            return None
        ext = found[0]
        short = cst.Module(body=[]).code_for_node(call.func)
        if ext.verdict == "blocked":
            raise Blocked(
                f"`{target}` is built from the module-level app, and lazify can't tell that `{short}()` plus "
                f"`{target}.init_app({app})` is the same: {ext.reason}",
                stmt,
                f"`{target}` is built from `{app}`",
            )

        def blocked(why: str) -> Blocked:
            return Blocked(
                f"`{target} = {short}({app}, ...)` can't be split into `{short}(...)` and `{target}.init_app({app})`: {why}",
                stmt,
                f"`{target}` is built from `{app}`",
            )

        given: dict[str, cst.BaseExpression] = {}
        extra: list[cst.Arg] = []  # keywords that go to the constructor's **kwargs
        for pos, arg in enumerate(call.args):
            if arg.star:
                raise blocked(f"`{arg.star}` arguments")
            if arg.keyword is None:
                if pos >= len(ext.params):
                    raise blocked("more positional arguments than it takes")
                given[ext.params[pos]] = arg.value
            elif arg.keyword.value in ext.params:
                given[arg.keyword.value] = arg.value
            elif ext.var_keyword is not None:
                extra.append(arg)
            else:
                raise blocked(f"`{short}()` takes no `{arg.keyword.value}`")
        app_param = ext.params[0]
        if not (isinstance(given.get(app_param), cst.Name) and given[app_param].value == app):  # type: ignore[attr-defined]
            return None  # the app is passed as something else than the app
        defaults = dict(ext.defaults)
        bound = self.bound_names()

        def simple(e: cst.BaseExpression) -> bool:
            """Computed twice, it gives the same value and does nothing else: a name, an
            attribute, a literal (also a dict or list of them)."""
            if isinstance(e, (cst.Name, cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
                return True
            if isinstance(e, cst.Attribute):
                return simple(e.value)
            if isinstance(e, (cst.List, cst.Tuple, cst.Set)):
                return all(isinstance(x, cst.Element) and simple(x.value) for x in e.elements)
            if isinstance(e, cst.Dict):
                return all(
                    isinstance(x, cst.DictElement) and simple(x.key) and simple(x.value) for x in e.elements
                )
            return False

        for q in ext.not_none:
            e = given.get(q)
            if e is None or not (
                (isinstance(e, cst.Name) and e.value in bound and self._bound_to_call(e.value))
                or (simple(e) and not isinstance(e, (cst.Name, cst.Attribute)))
            ):
                raise blocked(
                    f"`{short}()` calls `init_app` only when `{q}` is not None, which lazify can't tell here"
                )
        init_args: list[cst.Arg] = [cst.Arg(cst.Name(app))]
        pending: list[cst.Arg] = []
        for pos, q in enumerate(ext.init_args):
            if q.startswith("**"):
                for a in extra:
                    if not simple(a.value):
                        raise blocked(f"`{a.keyword.value}` would be computed twice")  # type: ignore[union-attr]
                    init_args += [*pending, a.with_changes(comma=cst.MaybeSentinel.DEFAULT)]
                    pending = []
                continue
            if q in given:
                if not simple(given[q]):
                    raise blocked(f"`{q}` would be computed twice")
                init_args += [*pending, cst.Arg(given[q])]
                pending = []
                continue
            default = defaults.get(q)
            if default is None:
                raise blocked(f"the default of `{q}` is not a literal")
            value = cst.Arg(cst.parse_expression(default))
            if pos < len(ext.init_defaults) and ext.init_defaults[pos] == default:
                pending.append(value)  # the same default: left out unless a later argument follows
            else:
                init_args += [*pending, value]
                pending = []
        kept: list[cst.Arg] = []
        reads: set[str] = set()
        for pos, arg in enumerate(call.args):
            name = arg.keyword.value if arg.keyword is not None else ext.params[pos]
            if name == app_param:
                continue
            if arg.keyword is None:
                arg = arg.with_changes(keyword=cst.Name(name), equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                ))  # fmt: skip
            if name not in ext.stored_only:
                reads.update(n.value for n in _names_in(arg.value))
            kept.append(arg)
        if kept:
            kept[-1] = kept[-1].with_changes(comma=call.args[-1].comma)
        small = stmt.body[0]  # type: ignore[attr-defined]
        module = stmt.with_changes(body=[small.with_changes(value=call.with_changes(args=kept))])  # type: ignore[attr-defined]
        init = cst.SimpleStatementLine(
            body=[
                cst.Expr(cst.Call(func=cst.Attribute(cst.Name(target), cst.Name("init_app")), args=init_args))
            ]
        )
        return Split(target, module, init, reads, ext.reason if ext.verdict == "unsafe" else None)

    def _bound_to_call(self, name: str) -> bool:
        """``name`` is bound once, at module level, to what a call returns (an object, not None)."""
        assignments = list(self.gscope.assignments[name])
        if len(assignments) != 1 or not isinstance(getattr(assignments[0], "node", None), cst.CSTNode):
            return False
        assigned = u.single_assignment(self.body[self.top(assignments[0].node)])
        return assigned is not None and assigned[0].value == name and isinstance(assigned[1], cst.Call)

    def movable_values(self, plan: Plan, from_object_self: int | None) -> None:
        """Statements that compute values only the factory reads move into it, in order:
        assignments (also a name bound in steps: ``origins = ...`` then rebound under an
        ``if``), ``if``/``try``/``for`` blocks of assignments, and imports after the app. A
        name moves with all of its bindings or not at all. What a block that configures the
        app binds must move with it: a read outside the factory blocks, naming that read."""
        view = self.ctx.project
        keep_all = bool(view.star_imported_by) or self._uses_globals_dict()
        exported = exports(self.module)
        bound = self._bound_by_statement()
        #: statement -> the names it binds; `values` are the ones that may move
        candidates: dict[int, set[str]] = {}
        for i, stmt in enumerate(self.body):
            if i == plan.create:
                continue
            if i in plan.roles:
                if plan.roles[i] == "move" and bound.get(i):
                    candidates[i] = bound[i]  # a block that configures the app: must move
                continue
            if self._computes_value(i, stmt, plan) and bound.get(i):
                candidates[i] = bound[i]
        #: name -> (line, why) of what keeps it at module level
        kept: dict[str, tuple[cst.CSTNode | Location | None, str]] = {}

        def keeps(n: str) -> tuple[cst.CSTNode | Location | None, str] | None:
            if keep_all:
                return None, "the module is star-imported or reads `globals()`"
            if n == plan.app:
                return None, f"`{n}` is the app"
            if n in exported or n.startswith("__"):
                return None, f"`{n}` is part of the module's interface"
            if from_object_self is not None and n.isupper():
                return None, "`config.from_object(__name__)` reads it from the module"
            for loc, how in view.refs_to(n):
                return loc, how
            return None

        values = set(candidates)
        for names in candidates.values():
            for n in names:
                why = keeps(n)
                if why is not None:
                    kept.setdefault(n, why)
        changed = True
        while changed:
            changed = False
            for i in sorted(values):
                for n in sorted(candidates[i]):
                    why = kept.get(n)
                    if why is None:
                        why = self._kept_by(n, plan, values)
                    if why is not None:
                        kept.setdefault(n, why)
                        values.discard(i)
                        changed = True
                        break
        for i in sorted(candidates):
            if i in plan.roles and i not in values:
                n = next(n for n in sorted(candidates[i]) if n in kept)
                line, why = kept[n]
                raise Blocked(
                    f"`{n}` is bound by a block that configures `{plan.app}` (line {self.ctx.line(self.body[i])}), "
                    f"so it would become local to `{FACTORY}()`, but it is also used outside it",
                    line,
                    why,
                )
        for i in values:
            plan.roles[i] = "move"
        self.kept = kept

    def _kept_by(
        self, n: str, plan: Plan, values: set[int]
    ) -> tuple[cst.CSTNode | Location | None, str] | None:
        """Why ``n`` can't become a local of the factory: a binding that stays, or a read
        outside it (the first, in source order); None when nothing keeps it."""
        for a in self.ctx.in_source_order(self.gscope.assignments[n]):
            node = getattr(a, "node", None)
            if not isinstance(node, cst.CSTNode):
                return None, f"`{n}` is bound outside the module's statements"
            i = self.top(node)
            if self.deferred(node) or (plan.roles.get(i) != "move" and i not in values):
                return node, f"`{n}` is bound here, at module level"
        for r in self.refs(n):
            if not self.moved_ref(r, plan, values):
                return r, f"reads `{n}` outside the factory"
        configuring = any(
            plan.roles.get(self.top(a.node)) == "move"
            for a in self.gscope.assignments[n]
            if isinstance(getattr(a, "node", None), cst.CSTNode)
        )
        if not configuring and not self.refs(n):
            return None, f"nothing in the factory reads `{n}`"
        return None

    def _bound_by_statement(self) -> dict[int, set[str]]:
        """Top-level statement -> the module-level names it binds."""
        out: dict[int, set[str]] = {}
        for a in self.gscope.assignments:
            node = getattr(a, "node", None)
            if isinstance(node, cst.CSTNode):
                out.setdefault(self.top(node), set()).add(a.name)
        return out

    def _computes_value(self, i: int, stmt: cst.BaseStatement, plan: Plan) -> bool:
        """Assignments, and blocks of only assignments (``if``/``try``/``for``), that may
        move; imports only after the app (the ones that register routers at the bottom)."""
        if isinstance(stmt, cst.SimpleStatementLine):
            if len(stmt.body) != 1:
                return False
            small = stmt.body[0]
            if isinstance(small, cst.Assign):
                return all(isinstance(t.target, cst.Name) for t in small.targets)
            if isinstance(small, cst.AnnAssign):
                return small.value is not None and isinstance(small.target, cst.Name)
            if isinstance(small, cst.AugAssign):
                return isinstance(small.target, cst.Name)
            if isinstance(small, (cst.Import, cst.ImportFrom)) and i > plan.create:
                if isinstance(small, cst.ImportFrom) and (
                    isinstance(small.names, cst.ImportStar) or u.dotted_name(small.module) == "__future__"
                ):
                    return False
                return True
            return False
        if isinstance(stmt, cst.If) and (u.is_main_guard(stmt) or u.is_type_checking_test(stmt.test)):
            return False
        if isinstance(stmt, (cst.If, cst.Try, cst.For)) and not (
            isinstance(stmt, cst.For) and stmt.asynchronous
        ):
            return all(self._only_assigns(b) for b in _blocks(stmt))
        return False

    def _only_assigns(self, block: cst.BaseSuite) -> bool:
        if not isinstance(block, cst.IndentedBlock):
            return False
        for stmt in block.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar):
                        return False
                    if not isinstance(
                        small,
                        (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Import, cst.ImportFrom, cst.Pass),
                    ):
                        return False
            elif isinstance(stmt, (cst.If, cst.Try, cst.For)):
                if not all(self._only_assigns(b) for b in _blocks(stmt)):
                    return False
            else:
                return False
        return True

    def _uses_globals_dict(self) -> bool:
        return bool(re.search(r"\b(?:globals|vars|locals)\s*\(", self.module.code))

    def check(self, plan: Plan, from_object_self: int | None) -> list:
        """Block what the factory would change; list what keeps using the module-level app.
        Each blocker below raises :class:`Blocked` for one way the rewrite could change
        behaviour."""
        users, related = self._app_users_at_module_level(plan)
        read_by_factory = self._names_read(plan)
        self._factory_calls_an_app_user(plan, users)
        self._registered_function_rebound(plan)
        self._rebound_after_the_factory_reads_it(plan, read_by_factory)
        self._stays_between_configuration_lines(plan, read_by_factory, set(users))
        self._bound_after_from_object(from_object_self)
        return related

    def _app_users_at_module_level(self, plan: Plan) -> tuple[dict[str, cst.CSTNode], list]:
        """Code that stays at module level and uses the app: functions may (once
        ``app = create_app()`` ran), the ``__main__`` guard after the configuration may; what
        runs at import before the factory would have built the app may not."""
        app = plan.app
        related = []
        last = max(plan.roles)
        # Functions that use the app when called: fine once `app = create_app()` ran.
        users: dict[str, cst.CSTNode] = {}
        for ref in self.refs(app):
            if self.moved_ref(ref, plan, set()):
                continue
            i = self.top(ref)
            stmt = self.body[i]
            if self.deferred(ref) and isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                if plan.mode == "none":
                    raise Blocked(
                        f'`{stmt.name.value}` uses `{app}`, which `module-app = "none"` removes',
                        ref,
                        f"uses `{app}`",
                    )
                users.setdefault(stmt.name.value, ref)
                continue
            if self._under_main_guard(ref, stmt):
                # Runs only as a script, after the whole module: `app = create_app()` has run.
                if i < last:
                    raise Blocked(
                        f'`if __name__ == "__main__":` uses `{app}` before the app\'s configuration ends, '
                        f"so as a script it would run before `{FACTORY}()` is called",
                        ref,
                        f"uses `{app}`",
                    )
                if plan.mode == "none":
                    plan.main_guard = i  # the script builds its own app
                continue
            if i < last:
                value = _assigned_call_with(stmt, app)
                if value:
                    raise Blocked(
                        f"`{value}` is built from the module-level app before `{FACTORY}()` would have built it "
                        f"(a Flask extension: build it without `{app}` and call `{value}.init_app({app})` in the factory)",
                        ref,
                        f"`{value}` is built from `{app}`",
                    )
                raise Blocked(
                    f"a statement that stays at module level uses `{app}` before `{FACTORY}()` would have built it",
                    ref,
                    f"uses `{app}`",
                )
            if plan.mode == "none":
                raise Blocked(
                    f'module-level code uses `{app}`, which `module-app = "none"` removes',
                    ref,
                    f"uses `{app}`",
                )
        for fname, ref in sorted(users.items(), key=lambda kv: self.ctx.line(kv[1])):
            related.append(
                (
                    Location(self.ctx.path, self.ctx.line(ref)),
                    f"`{fname}` keeps using the module-level `{app}`",
                )
            )
        return users, related

    def _factory_calls_an_app_user(self, plan: Plan, users: dict[str, cst.CSTNode]) -> None:
        """The factory calls a function that reads the module-level app before it exists."""
        app = plan.app
        app_users = set(users)
        for n in sorted(self._called_by_factory(plan)):
            if n in app_users:
                raise Blocked(
                    f"the factory calls `{n}`, which reads the module-level `{app}` before `{FACTORY}()` returns it",
                    users[n],
                    f"`{n}` reads `{app}`",
                )

    def _registered_function_rebound(self, plan: Plan) -> None:
        """A registered function's name is bound again: the factory would register that."""
        for i, role in sorted(plan.roles.items()):
            if role == "register":
                fname = self.body[i].name.value  # type: ignore[attr-defined]
                others = [
                    a for a in self.ctx.in_source_order(self.gscope.assignments[fname])
                    if getattr(a, "node", None) is not self.body[i]
                ]  # fmt: skip
                if others:
                    where = getattr(others[0], "node", None)
                    raise Blocked(
                        f"`{fname}` is bound again, so the factory would register that instead of the decorated function",
                        where if isinstance(where, cst.CSTNode) else None,
                        f"`{fname}` is bound again here",
                    )

    def _rebound_after_the_factory_reads_it(self, plan: Plan, read_by_factory: dict[str, int]) -> None:
        """A name the factory reads is bound more than once: it would read only its last value."""
        app = plan.app
        for n in sorted(read_by_factory):
            if n != app and len(self.gscope.assignments[n]) > 1 and not self._moved_binding(n, plan):
                nodes = [
                    a.node
                    for a in self.gscope.assignments[n]
                    if isinstance(getattr(a, "node", None), cst.CSTNode)
                ]
                if len(nodes) == len(self.gscope.assignments[n]) and all(
                    not self.deferred(x) and self.top(x) < read_by_factory[n] for x in nodes
                ):
                    continue  # computed in full before the factory first reads it: it reads the same value
                later_node = min(
                    (x for x in nodes if self.top(x) >= read_by_factory[n]), key=self.ctx.line, default=None
                )
                later = self.ctx.line(later_node) if later_node is not None else None
                line, why = self.kept.get(n, (None, ""))
                if line is not None:
                    raise Blocked(
                        f"`{n}` is rebound after the app's configuration first reads it (line {later}), and can't move "
                        f"into `{FACTORY}()` with it: it is also used outside the factory",
                        line,
                        why,
                    )
                raise Blocked(
                    f"`{n}` is bound more than once at module level, and the factory would read only its last value",
                    later_node,
                    f"`{n}` is bound again here",
                )

    def _stays_between_configuration_lines(
        self, plan: Plan, read_by_factory: dict[str, int], app_users: set[str]
    ) -> None:
        """Statements that stay, between the app's configuration lines, now run before it."""
        app = plan.app
        moved = set(plan.roles)
        last = max(moved)
        first_moved = min(moved)
        bound = self._bound_by_statement()
        extension_objects = {split.target for split in plan.extensions.values()}
        for i in range(first_moved, last):
            if i in plan.extensions:
                # Its module-level part now runs before the factory: what it does more with
                # than store must not be something the factory changed first.
                for n in sorted(plan.extensions[i].reads):
                    if (
                        read_by_factory.get(n, i) < i
                        and not self._is_import_binding(n)
                        and n not in extension_objects
                    ):
                        raise Blocked(
                            f"`{plan.extensions[i].target}` is built from `{n}`, which the factory uses first; "
                            f"built at module level, it would see `{n}` before that",
                            self.body[i],
                            f"uses `{n}`",
                        )
                continue
            if i in moved:
                continue
            stmt = self.body[i]
            if isinstance(stmt, cst.SimpleStatementLine) and all(
                isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
            ):
                continue
            for node in self._executed_names(stmt):
                n = node.value
                if n in extension_objects:
                    # `class User(db.Model)`, `@login.user_loader`: they use what the extension's
                    # constructor built, which its verdict says `init_app` doesn't change.
                    continue
                if n in app_users:
                    raise Blocked(
                        f"a statement between the app's configuration lines uses `{n}`, which uses `{app}` before `{FACTORY}()` would have built it",
                        node,
                        f"uses `{n}`",
                    )
                # It ran after a factory statement that reads the same object: now it runs first.
                if read_by_factory.get(n, i) < i and (not self._is_import_binding(n) or _mutates(stmt, n)):
                    kept = sorted(
                        m for m in bound.get(i, ()) if m in self.kept and self.kept[m][0] is not None
                    )
                    if kept:
                        line, why = self.kept[kept[0]]
                        raise Blocked(
                            f"`{kept[0]}` can't move into `{FACTORY}()` (it is also used outside it), and at module level "
                            f"it would now be computed from `{n}` before the app's configuration that first reads `{n}`",
                            line,
                            why,
                        )
                    raise Blocked(
                        f"a statement between the app's configuration lines uses `{n}`, which the factory uses too; it would now run before them",
                        node,
                        f"uses `{n}`",
                    )

    def _bound_after_from_object(self, from_object_self: int | None) -> None:
        """``config.from_object(__name__)`` would gain the upper-case names bound after it."""
        if from_object_self is not None:
            for i in range(from_object_self + 1, len(self.body)):
                for small in u.iter_small_statements(self.body[i]):
                    for t in _bound_names(small):
                        if t.isupper():
                            raise Blocked(
                                f"`{t}` is bound after `config.from_object(__name__)`, so the factory's config would gain it",
                                self.body[i],
                                "bound here",
                            )

    def _under_main_guard(self, node: cst.CSTNode, stmt: cst.BaseStatement) -> bool:
        """In the body (not the ``else``) of a top-level ``if __name__ == "__main__":``."""
        if not (isinstance(stmt, cst.If) and u.is_main_guard(stmt)):
            return False
        child = node
        while child is not None and child is not stmt:
            if child is stmt.body:
                return True
            child = self.parents.get(child)
        return False

    def _called_by_factory(self, plan: Plan) -> set[str]:
        """Names the factory calls while it runs (not inside a lambda or nested function)."""
        out: set[str] = set()
        for i in plan.roles:
            for node in self._factory_nodes(plan, i):
                for n in _names_in(node):
                    parent = self.parents.get(n)
                    if isinstance(parent, cst.Call) and parent.func is n and not self.deferred(n):
                        out.add(n.value)
        return out

    def _moved_binding(self, name: str, plan: Plan) -> bool:
        """Every binding of ``name`` is in a statement that moves into the factory (a local there)."""
        for a in self.gscope.assignments[name]:
            node = getattr(a, "node", None)
            if not isinstance(node, cst.CSTNode) or plan.roles.get(self.top(node)) != "move":
                return False
        return True

    def _names_read(self, plan: Plan) -> dict[str, int]:
        """Names the factory reads -> the first statement (index) that reads each."""
        out: dict[str, int] = {}
        for i in sorted(plan.roles):
            for n in self._factory_nodes(plan, i):
                for x in _names_in(n):
                    out.setdefault(x.value, i)
        return out

    def _executed_names(self, stmt: cst.BaseStatement) -> list[cst.Name]:
        """Names the statement reads when it runs (not its own def name, not its parameters)."""
        out = []
        for n in _names_in(stmt):
            parent = self.parents.get(n)
            if isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is n:
                continue
            if isinstance(parent, cst.Param) and parent.name is n:
                continue
            if not self.deferred(n):
                out.append(n)
        return out

    def _is_import_binding(self, name: str) -> bool:
        from libcst.metadata import ImportAssignment

        return all(isinstance(a, ImportAssignment) for a in self.gscope.assignments[name])


def _blocks(stmt: cst.If | cst.Try | cst.For) -> list[cst.BaseSuite]:
    """The bodies of a compound statement: ``if``/``elif``/``else``, ``try``/``except``/
    ``else``/``finally``, ``for``/``else``."""
    out: list[cst.BaseSuite] = [stmt.body]
    if isinstance(stmt, cst.Try):
        out += [h.body for h in stmt.handlers]
    orelse = stmt.orelse
    while orelse is not None:
        out.append(orelse.body)
        orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    if isinstance(stmt, cst.Try) and stmt.finalbody is not None:
        out.append(stmt.finalbody.body)
    return out


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    out: list[cst.Name] = []

    class V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            out.append(n)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False

    node.visit(V())
    return out


def _mutates(stmt: cst.BaseStatement, name: str) -> bool:
    """``os.environ["X"] = ...``, ``os.environ.setdefault(...)``: a statement that changes what
    ``name`` refers to, rather than only reading it."""
    for small in u.iter_small_statements(stmt):
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            r = _root(small.value.func)
            if r is not None and r.value == name and isinstance(small.value.func, cst.Attribute):
                return True
        if isinstance(small, (cst.Assign, cst.AugAssign)):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            for t in targets:
                r = _root(t)
                if isinstance(t, (cst.Attribute, cst.Subscript)) and r is not None and r.value == name:
                    return True
    return False


def _bound_names(small: cst.CSTNode) -> list[str]:
    if isinstance(small, cst.Assign):
        return [t.target.value for t in small.targets if isinstance(t.target, cst.Name)]
    if isinstance(small, (cst.AnnAssign, cst.AugAssign)) and isinstance(small.target, cst.Name):
        return [small.target.value]
    return []


def _assigned_call_with(stmt: cst.BaseStatement, app: str) -> str | None:
    """``db = SQLAlchemy(app)`` -> ``db``."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
            if any(isinstance(a.value, cst.Name) and a.value.value == app for a in small.value.args):
                names = _bound_names(small)
                return names[0] if names else None
    return None
