"""heavy-imports' default rewrite: each chosen import moves to the top of every function (or
``__main__`` guard) that uses it; annotation-only names go under ``if TYPE_CHECKING:`` with the
annotations evaluated at definition time quoted; optional-dependency blocks become probes.

Everything here keeps the file formatted as black left it: a blank line after the moved
imports, signatures that quoting made too long split as black splits them, and the blank lines
and comments of removed statements carried to what follows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import libcst as cst

from codemods import _cst as u
from codemods import _imports as imports
from codemods._heavy_imports.flags import add_module_getattr, flag_replacement
from codemods._heavy_imports.plan import Binding, FlagBlock, Plan
from codemods._imports import LINE_LENGTH


class LocalRewriter(cst.CSTTransformer):
    def __init__(
        self,
        module: cst.Module,
        plan: Plan,
        chosen: list[Binding],
        flags: list[FlagBlock],
        column: Callable[[cst.CSTNode], int],
        first_party: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.module = module
        self.first_party = first_party
        self.column = column
        self.plan = plan
        self.chosen = chosen
        self.flags = flags
        # function -> statements to insert at its top, in module order
        self.inserts: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
        self.quote: set[cst.Annotation] = set()
        self.reads: dict[cst.Name, str] = {}
        self._plan_inserts()

    def _plan_inserts(self) -> None:
        # Group by (statement, target) so `from PIL import Image, ImageOps` stays one line.
        per_target: dict[cst.CSTNode, dict[int, list[Binding]]] = {}
        order: list[cst.CSTNode] = []
        for b in sorted(self.chosen, key=lambda b: (b.stmt_index, self._alias_pos(b))):
            for t in b.targets:
                if t not in per_target:
                    per_target[t] = {}
                    order.append(t)
                per_target[t].setdefault(id(b.small), []).append(b)
            self.quote.update(b.quote)
        for t in order:
            stmts = []
            for group in per_target[t].values():
                first = group[0]
                code = first.statement_code([b.alias for b in group])
                indent = self.column(t) + len(self.module.default_indent)
                line = cst.parse_statement(imports.fitted(code, indent) + "\n")
                assert isinstance(line, cst.SimpleStatementLine)
                stmts.append(u.with_trailing_comment(line, self._comment_of(first)))
            self.inserts[t] = stmts
        for f in self.flags:
            call = cst.parse_statement(f"{f.probe}()\n")
            for t in f.targets:
                self.inserts.setdefault(t, []).insert(0, call)
            # Inside a function that already ran the probe, the flag is a plain global again.
            for n, fn in f.reads:
                if fn not in f.targets:
                    self.reads[n] = f.probe

    def _alias_pos(self, b: Binding) -> int:
        names = b.small.names
        if isinstance(names, cst.ImportStar):
            return 0
        return next(i for i, a in enumerate(names) if a is b.alias)

    def _comment_of(self, b: Binding) -> cst.Comment | None:
        stmt = self.module.body[b.stmt_index]
        if isinstance(stmt, cst.SimpleStatementLine):
            return stmt.trailing_whitespace.comment
        return None

    # -- transformer hooks -------------------------------------------------------------------

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if updated.params is not original.params or updated.returns is not original.returns:
            updated = _refit_header(original, updated, self.column(original))
        new = self.inserts.get(original)
        if new:
            return updated.with_changes(body=_prepend_imports(updated.body, new))
        return updated

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        new = self.inserts.get(original)
        if new:
            return updated.with_changes(body=_prepend_imports(updated.body, new))
        return updated

    def leave_Annotation(self, original: cst.Annotation, updated: cst.Annotation) -> cst.Annotation:
        if original in self.quote:
            code = self.module.code_for_node(original.annotation)
            quoted = u.quote_annotation(code)
            assert quoted is not None
            return updated.with_changes(annotation=cst.SimpleString(quoted))
        return updated

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        probe = self.reads.get(original)
        if probe is not None:
            return cst.Call(func=cst.Name(probe), lpar=updated.lpar, rpar=updated.rpar)
        return updated

    # -- module level ------------------------------------------------------------------------

    def rewrite(self) -> cst.Module:
        touched = {i for b in self.chosen for i in b.touched} | {i for f in self.flags for i in f.touched}
        new_module = u.visit_touched(self.module, self, touched)
        body = list(new_module.body)
        original = self.module.body

        remove: dict[int, set[int]] = {}  # stmt index -> ids of aliases to drop
        for b in self.chosen:
            remove.setdefault(b.stmt_index, set()).update(id(a) for a in [b.alias, *b.duplicates])
        flag_at = {f.stmt_index: f for f in self.flags}
        tc_needed = [b for b in self.chosen if b.annotation_uses] + [
            b for f in self.flags for b in f.bindings
        ]

        out: list[cst.BaseStatement] = []
        lead: list[cst.EmptyLine] = []  # leading lines of removed statements, kept for the next
        probe_after: list[int] = []
        for i, stmt in enumerate(body):
            if i in flag_at:
                generated = flag_replacement(flag_at[i], original[i])
                generated[0] = _with_leading(generated[0], lead + list(original[i].leading_lines))
                if probe_after and probe_after[-1] == len(out):
                    generated[0] = u.ensure_blank_lines(generated[0], 2)  # after the probe above
                lead = []
                out.extend(generated)
                probe_after.append(len(out))
                continue
            if i in remove:
                # Import lines hold nothing the transformer rewrites: drop from the original,
                # whose alias nodes are the ones the plan refers to.
                kept = _drop_aliases(original[i], remove[i])  # type: ignore[arg-type]
                if kept is None:
                    lead = _joined(lead, original[i].leading_lines)
                    continue
                stmt = kept
            if lead:
                stmt = stmt.with_changes(leading_lines=_joined(lead, stmt.leading_lines))
                lead = []
            if probe_after and probe_after[-1] == len(out):
                stmt = u.ensure_blank_lines(stmt, 2)
            out.append(stmt)

        if tc_needed:
            codes = [b.statement_code() for b in sorted(tc_needed, key=lambda b: b.stmt_index)]
            out = imports.add_type_checking_imports(out, codes, self.first_party)
        if self.flags:
            out = add_module_getattr(out, self.flags)
        if out and body and out[0] is not body[0]:
            # Removing the first statements must not leave the file starting with blank lines,
            # nor more than two after the module's opening comment (LibCST keeps that comment,
            # and the blank lines below it, in the module's header).
            room = max(0, 2 - _edge_blanks(reversed(new_module.header))) if new_module.header else 0
            lead = list(getattr(out[0], "leading_lines", ()))
            while _edge_blanks(lead) > room:
                lead.pop(0)
            out[0] = out[0].with_changes(leading_lines=lead)  # type: ignore[call-arg]
        return new_module.with_changes(body=out)


def _header(fn: cst.FunctionDef) -> str:
    """The ``def ...:`` lines of a function, without decorators or body."""
    stub = fn.with_changes(
        body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Pass()])]),
        decorators=[],
        leading_lines=[],
    )
    code = cst.Module(body=[stub]).code
    return code[: code.rindex(":") + 1]


def _param_items(params: cst.Parameters) -> list[cst.CSTNode | str]:
    items: list[cst.CSTNode | str] = [*params.posonly_params]
    if params.posonly_params:
        items.append("/")
    items += params.params
    if isinstance(params.star_arg, cst.Param):
        items.append(params.star_arg)
    elif isinstance(params.star_arg, cst.ParamStar):
        items.append("*")
    items += params.kwonly_params
    if params.star_kwarg is not None:
        items.append(params.star_kwarg)
    return items


def _refit_header(original: cst.FunctionDef, updated: cst.FunctionDef, column: int) -> cst.FunctionDef:
    """Quoting annotations lengthens a signature: one that fitted and no longer does is split
    as black splits it (the parameters on one line of their own, else one a line with a
    trailing comma). Signatures with comments, or already one parameter a line, keep theirs."""
    before, after = _header(original), _header(updated)
    longest = lambda text: max(len(line) for line in text.split("\n")) + column  # noqa: E731
    if longest(before) > LINE_LENGTH or longest(after) <= LINE_LENGTH or "#" in after:
        return updated
    if after.count("\n") > 2 or updated.type_parameters is not None:
        return updated
    bare = cst.Module(body=[])
    texts = []
    for item in _param_items(updated.params):
        if isinstance(item, str):
            texts.append(item)
            continue
        assert isinstance(item, cst.Param)
        item = item.with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_param=cst.SimpleWhitespace("")
        )
        texts.append(bare.code_for_node(item).strip())
    if not texts or any("\n" in t for t in texts):
        return updated
    returns = f" -> {bare.code_for_node(updated.returns.annotation)}" if updated.returns is not None else ""
    head = f"{'async ' if updated.asynchronous else ''}def {updated.name.value}("
    inner = column + 4
    one_line = ", ".join(texts)
    if inner + len(one_line) <= LINE_LENGTH:
        params = f"\n    {one_line}\n"
    elif all(inner + len(t) + 1 <= LINE_LENGTH for t in texts) and not texts[-1].startswith("*"):
        params = "\n" + "".join(f"    {t},\n" for t in texts)
    else:
        return updated
    if column + len(head) > LINE_LENGTH or column + len(f"){returns}:") > LINE_LENGTH or "\n" in returns:
        return updated
    try:
        refit = cst.parse_statement(f"{head}{params}){returns}:\n    pass\n")
    except cst.ParserSyntaxError:
        return updated
    assert isinstance(refit, cst.FunctionDef)
    return updated.with_changes(
        params=refit.params,
        whitespace_before_params=refit.whitespace_before_params,
        returns=refit.returns,
        whitespace_before_colon=refit.whitespace_before_colon,
    )


def _drop_aliases(stmt: cst.SimpleStatementLine, drop: set[int]) -> cst.SimpleStatementLine | None:
    """The import line without the aliases in ``drop`` (None when nothing is left). The
    aliases that stay keep their commas, comments and layout; a trailing comma stays."""
    smalls: list[cst.BaseSmallStatement] = []
    for small in stmt.body:
        if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
            names = [a for a in small.names if id(a) not in drop]
            if len(names) != len(small.names):
                if not names:
                    continue
                names[-1] = names[-1].with_changes(comma=_last_comma(names[-1].comma, small.names[-1].comma))
                if (
                    isinstance(small, cst.ImportFrom)
                    and small.lpar is not None
                    and len(names) == 1
                    and "#" not in cst.Module(body=[]).code_for_node(small)
                ):
                    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    small = u.without_parens(small)
                small = small.with_changes(names=names)
        smalls.append(small)
    if not smalls:
        return None
    smalls[-1] = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
    return stmt.with_changes(body=smalls)


def _last_comma(own: cst.Comma | cst.MaybeSentinel, old_last: cst.Comma | cst.MaybeSentinel):
    """The comma of an alias that becomes the last one: it ends the list as the old last one
    did (a trailing comma stays, none is added), and keeps its own comment."""
    if not isinstance(own, cst.Comma):
        return old_last
    own_ws = own.whitespace_after
    comment = own_ws.first_line if isinstance(own_ws, cst.ParenthesizedWhitespace) else None
    if isinstance(old_last, cst.Comma):
        ws = old_last.whitespace_after
        if comment is not None and isinstance(ws, cst.ParenthesizedWhitespace):
            ws = ws.with_changes(first_line=comment)
        return old_last.with_changes(whitespace_before=own.whitespace_before, whitespace_after=ws)
    if comment is not None and comment.comment is not None:
        # No trailing comma before, but a comment to keep: end the line after the comma.
        return own.with_changes(whitespace_after=cst.ParenthesizedWhitespace(first_line=comment))
    return old_last


def _prepend_imports(body: cst.BaseSuite, new: list[cst.BaseStatement]) -> cst.BaseSuite:
    """The imports at the top of a block (after its docstring), then a blank line before the
    code that follows, as black and ruff format it, so a formatted file stays formatted."""
    block = u.prepend_to_block(body, new)
    stmts = list(block.body)
    after = u.body_insert_index(stmts) + len(new)
    if after < len(stmts) and imports.is_import_line(stmts[after - 1]):
        nxt = stmts[after]
        lead = list(getattr(nxt, "leading_lines", ()))
        # Black separates imports from what follows, and a comment line is "what follows" even
        # above another import (`# avoid a cycle` / `from x import y`).
        if imports.is_import_line(nxt) and not (lead and lead[0].comment is not None):
            return block
        if not (lead and lead[0].comment is None and not lead[0].whitespace.value):
            stmts[after] = nxt.with_changes(leading_lines=[cst.EmptyLine(indent=False), *lead])  # type: ignore[call-arg]
            return block.with_changes(body=stmts)
    return block


def _with_leading(stmt: cst.BaseStatement, lines: list[cst.EmptyLine], cap: int = 2) -> cst.BaseStatement:
    """Give ``stmt`` these leading lines, with runs of blank lines capped at ``cap``."""
    return stmt.with_changes(leading_lines=_capped(lines, cap))  # type: ignore[call-arg]


def _capped(lines: Sequence[cst.EmptyLine], cap: int) -> list[cst.EmptyLine]:
    out: list[cst.EmptyLine] = []
    blanks = 0
    for line in lines:
        blank = line.comment is None and not line.whitespace.value
        blanks = blanks + 1 if blank else 0
        if blanks <= cap:
            out.append(line)
    return out


def _joined(first: Sequence[cst.EmptyLine], then: Sequence[cst.EmptyLine]) -> list[cst.EmptyLine]:
    """The leading lines of a removed statement joined to those of the next one. Where they
    meet, the gap is as wide as the wider of the two gaps there, not their sum (nor the widest
    gap anywhere in them: one blank line above a comment stays one, however far below it the
    next statement sits)."""
    ends = _edge_blanks(reversed(first))
    extra = max(0, ends - _edge_blanks(then))
    return [*first[: len(first) - ends], *first[len(first) - ends :][:extra], *then]


def _edge_blanks(lines: Iterable[cst.EmptyLine]) -> int:
    """How many blank lines ``lines`` starts with."""
    n = 0
    for line in lines:
        if line.comment is not None or line.whitespace.value:
            break
        n += 1
    return n
