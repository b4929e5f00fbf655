"""The store's claims and locks between processes, on PostgreSQL, with two stores on one schema.

Each store here is what one process opens (its writer, readers and lock connection): a claim
skips the rows another claim holds, and never waits for it (``FOR UPDATE SKIP LOCKED``); an
inbox batch keeps only the rows it still holds; ``exclusive`` is granted to one store at a
time; the first store to open a schema is told it is alone; two stores making keys at once
keep one pair; a kind of due work run by two runners at once does each item once. Run in the
``--store postgres`` pass (``postgres_only``), on its server.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest

from node.core import deliveries, inbox_items
from node.core import schema as core_schema
from node.core.clock import Clock
from node.core.db import fetch_all, fetch_value
from node.core.due import DueKind, DueRunner, StateGraph
from node.core.keys import load_or_create_keys
from node.core.postgres import PostgresDatabase
from tests.support.stores import CHOSEN, PREFIX

SERVER = CHOSEN.server  # the PostgreSQL pass's server (None in the SQLite pass, which skips these)
pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not SERVER, reason="needs PostgreSQL: pytest --store postgres"),
]
_numbers = itertools.count(1)
NOW = 1_000_000.0


def core_migrations() -> list:
    """The core tables only (keys, inbox items, deliveries): what these tests touch."""
    return [replace(migration, room="core") for migration in core_schema.MIGRATIONS]


@pytest.fixture
async def schema_url() -> AsyncIterator[str]:
    assert SERVER is not None
    schema = f"{PREFIX}{os.getpid()}_locks_{next(_numbers)}"
    yield f"{SERVER}{'&' if '?' in SERVER else '?'}search_path={schema}"
    conn = await asyncpg.connect(SERVER)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
async def two_stores(schema_url) -> AsyncIterator[tuple[PostgresDatabase, PostgresDatabase]]:
    first = PostgresDatabase(schema_url, migrations=core_migrations(), pool_size=2)
    second = PostgresDatabase(schema_url, migrations=core_migrations(), pool_size=2)
    await first.open()
    await second.open()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def queue_inbox_items(store: PostgresDatabase, count: int) -> None:
    rows = [
        (f"https://peer.example/a/{n}", "london", "https://peer.example/u", "Like", "{}", NOW) for n in range(count)
    ]
    await store.write_statement(*inbox_items.insert_batch_statement(rows))


async def test_an_inbox_claim_skips_the_rows_another_claim_holds_without_waiting(two_stores):
    first, second = two_stores
    await queue_inbox_items(first, 10)
    async with first.transaction() as holding:
        held = await inbox_items.claim_due(holding, now=NOW, lease_seconds=60, limit=4)
        async with asyncio.timeout(5), second.transaction() as other:  # waiting on the first would time out
            rest = await inbox_items.claim_due(other, now=NOW, lease_seconds=60, limit=10)
    assert len(held) == 4 and len(rest) == 6
    assert not {row["seq"] for row in held} & {row["seq"] for row in rest}
    async with second.transaction() as conn:  # both committed: every row is leased
        assert await inbox_items.claim_due(conn, now=NOW, lease_seconds=60, limit=10) == []
        again = await inbox_items.claim_due(conn, now=NOW + 61, lease_seconds=60, limit=10)  # the leases ran out
    assert len(again) == 10 and {row["attempts"] for row in again} == {2}


async def test_a_delivery_claim_skips_held_rows_and_paused_hosts(two_stores):
    first, second = two_stores
    async with first.transaction() as conn:
        for host in ("a.example", "b.example"):
            inboxes = [f"https://{host}/users/{n}/inbox" for n in range(5)]
            await deliveries.enqueue(
                conn, activity_id="https://here/activities/1", inboxes=inboxes, signer="london", now=NOW
            )
        await deliveries.back_off_host(conn, "b.example", retry_at=NOW + 600, error="down")
    async with first.transaction() as holding:
        held = await deliveries.claim_due(holding, now=NOW, lease_seconds=60, limit=2)
        async with asyncio.timeout(5), second.transaction() as other:
            rest = await deliveries.claim_due(other, now=NOW, lease_seconds=60, limit=10)
    assert {row["host"] for row in held + rest} == {"a.example"}
    assert len(held) == 2 and len(rest) == 3
    assert not {row["seq"] for row in held} & {row["seq"] for row in rest}


async def test_an_inbox_batch_keeps_only_the_rows_it_still_holds(two_stores):
    first, second = two_stores
    await queue_inbox_items(first, 3)
    async with first.transaction() as conn:
        mine = await inbox_items.claim_due(conn, now=NOW, lease_seconds=10, limit=3)
    async with second.transaction() as conn:  # the lease ran out under a slow worker: claimed again
        theirs = await inbox_items.claim_due(conn, now=NOW + 11, lease_seconds=10, limit=1)
    async with first.transaction() as conn:
        kept = await inbox_items.still_claimed(conn, [(row["seq"], row["attempts"]) for row in mine])
        async with asyncio.timeout(5), second.transaction() as other:  # the kept rows stay locked till commit
            skipped = await inbox_items.claim_due(other, now=NOW + 100, lease_seconds=10, limit=3)
    assert kept == {row["seq"] for row in mine} - {theirs[0]["seq"]}
    assert {row["seq"] for row in skipped} == {theirs[0]["seq"]}  # only the row nobody holds now


async def test_exclusive_is_granted_to_one_store_at_a_time_per_schema(two_stores, schema_url):
    first, second = two_stores
    elsewhere = PostgresDatabase(schema_url.replace("_locks_", "_locks_other_"), migrations=())
    await elsewhere.open()
    try:
        async with first.exclusive("due: poll closing") as granted:
            assert granted
            async with second.exclusive("due: poll closing") as other, first.exclusive("due: poll closing") as again:
                assert not other and again  # another process is refused; the holder's own work goes on
            waiting = asyncio.ensure_future(_granted_later(first, "due: poll closing"))
            await asyncio.sleep(0.2)
            assert not waiting.done()  # another task of this process waits its turn
            async with (
                second.exclusive("due: poll counts") as other_name,
                elsewhere.exclusive("due: poll closing") as node,
            ):
                assert other_name and node  # another name, another node's schema
        assert await waiting
        async with second.exclusive("due: poll closing") as granted_now:
            assert granted_now
    finally:
        await elsewhere.close()
        conn = await asyncpg.connect(SERVER)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{elsewhere.schema}" CASCADE')
        await conn.close()


async def _granted_later(store: PostgresDatabase, name: str) -> bool:
    async with store.exclusive(name) as granted:
        return granted


async def test_the_first_store_to_open_is_told_it_is_alone(schema_url):
    stores = [PostgresDatabase(schema_url, migrations=core_migrations()) for _ in range(3)]
    await stores[0].open()
    await stores[1].open()
    assert (stores[0].first_process, stores[1].first_process) == (True, False)
    await stores[0].close()
    await stores[1].close()
    await stores[2].open()  # every earlier process gone: its leases are dead ones'
    assert stores[2].first_process
    await stores[2].close()


async def test_two_stores_making_keys_at_once_keep_one_pair(two_stores):
    first = two_stores[0]
    rings = await asyncio.gather(*(load_or_create_keys(store, ["london"], Clock().now()) for store in two_stores))
    assert rings[0]["london"].rsa_public_pem == rings[1]["london"].rsa_public_pem
    count = await fetch_value(first.reader, "SELECT COUNT(*) FROM actor_keys WHERE username = 'london'")
    assert count == 2  # one rsa, one ed25519


ITEMS = StateGraph("a test item", initial="due", transitions={"due": ["done"], "done": []}, terminal=["done"])


async def test_a_kind_run_by_two_runners_at_once_does_each_item_once(two_stores):
    first, second = two_stores
    await first.write_statement("CREATE TABLE due_items (id INTEGER PRIMARY KEY, done INTEGER NOT NULL DEFAULT 0)")
    await first.write_statement("INSERT INTO due_items (id) SELECT g FROM generate_series(1, 20) AS g")

    def runner_on(store: PostgresDatabase) -> tuple[DueRunner, DueKind]:
        async def due():
            return [row["id"] for row in await fetch_all(store.reader, "SELECT id FROM due_items WHERE done = 0")]

        async def work(item: int) -> bool:
            await asyncio.sleep(0.01)  # between reading what is due and doing it: where a second runner slips in
            await store.write_statement("UPDATE due_items SET done = done + 1 WHERE id = ?", (item,))
            return True

        runner = DueRunner(Clock(), exclusive=store.exclusive)
        return runner, DueKind("test items", ITEMS, due, work, worker="polls")

    (one, one_kind), (two, two_kind) = runner_on(first), runner_on(second)
    for _ in range(5):
        await asyncio.gather(one.run([one_kind]), two.run([two_kind]))
    rows = await fetch_all(first.reader, "SELECT done, COUNT(*) AS n FROM due_items GROUP BY done")
    assert [(row["done"], row["n"]) for row in rows] == [(1, 20)]
