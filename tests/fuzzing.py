"""Fuzzing lazify's pure ``transform()`` (issue 10): the checks, the runner, the generators.

Shared by ``tests/test_fuzz.py`` (a few hundred programs in the suite) and ``scripts/fuzz.py``
(a thousand and more, with minimal reproducers written to ``build/fuzz-failures/``).

For one program and one configuration (heavy-modules = every module the program imports; safe
fixes only, or with unsafe fixes), :func:`check_program` calls ``transform()`` the way the
engine does (a one-file project: the index's facts, the project-level plans, the view) and
checks that:

* it raises nothing and reports no internal error (LibCST failing to parse is a skip);
* the output parses (``ast``) and compiles;
* a second ``transform()`` of the output changes nothing and reports no error;
* "imports where the input does": input and output are imported (as module ``m``) in a forked
  child of a small server process, with every imported module that isn't in the standard
  library provided as a permissive stub package (:data:`STUB_SOURCE`: any attribute exists, is
  a class, can be called, subclassed, subscripted, used as a decorator; a submodule that wasn't
  imported is *not* an attribute of its package, as in real Python). If the input imports, the
  output must import; if it raises, the output must raise the same exception type or nothing (an
  error that surfaces later is the deferral lazify is for). Then every top-level function that
  can be called without arguments is called, in order, in both, and must end the same way.

The generators: hypothesmith's ``from_grammar()`` and ``from_node()`` (rarely any imports), and
:func:`targeted_programs`, which composes programs that import stub modules and use the names in
every position lazify has to reason about.
"""

from __future__ import annotations

import ast
import json
import os
import select
import subprocess
import sys
import tempfile
import textwrap
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codemods import REGISTRY
from codemods._api import ProjectView, Settings
from lazifier.index import ProjectIndex, extract_facts
from lazifier.transform import FileResult, Policy, transform

CODES = tuple(cls.code for cls in REGISTRY)
TARGET = (3, max(10, min(15, sys.version_info[1])))

#: name -> (Policy, Settings fields besides heavy_modules)
CONFIGS: dict[str, tuple[Policy, dict]] = {
    "safe": (Policy(unsafe_fixes=False), {}),
    "unsafe": (Policy(unsafe_fixes=True), {"sqlalchemy2": "yes"}),
}

#: Standard-library modules that do something when imported: stubbed like the others.
_NOISY_STDLIB = {
    "antigravity",
    "this",
    "__hello__",
    "__phello__",
    "turtle",
    "turtledemo",
    "tkinter",
    "idlelib",
    "pydoc",
}


# ---------------------------------------------------------------------------------------------
# the program's imports


def imported_modules(tree: ast.AST) -> set[str]:
    """Every absolute module the program imports, anywhere (dotted names, with their parents)."""
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                mods.add(a.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods.add(node.module)
    out = set()
    for m in mods:
        parts = m.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def top_level_imports(tree: ast.Module) -> set[str]:
    """The modules imported by module-level statements (what heavy-modules is set to)."""
    mods: set[str] = set()

    def visit(stmts: list[ast.stmt]) -> None:
        for s in stmts:
            if isinstance(s, ast.Import):
                mods.update(a.name for a in s.names)
            elif isinstance(s, ast.ImportFrom) and s.level == 0 and s.module:
                mods.add(s.module)
            elif isinstance(s, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for f in ("body", "orelse", "finalbody"):
                    visit(getattr(s, f, []))
                for h in getattr(s, "handlers", []):
                    visit(h.body)
            elif sys.version_info >= (3, 11) and isinstance(s, ast.TryStar):
                visit(s.body)
                visit(s.orelse)
                visit(s.finalbody)
                for h in s.handlers:
                    visit(h.body)

    visit(tree.body)
    # `from __future__ import ...` is a compiler directive, not a module anyone calls heavy.
    mods.discard("__future__")
    return mods


def is_stubbed(module: str) -> bool:
    top = module.split(".")[0]
    return top not in sys.stdlib_module_names or top in _NOISY_STDLIB


# ---------------------------------------------------------------------------------------------
# transform() as the engine calls it, for a one-file project


def settings_for(modules: set[str], config: str) -> Settings:
    _, extra = CONFIGS[config]
    return Settings(heavy_modules=frozenset(modules), target_version=TARGET, **extra)


def view_for(text: str, settings: Settings, module: str = "m", path: str = "m.py") -> ProjectView:
    """What the engine's index and project-level planners give this file (see Engine.index/_plan)."""
    facts = extract_facts(text, module, path.endswith("__init__.py"))
    index = ProjectIndex({path: module}, {path: facts})
    plans: dict[str, object] = {}
    for cls in REGISTRY:
        if not cls.project_level:
            continue
        extra = facts.extra_for(cls.code)
        if extra is None:
            continue
        for mod, slice_ in cls.plan({module: extra}, {module}, {module: path}, settings).items():  # type: ignore[attr-defined]
            if mod == module:
                plans[cls.code] = slice_
    return index.view(path, plans)


def run_transform(text: str, settings: Settings, policy: Policy) -> FileResult:
    return transform(text, "m.py", "m", settings, CODES, view_for(text, settings), policy)


# ---------------------------------------------------------------------------------------------
# running programs

STUB_SOURCE = '''\
"""A permissive stand-in for a module the fuzzed program imports (generated)."""
_SUBMODULES = frozenset(%(submodules)r)
_NAMES = ("Thing", "Base", "helper", "CONST", "deco", "T", "make", "Model")


def _is_dunder(name):
    return name.startswith("__") and name.endswith("__")


class _Meta(type):
    def __init__(cls, name, bases, ns, **kwargs):
        super().__init__(name, bases, ns, **kwargs)
        if "_stub_root" not in ns and ns.get("__annotations__"):
            # A class built on a stub reads its annotations, as pydantic and SQLAlchemy models do.
            import typing

            typing.get_type_hints(cls)

    def __getattr__(cls, name):
        if _is_dunder(name):
            raise AttributeError(name)
        return _make(name)

    def __call__(cls, *args, **kwargs):
        if cls.__dict__.get("_stub_root") and len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]  # used as a decorator
        return super().__call__(*args, **kwargs)

    def __getitem__(cls, key):
        return cls

    def __iter__(cls):
        return iter(())

    def __len__(cls):
        return 0

    def __bool__(cls):
        return True

    def __repr__(cls):
        return "<stub %%s>" %% cls.__name__

    def __or__(cls, other):
        return cls

    __ror__ = __or__


class _Base(metaclass=_Meta):
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        if _is_dunder(name):
            raise AttributeError(name)
        return _make(name)

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]
        return _make("result")

    def __getitem__(self, key):
        return _make("item")

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return "<stub instance>"


for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "xor", "lshift", "rshift", "matmul"):
    setattr(_Meta, "__%%s__" %% _op, lambda cls, other: cls)
    setattr(_Meta, "__r%%s__" %% _op, lambda cls, other: cls)
    setattr(_Base, "__%%s__" %% _op, lambda self, other: self)
    setattr(_Base, "__r%%s__" %% _op, lambda self, other: self)


def _make(name):
    return _Meta(str(name), (_Base,), {"_stub_root": True, "__module__": __name__})


for _n in _NAMES:
    globals()[_n] = _make(_n)


def __getattr__(name):
    if _is_dunder(name) or name in _SUBMODULES:
        # A submodule that was not imported is not an attribute of its package.
        raise AttributeError("module %%r has no attribute %%r" %% (__name__, name))
    value = globals()[name] = _make(name)
    return value
'''


def write_stubs(root: Path, modules: set[str]) -> None:
    stubbed = sorted(m for m in modules if is_stubbed(m))
    for mod in stubbed:
        subs = sorted({m.split(".")[mod.count(".") + 1] for m in stubbed if m.startswith(mod + ".")})
        d = root.joinpath(*mod.split("."))
        d.mkdir(parents=True, exist_ok=True)
        (d / "__init__.py").write_text(STUB_SOURCE % {"submodules": tuple(subs)})


def zero_arg_functions(tree: ast.Module) -> list[str]:
    out = []
    for s in tree.body:
        if isinstance(s, ast.FunctionDef):
            a = s.args
            required = len(a.posonlyargs) + len(a.args) - len(a.defaults)
            required += sum(1 for d in a.kw_defaults if d is None)
            if required == 0:
                out.append(s.name)
    return out[:8]


SERVER = r"""
import importlib, json, os, select, signal, sys, time
real_stdout = os.fdopen(os.dup(1), "w", buffering=1)
devnull = os.open(os.devnull, os.O_RDWR)
os.dup2(devnull, 1)
for line in sys.stdin:
    job = json.loads(line)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.dup2(devnull, 0); os.dup2(devnull, 1); os.dup2(devnull, 2)
        os.chdir(job["dir"])
        sys.path.insert(0, job["dir"])
        out = {"import": None, "calls": []}
        def kind(e):
            return type(e).__name__
        def done():
            os.write(w, json.dumps(out).encode())
            os._exit(0)
        signal.alarm(job["timeout"])
        try:
            m = importlib.import_module(job["module"])
            out["import"] = "ok"
        except BaseException as e:
            out["import"] = kind(e)
            done()
        for name in job["calls"]:
            try:
                f = getattr(m, name)
                v = f()
                out["calls"].append([name, "ok:" + type(v).__name__])
            except BaseException as e:
                out["calls"].append([name, kind(e)])
        done()
    os.close(w)
    chunks = []
    deadline = time.monotonic() + job["timeout"] + 2
    status = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            data = os.read(r, 65536)
            if not data:
                break
            chunks.append(data)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if chunks:
        try:
            res = json.loads(b"".join(chunks))
        except ValueError:
            res = {"import": "died", "calls": []}
    elif time.monotonic() >= deadline:
        res = {"import": "timeout", "calls": []}
    else:
        res = {"import": f"died ({status})", "calls": []}
    real_stdout.write(json.dumps(res) + "\n")
"""


class Runner:
    """A server that forks a fresh child per program run (cheap: no interpreter start-up)."""

    def __init__(self, timeout: int = 5) -> None:
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="lazify-fuzz-"))
        self.count = 0

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            env = {
                **os.environ,
                "PYTHONHASHSEED": "0",
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONWARNINGS": "ignore",
            }
            env.pop("PYTHONPATH", None)
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, env=env, cwd=self.tmp,
            )  # fmt: skip
        return self.proc

    def run(self, source: str, modules: set[str], calls: list[str]) -> dict:
        self.count += 1
        d = self.tmp / f"p{self.count}"
        d.mkdir()
        write_stubs(d, modules)
        (d / "m.py").write_text(source, encoding="utf-8")
        proc = self._start()
        assert proc.stdin and proc.stdout
        proc.stdin.write(
            json.dumps({"dir": str(d), "module": "m", "calls": calls, "timeout": self.timeout}) + "\n"
        )
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], self.timeout + 30)
        line = proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            return {"import": "runner died", "calls": []}
        _rm(d)
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        _rm(self.tmp)


def _rm(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# the checks


@dataclass
class Failure:
    kind: str
    config: str
    detail: str
    program: str
    output: str | None = None
    heavy_modules: list[str] = field(default_factory=list)
    outcomes: dict | None = None
    #: The unsafe fixes the output has (an unsafe fix may change more than timing).
    unsafe_applied: list[str] = field(default_factory=list)

    def render(self) -> str:
        _, extra = CONFIGS[self.config]
        policy, _ = CONFIGS[self.config]
        settings = (
            f"Settings(heavy_modules=frozenset({sorted(self.heavy_modules)!r}), target_version={TARGET!r}"
        )
        settings += "".join(f", {k}={v!r}" for k, v in extra.items()) + ")"
        parts = [
            f"# kind: {self.kind}",
            f"# config: {self.config}: {settings}, Policy(unsafe_fixes={policy.unsafe_fixes})",
            f"# what went wrong: {self.detail}",
        ]
        if self.outcomes:
            parts.append(f"# outcomes (input, output): {json.dumps(self.outcomes)}")
        for m in self.unsafe_applied:
            parts.append(f"# unsafe fix applied: {m}")
        parts += ["# ----- input -----", self.program.rstrip("\n")]
        if self.output is not None:
            parts += [
                "# ----- lazify's output -----",
                *("# " + line if line else "#" for line in self.output.rstrip("\n").split("\n")),
            ]
        return "\n".join(parts) + "\n"


@dataclass
class Checked:
    config: str
    status: str  # "unchanged" | "changed" | "skipped" (LibCST can't parse) | "failed"
    failures: list[Failure] = field(default_factory=list)
    deferred: bool = False  # the input raised at import, the output didn't


def _parses(text: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(text)
            compile(text, "m.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            return f"{type(e).__name__}: {e}"
        except (RecursionError, MemoryError):
            return None
    return None


def check_program(source: str, config: str, runner: Runner | None) -> Checked:
    """Every check for one program and configuration (``runner=None``: no runtime check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(source)
            compile(source, "m.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return Checked(config, "skipped")
    heavy = top_level_imports(tree)
    settings = settings_for(heavy, config)
    policy, _ = CONFIGS[config]

    unsafe: list[str] = []

    def fail(kind: str, detail: str, output: str | None = None, outcomes: dict | None = None) -> Checked:
        return Checked(
            config, "failed", [Failure(kind, config, detail, source, output, sorted(heavy), outcomes, unsafe)]
        )

    try:
        result = run_transform(source, settings, policy)
    except Exception as e:
        return fail("transform raised", f"{type(e).__name__}: {e}")
    if result.error_kind == "internal":
        return fail("internal error", result.error or "")
    if result.error_kind == "parse" or result.error:
        return Checked(config, "skipped")
    new = result.new_text
    if new is None:
        return Checked(config, "unchanged")
    unsafe += [
        f"{c.code} line {c.line}: {c.finding.message}"
        for c in result.changes
        if c.applied and c.safety_label == "unsafe"
    ]
    why = _parses(new)
    if why:
        return fail("output does not compile", why, new)
    try:
        again = run_transform(new, settings, policy)
    except Exception as e:
        return fail("second pass raised", f"{type(e).__name__}: {e}", new)
    if again.error:
        return fail("second pass error", again.error, new)
    if again.new_text is not None:
        import difflib

        diff = "".join(
            difflib.unified_diff(new.splitlines(True), again.new_text.splitlines(True), "first", "second")
        )
        return fail("second pass changes", diff[:3000], new)
    if runner is None:
        return Checked(config, "changed")
    modules = imported_modules(tree) | imported_modules(ast.parse(new))
    calls = zero_arg_functions(tree)
    before = runner.run(source, modules, calls)
    if before["import"] in ("timeout", "runner died") or before["import"].startswith("died"):
        return Checked(config, "changed")
    after = runner.run(new, modules, calls)
    outcomes = {"input": before, "output": after}
    if before["import"] == "ok":
        if after["import"] != "ok":
            return fail(
                "import regression", f"the input imports, the output raises {after['import']}", new, outcomes
            )
        b_calls, a_calls = dict(map(tuple, before["calls"])), dict(map(tuple, after["calls"]))
        for name, b in b_calls.items():
            a = a_calls.get(name)
            if policy.unsafe_fixes and a and a.startswith("ok:") and b.startswith("ok:"):
                continue  # an unsafe fix may change a type seen at runtime (declarative-base)
            if a != b:
                return fail("call regression", f"{name}(): input {b}, output {a}", new, outcomes)
        return Checked(config, "changed")
    if after["import"] == "ok":
        return Checked(config, "changed", deferred=True)
    if after["import"] != before["import"]:
        return fail(
            "different exception",
            f"the input raises {before['import']}, the output {after['import']}",
            new,
            outcomes,
        )
    return Checked(config, "changed")


# ---------------------------------------------------------------------------------------------
# minimising a failing program


def minimise(source: str, config: str, kind: str, runner: Runner | None, budget: int = 400) -> str:
    """Remove statements (then lines) while the same kind of failure persists."""
    calls = [0]

    def fails(text: str) -> bool:
        calls[0] += 1
        try:
            c = check_program(text, config, runner)
        except Exception:
            return False
        return any(f.kind == kind for f in c.failures)

    best = source
    try:
        unparsed = ast.unparse(ast.parse(source)) + "\n"
    except Exception:
        unparsed = None
    if unparsed is not None and unparsed != source and fails(unparsed):
        best = unparsed
    if best is unparsed:
        progress = True
        while progress and calls[0] < budget:
            progress = False
            tree = ast.parse(best)
            bodies = [
                (node, fname)
                for node in ast.walk(tree)
                for fname in ("body", "orelse", "finalbody", "handlers")
                if isinstance(getattr(node, fname, None), list) and getattr(node, fname)
            ]
            for n_body in range(len(bodies) - 1, -1, -1):
                node, fname = bodies[n_body]
                stmts = getattr(node, fname)
                for i in range(len(stmts) - 1, -1, -1):
                    if calls[0] >= budget:
                        break
                    if fname == "handlers" and len(stmts) == 1:
                        continue
                    cand_tree = ast.parse(best)
                    cand_bodies = [
                        (n, f)
                        for n in ast.walk(cand_tree)
                        for f in ("body", "orelse", "finalbody", "handlers")
                        if isinstance(getattr(n, f, None), list) and getattr(n, f)
                    ]
                    if n_body >= len(cand_bodies):
                        continue
                    cn, cf = cand_bodies[n_body]
                    lst = getattr(cn, cf)
                    if i >= len(lst):
                        continue
                    del lst[i]
                    if not lst and cf in ("body",) and not isinstance(cn, ast.Module):
                        lst.append(ast.Pass())
                    try:
                        text = ast.unparse(ast.fix_missing_locations(cand_tree)) + "\n"
                    except Exception:
                        continue
                    if text != best and fails(text):
                        best = text
                        progress = True
                        break
                if progress:
                    break
    # Then single lines.
    lines = best.split("\n")
    i = len(lines) - 1
    while i >= 0 and calls[0] < budget:
        cand = "\n".join(lines[:i] + lines[i + 1 :])
        if fails(cand):
            lines = lines[:i] + lines[i + 1 :]
        i -= 1
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# generators

HEAVY_STUBS = ["hv", "hv2", "hpkg", "hpkg.sub", "hpkg.sub.deep"]
REAL_MODULES = ["json", "collections", "typing", "os.path", "decimal"]
STUB_NAMES = ["Thing", "Base", "helper", "CONST", "deco", "T", "make", "Model"]


def _strategies():
    from hypothesis import strategies as st

    @st.composite
    def an_import(draw, idx: int):
        """(lines, refs: expressions that reach the imported thing, bound names, flag or None)."""
        if draw(st.integers(0, 5)) == 0:
            # A standard-library name used in annotations (typing, collections.abc).
            mod, name = draw(st.sampled_from([("typing", "Optional"), ("collections.abc", "Mapping"),
                                               ("typing", "Any"), ("collections.abc", "Callable")]))  # fmt: skip
            return [f"from {mod} import {name}"], [name], [name], None
        mod = draw(st.sampled_from(HEAVY_STUBS + REAL_MODULES[:1] + ["hv"] * 3))
        real = not is_stubbed(mod)
        name = (
            draw(st.sampled_from(["dumps", "loads", "JSONDecoder"]))
            if real
            else draw(st.sampled_from(STUB_NAMES))
        )
        kind = draw(st.sampled_from([
            "import", "import", "import-as", "from", "from", "from-as", "star", "try-none",
            "try-flag", "type-checking", "import-dotted-sub", "try-from", "two-names",
        ]))  # fmt: skip
        alias = f"a{idx}"
        top = mod.split(".")[0]
        if kind == "import":
            return [f"import {mod}"], [f"{mod}.{name}", mod] if not real else [f"{mod}.{name}"], [top], None
        if kind == "import-as":
            return [f"import {mod} as {alias}"], [f"{alias}.{name}", alias], [alias], None
        if kind == "from":
            return [f"from {mod} import {name}"], [name], [name], None
        if kind == "from-as":
            return [f"from {mod} import {name} as {alias}"], [alias], [alias], None
        if kind == "two-names":
            other = draw(st.sampled_from(STUB_NAMES)) if not real else "JSONEncoder"
            return [f"from {mod} import {name}, {other}"], [name, other], [name, other], None
        if kind == "star":
            if real:
                return [f"from {mod} import *"], ["dumps"], ["dumps"], None
            return [f"from {mod} import *"], ["helper", "Thing"], ["helper", "Thing"], None
        if kind == "try-none":
            return (
                ["try:", f"    import {mod} as {alias}", "except ImportError:", f"    {alias} = None"],
                [f"{alias}.{name}"], [alias], None,
            )  # fmt: skip
        if kind == "try-flag":
            flag = f"HAS_{alias.upper()}"
            return (
                ["try:", f"    import {mod} as {alias}", f"    {flag} = True", "except ImportError:", f"    {flag} = False"],
                [f"{alias}.{name}"], [alias], flag,
            )  # fmt: skip
        if kind == "try-from":
            return (
                ["try:", f"    from {mod} import {name}", "except ImportError:", f"    {name} = None"],
                [name], [name], None,
            )  # fmt: skip
        if kind == "type-checking":
            return (
                ["if TYPE_CHECKING:", f"    from {mod} import {name}"],
                [name], [name], "TYPE_CHECKING",
            )  # fmt: skip
        # import-dotted-sub: `import hpkg.sub` binds hpkg
        sub = "hpkg.sub" if not real else "os.path"
        return [f"import {sub}"], [f"{sub}.{name if not real else 'join'}"], [sub.split(".")[0]], None

    @st.composite
    def a_use(draw, i: int, ref: str, bound: list[str], tc_names: set[str]):
        """Lines that use ``ref`` (an expression) in some position; may define f{i}/C{i}/..."""
        # A name imported only under TYPE_CHECKING may only be used in annotations (as in real code).
        annot_only = ref.split(".")[0] in tc_names
        b = draw(st.sampled_from(bound)) if bound else "x"
        choices = [
            "annotation",
            "annotation",
            "string-annotation",
            "class-annotation",
            "alias-string",
        ]
        if not annot_only or draw(st.booleans()):
            choices += ["reader-class"]
        if not annot_only:
            choices += [
                "body", "body", "body", "annotation-body", "default", "decorator", "nested", "lambda",
                "module-level", "class-attr", "class-base", "method", "global-rebind", "comprehension",
                "try-body", "local-import-shadow", "isinstance", "main-guard", "globals-lookup",
                "async", "conditional-def", "closure-default", "module-attr-set", "class-decorator",
                "method-default", "generator", "walrus", "del-in-function", "except-type",
            ]  # fmt: skip
        kind = draw(st.sampled_from(choices))
        f = f"f{i}"
        if kind == "body":
            return [f"def {f}():", f"    return {ref}"]
        if kind == "annotation":
            return [f"def {f}(x: {ref} = None) -> {ref}:", "    return x"]
        if kind == "annotation-body":
            return [f"def {f}(x: {ref} = None) -> {ref}:", f"    return {ref}"]
        if kind == "string-annotation":
            return [f"def {f}(x: '{ref}' = None) -> 'list[{ref}]':", "    return [x]"]
        if kind == "class-annotation":
            return [f"class C{i}:", f"    x: {ref}", f"    def m(self) -> {ref}:", "        return self"]
        if kind == "reader-class":
            base = draw(st.sampled_from(["hv.Model", "Model"]))
            pre = ["import hv"] if base == "hv.Model" else ["from hv import Model"]
            return [*pre, f"class R{i}({base}):", f"    x: {ref}", f"    y: 'list[{ref}]'"]
        if kind == "alias-string":
            return [f"Alias{i} = '{ref}'"]
        if kind == "default":
            return [f"def {f}(x={ref}):", "    return x"]
        if kind == "method-default":
            return [f"class C{i}:", f"    def m(self, x={ref}):", "        return x"]
        if kind == "decorator":
            return [f"@{ref}", f"def {f}():", "    return 1"]
        if kind == "class-decorator":
            return [f"@{ref}", f"class C{i}:", "    pass"]
        if kind == "nested":
            return [f"def {f}():", "    def inner():", f"        return {ref}", "    return inner()"]
        if kind == "closure-default":
            return [f"def {f}():", f"    def inner(y={ref}):", "        return y", "    return inner()"]
        if kind == "lambda":
            return [f"{f} = lambda: {ref}"]
        if kind == "module-level":
            return [draw(st.sampled_from([f"v{i} = {ref}", f"if {ref}:\n    v{i} = 1", f"v{i} = [{ref}]"]))]
        if kind == "class-attr":
            return [f"class C{i}:", f"    attr = {ref}"]
        if kind == "class-base":
            return [f"class C{i}({ref}):", "    pass", f"def {f}():", f"    return C{i}()"]
        if kind == "method":
            return [
                f"class C{i}:",
                "    def m(self):",
                f"        return {ref}",
                f"def {f}():",
                f"    return C{i}().m()",
            ]
        if kind == "global-rebind":
            return [f"def {f}():", f"    global {b}", f"    {b} = {ref}", f"    return {b}"]
        if kind == "comprehension":
            return [draw(st.sampled_from([
                f"def {f}():\n    return [{ref} for _ in range(2)]",
                f"v{i} = [{ref} for _ in range(1)]",
                f"def {f}():\n    return {{k: {ref} for k in 'ab'}}",
            ]))]  # fmt: skip
        if kind == "try-body":
            return [
                f"def {f}():",
                "    try:",
                f"        return {ref}",
                "    except Exception:",
                "        return None",
            ]
        if kind == "local-import-shadow":
            mod = draw(st.sampled_from(["hv", "hv2", "json"]))
            return [f"def {f}():", f"    import {mod}", f"    return {mod}, {ref}"]
        if kind == "isinstance":
            return [f"def {f}(x=1):", f"    return isinstance(x, {ref})"]
        if kind == "main-guard":
            return ["if __name__ == '__main__':", f"    print({ref})"]
        if kind == "globals-lookup":
            return [f"def {f}():", f"    return globals().get({b!r}, 'missing') is not None, {ref}"]
        if kind == "async":
            return [f"async def a{i}():", f"    return {ref}"]
        if kind == "conditional-def":
            return ["if True:", f"    def {f}():", f"        return {ref}"]
        if kind == "module-attr-set":
            return [f"def {f}():", f"    {ref}.flag = 1", f"    return {ref}.flag"]
        if kind == "generator":
            return [f"def {f}():", f"    yield {ref}"]
        if kind == "walrus":
            return [f"def {f}():", f"    if (y := {ref}):", "        return y"]
        if kind == "del-in-function":
            return [f"def {f}():", f"    z = {ref}", "    del z", "    return 1"]
        if kind == "except-type":
            return [f"def {f}():", "    try:", "        return 1", f"    except {ref}:", "        return 2"]
        raise AssertionError(kind)

    @st.composite
    def a_twist(draw, i: int, bound: list[str], flags: list[str], funcs: list[str]):
        """Statements that make a name hard to move: rebinding, del, __all__, reads of a flag..."""
        b = draw(st.sampled_from(bound)) if bound else "x"
        kinds = ["rebind", "del", "all", "for-rebind", "augassign", "with-rebind", "def-rebind", "import-again",
                 "sys-modules", "read-at-module-level", "late-import", "class-shadow", "getattr-module"]  # fmt: skip
        if flags:
            kinds += ["flag-read", "flag-read-fn"]
        if funcs:
            kinds += ["call-at-import", "all-funcs"]
        kind = draw(st.sampled_from(kinds))
        if kind == "rebind":
            return [f"{b} = {draw(st.sampled_from(['1', 'None', repr(b)]))}"]
        if kind == "del":
            return [f"del {b}"]
        if kind == "all":
            names = draw(
                st.lists(st.sampled_from(bound + funcs or ["x"]), min_size=1, max_size=3, unique=True)
            )
            return [f"__all__ = {names!r}"]
        if kind == "all-funcs":
            return [f"__all__ = {sorted(set(funcs))!r}"]
        if kind == "for-rebind":
            return [f"for {b} in range(2):", "    pass"]
        if kind == "augassign":
            return [f"def g{i}():", f"    global {b}", f"    {b} = 0", f"    {b} += 1", f"    return {b}"]
        if kind == "with-rebind":
            return ["import contextlib", f"with contextlib.nullcontext(3) as {b}:", "    pass"]
        if kind == "def-rebind":
            return [f"def {b}():", "    return 'shadow'"]
        if kind == "import-again":
            return [f"import hv as {b}" if b != "hv" else "import hv"]
        if kind == "sys-modules":
            return [
                "import sys",
                f"def g{i}():",
                f"    return getattr(sys.modules[__name__], {b!r}, None) is not None",
            ]
        if kind == "getattr-module":
            return [f"def g{i}():", f"    return {b!r} in dir()"]
        if kind == "read-at-module-level":
            return [f"print({b})"]
        if kind == "late-import":
            return [f"from hv2 import {draw(st.sampled_from(STUB_NAMES))}"]
        if kind == "class-shadow":
            return [f"class K{i}:", f"    {b} = 1", "    def m(self):", f"        return {b}"]
        if kind == "flag-read":
            return [f"if {draw(st.sampled_from(flags))}:", f"    ok{i} = True"]
        if kind == "flag-read-fn":
            return [f"def g{i}():", f"    return {draw(st.sampled_from(flags))}"]
        if kind == "call-at-import":
            return [f"r{i} = {draw(st.sampled_from(funcs))}()"]
        raise AssertionError(kind)

    @st.composite
    def a_singleton(draw, i: int, refs: list[str]):
        """A module-level object of a class defined in the file (lazy-singletons' candidates)."""
        ref = draw(st.sampled_from(refs)) if refs else "1"
        name = f"svc{i}"
        lines = [f"class Svc{i}:", "    def __init__(self):", f"        self.v = {ref}", "    def get(self):", "        return self.v",
                 f"{name} = Svc{i}()"]  # fmt: skip
        for _ in range(draw(st.integers(0, 3))):
            lines += draw(st.sampled_from([
                [f"def use{i}():", f"    return {name}.get()"],
                [f"def use{i}_g():", f"    global {name}", f"    return {name}"],
                [f"v_{name} = {name}.v"],
                [f"__all__ = [{name!r}]"],
                [f"def set{i}():", f"    global {name}", f"    {name} = Svc{i}()", f"    return {name}"],
                [f"class User{i}:", f"    dep = {name}"],
                [f"def use{i}_default(s={name}):", "    return s"],
                [f"other{i} = {name}"],
                [f"def use{i}_anno() -> Svc{i}:", f"    return {name}"],
            ]))  # fmt: skip
        return lines

    @st.composite
    def a_framework(draw, i: int):
        """An app built at import (app-factory), an engine (lazy-singletons), declarative_base."""
        kind = draw(st.sampled_from(["flask", "fastapi", "engine", "declarative", "sessionmaker"]))
        if kind == "flask":
            return ["from flask import Flask", "app = Flask(__name__)", "@app.route('/')", f"def index{i}():", "    return 'hi'",
                    f"def page{i}():", "    return app"]  # fmt: skip
        if kind == "fastapi":
            return ["from fastapi import FastAPI", "app = FastAPI()", "@app.get('/')", f"def root{i}():", "    return {}",
                    "app.add_middleware(object)"]  # fmt: skip
        if kind == "engine":
            return ["from sqlalchemy import create_engine", f"engine{i} = create_engine('sqlite://')",
                    f"def conn{i}():", f"    return engine{i}.connect()"]  # fmt: skip
        if kind == "sessionmaker":
            return ["from sqlalchemy import create_engine", "from sqlalchemy.orm import sessionmaker",
                    f"eng{i} = create_engine('sqlite://')", f"Session{i} = sessionmaker(bind=eng{i})",
                    f"def sess{i}():", f"    return Session{i}()"]  # fmt: skip
        return ["from sqlalchemy.orm import declarative_base", "Base = declarative_base()", f"class M{i}(Base):",
                "    __tablename__ = 't'", f"def model{i}():", f"    return M{i}"]  # fmt: skip

    @st.composite
    def program(draw):
        head: list[str] = []
        if draw(st.booleans()):
            head.append('"""Module docstring."""')
        if draw(st.booleans()):
            head.append("from __future__ import annotations")
        n_imports = draw(st.integers(1, 4))
        imports, refs, bound, flags, tc_names = [], [], [], [], set()
        for k in range(n_imports):
            lines, r, b, flag = draw(an_import(k))
            if flag == "TYPE_CHECKING":
                spelling = draw(st.sampled_from(["TYPE_CHECKING", "t.TYPE_CHECKING", "typing.TYPE_CHECKING"]))
                lines[0] = f"if {spelling}:"
                source = {"TYPE_CHECKING": "from typing import TYPE_CHECKING", "t.TYPE_CHECKING": "import typing as t",
                          "typing.TYPE_CHECKING": "import typing"}[spelling]  # fmt: skip
                if source not in imports:
                    # Anywhere among the imports: also after other imports lazify may guard.
                    imports.insert(draw(st.integers(0, len(imports))), source)
                tc_names.update(b)
            elif flag:
                flags.append(flag)
            imports.append("\n".join(lines))
            refs += r
            bound += b
        blocks: list[list[str]] = []
        funcs: list[str] = []
        n_uses = draw(st.integers(1, 6))
        for i in range(n_uses):
            ref = draw(st.sampled_from(refs))
            lines = draw(a_use(i, ref, bound, tc_names))
            blocks.append(lines)
            if lines[0].startswith(f"def f{i}(") or (
                lines[0].startswith("@") and any(ln.startswith(f"def f{i}(") for ln in lines)
            ):
                funcs.append(f"f{i}")
        if draw(st.integers(0, 3)) == 0:
            blocks.append(draw(a_singleton(n_uses, [r for r in refs if r.split(".")[0] not in tc_names])))
        if draw(st.integers(0, 5)) == 0:
            blocks.append(draw(a_framework(n_uses)))
        for j in range(draw(st.integers(0, 2))):
            blocks.append(draw(a_twist(100 + j, bound, flags, funcs)))
        order = draw(st.permutations(range(len(blocks))))
        body = ["\n".join(blocks[k]) for k in order]
        # Mostly imports first; sometimes one import moves below the code (a router import at the bottom).
        if len(imports) > 1 and draw(st.integers(0, 4)) == 0:
            body.append(imports.pop())
        return "\n".join(head + imports + body) + "\n"

    return program


def targeted_programs():
    """Programs that import stub modules and use the names in every position lazify reasons about."""
    return _strategies()()


def grammar_programs():
    import hypothesmith

    return hypothesmith.from_grammar()


def node_programs():
    import hypothesmith

    return hypothesmith.from_node()


GENERATORS = {"targeted": targeted_programs, "grammar": grammar_programs, "node": node_programs}


def failure_record(f: Failure) -> dict:
    return asdict(f)


def dedent(text: str) -> str:
    return textwrap.dedent(text)
