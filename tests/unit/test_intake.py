"""The inbox intake (group commit): every submit returns only once its row is committed."""

from __future__ import annotations

import asyncio
import sqlite3

from inbox.intake import InboxIntake, IntakeRow
from inbox.worker import ParsedActivities
from node.core.db import Database, fetch_value
from node.web.app import all_migrations


def _row(i: int) -> IntakeRow:
    return IntakeRow(
        f"https://remote.example/activities/{i}",
        "shared",
        "https://remote.example/users/a",
        "Create",
        '{"type": "Create"}',
        1000.0 + i,
        {"type": "Create"},
    )


async def test_concurrent_rows_are_committed_before_submit_returns(tmp_path):
    db = Database(tmp_path / "intake.sqlite3", migrations=all_migrations())
    await db.open()
    woken = []
    intake = InboxIntake(db, on_committed=lambda: woken.append(1), max_batch=16)
    intake.start()
    try:

        async def submit_and_read(i: int) -> int:
            await intake.submit(_row(i))
            other = sqlite3.connect(db.path)  # another connection sees it as soon as submit returns
            try:
                return other.execute(
                    "SELECT COUNT(*) FROM inbox_items WHERE activity_id = ?", (_row(i).activity_id,)
                ).fetchone()[0]
            finally:
                other.close()

        seen = await asyncio.gather(*(submit_and_read(i) for i in range(100)))
        assert seen == [1] * 100  # each one visible to another connection when its submit returned
        assert intake.rows == 100
        assert intake.batches < 100  # concurrent requests shared transactions
        assert woken
    finally:
        await intake.stop()
        await db.close()


async def test_repeats_are_harmless_and_stop_commits_what_is_queued(tmp_path):
    db = Database(tmp_path / "intake.sqlite3", migrations=all_migrations())
    await db.open()
    intake = InboxIntake(db)
    intake.start()
    try:
        await intake.submit(_row(1))
        pending = [asyncio.create_task(intake.submit(_row(i))) for i in (1, 2, 3)]
        await asyncio.sleep(0)
        await intake.stop()
        await asyncio.gather(*pending)
        assert await fetch_value(db.reader, "SELECT COUNT(*) FROM inbox_items") == 3
    finally:
        await db.close()


async def test_submit_after_stop_is_refused(tmp_path):
    db = Database(tmp_path / "intake.sqlite3", migrations=all_migrations())
    await db.open()
    intake = InboxIntake(db)
    intake.start()
    await intake.stop()
    try:
        try:
            await intake.submit(_row(1))
        except RuntimeError:
            pass
        else:
            raise AssertionError("submit after stop should be refused")
    finally:
        await db.close()


async def test_committed_rows_leave_their_parsed_activity_for_the_worker(tmp_path):
    db = Database(tmp_path / "intake.sqlite3", migrations=all_migrations())
    await db.open()
    parsed = ParsedActivities(limit=3)
    intake = InboxIntake(db, parsed=parsed)
    intake.start()
    try:
        for i in range(5):
            await intake.submit(_row(i))
    finally:
        await intake.stop()
        await db.close()
    # the newest three are kept, the oldest dropped: a miss only means the worker parses the body
    assert [parsed.take(_row(i).activity_id, _row(i).body) for i in range(5)] == [None, None] + [{"type": "Create"}] * 3
    assert parsed.take(_row(4).activity_id, _row(4).body) is None  # taken once


def test_a_parsed_activity_stands_only_for_the_body_that_was_stored():
    parsed = ParsedActivities()
    parsed.keep("https://remote.example/activities/1", '{"type": "Follow"}', {"type": "Follow"})
    # the same id sent again with another body: the stored row holds the first body, not this one
    assert parsed.take("https://remote.example/activities/1", '{"type": "Like"}') is None
