"""lazify doctor's inventory: which installed distribution provides each top-level module, and
how big each distribution is on disk.

Run by path with the project's interpreter (``python -I inventory.py``), never imported; standard
library only (Python 3.10+). Reads a JSON list of top-level module names on stdin, writes JSON on
stdout: ``{"modules": {top: [dist, ...]}, "distributions": {dist: {"version", "bytes", "files"}}}``.
The size is the sum of the files the distribution's RECORD lists (stat'ed where it gives none).
"""

import json
import sys
from importlib import metadata


def main():
    wanted = json.load(sys.stdin)
    mapping = metadata.packages_distributions()
    modules = {}
    dists = {}
    for top in wanted:
        names = sorted(set(mapping.get(top, ())))
        modules[top] = names
        for name in names:
            if name in dists:
                continue
            try:
                dist = metadata.distribution(name)
            except metadata.PackageNotFoundError:
                continue
            total = 0
            count = 0
            for f in dist.files or ():
                count += 1
                size = f.size
                if size is None:
                    try:
                        size = f.locate().stat().st_size
                    except OSError:
                        size = 0
                total += size
            dists[name] = {"version": dist.version, "bytes": total, "files": count}
    json.dump({"modules": modules, "distributions": dists}, sys.stdout)


main()
