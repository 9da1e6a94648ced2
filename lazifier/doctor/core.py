"""``lazify doctor``: measure the entries, attribute what was measured, build the document."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lazifier import __version__
from lazifier.doctor.analysis import build_entry
from lazifier.doctor.fixes import analyse
from lazifier.doctor.runner import DoctorError, Entry, Interpreter, copy_project, inventory, run_probe

SCHEMA_ID = "lazify-doctor/1"

#: Serverless bundle limits the size is held against: figure, what it limits, where it is
#: stated, and when that was read.
SIZE_LIMITS = (
    {"platform": "Vercel Function (Python)", "limit_bytes": 500 * 1024 * 1024, "what": "unzipped bundle",
     "source": "https://vercel.com/kb/guide/troubleshooting-function-250mb-limit (250 MB standard, "
     "500 MB for Python; page updated 2026-09-10)", "checked": "2026-12"},
    {"platform": "Vercel Function (other runtimes)", "limit_bytes": 250 * 1024 * 1024, "what": "unzipped bundle",
     "source": "https://vercel.com/kb/guide/troubleshooting-function-250mb-limit", "checked": "2026-12"},
    {"platform": "AWS Lambda (.zip)", "limit_bytes": 250 * 1024 * 1024, "what": "unzipped, with layers",
     "source": "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (262144000 bytes; "
     "50 MB zipped for a direct upload)", "checked": "2026-12"},
)  # fmt: skip


@dataclass
class Options:
    root: Path
    entries: list[Entry]
    interpreter: Interpreter
    runs: int = 5
    timeout: float = 60.0
    threshold: float = 0.010
    preview: bool = False
    budget: float | None = None
    budget_source: str | None = None
    strict: bool = False
    cache_dir: str = ".lazify_cache"
    progress: Callable[[str], None] = field(default=lambda message: None)
    #: --sandbox serverless: a ``sandbox.Sandbox``, or None.
    sandbox: object | None = None
    #: --compare REF: a ``compare.Revision``, and --max-regression (a ``compare.Threshold``).
    compare: object | None = None
    max_regression: object | None = None
    #: --write-profile: store the measured costs for heavy-modules = "measured".
    write_profile: bool = False
    #: The project says heavy-modules = "measured": the preview's apply reads its profile.
    measured: bool = False


def parse_duration(text: str, where: str) -> float:
    """``800ms``, ``1.5s``, ``2`` (seconds) -> seconds."""
    from lazifier.settings import ConfigError
    from lazifier.settings import parse_duration as parse

    try:
        return parse(text, where)
    except ConfigError as e:
        raise DoctorError(str(e)) from None


def _measure(opts: Options, roots: list[tuple[Path, object]], entry: Entry, label: str) -> list[dict]:
    """Measure ``entry`` in each of ``roots`` (the project, and the preview's copy), run by run
    interleaved so that the machine's noise hits them alike: first a traced run of each (which
    also warms the file cache), then per round a bare start-up and one run of each root."""
    say = opts.progress
    traced = []
    for root, _ in roots:
        say(f"{label}: traced run of {entry.spec}")
        t = run_probe(
            opts.interpreter, root, entry, trace=True, timeout=opts.timeout, cache_dir=opts.cache_dir,
            sandbox=opts.sandbox,
        )  # fmt: skip
        if not t.data and not t.timed_out:
            tail = t.stderr_tail.strip().splitlines()[-5:]
            raise DoctorError(
                f"the probe did not run under {opts.interpreter.path} (exit {t.returncode}); doctor needs Python 3.10 or later"
                + ("\n  " + "\n  ".join(tail) if tail else "")
            )
        traced.append(t)
    timed: list[list] = [[] for _ in roots]
    bare = []
    for i in range(opts.runs):
        say(f"{label}: run {i + 1}/{opts.runs}")
        bare.append(
            run_probe(
                opts.interpreter,
                roots[0][0],
                None,
                trace=False,
                timeout=opts.timeout,
                cache_dir=opts.cache_dir,
                sandbox=opts.sandbox,
            )
        )
        for k, (root, _) in enumerate(roots):
            timed[k].append(
                run_probe(
                    opts.interpreter,
                    root,
                    entry,
                    trace=False,
                    timeout=opts.timeout,
                    cache_dir=opts.cache_dir,
                    sandbox=opts.sandbox,
                )
            )
    out = []
    for k, (root, findings) in enumerate(roots):
        tops = sorted(
            {name.split(".")[0] for name in (timed[k][0].data or traced[k].data).get("modules", {})}
        )
        inv = inventory(opts.interpreter, tops)
        out.append(
            build_entry(
                entry,
                root,
                timed[k],
                traced[k],
                bare,
                inv,
                findings,
                threshold=opts.threshold,
                sandbox=opts.sandbox is not None,
            )
        )
    return out


def diagnose(opts: Options) -> dict:
    say = opts.progress
    say("lazify's analysis (dry run)")
    findings = analyse(opts.root)
    with tempfile.TemporaryDirectory(prefix="lazify-preview-") as tmp, contextlib.ExitStack() as stack:
        roots: list[tuple[Path, object]] = [(opts.root, findings)]
        preview = None
        if opts.preview:
            copy = Path(tmp) / opts.root.name
            preview = _apply_copy(opts, copy)
            if preview["applied"]:
                roots.append((copy, analyse(copy)))
        ref_root = None
        if opts.compare is not None:
            from lazifier.doctor.compare import checkout

            say(f"--compare: checking out {opts.compare.ref} in a temporary worktree")
            ref_root = stack.enter_context(checkout(opts.root, opts.compare))
            # REF first: the comparison's own order (REF, then the working tree) per round.
            roots.insert(0, (ref_root, analyse(ref_root)))
        measured = [_measure(opts, roots, e, "measuring") for e in opts.entries]
        if ref_root is not None:
            ref_entries = [m.pop(0) for m in measured]
    entries = [m[0] for m in measured]
    if preview is not None:
        preview["entries"] = [m[1] for m in measured] if preview["applied"] else []
    compare = None
    if opts.compare is not None:
        from lazifier.doctor.compare import compare_entry

        rev = opts.compare
        compare = {
            "ref": rev.ref,
            "commit": rev.commit,
            "subject": rev.subject,
            "max_regression": opts.max_regression.json(),
            "entries": ref_entries,
            "comparisons": [
                compare_entry(r, w, opts.max_regression, opts.root) for r, w in zip(ref_entries, entries)
            ],
        }
    doc: dict = {
        "schema": SCHEMA_ID,
        "version": __version__,
        "project_root": str(opts.root),
        "interpreter": {
            "path": opts.interpreter.path,
            "source": opts.interpreter.source,
            "python": next((e.get("python") for e in entries if e.get("python")), None),
        },
        "runs": opts.runs,
        "timeout_seconds": opts.timeout,
        "threshold_seconds": opts.threshold,
        "budget": {"seconds": opts.budget, "source": opts.budget_source},
        "strict": opts.strict,
        "size_limits": list(SIZE_LIMITS),
        "analysis_error": findings.error,
        "entries": entries,
        "preview": preview,
        "sandbox": opts.sandbox.json() if opts.sandbox is not None else None,
        "compare": compare,
    }
    if opts.write_profile:
        say("writing the profile")
        doc["profile"] = _write_profile(opts, doc)
    doc["verdict"] = verdict(doc)
    doc["exit_code"] = doc["verdict"]["exit_code"]
    return doc


def _write_profile(opts: Options, doc: dict) -> dict:
    """--write-profile: the working tree's measured costs, in the cache directory, under the key
    of the interpreter and its installed distributions (:mod:`lazifier.profile`). Not written
    when an import failed: its costs would be those of half an import."""
    from lazifier import profile

    out: dict = {"path": None, "key": None, "written": None, "packages": 0, "statements": 0, "error": None}
    failed = [e["entry"] for e in doc["entries"] if e.get("error")]
    if failed:
        out["error"] = f"the import of {', '.join(failed)} failed, so its costs would be incomplete"
        return out
    try:
        env = profile.environment(opts.interpreter.path)
        data = profile.build(doc, env)
        path = profile.write(opts.root, opts.cache_dir, data)
    except profile.ProfileError as e:
        out["error"] = str(e)
        return out
    try:
        shown = path.relative_to(opts.root).as_posix()
    except ValueError:
        shown = str(path)
    out.update(path=shown, key=env.key, written=data["written"], packages=len(data["packages"]),
               statements=len(data["statements"]))  # fmt: skip
    return out


def _apply_copy(opts: Options, copy: Path) -> dict:
    """``lazify apply --yes`` (the default fixes) on a temporary copy of the project."""
    copy_project(opts.root, copy, opts.cache_dir)
    opts.progress("preview: lazify apply --yes on a copy")
    env = None
    if opts.measured:
        env = _measured_copy(opts, copy)
    applied = subprocess.run(
        [sys.executable, "-m", "lazifier", "apply", "--yes", "--no-cache", "-q", str(copy)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    summary = (applied.stderr.strip().splitlines() or [""])[-1]
    ok = applied.returncode in (0, 1)
    return {"applied": ok, "apply_exit_code": applied.returncode, "apply_summary": summary, "entries": []}


def _measured_copy(opts: Options, copy: Path) -> dict[str, str]:
    """heavy-modules = "measured" in the preview's copy, which has no cache directory and no
    virtualenv: the project's profiles go along, and ``$VIRTUAL_ENV`` names the measured
    interpreter's environment, so the copy's apply finds the profile the project's would (the
    one as it was before this run: --write-profile writes after measuring)."""
    import os
    import shutil

    from lazifier import profile

    source = profile.directory(opts.root, opts.cache_dir)
    if source.is_dir():
        shutil.copytree(source, profile.directory(copy, opts.cache_dir), dirs_exist_ok=True)
    env = dict(os.environ)
    prefix = Path(opts.interpreter.path).parent.parent
    if (prefix / "pyvenv.cfg").is_file():
        env["VIRTUAL_ENV"] = str(prefix)
    return env


def verdict(doc: dict) -> dict:
    """The exit code and why: 1 when an import fails, the median is over the budget, or (with
    --strict) a side effect remains; else 0."""
    reasons = []
    budget = doc["budget"]["seconds"]
    for e in doc["entries"]:
        if e.get("error"):
            where = f" in the {doc['sandbox']['title']} sandbox" if doc.get("sandbox") else ""
            reasons.append(f"{e['entry']}: the import failed{where} ({e['error']['type']})")
        median = e["timing"]["import"]["median"]
        e["over_budget"] = bool(budget is not None and median is not None and median > budget)
        if e["over_budget"]:
            reasons.append(
                f"{e['entry']}: {median * 1000:.0f} ms is over the budget of {budget * 1000:.0f} ms"
            )
        # Reading the environment is reported but is configuration, not an effect: --strict
        # would otherwise fail every service that reads its settings.
        own = [x for x in e["side_effects"] if x["origin"] == "project" and x["kind"] != "env"] + e[
            "files_left"
        ]
        if doc["strict"] and own:
            reasons.append(f"{e['entry']}: {len(own)} side effect(s) at import (--strict)")
    from lazifier.doctor.compare import reasons as compare_reasons

    reasons += compare_reasons(doc)
    return {"exit_code": 1 if reasons else 0, "reasons": reasons}
