"""The membership table's rules, on a real SQLite file."""

from __future__ import annotations

from node.core.db import Database
from node.membership import members
from node.web.app import all_migrations


async def test_membership_life_cycle(tmp_path):
    db = Database(tmp_path / "m.sqlite3", migrations=all_migrations())
    await db.open()
    try:
        alice = "https://elsewhere.example/users/alice"
        async with db.transaction() as conn:
            await members.upsert_member(
                conn,
                chapter="london",
                actor_id=alice,
                state="requested",
                now=1,
                inbox=f"{alice}/inbox",
                shared_inbox="https://elsewhere.example/inbox",
            )
        assert not await members.is_active_member(db.reader, "london", alice)
        assert await members.role_of(db.reader, "london", alice) is None

        async with db.transaction() as conn:
            await members.set_state(conn, "london", alice, "active", now=5)
        row = await members.get_member(db.reader, "london", alice)
        assert row["joined_at"] == 5 and row["role"] == "member"
        assert await members.role_of(db.reader, "london", alice) == "member"
        assert await members.member_inboxes(db.reader, "london") == ["https://elsewhere.example/inbox"]

        async with db.transaction() as conn:
            await members.set_role(conn, "london", alice, "secretary", now=6)
            await members.set_state(conn, "london", alice, "removed", now=7)
        assert not await members.is_active_member(db.reader, "london", alice)
        assert await members.count_in_state(db.reader, "london") == 0
        assert await members.count_in_state(db.reader, "london", "removed") == 1

        async with db.transaction() as conn:  # re-admitted: keeps the first join date, gets a new one
            await members.upsert_member(conn, chapter="london", actor_id=alice, state="active", now=9)
        row = await members.get_member(db.reader, "london", alice)
        assert row["state"] == "active" and row["joined_at"] == 9 and row["role"] == "secretary"
    finally:
        await db.close()
