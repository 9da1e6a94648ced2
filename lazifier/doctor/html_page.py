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

import json
import os
import tempfile
from html import escape
from pathlib import Path

from lazifier.doctor.page_data import (
    OTHER_DIST,
    Revision,
    chart_data,
    fix_label,
    location,
    revisions,
)
from lazifier.doctor.render import summary
from lazifier.doctor.runner import DoctorError
from lazifier.doctor.units import mb, ms

# ---------------------------------------------------------------------------------------------
# The data the script draws


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
            key = f"{s['package']}: {s['summary']} (imported at {location(s['line'])})"
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
        f"<ol>{frames}</ol><div>fix: {escape(fix_label(fix))}</div></div>"
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
    data = chart_data(doc, revs)
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
    return _asset("page.html").format(
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
        css=_asset("page.css"),
        js=_asset("page.js"),
    )


def _asset(name: str) -> str:
    """The page's template, stylesheet and script: files beside this module (``page/``), inlined
    into every page."""
    return (Path(__file__).with_name("page") / name).read_text(encoding="utf-8")


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
