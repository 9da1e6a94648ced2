"""A codemod's documentation, read one way for every place that shows it.

A codemod documents itself in its class docstring: a one-line summary, then markdown sections
(``## What it does``, ``## Why is this bad?``, ``## Example``, ...), as ruff's rules do.
``lazify explain`` and the review print it whole; SARIF's rule help carries it, with *What it
does* as the full description; ``--commit`` messages quote *Why is this bad?*. All of them go
through :func:`doc_of`, which takes a catalogue entry (:mod:`codemods.catalog`, no LibCST) or
the codemod class itself.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from codemods.catalog import Entry


@dataclass(frozen=True)
class CodemodDoc:
    code: str
    name: str
    #: The docstring's first line.
    first: str
    #: The rest, dedented, without the blank lines around it.
    body: str

    def markdown(self) -> str:
        """The whole documentation, as ``lazify explain`` prints it."""
        return f"# {self.name} ({self.code})\n\n{self.first}\n\n{self.body}".rstrip() + "\n"

    def section(self, title: str) -> str:
        """The text of the ``## title`` section (up to the next section), or ``""``."""
        m = re.search(rf"(?m)^## {re.escape(title)}\n(.*?)(?:\n## |\Z)", self.body, re.S)
        return m.group(1) if m else ""

    def first_paragraph(self, title: str) -> str:
        """The first paragraph of the ``## title`` section, on one line."""
        paragraphs = [p for p in re.split(r"\n\s*\n", self.section(title)) if p.strip()]
        return " ".join(paragraphs[0].split()) if paragraphs else ""

    def what_it_does(self) -> str:
        """*What it does*, on one line (the first line when there is no such section)."""
        return " ".join(self.section("What it does").split()) or self.first


def doc_of(codemod: Entry | type) -> CodemodDoc:
    """The documentation of a codemod's catalogue entry or of its class."""
    raw = codemod.doc if isinstance(codemod, Entry) else codemod.__doc__ or ""
    first, _, rest = raw.strip().partition("\n")
    code, name = codemod.code, codemod.name  # type: ignore[union-attr]
    return CodemodDoc(code, name, first.strip(), textwrap.dedent(rest).strip())
