"""The doctor's default text report: one screen per entry.

The import tree carries every side effect, each marked under the module whose statement set it
off, with the innermost project line that did it and a ``[n]`` pointing at its fix. Each fix is
written out once, in a numbered list after the tree, with what was measured that it removes:
the effects, slow statements and packages one rewrite removes all point at the same number.
``-v`` gives the long form (:func:`lazifier.doctor.render.render_text` with ``verbose``): the
whole tree, every distribution and every figure.
"""

from __future__ import annotations

from lazifier.console import Colors
from lazifier.doctor.units import effects_by_file, mb, ms, over_limits, package_effects, where

#: A tree node is shown when it carries a side effect, or takes at least this share of the import.
SHARE = 0.05
#: Unmarked tree lines shown before the rest are summed into "+ N more".
UNMARKED_LINES = 24
#: Distributions named on the lines of their times.
DISTRIBUTIONS = 6
#: The columns a line of the report is fitted to, where it can be.
WIDTH = 110


def _key(fix: dict) -> tuple:
    return (fix["codemod"], fix["file"], fix["line"]) if fix.get("codemod") else (None, fix.get("note"))


class FixNumbers:
    """The fixes of one entry, numbered in the order the report first points at them, with what
    was measured that each removes (a package's own time, the time of its statements)."""

    def __init__(self) -> None:
        self.fixes: list[dict] = []
        self.packages: list[list[str]] = []
        self.seconds: list[float] = []
        self._index: dict[tuple, int] = {}

    def ref(self, fix: dict | None, package: str | None = None, seconds: float = 0.0) -> str:
        if not fix:
            return ""
        key = _key(fix)
        if key not in self._index:
            self.fixes.append(fix)
            self.packages.append([])
            self.seconds.append(0.0)
            self._index[key] = len(self.fixes)
        n = self._index[key]
        if package and package not in self.packages[n - 1]:
            self.packages[n - 1].append(package)
        self.seconds[n - 1] += seconds
        return f"[{n}]"

    def known(self, fix: dict) -> bool:
        return _key(fix) in self._index

    def lines(self) -> list[str]:
        out = []
        for i, fix in enumerate(self.fixes, 1):
            costs = list(self.packages[i - 1])
            if self.seconds[i - 1] >= 0.001:
                costs.append(f"{ms(self.seconds[i - 1])} at import")
            cost = f", {', '.join(costs)}" if costs else ""
            if not fix.get("codemod"):
                text = fix.get("reason") or fix.get("note") or "no codemod"
                out += _fold(f"[{i}] by hand{cost}: {text}", "      ")
                continue
            note = f" [{fix['note']}]" if fix.get("note") else ""
            head = f"  [{i}] {where(fix)}  {fix['codemod']} {fix.get('name') or ''}, {fix.get('safety') or '?'}{cost}: "
            out.append(head + _cut(fix["message"], WIDTH - len(head) - len(note), 50) + note)
        return out


def _cut(text: str, width: int, least: int = 20) -> str:
    width = max(width, least)
    return text if len(text) <= width else text[: width - 3] + "..."


def _fold(text: str, indent: str, first: str = "  ") -> list[str]:
    """``text`` broken at spaces to :data:`WIDTH` columns: the first line starts with ``first``,
    the others with ``indent``."""
    lines, line = [], first
    for word in text.split():
        if line.strip() and len(line) + 1 + len(word) > WIDTH:
            lines.append(line)
            line = indent
        line += word if not line.strip() else " " + word
    return [*lines, line]


def _wrap(parts: list[str], indent: str) -> list[str]:
    """``parts`` joined with commas, as many to a line as fit in :data:`WIDTH` columns."""
    lines, line = [], ""
    for p in parts:
        if line and len(line) + len(p) + 2 > WIDTH:
            lines.append(line + ",")
            line = ""
        line = f"{line}, {p}" if line else indent + p
    return [*lines, line] if line else lines


def entry_lines(e: dict, doc: dict, colors: Colors) -> list[str]:
    """The body of one entry's report, after its heading and timing."""
    numbers = FixNumbers()
    out = _tree(e, colors, numbers)
    out += _distributions(e, doc, numbers, colors)
    by_hand: list[list[str]] = []
    also: dict[tuple, dict] = {}
    for s in e["statements"]:
        fix = s["fix"]
        if not fix.get("codemod"):
            head = f"  {s['file']}:{s['line']}  {ms(s['seconds'])}  "
            why = fix.get("reason") or fix.get("note") or "no codemod"
            by_hand.append(
                [head + _cut(" ".join(s["text"].split()), WIDTH - len(head)), *_fold(why, "      ", "      ")]
            )
        elif s["seconds"] < 0.001 and not numbers.known(fix):
            also[_key(fix)] = fix
        else:
            numbers.ref(fix, seconds=s["seconds"])
    if by_hand:
        out += [
            "",
            colors.bold("Slow module-level statements")
            + f" with no codemod (traced run; over {ms(doc['threshold_seconds'])}):",
            *[line for lines in by_hand[:3] for line in lines],
        ]
        if len(by_hand) > 3:
            out.append(colors.dim(f"  + {len(by_hand) - 3} more (-v)"))
    rest = [f"{f['codemod']} {f['file']}:{f['line']}" for f in also.values() if not numbers.known(f)]
    if numbers.fixes or rest:
        out += [
            "",
            colors.bold("Fixes")
            + " ([n] above; what was measured that each removes; `lazify apply --dry-run` shows the diffs):",
        ]
        out += numbers.lines()
        if rest:
            out += _fold("also, under 1 ms at import each: " + ", ".join(rest), "    ")
    return out + _leftovers(e, colors)


def _inner(s: dict) -> str:
    """The innermost project line of an effect, without the directory it shares with its statement."""
    line, statement = s["line"], s["statement"]
    here = statement["file"].rpartition("/")[0]
    there, _, name = line["file"].rpartition("/")
    return f"{name}:{line['line']}" if here == there else where(line)


def _marks(effects: list[dict], numbers: FixNumbers, colors: Colors) -> list[str]:
    """A line per effect, except that the effects of one fix that happen in their statement's
    own line (an environment read, a connect in the assignment) share a line."""
    groups: dict[str, list[dict]] = {}
    order: list[list[dict]] = []
    for s in effects:
        if s["line"] and s["line"] != s["statement"]:
            order.append([s])
            continue
        ref = numbers.ref(s["fix"])
        if ref not in groups:
            groups[ref] = []
            order.append(groups[ref])
        groups[ref].append(s)
    lines = []
    for group in order:
        group.sort(key=lambda s: s["statement"]["line"])
        first = group[0]
        inner = f" -> {_inner(first)}" if first["line"] and first["line"] != first["statement"] else ""
        lines_of = sorted({s["statement"]["line"] for s in group})
        at = f"{first['statement']['file']}:{', '.join(map(str, lines_of))}"
        what = ", ".join(s["summary"] for s in group)
        lines.append(f"{colors.red('⚠')} {what}  at {at}{inner}  {numbers.ref(first['fix'])}".rstrip())
    return lines


def _tree(e: dict, colors: Colors, numbers: FixNumbers) -> list[str]:
    tree = e.get("tree")
    marks = effects_by_file(e)
    lines: list[str] = []
    placed: set[str | None] = set()
    top = tree
    if tree:
        if len(tree["children"]) == 1 and tree["children"][0]["module"] == e["module"]:
            top = tree["children"][0]  # the file and the module it is imported as: one line
        if top["file"] in marks:
            lines += ["   " + m for m in _marks(marks[top["file"]], numbers, colors)]
            placed.add(top["file"])
        lines += _walk(top, marks, placed, tree["cumulative_seconds"] or 1e-9, colors, numbers)
    # A module whose import failed, or one loaded outside -X importtime's view, has no node.
    for file in [f for f in marks if f not in placed]:
        lines.append(colors.dim(f"{file}  (not in the tree: its import did not finish)"))
        lines += ["   " + m for m in _marks(marks[file], numbers, colors)]
    if not lines and not tree:
        return []
    head = [""]
    if tree and top:
        head += [
            colors.bold("Import tree")
            + f" (-X importtime; [distribution]; the importing line; {colors.red('⚠')} a side effect; [n] its fix):",
            f"{e['file'] or e['module']}"
            + (f" ({e['module']})" if top is not tree else "")
            + f"  {colors.bold(ms(top['cumulative_seconds']))}",
        ]
    else:
        head.append(colors.bold("Side effects at import") + " (no import tree was recorded; [n] its fix):")
    return [*head, *lines]


def _walk(
    top: dict,
    marks: dict[str, list[dict]],
    placed: set[str | None],
    total: float,
    colors: Colors,
    numbers: FixNumbers,
) -> list[str]:
    """The tree below ``top``: the modules that take :data:`SHARE` of the import, and every
    module on the way to a project module with a side effect, which is marked there."""
    lines: list[str] = []
    budget = [UNMARKED_LINES]

    def has_mark(node: dict) -> bool:
        return node["file"] in marks or any(has_mark(c) for c in node["children"])

    def shown(node: dict, only_marked: bool) -> bool:
        if has_mark(node):
            return True
        if only_marked or node["cumulative_seconds"] < SHARE * total or budget[0] <= 0:
            return False
        budget[0] -= 1
        return True

    def walk(node: dict, prefix: str, only_marked: bool) -> None:
        kids, hidden = [], []
        for c in node["children"]:
            (kids if shown(c, only_marked) else hidden).append(c)
        rest = sum(c["cumulative_seconds"] for c in hidden)
        summed = bool(hidden) and rest >= SHARE * total and not only_marked
        for i, child in enumerate(kids):
            last = i == len(kids) - 1 and not summed
            label = child["module"]
            if child["group"] not in ("(project)", "(standard library)"):
                label += f"  [{child['group']}]"
            via = f"  {colors.dim(where(child['via']))}" if child["via"] else ""
            branch = "└─ " if last else "├─ "
            lines.append(f"{prefix}{branch}{label}{via}  {colors.bold(ms(child['cumulative_seconds']))}")
            inner = prefix + ("   " if last else "│  ")
            if child["group"] == "(project)":
                placed.add(child["file"])
                lines.extend(inner + m for m in _marks(marks.get(child["file"] or "", []), numbers, colors))
                walk(child, inner, only_marked=False)
            elif has_mark(child):
                # A project module a package imports while it loads (an app registry's models):
                # only the way down to it.
                walk(child, inner, only_marked=True)
        if summed:
            lines.append(f"{prefix}└─ " + colors.dim(f"+ {len(hidden)} more, {ms(rest)}"))

    walk(top, "", only_marked=False)
    return lines


def _distributions(e: dict, doc: dict, numbers: FixNumbers, colors: Colors) -> list[str]:
    dists = [d for d in e["distributions"] if d["kind"] == "distribution"]
    if not dists and not e.get("missing_imports"):
        return []
    parts = []
    rest = []
    for i, d in enumerate(dists):
        pkg = d["packages"][0] if d["packages"] else None
        fixed = bool(pkg and pkg["fix"].get("codemod"))
        if i >= DISTRIBUTIONS and not fixed:  # past the top ones, only those a codemod defers
            rest.append(d)
            continue
        cost = f"{d['name']} {ms(d['self_seconds'])}"
        parts.append(f"{cost} {numbers.ref(pkg['fix'], package=cost)}" if fixed else cost)
    if rest:
        parts.append(f"+ {len(rest)} more {ms(sum(d['self_seconds'] for d in rest))}")
    parts += [
        f"{d['name']} {ms(d['self_seconds'])}" for d in e["distributions"] if d["kind"] != "distribution"
    ]
    for m in e.get("missing_imports", []):
        ref = numbers.ref(m["fix"])
        parts.append(f"{m['module']}: not installed, tried at {where(m['statement'])} {ref}".rstrip())
    size = e["size"]
    within = ""
    if size["distributions"] and not over_limits(e, doc):
        within = (
            f"; {size['distributions']} distributions, {mb(size['bytes'])} installed,"
            " within every serverless bundle limit"
        )
    return ["", colors.bold("Time by distribution") + f" (its own modules{within}):", *_wrap(parts, "  ")]


def _leftovers(e: dict, colors: Colors) -> list[str]:
    out = []
    if e["files_left"]:
        names = ", ".join(f"{f['path']} ({f['change']})" for f in e["files_left"])
        out.append(f"{colors.red('⚠')} left in the project directory: {names}")
    by_packages = package_effects(e)
    if by_packages:
        out.append(colors.dim(by_packages))
    own = [s for s in e["side_effects"] if s["origin"] == "project"]
    if not own and not e["files_left"] and not e.get("error"):
        out.append(colors.green("No side effects at import."))
    return ["", *out] if out else []
