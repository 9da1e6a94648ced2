"""LZY002 lazy-singletons: module-level objects that do work when built become lazy getters."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import TYPE_CHECKING

from codemods._api import (
    Analysis,
    Codemod,
    FileContext,
    ProjectView,
    Settings,
)
from codemods.options import DEFAULT_CHEAP, DEFAULT_FACTORIES

if TYPE_CHECKING:
    import libcst as cst

    from codemods._singleton_facts import ModuleFacts
    from codemods._singleton_plan import ModulePlan

# The analysis and the rewrite need LibCST, and are imported where they run: a run whose
# results all come from the cache never imports LibCST. Facts and plan (`ast` only) are
# imported where they run too: a warm run whose index is the last run's needs neither.


class LazySingletons(Codemod):
    """Build module-level singletons on first use, through a getter, everywhere in the project.

    ## What it does
    Finds module-level assignments whose value does work when it is built: instances of classes
    defined in the project and calls of known expensive factories (`create_engine`,
    `sessionmaker`, `sqlite3.connect`, `Redis.from_url`, `boto3.client`, `requests.Session`,
    `httpx.Client`, `open`, `*.from_pretrained`, `torch.load`, ...) under whatever name an
    installed package re-exports them (`from sqlmodel import create_engine` is SQLAlchemy's:
    the project's environment is read, never imported, to follow the re-exports to where each
    name is defined), and any value computed by
    calling into a heavy module (the `heavy-modules` setting heavy-imports uses), wherever the
    call sits in the value: `torch.jit.load(path).eval()`, `pd.read_pickle(path)`,
    `AutoModel.from_pretrained(name)`, `cv2.CascadeClassifier(path)`. Such a call loads a model
    or data by definition, so no list of loaders is needed; and once the value is built in its
    getter, the heavy import is read only in functions, so heavy-imports moves it there in the
    same run. Calls that only make constants (dtypes and scalar types such as `np.float32(...)`,
    `torch.device("cpu")`, arrays such as `np.array([...])`, `np.zeros(n)`, `torch.tensor([...])`)
    are in the default `cheap-calls` and stay, as does anything `extend-cheap-calls` adds (a
    heavy call nested in them still counts). Each becomes a getter
    (`get_<name>()`) that builds the object once, exactly once under concurrent first calls,
    and every reference in the project calls the getter: in the module itself, after
    `from m import x`, and through `import m; m.x`. The old name keeps working for code outside
    the processed paths: the module's `__getattr__` (PEP 562) answers it with the getter's
    object, and `if TYPE_CHECKING:` declares it for type checkers. A module that passes it on
    (it imports it and lists it in `__all__`, or is a package's `__init__`: `pkg.engine`,
    `from pkg import engine`) imports the getter instead and answers the old name from its own
    `__getattr__` the same way, so the name keeps working there too. Reads under
    `if __name__ == "__main__":` (which runs only as a script, once the module is built) call
    the getter too, as reads in functions do; its `else:` runs at import. When the module
    already has an accessor, `def get_x(): return x` (no parameters, no decorators, nothing but
    a docstring and the `return`, defined after `x`), that function becomes the getter, with its
    name, signature and docstring, so its callers need no change; an accessor that does more
    keeps its body, and the getter is `get_x_lazily()`. Schema work on an engine
    (`Base.metadata.create_all(engine)`) runs in the engine's getter, once, right after the
    engine is built, also when it sits in another module (FastAPI's SQL tutorial runs
    `models.Base.metadata.create_all(bind=engine)` in `main.py`): there it is removed, and the
    getter runs it with the engine module's own names, when the engine's module can reach
    everything the statement names and the module that had it imports, at import, every module
    that defines the models. A proxy global (`audit_logger = AuditLoggerProxy()`, whose class only
    forwards attribute access to a getter) stays as the compatibility name, and attribute reads
    through it call the getter directly.

    ## Why is this bad?
    An object built at import does its work (opening a SQLite file, connecting, drawing a
    secret, loading a model) before the first request, in every process that imports the
    module, including tests and command-line tools. On serverless platforms a failure there is
    `FUNCTION_INVOCATION_FAILED` before any handler runs.

    ## Example
    ```python
    import sqlite3

    conn = sqlite3.connect("app.db")


    def count():
        return conn.execute("select count(*) from t").fetchone()
    ```

    Use instead:
    ```python
    import sqlite3
    import threading
    from typing import TYPE_CHECKING

    _lazify_lock = threading.RLock()
    _lazify_building: set[str] = set()  # names whose getter is building them
    globals().pop("conn", None)  # a reload builds it afresh


    def get_conn() -> "sqlite3.Connection":
        \"""Return `conn`, built on first use (lazify).\"""
        global conn
        with _lazify_lock:
            if "conn" not in globals() and "conn" not in _lazify_building:
                _lazify_building.add("conn")
                try:
                    conn = sqlite3.connect("app.db")
                finally:
                    _lazify_building.discard("conn")
        return conn


    def count():
        return get_conn().execute("select count(*) from t").fetchone()


    if TYPE_CHECKING:
        conn: sqlite3.Connection


    def __getattr__(name: str) -> object:
        \"""Module attributes computed on first access (PEP 562; generated by lazify).\"""
        if name == "conn" and name not in _lazify_building:
            return get_conn()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    ```

    ## Fix safety
    Safe: the object is the same, built by the same expression, only later (on the first call
    of its getter), so its side effects and errors surface then. Assigning the old module
    attribute (`mod.engine = create_engine("sqlite://")` in a test) still wins: from then on
    the getter returns the assigned object; `importlib.reload(mod)` starts afresh. While the
    object is being built the name is unbound, as it was while the import ran: a constructor
    that asks its own module for it (`hasattr(sys.modules[__name__], "registry")`, a read of
    the global) sees it missing (a NameError from the getter), instead of re-entering it. Schema work
    moved into an engine's getter runs with the models imported by then: models imported later
    than the engine's first use are not created by it (they were, if imported before the
    original `create_all`, only when imported first). Schema work moved from another module
    runs when the engine is first built, even by a program that never imports that module.

    Blocked, with the line: a singleton read at import by a statement that is not itself
    lazified (the chain of lines is reported; a user that is itself a singleton is rewritten
    too), rebound, star-imported from a module without `__all__`, passed on by a module that
    can't answer the old name (it has a `__getattr__` of its own, or a computed `__all__`), with
    schema work in another module that the engine's module can't run (it names what that module
    can't reach, or models that module's imports don't load), built
    from a name the module binds again, or in a module with its own `__getattr__`. Code outside the processed paths keeps using the old name, which works; a
    dotted string such as `mock.patch("pkg.mod.engine")` patches the module attribute, which
    the getter honours, and is listed in the report.
    """

    code = "LZY002"  # codemods._singleton_facts.CODE
    name = "lazy-singletons"
    summary = "Build module-level singletons on first use, through getters, across the project"
    version = 3
    project_level = True

    @staticmethod
    def facts(tree: ast.Module, module: str | None, is_package: bool) -> ModuleFacts:
        from codemods._singleton_facts import extract_facts

        return extract_facts(tree, module, is_package)

    @staticmethod
    def plan(
        facts: Mapping[str, ModuleFacts], rewritten: set[str], paths: Mapping[str, str], settings: Settings
    ) -> dict[str, ModulePlan]:
        from codemods._singleton_plan import plan_project

        return plan_project(
            facts,
            rewritten,
            settings.singleton_factories or DEFAULT_FACTORIES,
            settings.cheap_calls or DEFAULT_CHEAP,
            paths,
            dict(settings.definitions),
            heavy_modules=settings.heavy_modules,
            measured=settings.measured_statements,
        )

    @staticmethod
    def external_names(facts: Mapping[str, ModuleFacts], settings: Settings) -> set[str]:
        """Names the engine looks up in the installed packages (``settings.definitions``)."""
        from codemods._singleton_plan import external_names

        return external_names(
            facts, settings.singleton_factories or DEFAULT_FACTORIES, settings.cheap_calls or DEFAULT_CHEAP
        )

    def prefilter(self, text: str, settings: Settings) -> bool:
        return False  # a project-level codemod runs where the plan gives the file a slice

    def analyze_without_tree(self, view: ProjectView, settings: Settings) -> Analysis | None:
        from codemods._singleton_plan import ModulePlan

        mp = view.plans.get(self.code)
        if isinstance(mp, ModulePlan) and not mp.own and not mp.imported:
            from codemods._singleton_analysis import blocked_findings, sorted_findings
            from codemods._singleton_rewrite import _Plan

            # Only singletons the plan blocked: their findings come from the plan's facts.
            return Analysis(sorted_findings(blocked_findings(mp)), _Plan({}, {}))
        return None

    def analyze(self, ctx: FileContext) -> Analysis:
        from codemods._singleton_analysis import Analyzer
        from codemods._singleton_plan import ModulePlan
        from codemods._singleton_rewrite import _Plan

        mp = ctx.project.plans.get(self.code)
        if not isinstance(mp, ModulePlan):
            return Analysis([], _Plan({}, {}))
        return Analyzer(ctx, mp).run()

    def apply(self, ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
        from codemods._singleton_rewrite import _Plan, _Rewriter

        plan = analysis.plan
        assert isinstance(plan, _Plan)
        own = {k: v for k, v in plan.own.items() if k in keys}
        refs = {k: v for k, v in plan.refs.items() if k in keys}
        if not own and not refs:
            return ctx.module
        return _Rewriter(ctx, own, refs).rewrite()
