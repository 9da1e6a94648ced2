"""lazy-singletons, stage 3: the rewrite of one file, from what its analysis decided: each
singleton's assignment becomes a getter (with the old name still importable through a module
``__getattr__``), and every read of it, here and in the modules that import it, a call.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field

import libcst as cst

from codemods import _cst as u
from codemods import _imports as imports
from codemods._api import (
    FileContext,
)
from codemods._getattr import add_getattr_branches
from codemods._imports import LINE_LENGTH
from codemods._singleton_plan import (
    Plan,
)


@dataclass
class _Own:
    plan: Plan
    index: int
    value: cst.BaseExpression
    #: Reads of the name to replace with a getter call (functions, other lazy values).
    reads: list[cst.Name] = field(default_factory=list)
    schema: list[int] = field(default_factory=list)  # statement indexes moved into the getter
    schema_reads: list[cst.Name] = field(default_factory=list)
    #: Top-level statements holding the reads (the only ones the rewriter visits).
    touched: set[int] = field(default_factory=set)
    #: Index of the module's own ``def get_x(): return x``, which the getter replaces.
    accessor: int | None = None


@dataclass
class _Ref:
    """A plan of another module that this module reads."""

    plan: Plan
    #: Reads to replace with ``getter()`` (a Name, or an Attribute ``m.x``).
    reads: list[cst.BaseExpression] = field(default_factory=list)
    #: (statement index, alias) of ``from m import x`` to change into the getter.
    aliases: list[tuple[int, cst.ImportAlias]] = field(default_factory=list)
    keep_alias: bool = False
    local_getter: str = ""
    touched: set[int] = field(default_factory=set)
    #: Indexes of this module's schema statements that move into the plan's getter.
    removed: list[int] = field(default_factory=list)
    #: The name this module passes on and answers from its ``__getattr__`` (its plan's
    #: ``forwards``), and the import that declares it for type checkers.
    forward: str = ""
    forward_import: str = ""


@dataclass
class _Plan:
    own: dict[str, _Own]
    refs: dict[str, _Ref]


class _Rewriter(cst.CSTTransformer):
    def __init__(self, ctx: FileContext, own: dict[str, _Own], refs: dict[str, _Ref]) -> None:
        super().__init__()
        self.ctx = ctx
        self.module = ctx.module
        self.own = own
        self.refs = refs
        self.calls: dict[cst.CSTNode, cst.BaseExpression] = {}
        for o in own.values():
            for n in o.reads:
                self.calls[n] = cst.Call(func=cst.Name(o.plan.getter))
            for n in o.schema_reads:
                self.calls[n] = cst.Name("instance")
        for r in refs.values():
            for n in r.reads:
                if isinstance(n, cst.Attribute):
                    self.calls[n] = cst.Call(func=n.with_changes(attr=cst.Name(r.plan.getter)))
                else:
                    self.calls[n] = cst.Call(func=cst.Name(r.local_getter))

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        new = self.calls.get(original)
        if new is not None:
            if isinstance(original, cst.Attribute) and isinstance(new, cst.Call):
                return new.with_changes(func=updated.with_changes(attr=new.func.attr), lpar=updated.lpar, rpar=updated.rpar)  # type: ignore[attr-defined]
            if isinstance(new, cst.Call):
                return new.with_changes(lpar=getattr(updated, "lpar", ()), rpar=getattr(updated, "rpar", ()))
            return new
        return updated

    def rewrite(self) -> cst.Module:
        touched = {i for o in self.own.values() for i in o.touched} | {
            i for r in self.refs.values() for i in r.touched
        }
        new_module = u.visit_touched(self.module, self, touched)
        body = list(new_module.body)
        original = self.module.body
        build = [o for o in self.own.values() if o.plan.kind == "build"]
        replaced = {o.index: o for o in build}
        # Statements the getters take the place of: schema work (here or moved from the modules
        # that had it), and the accessors they become.
        schema = {i for o in build for i in o.schema} | {i for r in self.refs.values() for i in r.removed}
        schema |= {o.accessor for o in build if o.accessor is not None}
        ref_alias: dict[int, list[tuple[cst.ImportAlias, _Ref]]] = {}
        for r in self.refs.values():
            for index, alias in r.aliases:
                ref_alias.setdefault(index, []).append((alias, r))

        needs_tc: list[str] = []
        tc_imports: list[str] = []
        out: list[cst.BaseStatement] = []
        lock_added = False
        after_generated = False
        for i, stmt in enumerate(body):
            if i in schema:
                continue
            if i in ref_alias:
                swapped = _swap_aliases(original[i], ref_alias[i])  # type: ignore[arg-type]
                if swapped is None:  # it imported only what moved away
                    if i + 1 < len(body) and i + 1 not in schema:
                        body[i + 1] = body[i + 1].with_changes(leading_lines=[*original[i].leading_lines, *body[i + 1].leading_lines])  # type: ignore[union-attr]
                    continue
                stmt = swapped
            if i in replaced:
                o = replaced[i]
                generated, annotation, tc = self._generated(o, body)
                if tc:
                    tc_imports.append(tc)
                needs_tc.append(
                    f"{o.plan.name}: {annotation}" if annotation else f"{o.plan.name} = {o.plan.getter}()"
                )
                if not lock_added:
                    lock = cst.parse_module(
                        "_lazify_lock = threading.RLock()\n"
                        "_lazify_building: set[str] = set()  # names whose getter is building them\n"
                    ).body
                    generated[0:0] = [lock[0].with_changes(leading_lines=original[i].leading_lines), lock[1]]
                    lock_added = True
                else:
                    lead = [*original[i].leading_lines, *generated[0].leading_lines]  # type: ignore[attr-defined]
                    generated[0] = u.ensure_blank_lines(
                        generated[0].with_changes(leading_lines=lead), 2 if after_generated else 0
                    )
                out.extend(generated)
                after_generated = True
                continue
            if after_generated:
                stmt = u.ensure_blank_lines(stmt, 2)
                after_generated = False
            out.append(stmt)
            continue

        if build:
            first_party = self.ctx.project.first_party
            out = imports.add_import(out, "import threading", first_party=first_party)
            guard = imports.ensure_type_checking(out, first_party)
            if tc_imports:
                out = imports.add_type_checking_imports(out, list(dict.fromkeys(tc_imports)), first_party)
            # While a getter builds its object the name stays unbound, as it was while the
            # import ran: `hasattr(module, name)` is false then, instead of re-entering the getter.
            # Defined before a closing `if __name__ == "__main__":`, so the script part still
            # runs on a fully built module.
            last = len(out) - 2 if len(out) > 1 and u.is_main_guard(out[-1]) else len(out) - 1
            # The old names for type checkers, in one block above the `__getattr__` that
            # answers them at run time.
            out, last = _declare(out, needs_tc, guard, last)
            out = add_getattr_branches(
                out,
                [(o.plan.name, f"{o.plan.getter}()", "name not in _lazify_building") for o in build],
                last,
            )
        forwards = [r for r in self.refs.values() if r.forward]
        if forwards:
            # The names this module passes on: declared for type checkers as they were
            # imported, answered at run time by the getters they are imported as now.
            first_party = self.ctx.project.first_party
            out = imports.add_type_checking_imports(out, [r.forward_import for r in forwards], first_party)
            last = len(out) - 2 if len(out) > 1 and u.is_main_guard(out[-1]) else len(out) - 1
            out = add_getattr_branches(out, [(r.forward, f"{r.local_getter}()") for r in forwards], last)
        return new_module.with_changes(body=out)

    def _generated(
        self, o: _Own, body: list[cst.BaseStatement]
    ) -> tuple[list[cst.BaseStatement], str | None, str | None]:
        p = o.plan
        value = self.module.code_for_node(o.value)
        # Reads inside the value were replaced by the transformer: take the updated statement's value.
        updated = body[o.index]
        assert isinstance(updated, cst.SimpleStatementLine)
        small = updated.body[0]
        value = cst.Module(body=[]).code_for_node(small.value)  # type: ignore[union-attr]
        annotation, tc = _annotation(p.returns, self.ctx)
        returns = f" -> {_quoted(annotation)}" if annotation else ""
        doc = f'"""Return `{p.name}`, built on first use (lazify)."""'
        accessor = self.module.body[o.accessor] if o.accessor is not None else None
        if isinstance(accessor, cst.FunctionDef):
            # The module's own accessor: its signature and docstring stay as they were.
            ann = accessor.returns
            returns = f" -> {self.module.code_for_node(ann.annotation)}" if ann else ""
            if not annotation and ann:
                annotation, tc = self.module.code_for_node(ann.annotation), None
            first = accessor.body.body[0]  # type: ignore[union-attr]
            if u.is_docstring(first):
                doc = cst.Module(body=[first]).code.strip("\n")
        schema_code = ""
        for i in o.schema:
            stmt = body[i]
            schema_code += "".join(
                " " * _BUILD_DEPTH + line + "\n"
                for line in cst.Module(body=[stmt]).code.strip("\n").split("\n")
            )
        for path, line, code in p.remote_schema:
            # On its own line: a trailing comment could push the statement past the line length.
            schema_code += (
                " " * _BUILD_DEPTH + f"# moved here from {path}:{line}\n" + " " * _BUILD_DEPTH + f"{code}\n"
            )
        target = "instance" if schema_code else p.name
        value = _reindent(_split_call(value, _BUILD_DEPTH + len(f"{target} = ")), " " * _BUILD_DEPTH)
        pad = " " * _BUILD_DEPTH
        if schema_code:
            build = f"{pad}instance = {value}\n{schema_code}{pad}{p.name} = instance\n"
        else:
            build = f"{pad}{p.name} = {value}\n"
        said = updated.trailing_whitespace.comment
        if said is not None and not _PRAGMA.match(said.value):
            # The statement's trailing comment stays with it, on its own line above (after the
            # move it could push the line past the length).
            build = f"{pad}{said.value}\n{build}"
        # Built once: first calls that race wait on the lock, and find it built. While it is
        # built the name is unbound, as it was during the import: a read of it then (the
        # constructor looking its own name up) raises NameError from the `return`, instead of
        # re-entering the getter.
        code = (
            f'globals().pop("{p.name}", None)\n'
            f"\n\ndef {p.getter}(){returns}:\n"
            f"    {doc}\n"
            f"    global {p.name}\n"
            f"    with _lazify_lock:\n"
            f"{_unbuilt(p.name)}"
            f'            _lazify_building.add("{p.name}")\n'
            f"            try:\n"
            f"{build}"
            f"            finally:\n"
            f'                _lazify_building.discard("{p.name}")\n'
            f"    return {p.name}\n"
        )
        stmts = list(cst.parse_module(code).body)
        # A comment of its own, kept short: a long trailing one would make black split the call.
        why = cst.Comment("# a reload builds it afresh")
        if len(f'globals().pop("{p.name}", None)  {why.value}') <= LINE_LENGTH:
            trailing = cst.TrailingWhitespace(whitespace=cst.SimpleWhitespace("  "), comment=why)
            stmts[0] = stmts[0].with_changes(trailing_whitespace=trailing)
        else:
            stmts[0] = stmts[0].with_changes(leading_lines=[cst.EmptyLine(comment=why)])
        if accessor is not None:
            # Its comments (above it, or in it) go above the getter it became.
            comments = [cst.EmptyLine(comment=c) for c in _comments(accessor)]
            stmts[1] = stmts[1].with_changes(leading_lines=[*stmts[1].leading_lines, *comments])
        return stmts, annotation, tc


#: Comments addressed to tools about the line they end: meaningless on a line of their own.
_PRAGMA = re.compile(r"#\s*(noqa|type:|pragma|fmt:|lazify:|pyright:|mypy:|pylint:|nosec)", re.IGNORECASE)


def _declare(
    body: list[cst.BaseStatement], declarations: list[str], guard: str, last: int
) -> tuple[list[cst.BaseStatement], int]:
    """``if TYPE_CHECKING:`` with the old names' declarations after statement ``last``, where the
    module's ``__getattr__`` then goes; and the index it goes after. (A module that already has
    a ``__getattr__``, lazify's own included, is blocked by the plan, so there is never a
    block to extend.)"""
    code = f"if {guard}:\n" + "".join(f"    {d}\n" for d in declarations)
    new = cst.parse_statement(code).with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
    body.insert(last + 1, new)
    if last + 2 < len(body):
        body[last + 2] = u.ensure_blank_lines(body[last + 2], 2)
    return body, last + 1


#: The indentation of the line that builds the object in the generated getter.
_BUILD_DEPTH = 16


def _unbuilt(name: str) -> str:
    """The getter's test, "neither built nor being built", laid out as black would."""
    test = f'"{name}" not in globals() and "{name}" not in _lazify_building'
    if len(f"        if {test}:") <= LINE_LENGTH:
        return f"        if {test}:\n"
    if len(f"            {test}") <= LINE_LENGTH:
        return f"        if (\n            {test}\n        ):\n"
    return f'        if (\n            "{name}" not in globals()\n            and "{name}" not in _lazify_building\n        ):\n'


def _split_call(value: str, first: int, width: int = LINE_LENGTH) -> str:
    """A one-line call that no longer fits once moved ``first`` columns in, split as black
    splits it: the arguments on one line of their own, else one a line with a trailing comma
    (continuation lines at depth 0, for ``_reindent``). Anything else is left as it is."""
    if "\n" in value:
        # Already split as black's right-hand split (`f(\n    args\n)`): moved deeper, the
        # arguments' line may no longer fit; lay it out again from one line.
        lines = value.split("\n")
        if not (len(lines) == 3 and lines[0].endswith("(") and lines[2].strip() == ")"):
            return value
        if _BUILD_DEPTH + len(lines[1]) <= width:
            return value
        value = lines[0] + lines[1].strip() + ")"
        if "\n" in _split_call(value, first, width):
            return _split_call(value, first, width)
        return "\n".join(lines)
    if first + len(value) <= width:
        return value
    try:
        call = ast.parse(value, mode="eval").body
    except SyntaxError:
        return value
    if (
        not isinstance(call, ast.Call)
        or not (call.args or call.keywords)
        or call.end_col_offset != len(value)
    ):
        return value
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return value  # black's splits of *args / **kwargs follow the same rule, but keep it simple
    head = value[: call.func.end_col_offset]
    if not value[len(head) :].startswith("("):
        return value
    args = [ast.get_source_segment(value, a) for a in [*call.args, *call.keywords]]
    if any(a is None or "\n" in a for a in args) or first + len(head) + 1 > width:
        return value
    inner = _BUILD_DEPTH + 4  # where the arguments go once re-indented
    one_line = ", ".join(args)  # type: ignore[arg-type]
    if inner + len(one_line) <= width:
        return f"{head}(\n    {one_line}\n)"
    if all(inner + len(a) + 1 <= width for a in args):  # type: ignore[arg-type]
        return f"{head}(\n" + "".join(f"    {a},\n" for a in args) + ")"
    return value


def _reindent(code: str, indent: str) -> str:
    """Indent the continuation lines of an expression moved into a deeper block, except the
    lines inside a multi-line string, whose text would change."""
    if "\n" not in code:
        return code
    inside: set[int] = set()  # 1-based lines that continue a multi-line string
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            # Only a string (or a piece of an f-string) spans lines.
            if tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        return code
    first, *rest = code.split("\n")
    return "\n".join(
        [
            first,
            *(line if n in inside or not line.strip() else indent + line for n, line in enumerate(rest, 2)),
        ]
    )


_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _annotation(returns: str | None, ctx: FileContext) -> tuple[str | None, str | None]:
    """The getter's return annotation, and a TYPE_CHECKING import it needs."""
    if not returns:
        return None, None
    try:
        text = ast.literal_eval(returns)
    except (ValueError, SyntaxError):
        text = None
    if isinstance(text, str):
        returns = text  # `X: "Foo" = Foo()`: the getter quotes it again
    if not _DOTTED.fullmatch(returns):
        # `dict[np.dtype, Foo]`: kept as written; only a plain dotted name is split into an import.
        return returns, None
    names = _module_names(ctx.module)
    if "." not in returns or returns.split(".")[0] in names:
        return returns, None
    mod, _, name = returns.rpartition(".")
    if name in names:
        return name, None  # the module already imports it (`from sqlalchemy.orm import sessionmaker`)
    return name, f"from {mod} import {name}"


def _quoted(annotation: str) -> str:
    """The annotation as a string literal: double quotes unless it holds one (`dict[str, "Foo"]`)."""
    return repr(annotation) if '"' in annotation else f'"{annotation}"'


def _module_names(module: cst.Module) -> set[str]:
    names = set()
    for stmt in module.body:
        for small in u.iter_small_statements(stmt):
            if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                small.names, cst.ImportStar
            ):
                names.update(u.alias_binding(a) for a in small.names)
        if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
            names.add(stmt.name.value)
    return names


def _comments(node: cst.CSTNode) -> list[cst.Comment]:
    found: list[cst.Comment] = []

    class V(cst.CSTVisitor):
        def visit_Comment(self, c: cst.Comment) -> None:
            found.append(c)

    node.visit(V())
    return found


def _swap_aliases(
    stmt: cst.SimpleStatementLine, swaps: list[tuple[cst.ImportAlias, _Ref]]
) -> cst.SimpleStatementLine | None:
    """``from m import x`` -> ``from m import get_x`` (keeping ``x`` where it is still needed,
    dropping it where nothing reads it any more: None when nothing is left to import)."""
    ids = {id(a): r for a, r in swaps}
    smalls = []
    for small in stmt.body:
        if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            names: list[cst.ImportAlias] = []
            # Names the statement already imports as they are (`from m import get_x, x`).
            plain = {u.dotted_name(a.name) for a in small.names if a.asname is None}
            for a in small.names:
                r = ids.get(id(a))
                if r is None:
                    names.append(a)
                    continue
                if not r.reads and not r.keep_alias and not r.forward:
                    # Only moved schema work read it; importing it would build it.
                    if names and a is small.names[-1]:
                        names[-1] = names[-1].with_changes(comma=a.comma)
                    continue
                if r.plan.getter in plain:
                    if r.keep_alias:
                        names.append(a)
                    elif a is small.names[-1] and names:
                        names[-1] = names[-1].with_changes(comma=a.comma)  # ends the list as `a` did
                    continue
                getter = cst.ImportAlias(name=cst.Name(r.plan.getter))
                if r.keep_alias:
                    names.append(a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
                names.append(getter.with_changes(comma=a.comma))  # ends the list as `a` did
            if not names:
                continue
            small = small.with_changes(names=names)
        smalls.append(small)
    return stmt.with_changes(body=smalls) if smalls else None
