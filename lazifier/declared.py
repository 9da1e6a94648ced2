"""What a project says it depends on, in every form users write it, read without running anything.

A requirement (``sqlalchemy>=2``, or a bare ``sqlalchemy``) comes from ``pyproject.toml``
(PEP 621 dependencies and extras, PEP 735 dependency groups, Poetry), ``requirements*.txt``
(and the files they include with ``-r``/``-c``), ``setup.cfg``, ``setup.py`` (its literal
``install_requires``, read with ``ast``) and ``Pipfile``. An exact version comes from a lock
file (``uv.lock``, ``poetry.lock``, ``pdm.lock``, ``Pipfile.lock``). The installed version is
:mod:`lazifier.installed`'s business: this module reads only what the project declares.
"""

from __future__ import annotations

import ast
import codecs
import configparser
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: Lock files, in the order they are asked: the first that names the package answers.
LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock")
#: How many ``-r`` includes deep a requirements file is followed.
MAX_INCLUDES = 8


@dataclass(frozen=True)
class Requirement:
    """One declared requirement of the package: its version specifier (``""``: any) and where."""

    spec: str
    line: str
    where: str


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(text: str, package: str) -> str | None:
    """The specifier of ``text`` if it requires ``package`` (``"sqlalchemy[asyncio]>=2 ; ..."``
    -> ``">=2"``), else None."""
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(\(?[^;#@]*\)?)", text)
    if not m or normalize(m.group(1)) != package:
        return None
    return m.group(2).strip().strip("()").strip()


def read_text(path: Path) -> str:
    """A requirements-style file's text, as pip reads it: a UTF-8, UTF-16 or UTF-32 BOM says the
    encoding, else UTF-8; bytes that don't decode become U+FFFD instead of an error."""
    raw = path.read_bytes()
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    ):  # fmt: skip
        if raw.startswith(bom):
            return raw.decode(encoding, errors="replace")
    return raw.decode("utf-8", errors="replace")


def _file_text(path: Path) -> str | None:
    try:
        return read_text(path) if path.is_file() else None  # not a FIFO, which would block the read
    except OSError:
        return None


def _toml(path: Path) -> dict[str, Any]:
    text = _file_text(path)
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


# ---------------------------------------------------------------------------------------------
# Declared requirements


def _from_pyproject(data: dict[str, Any], package: str) -> Iterable[tuple[str, str]]:
    """(spec, the line as written) for each requirement of ``package`` in a pyproject table."""
    project = data.get("project", {})
    reqs: list[Any] = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        reqs += list(extra)
    for group in data.get("dependency-groups", {}).values():
        reqs += [r for r in group if isinstance(r, str)]
    for r in reqs:
        if isinstance(r, str) and (spec := _requirement(r, package)) is not None:
            yield spec, r
    poetry = data.get("tool", {}).get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
    tables += [g.get("dependencies", {}) for g in poetry.get("group", {}).values() if isinstance(g, dict)]
    for table in tables:
        for name, value in table.items():
            if normalize(name) != package:
                continue
            version = (
                value
                if isinstance(value, str)
                else value.get("version", "") if isinstance(value, dict) else ""
            )
            yield _poetry_spec(version), f"{name} = {json.dumps(value)}"


def _poetry_spec(version: str) -> str:
    """Poetry's ``^1.4`` / ``~1.4`` / ``*`` as a PEP 440 specifier."""
    version = version.strip()
    if version in ("", "*"):
        return ""
    m = re.fullmatch(r"([\^~])\s*(\d+)(?:\.(\d+))?(?:\.\d+)?", version)
    if m:
        major, minor = int(m.group(2)), int(m.group(3) or 0)
        upper = f"{major + 1}" if m.group(1) == "^" and major else f"{major}.{minor + 1}"
        return f">={major}.{minor},<{upper}"
    return version if version[0] in "<>=!~" else f"=={version}"


def _from_requirements(path: Path, root: Path, package: str, seen: set[Path]) -> Iterable[Requirement]:
    """Requirements of ``package`` in a requirements file and the files it includes."""
    try:
        key = path.resolve()
    except OSError:
        return
    if key in seen or len(seen) > MAX_INCLUDES * 8:
        return
    seen.add(key)
    text = _file_text(path)
    if text is None:
        return
    where = _rel(path, root)
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        m = re.match(r"(?:-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)", line)
        if m:
            yield from _from_requirements(path.parent / m.group(1), root, package, seen)
            continue
        spec = _requirement(line, package) if line and not line.startswith("-") else None
        if spec is not None:
            yield Requirement(spec, line, where)


def _from_setup_cfg(path: Path, package: str) -> Iterable[tuple[str, str]]:
    text = _file_text(path)
    if text is None:
        return
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return
    values = []
    if parser.has_option("options", "install_requires"):
        values.append(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        values += [v for _, v in parser.items("options.extras_require")]
    for value in values:
        for line in value.splitlines():
            if (spec := _requirement(line, package)) is not None:
                yield spec, line.strip()


def _from_setup_py(path: Path, package: str) -> Iterable[tuple[str, str]]:
    """The literal strings of ``setup(install_requires=..., extras_require=...)``, directly or
    through a module-level name bound to a literal list."""
    text = _file_text(path)
    if text is None:
        return
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    names: dict[str, ast.expr] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            names[stmt.targets[0].id] = stmt.value
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg not in ("install_requires", "extras_require", "tests_require"):
                continue
            value = names.get(kw.value.id, kw.value) if isinstance(kw.value, ast.Name) else kw.value
            lists = list(value.values) if isinstance(value, ast.Dict) else [value]
            for item in lists:
                item = names.get(item.id, item) if isinstance(item, ast.Name) else item
                if not isinstance(item, (ast.List, ast.Tuple)):
                    continue
                for e in item.elts:
                    if isinstance(e, ast.Constant) and isinstance(e.value, str):
                        if (spec := _requirement(e.value, package)) is not None:
                            yield spec, e.value


def requirements(
    root: Path, config: Path | None, package: str, pyproject: Mapping[str, Any] | None = None
) -> list[Requirement]:
    """Every declared requirement of ``package`` in the project at ``root``, in a fixed order."""
    package = normalize(package)
    out: list[Requirement] = []
    # The settings pass the pyproject.toml they parsed; read it here only when they did not.
    data = dict(pyproject) if pyproject else _toml(config or root / "pyproject.toml")
    out += [Requirement(s, line, "pyproject.toml") for s, line in _from_pyproject(data, package)]
    seen: set[Path] = set()
    files = sorted(root.glob("requirements*.txt")) + sorted(root.glob("requirements/*.txt"))
    for req_file in files:
        out += _from_requirements(req_file, root, package, seen)
    out += [Requirement(s, line, "setup.cfg") for s, line in _from_setup_cfg(root / "setup.cfg", package)]
    out += [Requirement(s, line, "setup.py") for s, line in _from_setup_py(root / "setup.py", package)]
    for name, value in _toml(root / "Pipfile").get("packages", {}).items():
        if normalize(name) == package:
            version = (
                value
                if isinstance(value, str)
                else value.get("version", "") if isinstance(value, dict) else ""
            )
            out.append(
                Requirement(
                    "" if version.strip() == "*" else version, f"{name} = {json.dumps(value)}", "Pipfile"
                )
            )
    return out


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return path.name


# ---------------------------------------------------------------------------------------------
# Locked versions


def locked_version(root: Path, package: str) -> tuple[str, str] | None:
    """(version, lock file) of ``package`` in the project's first lock file that names it."""
    package = normalize(package)
    for name in LOCK_FILES:
        path = root / name
        if name == "Pipfile.lock":
            text = _file_text(path)
            try:
                data = json.loads(text) if text else {}
            except ValueError:
                data = {}
            for section in ("default", "develop"):
                for dist, info in (data.get(section) or {}).items():
                    if normalize(dist) == package and isinstance(info, dict):
                        version = str(info.get("version", "")).lstrip("=")
                        if version:
                            return version, name
            continue
        for entry in _toml(path).get("package", []):
            if (
                isinstance(entry, dict)
                and normalize(str(entry.get("name", ""))) == package
                and entry.get("version")
            ):
                return str(entry["version"]), name
    return None


# ---------------------------------------------------------------------------------------------
# Specifiers


def _release(text: str) -> tuple[int, ...] | None:
    m = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def _pad(v: tuple[int, ...], n: int = 3) -> tuple[int, ...]:
    return v + (0,) * (n - len(v))


def _clause_holds(op: str, target: str, version: tuple[int, ...]) -> bool:
    wildcard = target.strip().endswith(".*")
    want = _release(target.strip().rstrip("*").rstrip("."))
    if want is None:
        return True
    if op in ("==", "===") and wildcard:
        return version[: len(want)] == want
    if op == "!=" and wildcard:
        return version[: len(want)] != want
    a, b = _pad(version, max(len(version), len(want))), _pad(want, max(len(version), len(want)))
    if op == "~=":
        prefix = want[:-1] if len(want) > 1 else want
        return a >= b and version[: len(prefix)] == prefix
    return {"==": a == b, "===": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]


#: Versions that stand for "1.x" and "2.x" when a specifier is asked which it admits.
_SAMPLES = {1: [(1, 3, 24), (1, 4, 0), (1, 4, 54)], 2: [(2, 0, 0), (2, 0, 49), (2, 1, 0), (2, 9, 0)]}


def admits(spec: str, major: int) -> bool:
    """Whether the specifier admits some release of ``major`` (``>=1.4,<2`` admits 1, not 2)."""
    clauses = [c.strip() for c in spec.split(",") if c.strip()]
    parsed = []
    for clause in clauses:
        m = re.match(r"(===|==|~=|>=|<=|!=|<|>)?\s*(\S+)", clause)
        if m:
            parsed.append((m.group(1) or "==", m.group(2)))
    # The versions a specifier names are asked too: `==2.0.1` admits 2.0.1, which no sample is.
    named = [_pad(r) for _, t in parsed if (r := _release(t.rstrip("*").rstrip("."))) and r[0] == major]
    named += [(*v[:-1], v[-1] + 1) for v in named]  # and the next one, for `>1.4.99`
    return any(all(_clause_holds(op, t, v) for op, t in parsed) for v in [*_SAMPLES[major], *named])


__all__ = ["Requirement", "admits", "locked_version", "normalize", "read_text", "requirements"]
