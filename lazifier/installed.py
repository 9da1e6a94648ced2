"""The project's installed packages, read statically: never imported, never run.

Some answers live in the packages a project installs rather than in its own code: what
``from sqlmodel import create_engine`` really is, what ``SQLAlchemy(app)`` does with the app,
which SQLAlchemy version is installed. This module finds the project's environment and reads
those packages' source with :mod:`ast`.

The environment is the project's, not lazify's: ``.venv`` or ``venv`` in the project root, else
``$VIRTUAL_ENV``. lazify's own interpreter counts only when it is one of those (lazify installed
into the project's virtualenv); a pipx-installed lazify must not answer for the project.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: How many re-exports a name is followed through before giving up.
MAX_HOPS = 12


def environments(root: Path) -> tuple[Path, ...]:
    """The project's environment prefixes, most specific first."""
    found: list[Path] = []
    for candidate in (root / ".venv", root / "venv"):
        if (candidate / "pyvenv.cfg").is_file():
            found.append(candidate)
    active = os.environ.get("VIRTUAL_ENV")
    if active and (Path(active) / "pyvenv.cfg").is_file():
        found.append(Path(active))
    unique: list[Path] = []
    for prefix in found:
        if prefix.resolve() not in [p.resolve() for p in unique]:
            unique.append(prefix)
    return tuple(unique)


@dataclass(frozen=True)
class Interpreter:
    path: str
    #: Where it came from: "--python", "$VIRTUAL_ENV", ".venv", "venv", "lazify's own".
    source: str


def project_interpreter(root: Path) -> Interpreter:
    """``$VIRTUAL_ENV``, else ``.venv``/``venv`` in the project root, else the interpreter lazify
    runs in: the one ``lazify doctor`` measures with when no ``--python`` is given."""
    active = os.environ.get("VIRTUAL_ENV")
    ordered = []
    if active:
        ordered.append((Path(active), "$VIRTUAL_ENV"))
    for prefix in environments(root):
        if not active or prefix.resolve() != Path(active).resolve():
            ordered.append(
                (prefix, prefix.name if prefix.parent.resolve() == root.resolve() else str(prefix))
            )
    for prefix, source in ordered:
        for candidate in (prefix / "bin" / "python", prefix / "Scripts" / "python.exe"):
            if candidate.exists():
                return Interpreter(str(candidate.absolute()), source)
    return Interpreter(sys.executable, "lazify's own: no --python, $VIRTUAL_ENV, .venv or venv")


def _site_packages(prefix: Path) -> list[Path]:
    dirs = sorted(prefix.glob("lib/python3*/site-packages")) + sorted(
        prefix.glob("lib64/python3*/site-packages")
    )
    dirs.append(prefix / "Lib" / "site-packages")  # Windows layout
    return [d for d in dirs if d.is_dir()]


@functools.lru_cache(maxsize=32)
def site_dirs(root: Path) -> tuple[Path, ...]:
    """The ``site-packages`` directories of the project's environment (empty: none found)."""
    out: list[Path] = []
    for prefix in environments(root):
        for d in _site_packages(prefix):
            if d.resolve() not in [o.resolve() for o in out]:
                out.append(d)
    return tuple(out)


def is_own_environment(root: Path) -> bool:
    """Whether lazify itself runs in the project's environment."""
    own = Path(sys.prefix).resolve()
    return any(prefix.resolve() == own for prefix in environments(root))


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_version(name: str, dirs: tuple[Path, ...]) -> str | None:
    """The installed version of distribution ``name`` (``flask-sqlalchemy``), from its
    ``.dist-info`` directory's name; None when not installed there."""
    wanted = _normalize(name)
    for d in dirs:
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.suffix != ".dist-info":
                continue
            dist, _, version = entry.stem.rpartition("-")
            if dist and _normalize(dist) == wanted:
                return version
    return None


def module_source(module: str, dirs: tuple[Path, ...]) -> Path | None:
    """The source file of ``module`` (a package's ``__init__.py``) under ``dirs``."""
    parts = module.split(".")
    if not all(p.isidentifier() for p in parts):
        return None
    for d in dirs:
        base = d.joinpath(*parts)
        for candidate in (base / "__init__.py", base.with_name(base.name + ".py")):
            if candidate.is_file():
                return candidate
    return None


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


@functools.lru_cache(maxsize=256)
def _parse(path: Path, mtime_ns: int) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None


def parse(path: Path) -> ast.Module | None:
    """``path`` parsed (cached while the file is unchanged); None when it can't be read."""
    try:
        return _parse(path, path.stat().st_mtime_ns)
    except OSError:
        return None


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements that run at import: the body, and the branches of top-level ``if``/``try``
    (``try: from ._speedups import x / except ImportError: from ._pure import x``)."""
    out: list[ast.stmt] = []
    for stmt in body:
        out.append(stmt)
        if isinstance(stmt, ast.If):
            out += _top_level(stmt.body) + _top_level(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            out += _top_level(stmt.body)
            for handler in stmt.handlers:
                out += _top_level(handler.body)
            out += _top_level(stmt.orelse) + _top_level(stmt.finalbody)
    return out


def _absolute(module: str, package: bool, level: int, target: str | None) -> str | None:
    if level == 0:
        return target
    parts = module.split(".")
    base = parts if package else parts[:-1]
    if level - 1 > len(base) or (level - 1 == len(base) and not target):
        return None
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else [])) or None


def _split(qualified: str, dirs: tuple[Path, ...]) -> tuple[str, Path, str] | None:
    """``a.b.c`` -> (``a.b``, its source, ``c``) for the longest module prefix that has one
    attribute left."""
    module, _, attr = qualified.rpartition(".")
    if not module:
        return None
    source = module_source(module, dirs)
    return (module, source, attr) if source is not None else None


def _open(qualified: str, dirs: tuple[Path, ...]) -> tuple[str, Path, str, ast.Module] | None:
    """``a.b.c`` -> (``a.b``, its source, ``c``, its parsed tree), or None."""
    split = _split(qualified, dirs)
    tree = parse(split[1]) if split is not None else None
    return (*split, tree) if split is not None and tree is not None else None


def _step(qualified: str, dirs: tuple[Path, ...]) -> str | None:
    """Where ``qualified``'s module got that attribute from, if by an import; else None."""
    opened = _open(qualified, dirs)
    if opened is None:
        return None
    module, source, attr, tree = opened
    found: str | None = None
    for stmt in _top_level(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == attr:
            return None  # defined here: this is the thing itself
        if isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                if (alias.asname or alias.name) == attr and alias.name != "*":
                    origin = _absolute(module, is_package(source), stmt.level, stmt.module)
                    if origin is not None and found is None:
                        found = f"{origin}.{alias.name}"
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname == attr and found is None:
                    found = alias.name
        elif isinstance(stmt, ast.Assign) and found is None:
            # ``create_engine = _create_engine``: an alias of a name bound above.
            if any(isinstance(t, ast.Name) and t.id == attr for t in stmt.targets):
                return None
    return found


def resolve(qualified: str, dirs: tuple[Path, ...]) -> tuple[str, ...]:
    """The names ``qualified`` is known by, following re-exports through installed packages'
    ``__init__`` files: ``sqlmodel.create_engine`` -> (``sqlmodel.create_engine``,
    ``sqlalchemy.create_engine``, ``sqlalchemy.engine.create_engine``, ...). The first is always
    ``qualified`` itself; the chain stops where the name is defined, or can't be followed
    (a module ``__getattr__``, a star import, a package not installed)."""
    chain = [qualified]
    while len(chain) <= MAX_HOPS:
        nxt = _step(chain[-1], dirs)
        if nxt is None or nxt in chain:
            break
        chain.append(nxt)
    # The public names users write: ``sqlalchemy.engine.create.create_engine`` is also reached
    # as ``sqlalchemy.create_engine``, which a factory list names.
    return tuple(chain)


def defined_as(qualified: str, dirs: tuple[Path, ...]) -> str | None:
    """Where ``qualified`` is really defined, when that is somewhere else (the last name of its
    :func:`resolve` chain): ``sqlmodel.create_engine`` -> ``sqlalchemy.engine.create.create_engine``.
    A method is found through its class: ``redis.Redis.from_url`` -> ``redis.client.Redis.from_url``.
    A function that only passes its arguments on to another (:func:`wrapped`) is that other one:
    sqlmodel 0.0.8 defines its own ``create_engine``, which sets defaults and returns SQLAlchemy's.
    None when the name can't be followed."""
    found = _defined_as(qualified, dirs)
    seen = {qualified}
    while len(seen) <= MAX_HOPS:
        inner = wrapped(found or qualified, dirs)
        if inner is None or inner in seen:
            break
        seen.add(inner)
        found = _defined_as(inner, dirs) or inner
    return found


def _defined_as(qualified: str, dirs: tuple[Path, ...]) -> str | None:
    chain = resolve(qualified, dirs)
    if len(chain) > 1:
        return chain[-1]
    owner, _, attr = qualified.rpartition(".")
    if "." in owner:
        chain = resolve(owner, dirs)
        if len(chain) > 1:
            return f"{chain[-1]}.{attr}"
    return None


#: Calls a pure argument-reshaping wrapper may make besides its one call of the wrapped function.
_RESHAPING_BUILTINS = frozenset(
    {"isinstance", "dict", "list", "tuple", "len", "str", "int", "bool", "getattr"}
)


def wrapped(qualified: str, dirs: tuple[Path, ...]) -> str | None:
    """When the function ``qualified`` (a module-level ``def``) only reshapes its arguments and
    returns a call of one function its module imports, that function's qualified name; else None.

    "Only reshapes": no decorator; a body of assignments to names of its own, ``if`` statements
    and expressions, ending in a ``return``; every ``return`` returns a call of that one imported
    name; every other call is a builtin that builds or inspects values, or a method of a
    container the function built itself (``options = {...}`` ... ``options.update(kwargs)``);
    nothing stored into anything but its own names and containers; no loop, ``with``, ``try``,
    nested function, ``yield``, ``await``, ``global`` or ``nonlocal``. A function that does any
    more (registers the app it is given, fills a module-level table) is itself, not a factory."""
    opened = _open(qualified, dirs)
    if opened is None:
        return None
    module, _source, attr, tree = opened
    fn = next((s for s in _top_level(tree.body) if isinstance(s, ast.FunctionDef) and s.name == attr), None)
    if fn is None or fn.decorator_list or not fn.body or not isinstance(fn.body[-1], ast.Return):
        return None
    params = {a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]}
    params |= {a.arg for a in (fn.args.vararg, fn.args.kwarg) if a is not None}
    nodes = [n for stmt in fn.body for n in ast.walk(stmt)]
    if any(isinstance(n, _NOT_RESHAPING) for n in nodes):
        return None
    # The containers it builds itself: the only things whose methods it may call.
    built = {
        t.id
        for n in nodes
        if isinstance(n, (ast.Assign, ast.AnnAssign)) and _a_new_container(n.value)
        for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
        if isinstance(t, ast.Name)
    }
    own = params | {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for n in nodes:
        if isinstance(n, (ast.Attribute, ast.Subscript)) and isinstance(n.ctx, (ast.Store, ast.Del)):
            if not (isinstance(n.value, ast.Name) and n.value.id in built):
                return None
    returns = [n for n in nodes if isinstance(n, ast.Return)]
    if any(not (isinstance(r.value, ast.Call) and isinstance(r.value.func, ast.Name)) for r in returns):
        return None
    targets = {r.value.func.id for r in returns}  # type: ignore[union-attr]
    if len(targets) != 1:
        return None
    (target,) = targets
    outer = {id(r.value) for r in returns}
    for n in nodes:
        if isinstance(n, ast.Call) and id(n) not in outer:
            func = n.func
            if isinstance(func, ast.Name) and func.id in _RESHAPING_BUILTINS and func.id not in own:
                continue
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in built
            ):
                continue
            return None
    if target in own:
        return None
    here = any(isinstance(s, ast.FunctionDef) and s.name == target for s in _top_level(tree.body))
    return f"{module}.{target}" if here else _step(f"{module}.{target}", dirs)


#: Statements and expressions a function that only reshapes its arguments never holds.
_NOT_RESHAPING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Yield, ast.YieldFrom,
                  ast.Await, ast.Global, ast.Nonlocal, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith,
                  ast.Try, ast.NamedExpr, ast.Delete, ast.Import, ast.ImportFrom)  # fmt: skip


def _a_new_container(value: ast.expr | None) -> bool:
    """``{...}``, ``[...]``, a comprehension, or ``dict(...)``/``list(...)``: a value the
    function makes itself, so calling its methods changes nothing outside."""
    if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
        return True
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in ("dict", "list", "set")
    )


def definitions(names: Iterable[str], dirs: tuple[Path, ...]) -> tuple[tuple[str, str], ...]:
    """(name, where it is defined) for each of ``names`` that is a re-export, sorted."""
    if not dirs:
        return ()
    return tuple(sorted((n, d) for n in set(names) if (d := defined_as(n, dirs)) is not None and d != n))


def definition(qualified: str, dirs: tuple[Path, ...]) -> tuple[Path, ast.stmt] | None:
    """The ``def`` or ``class`` statement ``qualified`` finally names, with its file."""
    opened = _open(resolve(qualified, dirs)[-1], dirs)
    if opened is None:
        return None
    _, source, attr, tree = opened
    for stmt in _top_level(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == attr:
            return source, stmt
    return None


__all__ = [
    "defined_as",
    "definition",
    "definitions",
    "distribution_version",
    "environments",
    "is_own_environment",
    "module_source",
    "parse",
    "resolve",
    "site_dirs",
    "wrapped",
]
