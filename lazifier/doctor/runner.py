"""Run the probe: which interpreter, which entry, a fresh copy of the project per process.

Each measured process imports the entry from a fresh copy of the project, in a temporary
directory, with that copy as its working directory and first on ``sys.path``: on Vercel and AWS
Lambda the working directory is the deployed code's root, so a relative ``sqlite:///./cache.db``
lands there, and a faithful measurement must let it. A copy keeps that faithful while doctor
writes nothing into the project, and a fresh one per process makes every run a cold start (a
file the first run created doesn't exist for the second, as on a new instance). ``TMPDIR`` points
into the run's own temporary directory, and ``-B`` keeps Python from writing bytecode caches, as
on a read-only deployment (the installed packages' caches written by pip are still used).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from lazifier.installed import Interpreter, project_interpreter
from lazifier.settings import DEFAULT_EXCLUDE

PROBE = Path(__file__).with_name("probe.py")
INVENTORY = Path(__file__).with_name("inventory.py")

#: Names Vercel's Python runtime looks for, and the usual ones elsewhere: the candidates named
#: when no entry is given or configured.
CANDIDATE_NAMES = (
    "app.py",
    "index.py",
    "server.py",
    "main.py",
    "wsgi.py",
    "asgi.py",
    "handler.py",
    "lambda_function.py",
)


class DoctorError(Exception):
    """doctor itself can't work (exit 2): no interpreter, no entry, a probe that didn't run."""


def find_interpreter(root: Path, option: str | None) -> Interpreter:
    """``--python``, else ``$VIRTUAL_ENV``, else ``.venv``/``venv`` in the project root, else the
    interpreter lazify runs in."""
    if option:
        found = shutil.which(option) if os.sep not in option else option
        if not found or not Path(found).exists():
            raise DoctorError(f"--python {option}: no such interpreter")
        return Interpreter(str(Path(found).absolute()), "--python")
    return project_interpreter(root)


# ---------------------------------------------------------------------------------------------
# Entries


@dataclass(frozen=True)
class Entry:
    #: As given: ``api/index.py``, ``api.index``, ``src.api.main:app``.
    spec: str
    #: The module name the probe imports, or ``file:ABSOLUTE`` relative to the copy root.
    module: str
    #: The entry's file, relative to the root, when known.
    file: str | None
    attribute: str | None
    source: str


def _module_for_file(rel: str) -> str | None:
    parts = rel[:-3].split("/") if rel.endswith(".py") else None
    if not parts:
        return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


def _file_for_module(root: Path, module: str) -> str | None:
    for src in (".", "src"):
        base = root / src / Path(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate.relative_to(root).as_posix()
    return None


def parse_entry(root: Path, spec: str, source: str) -> Entry:
    text, _, attr = spec.partition(":") if not re.match(r"^[A-Za-z]:[\\/]", spec) else (spec, "", "")
    path = Path(text)
    if text.endswith(".py") or os.sep in text or "/" in text:
        full = (
            path
            if path.is_absolute()
            else (Path.cwd() / path if (Path.cwd() / path).exists() else root / path)
        )
        if not full.is_file():
            raise DoctorError(f"entry {spec!r} ({source}): no such file")
        try:
            rel = full.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise DoctorError(
                f"entry {spec!r} ({source}): {full} is outside the project root {root}"
            ) from None
        module = _module_for_file(rel)
        return Entry(spec, module or f"file:{rel}", rel, attr or None, source)
    if not all(p.isidentifier() for p in text.split(".")):
        raise DoctorError(f"entry {spec!r} ({source}): not a module name, a file or module:attribute")
    return Entry(spec, text, _file_for_module(root, text), attr or None, source)


def vercel_entries(root: Path) -> list[str]:
    """The Python files vercel.json names (``builds[].src`` and ``functions`` keys, globs
    expanded), in order."""
    path = root / "vercel.json"
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DoctorError(f"{path}: can't read it: {e}") from None
    patterns = [b.get("src") for b in data.get("builds", []) if isinstance(b, dict)]
    patterns += list(data.get("functions", {}) or {})
    out: list[str] = []
    files = None
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.endswith(".py"):
            continue
        pattern = pattern.lstrip("/")
        if any(c in pattern for c in "*?["):
            if files is None:
                files = sorted(
                    p.relative_to(root).as_posix()
                    for p in root.rglob("*.py")
                    if not _excluded_path(p.relative_to(root))
                )
            out += [f for f in files if fnmatch(f, pattern)]
        elif (root / pattern).is_file():
            out.append(pattern)
    return list(dict.fromkeys(out))


def _excluded_path(rel: Path) -> bool:
    return any(part in DEFAULT_EXCLUDE or part == "__pycache__" for part in rel.parts[:-1])


def candidates(root: Path) -> list[str]:
    """Files that look like entry points, for the error that asks for one."""
    found = []
    for name in CANDIDATE_NAMES:
        for pattern in (name, f"api/{name}", f"src/{name}", f"app/{name}", f"*/{name}"):
            for p in sorted(root.glob(pattern)):
                rel = p.relative_to(root)
                if p.is_file() and not _excluded_path(rel) and "tests" not in rel.parts:
                    found.append(rel.as_posix())
    return list(dict.fromkeys(found))[:8]


def resolve_entries(
    root: Path, given: list[str], configured: tuple[str, ...], config_where: str
) -> list[Entry]:
    if given:
        return [parse_entry(root, s, "command line") for s in given]
    vercel = vercel_entries(root)
    if vercel:
        return [parse_entry(root, s, "vercel.json") for s in vercel]
    if configured:
        return [parse_entry(root, s, config_where) for s in configured]
    found = candidates(root)
    hint = ("; likely candidates:\n" + "\n".join(f"  lazify doctor {c}" for c in found)) if found else ""
    raise DoctorError(
        "no entry point: name one (a module, a file or module:attribute), or list it in vercel.json "
        f"or as `entry` in [tool.lazify]{hint}"
    )


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class Run:
    wall: float
    data: dict
    importtime: list[tuple[int, int, int, str]]
    created: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    timed_out: bool = False
    returncode: int = 0
    stderr_tail: str = ""

    @property
    def import_seconds(self) -> float:
        return float(self.data.get("import_seconds", 0.0))


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S.*)$")
_SKIP = set(DEFAULT_EXCLUDE) | {"__pycache__"}


def copy_project(root: Path, dest: Path, cache_dir: str = ".lazify_cache") -> None:
    skip = _SKIP | {cache_dir}
    shutil.copytree(root, dest, symlinks=True, ignore=lambda d, names: [n for n in names if n in skip])


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        for f in files:
            p = os.path.join(d, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            out[os.path.relpath(p, root).replace(os.sep, "/")] = (st.st_size, st.st_mtime_ns)
    return out


def parse_importtime(stderr: str) -> tuple[list[tuple[int, int, int, str]], str]:
    """The ``-X importtime`` lines between the probe's markers, as (self µs, cumulative µs,
    level, module), and the rest of stderr (the user's)."""
    rows: list[tuple[int, int, int, str]] = []
    rest: list[str] = []
    inside = False
    for line in stderr.splitlines():
        if line.endswith("lazify-probe: begin"):
            inside = True
            continue
        if line.endswith("lazify-probe: end"):
            inside = False
            continue
        m = _IMPORTTIME.search(line)
        if m:
            if inside:
                rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4).strip()))
            continue
        rest.append(line)
    return rows, "\n".join(rest)


#: With --sandbox the probe interrupts the import at the init limit; past this much more, the
#: process is killed (work in C code that never returns to Python).
SANDBOX_GRACE = 5.0


def run_probe(
    interpreter: Interpreter,
    root: Path,
    entry: Entry | None,
    *,
    trace: bool,
    timeout: float,
    cache_dir: str,
    sandbox=None,
) -> Run:
    """One fresh process importing ``entry`` (None: the bare start-up) from a fresh copy;
    with ``sandbox`` (a ``sandbox.Sandbox``), under the platform's constraints."""
    with tempfile.TemporaryDirectory(prefix="lazify-doctor-") as tmp:
        copy = Path(tmp) / "project"
        copy_project(root, copy, cache_dir)
        (Path(tmp) / "tmp").mkdir()
        out = Path(tmp) / "probe.json"
        before = snapshot(copy)
        module = ""
        if entry is not None:
            module = (
                entry.module if not entry.module.startswith("file:") else f"file:{copy / entry.module[5:]}"
            )
        env = dict(
            os.environ, PYTHONDONTWRITEBYTECODE="1", TMPDIR=str(Path(tmp) / "tmp"), PYTHONUNBUFFERED="1"
        )
        env.pop("PYTHONSTARTUP", None)
        cmd = [interpreter.path, "-B", "-X", "importtime", str(PROBE), str(out), str(copy),
               module, (entry.attribute or "") if entry else "", "1" if trace else "0"]  # fmt: skip
        if sandbox is not None:
            handler = (
                entry.module if entry and not entry.module.startswith("file:") else "index"
            ) + ".handler"
            env = {
                **sandbox.environment(os.environ, copy, root.name, handler),
                **{k: env[k] for k in ("PYTHONDONTWRITEBYTECODE", "TMPDIR", "PYTHONUNBUFFERED")},
            }
            cmd += [sandbox.platform, repr(sandbox.init_limit), "1" if sandbox.allow_network else "0",
                    os.pathsep.join([str(Path(tmp) / "tmp"), "/tmp"])]  # fmt: skip
            timeout = sandbox.init_limit + SANDBOX_GRACE
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=copy, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
        timed_out = False
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            _, err = proc.communicate()
        wall = time.perf_counter() - started
        stderr = err.decode("utf-8", "replace")
        rows, rest = parse_importtime(stderr)
        data: dict = {}
        if out.is_file():
            try:
                data = json.loads(out.read_text(encoding="utf-8"))
            except ValueError:
                data = {}
        after = snapshot(copy)
        created = sorted(set(after) - set(before))
        modified = sorted(p for p in before if p in after and after[p] != before[p])
        _kill(proc)  # anything it left running in its session
        return Run(wall, data, rows, created, modified, timed_out, proc.returncode, rest[-4000:])


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def inventory(interpreter: Interpreter, top_levels: list[str], timeout: float = 60.0) -> dict:
    """Which distribution each top-level module comes from, and each distribution's installed
    size, from the project's interpreter (its ``importlib.metadata``)."""
    try:
        out = subprocess.run(
            [interpreter.path, "-I", str(INVENTORY)], input=json.dumps(top_levels), capture_output=True,
            text=True, timeout=timeout, cwd=tempfile.gettempdir(),
        )  # fmt: skip
        return json.loads(out.stdout) if out.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
