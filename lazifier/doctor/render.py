"""The doctor report as text (the machine formats are in :mod:`lazifier.doctor.render_machine`)."""

from __future__ import annotations

from lazifier.console import PLAIN, Colors
from lazifier.doctor.render_short import entry_lines
from lazifier.doctor.units import effects_by_file, mb, ms, over_limits, package_effects, signed, where


def fix_text(fix: dict, width: int | None = None) -> str:
    if fix.get("codemod"):
        message = fix["message"]
        if width and len(message) > width:
            message = message[: width - 3] + "..."
        text = f"{fix['codemod']} {fix['name']} ({fix['safety']}): {message}"
        if fix.get("note"):
            text += f" [{fix['note']}]"
        elif fix.get("line") is not None:
            text += f" [{fix['file']}:{fix['line']}]"
        return text
    return fix.get("note") or "no codemod"


def _timing_line(e: dict) -> str:
    t = e["timing"]
    imp, proc, bare = t["import"], t["process"], t["bare_startup"]
    n = len(imp["runs"])
    spread = f" (min {ms(imp['min'])}, max {ms(imp['max'])})" if n > 1 else ""
    return (
        f"import {e['module'] if not e['module'].startswith('file:') else e['file']}: {ms(imp['median'])} "
        f"{'median of ' + str(n) + ' fresh processes' if n > 1 else '(1 process)'}{spread}; "
        f"whole process {ms(proc['median'])}, bare interpreter {ms(bare['median'])}; {e['modules_loaded']} modules"
    )


def _tree_lines(e: dict, colors: Colors) -> list[str]:
    """The whole tree (``-v``): every project module, and every other one over 5 ms."""
    tree = e.get("tree")
    if not tree:
        return []
    marks = effects_by_file(e)
    lines: list[str] = []

    def shown(node: dict) -> bool:
        return node["group"] == "(project)" or node["cumulative_seconds"] >= 0.005

    def walk(node: dict, prefix: str) -> None:
        kids = [c for c in node["children"] if shown(c)]
        hidden = [c for c in node["children"] if not shown(c)]
        for i, child in enumerate(kids):
            last = i == len(kids) - 1 and not hidden
            branch = "└─ " if last else "├─ "
            label = child["module"]
            if child["group"] not in ("(project)", "(standard library)"):
                label += f"  [{child['group']}]"
            via = f"  {colors.dim(where(child['via']))}" if child["via"] else ""
            lines.append(f"{prefix}{branch}{label}{via}  {colors.bold(ms(child['cumulative_seconds']))}")
            inner = prefix + ("   " if last else "│  ")
            for s in marks.get(child["file"] or "", []) if child["group"] == "(project)" else []:
                lines.append(f"{inner}{colors.red('⚠')} {s['summary']} at {where(s['statement'])}")
            if child["group"] == "(project)":
                walk(child, inner)
        if hidden and sum(c["cumulative_seconds"] for c in hidden) >= 0.001:
            rest = ms(sum(c["cumulative_seconds"] for c in hidden))
            lines.append(f"{prefix}└─ " + colors.dim(f"+ {len(hidden)} more, {rest}"))

    walk(tree, "")
    return lines


def _entry_text(e: dict, doc: dict, verbose: bool, colors: Colors) -> list[str]:
    out = [colors.bold(f"== {e['entry']}") + f"  ({e['source']})", _timing_line(e)]
    if e.get("over_budget"):
        out.append(
            colors.red(f"over the budget of {ms(doc['budget']['seconds'])} ({doc['budget']['source']})")
        )
    out += _sandbox_lines(e, doc, colors)
    err = e.get("error")
    if err:
        out += ["", colors.red(f"the import FAILED: {err['type']}: {err['message']}")]
        for fr in err.get("traceback", []):
            out.append(f"  {fr['file']}:{fr['line']} in {fr['function']}")
        if err.get("raised_in") and (
            not err["traceback"] or err["raised_in"]["file"] != err["traceback"][-1]["file"]
        ):
            ri = err["raised_in"]
            out.append(f"  raised in {ri['file']}:{ri['line']} in {ri['function']}")
        if err.get("statement"):
            out.append(f"  statement: {where(err['statement'])}; fix: {fix_text(err['fix'])}")
        if err.get("stderr"):
            out += ["  " + line for line in err["stderr"].strip().splitlines()[-5:]]
    if not verbose:
        return [
            *out,
            *entry_lines(e, doc, colors),
            *(_size_lines(e, doc, colors) if over_limits(e, doc) else []),
        ]
    # The long form, -v (the default one is lazifier.doctor.render_short's).
    tree = _tree_lines(e, colors)
    if tree:
        out += [
            "",
            colors.bold("Import tree")
            + " (cumulative time, from -X importtime; [distribution]; the line that imported it):",
        ]
        out.append(f"{e['file'] or e['module']}  {colors.bold(ms(e['tree']['cumulative_seconds']))}")
        out += tree
    dists = [d for d in e["distributions"] if d["kind"] == "distribution"]
    if dists:
        out += [
            "",
            colors.bold("Time by distribution")
            + " (its own modules' time; where the project first imports it; the fix):",
        ]
        for d in dists:
            pkg = d["packages"][0] if d["packages"] else None
            first = f"  {where(pkg['statement'])}" if pkg and pkg["statement"] else ""
            fix = f"\n      fix: {fix_text(pkg['fix'], 60)}" if pkg else ""
            out.append(
                f"  {d['name']} {d['version'] or ''}".rstrip()
                + f"  {ms(d['self_seconds'])}, {d['modules']} modules, {mb(d['bytes'])}{first}{fix}"
            )
        for d in e["distributions"]:
            if d["kind"] != "distribution":
                out.append(colors.dim(f"  {d['name']}  {ms(d['self_seconds'])}, {d['modules']} modules"))
    if e.get("missing_imports"):
        out += [
            "",
            colors.bold("Imports tried at import that are not installed")
            + " (each attempt searches sys.path):",
        ]
        for m in e["missing_imports"]:
            out.append(f"  {m['module']}  at {where(m['statement'])}; fix: {fix_text(m['fix'], 60)}")
    if e["statements"]:
        out += [
            "",
            colors.bold("Slow module-level statements")
            + f" (traced run; over {ms(doc['threshold_seconds'])}, or rewritten by lazify):",
        ]
        for s in e["statements"]:
            out.append(f"  {s['file']}:{s['line']}  {ms(s['seconds'])}  {s['text']}")
            out.append(f"      fix: {fix_text(s['fix'], 60)}")
    own = [s for s in e["side_effects"] if s["origin"] == "project"]
    n_env = sum(1 for s in own if s["kind"] == "env")
    if own or e["files_left"]:
        counted = f"{len(own) - n_env}" + (f", and {n_env} environment read(s)" if n_env else "")
        out += ["", colors.bold(f"Side effects at import ({counted})") + ":"]
        out += _effect_lines(own, colors)
        if e["files_left"]:
            names = ", ".join(f"{f['path']} ({f['change']})" for f in e["files_left"])
            out.append(f"  {colors.red('⚠')} left in the project directory: {names}")
    by_packages = package_effects(e)
    if by_packages:
        out.append(colors.dim(f"  {by_packages}"))
    if not own and not e["files_left"] and not err:
        out += ["", colors.green("No side effects at import.")]
    return [*out, *_size_lines(e, doc, colors)]


def _size_lines(e: dict, doc: dict, colors: Colors) -> list[str]:
    size = e["size"]
    if not size["distributions"]:
        return []
    limits = "; ".join(
        f"{lim['platform']} {mb(lim['limit_bytes'])} {lim['what']}" for lim in doc["size_limits"]
    )
    over = over_limits(e, doc)
    verdict = colors.red(f" OVER the limit of {', '.join(over)}") if over else ""
    return ["", f"Size: the {size['distributions']} distributions it imports take {mb(size['bytes'])} installed{verdict} "
            f"({limits})"]  # fmt: skip


def _effect_lines(own: list[dict], colors: Colors) -> list[str]:
    """Each side effect with its kind, its line and its fix (``-v``)."""
    out = []
    for s in own:
        inner = f" -> {where(s['line'])}" if s["line"] != s["statement"] else ""
        out.append(f"  {colors.red('⚠')} {s['title']}: {s['summary']}  at {where(s['statement'])}{inner}")
        out.append(f"      fix: {fix_text(s['fix'], 60)}")
    return out


_CAUSES = {
    "refused": "an operation the platform refuses",
    "environment": "an environment variable that isn't set there",
    "init-limit": "the platform's init time limit",
    "error": "an error (not one the sandbox caused)",
}


def _sandbox_lines(e: dict, doc: dict, colors: Colors) -> list[str]:
    """--sandbox: whether the import passes under the platform's constraints, and what the
    sandbox refused, each with its line and fix."""
    sb, result = doc.get("sandbox"), e.get("sandbox")
    if not sb or result is None:
        return []
    out = [""]
    if result["ok"]:
        out.append(
            colors.green(f"Sandbox ({sb['title']}): the import passes under the platform's constraints.")
        )
    else:
        err = e["error"]
        out.append(
            colors.red(f"Sandbox ({sb['title']}): the import FAILS, through {_CAUSES[result['cause']]}: ")
            + f"{err['type']}: {err['message']}"
        )
        if result["cause"] == "init-limit":
            out.append(
                f"  stopped at {where(err['line'])} (statement {where(err['statement'])}) after "
                f"{ms(sb['init_limit_seconds'])}; fix: {fix_text(err['fix'], 60)}"
            )
        for name in result["needed_variables"]:
            out.append(
                f"  needs ${name} at {where(err['statement'])}: not in the platform's environment; "
                "set it in the function's configuration (here: --env-file)"
            )
    for s in result["refused"]:
        inner = f" -> {where(s['line'])}" if s["line"] != s["statement"] else ""
        out.append(
            f"  {colors.red('✗')} refused: {s['summary']} ({s['detail']['refused']})  at {where(s['statement'])}{inner}"
        )
        out.append(f"      fix: {fix_text(s['fix'], 60)}")
    return out


def _preview_lines(doc: dict, colors: Colors) -> list[str]:
    p = doc.get("preview")
    if not p:
        return []
    out = [
        "",
        colors.bold("== Preview: lazify apply --yes, on a temporary copy") + f"  ({p['apply_summary']})",
    ]
    if not p["applied"]:
        return [*out, colors.red(f"lazify apply failed (exit {p['apply_exit_code']})")]
    for before, after in zip(doc["entries"], p["entries"]):
        rows = [
            ("import (median)", ms(before["timing"]["import"]["median"]), ms(after["timing"]["import"]["median"])),
            ("import CPU", ms(before["timing"]["import_cpu"]["median"]), ms(after["timing"]["import_cpu"]["median"])),
            ("modules loaded", str(before["modules_loaded"]), str(after["modules_loaded"])),
            ("distributions", ", ".join(_heavy(before)) or "-", ", ".join(_heavy(after)) or "-"),
            ("side effects", _effects(before), _effects(after)),
            ("files left", ", ".join(f["path"] for f in before["files_left"]) or "none",
             ", ".join(f["path"] for f in after["files_left"]) or "none"),
            ("import fails", "yes" if before["error"] else "no", "yes" if after["error"] else "no"),
        ]  # fmt: skip
        w = max(len(r[1]) for r in rows) + 2
        out.append(f"  {before['entry']}:")
        out.append(f"    {'':<16}{'before':<{w}}after")
        for label, b, a in rows:
            out.append(f"    {label:<16}{b:<{w}}{a}")
    return out


def _compare_lines(doc: dict, colors: Colors) -> list[str]:
    """--compare: REF and the working tree side by side, what the working tree adds and the
    lines responsible."""
    c = doc.get("compare")
    if not c:
        return []
    ref = c["ref"]
    out = ["", colors.bold(f"== Compare: {ref} ({c['commit'][:10]} {c['subject'][:50]}) against the working tree")
           + f"  (interleaved run by run; --max-regression {c['max_regression']['text']})"]  # fmt: skip
    for before, after, cmp in zip(c["entries"], doc["entries"], c["comparisons"]):
        t = cmp["time"]
        pct = f" ({t['delta_percent']:+.0f}%)" if t["delta_percent"] is not None else ""
        rows = [
            ("import (median)", ms(t["ref"]), ms(t["work"]), signed(t["delta"]) + pct),
            ("import CPU", ms(cmp["cpu"]["ref"]), ms(cmp["cpu"]["work"]), signed(cmp["cpu"]["delta"])),
            ("runs", " ".join(ms(r) for r in t["ref_runs"]), " ".join(ms(r) for r in t["work_runs"]),
             f"noise ±{ms(t['noise'])}"),
            ("modules loaded", str(cmp["modules"]["ref"]), str(cmp["modules"]["work"]),
             f"{cmp['modules']['work'] - cmp['modules']['ref']:+d}"),
            ("distributions", ", ".join(_heavy(before)) or "-", ", ".join(_heavy(after)) or "-",
             " ".join([*("+" + d for d in cmp["distributions"]["added"]), *("-" + d for d in cmp["distributions"]["removed"])])),
            ("side effects", _effects(before), _effects(after),
             f"+{len(cmp['side_effects']['added'])} -{len(cmp['side_effects']['removed'])}"),
            ("size", mb(cmp["size"]["ref"]), mb(cmp["size"]["work"]), ("+" if cmp["size"]["delta"] >= 0 else "") + mb(cmp["size"]["delta"])),
            ("import fails", cmp["errors"]["ref"] or "no", cmp["errors"]["work"] or "no", ""),
        ]  # fmt: skip
        w1 = max(len(r[1]) for r in rows) + 2
        w2 = max(len(r[2]) for r in rows) + 2
        out.append(f"  {after['entry']}:")
        out.append(f"    {'':<16}{ref:<{w1}}{'working tree':<{w2}}change")
        for label, a, b, d in rows:
            out.append(f"    {label:<16}{a:<{w1}}{b:<{w2}}{d}".rstrip())
        for item in cmp["responsible"][:5]:
            mods = ", ".join(item["modules"][:4]) + (
                f" +{len(item['modules']) - 4}" if len(item["modules"]) > 4 else ""
            )
            out.append(
                f"    adds {ms(item['seconds'])} through {where(item['line'])} {item['text']}  ({mods})"
            )
        for s in cmp["side_effects"]["added"]:
            out.append(
                f"    {colors.red('+')} new side effect: {s['title']}: {s['summary']}  at {where(s['statement'] or s['line'])}"
            )
            out.append(f"        fix: {fix_text(s['fix'], 60)}")
        for f in cmp["side_effects"]["files_left_added"]:
            out.append(f"    {colors.red('+')} leaves {f['path']} in the project directory")
        if cmp["regression"]:
            out.append(colors.red(f"    REGRESSION: {signed(t['delta'])} over REF, more than the {ms(t['allowed'])} allowed "
                                  f"and twice the noise of ±{ms(t['noise'])}"))  # fmt: skip
        elif t["delta"] is not None:
            out.append(colors.green(f"    within --max-regression {c['max_regression']['text']} ({ms(t['allowed'])}) "
                                    f"of {ref}; the difference, {signed(t['delta'])}, against noise of ±{ms(t['noise'])}"))  # fmt: skip
    return out


def _heavy(e: dict, n: int = 5) -> list[str]:
    dists = [d for d in e["distributions"] if d["kind"] == "distribution"]
    return [f"{d['name']}" for d in dists[:n]] + ([f"+{len(dists) - n}"] if len(dists) > n else [])


def _effects(e: dict) -> str:
    own = [s for s in e["side_effects"] if s["origin"] == "project"]
    if not own:
        return "none"
    kinds: dict[str, int] = {}
    for s in own:
        kinds[s["kind"]] = kinds.get(s["kind"], 0) + 1
    return ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items())


def render_text(doc: dict, verbose: bool = False, colors: Colors = PLAIN) -> str:
    interp = doc["interpreter"]
    out = [
        f"lazify doctor {doc['version']}: {doc['project_root']}",
        f"Python {interp['python'] or '?'} at {interp['path']} ({interp['source']})",
        "each run a fresh process in a fresh copy of the project (the user's code runs; nothing is written to it)",
    ]  # fmt: skip
    sb = doc.get("sandbox")
    if sb:
        out.append(
            f"Sandbox: {sb['title']}, simulated in the probe: the code read-only, only $TMPDIR and /tmp writable, "
            f"network {sb['network']}, environment {', '.join(sb['base_variables'])} + {len(sb['platform_variables'])} "
            f"platform variables + {len(sb['env_file_variables'])} from {sb['env_file'] or 'no --env-file'}, "
            f"init limit {ms(sb['init_limit_seconds'])} ({sb['init_limit_source'].split(' ')[0]})"
        )
    if doc.get("analysis_error"):
        out.append(colors.yellow(f"lazify's analysis failed, so no fixes are named: {doc['analysis_error']}"))
    for e in doc["entries"]:
        out += ["", *_entry_text(e, doc, verbose, colors)]
    out += _preview_lines(doc, colors)
    out += _compare_lines(doc, colors)
    out += _profile_lines(doc, colors)
    out += ["", colors.bold("lazify doctor: ") + summary(doc)]
    return "\n".join(out) + "\n"


def _profile_lines(doc: dict, colors: Colors) -> list[str]:
    """--write-profile: where the profile went (or why it didn't), and what reads it."""
    p = doc.get("profile")
    if not p:
        return []
    if p["error"]:
        return ["", colors.yellow(f"Profile: not written: {p['error']}")]
    return [
        "",
        f"Profile: wrote {p['path']} ({p['packages']} packages, {p['statements']} module-level statements; "
        'for heavy-modules = "measured", with this interpreter and these installed versions only)',
    ]


def summary(doc: dict) -> str:
    parts = []
    for e in doc["entries"]:
        own = [s for s in e["side_effects"] if s["origin"] == "project"]
        n_env = sum(1 for s in own if s["kind"] == "env")
        fixes = [s["fix"] for s in [*own, *e["statements"], *e.get("missing_imports", [])]]
        fixes += [p["fix"] for d in e["distributions"] for p in d["packages"][:1] if p.get("fix")]
        fixable = {(f["codemod"], f["file"], f["line"]) for f in fixes if f.get("applied_by_default")}
        state = (
            ("FAILS to import" + (" in the sandbox" if e.get("sandbox") else ""))
            if e["error"]
            else f"imports in {ms(e['timing']['import']['median'])}"
        )
        parts.append(
            f"{e['entry']} {state}, {len(own) - n_env} side effect(s), {n_env} environment read(s), "
            f"{len(e['files_left'])} file(s) left; "
            f"{len(fixable)} fixed by `lazify apply`"
        )
    v = doc["verdict"]
    tail = f" (exit {v['exit_code']}: {'; '.join(v['reasons'])})" if v["reasons"] else ""
    return "; ".join(parts) + tail + "."
