"""The project index: what each file says about the others, for cross-file questions.

Facts are extracted with the standard library's ``ast`` (fast, C) and cached per file content.
The index answers, for one module, everything a codemod may ask about the rest of the project;
that answer (a :class:`~codemods._api.ProjectView`) is hashed into the file's cache key, so a
cached result is never reused after another file it depends on changed.
"""

from __future__ import annotations

import ast
import hashlib
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from codemods import REGISTRY
from codemods._api import Location, ProjectView, resolve_relative
from lazifier.settings import ConfigError

DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
READER_FUNCS = ("get_type_hints", "signature", "get_annotations")
#: Version of the facts format: part of the facts cache key (with the codemods' versions).
FACTS_VERSION = "5:" + ",".join(f"{c.code}.{c.version}" for c in REGISTRY if c.project_level)


@dataclass(frozen=True)
class FileFacts:
    star_imports: tuple[tuple[str, int], ...] = ()
    #: (dotted name, line, how): how is "import", "attribute", "string" or "at-import" (a
    #: module-level statement changes the object: ``@app.get(...)``, ``CORS(app)``).
    refs: tuple[tuple[str, int, str], ...] = ()
    #: Simple names passed to get_type_hints / inspect.signature / get_annotations.
    readers: tuple[str, ...] = ()
    #: Names of functions and classes defined anywhere in the file.
    defined: tuple[str, ...] = ()
    error: str | None = None
    #: Qualified names of what module-level statements call with a name as an argument
    #: (``SQLAlchemy(app)``): the classes whose constructors app-factory asks about.
    calls_with_names: tuple[str, ...] = ()
    #: Project-level codemods' own facts: (code, facts).
    extra: tuple[tuple[str, object], ...] = ()

    def extra_for(self, code: str) -> object | None:
        return dict(self.extra).get(code)


#: Nodes with nothing below them that no handler of :class:`_Collector` takes.
_SILENT_LEAVES = (ast.Name, ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


class _Collector:
    """One pass over a file's tree, in the order ``ast.NodeVisitor`` visits (depth first,
    children in field order), without its per-node method lookup and generators: the index
    runs it over every node of every file. A handler returns whether to visit the node's
    children."""

    def __init__(self, module: str | None, is_package: bool) -> None:
        self.module = module
        self.is_package = is_package
        self.aliases: dict[str, str] = {}
        self.refs: list[tuple[str, int, str]] = []
        self.star: list[tuple[str, int]] = []
        self.readers: set[str] = set()
        self.defined: set[str] = set()
        self._handlers: dict[type, Callable[[Any], bool]] = {
            ast.Import: self.visit_Import,
            ast.ImportFrom: self.visit_ImportFrom,
            ast.Attribute: self.visit_Attribute,
            ast.Constant: self.visit_Constant,
            ast.Call: self.visit_Call,
            ast.FunctionDef: self.visit_FunctionDef,
            ast.AsyncFunctionDef: self.visit_FunctionDef,
            ast.ClassDef: self.visit_FunctionDef,
        }

    def visit(self, tree: ast.AST) -> None:
        """Every node, depth first in field order (``ast.NodeVisitor``'s order), but the
        leaves no handler looks at (names, contexts, operators: a third of all nodes), which
        have nothing below them, so leaving them out changes the order of no other node."""
        stack = [tree]
        pop, extend = stack.pop, stack.extend
        handlers, AST, leaves = self._handlers, ast.AST, _SILENT_LEAVES
        while stack:
            node = pop()
            handler = handlers.get(type(node))
            if handler is not None and not handler(node):
                continue
            children: list[ast.AST] = []
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, AST):
                    if not isinstance(value, leaves):
                        children.append(value)
                elif isinstance(value, list):
                    children.extend(
                        item for item in value if isinstance(item, AST) and not isinstance(item, leaves)
                    )
            extend(reversed(children))

    def visit_Import(self, node: ast.Import) -> bool:
        for a in node.names:
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                root = a.name.split(".")[0]
                self.aliases[root] = root
        return False

    def visit_ImportFrom(self, node: ast.ImportFrom) -> bool:
        mod = resolve_relative(self.module, self.is_package, node.level, node.module)
        if mod is None:
            return False
        for a in node.names:
            if a.name == "*":
                self.star.append((mod, node.lineno))
                continue
            full = f"{mod}.{a.name}"
            self.refs.append((full, node.lineno, "import"))
            self.aliases[a.asname or a.name] = full
        return False

    def _chain(self, node: ast.expr) -> list[str] | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            parts.append(node.id)
            return parts[::-1]
        return None

    def visit_Attribute(self, node: ast.Attribute) -> bool:
        chain = self._chain(node)
        if chain is None:
            return True
        base = self.aliases.get(chain[0])
        if base is not None:
            self.refs.append((".".join([base, *chain[1:]]), node.lineno, "attribute"))
        return False

    def visit_Constant(self, node: ast.Constant) -> bool:
        v = node.value
        if isinstance(v, str) and len(v) < 256 and DOTTED.match(v):
            self.refs.append((v, node.lineno, "string"))
        return False

    def visit_Call(self, node: ast.Call) -> bool:
        chain = self._chain(node.func)
        if chain and chain[-1] in READER_FUNCS:
            for arg in node.args[:1]:
                target = self._chain(arg)
                if target:
                    self.readers.add(target[-1])
        return True

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
        self.defined.add(node.name)
        return True


def _chain_through_calls(node: ast.expr) -> list[str] | None:
    """``app.middleware("http")`` -> ``[app, middleware]``; ``app.config["X"]`` -> ``[app, config]``."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return parts[::-1]
        else:
            return None


def _is_main_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"``, either way round."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(x, ast.Name) and x.id == "__name__" for x in sides) and any(
        isinstance(x, ast.Constant) and x.value == "__main__" for x in sides
    )


def _import_time_uses(body: list[ast.stmt], aliases: Mapping[str, str]) -> list[tuple[str, int, str]]:
    """Statements that run at import and change an imported object: a decorator on it, a call
    of its methods or with it as an argument, an assignment to its attributes or items."""
    out: list[tuple[str, int, str]] = []

    def add(node: ast.expr, line: int) -> None:
        chain = _chain_through_calls(node)
        if chain and chain[0] in aliases:
            out.append((".".join([aliases[chain[0]], *chain[1:]]), line, "at-import"))

    for s in body:
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
            add(s.value.func, s.lineno)
            for a in [*s.value.args, *(k.value for k in s.value.keywords)]:
                if isinstance(a, ast.Name):
                    add(a, s.lineno)
        elif isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = s.targets if isinstance(s, ast.Assign) else [s.target]
            for t in targets:
                if isinstance(t, (ast.Attribute, ast.Subscript)):
                    add(t, s.lineno)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for d in s.decorator_list:
                add(d, d.lineno)
        elif isinstance(s, (ast.If, ast.With, ast.Try)):
            # `if __name__ == "__main__":` runs when the file is a script, never at import.
            first = [] if isinstance(s, ast.If) and _is_main_guard(s.test) else s.body
            for block in (first, getattr(s, "orelse", []), getattr(s, "finalbody", [])):
                out.extend(_import_time_uses(block, aliases))
    return out


def _calls_with_names(body: list[ast.stmt], aliases: Mapping[str, str]) -> set[str]:
    """``db = SQLAlchemy(app)``, ``CORS(app)`` at module level (also in ``if``/``try``
    blocks) -> ``flask_sqlalchemy.SQLAlchemy``, ``flask_cors.CORS``."""
    out: set[str] = set()
    for s in body:
        value = s.value if isinstance(s, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Call) and any(
            isinstance(a, ast.Name) for a in [*value.args, *(k.value for k in value.keywords)]
        ):
            chain = (
                _chain_through_calls(value.func)
                if isinstance(value.func, (ast.Name, ast.Attribute))
                else None
            )
            if chain and chain[0] in aliases:
                out.add(".".join([aliases[chain[0]], *chain[1:]]))
        elif isinstance(s, (ast.If, ast.Try)):
            blocks = [s.body, s.orelse, *(h.body for h in getattr(s, "handlers", ()))]
            for block in blocks:
                out |= _calls_with_names(block, aliases)
    return out


_FALLBACK_FROM = re.compile(r"(?m)^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+([^\n#(]+)")


def facts_codes(project_level: Iterable[type], raws: Iterable[bytes]) -> frozenset[str]:
    """The project-level codemods whose facts the project needs: those with no
    ``project_needles``, and those whose needle some file holds (a bytes search of the files'
    contents: no decoding, no parse)."""
    classes = list(project_level)
    codes = {cls.code for cls in classes if not cls.project_needles}  # type: ignore[attr-defined]
    waiting = [cls for cls in classes if cls.project_needles]  # type: ignore[attr-defined]
    for raw in raws if waiting else ():
        for cls in list(waiting):
            if any(n in raw for n in cls.project_needles):  # type: ignore[attr-defined]
                codes.add(cls.code)  # type: ignore[attr-defined]
                waiting.remove(cls)
        if not waiting:
            break
    return frozenset(codes)


def extract_facts(
    text: str, module: str | None, is_package: bool, codes: frozenset[str] | None = None
) -> FileFacts:
    """Facts of one file (the project-level facts of ``codes``, all when None). Never raises:
    a file ``ast`` can't parse (newer syntax than this interpreter, or an error) gets facts
    from a line-based scan of its imports."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return fallback_facts(text, module, is_package, f"{type(e).__name__}: {e}")
    c = _Collector(module, is_package)
    try:
        c.visit(tree)
        c.refs.extend(_import_time_uses(tree.body, c.aliases))
        extra = tuple(
            (cls.code, cls.facts(tree, module, is_package))  # type: ignore[attr-defined]
            for cls in REGISTRY
            if cls.project_level and (codes is None or cls.code in codes)
        )
    except RecursionError:
        return fallback_facts(text, module, is_package, "RecursionError")
    return FileFacts(
        star_imports=tuple(c.star),
        refs=tuple(c.refs),
        readers=tuple(sorted(c.readers)),
        defined=tuple(sorted(c.defined)),
        calls_with_names=tuple(sorted(_calls_with_names(tree.body, c.aliases))),
        extra=extra,
    )


def _facts_task(args: tuple[str, str | None, bool, frozenset[str]]) -> FileFacts:
    return extract_facts(*args)


class IndexUnreadable(ConfigError):
    """A project file whose facts could not be extracted, twice: without them no cross-file
    decision can be trusted (a use that blocks a rewrite would go unseen), so the run stops
    before anything is computed or written (exit code 2)."""

    def __init__(self, failed: Mapping[str, str]) -> None:
        files = "; ".join(f"{rel} ({why})" for rel, why in sorted(failed.items()))
        super().__init__(
            f"the project index could not read {files}. Without what it uses, a rewrite elsewhere "
            "could break it, so nothing was changed; run again, or exclude the file"
        )


def facts_of(
    todo: list[tuple[str, tuple[str, str | None, bool, frozenset[str]]]], jobs: int
) -> dict[str, FileFacts]:
    """The facts of each ``(rel, args)`` of ``todo``, in worker processes past 64 files. A task
    that raised, or killed its worker, is tried once more (a worker the system killed, memory
    that ran out); one that fails again raises :class:`IndexUnreadable`."""
    facts: dict[str, FileFacts] = {}
    failed: dict[str, str] = {}
    # Decided once: a file that killed its worker is tried again in a worker, never here.
    in_workers = len(todo) > 64 and jobs > 1
    for _ in range(2):
        for rel, value in _facts_tasks(todo, jobs if in_workers else 1):
            if isinstance(value, FileFacts):
                facts[rel] = value
                failed.pop(rel, None)
            else:
                failed[rel] = str(value)
        if not failed:
            return facts
        todo = [t for t in todo if t[0] in failed]
    raise IndexUnreadable(failed)


def _facts_tasks(
    todo: list[tuple[str, tuple[str, str | None, bool, frozenset[str]]]], jobs: int
) -> Iterator[tuple[str, FileFacts | BaseException]]:
    """Each file's facts or what stopped them: in ``jobs`` worker processes, or in this one."""
    if jobs > 1:
        from lazifier.pool import run_tasks

        for i, value in run_tasks(_facts_task, [t for _, t in todo], jobs):
            yield todo[i][0], value
    else:
        for rel, args in todo:
            yield rel, _in_process(args)


def _in_process(args: tuple[str, str | None, bool, frozenset[str]]) -> FileFacts | BaseException:
    try:
        return extract_facts(*args)
    except Exception as e:  # a defect of the index's own, reported as a worker's would be
        return RuntimeError(f"{type(e).__name__}: {e}")


def fallback_facts(text: str, module: str | None, is_package: bool, error: str) -> FileFacts:
    star: list[tuple[str, int]] = []
    refs: list[tuple[str, int, str]] = []
    for m in _FALLBACK_FROM.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        mod = resolve_relative(module, is_package, len(m.group(1)), m.group(2) or None)
        if mod is None:
            continue
        for name in m.group(3).split(","):
            name = name.strip().split(" as ")[0].strip()
            if name == "*":
                star.append((mod, line))
            elif name.isidentifier():
                refs.append((f"{mod}.{name}", line, "import"))
    return FileFacts(star_imports=tuple(star), refs=tuple(refs), error=error)


_HOW = {
    "import": "`{d}` is imported",
    "attribute": "`{d}` is used",
    "string": 'named in the string "{d}"',
}


class ProjectIndex:
    """All facts of the project, inverted for per-module questions."""

    def __init__(self, modules: Mapping[str, str], facts: Mapping[str, FileFacts]) -> None:
        #: module name -> file
        self.files = {mod: rel for rel, mod in modules.items()}
        self.module_of = dict(modules)
        self.first_party = frozenset(mod.split(".")[0] for mod in modules.values())
        self.star: dict[str, list[Location]] = defaultdict(list)
        self.refs: dict[str, dict[str, list[tuple[Location, str]]]] = defaultdict(lambda: defaultdict(list))
        self.at_import: dict[str, dict[str, list[Location]]] = defaultdict(lambda: defaultdict(list))
        self.readers: set[str] = set()
        self.defined: dict[str, set[str]] = {}
        self.calls_with_names = {rel: f.calls_with_names for rel, f in facts.items()}
        for rel, f in sorted(facts.items()):
            self.readers.update(f.readers)
            self.defined[rel] = set(f.defined)
            for target, line in f.star_imports:
                if target in self.files and self.files[target] != rel:
                    self.star[target].append(Location(rel, line))
            for dotted, line, how in f.refs:
                parts = dotted.split(".")
                for i in range(1, len(parts)):
                    prefix = ".".join(parts[:i])
                    owner = self.files.get(prefix)
                    if owner is None or owner == rel:
                        continue
                    if how == "at-import":
                        self.at_import[prefix][parts[i]].append(Location(rel, line))
                    else:
                        self.refs[prefix][parts[i]].append((Location(rel, line), _HOW[how].format(d=dotted)))

    def view(
        self,
        rel: str,
        plans: Mapping[str, object] | None = None,
        extensions: Mapping[str, object] | None = None,
    ) -> ProjectView:
        mod = self.module_of.get(rel)
        if mod is None:
            return ProjectView(module=None)
        refs = self.refs.get(mod, {})
        return ProjectView(
            module=mod,
            star_imported_by=tuple(sorted(self.star.get(mod, ()))),
            external_refs={k: tuple(sorted(set(v))) for k, v in sorted(refs.items())},
            configured_at_import={
                k: tuple(sorted(set(v))) for k, v in sorted(self.at_import.get(mod, {}).items())
            },
            annotation_readers=frozenset(self.readers & self.defined.get(rel, set())),
            plans=dict(plans or {}),
            extensions=dict(extensions or {}),  # type: ignore[arg-type]
            first_party=self.first_party,
        )


def view_hash(view: ProjectView) -> str:
    payload = repr(
        (
            view.module,
            view.star_imported_by,
            sorted((k, v) for k, v in view.external_refs.items()),
            sorted((k, v) for k, v in view.configured_at_import.items()),
            sorted(view.annotation_readers),
            sorted((k, repr(v)) for k, v in view.plans.items()),
            sorted((k, repr(v)) for k, v in view.extensions.items()),
            sorted(view.first_party),
        )
    )
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


def needles_regex(modules: Iterable[str]) -> re.Pattern[str]:
    """Text that any file referring to one of ``modules`` must contain (see :func:`needed`)."""
    words = sorted({m.split(".")[-1] for m in modules})
    alt = "|".join(re.escape(w) for w in words)
    extra = r"import[ \t]*\*|from[ \t]+\.|" + "|".join(READER_FUNCS)
    return re.compile(rf"\b(?:{alt})\b|{extra}" if alt else extra)
