"""``lazify doctor``: measure what importing a service costs and does, and what lazify fixes.

- ``probe.py``, ``inventory.py``: standalone scripts run by path with the project's interpreter
  (standard library only, nothing from lazify);
- ``runner``: the interpreter, the entries, fresh processes in fresh copies of the project;
- ``fixes``: lazify's own analysis as a dry run, matched to measured lines;
- ``analysis``: the runs turned into the report document (``schema.json`` describes it), with
  ``statements`` (the project's module-level statements, by line) and ``effects`` (side effects
  and the sandbox's verdict);
- ``core``: the whole run (with ``--preview``, ``--compare``) and the verdict; ``render``: text,
  github, sarif; ``html_page``: the page of ``--html`` (one self-contained file, charts drawn by its
  inline script);
- ``sandbox``: ``--sandbox serverless``'s platforms, env file and environment (the probe imposes
  the constraints); ``compare``: ``--compare REF``'s worktree, threshold and comparison;
- ``command``: the subcommand's arguments.
"""
