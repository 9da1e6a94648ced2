"""``lazify doctor --html FILE``: the report as one self-contained page.

No network and no external assets: the CSS, the script and the data are inline, and the charts
are SVG the script draws from the data. The page renders one or two *revisions* of the project:

- one document: the project as measured; with ``--preview``, also the copy after ``lazify apply``;
- two documents (``render_html(before, after)``): each one's entries, side by side, with the
  first as the baseline (what ``--compare REF`` will pass: the revision REF, then the working tree).

Each revision has its label and the directory its ``file:line`` links point into (``file://``
URLs with the line in the fragment); a revision measured in a temporary copy that is gone has no
links, only the ``file:line`` text.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path

from lazifier.doctor.render import mb, ms, summary
from lazifier.doctor.runner import DoctorError

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
        Revision(labels[0] if labels else "before" if _has_preview(doc) else "measured", doc["entries"], root)
    ]
    if _has_preview(doc):
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


def _has_preview(doc: dict) -> bool:
    p = doc.get("preview")
    return bool(p and p.get("applied") and p.get("entries"))


# ---------------------------------------------------------------------------------------------
# The data the script draws


def _loc(w: dict | None) -> str | None:
    return f"{w['file']}:{w['line']}" if w else None


def _fix_label(fix: dict) -> str:
    if fix.get("codemod"):
        return f"{fix['codemod']} {fix['name']} ({fix['safety']})"
    return fix.get("note") or "no codemod"


def _effects(e: dict) -> list[dict]:
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
                "fix": _fix_label(s["fix"]),
                "codemod": s["fix"].get("codemod"),
            }
        )
    return out


def _flatten(tree: dict, effects: list[dict]) -> list[list]:
    """The tree as rows ``[module, group, start, cumulative, self, depth, parent, file, via,
    effects]``: children laid end to end from their parent's start, in import order (the
    parent's own time is the rest, drawn after them). Project effects are put on the project
    module whose statement set them off, a package's on the node where the project imported it."""
    nodes: list[list] = []

    def walk(n: dict, start: float, depth: int, parent: int) -> None:
        i = len(nodes)
        cum = max(n["cumulative_seconds"], 0.0)
        nodes.append([n["module"], n["group"], round(start, 7), round(cum, 7), round(n["self_seconds"], 7),
                      depth, parent, n["file"], _loc(n["via"]), []])  # fmt: skip
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
            at = _loc(x["at"])
            target = next(
                (i for i, n in enumerate(nodes) if n[8] == at and x["package"] in (n[1], n[0].split(".")[0])),
                None,
            )
        if target is not None:
            nodes[target][9].append(k)
    if nodes and nodes[0][0] == "(entry)" and nodes[0][7]:
        nodes[0][0] = nodes[0][7]
    return nodes


def _colors(revs: list[Revision]) -> dict[str, str]:
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


def _data(doc: dict, revs: list[Revision]) -> dict:
    charts = []
    budget = doc["budget"]["seconds"]
    for ei in range(max(len(r.entries) for r in revs)):
        side = [r.entries[ei] if ei < len(r.entries) else None for r in revs]
        domain = max((e["tree"]["cumulative_seconds"] for e in side if e and e.get("tree")), default=0.0)
        for r, e in zip(revs, side):
            if not e or not e.get("tree"):
                continue
            effects = _effects(e)
            charts.append({
                "id": f"chart-{len(charts)}", "entry": e["entry"], "label": r.label,
                "domain": domain or 1e-3, "total": e["tree"]["cumulative_seconds"], "budget": budget,
                "root": _root_uri(r.root), "nodes": _flatten(e["tree"], effects), "effects": effects,
            })  # fmt: skip
    return {"charts": charts, "colors": _colors(revs)}


def _root_uri(root: Path | None) -> str | None:
    return root.resolve().as_uri().rstrip("/") + "/" if root is not None else None


# ---------------------------------------------------------------------------------------------
# The page


def _a(w: dict | None, rev: Revision) -> str:
    """``file:line``, a link into the revision's files when they are on disk."""
    if not w:
        return '<span class="loc">?</span>'
    text = escape(f"{w['file']}:{w['line']}")
    if rev.root is None:
        return f'<span class="loc" title="in a temporary copy that is not kept">{text}</span>'
    href = (rev.root / w["file"]).resolve().as_uri() + f"#L{w['line']}"
    return f'<a class="loc" href="{escape(href)}">{text}</a>'


def _own(e: dict) -> list[dict]:
    return [s for s in e["side_effects"] if s["origin"] == "project" and s["kind"] != "env"]


def _env(e: dict) -> list[dict]:
    return [s for s in e["side_effects"] if s["origin"] == "project" and s["kind"] == "env"]


def _fixes(e: dict) -> dict[str, dict]:
    """lazify's findings that remove what was measured, by codemod: each once, with what it removes."""
    found: dict[tuple, dict] = {}

    def add(fix: dict, what: str) -> None:
        if not fix.get("codemod"):
            return
        key = (fix["codemod"], fix.get("file"), fix.get("line"))
        item = found.setdefault(key, {"fix": fix, "what": []})
        if what not in item["what"]:
            item["what"].append(what)

    for s in e["side_effects"]:
        if s["origin"] == "project":
            add(s["fix"], s["summary"])
    for s in e["statements"]:
        add(s["fix"], f"{ms(s['seconds'])} at import")
    for d in e["distributions"]:
        for p in d["packages"]:
            add(p["fix"], f"import {p['name']} ({ms(d['self_seconds'])})")
    for m in e.get("missing_imports") or []:
        add(m["fix"], f"try to import {m['module']} (not installed)")
    if e.get("error"):
        add(e["error"]["fix"], f"the import fails: {e['error']['type']}")
    groups: dict[str, dict] = {}
    for (code, _f, _l), item in sorted(
        found.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2] or 0)
    ):
        g = groups.setdefault(code, {"name": item["fix"]["name"], "items": []})
        g["items"].append(item)
    return groups


def _delta(before: float | None, after: float | None, unit=ms) -> str:
    if before is None or after is None:
        return ""
    if before == 0:
        return ""
    change = (after - before) / before
    cls = "better" if change < -0.005 else "worse" if change > 0.005 else "same"
    return f'<span class="delta {cls}">{change * 100:+.0f}%</span>'


def _card(label: str, values: list[str], sub: list[str], delta: str = "", bad: bool = False) -> str:
    shown = ' <span class="arrow">→</span> '.join(f'<span class="v">{v}</span>' for v in values)
    subs = " → ".join(escape(x) for x in sub if x)
    return (
        f'<div class="card{" bad" if bad else ""}"><div class="label">{escape(label)}</div>'
        f'<div class="value">{shown}</div><div class="sub">{delta} {subs}</div></div>'
    )


def _runs(t: dict) -> str:
    n = len(t["runs"])
    return f"{n} run" if n == 1 else f"{n} runs, {ms(t['min'])} to {ms(t['max'])}"


def _summary_cards(revs: list[Revision], ei: int) -> str:
    es = [r.entries[ei] for r in revs if ei < len(r.entries)]
    imp = [e["timing"]["import"] for e in es]
    cpu = [e["timing"].get("import_cpu") or {"median": None} for e in es]
    two = len(es) == 2
    cards = [
        _card("import time (median)", [ms(t["median"]) for t in imp],
              [_runs(t) for t in imp],
              _delta(imp[0]["median"], imp[1]["median"]) if two else "", any(e.get("over_budget") for e in es)),
        _card("import CPU", [ms(t["median"]) for t in cpu], [],
              _delta(cpu[0]["median"], cpu[1]["median"]) if two else ""),
        _card("modules loaded", [str(e["modules_loaded"]) for e in es], [],
              _delta(es[0]["modules_loaded"], es[1]["modules_loaded"]) if two else ""),
        _card("side effects", [str(len(_own(e))) for e in es],
              [f"{len(_env(e))} env read{'s' if len(_env(e)) != 1 else ''}" for e in es], "",
              bool(_own(es[-1]))),
        _card("files left", [str(len(e["files_left"])) for e in es],
              [", ".join(f["path"] for f in e["files_left"]) for e in es], "", bool(es[-1]["files_left"])),
        _card("installed size", [mb(e["size"]["bytes"]) for e in es],
              [f"{e['size']['distributions']} distributions" for e in es],
              _delta(es[0]["size"]["bytes"], es[1]["size"]["bytes"]) if two else ""),
    ]  # fmt: skip
    if any(e.get("error") for e in es):
        cards.insert(0, _card("import", ["FAILS" if e.get("error") else "ok" for e in es], [], "", True))
    return f'<div class="cards n{len(es)}">' + "".join(cards) + "</div>"


def _top_packages(revs: list[Revision], ei: int, colors: dict[str, str], n: int = 8) -> str:
    es = [r.entries[ei] if ei < len(r.entries) else None for r in revs]
    base = es[0]
    by_name = [{d["name"]: d for d in e["distributions"]} if e else {} for e in es]
    names = [d["name"] for d in sorted(base["distributions"], key=lambda d: -d["self_seconds"])
             if d["kind"] == "distribution"][:n]  # fmt: skip
    for e in es[1:]:
        if e:
            names += [
                d["name"]
                for d in e["distributions"]
                if d["kind"] == "distribution" and d["name"] not in names
            ][:2]
    top = max((m[x]["self_seconds"] for m in by_name for x in names if x in m), default=0) or 1e-9
    head = "".join(f"<th>{escape(r.label)}</th>" for r in revs)
    rows = []
    for name in names:
        cells = []
        for m in by_name:
            d = m.get(name)
            if d is None:
                cells.append('<td class="gone">not imported</td>')
                continue
            w = max(1.0, 100 * d["self_seconds"] / top)
            cells.append(f'<td class="bar"><span class="b" style="width:{w:.1f}%;background:{colors.get(name, OTHER_DIST)}"></span>'
                         f'<span class="t">{ms(d["self_seconds"])}</span></td>')  # fmt: skip
        d0 = by_name[0].get(name) or next(m[name] for m in by_name if name in m)
        pkg = d0["packages"][0] if d0["packages"] else None
        rev0 = revs[0] if name in by_name[0] else next(r for r, m in zip(revs, by_name) if name in m)
        first = _a(pkg["statement"], rev0) if pkg and pkg["statement"] else ""
        fix = pkg["fix"] if pkg else {}
        fix_html = (f'<span class="code" title="{escape(fix["message"])}">{escape(fix["codemod"])}</span> {escape(fix["name"])}'
                    if fix.get("codemod") else '<span class="muted">&ndash;</span>')  # fmt: skip
        rows.append(
            f"<tr><td><b>{escape(name)}</b> <span class=muted>{escape(d0['version'] or '')}</span></td>{''.join(cells)}"
            f"<td class=num>{d0['modules']}</td><td class=num>{mb(d0['bytes'])}</td><td>{first}</td><td>{fix_html}</td></tr>"
        )
    return (
        '<table class="packages"><thead><tr><th>distribution</th>'
        + head
        + "<th>modules</th><th>size</th><th>first imported at</th><th>fix</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _fix_chips(e: dict) -> str:
    groups = _fixes(e)
    if not groups:
        return ""
    chips = "".join(
        f'<span class="chip"><span class="code">{escape(code)}</span> {escape(g["name"] or "")} '
        f'<b>&times;{len(g["items"])}</b></span>'
        for code, g in groups.items()
    )
    return f'<div class="chips"><span class="label">fixed by <code>lazify apply</code></span>{chips}</div>'


def _fixes_html(e: dict, rev: Revision) -> str:
    groups = _fixes(e)
    if not groups:
        return '<p class="muted">No lazify finding matches what was measured.</p>'
    out = ['<div class="fixes">']
    for code, g in groups.items():
        out.append(
            f'<div class="fixgroup"><div class="fixhead"><span class="code">{escape(code)}</span> '
            f'<b>{escape(g["name"] or "")}</b> <span class="muted">{len(g["items"])} finding{"s" if len(g["items"]) != 1 else ""}</span></div><ul>'
        )
        for item in g["items"]:
            fix = item["fix"]
            where = _a({"file": fix["file"], "line": fix["line"]}, rev) if fix.get("line") else ""
            default = "" if fix.get("applied_by_default") else ' <span class="tag">not by default</span>'
            out.append(
                f'<li>{where} <span class="safety {escape(fix["safety"] or "")}">{escape(fix["safety"] or "")}</span>{default} '
                f'{escape(fix["message"])}<div class="removes">removes: {escape("; ".join(item["what"]))}</div></li>'
            )
        out.append("</ul></div>")
    out.append("</div>")
    return "".join(out)


KIND_ICON = {"sqlite": "DB", "open": "W", "logging-file": "LOG", "mkdir": "DIR", "connect": "NET", "dns": "DNS",
             "subprocess": "SUB", "thread": "THR", "random": "RND", "env": "ENV"}  # fmt: skip


def _effects_html(e: dict, rev: Revision) -> str:
    own = [s for s in e["side_effects"] if s["origin"] == "project"]
    lib = [s for s in e["side_effects"] if s["origin"] == "package"]
    if not own and not e["files_left"] and not lib:
        return '<p class="ok">No side effects at import.</p>'
    rows = []
    for s in sorted(own, key=lambda s: s["kind"] == "env"):
        inner = (
            f'<div class="muted">done in {_a(s["line"], rev)}</div>' if s["line"] != s["statement"] else ""
        )
        fix = s["fix"]
        fix_html = (
            f'<span class="code">{escape(fix["codemod"])}</span> {escape(fix["name"])} <span class="muted">({escape(fix["safety"] or "")})</span>'
            if fix.get("codemod")
            else f'<span class="muted">{escape(fix.get("note") or "no codemod")}</span>'
        )
        cls = "env" if s["kind"] == "env" else "effect"
        rows.append(
            f'<tr class="{cls}"><td><span class="kind {cls}">{KIND_ICON.get(s["kind"], "!")}</span></td>'
            f'<td>{escape(s["summary"])}<div class="muted">{escape(s["title"])}</div></td>'
            f"<td>{_a(s['statement'], rev)}{inner}</td><td>{fix_html}</td></tr>"
        )
    for f in e["files_left"]:
        rows.append(
            f'<tr class="effect"><td><span class="kind effect">FILE</span></td><td>{escape(f["path"])} {escape(f["change"])}'
            '<div class="muted">left in the project directory (read-only on serverless platforms)</div></td><td></td><td></td></tr>'
        )
    table = (
        '<table class="effects"><thead><tr><th></th><th>what</th><th>at (module-level statement)</th><th>fix</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )
    if lib:
        counts: dict[str, int] = {}
        for s in lib:
            key = f"{s['package']}: {s['summary']} (imported at {_loc(s['line'])})"
            counts[key] = counts.get(key, 0) + 1
        table += (
            '<p class="muted">By packages while they are imported (not counted): '
            + "; ".join(escape(k) + (f" &times;{n}" if n > 1 else "") for k, n in counts.items())
            + "</p>"
        )
    return table


def _statements_html(e: dict, rev: Revision, limit: int = 8) -> str:
    if not e["statements"]:
        return ""
    rows = []
    for s in e["statements"][:limit]:
        fix = s["fix"]
        fix_html = (
            f'<span class="code">{escape(fix["codemod"])}</span> {escape(fix["name"])}'
            if fix.get("codemod")
            else '<span class="muted">no codemod</span>'
        )
        rows.append(
            f"<tr><td>{_a(s, rev)}</td><td class=num>{ms(s['seconds'])}</td><td><code>{escape(s['text'])}</code></td><td>{fix_html}</td></tr>"
        )
    more = len(e["statements"]) - limit
    tail = f'<p class="muted">+ {more} more in the json report</p>' if more > 0 else ""
    return (
        f"<h3>Slow module-level statements: {escape(rev.label)}</h3><table class=statements><thead><tr><th>line</th><th>time</th>"
        "<th>statement</th><th>fix</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + tail
    )


def _error_html(e: dict, rev: Revision) -> str:
    err = e.get("error")
    if not err:
        return ""
    frames = "".join(
        f"<li>{_a(fr, rev)} in <code>{escape(fr.get('function', ''))}</code></li>"
        for fr in err.get("traceback", [])
    )
    fix = err.get("fix") or {}
    return (
        f'<div class="failure"><b>The import fails: {escape(err["type"])}: {escape(err["message"])}</b>'
        f"<ol>{frames}</ol><div>fix: {escape(_fix_label(fix))}</div></div>"
    )


def _legend(colors: dict[str, str], revs: list[Revision]) -> str:
    items = [("(project)", "the project's modules"), ("(standard library)", "standard library")]
    dists = [n for n in colors if not n.startswith("(")]
    shown = [n for n in dists if colors[n] != OTHER_DIST]
    items += [(n, n) for n in shown]
    if len(dists) > len(shown):
        items.append(("", "other distributions"))
    sw = "".join(
        f'<span class="li"><span class="sw" style="background:{colors.get(k, OTHER_DIST)}"></span>{escape(label)}</span>'
        for k, label in items
    )
    return (
        f'<div class="legend">{sw}'
        '<span class="li"><span class="mk effect">!</span>side effect at import (project code)</span>'
        '<span class="li"><span class="mk env">$</span>environment read</span>'
        '<span class="li"><span class="mk package">•</span>done by a package while imported</span>'
        "</div>"
    )


def render_html(doc: dict, other: dict | None = None, labels: tuple[str, str] | None = None) -> str:
    """The page for ``doc`` (with its preview), or for ``doc`` against ``other``."""
    revs = revisions(doc, other, labels)
    data = _data(doc, revs)
    colors = data["colors"]
    project = Path(doc["project_root"]).name or doc["project_root"]
    interp = doc["interpreter"]
    v = (other or doc)["verdict"]
    verdict = (
        '<div class="verdict fail">exit 1: ' + escape("; ".join(v["reasons"])) + "</div>"
        if v["reasons"]
        else '<div class="verdict pass">exit 0'
        + (f": within the budget of {ms(doc['budget']['seconds'])}" if doc["budget"]["seconds"] else "")
        + "</div>"
    )
    body = []
    n_entries = max(len(r.entries) for r in revs)
    chart_ids = iter(c["id"] for c in data["charts"])
    for ei in range(n_entries):
        base = revs[0].entries[ei]
        side = [(r, r.entries[ei]) for r in revs if ei < len(r.entries)]
        body.append(
            f'<section class="entry"><h2>{escape(base["entry"])} <span class="muted">({escape(base["source"])})</span></h2>'
        )
        body.append(_summary_cards(revs, ei))
        body.append(_fix_chips(base))
        body.append(
            "<h3>Top packages <span class=muted>(the time of their own modules; the project line that first imports them)</span></h3>"
        )
        body.append(_top_packages(revs, ei, colors))
        body.append(_legend(colors, revs))
        for r, e in side:
            note = f'<div class="note">{escape(r.note)}</div>' if r.note else ""
            traced = f", traced run {ms(e['tree']['cumulative_seconds'])}" if e.get("tree") else ""
            body.append(f'<div class="rev"><h3>Import tree: {escape(r.label)} <span class="muted">'
                        f'{ms(e["timing"]["import"]["median"])} median{traced}</span></h3>{note}')  # fmt: skip
            body.append(_error_html(e, r))
            if e.get("tree"):
                cid = next(chart_ids)
                body.append(
                    f'<div class="chartwrap"><div class="tools"><button class="reset" data-chart="{cid}" disabled>reset zoom</button>'
                    '<span class="muted">hover for the numbers; click a box to zoom in and show its details</span></div>'
                    f'<svg class="icicle" id="{cid}" role="img" aria-label="import tree of {escape(e["entry"])}, {escape(r.label)}"></svg>'
                    f'<div class="details" id="{cid}-details"></div></div>'
                )
            body.append("</div>")
        for r, e in side:
            body.append(f"<h3>Side effects at import: {escape(r.label)}</h3>")
            body.append(_effects_html(e, r))
        body.append(
            "<h3>What <code>lazify apply</code> fixes <span class=muted>(the findings that match what was measured)</span></h3>"
        )
        body.append(_fixes_html(base, revs[0]))
        for r, e in side:
            body.append(_statements_html(e, r))
        body.append("</section>")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    title = f"lazify doctor: {project}"
    text_summary = summary(other) if other is not None else summary(doc)
    return _PAGE.format(
        title=escape(title),
        project=escape(project),
        root=escape(doc["project_root"]),
        version=escape(doc["version"]),
        python=escape(interp.get("python") or "?"),
        interp=escape(f"{interp['path']} ({interp['source']})"),
        runs=f"{doc['runs']} timed fresh process{'es' if doc['runs'] != 1 else ''} per revision",
        revs=escape(" vs ".join(r.label for r in revs)),
        verdict=verdict,
        summary=escape(text_summary),
        body="\n".join(body),
        data=payload,
        css=_CSS,
        js=_JS,
    )


def check_target(path: Path, option: str = "--html") -> None:
    """Say (DoctorError) before the long run that ``path`` can't be written, when it can't."""
    parent = path.parent if str(path.parent) else Path(".")
    why = None
    if path.is_dir():
        why = "is a directory"
    elif not parent.is_dir():
        why = f"{parent} is not a directory" if parent.exists() else f"the directory {parent} does not exist"
    elif not os.access(parent, os.W_OK | os.X_OK):
        why = f"the directory {parent} is not writable"
    elif path.exists() and not os.access(path, os.W_OK):
        why = "is not writable"
    if why:
        raise DoctorError(f"{option} {path}: {why}")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``: a reader
    never sees half a page, and a failed write leaves the old file as it was."""
    parent = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header>
<h1>lazify doctor <span class="project">{project}</span></h1>
<div class="meta">{root} · Python {python} · {interp} · {runs} · lazify {version}</div>
<div class="meta">revisions: {revs}</div>
{verdict}
<p class="textsummary">{summary}</p>
</header>
<main>
{body}
</main>
<footer>Made by <code>lazify doctor --html</code>. Times are from <code>-X importtime</code> in one traced run
(the chart) and the median of the timed runs (the cards); the chart lays each module's imports end to end,
then its own time.</footer>
<div id="tip" role="tooltip"></div>
<script type="application/json" id="doctor-data">{data}</script>
<noscript><p class="failure">The import-tree charts are drawn by the page's script; the tables above do not need it.</p></noscript>
<script>{js}</script>
</body>
</html>
"""

_CSS = """
:root { --fg:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f8fafc; --card:#fff; --red:#dc2626; --amber:#d97706;
  --green:#059669; --blue:#2563eb; }
* { box-sizing:border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  color:var(--fg); background:var(--bg); }
header, main, footer { max-width:1240px; margin:0 auto; padding:0 24px; }
header { padding-top:22px; }
h1 { font-size:22px; margin:0 0 4px; font-weight:650; }
h1 .project { color:var(--blue); }
h2 { font-size:18px; margin:28px 0 10px; padding-top:14px; border-top:1px solid var(--line); }
h3 { font-size:15px; margin:22px 0 8px; }
code, .loc { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
a.loc { color:var(--blue); text-decoration:none; } a.loc:hover { text-decoration:underline; }
.muted { color:var(--muted); font-weight:normal; }
.meta { color:var(--muted); font-size:12.5px; }
.textsummary { color:#334155; font-size:13px; margin:8px 0 0; }
.verdict { display:inline-block; margin-top:10px; padding:4px 10px; border-radius:6px; font-weight:600; font-size:13px; }
.verdict.pass { background:#d1fae5; color:#065f46; } .verdict.fail { background:#fee2e2; color:#991b1b; }
.cards { display:grid; grid-template-columns:repeat(6,1fr); gap:10px; }
.cards.n2 { grid-template-columns:repeat(3,1fr); }
.chips { display:flex; flex-wrap:wrap; gap:8px; align-items:center; margin-top:12px; font-size:13px; }
.chips .label { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; margin-right:2px; }
.chip { background:var(--card); border:1px solid var(--line); border-radius:14px; padding:2px 10px 2px 4px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
.card.bad { border-color:#fca5a5; background:#fff7f7; }
.card .label { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:21px; font-weight:650; margin-top:2px; white-space:nowrap; }
.card .arrow { color:var(--muted); font-weight:400; }
.card .sub { font-size:12px; color:var(--muted); min-height:1em; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.delta { font-size:12px; font-weight:600; padding:1px 5px; border-radius:4px; vertical-align:middle; }
.delta.better { background:#d1fae5; color:#065f46; } .delta.worse { background:#fee2e2; color:#991b1b; }
.delta.same { background:#f1f5f9; color:var(--muted); }
table { border-collapse:collapse; width:100%; background:var(--card); border:1px solid var(--line); border-radius:8px;
  overflow:hidden; font-size:13px; }
th { text-align:left; font-weight:600; color:var(--muted); font-size:12px; background:#f1f5f9; }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
tr:last-child td { border-bottom:none; }
td.num { text-align:right; white-space:nowrap; }
td.bar { width:180px; position:relative; white-space:nowrap; }
td.bar .b { display:inline-block; height:10px; border-radius:2px; vertical-align:middle; max-width:110px; }
td.bar .t { margin-left:6px; font-variant-numeric:tabular-nums; }
td.gone { color:var(--green); font-style:italic; }
.code { display:inline-block; font:600 11.5px ui-monospace,Menlo,Consolas,monospace; background:#eef2ff; color:#3730a3;
  border-radius:4px; padding:0 5px; }
.fixes { display:grid; grid-template-columns:repeat(auto-fill,minmax(360px,1fr)); gap:10px; }
.fixgroup { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px 12px; }
.fixgroup ul { margin:6px 0 0; padding-left:18px; } .fixgroup li { margin:3px 0; font-size:13px; }
.removes { color:var(--muted); font-size:12px; }
.safety { font-size:11px; font-weight:600; text-transform:uppercase; color:var(--green); }
.safety.unsafe { color:var(--amber); } .safety.blocked { color:var(--red); }
.tag { font-size:11px; color:var(--amber); }
.legend { display:flex; flex-wrap:wrap; gap:6px 16px; margin:22px 0 4px; font-size:12.5px; color:#334155; }
.legend .li { display:inline-flex; align-items:center; gap:6px; }
.sw { width:14px; height:14px; border-radius:3px; display:inline-block; border:1px solid rgba(0,0,0,.08); }
.mk { display:inline-flex; width:15px; height:15px; border-radius:50%; color:#fff; font:700 10px/15px system-ui,sans-serif;
  justify-content:center; }
.mk.effect { background:var(--red); } .mk.env { background:#0891b2; } .mk.package { background:var(--amber); }
.rev { margin-top:8px; }
.note { color:var(--muted); font-size:12.5px; margin:-4px 0 6px; }
.chartwrap { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px 10px 10px; }
.tools { display:flex; gap:12px; align-items:center; font-size:12px; margin-bottom:4px; }
button.reset { font:inherit; font-size:12px; padding:2px 8px; border:1px solid var(--line); border-radius:5px; background:#fff;
  cursor:pointer; } button.reset:disabled { opacity:.45; cursor:default; }
svg.icicle { display:block; width:100%; height:120px; font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif; }
svg.icicle .node rect { stroke:#fff; stroke-width:1; cursor:pointer; }
svg.icicle .node:hover rect { filter:brightness(.93); stroke:#0f172a; }
svg.icicle .node.selected rect { stroke:#0f172a; stroke-width:2; }
svg.icicle .node.has-effect rect { stroke:var(--red); stroke-width:2; }
svg.icicle text { pointer-events:none; fill:#1e293b; }
svg.icicle .node.project text { fill:#fff; }
svg.icicle .axis text { fill:var(--muted); font-size:10.5px; }
svg.icicle .axis line { stroke:var(--line); }
svg.icicle .budget line { stroke:var(--red); stroke-dasharray:4 3; }
svg.icicle .budget text { fill:var(--red); font-size:10.5px; }
svg.icicle .marker { cursor:pointer; }
svg.icicle .marker text { fill:#fff; font-weight:700; font-size:10px; }
.details { font-size:13px; margin-top:6px; min-height:1.4em; color:#334155; }
.details ul { margin:4px 0; padding-left:18px; }
#tip { position:fixed; pointer-events:none; background:#0f172a; color:#f8fafc; font-size:12px; line-height:1.4;
  padding:7px 9px; border-radius:6px; max-width:460px; box-shadow:0 4px 14px rgba(0,0,0,.25); display:none; z-index:10; }
#tip .m { font-weight:650; font-size:12.5px; } #tip .d { color:#cbd5e1; } #tip .e { color:#fca5a5; } #tip .v { color:#67e8f9; }
table.effects tr.env td { color:#475569; }
.kind { display:inline-block; min-width:34px; text-align:center; font:700 10px/18px system-ui,sans-serif; border-radius:4px;
  color:#fff; background:var(--red); } .kind.env { background:#0891b2; }
.ok { color:var(--green); font-weight:600; }
.failure { background:#fee2e2; border:1px solid #fca5a5; border-radius:8px; padding:8px 12px; color:#7f1d1d; }
footer { color:var(--muted); font-size:12px; margin:30px auto 40px; border-top:1px solid var(--line); padding-top:10px; }
"""

_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("doctor-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var ROW = 19, AXIS = 20, PAD = 2;
  var tip = document.getElementById("tip");
  var measure = document.createElement("canvas").getContext("2d");
  measure.font = "11px " + getComputedStyle(document.body).fontFamily;
  var colors = data.colors;
  // node fields
  var M = 0, G = 1, S = 2, D = 3, SELF = 4, K = 5, P = 6, F = 7, V = 8, E = 9;

  function fmt(s) {
    if (s === null || s === undefined) return "-";
    if (s >= 1) return s.toFixed(2) + " s";
    if (s >= 0.01) return (s * 1000).toFixed(0) + " ms";
    return (s * 1000).toFixed(1) + " ms";
  }
  function svg(tag, attrs, parent) {
    var n = document.createElementNS(NS, tag);
    for (var k in attrs) n.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(n);
    return n;
  }
  function h(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function loc(chart, where) {
    if (!where) return h("span", "loc", "?");
    var text = where.file + ":" + where.line;
    if (!chart.root) { var s = h("span", "loc", text); s.title = "in a temporary copy that is not kept"; return s; }
    var a = h("a", "loc", text);
    a.href = chart.root + where.file.split("/").map(encodeURIComponent).join("/") + "#L" + where.line;
    return a;
  }
  function parseLoc(text) {
    if (!text) return null;
    var i = text.lastIndexOf(":");
    return { file: text.slice(0, i), line: parseInt(text.slice(i + 1), 10) };
  }
  function color(n) { return colors[n[G]] || "#d6d3d1"; }
  function fit(label, width) {
    if (measure.measureText(label).width <= width) return label;
    // keep the end of a dotted name: the part that tells modules apart
    var parts = label.split(".");
    while (parts.length > 1) {
      parts.shift();
      var t = "…" + parts.join(".");
      if (measure.measureText(t).width <= width) return t;
    }
    return null;
  }
  function ticks(x0, x1, width) {
    var span = x1 - x0, target = Math.max(2, Math.floor(width / 90));
    var raw = span / target, pow = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * pow; }).find(function (s) { return s >= raw; });
    var out = [];
    for (var t = Math.ceil(x0 / step) * step; t <= x1 + 1e-12; t += step) out.push(t);
    return out;
  }

  function Chart(c) {
    this.c = c;
    this.el = document.getElementById(c.id);
    this.details = document.getElementById(c.id + "-details");
    this.reset = document.querySelector('button.reset[data-chart="' + c.id + '"]');
    this.x0 = 0; this.x1 = c.domain; this.focus = -1; this.selected = -1;
    var self = this;
    this.reset.addEventListener("click", function () { self.zoom(-1); });
    this.el.addEventListener("mousemove", function (ev) { self.hover(ev); });
    this.el.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    this.el.addEventListener("click", function (ev) {
      var g = ev.target.closest("[data-i]");
      if (g) self.zoom(parseInt(g.getAttribute("data-i"), 10));
    });
  }
  Chart.prototype.zoom = function (i) {
    var n = this.c.nodes;
    if (i < 0) { this.x0 = 0; this.x1 = this.c.domain; this.focus = -1; this.selected = -1; }
    else {
      this.selected = i;
      if (n[i][D] > 0) { this.x0 = n[i][S]; this.x1 = n[i][S] + n[i][D]; this.focus = i; }
    }
    this.reset.disabled = this.focus < 0;
    this.draw();
    this.showDetails(i);
  };
  Chart.prototype.inFocus = function (i) {
    if (this.focus < 0) return true;
    var n = this.c.nodes, f = this.focus;
    // the focused node's subtree, and its ancestors (drawn across the whole width)
    for (var j = i; j >= 0; j = n[j][P]) if (j === f) return true;
    for (var a = f; a >= 0; a = n[a][P]) if (a === i) return true;
    return false;
  };
  Chart.prototype.draw = function () {
    var c = this.c, el = this.el, n = c.nodes;
    var width = el.clientWidth || el.parentNode.clientWidth || 800;
    var scale = (width - 2 * PAD) / (this.x1 - this.x0 || 1e-9);
    var x0 = this.x0, x1 = this.x1, self = this;
    while (el.firstChild) el.removeChild(el.firstChild);
    var visible = [], depth = 0;
    for (var i = 0; i < n.length; i++) {
      var a = Math.max(n[i][S], x0), b = Math.min(n[i][S] + n[i][D], x1);
      // a module too short to see is left out, unless something happens in it
      if (b < a || ((b - a) * scale < 0.75 && !n[i][E].length) || !this.inFocus(i)) continue;
      visible.push([i, a, b]);
      if (n[i][K] > depth) depth = n[i][K];
    }
    var height = AXIS + (depth + 1) * ROW + 6;
    el.setAttribute("height", height);
    el.style.height = height + "px";
    el.setAttribute("viewBox", "0 0 " + width + " " + height);
    var axis = svg("g", { "class": "axis" }, el);
    ticks(x0, x1, width).forEach(function (t) {
      var x = PAD + (t - x0) * scale;
      svg("line", { x1: x, x2: x, y1: AXIS - 4, y2: height, "stroke-width": 1 }, axis);
      var text = fmt(t - (self.focus >= 0 ? x0 : 0));
      if (x + 3 + measure.measureText(text).width > width) return;
      var label = svg("text", { x: x + 3, y: AXIS - 7 }, axis);
      label.textContent = text;
    });
    var nodes = svg("g", { "class": "nodes" }, el);
    var marks = svg("g", { "class": "marks" }, el);
    visible.forEach(function (v) {
      var i = v[0], node = n[i];
      var x = PAD + (v[1] - x0) * scale, w = Math.max(node[E].length ? 3 : 0.75, (v[2] - v[1]) * scale), y = AXIS + node[K] * ROW;
      var effects = node[E].map(function (k) { return c.effects[k]; });
      var own = effects.filter(function (e) { return e.origin === "project" && e.kind !== "env"; });
      var env = effects.filter(function (e) { return e.origin === "project" && e.kind === "env"; });
      var pkg = effects.filter(function (e) { return e.origin === "package"; });
      var cls = "node" + (node[G] === "(project)" ? " project" : "") + (own.length ? " has-effect" : "") +
        (i === self.selected ? " selected" : "");
      var g = svg("g", { "class": cls, "data-i": i }, nodes);
      svg("rect", { x: x, y: y, width: w, height: ROW - 1, rx: 2, fill: color(node) }, g);
      if (w > 24) {
        var label = fit(node[M], w - 8);
        if (label) { var t = svg("text", { x: x + 4, y: y + ROW - 6 }, g); t.textContent = label; }
      }
      var mx = x + w - 8;
      [[own, "effect", "!", "#dc2626"], [env, "env", "$", "#0891b2"], [pkg, "package", "•", "#d97706"]].forEach(function (m) {
        if (!m[0].length) return;
        var mg = svg("g", { "class": "marker " + m[1], "data-i": i }, marks);
        var cx = Math.max(x + 7, mx);
        svg("circle", { cx: cx, cy: y + 1, r: 7, fill: m[3], stroke: "#fff", "stroke-width": 1.5 }, mg);
        var tt = svg("text", { x: cx, y: y + 4.5, "text-anchor": "middle" }, mg);
        tt.textContent = m[0].length > 1 ? String(m[0].length) : m[2];
        mx = cx - 15;
      });
    });
    if (c.budget && c.budget > x0 && c.budget < x1) {
      var bx = PAD + (c.budget - x0) * scale, bg = svg("g", { "class": "budget" }, el);
      svg("line", { x1: bx, x2: bx, y1: AXIS - 2, y2: height }, bg);
      var bt = svg("text", { x: bx - 4, y: height - 4, "text-anchor": "end" }, bg);
      bt.textContent = "budget " + fmt(c.budget);
    }
    el.setAttribute("data-drawn", String(visible.length));
  };
  Chart.prototype.hover = function (ev) {
    var g = ev.target.closest("[data-i]");
    if (!g) { tip.style.display = "none"; return; }
    var c = this.c, node = c.nodes[parseInt(g.getAttribute("data-i"), 10)];
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    tip.appendChild(h("div", "m", node[M]));
    var group = node[G] === "(project)" ? "project" + (node[F] ? " · " + node[F] : "") : node[G];
    tip.appendChild(h("div", "d", group));
    var share = c.total ? (100 * node[D] / c.total).toFixed(1) + "% of the import" : "";
    tip.appendChild(h("div", "", fmt(node[D]) + " cumulative (" + share + ") · " + fmt(node[SELF]) + " self"));
    if (node[V]) tip.appendChild(h("div", "d", "imported at " + node[V]));
    node[E].forEach(function (k) {
      var e = c.effects[k];
      var at = e.at ? e.at.file + ":" + e.at.line : "?";
      var who = e.origin === "package" ? e.package + ": " : "";
      tip.appendChild(h("div", e.kind === "env" ? "v" : "e",
        (e.kind === "env" ? "$ " : "⚠ ") + who + e.summary + " at " + at + (e.codemod ? " — fix " + e.fix : "")));
    });
    tip.style.display = "block";
    var x = ev.clientX + 14, y = ev.clientY + 14;
    if (x + tip.offsetWidth > window.innerWidth - 8) x = ev.clientX - tip.offsetWidth - 14;
    if (y + tip.offsetHeight > window.innerHeight - 8) y = ev.clientY - tip.offsetHeight - 14;
    tip.style.left = x + "px"; tip.style.top = y + "px";
  };
  Chart.prototype.showDetails = function (i) {
    var d = this.details, c = this.c;
    while (d.firstChild) d.removeChild(d.firstChild);
    if (i < 0) return;
    var node = c.nodes[i];
    var head = h("div");
    head.appendChild(h("b", "", node[M]));
    head.appendChild(document.createTextNode("  " + fmt(node[D]) + " cumulative, " + fmt(node[SELF]) + " self"));
    if (node[F] && node[G] === "(project)") {
      head.appendChild(document.createTextNode(" · "));
      head.appendChild(loc(c, { file: node[F], line: 1 }));
    }
    if (node[V]) {
      head.appendChild(document.createTextNode(" · imported at "));
      head.appendChild(loc(c, parseLoc(node[V])));
    }
    d.appendChild(head);
    if (node[E].length) {
      var ul = h("ul");
      node[E].forEach(function (k) {
        var e = c.effects[k], li = h("li");
        li.appendChild(document.createTextNode((e.origin === "package" ? e.package + ": " : "") + e.summary + " at "));
        li.appendChild(loc(c, e.at));
        if (e.inner) { li.appendChild(document.createTextNode(" (in ")); li.appendChild(loc(c, e.inner)); li.appendChild(document.createTextNode(")")); }
        li.appendChild(document.createTextNode(" — " + e.fix));
        ul.appendChild(li);
      });
      d.appendChild(ul);
    }
  };

  var charts = data.charts.map(function (c) { return new Chart(c); });
  function drawAll() { charts.forEach(function (ch) { ch.draw(); }); }
  drawAll();
  var pending = 0;
  window.addEventListener("resize", function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(drawAll);
  });
  document.body.setAttribute("data-charts", String(charts.length));
})();
"""
