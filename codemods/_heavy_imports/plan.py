"""heavy-imports' plan: what the analysis decided, in terms the rewrites can execute.

A :class:`Binding` is one name a module-level import binds, with the functions that get the
import; a :class:`FlagBlock` is an optional-dependency ``try`` block that runs on the first read
of its flag. :class:`Plan` holds both for one file, by fix key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from codemods import _cst as u


@dataclass
class Binding:
    """One name bound by a module-level import statement."""

    name: str
    alias: cst.ImportAlias
    small: cst.Import | cst.ImportFrom
    stmt_index: int
    #: The try statement when the import is part of an optional-dependency block.
    in_try: cst.Try | None = None
    #: Functions (or the ``__main__`` guard) that get the import at their top.
    targets: list[cst.CSTNode] = field(default_factory=list)
    annotation_uses: bool = False
    quote: list[cst.Annotation] = field(default_factory=list)
    unused: bool = False
    #: More aliases of the same statement that bind the same name (``import numpy, numpy``).
    duplicates: list[cst.ImportAlias] = field(default_factory=list)
    #: Indexes of the top-level statements the fix changes besides the import itself.
    touched: set[int] = field(default_factory=set)

    @property
    def module(self) -> str:
        if isinstance(self.small, cst.ImportFrom):
            return u.import_module_name(self.small)
        return u.dotted_name(self.alias.name) or ""

    @property
    def key(self) -> str:
        """Unique in the module: ``import a.b`` and ``import a.c`` both bind ``a``."""
        if self.alias.asname is None and isinstance(self.small, cst.Import):
            return u.dotted_name(self.alias.name) or self.name
        return self.name

    @property
    def dotted_plain_import(self) -> bool:
        return isinstance(self.small, cst.Import) and "." in (u.dotted_name(self.alias.name) or "")

    def statement_code(self, aliases: list[cst.ImportAlias] | None = None) -> str:
        """The import statement for just this binding (or the given aliases of its statement)."""
        aliases = aliases or [self.alias]
        parts = []
        for a in aliases:
            name = u.dotted_name(a.name) or ""
            asname = a.asname.name.value if a.asname is not None else None  # type: ignore[union-attr]
            parts.append(f"{name} as {asname}" if asname else name)
        if isinstance(self.small, cst.ImportFrom):
            return f"from {self.module} import {', '.join(parts)}"
        return f"import {', '.join(parts)}"


@dataclass
class FlagBlock:
    """``try: import torch; X_AVAILABLE = True / except ImportError: X_AVAILABLE = False``."""

    node: cst.Try
    stmt_index: int
    flag: str
    probe: str
    flag_type: str | None
    bindings: list[Binding]
    #: Each read of the flag in a function, with the outermost function it runs in.
    reads: list[tuple[cst.Name, cst.CSTNode]]
    #: Functions that use the block's imported names: they call the probe first.
    targets: list[cst.CSTNode]
    touched: set[int] = field(default_factory=set)


@dataclass
class Plan:
    bindings: dict[str, Binding]
    flags: dict[str, FlagBlock]
    getattr_index: int | None
    getattr_generated: bool
    #: One statement, one finding: the key of a merged finding -> the bindings' own keys.
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
