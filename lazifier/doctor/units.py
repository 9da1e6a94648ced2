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


def effects_by_file(e: dict) -> dict[str, list[dict]]:
    """The project's side effects, by the file of the statement that set them off."""
    out: dict[str, list[dict]] = {}
    for s in e["side_effects"]:
        if s["origin"] == "project" and s["statement"]:
            out.setdefault(s["statement"]["file"], []).append(s)
    return out


def package_effects(e: dict) -> str | None:
    """What packages did while they were imported, counted, on one line (None: nothing)."""
    counts: dict[str, int] = {}
    for s in e["side_effects"]:
        if s["origin"] == "package":
            key = f"{s['package']} ({s['kind']}, imported at {where(s['line'])})"
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return None
    return "by packages while they are imported: " + "; ".join(
        f"{k} x{n}" if n > 1 else k for k, n in counts.items()
    )
