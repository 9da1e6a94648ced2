"""app-factory's plan: which top-level statements move into ``create_app()``, in which role,
and what stays at module level. The names the factory and the stand-in are generated with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

FACTORY = "create_app"
LAZY_CLASS = "_LazyApp"
#: A moved import's E402 suppression (`noqa`) is dropped: inside the factory it no longer follows code.
NOQA_E402 = re.compile(r"^#\s*noqa:\s*E402\s*$")


@dataclass
class Plan:
    app: str
    interface: str  # "asgi" | "wsgi"
    returns: str  # the class as the module spells it: `FastAPI`, `flask.Flask`
    create: int
    #: index -> role: "move" (into the factory, in order), "register" (the def stays; its
    #: outermost `@app...` decorators become calls in the factory), "setup" (Flask
    #: app_context block, run once before the first request)
    roles: dict[int, str] = field(default_factory=dict)
    #: index -> number of outermost decorators that register on the app
    registering: dict[int, int] = field(default_factory=dict)
    #: index -> an extension built from the app ("extension" role: ``db = SQLAlchemy(app)``
    #: stays as ``db = SQLAlchemy()``; ``db.init_app(app)`` runs in the factory)
    extensions: dict[int, Split] = field(default_factory=dict)
    mode: str = "eager"
    #: with ``module-app = "none"``: the ``if __name__ == "__main__":`` block that uses the app,
    #: which then builds its own with ``app = create_app()``
    main_guard: int | None = None


@dataclass
class Split:
    target: str
    module: cst.BaseStatement  # what stays at module level
    init: cst.SimpleStatementLine  # what runs in the factory
    #: names the module-level part reads in arguments the constructor does more with than store
    reads: set[str]
    unsafe: str | None = None
