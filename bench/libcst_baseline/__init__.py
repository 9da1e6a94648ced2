"""LibCST codemods the benchmark runs through LibCST's own CLI (``python -m libcst.tool codemod``).

Found through ``.libcst.codemod.yaml`` (``modules: [libcst_baseline]``) with ``bench/`` on
``PYTHONPATH``; see ``bench/bench_stdlib.py``.
"""
