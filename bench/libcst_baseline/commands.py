"""The two baselines of ``bench/bench_stdlib.py``.

``DoNothingCommand``
    The cheapest codemod LibCST's CLI can run: a ``VisitorBasedCodemodCommand`` with no visit
    methods. The CLI still reads, parses, wraps (copies) and walks every file, and prints its
    code back to compare it with the original. This is the floor of any LibCST codemod run.

``HeavyImportsCommand``
    The work lazify does on a file its prefilter matches, done the way a LibCST codemod does it:
    lazify's own heavy-imports analysis (``codemods.heavy_imports.HeavyImports.analyze``) on
    the metadata LibCST's codemod framework resolves for the command, then ``apply`` with every
    safe fix key, returning the rewritten module. LibCST's CLI prints the diff (``-u``) or
    writes the file. Same heavy modules, same target version, same suppressions as lazify.

    What it does *not* do that lazify does: the project index (cross-file facts, an ``ast``
    pass), the byte-for-byte round-trip check, and (unless ``--verify``) the re-parse and
    ``compile`` of each rewritten file. It gets an empty ``ProjectView``, so it may rewrite a
    few bindings lazify blocks because another file refers to them. It runs heavy-imports only:
    the benchmark's case B selects just that codemod in lazify too (``select``), since
    project-level codemods have no per-file LibCST equivalent.
"""

from __future__ import annotations

import argparse

import libcst as cst
from libcst.codemod import CodemodCommand, CodemodContext, SkipFile, VisitorBasedCodemodCommand
from libcst.metadata import ParentNodeProvider, PositionProvider, ScopeProvider


class DoNothingCommand(VisitorBasedCodemodCommand):
    DESCRIPTION = "Visit every node and change nothing (benchmark baseline)."


class HeavyImportsCommand(CodemodCommand):
    DESCRIPTION = "lazify's heavy-imports analysis and rewrite, run as a LibCST codemod (benchmark baseline)."

    # Resolved by LibCST's codemod framework before transform_module_impl, on its own wrapper.
    METADATA_DEPENDENCIES = (ScopeProvider, ParentNodeProvider, PositionProvider)

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--heavy-modules", dest="heavy_modules", required=True,
            help="comma-separated heavy modules (as lazify's `heavy-modules`)",
        )
        arg_parser.add_argument(
            "--target", dest="target", default="3.10",
            help="target Python version, as lazify's `target-version` (e.g. 3.11)",
        )
        arg_parser.add_argument(
            "--style", dest="style", default="local", help="as lazify's `style`",
        )
        arg_parser.add_argument(
            "--verify", dest="verify", action="store_true",
            help="also re-parse and compile each rewritten file, as lazify does",
        )

    def __init__(
        self,
        context: CodemodContext,
        heavy_modules: str,
        target: str = "3.10",
        style: str = "local",
        verify: bool = False,
    ) -> None:
        super().__init__(context)
        from codemods._api import Settings

        major, minor = (int(p) for p in target.split(".")[:2])
        self.settings = Settings(
            heavy_modules=frozenset(m.strip() for m in heavy_modules.split(",") if m.strip()),
            target_version=(major, minor),
            style=style,
        )
        self.verify = verify

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        from codemods._api import FileContext, ProjectView, Safety
        from codemods.heavy_imports import HeavyImports
        from lazifier.transform import _suppressed, suppressions

        cm = HeavyImports()
        wrapper = self.context.wrapper
        assert wrapper is not None
        path = self.context.filename or "<unknown>"
        # lazify has the file's text at hand (suppressions, verification); the CLI only hands
        # us the tree, so read the file again (cheap) rather than regenerate the code.
        with open(path, encoding=tree.encoding, newline="") as fh:
            text = fh.read()
        module_name = self.context.full_module_name
        ctx = FileContext(tree, wrapper, path, module_name, self.settings, ProjectView(module=module_name))
        analysis = cm.analyze(ctx)
        sup = suppressions(text)
        findings = [f for f in analysis.findings if not _suppressed(f, HeavyImports, sup)]
        keys = frozenset(f.fix_key for f in findings if f.fix_key is not None and f.safety is Safety.SAFE)
        if not keys:
            raise SkipFile("nothing to rewrite")
        new = cm.apply(ctx, analysis, keys)
        if self.verify:
            problem = self._verify(new.code, path)
            if problem:
                raise SkipFile(problem)
        return new

    def _verify(self, new: str, path: str) -> str | None:
        """lazify's check of its output: it parses (LibCST, target version) and compiles."""
        import warnings

        major, minor = self.settings.target_version
        try:
            cst.parse_module(new, config=cst.PartialParserConfig(python_version=f"{major}.{minor}"))
        except cst.ParserSyntaxError as e:
            return f"the output does not parse: {e}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                compile(new, path, "exec", dont_inherit=True)
            except SyntaxError as e:
                return f"the output does not compile: {e.msg}"
            except (ValueError, RecursionError, MemoryError):
                pass
        return None
