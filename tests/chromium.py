"""How the tests and ``scripts/dashboard_screenshot.py`` start Debian's Chromium under Playwright.

One place for the launch flags; no pytest here, so the screenshot script can
import it too. Never ``playwright install``: the binary is the system's.
"""

from __future__ import annotations

import shutil

from playwright.sync_api import Browser, Playwright

__all__ = ["CHROMIUM_ARGS", "CHROMIUM_NAMES", "find_chromium", "launch"]

#: Quiet, headless, no sandbox (containers), no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The names Chromium goes by on PATH, most likely first.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """The path of a Chromium binary on PATH, or ``None``."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def launch(playwright: Playwright, executable: str) -> Browser:
    """Headless Chromium from ``executable``, with :data:`CHROMIUM_ARGS`."""
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
