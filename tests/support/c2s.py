"""Client-to-server and reading helpers, as an admin or a curious server would use them."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.support.nodes import ADMIN_TOKEN, RunningNode

AS_JSON = "application/activity+json"


async def publish(
    node: RunningNode, activity: dict, *, token: str = ADMIN_TOKEN, content_type: str = AS_JSON
) -> tuple[int, dict, str | None]:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            node.outbox, json=activity, headers={"Authorization": f"Bearer {token}", "Content-Type": content_type}
        ) as response:
            return response.status, await response.json(content_type=None), response.headers.get("Location")


async def get_json(url: str, *, accept: str = AS_JSON, headers: dict | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Accept": accept, **(headers or {})}, allow_redirects=False) as response:
            return response.status, await response.json(content_type=None)


async def read_inbox(node: RunningNode, *, page: int = 1) -> list[dict]:
    status, body = await get_json(f"{node.inbox}?page={page}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert status == 200, body
    return body.get("orderedItems", [])  # an empty page has none (issue 10)


async def eventually(check, *, timeout: float = 10.0, interval: float = 0.05):
    """Await ``check()`` until it returns something truthy; fail with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)
