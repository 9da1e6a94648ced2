"""app-factory: the module-level values only the configuration reads, computed in steps or under
`if`/`try`: which of them move into the factory with it, and which read keeps one at module
level.

A part of the analyzer (:class:`codemods._app_factory.analyzer.Analyzer` mixes these in), kept apart
for size; its methods use the analyzer's state.
"""

from __future__ import annotations

import re

import libcst as cst

from codemods import _cst as u
from codemods._api import Blocked, Location
from codemods._app_factory.plan import FACTORY, Plan
from codemods._app_factory.syntax import (
    _blocks,
)
from codemods._exports import exports


class Values:
    def movable_values(self, plan: Plan, from_object_self: int | None) -> None:
        """Statements that compute values only the factory reads move into it, in order:
        assignments (also a name bound in steps: ``origins = ...`` then rebound under an
        ``if``), ``if``/``try``/``for`` blocks of assignments, and imports after the app. A
        name moves with all of its bindings or not at all. What a block that configures the
        app binds must move with it: a read outside the factory blocks, naming that read."""
        view = self.ctx.project
        keep_all = bool(view.star_imported_by) or self._uses_globals_dict()
        exported = exports(self.module)
        bound = self._bound_by_statement()
        #: statement -> the names it binds; `values` are the ones that may move
        candidates: dict[int, set[str]] = {}
        for i, stmt in enumerate(self.body):
            if i == plan.create:
                continue
            if i in plan.roles:
                if plan.roles[i] == "move" and bound.get(i):
                    candidates[i] = bound[i]  # a block that configures the app: must move
                continue
            if self._computes_value(i, stmt, plan) and bound.get(i):
                candidates[i] = bound[i]
        #: name -> (line, why) of what keeps it at module level
        kept: dict[str, tuple[cst.CSTNode | Location | None, str]] = {}

        def keeps(n: str) -> tuple[cst.CSTNode | Location | None, str] | None:
            if keep_all:
                return None, "the module is star-imported or reads `globals()`"
            if n == plan.app:
                return None, f"`{n}` is the app"
            if n in exported or n.startswith("__"):
                return None, f"`{n}` is part of the module's interface"
            if from_object_self is not None and n.isupper():
                return None, "`config.from_object(__name__)` reads it from the module"
            for loc, how in view.refs_to(n):
                return loc, how
            return None

        values = set(candidates)
        for names in candidates.values():
            for n in names:
                why = keeps(n)
                if why is not None:
                    kept.setdefault(n, why)
        changed = True
        while changed:
            changed = False
            for i in sorted(values):
                for n in sorted(candidates[i]):
                    why = kept.get(n)
                    if why is None:
                        why = self._kept_by(n, plan, values)
                    if why is not None:
                        kept.setdefault(n, why)
                        values.discard(i)
                        changed = True
                        break
        for i in sorted(candidates):
            if i in plan.roles and i not in values:
                n = next(n for n in sorted(candidates[i]) if n in kept)
                line, why = kept[n]
                raise Blocked(
                    f"`{n}` is bound by a block that configures `{plan.app}` (line {self.ctx.line(self.body[i])}), "
                    f"so it would become local to `{FACTORY}()`, but it is also used outside it",
                    line,
                    why,
                )
        for i in values:
            plan.roles[i] = "move"
        self.kept = kept

    def _kept_by(
        self, n: str, plan: Plan, values: set[int]
    ) -> tuple[cst.CSTNode | Location | None, str] | None:
        """Why ``n`` can't become a local of the factory: a binding that stays, or a read
        outside it (the first, in source order); None when nothing keeps it."""
        for a in self.ctx.in_source_order(self.gscope.assignments[n]):
            node = getattr(a, "node", None)
            if not isinstance(node, cst.CSTNode):
                return None, f"`{n}` is bound outside the module's statements"
            i = self.top(node)
            if self.deferred(node) or (plan.roles.get(i) != "move" and i not in values):
                return node, f"`{n}` is bound here, at module level"
        for r in self.refs(n):
            if not self.moved_ref(r, plan, values):
                return r, f"reads `{n}` outside the factory"
        configuring = any(
            plan.roles.get(self.top(a.node)) == "move"
            for a in self.gscope.assignments[n]
            if isinstance(getattr(a, "node", None), cst.CSTNode)
        )
        if not configuring and not self.refs(n):
            return None, f"nothing in the factory reads `{n}`"
        return None

    def _bound_by_statement(self) -> dict[int, set[str]]:
        """Top-level statement -> the module-level names it binds."""
        out: dict[int, set[str]] = {}
        for a in self.gscope.assignments:
            node = getattr(a, "node", None)
            if isinstance(node, cst.CSTNode):
                out.setdefault(self.top(node), set()).add(a.name)
        return out

    def _computes_value(self, i: int, stmt: cst.BaseStatement, plan: Plan) -> bool:
        """Assignments, and blocks of only assignments (``if``/``try``/``for``), that may
        move; imports only after the app (the ones that register routers at the bottom)."""
        if isinstance(stmt, cst.SimpleStatementLine):
            if len(stmt.body) != 1:
                return False
            small = stmt.body[0]
            if isinstance(small, cst.Assign):
                return all(isinstance(t.target, cst.Name) for t in small.targets)
            if isinstance(small, cst.AnnAssign):
                return small.value is not None and isinstance(small.target, cst.Name)
            if isinstance(small, cst.AugAssign):
                return isinstance(small.target, cst.Name)
            if isinstance(small, (cst.Import, cst.ImportFrom)) and i > plan.create:
                if isinstance(small, cst.ImportFrom) and (
                    isinstance(small.names, cst.ImportStar) or u.dotted_name(small.module) == "__future__"
                ):
                    return False
                return True
            return False
        if isinstance(stmt, cst.If) and (u.is_main_guard(stmt) or u.is_type_checking_test(stmt.test)):
            return False
        if isinstance(stmt, (cst.If, cst.Try, cst.For)) and not (
            isinstance(stmt, cst.For) and stmt.asynchronous
        ):
            return all(self._only_assigns(b) for b in _blocks(stmt))
        return False

    def _only_assigns(self, block: cst.BaseSuite) -> bool:
        if not isinstance(block, cst.IndentedBlock):
            return False
        for stmt in block.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar):
                        return False
                    if not isinstance(
                        small,
                        (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Import, cst.ImportFrom, cst.Pass),
                    ):
                        return False
            elif isinstance(stmt, (cst.If, cst.Try, cst.For)):
                if not all(self._only_assigns(b) for b in _blocks(stmt)):
                    return False
            else:
                return False
        return True

    def _uses_globals_dict(self) -> bool:
        return bool(re.search(r"\b(?:globals|vars|locals)\s*\(", self.module.code))
