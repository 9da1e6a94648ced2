"""Reading and writing source files without losing a byte.

Encoding (PEP 263 cookie), BOM, line endings and file mode survive a rewrite. LibCST sees text
without the BOM; we put it back when encoding.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import tokenize
from dataclasses import dataclass

BOM = codecs.BOM_UTF8


class SourceError(Exception):
    """A file we cannot work on; ``line`` is 1-based when known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    bom: bool

    def encode(self, text: str) -> bytes:
        data = text.encode(self.encoding)
        return BOM + data if self.bom else data


def content_hash(raw: bytes) -> str:
    """The hash a write checks a file against, and its journal records (the journal of an
    interrupted run is read by the next run, maybe a newer lazify: this one never changes)."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def cache_hash(raw: bytes) -> str:
    """The hash of a file's content in cache keys: SHA-256, which CPUs with SHA extensions
    (most x86 since 2017-2019, ARMv8) compute in hardware. A warm run hashes every file of the
    project; on this project's machine BLAKE2 took two to three times as long."""
    return hashlib.sha256(raw).hexdigest()[:32]


def decode(raw: bytes) -> Decoded:
    """Decode Python source the way the interpreter does; raise :class:`SourceError`."""
    bom = raw.startswith(BOM)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as e:
        raise SourceError(f"bad encoding declaration: {e.msg}", getattr(e, "lineno", None) or 1) from None
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    body = raw[len(BOM) :] if bom else raw
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}", 1) from None
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as e:
        line = body[: e.start].count(b"\n") + 1
        raise SourceError(f"can't decode byte {body[e.start]:#04x} as {encoding}", line) from None
    return Decoded(text=text, encoding=encoding, bom=bom)


def split_lines(text: str) -> list[str]:
    """Split on ``\\n`` only, keeping line ends (``str.splitlines`` also splits on form feeds
    and other characters that are not line breaks in Python source)."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines
