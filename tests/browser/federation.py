"""Helpers of the browser tests across a real tree: the tree itself, screenshots at two widths, the admin's sign-in."""

from __future__ import annotations

import os
from pathlib import Path

from axe_playwright_python.async_playwright import Axe

from tests.support.nodes import ADMIN_TOKEN

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "federation"
UNDER = {"europe": ["london", "paris"], "americas": ["lima"]}
SIZES = {"london": 3, "paris": 2, "lima": 1}
WIDTHS = (1280, 390)


async def axe_clean(page) -> None:
    """axe-core finds nothing serious or critical on the page as it is now."""
    results = await Axe().run(page)
    found = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} -> {[n['target'] for n in violation['nodes']][:3]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert not found, f"accessibility violations on {page.url}:\n" + "\n".join(found)


async def shots(page, name: str, folder: Path = ARTIFACTS) -> None:
    """``name``-1280.png and ``name``-390.png in ``folder``, whole pages; at 390 px nothing may scroll
    sideways; axe stays clean."""
    os.makedirs(folder, exist_ok=True)
    await axe_clean(page)
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        if width < 600:
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    await page.set_viewport_size({"width": WIDTHS[0], "height": 900})


async def browser_in(browser, language: str):
    """A page in a fresh context whose browser asks for ``language`` first."""
    context = await browser.new_context(locale=language, viewport={"width": WIDTHS[0], "height": 900})
    return await context.new_page()


async def admin_page(browser, node, *, language: str = "en-GB", next_path: str = "/admin"):
    page = await browser_in(browser, language)
    await page.goto(f"{node.base_url}/login/admin?next={next_path}")
    await page.locator("input[name=token]").fill(ADMIN_TOKEN)
    await page.locator("section.panel button[type=submit]").click()
    return page
