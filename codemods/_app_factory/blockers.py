"""app-factory: the blockers: each a small named method that raises :class:`Blocked` for one way
moving the app into the factory would change what the program does.

A part of the analyzer (:class:`codemods._app_factory.analyzer.Analyzer` mixes these in), kept apart
for size; its methods use the analyzer's state.
"""

from __future__ import annotations

import libcst as cst

from codemods import _cst as u
from codemods._api import Blocked, Location
from codemods._app_factory.plan import FACTORY, Plan
from codemods._app_factory.syntax import (
    _assigned_call_with,
    _bound_names,
    _mutates,
    _names_in,
)


class Blockers:
    def check(self, plan: Plan, from_object_self: int | None) -> list:
        """Block what the factory would change; list what keeps using the module-level app.
        Each blocker below raises :class:`Blocked` for one way the rewrite could change
        behaviour."""
        users, related = self._app_users_at_module_level(plan)
        read_by_factory = self._names_read(plan)
        self._factory_calls_an_app_user(plan, users)
        self._registered_function_rebound(plan)
        self._rebound_after_the_factory_reads_it(plan, read_by_factory)
        self._stays_between_configuration_lines(plan, read_by_factory, set(users))
        self._bound_after_from_object(from_object_self)
        return related

    def _app_users_at_module_level(self, plan: Plan) -> tuple[dict[str, cst.CSTNode], list]:
        """Code that stays at module level and uses the app: functions may (once
        ``app = create_app()`` ran), the ``__main__`` guard after the configuration may; what
        runs at import before the factory would have built the app may not."""
        app = plan.app
        related = []
        last = max(plan.roles)
        # Functions that use the app when called: fine once `app = create_app()` ran.
        users: dict[str, cst.CSTNode] = {}
        for ref in self.refs(app):
            if self.moved_ref(ref, plan, set()):
                continue
            i = self.top(ref)
            stmt = self.body[i]
            if self.deferred(ref) and isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                if plan.mode == "none":
                    raise Blocked(
                        f'`{stmt.name.value}` uses `{app}`, which `module-app = "none"` removes',
                        ref,
                        f"uses `{app}`",
                    )
                users.setdefault(stmt.name.value, ref)
                continue
            if self._under_main_guard(ref, stmt):
                # Runs only as a script, after the whole module: `app = create_app()` has run.
                if i < last:
                    raise Blocked(
                        f'`if __name__ == "__main__":` uses `{app}` before the app\'s configuration ends, '
                        f"so as a script it would run before `{FACTORY}()` is called",
                        ref,
                        f"uses `{app}`",
                    )
                if plan.mode == "none":
                    plan.main_guard = i  # the script builds its own app
                continue
            if i < last:
                value = _assigned_call_with(stmt, app)
                if value:
                    raise Blocked(
                        f"`{value}` is built from the module-level app before `{FACTORY}()` would have built it "
                        f"(a Flask extension: build it without `{app}` and call `{value}.init_app({app})` in the factory)",
                        ref,
                        f"`{value}` is built from `{app}`",
                    )
                raise Blocked(
                    f"a statement that stays at module level uses `{app}` before `{FACTORY}()` would have built it",
                    ref,
                    f"uses `{app}`",
                )
            if plan.mode == "none":
                raise Blocked(
                    f'module-level code uses `{app}`, which `module-app = "none"` removes',
                    ref,
                    f"uses `{app}`",
                )
        for fname, ref in sorted(users.items(), key=lambda kv: self.ctx.line(kv[1])):
            related.append(
                (
                    Location(self.ctx.path, self.ctx.line(ref)),
                    f"`{fname}` keeps using the module-level `{app}`",
                )
            )
        return users, related

    def _factory_calls_an_app_user(self, plan: Plan, users: dict[str, cst.CSTNode]) -> None:
        """The factory calls a function that reads the module-level app before it exists."""
        app = plan.app
        app_users = set(users)
        for n in sorted(self._called_by_factory(plan)):
            if n in app_users:
                raise Blocked(
                    f"the factory calls `{n}`, which reads the module-level `{app}` before `{FACTORY}()` returns it",
                    users[n],
                    f"`{n}` reads `{app}`",
                )

    def _registered_function_rebound(self, plan: Plan) -> None:
        """A registered function's name is bound again: the factory would register that."""
        for i, role in sorted(plan.roles.items()):
            if role == "register":
                fname = self.body[i].name.value  # type: ignore[attr-defined]
                others = [
                    a for a in self.ctx.in_source_order(self.gscope.assignments[fname])
                    if getattr(a, "node", None) is not self.body[i]
                ]  # fmt: skip
                if others:
                    where = getattr(others[0], "node", None)
                    raise Blocked(
                        f"`{fname}` is bound again, so the factory would register that instead of the decorated function",
                        where if isinstance(where, cst.CSTNode) else None,
                        f"`{fname}` is bound again here",
                    )

    def _rebound_after_the_factory_reads_it(self, plan: Plan, read_by_factory: dict[str, int]) -> None:
        """A name the factory reads is bound more than once: it would read only its last value."""
        app = plan.app
        for n in sorted(read_by_factory):
            if n != app and len(self.gscope.assignments[n]) > 1 and not self._moved_binding(n, plan):
                nodes = [
                    a.node
                    for a in self.gscope.assignments[n]
                    if isinstance(getattr(a, "node", None), cst.CSTNode)
                ]
                if len(nodes) == len(self.gscope.assignments[n]) and all(
                    not self.deferred(x) and self.top(x) < read_by_factory[n] for x in nodes
                ):
                    continue  # computed in full before the factory first reads it: it reads the same value
                later_node = min(
                    (x for x in nodes if self.top(x) >= read_by_factory[n]), key=self.ctx.line, default=None
                )
                later = self.ctx.line(later_node) if later_node is not None else None
                line, why = self.kept.get(n, (None, ""))
                if line is not None:
                    raise Blocked(
                        f"`{n}` is rebound after the app's configuration first reads it (line {later}), and can't move "
                        f"into `{FACTORY}()` with it: it is also used outside the factory",
                        line,
                        why,
                    )
                raise Blocked(
                    f"`{n}` is bound more than once at module level, and the factory would read only its last value",
                    later_node,
                    f"`{n}` is bound again here",
                )

    def _stays_between_configuration_lines(
        self, plan: Plan, read_by_factory: dict[str, int], app_users: set[str]
    ) -> None:
        """Statements that stay, between the app's configuration lines, now run before it."""
        app = plan.app
        moved = set(plan.roles)
        last = max(moved)
        first_moved = min(moved)
        bound = self._bound_by_statement()
        extension_objects = {split.target for split in plan.extensions.values()}
        for i in range(first_moved, last):
            if i in plan.extensions:
                # Its module-level part now runs before the factory: what it does more with
                # than store must not be something the factory changed first.
                for n in sorted(plan.extensions[i].reads):
                    if (
                        read_by_factory.get(n, i) < i
                        and not self._is_import_binding(n)
                        and n not in extension_objects
                    ):
                        raise Blocked(
                            f"`{plan.extensions[i].target}` is built from `{n}`, which the factory uses first; "
                            f"built at module level, it would see `{n}` before that",
                            self.body[i],
                            f"uses `{n}`",
                        )
                continue
            if i in moved:
                continue
            stmt = self.body[i]
            if isinstance(stmt, cst.SimpleStatementLine) and all(
                isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
            ):
                continue
            for node in self._executed_names(stmt):
                n = node.value
                if n in extension_objects:
                    # `class User(db.Model)`, `@login.user_loader`: they use what the extension's
                    # constructor built, which its verdict says `init_app` doesn't change.
                    continue
                if n in app_users:
                    raise Blocked(
                        f"a statement between the app's configuration lines uses `{n}`, which uses `{app}` before `{FACTORY}()` would have built it",
                        node,
                        f"uses `{n}`",
                    )
                # It ran after a factory statement that reads the same object: now it runs first.
                if read_by_factory.get(n, i) < i and (not self._is_import_binding(n) or _mutates(stmt, n)):
                    kept = sorted(
                        m for m in bound.get(i, ()) if m in self.kept and self.kept[m][0] is not None
                    )
                    if kept:
                        line, why = self.kept[kept[0]]
                        raise Blocked(
                            f"`{kept[0]}` can't move into `{FACTORY}()` (it is also used outside it), and at module level "
                            f"it would now be computed from `{n}` before the app's configuration that first reads `{n}`",
                            line,
                            why,
                        )
                    raise Blocked(
                        f"a statement between the app's configuration lines uses `{n}`, which the factory uses too; it would now run before them",
                        node,
                        f"uses `{n}`",
                    )

    def _bound_after_from_object(self, from_object_self: int | None) -> None:
        """``config.from_object(__name__)`` would gain the upper-case names bound after it."""
        if from_object_self is not None:
            for i in range(from_object_self + 1, len(self.body)):
                for small in u.iter_small_statements(self.body[i]):
                    for t in _bound_names(small):
                        if t.isupper():
                            raise Blocked(
                                f"`{t}` is bound after `config.from_object(__name__)`, so the factory's config would gain it",
                                self.body[i],
                                "bound here",
                            )

    def _under_main_guard(self, node: cst.CSTNode, stmt: cst.BaseStatement) -> bool:
        """In the body (not the ``else``) of a top-level ``if __name__ == "__main__":``."""
        if not (isinstance(stmt, cst.If) and u.is_main_guard(stmt)):
            return False
        child = node
        while child is not None and child is not stmt:
            if child is stmt.body:
                return True
            child = self.parents.get(child)
        return False

    def _called_by_factory(self, plan: Plan) -> set[str]:
        """Names the factory calls while it runs (not inside a lambda or nested function)."""
        out: set[str] = set()
        for i in plan.roles:
            for node in self._factory_nodes(plan, i):
                for n in _names_in(node):
                    parent = self.parents.get(n)
                    if isinstance(parent, cst.Call) and parent.func is n and not self.deferred(n):
                        out.add(n.value)
        return out

    def _moved_binding(self, name: str, plan: Plan) -> bool:
        """Every binding of ``name`` is in a statement that moves into the factory (a local there)."""
        for a in self.gscope.assignments[name]:
            node = getattr(a, "node", None)
            if not isinstance(node, cst.CSTNode) or plan.roles.get(self.top(node)) != "move":
                return False
        return True

    def _names_read(self, plan: Plan) -> dict[str, int]:
        """Names the factory reads -> the first statement (index) that reads each."""
        out: dict[str, int] = {}
        for i in sorted(plan.roles):
            for n in self._factory_nodes(plan, i):
                for x in _names_in(n):
                    out.setdefault(x.value, i)
        return out

    def _executed_names(self, stmt: cst.BaseStatement) -> list[cst.Name]:
        """Names the statement reads when it runs (not its own def name, not its parameters)."""
        out = []
        for n in _names_in(stmt):
            parent = self.parents.get(n)
            if isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is n:
                continue
            if isinstance(parent, cst.Param) and parent.name is n:
                continue
            if not self.deferred(n):
                out.append(n)
        return out

    def _is_import_binding(self, name: str) -> bool:
        from libcst.metadata import ImportAssignment

        return all(isinstance(a, ImportAssignment) for a in self.gscope.assignments[name])
