"""Measured import costs: written by ``lazify doctor --write-profile``, read for
``heavy-modules = "measured"``.

A profile holds what importing the project's entries cost in one environment: per top-level
package of an installed distribution (the ``-X importtime`` cumulative time where the project
first imports it, the median of doctor's timed runs) and per module-level project statement (the
traced run). Those figures are true only for the interpreter and the installed versions they were
measured with, so a profile is stored under a key made of both, in
``<cache-dir>/profiles/<key>.json``, and read only when the project's interpreter (found as
doctor finds it) and its installed distributions give the same key. Any other profile there is
never used; :func:`load` says why not.

Standard library only, and nothing here runs the project's code: the environment is read by
running the interpreter in isolated mode (``-I``) on a few lines that list its distributions.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = "lazify-profile/1"
DIRECTORY = "profiles"

#: Run by the interpreter whose environment is keyed: its path, version and every distribution
#: ``importlib.metadata`` sees (the first of a name on ``sys.path``, as ``import`` finds it).
_ENVIRONMENT = r"""
import json, re, sys
from importlib import metadata
seen = {}
for d in metadata.distributions():
    name = d.metadata["Name"] if d.metadata else None
    if name:
        seen.setdefault(re.sub(r"[-_.]+", "-", name).lower(), d.version)
print(json.dumps({"version": sys.version.split()[0], "distributions": sorted(seen.items())}))
"""


class ProfileError(Exception):
    """The environment can't be read, or a profile can't be written."""


@dataclass(frozen=True)
class Environment:
    """What a profile is keyed by: the interpreter's path and version, and the installed
    distributions (normalized name and version)."""

    interpreter: str
    version: str
    distributions: tuple[tuple[str, str], ...]

    @property
    def distributions_hash(self) -> str:
        return hashlib.blake2b(repr(self.distributions).encode(), digest_size=12).hexdigest()

    @property
    def key(self) -> str:
        parts = (self.interpreter, self.version, self.distributions_hash)
        return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def environment(interpreter: str, timeout: float = 60.0) -> Environment:
    """The environment of ``interpreter`` (an absolute path, as doctor names it)."""
    try:
        out = subprocess.run(
            [interpreter, "-I", "-c", _ENVIRONMENT], capture_output=True, text=True, timeout=timeout,
            cwd=tempfile.gettempdir(), stdin=subprocess.DEVNULL,
        )  # fmt: skip
        data = json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        raise ProfileError(f"can't read the environment of {interpreter}: {e}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"can't read the environment of {interpreter} (exit {out.returncode})")
    dists = tuple((str(n), str(v)) for n, v in data.get("distributions", []))
    return Environment(interpreter, str(data.get("version", "")), dists)


def directory(root: Path, cache_dir: str) -> Path:
    return root / cache_dir / DIRECTORY


# ---------------------------------------------------------------------------------------------
# Writing (lazify doctor --write-profile)


def build(doc: dict, env: Environment) -> dict:
    """The profile of a doctor document (its measured entries, not the preview's or REF's)."""
    packages: dict[str, dict] = {}
    statements: dict[tuple[str, int], dict] = {}
    for entry in doc["entries"]:
        for dist in entry.get("distributions", []):
            if dist["kind"] != "distribution":
                continue  # the project's own modules, and the standard library as one group
            for pkg in dist["packages"]:
                seconds = pkg.get("cumulative_median_seconds", pkg.get("cumulative_seconds"))
                if seconds is None:
                    continue
                known = packages.get(pkg["name"])
                if known is None or seconds > known["seconds"]:
                    packages[pkg["name"]] = {
                        "name": pkg["name"], "seconds": seconds, "distribution": dist["name"],
                        "version": dist.get("version"), "distribution_self_seconds": dist["self_seconds"],
                        "statement": pkg.get("statement"), "entry": entry["entry"],
                    }  # fmt: skip
        for st in entry.get("statements", []):
            key = (st["file"], st["line"])
            if key not in statements or st["seconds"] > statements[key]["seconds"]:
                statements[key] = {
                    "file": st["file"], "line": st["line"], "end_line": st["end_line"], "text": st["text"],
                    "seconds": st["seconds"], "entry": entry["entry"],
                }  # fmt: skip
    return {
        "schema": SCHEMA,
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "lazify": doc.get("version"),
        "project_root": doc.get("project_root"),
        "key": env.key,
        "interpreter": {"path": env.interpreter, "version": env.version},
        "distributions_hash": env.distributions_hash,
        "distributions": [list(d) for d in env.distributions],
        "entries": [e["entry"] for e in doc["entries"]],
        "runs": doc.get("runs"),
        #: Statements faster than this were not recorded (doctor's --threshold).
        "statement_floor_seconds": doc.get("threshold_seconds"),
        "packages": sorted(packages.values(), key=lambda p: (-p["seconds"], p["name"])),
        "statements": sorted(statements.values(), key=lambda s: (-s["seconds"], s["file"], s["line"])),
    }


def write(root: Path, cache_dir: str, profile: dict) -> Path:
    """Store ``profile`` under its key (atomically); the path written."""
    folder = directory(root, cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by lazify automatically.\n*\n")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".profile-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(profile, fh, indent=1)
            fh.write("\n")
        target = folder / f"{profile['key']}.json"
        os.replace(tmp, target)
    except OSError as e:
        raise ProfileError(f"can't write the profile in {folder}: {e.strerror or e}") from None
    return target


# ---------------------------------------------------------------------------------------------
# Reading (heavy-modules = "measured")


@dataclass(frozen=True)
class Measured:
    """What the profile says for this run, or why there is none to use.

    ``status``: ``used`` (a profile of this very environment), ``missing`` (none written),
    ``ignored`` (only profiles of other interpreters or other installed versions), ``error``
    (the environment can't be read, or the profile can't)."""

    status: str
    #: One sentence for ``lazify config`` and the report of ``apply``.
    note: str
    threshold: float
    path: str = ""
    #: "2026-12-03 14:02 UTC"
    written: str = ""
    #: Every measured package, (top-level name, seconds), costliest first.
    packages: tuple[tuple[str, float], ...] = ()
    #: Module-level statements over the threshold: (file, line, seconds).
    statements: tuple[tuple[str, int, float], ...] = ()

    @property
    def used(self) -> bool:
        return self.status == "used"

    @property
    def heavy(self) -> tuple[str, ...]:
        """The packages measured over the threshold."""
        return tuple(name for name, seconds in self.packages if seconds > self.threshold)

    def cost(self, package: str) -> float | None:
        return next((s for n, s in self.packages if n == package), None)

    def statement_cost(self, path: str, line: int) -> float | None:
        return next((s for f, n, s in self.statements if f == path and n == line), None)

    def describe(self, what: str, seconds: float) -> str:
        """``numpy: measured 104 ms at import in this project (profile of 2026-12-03 14:02 UTC)``"""
        return (
            f"{what}: measured {seconds * 1000:.0f} ms at import in this project (profile of {self.written})"
        )


def heavy_modules(measured: Measured, defaults: tuple[str, ...]) -> tuple[str, ...]:
    """``heavy-modules = "measured"``: the measurement decides for every package it measured
    (over the threshold: heavy; under it: not), and the default list stays for the packages it
    did not measure (the measured entries don't import them at import time, so there is no
    figure to go by). Without a usable profile, the default list."""
    if not measured.used:
        return defaults
    seen = {name for name, _ in measured.packages}
    return tuple(dict.fromkeys([*measured.heavy, *(m for m in defaults if m.split(".")[0] not in seen)]))


def _when(stamp: str) -> str:
    return stamp.replace("T", " ")[:16] + " UTC" if stamp else "an unknown date"


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def _why_not(data: dict, env: Environment) -> str:
    """Why a profile of another environment is not this one's."""
    interp = data.get("interpreter") or {}
    if interp.get("path") != env.interpreter:
        return (
            f"it was measured with {interp.get('path')}, and this project's interpreter is {env.interpreter}"
        )
    if interp.get("version") != env.version:
        return f"it was measured with Python {interp.get('version')}, and {env.interpreter} is Python {env.version}"
    then = dict(data.get("distributions", []))
    now = dict(env.distributions)
    diff = [f"{n} {then[n]} -> {now[n]}" for n in sorted(then.keys() & now.keys()) if then[n] != now[n]]
    diff += [f"+{n} {now[n]}" for n in sorted(now.keys() - then.keys())]
    diff += [f"-{n} {then[n]}" for n in sorted(then.keys() - now.keys())]
    shown = ", ".join(diff[:4]) + (f", and {len(diff) - 4} more" if len(diff) > 4 else "")
    return f"the installed distributions changed since ({shown or 'different set'})"


def load(root: Path, cache_dir: str, interpreter: str, threshold: float) -> Measured:
    """The profile of ``interpreter``'s environment for this project, or why there is none."""
    folder = directory(root, cache_dir)
    rerun = "run `lazify doctor --write-profile`"
    try:
        env = environment(interpreter)
    except ProfileError as e:
        return Measured("error", f"{e}; using the default list", threshold)
    path = folder / f"{env.key}.json"
    data = _read(path) if path.is_file() else None
    if data is not None and data.get("key") == env.key:
        written = _when(str(data.get("written", "")))
        packages = tuple(
            (str(p["name"]), float(p["seconds"]))
            for p in data.get("packages", [])
            if p.get("seconds") is not None
        )
        statements = tuple(
            (str(s["file"]), int(s["line"]), float(s["seconds"]))
            for s in data.get("statements", [])
            if float(s.get("seconds", 0)) > threshold
        )
        measured = Measured("used", "", threshold, str(path), written, packages, statements)
        heavy = ", ".join(measured.heavy) or "none"
        note = (
            f"profile of {written} ({path}): packages measured over {threshold * 1000:g} ms: {heavy}; "
            f"{len(statements)} module-level statement(s) over it"
        )
        return Measured("used", note, threshold, str(path), written, packages, statements)
    others = sorted(
        (d for p in (folder.glob("*.json") if folder.is_dir() else ()) for d in [_read(p)] if d is not None),
        key=lambda d: str(d.get("written", "")),
        reverse=True,
    )
    if not others:
        return Measured(
            "missing", f"no profile for this project in {folder}: {rerun}; using the default list", threshold
        )
    latest = others[0]
    return Measured(
        "ignored",
        f"the profile of {_when(str(latest.get('written', '')))} is not used: {_why_not(latest, env)}; "
        f"{rerun} again; using the default list",
        threshold,
    )
