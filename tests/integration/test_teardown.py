"""Stopping the tests' nodes never hangs: a node that fails to start closes what it opened (the
database's connection threads, which are not daemons and kept the process alive, and its lock),
a request left waiting by a test does not hold a node's stop for aiohttp's default minute (or
two) with the event loop idle, and a test that hangs all the same fails by itself (pytest-timeout)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web

from node.core.appkeys import DATABASE
from node.core.db import hold_exclusive_lock
from node.core.migrations import Migration
from tests.support.nodes import SHUTDOWN_SECONDS, node_config, start_node


def _database_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if "_connection_worker_thread" in thread.name}


def _still_running(threads: set[threading.Thread]) -> set[threading.Thread]:
    """Those of ``threads`` alive after a moment (a closed connection's thread ends just after)."""
    for thread in threads:
        thread.join(timeout=5)
    return {thread for thread in threads if thread.is_alive()}


def _room(register=lambda registry: None, setup=lambda app: None):
    return SimpleNamespace(register=register, setup=setup)


BROKEN_MIGRATION = _room(
    register=lambda registry: registry.feature(
        "broken", migrations=[Migration(1, "a table that exists", "CREATE TABLE objects (id INTEGER)")]
    )
)


async def _fails_to_start(app: web.Application) -> AsyncIterator[None]:
    assert app[DATABASE].reader is not None  # opened before this context
    raise RuntimeError("this room cannot start")
    yield  # pragma: no cover - a cleanup context's shape


FAILS_AFTER_THE_DATABASE = _room(setup=lambda app: app.cleanup_ctx.append(_fails_to_start))


@pytest.mark.sqlite_only  # about SQLite's connection threads and file lock
@pytest.mark.parametrize(
    ("room", "error"), [(BROKEN_MIGRATION, "already exists"), (FAILS_AFTER_THE_DATABASE, "cannot start")]
)
async def test_a_node_that_fails_to_start_leaves_no_database_thread_and_no_lock(tmp_path, room, error):
    config = node_config(tmp_path, "london")
    before = _database_threads()
    with pytest.raises(Exception, match=error):
        await start_node(config, features=(room,))
    left = _still_running(_database_threads() - before)
    assert not left, "a connection thread outlived the failed start (the process cannot end)"
    hold_exclusive_lock(config.storage.database).close()  # the failed node let go of its database


async def test_a_request_left_waiting_holds_a_nodes_stop_only_briefly(tmp_path):
    entered, never = asyncio.Event(), asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        entered.set()
        await never.wait()
        return web.Response()  # pragma: no cover - never reached

    waiting_room = _room(setup=lambda app: app.router.add_get("/hang", hang))
    node = await start_node(node_config(tmp_path, "london"), start_workers=False, features=(waiting_room,))

    async def ask() -> None:
        async with aiohttp.ClientSession() as session, session.get(f"{node.base_url}/hang") as response:
            await response.read()

    client = asyncio.ensure_future(ask())
    try:
        await asyncio.wait_for(entered.wait(), 10)
        started = time.monotonic()
        await node.stop()
        assert time.monotonic() - started < SHUTDOWN_SECONDS * 2 + 3  # aiohttp's default: 60 s, then 60 more
    finally:
        client.cancel()
        await asyncio.gather(client, return_exceptions=True)


def test_a_hung_test_fails_by_itself_and_is_named(request):
    """pytest-timeout is installed and pyproject sets a per-test timeout: a hang ends the test
    (with its name and every thread's stack) instead of the whole run."""
    assert request.config.pluginmanager.hasplugin("timeout")
    assert 60 <= float(request.config.getini("timeout")) <= 600
