"""A real headless Chromium for the tests that look at a page (Debian's ``chromium`` package,
driven by Playwright over its own connection; Playwright's own browser builds are never used).

``$LAZIFY_CHROMIUM`` names another binary; else /usr/bin/chromium, else ``chromium`` or
``chromium-browser`` on PATH."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: What Chromium needs on these machines: no sandbox (root), no GPU, and nothing that reaches
#: the network on its own.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    named = os.environ.get("LAZIFY_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def browser_context(executable: str, width: int = 1280, height: int = 900) -> Iterator:
    """A Playwright browser context of ``executable``, headless, in a new empty profile."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lazify-chromium-") as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield ctx
        finally:
            ctx.close()
