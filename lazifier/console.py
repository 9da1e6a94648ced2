"""Where lazify's output goes and how it looks: the exit codes, ANSI colours (only on a
terminal, never with ``NO_COLOR``), and stderr. Imports nothing heavy: every command uses it."""

from __future__ import annotations

import os
import sys

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2


class Colors:
    """ANSI colours, or nothing (not a terminal, NO_COLOR set, or --color never)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: object, mode: str = "auto") -> Colors:
        if mode == "always":
            return cls(True)
        if mode == "never" or os.environ.get("NO_COLOR"):
            return cls(False)
        if os.environ.get("FORCE_COLOR"):
            return cls(True)
        isatty = getattr(stream, "isatty", None)
        return cls(bool(isatty and isatty()) and os.environ.get("TERM") != "dumb")

    def _c(self, code: str, s: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if self.enabled and s else s

    def bold(self, s: str) -> str:
        return self._c("1", s)

    def red(self, s: str) -> str:
        return self._c("31", s)

    def green(self, s: str) -> str:
        return self._c("32", s)

    def yellow(self, s: str) -> str:
        return self._c("33", s)

    def cyan(self, s: str) -> str:
        return self._c("36", s)

    def dim(self, s: str) -> str:
        return self._c("2", s)


PLAIN = Colors(False)


def write_stderr(text: str) -> None:
    if text:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()
