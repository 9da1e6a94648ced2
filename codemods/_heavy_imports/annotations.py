"""Who may read the annotations heavy-imports would quote or hide under ``if TYPE_CHECKING:``.

A decorator, a base class or a metaclass that reads a class's or function's annotations while
the module is imported (pydantic, dataclasses, FastAPI routes and dependencies) would fail on a
name that exists only for type checkers: that blocks the rewrite. Project code that reads them
later (``typing.get_type_hints``) makes the fix unsafe. Each answer is ``(why, at_import)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from codemods import _cst as u
from codemods._api import ProjectView
from codemods._heavy_imports.context import enclosing

#: Decorators known not to read the annotations of what they decorate.
SAFE_DECORATORS = frozenset({
    "staticmethod", "classmethod", "property", "functools.wraps", "wraps", "lru_cache",
    "functools.lru_cache", "cache", "functools.cache", "cached_property", "functools.cached_property",
    "abstractmethod", "abc.abstractmethod", "overload", "typing.overload", "final", "typing.final",
    "override", "typing.override", "typing_extensions.override", "contextmanager",
    "contextlib.contextmanager", "asynccontextmanager", "contextlib.asynccontextmanager",
    "functools.total_ordering", "total_ordering",
})  # fmt: skip
#: Bases that do not make a class read its annotations.
PLAIN_BASES = frozenset({
    "object", "ABC", "abc.ABC", "Generic", "typing.Generic", "Protocol", "typing.Protocol",
    "Exception", "BaseException", "ValueError", "TypeError", "RuntimeError", "KeyError",
    "LookupError", "OSError", "IOError", "ImportError", "AttributeError", "NotImplementedError",
})  # fmt: skip
#: Calls that hand a function to something that reads its signature (FastAPI dependencies).
SIGNATURE_READING_CALLS = frozenset({"Depends", "fastapi.Depends", "Security", "fastapi.Security"})


class AnnotationReaders:
    def __init__(
        self,
        module: cst.Module,
        parents: Mapping[cst.CSTNode, cst.CSTNode],
        signature_readers: set[str],
        project: ProjectView,
    ) -> None:
        self.module = module
        self.parents = parents
        #: names passed to ``Depends(...)``/``Security(...)``, whose signatures FastAPI reads
        self.signature_readers = signature_readers
        self.project = project
        self.classes = {s.name.value: s for s in module.body if isinstance(s, cst.ClassDef)}

    def function_risk(self, fn: cst.FunctionDef) -> tuple[str, bool] | None:
        """Why the function's annotations may be read, and whether that happens at import."""
        name = fn.name.value
        for d in fn.decorators:
            dec = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
            dname = u.dotted_name(dec) or self.module.code_for_node(dec)
            if dname in SAFE_DECORATORS or dname.endswith((".setter", ".getter", ".deleter")):
                continue
            return f"`{name}` is decorated with `@{dname}`, which may read its annotations", True
        if name in self.signature_readers:
            return f"`{name}` is a FastAPI dependency, whose signature is read", True
        if name in self.project.annotation_readers:
            return f"project code reads the annotations of `{name}`", False
        cls = enclosing(fn, (cst.ClassDef, cst.FunctionDef), self.parents)
        if isinstance(cls, cst.ClassDef):
            return self.class_risk(cls)
        return None

    def class_risk(self, cls: cst.ClassDef, depth: int = 0) -> tuple[str, bool] | None:
        """Why the class's annotations may be read, and whether that happens at import."""
        name = cls.name.value
        for d in cls.decorators:
            dec = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
            dname = u.dotted_name(dec) or "..."
            if dname not in ("functools.total_ordering", "total_ordering", "final", "typing.final"):
                return f"class `{name}` is decorated with `@{dname}`, which may read annotations", True
        for arg in cls.bases:
            value = arg.value.value if isinstance(arg.value, cst.Subscript) else arg.value
            bname = u.dotted_name(value) or "..."
            if bname in PLAIN_BASES:
                continue
            local = self.classes.get(bname)
            if local is not None and local is not cls and depth < 20:
                risk = self.class_risk(local, depth + 1)
                if risk:
                    return risk
                continue
            return f"class `{name}` derives from `{bname}`, which may read annotations", True
        if cls.keywords:
            return f"class `{name}` has a metaclass or class keywords, which may read annotations", True
        if name in self.project.annotation_readers:
            return f"project code reads the annotations of `{name}`", False
        return None
