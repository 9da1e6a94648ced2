"""lazify's codemods: one class per module, listed here by code (like ruff's rule table).

Every codemod is pure (LibCST in, LibCST out) and documents itself in its class docstring.
"""

from __future__ import annotations

from codemods._api import Codemod
from codemods.app_factory import AppFactory
from codemods.declarative_base import DeclarativeBase
from codemods.heavy_imports import HeavyImports
from codemods.lazy_singletons import LazySingletons

#: All codemods, in the order the engine runs them (each on the output of the one before),
#: which is also the order of the review and of ``--commit``'s commits. The codemods that move
#: module-level code into functions run first, so that heavy-imports then sees every use that
#: ended up in a function: run the other way round, a second run would find more to move (an
#: import used only by a singleton's value, or by a line that moved into ``create_app()``).
REGISTRY: tuple[type[Codemod], ...] = (LazySingletons, AppFactory, HeavyImports, DeclarativeBase)

#: The same, by code, for listings.
BY_CODE: tuple[type[Codemod], ...] = tuple(sorted(REGISTRY, key=lambda cls: cls.code))


def by_name_or_code(key: str) -> type[Codemod] | None:
    for cls in REGISTRY:
        if key in (cls.code, cls.name) or key.upper() == cls.code:
            return cls
    return None
