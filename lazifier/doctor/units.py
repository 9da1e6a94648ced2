"""The figures of the doctor's reports, as text: durations, sizes, places."""

from __future__ import annotations


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.0f} ms"


def mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1024 / 1024:.1f} MB"


def where(w: dict | None) -> str:
    return f"{w['file']}:{w['line']}" if w else "?"


def over_limits(e: dict, doc: dict) -> list[str]:
    """The platforms whose bundle limit the entry's installed distributions exceed."""
    return [lim["platform"] for lim in doc["size_limits"] if e["size"]["bytes"] > lim["limit_bytes"]]


def signed(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return ("+" if seconds >= 0 else "-") + ms(abs(seconds))
