"""lazify's codemods: one class per module, listed here by code (like ruff's rule table).

Every codemod is pure (LibCST in, LibCST out) and documents itself in its class docstring.

This module imports no codemod (and so no LibCST) until ``REGISTRY`` or ``BY_CODE`` is asked
for: ``lazify --help``, ``codemods`` and ``explain`` read what they show from the codemods'
source instead (:mod:`codemods.catalog`), so a tool about import cost starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codemods._api import Codemod

#: Where each codemod lives (module, class), in the order the engine runs them (each on the
#: output of the one before), which is also the order of the review and of ``--commit``'s
#: commits. The codemods that move module-level code into functions run first, so that
#: heavy-imports then sees every use that ended up in a function: run the other way round, a
#: second run would find more to move (an import used only by a singleton's value, or by a line
#: that moved into ``create_app()``).
MODULES: tuple[tuple[str, str], ...] = (
    ("codemods.lazy_singletons", "LazySingletons"),
    ("codemods.app_factory", "AppFactory"),
    ("codemods.heavy_imports", "HeavyImports"),
    ("codemods.declarative_base", "DeclarativeBase"),
)

#: All codemods, in the order above.
REGISTRY: tuple[type[Codemod], ...]
#: The same, by code, for listings.
BY_CODE: tuple[type[Codemod], ...]


def __getattr__(name: str) -> object:
    if name in ("REGISTRY", "BY_CODE"):
        registry = tuple(getattr(importlib.import_module(m), c) for m, c in MODULES)
        globals().update(REGISTRY=registry, BY_CODE=tuple(sorted(registry, key=lambda cls: cls.code)))
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
