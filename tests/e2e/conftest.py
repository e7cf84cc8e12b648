"""Shared fixtures of the end-to-end tests: real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium browser (module scope); skips without Debian chromium or Playwright."""
    if CHROMIUM is None:
        pytest.skip("needs Debian chromium (`make system-deps`)")
    pytest.importorskip("playwright", reason="needs playwright (dev extra)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()
