"""heavy-imports' findings, one per import statement: the names one statement imports share a
finding and a decision."""

from __future__ import annotations

import dataclasses
import re

from codemods._api import Finding


def one_per_statement(findings: list[Finding]) -> tuple[list[Finding], dict[str, tuple[str, ...]]]:
    """``from langdetect import detect, LangDetectException`` is one statement, so one finding
    and one decision, not one per name: fixes of the same statement with the same message and
    safety are merged (their helps and risks joined; the key names every binding)."""
    by_statement: dict[tuple, list[Finding]] = {}
    out: list[Finding] = []
    for f in findings:
        if f.fix_key is None:
            out.append(f)
        else:
            by_statement.setdefault((f.span, f.message, f.safety), []).append(f)
    groups: dict[str, tuple[str, ...]] = {}
    for same in by_statement.values():
        if len(same) == 1:
            out.append(same[0])
            continue
        members = tuple(f.fix_key for f in same if f.fix_key is not None)
        key = "+".join(members)
        groups[key] = members
        out.append(
            dataclasses.replace(
                same[0], fix_key=key, help=_merged_help([f.help for f in same if f.help]),
                unsafe_because=tuple(dict.fromkeys(r for f in same for r in f.unsafe_because)),
                related=tuple(dict.fromkeys(r for f in same for r in f.related)),
            )
        )  # fmt: skip
    return out, groups


def _merged_help(helps: list[str]) -> str | None:
    """``Move `from m import a` into `f()``` and the same for ``b`` -> ``Move `from m import a,
    b` into `f()```; helps that don't share their shape are listed."""
    shapes = [re.fullmatch(r"Move `from (\S+) import (.+?)` into (.+)", h) for h in helps]
    if shapes and all(shapes) and len({(m.group(1), m.group(3)) for m in shapes if m}) == 1:
        first = shapes[0]
        assert first is not None
        names = ", ".join(m.group(2) for m in shapes if m)
        return f"Move `from {first.group(1)} import {names}` into {first.group(3)}"
    return "; ".join(dict.fromkeys(helps)) or None
