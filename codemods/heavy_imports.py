"""LZY001 heavy-imports: module-level imports of heavy modules move into the functions that use them.

The codemod and its dispatch; the analysis and the rewrites live in :mod:`codemods._heavy_imports`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from codemods._api import Analysis, Codemod, FileContext, Settings
from codemods._heavy_imports import CODE

if TYPE_CHECKING:
    import libcst as cst

# The rooms need LibCST and are imported where they run, so a run whose results all come
# from the cache (and the prefilter, which runs on every file) never imports it.


@lru_cache(maxsize=32)
def _prefilter(heavy_modules: tuple[str, ...]) -> re.Pattern[str] | None:
    """The pattern of a line importing one of the heavy modules (by its top-level name)."""
    roots = sorted({m.split(".")[0] for m in heavy_modules})
    if not roots:
        return None
    alt = "|".join(re.escape(r) for r in roots)
    return re.compile(
        rf"^[ \t]*(?:lazy[ \t]+)?(?:import[ \t]+[^\n#]*?\b(?:{alt})\b|from[ \t]+(?:{alt})\b)",
        re.MULTILINE,
    )


#: What may stand before ``import``/``from`` on a line the prefilter's pattern matches.
_LINE_START = re.compile(r"[ \t]*(?:lazy[ \t]+)?")


def imports_one(text: str, pattern: re.Pattern[str]) -> bool:
    """``pattern.search(text) is not None``, for a pattern of :func:`_prefilter`, five times
    faster: the pattern is tried only at the starts of the lines where ``import`` or ``from``
    follows what may precede it, found with ``str.find`` (trying the pattern at every line of
    every file, or a substring search per heavy module, cost a run a sixth of a second on the
    standard library)."""
    for word in ("import", "from"):
        start = scanned = 0  # the start of the line holding ``i``, looked for back to ``scanned``
        i = text.find(word)
        while i != -1:
            # Only the text since the last occurrence is searched for a line break: a long
            # line of occurrences costs its length, not its length squared.
            newline = text.rfind("\n", scanned, i)
            if newline != -1:
                start = newline + 1
            scanned = i
            if _LINE_START.fullmatch(text, start, i) and pattern.match(text, start):
                return True
            i = text.find(word, i + len(word))
    return False


class HeavyImports(Codemod):
    """Move module-level imports of heavy modules into the functions that use them.

    ## What it does
    Finds module-level imports of heavy modules (torch, numpy, PIL, pandas, ... configurable with
    `heavy-modules` and `extend-heavy-modules`) whose names are only used inside functions, and
    moves each import to the top of every function that uses it. Names used only in annotations
    (or in the body of an `if TYPE_CHECKING:`, which never runs) are imported under
    `if TYPE_CHECKING:` instead, and annotations evaluated at definition time become strings. An optional-dependency block (`try: import torch ... X_AVAILABLE = True /
    except ImportError: X_AVAILABLE = False`) runs on the first read of its flag instead of at
    import. With `style = "lazy-keyword"` or `"lazy-modules"` the import stays where it is and is
    marked lazy with PEP 810 instead.

    ## Why is this bad?
    Importing a heavy module at module level makes every importer pay for it: `import torch`
    takes seconds and hundreds of megabytes before the first request is served, so serverless
    functions time out on cold start (`FUNCTION_INVOCATION_FAILED`), and tests and command-line
    tools are slow even when they never touch the model.

    ## Example
    ```python
    import numpy as np


    def average(values):
        return np.mean(values)
    ```

    Use instead:
    ```python
    def average(values):
        import numpy as np

        return np.mean(values)
    ```

    ## Fix safety
    Moving an import into the functions that use it is safe: the module is imported, and its
    side effects and errors surface, on the first call instead of at import. The rewrite is
    blocked when the name is used at module level (decorators, default values, class bodies and
    bases, module-level statements, annotations evaluated at import), rebound, re-exported
    (`__all__`, or a star-import elsewhere in the project), imported from this module elsewhere
    in the project, named in a dotted string such as `mock.patch("pkg.mod.np")`, or a singleton
    that a package's `__init__.py` passes on (lazy-singletons keeps it built at import for
    that, so the import that passes it on stays too). It is also
    blocked when an annotation it would quote may be read while the module is imported: by a
    decorator (FastAPI routes, dataclasses, attrs), a base class or metaclass (pydantic models,
    NamedTuple, TypedDict, SQLAlchemy mapped classes), or FastAPI's reading of a dependency's
    signature; a name that exists only for type checkers would make that import fail.

    These rewrites are unsafe:
    - `import x.y`: the submodule `x.y` is no longer loaded at import, and other modules that
      relied on it being loaded can break.
    - Quoting annotations (or moving a name under `if TYPE_CHECKING:`) that project code reads
      when it runs (`typing.get_type_hints` or `inspect.signature` on the function or class).
    - Removing an unused heavy import: the import never happens, not just later. It is never
      offered for an import kept on purpose: marked `# noqa`, in a package's `__init__.py`, or
      a dotted `import a.b` (which loads the submodule for whoever uses it).

    For an optional-dependency block, the block runs on the first read of its flag (in the
    module, through a cached call; from other modules, through a module `__getattr__`) and gives,
    or raises, what it would have given at import. A function that uses the block's imported
    names calls the probe first, so those names are bound exactly as before. Assigning the flag
    as a module attribute still wins. Reads of the flag at module level block the rewrite.
    PEP 810 styles never apply inside `try` blocks.
    """

    code = CODE
    name = "heavy-imports"
    summary = "Move module-level imports of heavy modules into the functions that use them"
    version = 1

    def prefilter(self, text: str, settings: Settings) -> bool:
        pattern = _prefilter(tuple(settings.heavy_modules))
        return pattern is not None and imports_one(text, pattern)

    def analyze(self, ctx: FileContext) -> Analysis:
        from codemods._heavy_imports.analysis import Analyzer

        return Analyzer(ctx).run()

    def apply(self, ctx: FileContext, analysis: Analysis, keys: frozenset[str]) -> cst.Module:
        from codemods._heavy_imports.local import LocalRewriter
        from codemods._heavy_imports.pep810 import apply_lazy_keyword, apply_lazy_modules
        from codemods._heavy_imports.plan import Plan

        plan = analysis.plan
        assert isinstance(plan, Plan)
        wanted = {m for k in keys for m in plan.groups.get(k, (k,))}
        chosen = [b for k, b in plan.bindings.items() if k in wanted]
        flags = [f for k, f in plan.flags.items() if k in keys]
        if not chosen and not flags:
            return ctx.module
        if ctx.settings.style == "lazy-keyword":
            return apply_lazy_keyword(ctx.module, chosen)
        if ctx.settings.style == "lazy-modules":
            return apply_lazy_modules(ctx.module, chosen)
        return LocalRewriter(
            ctx.module, plan, chosen, flags, lambda n: ctx.positions[n].start.column, ctx.project.first_party
        ).rewrite()
