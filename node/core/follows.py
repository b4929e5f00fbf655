"""Who follows a local actor, and whom it follows: the SQL behind both tables."""

from __future__ import annotations

from node.core.db import Connection, fetch_all, fetch_one, fetch_value


async def upsert_follower(
    conn: Connection,
    *,
    username: str,
    follower_id: str,
    follow_id: str,
    inbox: str,
    shared_inbox: str | None,
    state: str,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO followers (username, follower_id, follow_id, inbox, shared_inbox, state, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (username, follower_id) DO UPDATE SET follow_id = excluded.follow_id, inbox = excluded.inbox,"
        " shared_inbox = excluded.shared_inbox,"
        " state = CASE WHEN followers.state = 'accepted' THEN 'accepted' ELSE excluded.state END",
        (username, follower_id, follow_id, inbox, shared_inbox, state, now),
    )


async def get_follower(conn: Connection, username: str, follower_id: str):
    return await fetch_one(
        conn, "SELECT * FROM followers WHERE username = ? AND follower_id = ?", (username, follower_id)
    )


async def follower_by_follow_id(conn: Connection, username: str, follow_id: str):
    return await fetch_one(conn, "SELECT * FROM followers WHERE username = ? AND follow_id = ?", (username, follow_id))


async def set_follower_state(conn: Connection, username: str, follower_id: str, state: str) -> None:
    await conn.execute(
        "UPDATE followers SET state = ? WHERE username = ? AND follower_id = ?", (state, username, follower_id)
    )


async def remove_follower(conn: Connection, username: str, follower_id: str) -> int:
    cursor = await conn.execute("DELETE FROM followers WHERE username = ? AND follower_id = ?", (username, follower_id))
    return cursor.rowcount


async def remove_actor_everywhere(conn: Connection, actor_id: str) -> int:
    """A remote actor was deleted: it follows no one here and no one here follows it."""
    first = await conn.execute("DELETE FROM followers WHERE follower_id = ?", (actor_id,))
    second = await conn.execute("DELETE FROM following WHERE target_id = ?", (actor_id,))
    return first.rowcount + second.rowcount


async def count_followers(conn: Connection, username: str) -> int:
    return await fetch_value(
        conn, "SELECT COUNT(*) FROM followers WHERE username = ? AND state = 'accepted'", (username,)
    )


async def page_followers(conn: Connection, username: str, *, offset: int, limit: int) -> list[str]:
    rows = await fetch_all(
        conn,
        "SELECT follower_id FROM followers WHERE username = ? AND state = 'accepted'"
        " ORDER BY created_at DESC, follower_id LIMIT ? OFFSET ?",
        (username, limit, offset),
    )
    return [r["follower_id"] for r in rows]


async def follower_inboxes(conn: Connection, username: str) -> list[str]:
    """One inbox per follower: its shared inbox when it has one (deduplicated by the caller)."""
    rows = await fetch_all(
        conn,
        "SELECT DISTINCT COALESCE(shared_inbox, inbox) AS inbox FROM followers WHERE username = ? AND state = 'accepted'",
        (username,),
    )
    return [r["inbox"] for r in rows]


async def insert_following(conn: Connection, *, username: str, target_id: str, follow_id: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO following (username, target_id, follow_id, state, created_at) VALUES (?, ?, ?, 'pending', ?)"
        " ON CONFLICT (username, target_id) DO UPDATE SET follow_id = excluded.follow_id, state = 'pending'",
        (username, target_id, follow_id, now),
    )


async def following_by_follow_id(conn: Connection, follow_id: str):
    return await fetch_one(conn, "SELECT * FROM following WHERE follow_id = ?", (follow_id,))


async def following_by_target(conn: Connection, username: str, target_id: str):
    return await fetch_one(conn, "SELECT * FROM following WHERE username = ? AND target_id = ?", (username, target_id))


async def set_following_state(conn: Connection, follow_id: str, state: str) -> None:
    await conn.execute("UPDATE following SET state = ? WHERE follow_id = ?", (state, follow_id))


async def remove_following(conn: Connection, follow_id: str) -> int:
    cursor = await conn.execute("DELETE FROM following WHERE follow_id = ?", (follow_id,))
    return cursor.rowcount


async def count_following(conn: Connection, username: str) -> int:
    return await fetch_value(
        conn, "SELECT COUNT(*) FROM following WHERE username = ? AND state = 'accepted'", (username,)
    )


async def page_following(conn: Connection, username: str, *, offset: int, limit: int) -> list[str]:
    rows = await fetch_all(
        conn,
        "SELECT target_id FROM following WHERE username = ? AND state = 'accepted'"
        " ORDER BY created_at DESC, target_id LIMIT ? OFFSET ?",
        (username, limit, offset),
    )
    return [r["target_id"] for r in rows]
