"""Headless Chromium (Debian's ``chromium``) driven by Playwright, for testing pages as people use them.

The browser is never downloaded: Playwright launches the system binary by path.
"""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.async_api import async_playwright

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is not installed: apt-get install chromium (.ci/run does it)", pytrace=False)
    return path


@pytest.fixture
async def browser():
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser):
    context = await browser.new_context()
    page = await context.new_page()
    yield page
    await context.close()
