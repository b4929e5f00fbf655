"""The projects' limits hold between processes on PostgreSQL (``node.projects.rules``), with two stores on one schema.

Each store is what one process opens. One transaction counts a limit and inserts the last thing it
allows, and stays open; the other, in the other store, counts the same limit meanwhile: it waits
for the first (the lock the rule takes), and once the first commits it is refused, so nothing goes
one over (projects a member has open, drafts per member in a project, revisions of a draft).
Without the locks the second counted before the first committed and went one over. Run in the
``--store postgres`` pass (``postgres_only``), on its server; on SQLite writers are serialised.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from node.core.db import Connection
from node.core.postgres import PostgresDatabase
from node.projects import rules, store
from node.web.app import all_migrations
from tests.support.stores import CHOSEN, PREFIX

SERVER = CHOSEN.server  # the PostgreSQL pass's server (None in the SQLite pass, which skips these)
pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not SERVER, reason="needs PostgreSQL: pytest --store postgres"),
]
_numbers = itertools.count(1)
BASE = "https://world.example/objects"
ALICE = "https://a.example/users/alice"
PROJECT = f"{BASE}/project"
WAITED = 0.5  # seconds the second transaction is given to (wrongly) finish while the first holds


@pytest.fixture
async def two_stores() -> AsyncIterator[tuple[PostgresDatabase, PostgresDatabase]]:
    assert SERVER is not None
    schema = f"{PREFIX}{os.getpid()}_limits_{next(_numbers)}"
    url = f"{SERVER}{'&' if '?' in SERVER else '?'}search_path={schema}"
    first = PostgresDatabase(url, migrations=all_migrations(), pool_size=2)
    await first.open()
    second = PostgresDatabase(url, migrations=all_migrations(), pool_size=2)
    await second.open()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()
        conn = await asyncpg.connect(SERVER)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


Act = Callable[[Connection, int], Awaitable[object]]


async def race(first: PostgresDatabase, second: PostgresDatabase, act: Act) -> tuple[object, object, bool]:
    """``act`` in a transaction of ``first`` held open while ``act`` runs in one of ``second``: what each
    returned, and whether the second was still waiting when the first committed."""
    acted, release = asyncio.Event(), asyncio.Event()

    async def holding() -> object:
        async with first.transaction() as conn:
            found = await act(conn, 1)
            acted.set()
            await release.wait()
            return found

    async def meanwhile() -> object:
        async with second.transaction() as conn:
            return await act(conn, 2)

    one = asyncio.create_task(holding())
    await acted.wait()
    two = asyncio.create_task(meanwhile())
    await asyncio.sleep(WAITED)
    waited = not two.done()
    release.set()
    return await one, await two, waited


async def a_project(db: PostgresDatabase, project_id: str = PROJECT) -> None:
    async with db.transaction() as conn:
        await store.insert_project(
            conn, project_id=project_id, title="Charter", aim="A charter.", default_option="None.",
            started_by=ALICE, opened=True, now=1000.0,
        )  # fmt: skip


async def test_a_member_never_writes_one_draft_too_many(two_stores):
    first, second = two_stores
    await a_project(first)
    async with first.transaction() as conn:
        for n in range(rules.MAX_DRAFTS_PER_AUTHOR - 1):
            await store.insert_draft(
                conn, draft_id=f"{BASE}/d{n}", project_id=PROJECT, title="D", text="T", author=ALICE, now=1000.0
            )

    async def write(conn: Connection, number: int) -> object:
        refused = await rules.draft_count_refusal(conn, PROJECT, ALICE)
        if refused is None:
            await store.insert_draft(
                conn, draft_id=f"{BASE}/new{number}", project_id=PROJECT, title="D", text="T", author=ALICE, now=2000.0
            )
        return refused

    one, two, waited = await race(first, second, write)
    assert one is None and waited
    assert two is not None and "writes at most 5 drafts of a project" in two
    assert await store.count_drafts(first.reader, PROJECT, author=ALICE) == rules.MAX_DRAFTS_PER_AUTHOR


async def test_a_member_never_starts_one_project_too_many(two_stores):
    first, second = two_stores
    for n in range(rules.MAX_OPEN_PROJECTS - 1):
        await a_project(first, f"{BASE}/p{n}")

    async def start(conn: Connection, number: int) -> object:
        refused = await rules.start_refusal(conn, ALICE)
        if refused is None:
            await store.insert_project(
                conn, project_id=f"{BASE}/new{number}", title="C", aim="A.", default_option="N.", started_by=ALICE,
                opened=True, now=2000.0,
            )  # fmt: skip
        return refused

    one, two, waited = await race(first, second, start)
    assert one is None and waited
    assert two is not None and "at most 5 projects awaiting approval or open" in two
    assert await store.count_started_by(first.reader, ALICE, ("awaiting", "open")) == rules.MAX_OPEN_PROJECTS


async def test_a_draft_never_takes_one_revision_too_many_and_the_second_is_told_why(two_stores):
    first, second = two_stores
    await a_project(first)
    draft_id = f"{BASE}/draft"
    async with first.transaction() as conn:
        await store.insert_draft(
            conn, draft_id=draft_id, project_id=PROJECT, title="D", text="T", author=ALICE, now=1000.0
        )
        await conn.execute("UPDATE project_drafts SET revision = ? WHERE id = ?", (rules.MAX_REVISIONS - 1, draft_id))

    async def revise(conn: Connection, number: int) -> object:
        draft = await store.get_draft(conn, draft_id, lock=True)  # as node.projects.making.revise reads it
        assert draft is not None
        refused = rules.revision_refusal(draft)
        if refused is None:
            made = await store.revise_draft(conn, draft_id, title="D", text=f"T{number}", author=ALICE, now=2000.0)
            return "went to the vote" if made is None else None  # what making.revise says then
        return refused

    one, two, waited = await race(first, second, revise)
    assert one is None and waited
    assert two is not None and "a draft has at most 100 revisions" in two  # the limit's reason, not another
    assert [r.number for r in await store.revisions_of(first.reader, draft_id)] == [1, rules.MAX_REVISIONS]
