"""lazify: make Python services cheap and safe to import (the engine around ``codemods``)."""

__version__ = "0.1.0"
