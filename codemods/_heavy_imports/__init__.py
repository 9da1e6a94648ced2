"""The rooms of LZY001 heavy-imports (the codemod itself is :mod:`codemods.heavy_imports`).

* :mod:`.plan`: what the analysis decided (bindings, optional-dependency blocks).
* :mod:`.analysis`: the analyzer; :mod:`.context` (where code at a node runs) and
  :mod:`.annotations` (who may read annotations) are its parts.
* :mod:`.flags`: optional-dependency ``try`` blocks, their analysis and their rewrite.
* :mod:`.local`: the default rewrite, imports moved into the functions that use them.
* :mod:`.pep810`: the PEP 810 styles (``lazy import``, ``__lazy_modules__``).
"""

CODE = "LZY001"
