"""``lazify doctor --compare REF``: the entries at a git revision against the working tree.

REF is checked out in a temporary ``git worktree`` (removed afterwards) and measured with the
same interpreter and settings as the working tree, run by run interleaved with it (``core``'s
``_measure``), so the machine's noise hits both. This module checks out REF, reads
``--max-regression``, and turns the two measurements into the comparison: the time, packages,
side effects and size of each, what the working tree adds, and which project line is
responsible for it.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lazifier.doctor.runner import DoctorError

DEFAULT_MAX_REGRESSION = "10%"
#: A difference under this is never a regression, whatever the threshold: fresh processes don't
#: measure finer than that reliably.
MIN_REGRESSION = 0.005
#: A regression must also be this many times the noise (``_noise``) of the runs.
NOISE_FACTOR = 2.0


@dataclass(frozen=True)
class Threshold:
    text: str
    percent: float | None = None
    seconds: float | None = None

    def allowed(self, ref_seconds: float) -> float:
        """How much slower than ``ref_seconds`` the working tree may be."""
        if self.percent is not None:
            return ref_seconds * self.percent / 100
        return float(self.seconds or 0.0)

    def json(self) -> dict:
        return {"text": self.text, "percent": self.percent, "seconds": self.seconds}


def parse_threshold(text: str) -> Threshold:
    """``10%`` (of REF's median) or a duration (``50ms``, ``0.2s``)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", text)
    if m:
        return Threshold(text.strip(), percent=float(m.group(1)))
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*", text)
    if m:
        value = float(m.group(1))
        return Threshold(text.strip(), seconds=value / 1000 if m.group(2) == "ms" else value)
    raise DoctorError(f"--max-regression: {text!r} is not a threshold (say 10% or 50ms)")


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise DoctorError("--compare needs git, and there is no git executable on PATH") from None


@dataclass(frozen=True)
class Revision:
    ref: str
    commit: str
    #: The subject of its commit message.
    subject: str
    #: The project root inside the repository (``.`` at its top).
    subdir: str


def resolve(root: Path, ref: str) -> Revision:
    """REF as a commit of the repository ``root`` is in, or a DoctorError that says why not."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise DoctorError(f"--compare {ref}: {root} is not in a git repository")
    if ref.startswith("-"):
        raise DoctorError(f"--compare {ref}: not a revision")
    found = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise DoctorError(
            f"--compare {ref}: no such revision in {top.stdout.strip()} (a branch, tag or commit; "
            "in CI, fetch it first: actions/checkout with fetch-depth: 0)"
        )
    commit = found.stdout.strip()
    subject = _git(root, "log", "-1", "--format=%s", commit).stdout.strip()
    subdir = Path(root).resolve().relative_to(Path(top.stdout.strip()).resolve()).as_posix()
    return Revision(ref, commit, subject, subdir)


@contextlib.contextmanager
def checkout(root: Path, revision: Revision) -> Iterator[Path]:
    """REF in a temporary worktree (detached, removed on the way out): the project root there."""
    with tempfile.TemporaryDirectory(prefix="lazify-compare-") as tmp:
        tree = Path(tmp) / "ref"
        added = _git(root, "worktree", "add", "--detach", "--quiet", str(tree), revision.commit)
        if added.returncode != 0:
            raise DoctorError(f"--compare {revision.ref}: git worktree add failed: {added.stderr.strip()}")
        try:
            project = tree / revision.subdir if revision.subdir != "." else tree
            if not project.is_dir():
                raise DoctorError(
                    f"--compare {revision.ref}: the project directory {revision.subdir} is not there"
                )
            yield project
        finally:
            _git(root, "worktree", "remove", "--force", str(tree))
            _git(root, "worktree", "prune")


# ---------------------------------------------------------------------------------------------
# The comparison


def _median(e: dict, key: str = "import") -> float | None:
    return e["timing"][key]["median"]


def _noise(e: dict) -> float:
    """How much the same code moves from run to run: the median distance of one revision's runs
    from their median (robust to the odd run a busy machine slows down)."""
    t = e["timing"]["import"]
    if not t["runs"]:
        return 0.0
    return statistics.median(abs(r - t["median"]) for r in t["runs"])


def _effect_key(s: dict) -> tuple:
    # Lines move between revisions: an effect is the same when its kind, what it did and the
    # file of the statement that set it off are.
    return (s["kind"], s["summary"], (s["statement"] or {}).get("file"))


def _walk(node: dict | None, parent_new: bool, ref_modules: set[str], out: list[dict]) -> None:
    if node is None:
        return
    for child in node["children"]:
        new = child["module"] not in ref_modules
        if new and not parent_new:
            out.append(child)
        _walk(child, new or parent_new, ref_modules, out)


def _modules(node: dict | None, out: set[str]) -> set[str]:
    if node is not None:
        out.add(node["module"])
        for c in node["children"]:
            _modules(c, out)
    return out


def _line_text(root: Path, where: dict | None) -> str:
    if not where:
        return ""
    try:
        lines = (root / where["file"]).read_text(encoding="utf-8").splitlines()
        return lines[where["line"] - 1].strip()[:80]
    except (OSError, IndexError, UnicodeDecodeError):
        return ""


def responsible(ref: dict, work: dict, root: Path) -> list[dict]:
    """What the working tree imports that REF doesn't, by the project line that imports it:
    the new modules highest in the tree, their cumulative time summed per line."""
    new: list[dict] = []
    _walk(work.get("tree"), False, _modules(ref.get("tree"), set()), new)
    by_line: dict[tuple, dict] = {}
    for node in new:
        via = node["via"]
        key = (via["file"], via["line"]) if via else (None, None)
        item = by_line.setdefault(
            key, {"line": via, "text": _line_text(root, via), "seconds": 0.0, "modules": []}
        )
        item["seconds"] += node["cumulative_seconds"]
        item["modules"].append(node["module"])
    return sorted(by_line.values(), key=lambda i: -i["seconds"])


def _own(e: dict) -> list[dict]:
    return [s for s in e["side_effects"] if s["origin"] == "project" and s["kind"] != "env"]


def _dists(e: dict) -> set[str]:
    return {d["name"] for d in e["distributions"] if d["kind"] == "distribution"}


def compare_entry(ref: dict, work: dict, threshold: Threshold, root: Path) -> dict:
    """One entry at REF against the working tree; ``regression`` and ``new_side_effects`` are
    what fails the check."""
    rm, wm = _median(ref), _median(work)
    delta = (wm - rm) if rm is not None and wm is not None else None
    noise = max(_noise(ref), _noise(work)) if rm is not None and wm is not None else None
    allowed = max(threshold.allowed(rm), MIN_REGRESSION) if rm is not None else None
    # Slower by more than the threshold, and clearly more than the runs of one revision move.
    regression = bool(delta is not None and delta > allowed and delta > NOISE_FACTOR * noise)
    own = _own
    ref_keys = {_effect_key(s) for s in own(ref)}
    work_keys = {_effect_key(s) for s in own(work)}
    added = [s for s in own(work) if _effect_key(s) not in ref_keys]
    removed = [s for s in own(ref) if _effect_key(s) not in work_keys]
    ref_left = {f["path"] for f in ref["files_left"]}
    files_added = [f for f in work["files_left"] if f["path"] not in ref_left]
    dists = _dists
    cpu_r, cpu_w = _median(ref, "import_cpu"), _median(work, "import_cpu")
    return {
        "entry": work["entry"],
        "time": {
            "ref": rm, "work": wm, "delta": delta,
            "delta_percent": (delta / rm * 100) if delta is not None and rm else None,
            "noise": noise, "allowed": allowed,
            "ref_runs": ref["timing"]["import"]["runs"], "work_runs": work["timing"]["import"]["runs"],
        },
        "cpu": {"ref": cpu_r, "work": cpu_w, "delta": (cpu_w - cpu_r) if cpu_r is not None and cpu_w is not None else None},
        "modules": {"ref": ref["modules_loaded"], "work": work["modules_loaded"]},
        "distributions": {"added": sorted(dists(work) - dists(ref)), "removed": sorted(dists(ref) - dists(work))},
        "side_effects": {"added": added, "removed": removed, "files_left_added": files_added},
        "size": {"ref": ref["size"]["bytes"], "work": work["size"]["bytes"],
                 "delta": work["size"]["bytes"] - ref["size"]["bytes"]},
        "errors": {"ref": ref["error"]["type"] if ref["error"] else None,
                   "work": work["error"]["type"] if work["error"] else None},
        "responsible": responsible(ref, work, root),
        "regression": regression,
        "new_side_effects": bool(added or files_added),
    }  # fmt: skip


def reasons(doc: dict) -> list[str]:
    """The verdict's reasons from the comparison: a regression (with the line most responsible)
    and each side effect REF didn't have."""
    c = doc.get("compare")
    if not c:
        return []
    out = []
    ref = c["ref"]
    for cmp in c["comparisons"]:
        t = cmp["time"]
        if cmp["regression"]:
            top = cmp["responsible"][0] if cmp["responsible"] else None
            through = f", through {_where(top['line'])} {top['text']}" if top and top["line"] else ""
            out.append(
                f"{cmp['entry']}: {_ms(t['delta'])} slower than {ref} ({_ms(t['ref'])} -> {_ms(t['work'])}; "
                f"allowed {_ms(t['allowed'])} by --max-regression {c['max_regression']['text']}){through}"
            )
        for s in cmp["side_effects"]["added"]:
            out.append(
                f"{cmp['entry']}: a side effect {ref} did not have: {s['summary']} at {_where(s['statement'] or s['line'])}"
            )
        for f in cmp["side_effects"]["files_left_added"]:
            out.append(f"{cmp['entry']}: leaves {f['path']} in the project directory, which {ref} did not")
        if cmp["errors"]["work"] and not cmp["errors"]["ref"]:
            out.append(f"{cmp['entry']}: the import fails ({cmp['errors']['work']}); at {ref} it did not")
    return out


def _where(w: dict | None) -> str:
    return f"{w['file']}:{w['line']}" if w else "?"


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return sign + (f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms")
