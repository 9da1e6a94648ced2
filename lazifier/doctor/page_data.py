"""What ``lazify doctor --html`` draws, from the report document: the revisions (the project
as measured, its ``--preview`` copy, or ``--compare``'s REF and the working tree), each module's
box in the import tree with its side effects, and the colours of the distributions. The page
itself (:mod:`lazifier.doctor.html_page`) turns these into HTML and the script's data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

#: Distributions are coloured in the order of their time (the baseline's, then the others'); the
#: ones past the palette share the last colour.
PALETTE = ("#7dd3fc", "#fcd34d", "#6ee7b7", "#f9a8d4", "#c4b5fd", "#fdba74", "#5eead4", "#bef264",
           "#fda4af", "#93c5fd")  # fmt: skip


OTHER_DIST = "#d6d3d1"


PROJECT = "#6366f1"


STDLIB = "#e2e8f0"


@dataclass
class Revision:
    """One measured state of the project: a label, its entries (``schema.json``'s entry
    objects) and the directory its ``file:line`` links point into (None: not on disk)."""

    label: str
    entries: list[dict]
    root: Path | None
    note: str = ""


def revisions(doc: dict, other: dict | None = None, labels: tuple[str, str] | None = None) -> list[Revision]:
    """The revisions to show: ``doc`` alone (and its ``--preview`` copy), or ``doc`` then ``other``;
    with ``--compare``, REF's measurement first, then the working tree (and its preview)."""
    root = Path(doc["project_root"])
    compared = doc.get("compare")
    if other is None and compared:
        ref = Revision(
            f"{compared['ref']} ({str(compared.get('commit') or '')[:10]})".replace(" ()", ""),
            compared["entries"],
            None,
            "measured in a temporary git worktree of that revision, removed since; its line numbers "
            "are that revision's",
        )
        tree, *preview = revisions({**doc, "compare": None})
        return [ref, dataclasses.replace(tree, label="working tree"), *preview]
    if other is not None:
        first, second = labels or ("before", "after")
        return [
            Revision(first, doc["entries"], root),
            Revision(second, other["entries"], Path(other["project_root"])),
        ]
    revs = [
        Revision(labels[0] if labels else "before" if has_preview(doc) else "measured", doc["entries"], root)
    ]
    if has_preview(doc):
        p = doc["preview"]
        revs.append(
            Revision(
                labels[1] if labels else "after lazify apply",
                p["entries"],
                None,
                f"measured in a temporary copy after lazify apply --yes ({p['apply_summary'].rstrip('.')}); "
                "its line numbers are the rewritten files', which are not kept",
            )
        )
    return revs


def has_preview(doc: dict) -> bool:
    p = doc.get("preview")
    return bool(p and p.get("applied") and p.get("entries"))


def location(w: dict | None) -> str | None:
    return f"{w['file']}:{w['line']}" if w else None


def fix_label(fix: dict) -> str:
    if fix.get("codemod"):
        return f"{fix['codemod']} {fix['name']} ({fix['safety']})"
    return fix.get("note") or "no codemod"


def effects_of(e: dict) -> list[dict]:
    out = []
    for s in e["side_effects"]:
        out.append(
            {
                "kind": s["kind"],
                "origin": s["origin"],
                "package": s.get("package"),
                "summary": s["summary"],
                "title": s["title"],
                "at": s["statement"],
                "inner": s["line"] if s["line"] != s["statement"] else None,
                "fix": fix_label(s["fix"]),
                "codemod": s["fix"].get("codemod"),
            }
        )
    return out


def flatten(tree: dict, effects: list[dict]) -> list[list]:
    """The tree as rows ``[module, group, start, cumulative, self, depth, parent, file, via,
    effects]``: children laid end to end from their parent's start, in import order (the
    parent's own time is the rest, drawn after them). Project effects are put on the project
    module whose statement set them off, a package's on the node where the project imported it."""
    nodes: list[list] = []

    def walk(n: dict, start: float, depth: int, parent: int) -> None:
        i = len(nodes)
        cum = max(n["cumulative_seconds"], 0.0)
        nodes.append([n["module"], n["group"], round(start, 7), round(cum, 7), round(n["self_seconds"], 7),
                      depth, parent, n["file"], location(n["via"]), []])  # fmt: skip
        kids = n["children"]
        total = sum(max(c["cumulative_seconds"], 0.0) for c in kids)
        shrink = cum / total if total > cum > 0 else 1.0
        t = start
        for c in kids:
            walk(c, t, depth + 1, i)
            t += max(c["cumulative_seconds"], 0.0) * shrink

    walk(tree, 0.0, 0, -1)
    by_file: dict[str, int] = {}
    for i, n in enumerate(nodes):
        if n[1] == "(project)" and n[7] and (n[7] not in by_file or nodes[by_file[n[7]]][0] == "(entry)"):
            by_file[n[7]] = i
    for k, x in enumerate(effects):
        target = None
        if x["origin"] == "project" and x["at"]:
            target = by_file.get(x["at"]["file"])
        elif x["at"]:
            at = location(x["at"])
            target = next(
                (i for i, n in enumerate(nodes) if n[8] == at and x["package"] in (n[1], n[0].split(".")[0])),
                None,
            )
        if target is not None:
            nodes[target][9].append(k)
    if nodes and nodes[0][0] == "(entry)" and nodes[0][7]:
        nodes[0][0] = nodes[0][7]
    return nodes


def colors_of(revs: list[Revision]) -> dict[str, str]:
    order: list[str] = []
    for r in revs:
        for e in r.entries:
            for d in sorted(e["distributions"], key=lambda d: -d["self_seconds"]):
                if d["kind"] == "distribution" and d["name"] not in order:
                    order.append(d["name"])
    colors = {name: PALETTE[i] if i < len(PALETTE) else OTHER_DIST for i, name in enumerate(order)}
    colors["(project)"] = PROJECT
    colors["(standard library)"] = STDLIB
    return colors


def chart_data(doc: dict, revs: list[Revision]) -> dict:
    charts = []
    budget = doc["budget"]["seconds"]
    for ei in range(max(len(r.entries) for r in revs)):
        side = [r.entries[ei] if ei < len(r.entries) else None for r in revs]
        domain = max((e["tree"]["cumulative_seconds"] for e in side if e and e.get("tree")), default=0.0)
        for r, e in zip(revs, side):
            if not e or not e.get("tree"):
                continue
            effects = effects_of(e)
            charts.append({
                "id": f"chart-{len(charts)}", "entry": e["entry"], "label": r.label,
                "domain": domain or 1e-3, "total": e["tree"]["cumulative_seconds"], "budget": budget,
                "root": root_uri(r.root), "nodes": flatten(e["tree"], effects), "effects": effects,
            })  # fmt: skip
    return {"charts": charts, "colors": colors_of(revs)}


def root_uri(root: Path | None) -> str | None:
    return root.resolve().as_uri().rstrip("/") + "/" if root is not None else None
