"""LZY003 declarative-base: ``Base = declarative_base()`` becomes SQLAlchemy 2.0 ``DeclarativeBase``."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import TYPE_CHECKING

from codemods._api import Analysis, Codemod, FileContext, Settings

if TYPE_CHECKING:
    import libcst as cst

    from codemods._declarative_plan import DeclarativeFacts, ModulePlan

# The analysis and the rewrite (codemods/_declarative_rewrite.py) need LibCST and are imported
# where they run: a run whose results all come from the cache never imports LibCST.


class DeclarativeBase(Codemod):
    """Turn `Base = declarative_base(...)` into a SQLAlchemy 2.0 `DeclarativeBase` subclass.

    ## What it does
    Rewrites a module-level `Base = declarative_base(...)` (imported from `sqlalchemy.orm` or
    `sqlalchemy.ext.declarative`, under any alias) into `class Base(DeclarativeBase): ...`,
    carrying the arguments over: `metadata=` and `type_annotation_map=` become class
    attributes, `cls=Mixin` becomes a base class, and `name=` is dropped when it equals the
    variable's name. Arguments with no faithful 2.0 form (`constructor=`, `metaclass=`,
    `class_registry=`, `mapper=`, `bind=`, a different `name=`, positional arguments) are
    reported, and the statement is left alone. Imports are fixed up. Only where the project
    uses SQLAlchemy 2.x, as it says: a requirement that rules 2.x in or out (in
    `pyproject.toml`, `requirements*.txt` and the files they include, `setup.cfg`,
    `setup.py`, `Pipfile`), else the version its lock file pins (`uv.lock`, `poetry.lock`,
    `pdm.lock`, `Pipfile.lock`), else the version installed in its own environment (`.venv`,
    `venv`, `$VIRTUAL_ENV`; never lazify's, unless it is the project's), else a bare
    `sqlalchemy` requirement, which installs 2.x. Otherwise the rewrite is blocked with that
    reason.

    ## Why is this bad?
    `declarative_base()` is the legacy 1.x API (`sqlalchemy.ext.declarative.declarative_base`
    is deprecated and warns in 2.0); a class statement is what type checkers understand, and
    it is where 2.0's typed `Mapped[...]` models start.

    ## Example
    ```python
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()
    ```

    Use instead:
    ```python
    from sqlalchemy.orm import DeclarativeBase


    class Base(DeclarativeBase):
        pass
    ```

    ## Fix safety
    Safe where nothing in the project can see the difference, and unsafe, with the line that
    can, otherwise. Both bases map their subclasses with the same code
    (`_ORMClassConfigurator._as_declarative` in `sqlalchemy/orm/decl_base.py`), from the
    `DeclarativeMeta` metaclass's `__init__` for `declarative_base()` and from
    `DeclarativeBase.__init_subclass__` for the class (`sqlalchemy/orm/decl_api.py`), with the
    same registry, metadata and default constructor (`registry.generate_base` and
    `_setup_declarative_base`). What differs, and what makes the rewrite unsafe when the
    project (any module) looks at it:
    - the metaclass: `DeclarativeAttributeIntercept` instead of `DeclarativeMeta`, for the base
      and every class mapped on it: code that names `DeclarativeMeta`, calls `type(...)` or
      reads `__class__` of one of them, or passes the base to other code (Flask-SQLAlchemy's
      `model_class=` checks which kind of base it got);
    - where mapping happens: a mapped class that overrides `__init_subclass__` without calling
      `super()`'s, or sets its own metaclass;
    - what the classes inherit: `declarative_base()` sets `__abstract__ = True` on the base, which
      every subclass inherits, and `DeclarativeBase` brings class annotations of its own, which
      `typing.get_type_hints(...)` of a mapped class then includes;
    - a `cls=` mixin's own `__init__` (or one it may inherit): `declarative_base()` replaced it
      with the default constructor, `DeclarativeBase` keeps it. So `cls=` is safe only for a
      class of the same module that defines neither `__init__` nor `__init_subclass__`.

    The base's own name attributes become right (`__module__` is its module instead of
    `sqlalchemy.orm.decl_api`, so its `repr` changes); nothing else reads them.

    Plain (non-`Mapped[...]`) annotations on mapped classes do not matter: SQLAlchemy 2.x
    interprets them in that same shared code, whichever the base (`_ClassScanMapperConfig`
    reads `__allow_unmapped__` from the mapped class in both cases), so a class that maps
    under `declarative_base()` maps the same way under `DeclarativeBase`, and one that raises
    (`MappedAnnotationError`, "Type annotation ... can't be correctly interpreted for Annotated
    Declarative Table form") raised already: SQLAlchemy's 2.0 migration guide, "Step Six - Add
    `__allow_unmapped__` to explicitly typed ORM models", shows the error with a
    `declarative_base()` base. Adding `__allow_unmapped__ = True` would change them (it lets
    such classes map, and interprets their annotations), so the rewrite never adds it.

    Schema work at import (`Base.metadata.create_all(engine)`) is not this codemod's: the
    lazy-singletons codemod (LZY002) moves it into the engine's getter, where it runs once,
    right after the engine is built.
    """

    code = "LZY003"
    name = "declarative-base"
    summary = "Turn `Base = declarative_base()` into a SQLAlchemy 2.0 `DeclarativeBase` class"
    version = 2
    project_level = True
    # A base is `X = declarative_base(...)` (or the name imported `as` another): the file says
    # `declarative_base`; with no base, the plan is empty whatever the other files hold.
    project_needles = (b"declarative_base",)

    @staticmethod
    def facts(tree: ast.Module, module: str | None, is_package: bool) -> DeclarativeFacts:
        from codemods._declarative_plan import extract_facts

        return extract_facts(tree, module, is_package)

    @staticmethod
    def plan(
        facts: Mapping[str, DeclarativeFacts],
        rewritten: set[str],
        paths: Mapping[str, str],
        settings: Settings,
    ) -> dict[str, ModulePlan]:
        from codemods._declarative_plan import plan_project

        return {mod: p for mod, p in plan_project(facts, paths).items() if mod in rewritten}

    def prefilter(self, text: str, settings: Settings) -> bool:
        return False  # a project-level codemod runs where the plan gives the file a slice

    def analyze(self, ctx: FileContext) -> Analysis:
        from codemods._declarative_rewrite import analyze

        return analyze(self.code, ctx)

    def apply(self, ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
        from codemods._declarative_rewrite import apply

        return apply(ctx, analysis, keys)
