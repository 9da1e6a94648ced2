"""``lazify doctor --html``: the page, in a real headless Chromium, on the example app before
(with ``--preview``) and after ``lazify apply --yes``, and one page of both documents; and the
flag's errors and atomic write."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from browser import browser_context, find_chromium

from lazifier.cli import main
from lazifier.doctor import html_page as doctor_html

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "app"


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(
        src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.db", ".lazify_cache", ".pytest_cache")
    )
    return dest


def _doctor_html(app: Path, page: Path, capsys, *extra: str) -> dict:
    code = main(["doctor", "--python", sys.executable, "--timeout", "300", "--runs", "1",
                 "--project", str(app), "--output-format", "json", "--html", str(page), *extra])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"wrote {page}" in captured.err
    return json.loads(captured.out)


def _look(ctx, page_path: Path) -> dict:
    """Open the page; what drew, what it asked the network for, what went wrong in its script."""
    page = ctx.new_page()
    page.set_default_timeout(120_000)  # a loaded CI machine; the page itself is local
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    # The script is inline and runs before the load event, which goto waits for.
    page.goto(page_path.as_uri(), wait_until="load")
    if errors:
        return {"errors": errors}
    seen = page.evaluate("""() => ({
        charts: Number(document.body.dataset.charts),
        svgs: [...document.querySelectorAll('svg.icicle')].map(s => {
            const r = s.getBoundingClientRect();
            const boxes = [...s.querySelectorAll('g.node rect')].map(b => b.getBoundingClientRect());
            return {width: r.width, height: r.height, drawn: Number(s.dataset.drawn), boxes: boxes.length,
                    sized: boxes.filter(b => b.width > 0 && b.height > 0).length,
                    widest: Math.max(0, ...boxes.map(b => b.width)),
                    labels: s.querySelectorAll('g.node text').length,
                    effects: s.querySelectorAll('g.node.has-effect').length,
                    markers: [...s.querySelectorAll('g.marker')].map(m => m.getAttribute('class'))};
        }),
        links: [...document.querySelectorAll('a.loc')].map(a => [a.textContent, a.href]),
        legend: document.querySelectorAll('.legend .li').length,
        cards: [...document.querySelectorAll('.card .label')].map(c => c.textContent),
        chips: [...document.querySelectorAll('.chips .code')].map(c => c.textContent),
    })""")
    # A tooltip with the numbers on hover; a click zooms in and shows the details, with links.
    box = page.locator("#chart-0 g.node").nth(3)
    box.hover()
    seen["tip"] = page.locator("#tip").inner_text() if page.locator("#tip").is_visible() else ""
    box.click()
    seen["zoomed"] = page.locator('button.reset[data-chart="chart-0"]').is_enabled()
    seen["details"] = page.locator("#chart-0-details").inner_text()
    page.locator('button.reset[data-chart="chart-0"]').click()
    seen["errors"], seen["requests"] = errors, requests
    page.close()
    return seen


def _check_drawn(seen: dict, page: Path, charts: int) -> None:
    assert seen["errors"] == [], seen["errors"]
    # self-contained: the page itself is the only thing it loads
    assert seen["requests"] == [page.as_uri()], seen["requests"]
    assert seen["charts"] == charts and len(seen["svgs"]) == charts
    for svg in seen["svgs"]:
        assert svg["width"] > 600 and svg["height"] > 100, svg
        assert svg["drawn"] > 20 and svg["boxes"] == svg["drawn"] and svg["sized"] == svg["boxes"], svg
        # The charts share one time scale: a faster revision's root box is narrower, not absent.
        assert svg["widest"] > 0.2 * svg["width"] and svg["labels"] > 10, svg
    # The slowest revision's import spans (nearly) the whole width.
    assert max(svg["widest"] / svg["width"] for svg in seen["svgs"]) > 0.8, seen["svgs"]
    assert seen["legend"] >= 5
    assert {"import time (median)", "side effects", "modules loaded"} <= set(seen["cards"])
    assert " ms" in seen["tip"] or " s " in seen["tip"], seen["tip"]
    assert "cumulative" in seen["tip"] and seen["zoomed"] and "cumulative" in seen["details"]


def _check_links(seen: dict, root: Path) -> None:
    """Every project line is ``file:line``, linked to that line of the file as it is on disk."""
    assert seen["links"]
    for text, href in seen["links"]:
        url = urlsplit(href)
        assert url.scheme == "file" and url.fragment.startswith("L"), href
        path, line = Path(unquote(url.path)), int(url.fragment[1:])
        assert path.is_relative_to(root.resolve()), href
        assert text == f"{path.relative_to(root.resolve()).as_posix()}:{line}"
        assert 1 <= line <= len(path.read_text().splitlines()), href


@pytest.mark.slow
def test_html_page_in_headless_chromium_before_and_after_apply(tmp_path, capsys):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(
            "no Chromium: install Debian's chromium package (make test does, as root), or set $LAZIFY_CHROMIUM"
        )
    app = _copy(APP, tmp_path / "app")
    before_page = tmp_path / "before.html"
    # With --preview: the page shows the project and its copy after `lazify apply`.
    before = _doctor_html(app, before_page, capsys, "--preview")
    applied = subprocess.run([sys.executable, "-m", "lazifier", "apply", "--yes", "--no-cache", "-q", str(app)],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)  # fmt: skip
    assert applied.returncode in (0, 1), applied.stderr
    after_page = tmp_path / "after.html"
    after = _doctor_html(app, after_page, capsys)
    # One page with both documents: what --compare passes (the base revision, then the tree).
    both_page = tmp_path / "both.html"
    doctor_html.write_atomic(both_page, doctor_html.render_html(before, after, ("before", "after apply")))

    with browser_context(chromium) as ctx:
        seen_before = _look(ctx, before_page)
        seen_after = _look(ctx, after_page)
        seen_both = _look(ctx, both_page)

    _check_drawn(seen_before, before_page, 2)
    _check_links(seen_before, app)
    # Before: the SQLite files and the secrets are marked on the modules whose statements cause
    # them, and the fixes are named by codemod; the preview's copy has none of them.
    svg, preview = seen_before["svgs"]
    assert svg["effects"] >= 3 and "marker effect" in svg["markers"], svg
    assert preview["effects"] == 0 and "marker effect" not in preview["markers"], preview
    assert {"LZY001", "LZY002"} <= set(seen_before["chips"])
    assert any(text == "src/services/cache_service.py:23" for text, _ in seen_before["links"])

    # After: no side effect is left to mark (the environment reads stay, marked as such).
    _check_drawn(seen_after, after_page, 1)
    _check_links(seen_after, app)
    (svg,) = seen_after["svgs"]
    assert svg["effects"] == 0 and "marker effect" not in svg["markers"] and "marker env" in svg["markers"]

    _check_drawn(seen_both, both_page, 2)
    text = both_page.read_text()
    assert "Import tree: before" in text and "Import tree: after apply" in text
    assert "not imported" in text  # numpy, in the after column of the top packages


def test_html_unwritable_path_is_a_clear_error(tmp_path, capsys):
    """Said before anything is measured, exit 2, no traceback."""
    app = _copy(APP, tmp_path / "app")
    for target, why in (
        (tmp_path / "missing" / "report.html", f"the directory {tmp_path / 'missing'} does not exist"),
        (tmp_path, "is a directory"),
        (app / "vercel.json" / "report.html", "is not a directory"),
    ):
        code = main(["doctor", "--python", sys.executable, "--project", str(app), "--html", str(target)])
        err = capsys.readouterr().err
        assert code == 2
        assert err.startswith(f"lazify doctor: error: --html {target}: ") and why in err, err
        assert "Traceback" not in err
    assert not (app / "audit.db").exists()


def test_html_write_is_atomic(tmp_path, monkeypatch):
    page = tmp_path / "report.html"
    page.write_text("old")
    page.chmod(0o640)
    doctor_html.write_atomic(page, "<!DOCTYPE html>new")
    assert page.read_text() == "<!DOCTYPE html>new" and page.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]

    def fail(*_a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        doctor_html.write_atomic(page, "half")
    assert page.read_text() == "<!DOCTYPE html>new"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_compare_document_is_drawn_as_its_revision_then_the_working_tree() -> None:
    """``--compare REF --html``: the page shows REF's measurement, then the working tree's (the
    report document carries both; ``schema.json``'s ``compare.entries`` are REF's)."""
    entry = {"entry": "app.py", "tree": {"name": "app", "children": []}}
    doc = {
        "project_root": "/p",
        "entries": [entry],
        "preview": None,
        "compare": {"ref": "origin/main", "commit": "0123456789abcdef", "entries": [dict(entry)]},
    }
    revs = doctor_html.revisions(doc)
    assert [r.label for r in revs] == ["origin/main (0123456789)", "working tree"]
    assert revs[0].entries == doc["compare"]["entries"] and revs[0].root is None
    assert revs[1].entries == doc["entries"] and str(revs[1].root) == "/p"
