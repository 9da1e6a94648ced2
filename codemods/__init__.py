"""lazify's codemods: one class per module, listed here by code (like ruff's rule table).

Every codemod is pure (LibCST in, LibCST out) and documents itself in its class docstring.
"""

from __future__ import annotations

from codemods._api import Codemod
from codemods.app_factory import AppFactory
from codemods.declarative_base import DeclarativeBase
from codemods.heavy_imports import HeavyImports
from codemods.lazy_singletons import LazySingletons

#: All codemods, sorted by code. The engine runs them in this order.
REGISTRY: tuple[type[Codemod], ...] = (HeavyImports, LazySingletons, DeclarativeBase, AppFactory)


def by_name_or_code(key: str) -> type[Codemod] | None:
    for cls in REGISTRY:
        if key in (cls.code, cls.name) or key.upper() == cls.code:
            return cls
    return None
