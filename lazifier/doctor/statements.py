"""The project's module-level statements, found by line, and the probe's recorded frames read
as project lines: what the doctor's report ties a measured cost or side effect to."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


def where(frame: list | None) -> dict | None:
    return {"file": frame[0], "line": frame[1]} if frame else None


@dataclass
class Statements:
    """The module-level statements of the project's files, by line."""

    root: Path

    def __post_init__(self) -> None:
        self._cache: dict[str, list[tuple[int, int, ast.stmt]]] = {}
        self._text: dict[str, list[str]] = {}

    def _load(self, rel: str) -> list[tuple[int, int, ast.stmt]]:
        if rel not in self._cache:
            spans: list[tuple[int, int, ast.stmt]] = []
            try:
                text = (self.root / rel).read_text(encoding="utf-8")
                tree = ast.parse(text)
                self._text[rel] = text.splitlines()
            except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
                tree = ast.Module(body=[], type_ignores=[])
            self._collect(tree.body, spans)
            self._cache[rel] = spans
        return self._cache[rel]

    def _collect(self, body: list[ast.stmt], out: list) -> None:
        for stmt in body:
            compound = (
                isinstance(stmt, (ast.If, ast.Try, ast.With, ast.For, ast.While))
                or type(stmt).__name__ == "TryStar"
            )
            if compound:
                for name in ("body", "orelse", "finalbody"):
                    self._collect(getattr(stmt, name, []) or [], out)
                for h in getattr(stmt, "handlers", []) or []:
                    self._collect(h.body, out)
                # the header itself (the test, the context manager)
                out.append((stmt.lineno, stmt.lineno, stmt))
            else:
                out.append((stmt.lineno, stmt.end_lineno or stmt.lineno, stmt))

    def statement(self, rel: str, line: int) -> tuple[int, int, ast.stmt] | None:
        best = None
        for start, end, stmt in self._load(rel):
            if start <= line <= end and (best is None or end - start < best[1] - best[0]):
                best = (start, end, stmt)
        return best

    def source(self, rel: str, start: int, end: int) -> str:
        self._load(rel)
        lines = self._text.get(rel, [])
        text = " ".join(s.strip() for s in lines[start - 1 : end])
        return text if len(text) <= 90 else text[:87] + "..."


def top(name: str) -> str:
    return name.split(".", 1)[0]


def statement_frame(stack: list) -> dict | None:
    """The innermost module-level project frame: the statement that set it off."""
    for f in reversed(stack):
        if f[2]:
            return {"file": f[0], "line": f[1]}
    return None


def statement_advice(node: ast.stmt) -> str:
    if isinstance(node, ast.ClassDef):
        return f"the body of class `{node.name}` does work when it is defined (a model, a mapping); nothing lazify defers"
    text = ast.unparse(node).splitlines()[0] if hasattr(ast, "unparse") else ""
    text = text if len(text) <= 60 else text[:57] + "..."
    return (
        f"a module-level statement that does work (`{text}`); move it into a function that runs on first use"
    )
