"""Settings: defaults < ``[tool.lazify]`` in pyproject.toml < command line. Declared once, typed."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_type_hints

from codemods.catalog import entries
from codemods.options import (
    DEFAULT_CHEAP,
    DEFAULT_FACTORIES,
    DEFAULT_HEAVY_MODULES,
    ModuleApp,
    SQLAlchemy2,
    Style,
)

if TYPE_CHECKING:
    from codemods._api import Settings as CodemodSettings
    from lazifier.profile import Measured

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: Directories never searched (as ruff's default ``exclude``).
DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".lazify_cache",
    ".mypy_cache", ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn",
    ".tox", ".venv", ".vscode", "__pypackages__", "_build", "buck-out", "build", "dist",
    "node_modules", "site-packages", "venv",
)  # fmt: skip

TargetVersion = Literal["py310", "py311", "py312", "py313", "py314", "py315"]
TARGET_VERSIONS: tuple[str, ...] = get_args(TargetVersion)

#: ``heavy-modules = "measured"``: the packages ``lazify doctor --write-profile`` measured over
#: ``measured-threshold`` (see :mod:`lazifier.profile`), instead of a list.
MeasuredWord = Literal["measured"]


class ConfigError(Exception):
    """A usage or configuration error (exit code 2)."""


def _key(default: Any, *, extend: bool = False, **more: Any) -> Any:
    """A setting with a ``[tool.lazify]`` key (the field's name with dashes); ``extend`` adds an
    ``extend-<key>`` that appends to the list. The key's kind and choices come from the type."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("settings are immutable: use a tuple")
    return field(default=default, metadata={"key": True, "extend": extend, **more})


@dataclass(frozen=True)
class ProjectFacts:
    """What lazify detects about the project (not configured): read once, when the settings
    are loaded, and carried in them."""

    #: Can the project use SQLAlchemy 2.0, and why lazify thinks so.
    sqlalchemy2: SQLAlchemy2 = "unknown"
    sqlalchemy_source: str = ""
    #: With ``heavy-modules = "measured"``: the profile used, or why none is (None otherwise).
    measured: Measured | None = None


@dataclass(frozen=True)
class Settings:
    """Every setting, declared once: the fields made with :func:`_key` are the ``[tool.lazify]``
    keys (:data:`CONFIG_KEYS` is derived from them), and their types give the CLI's choices."""

    project_root: Path
    config_path: Path | None = None
    #: A list, or "measured" (resolved when the settings are loaded: always a list after that).
    heavy_modules: tuple[str, ...] | MeasuredWord = _key(DEFAULT_HEAVY_MODULES, extend=True)
    #: heavy-modules = "measured": what costs more than this at import is heavy (and, for
    #: lazy-singletons, a module-level statement that takes longer is expensive).
    measured_threshold: str = _key("50ms")
    exclude: tuple[str, ...] = _key(DEFAULT_EXCLUDE)
    extend_exclude: tuple[str, ...] = _key(())
    select: tuple[str, ...] | None = _key(None)
    ignore: tuple[str, ...] = _key(())
    unsafe_fixes: bool = _key(False)
    target_version: TargetVersion = _key("py310")
    src: tuple[str, ...] = _key((".", "src"))
    namespace_packages: tuple[str, ...] = _key(())
    style: Style = _key("local")
    respect_gitignore: bool = _key(True)
    #: Exclude files even when they are named on the command line (for pre-commit).
    force_exclude: bool = _key(False)
    strict: bool = _key(False)
    cache_dir: str = _key(".lazify_cache")
    singleton_factories: tuple[str, ...] = _key(DEFAULT_FACTORIES, extend=True)
    cheap_calls: tuple[str, ...] = _key(DEFAULT_CHEAP, extend=True)
    module_app: ModuleApp = _key("eager")
    #: lazify doctor: the entry points to measure, and the import-time budget ("800ms").
    entry: tuple[str, ...] = _key(())
    import_budget: str | None = _key(None)
    #: Detected, not configured (:func:`detect_facts`).
    facts: ProjectFacts = ProjectFacts()
    #: The parsed pyproject.toml (read once; empty without one). Not part of equality.
    pyproject: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def target(self) -> tuple[int, int]:
        return (3, int(self.target_version[3:]))

    def codemod_settings(self) -> CodemodSettings:
        from codemods._api import Settings as CodemodSettings

        return CodemodSettings(
            heavy_modules=frozenset(self.heavy_modules),
            target_version=self.target,
            style=self.style,
            sqlalchemy2=self.facts.sqlalchemy2,
            sqlalchemy_source=self.facts.sqlalchemy_source,
            singleton_factories=self.singleton_factories,
            cheap_calls=self.cheap_calls,
            module_app=self.module_app,
            measured_statements=tuple(
                (path, line)
                for path, line, _ in (self.facts.measured.statements if self.facts.measured else ())
            ),
        )

    def selected_codes(self) -> tuple[str, ...]:
        from codemods import REGISTRY

        chosen = []
        for cls in REGISTRY:
            keys = {cls.code, cls.name}
            if self.select is not None and not (keys & set(self.select) or "ALL" in self.select):
                continue
            if keys & set(self.ignore):
                continue
            chosen.append(cls.code)
        return tuple(chosen)

    def fingerprint(self) -> str:
        """What changes a file's result: part of every cache key."""
        from codemods import REGISTRY

        cs = self.codemod_settings()
        # Sets are sorted: a frozenset's repr follows the process's hash seed, and a key that
        # changes every run is a cache that never hits.
        stable = sorted(
            (f.name, sorted(v) if isinstance(v, frozenset) else v)
            for f in dataclasses.fields(cs)
            for v in [getattr(cs, f.name)]
        )
        parts = (
            stable, self.selected_codes(),
            self.unsafe_fixes, [(c.code, c.version) for c in REGISTRY],
        )  # fmt: skip
        return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


# ---------------------------------------------------------------------------------------------
# pyproject.toml


@dataclass(frozen=True)
class _Key:
    field: str
    kind: str  # "str-list", "str", "bool", "str-list-or-word"
    choices: tuple[str, ...] = ()


def _kind(hint: Any) -> tuple[str, tuple[str, ...]]:
    """A field's type as a config kind and its choices (a ``Literal``'s values): a list of
    strings or one of some words (``tuple[str, ...] | Literal["measured"]``) is
    ``str-list-or-word``, with the words as its choices."""
    if hint is bool:
        return "bool", ()
    if hint is str or getattr(hint, "__origin__", None) is Literal:
        return "str", tuple(get_args(hint))
    args = [a for a in get_args(hint) if a is not type(None)]
    if len(args) == 1 and args[0] is not hint:  # `X | None`
        return _kind(args[0])
    words = [a for a in args if getattr(a, "__origin__", None) is Literal]
    if words and len(words) < len(args):  # `tuple[str, ...] | Literal[...]`
        return "str-list-or-word", tuple(w for a in words for w in get_args(a))
    return "str-list", ()


def _config_keys() -> dict[str, _Key]:
    hints = get_type_hints(Settings)
    keys: dict[str, _Key] = {}
    for f in dataclasses.fields(Settings):
        if not f.metadata.get("key"):
            continue
        kind, choices = _kind(hints[f.name])
        key = f.name.replace("_", "-")
        keys[key] = _Key(f.name, kind, choices)
        if f.metadata["extend"]:
            keys[f"extend-{key}"] = _Key(f"extend_{f.name}", "str-list")
    return keys


#: The ``[tool.lazify]`` keys, derived from :class:`Settings`.
CONFIG_KEYS: Mapping[str, _Key] = _config_keys()
#: The fields ``extend-<key>`` appends to.
EXTENDABLE = tuple(f.name for f in dataclasses.fields(Settings) if f.metadata.get("extend"))


def choices(name: str) -> tuple[str, ...]:
    """The values a setting takes (the CLI's ``choices``), from its type."""
    return CONFIG_KEYS[name.replace("_", "-")].choices


def find_project_root(paths: list[Path]) -> tuple[Path, Path | None]:
    """The nearest directory up from the paths with a pyproject.toml or a .git, as black finds
    it (else the start): a repository of its own inside another project (a checkout under
    `build/`) is its own project, not the outer one's."""
    start = paths[0].resolve() if paths else Path.cwd().resolve()
    if start.is_file() or not start.exists():
        start = start.parent
    for d in (start, *start.parents):
        if (d / "pyproject.toml").is_file():
            return d, d / "pyproject.toml"
        if (d / ".git").exists():
            return d, None
    return start, None


def read_pyproject(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: invalid TOML: not UTF-8 (byte {e.object[e.start]:#04x} at offset {e.start})"
        ) from None
    except OSError as e:
        raise ConfigError(f"{path}: {e.strerror}") from None


def _coerce(name: str, spec: _Key, value: Any, where: str) -> Any:
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: `{name}` must be true or false, not {value!r}")
        return value
    if spec.kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: `{name}` must be a string, not {value!r}")
        if spec.choices and value not in spec.choices:
            raise ConfigError(f"{where}: `{name}` must be one of {', '.join(spec.choices)}; got {value!r}")
        return value
    if spec.kind == "str-list-or-word" and isinstance(value, str):
        if value not in spec.choices:
            words = " or ".join(f'"{c}"' for c in spec.choices)
            raise ConfigError(f"{where}: `{name}` must be a list of strings or {words}; got {value!r}")
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        also = " or " + " or ".join(f'"{c}"' for c in spec.choices) if spec.kind == "str-list-or-word" else ""
        raise ConfigError(f"{where}: `{name}` must be a list of strings{also}, not {value!r}")
    return tuple(value)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def infer_target_version(data: Mapping[str, Any]) -> str | None:
    spec = data.get("project", {}).get("requires-python")
    if not isinstance(spec, str):
        return None
    m = re.search(r">=?\s*3\.(\d+)", spec)
    if not m:
        return None
    minor = max(10, min(15, int(m.group(1))))
    return f"py3{minor}"


#: The settings the command line can give (``apply`` and ``config``): field -> argparse dest.
COMMAND_LINE = (
    "select",
    "ignore",
    "unsafe_fixes",
    "strict",
    "style",
    "module_app",
    "target_version",
    "force_exclude",
)


def settings_overrides(args: Any) -> dict[str, object]:
    """The settings an ``apply`` or ``config`` command line gives (None where it gives none)."""
    return {name: getattr(args, name, None) for name in COMMAND_LINE}


def load_settings(paths: list[Path], overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build the run's settings: defaults, then ``[tool.lazify]``, then the command line."""
    return load_settings_with_origins(paths, overrides)[0]


def load_settings_with_origins(
    paths: list[Path], overrides: Mapping[str, Any] | None = None
) -> tuple[Settings, dict[str, str]]:
    """The settings, and where each field that is not a default came from (``lazify config``)."""
    root, config = find_project_root(paths)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}  # field -> where its value came from, for error messages
    data: dict[str, Any] = {}
    if config is not None:
        data = read_pyproject(config)
        table = data.get("tool", {}).get("lazify", {})
        where = f"{config} [tool.lazify]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a table")
        for key, value in table.items():
            spec = CONFIG_KEYS.get(key)
            if spec is None:
                raise ConfigError(
                    f"{where}: unknown key `{key}`{_did_you_mean(key, CONFIG_KEYS)} (known: {', '.join(sorted(CONFIG_KEYS))})"
                )
            values[spec.field] = _coerce(key, spec, value, where)
            origin[spec.field] = where
        if "target_version" not in values:
            inferred = infer_target_version(data)
            if inferred:
                values["target_version"] = inferred
                origin["target_version"] = f"{config} (inferred from project.requires-python)"
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = v
            origin[k] = f"--{k.replace('_', '-')}"
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    measured = None
    if "measured_threshold" in values:  # checked whether or not heavy-modules is "measured"
        parse_duration(values["measured_threshold"], f"{origin['measured_threshold']}: `measured-threshold`")
    if values.get("heavy_modules") == "measured":
        measured = _measured(root, values, origin, defaults)
        values["heavy_modules"] = _profile().heavy_modules(measured, DEFAULT_HEAVY_MODULES)
        origin["heavy_modules"] = f"{origin['heavy_modules']} = \"measured\": {measured.note}"
    for base in EXTENDABLE:
        default = defaults[base]
        extra = values.pop(f"extend_{base}", ())
        if extra:
            first = origin.get(base, "default")
            origin[base] = f"{first}, extended by {origin.pop(f'extend_{base}')}"
        values[base] = tuple(dict.fromkeys(tuple(values.get(base, default)) + tuple(extra)))
    for key in ("select", "ignore"):
        for item in values.get(key) or ():
            if item != "ALL" and not any(item in (c.code, c.name) for c in entries()):
                names = [n for c in entries() for n in (c.code, c.name)]
                where = origin.get(key, "the settings")
                raise ConfigError(
                    f"{where}: unknown codemod `{item}` in `{key}`{_did_you_mean(item, names)} (see `lazify codemods`)"
                )
    settings = Settings(
        project_root=root,
        config_path=config,
        facts=dataclasses.replace(detect_facts(root, config, data), measured=measured),
        pyproject=data,
        **values,
    )
    if settings.style == "lazy-keyword" and settings.target < (3, 15):
        raise ConfigError(
            "style `lazy-keyword` writes PEP 810 `lazy import`, which needs target-version py315 "
            f"(got {settings.target_version}); use `lazy-modules` to stay compatible"
        )
    return settings, origin


def _profile():  # -> the lazifier.profile module, imported only for heavy-modules = "measured"
    from lazifier import profile

    return profile


def parse_duration(text: str, where: str) -> float:
    """``800ms``, ``1.5s``, ``2`` (seconds) -> seconds; a :class:`ConfigError` otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*", str(text))
    if not m:
        raise ConfigError(f"{where}: {text!r} is not a duration (say 800ms or 1.5s)")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


def _measured(
    root: Path, values: dict[str, Any], origin: dict[str, str], defaults: dict[str, Any]
) -> Measured:
    """The profile for ``heavy-modules = "measured"``: the one of the interpreter doctor would
    use (``$VIRTUAL_ENV``, ``.venv``, ``venv``, else lazify's own) and its installed
    distributions, or why there is none (then the default list is used, and the report says so)."""
    from lazifier.installed import project_interpreter

    threshold = parse_duration(
        values.get("measured_threshold", defaults["measured_threshold"]), "measured-threshold"
    )
    cache_dir = values.get("cache_dir", defaults["cache_dir"])
    interpreter = project_interpreter(root)
    return _profile().load(root, cache_dir, interpreter.path, threshold)


def detect_facts(root: Path, config: Path | None, pyproject: Mapping[str, Any] | None = None) -> ProjectFacts:
    """Everything lazify detects about the project, once per run (:class:`ProjectFacts`)."""
    state, source = detect_sqlalchemy(root, config, pyproject)
    return ProjectFacts(sqlalchemy2=state, sqlalchemy_source=source)  # type: ignore[arg-type]


def detect_sqlalchemy(
    root: Path, config: Path | None, pyproject: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """Can the project use SQLAlchemy 2.0 (``yes`` | ``no`` | ``unknown``), and why.

    From what the project itself says, never from lazify's own environment (unless it is the
    project's): a declared requirement that rules 2.x out or in decides; else the version its
    lock file pins; else the version installed in its environment (``.venv``, ``venv``,
    ``$VIRTUAL_ENV``); else a requirement that admits 2.x (a bare ``sqlalchemy``, which installs
    the newest release, 2.x)."""
    from lazifier import declared, installed

    reqs = declared.requirements(root, config, "sqlalchemy", pyproject)
    for r in reqs:
        if r.spec and not declared.admits(r.spec, 2):
            return "no", f"declared `{r.line}` in {r.where}"
    for r in reqs:
        if r.spec and not declared.admits(r.spec, 1):
            return "yes", f"declared `{r.line}` in {r.where}"
    locked = declared.locked_version(root, "sqlalchemy")
    if locked is not None:
        version, where = locked
        return _major_state(version), f"SQLAlchemy {version} in {where}"
    version = installed.distribution_version("sqlalchemy", installed.site_dirs(root))
    if version is not None:
        return _major_state(version), f"SQLAlchemy {version} installed in the project's environment"
    if reqs:
        r = reqs[0]
        return "yes", f"declared `{r.line}` in {r.where}, which installs SQLAlchemy 2.x"
    return "unknown", "not declared and not installed in the project's environment"


def _major_state(version: str) -> str:
    major = version.split(".")[0]
    return ("yes" if int(major) >= 2 else "no") if major.isdigit() else "unknown"
