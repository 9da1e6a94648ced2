"""``lazify doctor``: measure what importing a service costs and does, and what lazify fixes.

- ``probe.py``, ``inventory.py``: standalone scripts run by path with the project's interpreter
  (standard library only, nothing from lazify);
- ``runner``: the interpreter, the entries, fresh processes in fresh copies of the project;
- ``fixes``: lazify's own analysis as a dry run, matched to measured lines;
- ``analysis``: the runs turned into the report document (``schema.json`` describes it);
- ``core``: the whole run (with ``--preview``) and the verdict; ``render``: text, github, sarif;
  ``html``: the page of ``--html`` (one self-contained file, charts drawn by its inline script);
- ``command``: the subcommand's arguments.
"""
