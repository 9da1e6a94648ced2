"""The contract between the engine and the codemods.

A codemod is pure: it gets a parsed module plus everything it may know about the rest of the
project (a :class:`ProjectView`, computed by the engine), and returns *findings*. A finding either
carries a fix (safe or unsafe) or is *blocked* with a reason and the line that blocks it. The
codemod then applies exactly the fixes the engine asks for. Nothing in this package does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, TypeVar

if TYPE_CHECKING:
    import libcst as cst
    from libcst.metadata import MetadataWrapper

    from codemods._positions import SourcePositions

_T = TypeVar("_T")


class Safety(str, enum.Enum):
    """How far a fix may change behaviour (ruff's applicability, lazify's contract)."""

    #: Changes only *when* an import or a construction happens, so when its side effects and
    #: errors surface. Applied by default.
    SAFE = "safe"
    #: Could change more than timing (a type seen at runtime, which code runs). Opt-in.
    UNSAFE = "unsafe"


@dataclass(frozen=True, order=True)
class Span:
    """A 1-based line and column range in one file."""

    line: int
    column: int = 1
    end_line: int = 0
    end_column: int = 0

    def __post_init__(self) -> None:
        if self.end_line < self.line:
            object.__setattr__(self, "end_line", self.line)


@dataclass(frozen=True, order=True)
class Location:
    """A place in some file of the project (for cross-file facts and related lines)."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def in_tests(self) -> bool:
        """In a test module, a ``conftest.py`` or a ``tests/`` directory (pytest's layouts)."""
        *dirs, name = self.path.split("/")
        return (
            name == "conftest.py"
            or (name.startswith("test_") and name.endswith(".py"))
            or name.endswith("_test.py")
            or any(d in ("tests", "test") for d in dirs)
        )


@dataclass(frozen=True)
class Finding:
    """One thing a codemod found: a proposed fix, or a rewrite it cannot do (blocked)."""

    code: str
    message: str
    span: Span
    #: Stable key of the fix within the project (``None`` when blocked). The engine prefixes the
    #: codemod code; changes in several files that share a key form one decision.
    fix_key: str | None = None
    safety: Safety | None = None
    #: For blocked findings: why, in a few words ("used at module level").
    reason: str | None = None
    help: str | None = None
    #: Why an unsafe fix could change more than when something runs, each with its line.
    unsafe_because: tuple[tuple[Location | Span, str], ...] = ()
    #: Other lines that explain the finding (the blocking use, the chain of lines...).
    related: tuple[tuple[Location | Span, str], ...] = ()
    #: For a change that spans files: the file that owns the decision (where the fix is
    #: defined). All the files' changes with the same owner and key are one decision.
    fix_owner: str | None = None
    #: This change relies on the owner's change (it calls a getter the owner generates): if
    #: the owner can't apply it, neither can this file.
    needs_owner: bool = False

    @property
    def blocked(self) -> bool:
        return self.fix_key is None

    @property
    def notes(self) -> tuple[tuple[Location | Span, str], ...]:
        """Every line a report shows under the finding: the unsafe reasons, then the rest."""
        return self.unsafe_because + self.related


@dataclass(frozen=True)
class Settings:
    """The codemods' share of the run's settings. Frozen and hashable: part of the cache key."""

    heavy_modules: frozenset[str] = frozenset()
    target_version: tuple[int, int] = (3, 10)
    #: ``local`` | ``lazy-keyword`` | ``lazy-modules``
    style: str = "local"
    #: Whether the project can use SQLAlchemy 2.0: ``yes`` | ``no`` | ``unknown``, and why.
    sqlalchemy2: str = "unknown"
    sqlalchemy_source: str = ""
    #: lazy-singletons: calls that build something expensive (qualified names, globs), and
    #: calls that never do (empty: the codemod's defaults).
    singleton_factories: tuple[str, ...] = ()
    cheap_calls: tuple[str, ...] = ()
    #: app-factory: what stays at module level (``eager`` | ``lazy`` | ``none``).
    module_app: str = "eager"
    #: Names the project calls that its installed packages re-export, with where they are
    #: defined (``sqlmodel.create_engine`` -> ``sqlalchemy.engine.create.create_engine``), read
    #: statically by the engine: a call is what its definition is.
    definitions: tuple[tuple[str, str], ...] = ()
    #: ``heavy-modules = "measured"``: module-level statements ``lazify doctor`` measured over
    #: the threshold, as (path from the project root, line); lazy-singletons treats the value
    #: they build as expensive, as it does a listed factory's.
    measured_statements: tuple[tuple[str, int], ...] = ()

    def is_heavy(self, module: str) -> bool:
        parts = module.split(".")
        return any(".".join(parts[:i]) in self.heavy_modules for i in range(1, len(parts) + 1))


@dataclass(frozen=True)
class ExtensionInit:
    """What an installed class does with the app passed to its constructor (``SQLAlchemy(app)``),
    read from its source by the engine; app-factory splits the call into a construction
    without the app and ``init_app(app, ...)`` when that is all the constructor does with it.

    ``verdict``: ``safe`` (the constructor only calls ``self.init_app(app, ...)`` with it, last),
    ``unsafe`` (it also keeps the app: ``self.app = app``), ``blocked`` (anything else, or the
    source can't be read); ``reason`` says why, for the report."""

    qualified: str
    verdict: str
    reason: str
    #: The constructor's parameters after ``self``, in order; the first is the app.
    params: tuple[str, ...] = ()
    #: param -> the source of its default, for the parameters with a literal default
    defaults: tuple[tuple[str, str], ...] = ()
    #: the constructor's ``**kwargs`` parameter, if any
    var_keyword: str | None = None
    #: what the constructor passes to ``init_app`` after the app: parameter names, and
    #: ``**name`` for its keyword arguments
    init_args: tuple[str, ...] = ()
    #: ``init_app``'s own defaults for those positions (None: no literal default)
    init_defaults: tuple[str | None, ...] = ()
    #: other parameters the constructor requires to be not None before it calls ``init_app``
    not_none: tuple[str, ...] = ()
    #: parameters the constructor only stores (``self.db = db``)
    stored_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectView:
    """What the rest of the project says about one module. Built by the engine's index.

    Everything a codemod may ask about other files is here, so the engine can hash it into the
    cache key: a result is recomputed whenever a fact it depends on changes.
    """

    module: str | None = None
    #: Files that ``from <module> import *``.
    star_imported_by: tuple[Location, ...] = ()
    #: name -> places outside this module that reach ``<module>.<name>``: from-imports, attribute
    #: access through an imported module, and dotted strings such as ``mock.patch("pkg.mod.np")``.
    external_refs: Mapping[str, tuple[tuple[Location, str], ...]] = field(default_factory=dict)
    #: name -> places outside this module whose module-level code changes ``<module>.<name>``
    #: when they are imported: a decorator on it, a call of its methods or with it as an
    #: argument, an assignment to its attributes or items (``@app.get(...)``, ``CORS(app)``).
    configured_at_import: Mapping[str, tuple[Location, ...]] = field(default_factory=dict)
    #: Simple names that project code passes to ``typing.get_type_hints``/``inspect.signature``.
    annotation_readers: frozenset[str] = frozenset()
    #: Project-level codemods' plans for this module: code -> that codemod's slice.
    plans: Mapping[str, object] = field(default_factory=dict)
    #: qualified name -> what that installed class's constructor does with an app, for the
    #: calls at module level that pass a name to an installed class (``SQLAlchemy(app)``).
    extensions: Mapping[str, ExtensionInit] = field(default_factory=dict)
    #: The project's own top-level packages and modules: isort's and ruff's first party, so
    #: an added import goes in the section they would put it in.
    first_party: frozenset[str] = frozenset()

    def refs_to(self, name: str) -> tuple[tuple[Location, str], ...]:
        return tuple(self.external_refs.get(name, ()))

    def passed_on(self, name: str) -> str | None:
        """The singleton a project-level plan keeps built at import because this package
        passes it on as ``name`` (its qualified name), or None. The import that binds ``name``
        must then stay where it is."""
        for plan in self.plans.values():
            for local, qualified in getattr(plan, "passed_on", ()):
                if local == name:
                    return str(qualified)
        return None


@dataclass
class FileContext:
    """Everything a codemod sees of one file."""

    module: cst.Module
    wrapper: MetadataWrapper
    path: str
    module_name: str | None
    settings: Settings
    project: ProjectView
    #: What the helpers below computed for this very module; the engine passes the same dict
    #: to the next codemod while the module is unchanged, so they are computed once per file.
    memo: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def parents(self) -> Mapping[cst.CSTNode, cst.CSTNode]:
        """Each node's parent (``ParentNodeProvider``'s answers, from a cheaper visit)."""
        found = self.memo.get("parents")
        if found is None:
            from codemods._cst import parent_map

            found = self.memo["parents"] = parent_map(self.module)
        return found  # type: ignore[return-value]

    @property
    def order(self) -> Mapping[cst.CSTNode, int]:
        """Each node's place in a preorder walk: source order, without computing positions."""
        found = self.memo.get("order")
        if found is None:
            # The parent map is filled in visiting order.
            found = self.memo["order"] = {node: i for i, node in enumerate(self.parents)}
        return found  # type: ignore[return-value]

    def in_source_order(self, items: Iterable[_T]) -> list[_T]:
        """Scope analysis hands out assignments and accesses in sets, which iterate in memory
        order; sorted by their nodes' place in the source, the first one reported is the first
        one in the file, on every run."""
        order = self.order
        return sorted(items, key=lambda x: order.get(getattr(x, "node", None), -1))  # type: ignore[arg-type]

    @property
    def positions(self) -> SourcePositions:
        """``PositionProvider``'s answers, from a pass about as cheap as plain code generation."""
        found = self.memo.get("positions")
        if found is None:
            from codemods._positions import SourcePositions

            found = self.memo["positions"] = SourcePositions(self.module)
        return found  # type: ignore[return-value]

    def span(self, node: cst.CSTNode) -> Span:
        """Where ``node`` is in the file, 1-based (LibCST's columns are 0-based)."""
        r = self.positions[node]
        return Span(r.start.line, r.start.column + 1, r.end.line, r.end.column + 1)

    def line(self, node: cst.CSTNode) -> int:
        """The line ``node`` starts on."""
        return self.positions[node].start.line


@dataclass
class Analysis:
    """A codemod's findings for one file, plus whatever private plan it needs to apply them."""

    findings: list[Finding]
    plan: object = None

    @property
    def fix_keys(self) -> list[str]:
        return [f.fix_key for f in self.findings if f.fix_key is not None]


class Codemod:
    """Base class: one codemod per file in this package, registered in ``codemods/__init__.py``.

    The class docstring is the documentation, in ruff's sections: *What it does*, *Why is this
    bad?*, *Example*, *Use instead*, *Fix safety*. ``lazify explain`` prints it, and a test runs
    the Example through the codemod and expects the *Use instead* text.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    #: Bump when the output for the same input changes: it is part of the cache key.
    version: ClassVar[int] = 1

    #: A project-level codemod extracts ``facts`` from every file (with ``ast``) and ``plan``s
    #: the whole project from them; each file then gets its slice of the plan in its view.
    project_level: ClassVar[bool] = False
    #: A project-level codemod's plan is empty unless some file of the project contains one of
    #: these byte strings: without one, no file's ``facts`` are extracted (empty: always).
    project_needles: ClassVar[tuple[bytes, ...]] = ()

    def prefilter(self, text: str, settings: Settings) -> bool:
        """A cheap text check; ``False`` means the file certainly has nothing for this codemod."""
        return True

    def analyze_without_tree(self, view: ProjectView, settings: Settings) -> Analysis | None:
        """The analysis, when the project view alone decides it (a project-level plan that only
        blocks); ``None`` when the file must be parsed. A file no codemod needs a tree for is
        never parsed with LibCST."""
        return None

    def analyze(self, ctx: FileContext) -> Analysis:
        raise NotImplementedError

    def apply(self, ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
        """Return the module with exactly the fixes in ``keys`` applied."""
        raise NotImplementedError


class Blocked(Exception):
    """Raised inside a codemod's analysis when a rewrite can't be done: why, in a few words, and
    what blocks it (the node in this file, a place in another file, or nothing). The codemod
    catches it and reports a blocked :class:`Finding`; ``note`` says what the blocking place
    does, for the finding's related line, when that differs from the reason."""

    def __init__(
        self, reason: str, node: cst.CSTNode | Location | None = None, note: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.node = node
        self.note = note


class CodemodError(Exception):
    """Raised by a codemod for input it cannot handle; the engine reports it for that file."""


def resolve_relative(module: str | None, is_package: bool, level: int, name: str | None) -> str | None:
    """The absolute module of ``from <level dots><name> import ...`` written in ``module``."""
    if level == 0:
        return name
    if module is None:
        return None
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts):
        return None
    parts = parts[: len(parts) - (level - 1)]
    base = ".".join(parts)
    if name:
        return f"{base}.{name}" if base else name
    return base or None
