"""The doctor report as GitHub annotations, SARIF and json (the document itself): each finding
(the import failing, over the budget, a side effect, with --compare a regression) at its line."""

from __future__ import annotations

import json
from collections.abc import Callable

from lazifier import __version__
from lazifier.doctor.render import fix_text, summary
from lazifier.doctor.units import ms, signed, where
from lazifier.report_github import workflow_command
from lazifier.report_sarif import SARIF_SCHEMA, SRCROOT


def _items(doc: dict):
    strict = doc["strict"]
    for e in doc["entries"]:
        if e.get("error"):
            err = e["error"]
            loc = err.get("statement") or (err.get("line")) or {"file": e["file"], "line": 1}
            msg = (
                f"importing {e['entry']} fails: {err['type']}: {err['message']}; fix: {fix_text(err['fix'])}"
            )
            yield "import-failure", "error", loc.get("file"), loc.get("line"), msg
        if e.get("over_budget"):
            b = doc["budget"]
            yield "over-budget", "error", e[
                "file"
            ], 1, f"importing {e['entry']} takes {ms(e['timing']['import']['median'])}, over the budget of {ms(b['seconds'])}"
        for s in e["side_effects"]:
            if s["origin"] != "project":
                continue
            level = "error" if strict else "warning"
            inner = f" (in {where(s['line'])})" if s["line"] != s["statement"] else ""
            loc = s["statement"] or s["line"]
            yield f"side-effect/{s['kind']}", level, loc["file"], loc[
                "line"
            ], f"{s['title']} at import: {s['summary']}{inner}; fix: {fix_text(s['fix'])}"
        for f in e["files_left"]:
            yield "side-effect/file-left", "error" if strict else "warning", e[
                "file"
            ], 1, f"importing {e['entry']} leaves {f['path']} ({f['change']}) in the project directory"
        for s in e["statements"]:
            yield "slow-statement", "warning", s["file"], s[
                "line"
            ], f"module-level statement takes {ms(s['seconds'])} at import; fix: {fix_text(s['fix'])}"
        for d in e["distributions"]:
            for p in d["packages"]:
                if p["fix"].get("codemod") and p["statement"]:
                    yield "heavy-package", "warning", p["statement"]["file"], p["statement"]["line"], (
                        f"`{p['name']}` ({d['name']}, {ms(d['self_seconds'])}) is imported at import time; fix: {fix_text(p['fix'])}"
                    )
    c = doc.get("compare")
    for cmp in c["comparisons"] if c else []:
        t = cmp["time"]
        if cmp["regression"]:
            top = cmp["responsible"][0] if cmp["responsible"] and cmp["responsible"][0]["line"] else None
            loc = top["line"] if top else {"file": None, "line": None}
            through = f"; {ms(top['seconds'])} of it through this line: {top['text']}" if top else ""
            yield "compare/regression", "error", loc["file"], loc["line"], (
                f"importing {cmp['entry']} is {signed(t['delta'])} slower than {c['ref']} "
                f"({ms(t['ref'])} -> {ms(t['work'])}, over --max-regression {c['max_regression']['text']}){through}"
            )
        for s in cmp["side_effects"]["added"]:
            loc = s["statement"] or s["line"]
            yield "compare/new-side-effect", "error", loc["file"], loc["line"], (
                f"a side effect {c['ref']} did not have: {s['title']}: {s['summary']}; fix: {fix_text(s['fix'])}"
            )


def render_github(doc: dict, display: Callable[[str], str] = lambda p: p) -> str:
    out = []
    for rule, level, file, line, msg in _items(doc):
        props: list[tuple[str, object]] = []
        if file:
            props.append(("file", display(file)))
            if line:
                props.append(("line", line))
        props.append(("title", f"lazify doctor: {rule}"))
        out.append(workflow_command(level, props, msg))
    out.append(workflow_command("notice", [("title", "lazify doctor")], summary(doc)))
    return "\n".join(out) + "\n"


RULES = {
    "import-failure": "Importing the entry fails (the platform's FUNCTION_INVOCATION_FAILED)",
    "over-budget": "Importing the entry takes longer than the import budget",
    "slow-statement": "A module-level statement that is not an import takes long at import",
    "heavy-package": "A package that lazify can defer is imported at import time",
    "compare/regression": "The import is slower than at the compared revision by more than --max-regression",
    "compare/new-side-effect": "A side effect at import that the compared revision did not have",
    **{f"side-effect/{k}": f"Side effect at import: {v}" for k, v in {
        "sqlite": "SQLite connection", "open": "file opened for writing", "logging-file": "logging handler opens a file",
        "mkdir": "directory created", "connect": "network connection", "dns": "name lookup", "subprocess": "subprocess",
        "thread": "thread started", "random": "random bytes drawn", "env": "environment variable read",
        "file-left": "file left in the project directory",
    }.items()},
}  # fmt: skip


def render_sarif(doc: dict, prefix: str = "", repo_root: str | None = None) -> str:
    rule_ids = list(RULES)
    results = []
    for rule, level, file, line, msg in _items(doc):
        result: dict = {
            "ruleId": rule,
            "ruleIndex": rule_ids.index(rule),
            "level": level,
            "message": {"text": msg},
        }
        if file:
            loc: dict = {"artifactLocation": {"uri": prefix + file, "uriBaseId": SRCROOT}}
            if line:
                loc["region"] = {"startLine": line}
            result["locations"] = [{"physicalLocation": loc}]
        results.append(result)
    run: dict = {
        "tool": {"driver": {
            "name": "lazify doctor", "version": __version__, "informationUri": "https://pypi.org/project/lazify-codemods/",
            "rules": [{"id": r, "name": r.replace("/", "-"), "shortDescription": {"text": t}} for r, t in RULES.items()],
        }},
        "results": results,
        "invocations": [{"executionSuccessful": True, "exitCode": doc["exit_code"]}],
    }  # fmt: skip
    if repo_root:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": repo_root}}
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def render_json(doc: dict) -> str:
    return json.dumps(doc, indent=2) + "\n"
