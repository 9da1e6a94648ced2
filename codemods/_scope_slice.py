"""Scope analysis, parents and source order over only the statements that name some names:
what lazy-singletons asks about its singletons, and heavy-imports about its imports, costs a
fraction of the whole module's analysis, with the same answers (``tests/test_scope_slice.py``
holds them to the whole module's).

A statement that does not spell a name out can't bind it, declare it ``global`` or read it.
So scope analysis over the top-level statements that mention one of the names, with the
bodies of the functions and classes among them cut down the same way (:class:`Slice`), finds
the same bindings and reads of those names, on the same node objects. LibCST orders a read
and a binding in one scope by counting the assignments before each; the comparison is
strict, so leaving out statements between them never changes it.

One read does depend on other names: LibCST reads a string as a type hint (and the names in
it as reads) only in a call it resolves to ``typing.cast``, ``typing.TypeVar`` or
``typing.NewType``. So the statements that name ``typing`` stay too, wherever they are: a
``from typing import cast`` inside a function that reads ``"Tuple[str, str]"`` keeps that
read of ``Tuple``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

import libcst as cst
from libcst.metadata import GlobalScope

from codemods._cst import _Parents, is_future_import

_T = TypeVar("_T")

#: The words a statement binding a string-reading call (``typing.cast``, ``TypeVar``,
#: ``NewType``) spells out, however it is imported.
_HINT_BINDERS = ("typing",)


def statements_naming(
    module: cst.Module, names: Iterable[str], code_of: Callable[[cst.CSTNode], str] | None = None
) -> list[int]:
    """Indexes of the top-level statements whose code contains one of ``names`` as a word,
    and of the ``from __future__`` imports (what a :class:`Slice` keeps)."""
    return Slice(module, names, code_of or module.code_for_node).picked


class Slice:
    """The top-level statements that mention one of ``names`` (and ``from __future__``
    imports), with the bodies of the functions and classes among them, at any depth, cut
    to the statements that mention one (``pass`` when none does). A function or class whose
    own name is one of them is kept whole: scope analysis hands it out as the binding, and
    it must be the module's own node. ``code_of`` gives a statement's code
    (``SourcePositions.statement_code``)."""

    def __init__(
        self, module: cst.Module, names: Iterable[str], code_of: Callable[[cst.CSTNode], str]
    ) -> None:
        self.names = set(names)
        wanted = [*sorted(self.names), *_HINT_BINDERS]
        self._pattern = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, wanted)) + r")\b") if self.names else None
        )
        self._code_of = code_of
        #: ids of the statements left out of the bodies kept (their subtrees are not visited).
        self.skipped: set[int] = set()
        self.picked = [
            i for i, stmt in enumerate(module.body) if is_future_import(stmt) or self._mentions(stmt)
        ]  # fmt: skip
        self.body = [self._cut(module.body[i]) for i in self.picked]

    def _mentions(self, stmt: cst.CSTNode) -> bool:
        return self._pattern is not None and self._pattern.search(self._code_of(stmt)) is not None

    def _cut(self, stmt: cst.BaseStatement) -> cst.BaseStatement:
        if not isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) or stmt.name.value in self.names:
            return stmt
        block = stmt.body
        if not isinstance(block, cst.IndentedBlock):
            return stmt
        kept: list[cst.BaseStatement] = []
        for inner in block.body:
            if self._mentions(inner):
                kept.append(self._cut(inner))
            else:
                self.skipped.add(id(inner))
        if len(kept) == len(block.body) and all(a is b for a, b in zip(kept, block.body)):
            return stmt
        if not kept:
            kept = [cst.SimpleStatementLine([cst.Pass()])]
        return stmt.with_changes(body=block.with_changes(body=kept))

    def global_scope(self, module: cst.Module) -> GlobalScope:
        """LibCST's global scope of the slice: complete for ``names`` only."""
        from libcst.metadata import MetadataWrapper, ScopeProvider

        sub = module.with_changes(body=self.body)
        scope = MetadataWrapper(sub, unsafe_skip_copy=True).resolve(ScopeProvider)[sub]
        assert isinstance(scope, GlobalScope)
        return scope


class _SkippingParents(_Parents):
    """Parents, without descending into the statements a :class:`Slice` left out."""

    def __init__(self, skipped: set[int]) -> None:
        super().__init__()
        self._skipped = skipped

    def on_visit(self, node: cst.CSTNode) -> bool:
        super().on_visit(node)
        return id(node) not in self._skipped


class SlicedTree:
    """Parents and source order for the nodes of some top-level statements only (the ones a
    :class:`Slice` picked, without the statements it left out of their bodies: ``skipped``),
    at the cost of visiting those: a file's analysis asks about the nodes scope analysis
    found, and their ancestors, which all lie there. A question about any other node
    is answered from the whole module's maps (``full``, computed once, on the first such
    question), so every answer is the one the whole module's maps give."""

    def __init__(
        self,
        module: cst.Module,
        indexes: Iterable[int],
        full: Callable[[], tuple[Mapping[cst.CSTNode, cst.CSTNode], Mapping[cst.CSTNode, int]]],
        skipped: set[int] | None = None,
    ) -> None:
        self.module = module
        self._full = full
        self._parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._order: dict[cst.CSTNode, tuple[int, int]] = {}
        for i in indexes:
            stmt = module.body[i]
            v = _SkippingParents(skipped) if skipped else _Parents()
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
        return self._sorted(items, [getattr(x, "node", None) for x in items])

    def sort_nodes(self, nodes: list[cst.CSTNode]) -> list[cst.CSTNode]:
        """``nodes`` sorted by their place in the source."""
        return self._sorted(nodes, nodes)

    def _sorted(self, items: list[_T], nodes: list) -> list[_T]:  # type: ignore[type-arg]
        """``items`` in the source order of ``nodes`` (one each): by the slice's order when it
        holds them all, else by the whole module's."""
        keys = [self._order.get(n) for n in nodes]
        if all(k is not None for k in keys):
            return [x for _, x in sorted(zip(keys, items), key=lambda kx: kx[0])]  # type: ignore[arg-type, return-value]
        order = self._full()[1]
        ranks = [order.get(n, -1) for n in nodes]
        return [x for _, x in sorted(zip(ranks, items), key=lambda rx: rx[0])]


def global_scope_for(module: cst.Module, names: Iterable[str]) -> GlobalScope:
    """LibCST's global scope as far as ``names`` go, from a :class:`Slice` of the module for
    them: the same assignments and accesses for those names as over the whole module, on the
    same node objects, for a fraction of the cost. Nothing else in it is complete."""
    return Slice(module, names, module.code_for_node).global_scope(module)
