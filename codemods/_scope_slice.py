"""Scope analysis, parents and source order over only the top-level statements that name some
names: what lazy-singletons asks about its singletons costs a fraction of the whole module's
analysis, with the same answers (``tests/test_scope_slice.py`` holds it to them)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import libcst as cst
from libcst.metadata import GlobalScope

from codemods._cst import _Parents, is_future_import

_T = TypeVar("_T")


def statements_naming(module: cst.Module, names: Iterable[str]) -> list[int]:
    """Indexes of the top-level statements whose code contains one of ``names`` as a word,
    and of the ``from __future__`` imports (:func:`global_scope_for` analyses only these)."""
    wanted = sorted(set(names))
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, wanted)) + r")\b") if wanted else None
    return [
        i for i, stmt in enumerate(module.body)
        if is_future_import(stmt) or (pattern is not None and pattern.search(module.code_for_node(stmt)))
    ]  # fmt: skip


class SlicedTree:
    """Parents and source order for the nodes of some top-level statements only (the ones
    :func:`statements_naming` picked), at the cost of visiting those: a file's analysis asks
    about the nodes scope analysis found, which all lie there. A question about any other node
    is answered from the whole module's maps (``full``, computed once, on the first such
    question), so every answer is the one the whole module's maps give."""

    def __init__(
        self,
        module: cst.Module,
        indexes: Iterable[int],
        full: Callable[[], tuple[Mapping[cst.CSTNode, cst.CSTNode], Mapping[cst.CSTNode, int]]],
    ) -> None:
        self.module = module
        self._full = full
        self._parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._order: dict[cst.CSTNode, tuple[int, int]] = {}
        for i in indexes:
            stmt = module.body[i]
            v = _Parents()
            stmt.visit(v)
            self._parents[stmt] = module
            self._parents.update(v.parents)
            self._order[stmt] = (i, 0)
            self._order.update((node, (i, n + 1)) for n, node in enumerate(v.parents))

    def get(self, node: cst.CSTNode, default: cst.CSTNode | None = None) -> cst.CSTNode | None:
        """The parent of ``node`` (the ``parents`` mapping's ``get``)."""
        found = self._parents.get(node)
        if found is not None or node is self.module:
            return found if found is not None else default
        return self._full()[0].get(node, default)

    def in_source_order(self, items: Iterable[_T]) -> list[_T]:
        """``FileContext.in_source_order``: sorted by the nodes' place in the source."""
        items = list(items)
        keys = [self._order.get(getattr(x, "node", None)) for x in items]  # type: ignore[arg-type]
        if all(k is not None for k in keys):
            return [x for _, x in sorted(zip(keys, items), key=lambda kx: kx[0])]  # type: ignore[arg-type, return-value]
        order = self._full()[1]
        return sorted(items, key=lambda x: order.get(getattr(x, "node", None), -1))  # type: ignore[arg-type]


def global_scope_for(
    module: cst.Module, names: Iterable[str], indexes: Sequence[int] | None = None
) -> GlobalScope:
    """LibCST's global scope as far as ``names`` go, from the statements that mention them.

    Whether a name in a top-level statement refers to a module global depends only on that
    statement's own scopes and on the module's bindings of the name; every binding of a name,
    and every reference to it (``__all__`` entries and string annotations included), spells
    it out in its statement. So ``ScopeProvider`` over only the statements whose code contains
    one of ``names`` as a word (plus ``from __future__`` imports) finds the same assignments and
    accesses for those names as over the whole module, on the same node objects, for a
    fraction of the cost. Nothing else in the returned scope is complete.
    """
    from libcst.metadata import MetadataWrapper, ScopeProvider

    picked = statements_naming(module, names) if indexes is None else indexes
    body = [module.body[i] for i in picked]
    sub = module.with_changes(body=body)
    scope = MetadataWrapper(sub, unsafe_skip_copy=True).resolve(ScopeProvider)[sub]
    assert isinstance(scope, GlobalScope)
    return scope
