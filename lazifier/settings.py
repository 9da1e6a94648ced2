"""Settings: defaults < ``[tool.lazify]`` in pyproject.toml < command line. Declared once, typed."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemods import REGISTRY
from codemods._api import Settings as CodemodSettings
from codemods._singleton_plan import DEFAULT_CHEAP, DEFAULT_FACTORIES
from codemods.app_factory import MODES as MODULE_APP_MODES
from codemods.heavy_imports import DEFAULT_HEAVY_MODULES, STYLES

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

TARGET_VERSIONS = tuple(f"py3{minor}" for minor in range(10, 16))


class ConfigError(Exception):
    """A usage or configuration error (exit code 2)."""


@dataclass(frozen=True)
class Settings:
    project_root: Path
    config_path: Path | None = None
    heavy_modules: tuple[str, ...] = DEFAULT_HEAVY_MODULES
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    target_version: str = "py310"
    src: tuple[str, ...] = (".", "src")
    namespace_packages: tuple[str, ...] = ()
    style: str = "local"
    respect_gitignore: bool = True
    #: Exclude files even when they are named on the command line (for pre-commit).
    force_exclude: bool = False
    strict: bool = False
    cache_dir: str = ".lazify_cache"
    singleton_factories: tuple[str, ...] = DEFAULT_FACTORIES
    cheap_calls: tuple[str, ...] = DEFAULT_CHEAP
    module_app: str = "eager"
    #: lazify doctor: the entry points to measure, and the import-time budget ("800ms").
    entry: tuple[str, ...] = ()
    import_budget: str | None = None

    @property
    def target(self) -> tuple[int, int]:
        return (3, int(self.target_version[3:]))

    def codemod_settings(self) -> CodemodSettings:
        state, source = _detect_sqlalchemy_cached(self.project_root, self.config_path)
        return CodemodSettings(
            heavy_modules=frozenset(self.heavy_modules),
            target_version=self.target,
            style=self.style,
            sqlalchemy2=state,
            sqlalchemy_source=source,
            singleton_factories=self.singleton_factories,
            cheap_calls=self.cheap_calls,
            module_app=self.module_app,
        )

    def selected_codes(self) -> tuple[str, ...]:
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
    kind: str  # "str-list", "str", "bool"
    choices: tuple[str, ...] = ()


CONFIG_KEYS: Mapping[str, _Key] = {
    "heavy-modules": _Key("heavy_modules", "str-list"),
    "extend-heavy-modules": _Key("extend_heavy_modules", "str-list"),
    "exclude": _Key("exclude", "str-list"),
    "extend-exclude": _Key("extend_exclude", "str-list"),
    "select": _Key("select", "str-list"),
    "ignore": _Key("ignore", "str-list"),
    "unsafe-fixes": _Key("unsafe_fixes", "bool"),
    "target-version": _Key("target_version", "str", TARGET_VERSIONS),
    "src": _Key("src", "str-list"),
    "namespace-packages": _Key("namespace_packages", "str-list"),
    "style": _Key("style", "str", STYLES),
    "respect-gitignore": _Key("respect_gitignore", "bool"),
    "force-exclude": _Key("force_exclude", "bool"),
    "strict": _Key("strict", "bool"),
    "cache-dir": _Key("cache_dir", "str"),
    "singleton-factories": _Key("singleton_factories", "str-list"),
    "extend-singleton-factories": _Key("extend_singleton_factories", "str-list"),
    "cheap-calls": _Key("cheap_calls", "str-list"),
    "extend-cheap-calls": _Key("extend_cheap_calls", "str-list"),
    "module-app": _Key("module_app", "str", MODULE_APP_MODES),
    "entry": _Key("entry", "str-list"),
    "import-budget": _Key("import_budget", "str"),
}


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
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: `{name}` must be a list of strings, not {value!r}")
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
    for base, default in (
        ("singleton_factories", DEFAULT_FACTORIES), ("cheap_calls", DEFAULT_CHEAP), ("heavy_modules", DEFAULT_HEAVY_MODULES),
    ):  # fmt: skip
        extra = values.pop(f"extend_{base}", ())
        if extra:
            first = origin.get(base, "default")
            origin[base] = f"{first}, extended by {origin.pop(f'extend_{base}')}"
        values[base] = tuple(dict.fromkeys(tuple(values.get(base, default)) + tuple(extra)))
    for key in ("select", "ignore"):
        for item in values.get(key) or ():
            if item != "ALL" and not any(item in (c.code, c.name) for c in REGISTRY):
                names = [n for c in REGISTRY for n in (c.code, c.name)]
                where = origin.get(key, "the settings")
                raise ConfigError(
                    f"{where}: unknown codemod `{item}` in `{key}`{_did_you_mean(item, names)} (see `lazify codemods`)"
                )
    settings = Settings(project_root=root, config_path=config, **values)
    if settings.style == "lazy-keyword" and settings.target < (3, 15):
        raise ConfigError(
            "style `lazy-keyword` writes PEP 810 `lazy import`, which needs target-version py315 "
            f"(got {settings.target_version}); use `lazy-modules` to stay compatible"
        )
    return settings, origin


def detect_sqlalchemy(root: Path, config: Path | None) -> tuple[str, str]:
    """Can the project use SQLAlchemy 2.0 (``yes`` | ``no`` | ``unknown``), and why.

    From what the project itself says, never from lazify's own environment (unless it is the
    project's): a declared requirement that rules 2.x out or in decides; else the version its
    lock file pins; else the version installed in its environment (``.venv``, ``venv``,
    ``$VIRTUAL_ENV``); else a requirement that admits 2.x (a bare ``sqlalchemy``, which installs
    the newest release, 2.x)."""
    from lazifier import declared, installed

    reqs = declared.requirements(root, config, "sqlalchemy")
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


@functools.lru_cache(maxsize=8)
def _detect_sqlalchemy_cached(root: Path, config: Path | None) -> tuple[str, str]:
    return detect_sqlalchemy(root, config)


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)


__all__ = ["ConfigError", "Settings", "field", "load_settings"]
