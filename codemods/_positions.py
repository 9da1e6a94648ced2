"""Positions of CST nodes from one code generation: ``PositionProvider``'s answers, cheaper,
and, from the same pass, the module's code and the code of each of its statements."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate

import libcst as cst

# Private, but the base of LibCST's own PositionProvider state; tests/test_positions.py checks
# that the answers stay the same as PositionProvider's.
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

_STATEMENTS = frozenset(
    c for c in vars(cst).values() if isinstance(c, type) and issubclass(c, cst.BaseStatement)
)


class _SpanRecorder(CodegenState):
    """Code generation that notes, for every node, the token indexes where it starts and ends.

    It records exactly what ``PositionProvider``'s codegen state records (the whitespace-
    inclusive range, overridden by the syntactic one where a node declares it), but as token
    indexes: no line counting per token and no position objects per node. That makes it about
    as cheap as plain code generation, where ``PositionProvider`` costs ten times as much.
    """

    def __init__(self, default_indent: str, default_newline: str) -> None:
        super().__init__(default_indent=default_indent, default_newline=default_newline)
        self.spans: dict[cst.CSTNode, tuple[int, int]] = {}
        #: The whole code of each child of the module and of every statement (with its leading
        #: lines, decorators and indentation): what ``module.code_for_node`` gives for it.
        self.outer: dict[cst.CSTNode, tuple[int, int]] = {}
        self.dropped_last = False
        self._stack: list[int] = []

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append(len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        if len(self._stack) == 1 or type(node) in _STATEMENTS:  # a child of the module, or a statement
            self.outer[node] = (start, len(self.tokens))
        if node not in self.spans:  # a syntactic range recorded inside wins
            self.spans[node] = (start, len(self.tokens))

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        start = len(self.tokens)
        try:
            yield
        finally:
            end = len(self.tokens)
            if start_node is not None:
                start = self.spans[start_node][0]
            if end_node is not None:
                end = self.spans[end_node][1]
            self.spans[node] = (start, end)

    def pop_trailing_newline(self) -> None:
        # PositionProvider's state drops the token but not the line it counted: keep it, so
        # a range that ends after it ends where PositionProvider says (``code`` drops it).
        self.dropped_last = bool(self.tokens)


class SourcePositions:
    """``PositionProvider``'s answers (same lines and columns for every node), cheaper.

    ``PositionProvider`` generates the module's code while counting lines in every token and
    building position objects for every node: on a large file that was most of a codemod's
    analysis, though a codemod asks for the positions of a handful of nodes. Here one code
    generation records token indexes (:class:`_SpanRecorder`); a token index becomes a line and
    column only when asked, from the tokens' offsets and the text's line starts. Lines end at
    ``\\r\\n``, ``\\r`` or ``\\n``, as in LibCST. ``tests/test_positions.py`` holds the two to
    the same answers.
    """

    def __init__(self, module: cst.Module) -> None:
        self._module = module
        self._spans: dict[cst.CSTNode, tuple[int, int]] = {}
        self._outer: dict[cst.CSTNode, tuple[int, int]] = {}
        self._offsets: list[int] = []
        self._line_starts: list[int] = []
        self._text = ""
        self._code: str | None = None

    def _generate(self) -> None:
        if self._code is not None:
            return
        module = self._module
        state = _SpanRecorder(module.default_indent, module.default_newline)
        module._codegen(state)
        self._spans, self._outer = state.spans, state.outer
        self._offsets = [0, *accumulate(map(len, state.tokens))]
        self._text = text = "".join(state.tokens)
        self._line_starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]
        self._code = text[: self._offsets[-2]] if state.dropped_last else text

    @property
    def code(self) -> str:
        """``module.code``, from the same code generation (the engine's round-trip check)."""
        self._generate()
        assert self._code is not None
        return self._code

    def statement_code(self, stmt: cst.CSTNode) -> str:
        """The code of a statement or a child of the module as it stands in the module (for a
        child of the module, ``module.code_for_node``), without generating it again."""
        self._generate()
        start, end = self._outer[stmt]
        return self._text[self._offsets[start] : self._offsets[end]]

    def code_of(self, new: cst.Module) -> str:
        """``new.code`` for an edit of this module: the children ``new`` shares with it (the
        statements a fix left alone) are copied from its code, not generated again. A fix
        that changes three functions of a 4,000-line file costs three functions."""
        old = self._module
        if self._code is None or (new.default_indent, new.default_newline) != (
            old.default_indent,
            old.default_newline,
        ):
            return new.code
        state = CodegenState(default_indent=new.default_indent, default_newline=new.default_newline)
        tokens, offsets, text = state.tokens, self._offsets, self._text
        for node in (*new.header, *new.body, *new.footer):
            span = self._outer.get(node)
            if span is None:
                node._codegen(state)
            elif span[1] > span[0]:
                # Two tokens, so that dropping a last newline drops the same token as before.
                start, last, end = offsets[span[0]], offsets[span[1] - 1], offsets[span[1]]
                tokens.extend((text[start:last], text[last:end]))
        if new.has_trailing_newline:
            if not tokens:
                state.add_token(state.default_newline)
        else:
            state.pop_trailing_newline()
        return "".join(tokens)

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        self._generate()
        start, end = self._spans[node]
        return CodeRange(self._position(start), self._position(end))

    def _position(self, token: int) -> CodePosition:
        offset = self._offsets[token]
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return CodePosition(line + 1, offset - self._line_starts[line])


_NEWLINE = re.compile(r"\r\n?|\n")
