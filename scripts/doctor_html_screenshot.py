"""The README's picture of ``lazify doctor --html``: the example app's page, with ``--preview``
(before and after ``lazify apply``), taken with headless Chromium (Debian's package).

    .venv/bin/python scripts/doctor_html_screenshot.py [--out docs/doctor-html.png] [--runs 3]

Runs the example app's import (a copy, in a temporary directory), as ``lazify doctor`` does.
The picture is the top of the page, down to the end of the last import-tree chart."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import browser_context, find_chromium  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "doctor-html.png")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="also keep the page here")
    args = ap.parse_args()
    chromium = find_chromium()
    if chromium is None:
        sys.exit("no Chromium: apt-get install chromium, or set $LAZIFY_CHROMIUM")
    with tempfile.TemporaryDirectory(prefix="lazify-shot-") as tmp:
        app = Path(tmp) / "app"
        shutil.copytree(ROOT / "examples" / "app", app, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
        page_path = Path(tmp) / "doctor.html"
        subprocess.run([sys.executable, "-m", "lazifier", "doctor", "--python", sys.executable, "--runs",
                        str(args.runs), "--preview", "--project", str(app), "--html", str(page_path)],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        if args.keep:
            shutil.copy(page_path, args.keep)
        with browser_context(chromium, width=1280, height=900) as ctx:
            page = ctx.new_page()
            page.goto(page_path.as_uri(), wait_until="load")
            bottom = page.evaluate(
                "Math.ceil([...document.querySelectorAll('.chartwrap')].pop().getBoundingClientRect().bottom"
                " + window.scrollY + 16)"
            )
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(args.out), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": bottom}
            )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
