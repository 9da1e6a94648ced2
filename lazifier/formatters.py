"""``--format black|ruff``: run the project's formatter over the files lazify changed.

The formatter runs as a subprocess on the new text, through its standard input with
``--stdin-filename`` set to the file's real path, so it finds and applies the project's own
configuration (line length, quote style, target versions, ...). It runs before anything is
written or any patch is printed, so the patch shows the formatted result. Files lazify does not
change are never formatted.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from lazifier.settings import ConfigError

if TYPE_CHECKING:
    from lazifier.transform import FileResult

FORMATTERS = ("black", "ruff")
TIMEOUT = 120


def formatter_command(name: str) -> list[str]:
    """The command that formats standard input (the file name is appended), or a
    :class:`ConfigError` naming what to install."""
    if name not in FORMATTERS:
        raise ConfigError(f"--format: unknown formatter {name!r} (choose from {', '.join(FORMATTERS)})")
    # The formatter installed beside this Python (a virtualenv that isn't activated), else PATH.
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    exe = shutil.which(name, path=search)
    if exe is None:
        raise ConfigError(
            f"--format {name}: `{name}` is not installed (not beside {sys.executable}, not on PATH); "
            f"install it (`pip install {name}`) or leave out --format to keep the files' formatting"
        )
    if name == "black":
        return [exe, "--quiet", "--stdin-filename"]
    return [exe, "format", "--quiet", "--stdin-filename"]


class FormatError(Exception):
    pass


def format_text(command: list[str], text: str, encoding: str, path: Path, cwd: Path) -> str:
    """``text`` (the file's content, without a BOM) as the formatter formats it at ``path``."""
    import subprocess  # only a run that formats pays for it

    try:
        proc = subprocess.run(
            [*command, str(path), "-"],
            input=text.encode(encoding),
            capture_output=True,
            cwd=cwd,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise FormatError(f"{Path(command[0]).name} took more than {TIMEOUT} s") from None
    except OSError as e:
        raise FormatError(f"can't run {command[0]}: {e.strerror or e}") from None
    name = Path(command[0]).name
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        why = detail[-1] if detail else f"exit code {proc.returncode}"
        raise FormatError(f"{name} could not format lazify's output: {why}")
    try:
        return proc.stdout.decode(encoding)
    except UnicodeDecodeError:
        raise FormatError(f"{name}'s output is not {encoding}") from None


def format_results(
    name: str,
    results: Iterable[FileResult],
    encodings: dict[str, str],
    root: Path,
    *,
    paths: dict[str, Path] | None = None,
    jobs: int = 1,
) -> dict[str, str]:
    """Replace each result's ``new_text`` with the formatted text, in place. Returns the files
    that could not be formatted (path -> reason); those are not written."""
    command = formatter_command(name)
    todo = [r for r in results if r.new_text is not None]
    paths = paths or {}

    def one(r: FileResult) -> tuple[FileResult, str | None, str | None]:
        where = paths.get(r.path, root / r.path)
        try:
            return r, format_text(command, r.new_text or "", encodings[r.path], where, root), None
        except FormatError as e:
            return r, None, str(e)

    from concurrent.futures import ThreadPoolExecutor

    errors: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo) or 1))) as ex:
        for r, text, error in ex.map(one, todo):
            if error is not None:
                errors[r.path] = error
            else:
                r.new_text = text
    return errors


__all__ = ["FORMATTERS", "FormatError", "format_results", "format_text", "formatter_command"]
