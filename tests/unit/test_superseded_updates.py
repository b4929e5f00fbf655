"""A newer Update of an object queued for an inbox drops the older ones still queued there (issue 23).

A host in backoff got one queued ``Update(Question)`` per poll per interval; now it gets the
newest only. Rows already delivered, other inboxes, other objects and other kinds of activity
are left as they are.
"""

from __future__ import annotations

from node.core import deliveries
from node.core.db import Database, fetch_all
from node.core.publish import record
from node.core.urls import Urls
from node.web.app import all_migrations

BASE = "https://chapter.example"
POLL = f"{BASE}/objects/poll-1"
DOWN = "https://down.example/inbox"  # a host in backoff: its rows stay queued
UP = "https://up.example/inbox"


def _update(n: int, object_id: str = POLL) -> dict:
    return {
        "id": f"{BASE}/activities/update-{object_id.rsplit('/', 1)[-1]}-{n}",
        "type": "Update",
        "actor": f"{BASE}/users/london",
        "object": {"id": object_id, "type": "Question", "name": f"version {n}"},
    }


async def _states(db: Database) -> dict[tuple[str, str], tuple[str, str | None]]:
    rows = await fetch_all(db.reader, "SELECT activity_id, inbox, state, last_error FROM deliveries")
    return {(row["activity_id"].rsplit("/", 1)[-1], row["inbox"]): (row["state"], row["last_error"]) for row in rows}


async def test_a_newer_update_drops_the_older_ones_still_queued_for_the_same_inbox(tmp_path):
    db = Database(tmp_path / "node.sqlite3", migrations=all_migrations())
    await db.open()
    urls = Urls(BASE)
    try:
        async with db.transaction() as conn:
            await record(conn, urls=urls, username="london", activity=_update(1), inboxes=[DOWN, UP], now=1.0)
            create = {
                "id": f"{BASE}/activities/create-1",
                "type": "Create",
                "actor": f"{BASE}/users/london",
                "object": {"id": POLL, "type": "Question"},
            }
            await record(conn, urls=urls, username="london", activity=create, inboxes=[DOWN], now=1.0)
            other = _update(1, f"{BASE}/objects/poll-2")
            await record(conn, urls=urls, username="london", activity=other, inboxes=[DOWN], now=1.0)
        async with db.transaction() as conn:  # the first Update reached the healthy host
            (row,) = await fetch_all(
                conn, "SELECT seq FROM deliveries WHERE inbox = ? AND activity_id = ?", (UP, _update(1)["id"])
            )
            await deliveries.mark_done(conn, row["seq"], status=202, now=2.0)
        for n in (2, 3):
            async with db.transaction() as conn:
                await record(conn, urls=urls, username="london", activity=_update(n), inboxes=[DOWN], now=float(n))

        states = await _states(db)
        assert states[("update-poll-1-1", DOWN)][0] == "dead"
        assert (
            "superseded" in states[("update-poll-1-1", DOWN)][1]
            and "update-poll-1-2" in states[("update-poll-1-1", DOWN)][1]
        )
        assert states[("update-poll-1-2", DOWN)][0] == "dead"
        assert states[("update-poll-1-3", DOWN)] == ("queued", None)  # the newest goes
        assert states[("update-poll-1-1", UP)][0] == "done"  # delivered rows are left alone
        assert states[("create-1", DOWN)] == ("queued", None)  # not an Update
        assert states[("update-poll-2-1", DOWN)] == ("queued", None)  # another object
    finally:
        await db.close()


async def test_the_drop_reads_only_queued_rows_by_host(tmp_path):
    db = Database(tmp_path / "node.sqlite3", migrations=all_migrations())
    await db.open()
    try:
        rows = await fetch_all(
            db.reader,
            "EXPLAIN QUERY PLAN " + deliveries.SUPERSEDE_UPDATES_SQL,
            ("reason", 1.0, "[]", "[]", "activity", "object", "author"),
        )
    finally:
        await db.close()
    plan = " | ".join(row["detail"] for row in rows)
    assert "deliveries_queued_by_host" in plan and "SCAN d" not in plan, plan
