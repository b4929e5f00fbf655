"""Membership: who belongs to a chapter, in which role, and since when.

Membership is not following: anyone may follow a chapter's public posts, only members vote
and receive members-only posts. A member is a remote actor (added by the admin, or asking
to join) or a local account on this node. States: ``requested`` -> ``active`` ->
``left`` | ``removed`` (and back to ``active`` if re-admitted). Roles: ``admin``,
``secretary`` (may publish minutes and open polls), ``member``. Only ``active`` members
count: a removed member's later votes do not.
"""

from __future__ import annotations

from node.core.db import Connection, Row, fetch_all, fetch_one, fetch_value

ROLES = ("admin", "secretary", "member")
PUBLISHER_ROLES = ("admin", "secretary")


async def upsert_member(
    conn: Connection,
    *,
    chapter: str,
    actor_id: str,
    state: str,
    now: float,
    role: str | None = None,
    is_local: bool = False,
    inbox: str | None = None,
    shared_inbox: str | None = None,
) -> None:
    """Create or change a membership; ``joined_at`` is set the first time it becomes active."""
    await conn.execute(
        "INSERT INTO members (chapter, actor_id, role, state, is_local, inbox, shared_inbox, requested_at, joined_at,"
        " changed_at) VALUES (?, ?, COALESCE(?, 'member'), ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (chapter, actor_id) DO UPDATE SET state = excluded.state,"
        " role = COALESCE(?, members.role), inbox = COALESCE(excluded.inbox, members.inbox),"
        " shared_inbox = COALESCE(excluded.shared_inbox, members.shared_inbox),"
        " joined_at = CASE WHEN excluded.state = 'active' AND members.state != 'active' THEN excluded.changed_at"
        "                  ELSE members.joined_at END,"
        " changed_at = excluded.changed_at",
        (
            chapter,
            actor_id,
            role,
            state,
            int(is_local),
            inbox,
            shared_inbox,
            now if state == "requested" else None,
            now if state == "active" else None,
            now,
            role,
        ),
    )


async def get_member(conn: Connection, chapter: str, actor_id: str):
    return await fetch_one(conn, "SELECT * FROM members WHERE chapter = ? AND actor_id = ?", (chapter, actor_id))


async def is_active_member(conn: Connection, chapter: str, actor_id: str) -> bool:
    return bool(
        await fetch_value(
            conn, "SELECT 1 FROM members WHERE chapter = ? AND actor_id = ? AND state = 'active'", (chapter, actor_id)
        )
    )


async def was_ever_approved(conn: Connection, actor_id: str) -> bool:
    """Whether this actor was ever admitted as a member (it has a ``joined_at``), in any state now."""
    return bool(
        await fetch_value(
            conn, "SELECT 1 FROM members WHERE actor_id = ? AND joined_at IS NOT NULL LIMIT 1", (actor_id,)
        )
    )


async def role_of(conn: Connection, chapter: str, actor_id: str) -> str | None:
    """The role of an active member, None for anyone else."""
    return await fetch_value(
        conn, "SELECT role FROM members WHERE chapter = ? AND actor_id = ? AND state = 'active'", (chapter, actor_id)
    )


async def set_state(conn: Connection, chapter: str, actor_id: str, state: str, now: float) -> int:
    cursor = await conn.execute(
        "UPDATE members SET state = ?, changed_at = ?,"
        " joined_at = CASE WHEN ? = 'active' AND state != 'active' THEN ? ELSE joined_at END"
        " WHERE chapter = ? AND actor_id = ?",
        (state, now, state, now, chapter, actor_id),
    )
    return cursor.rowcount


async def set_role(conn: Connection, chapter: str, actor_id: str, role: str, now: float) -> int:
    cursor = await conn.execute(
        "UPDATE members SET role = ?, changed_at = ? WHERE chapter = ? AND actor_id = ?", (role, now, chapter, actor_id)
    )
    return cursor.rowcount


async def count_in_state(conn: Connection, chapter: str, state: str = "active") -> int:
    return await fetch_value(conn, "SELECT COUNT(*) FROM members WHERE chapter = ? AND state = ?", (chapter, state))


async def page_in_state(
    conn: Connection, chapter: str, *, state: str = "active", offset: int = 0, limit: int = 20
) -> list[Row]:
    """Newest first (by when they joined, or asked to)."""
    return await fetch_all(
        conn,
        "SELECT * FROM members WHERE chapter = ? AND state = ?"
        " ORDER BY COALESCE(joined_at, requested_at, changed_at) DESC, actor_id LIMIT ? OFFSET ?",
        (chapter, state, limit, offset),
    )


async def member_inboxes(conn: Connection, chapter: str) -> list[str]:
    """One inbox per active remote member (its shared inbox when it has one)."""
    rows = await fetch_all(
        conn,
        "SELECT DISTINCT COALESCE(shared_inbox, inbox) AS inbox FROM members"
        " WHERE chapter = ? AND state = 'active' AND is_local = 0 AND COALESCE(shared_inbox, inbox) IS NOT NULL",
        (chapter,),
    )
    return [row["inbox"] for row in rows]


async def request_membership(
    conn: Connection,
    *,
    chapter: str,
    actor_id: str,
    now: float,
    is_local: bool = False,
    inbox: str | None = None,
    shared_inbox: str | None = None,
) -> bool:
    """File a request to join (a Join, a Follow where the config says so, a sign-up).

    An active member stays active (only its inboxes are refreshed); anyone else, new or
    having left or been removed, now waits for an admin. True if a request is pending.
    """
    await conn.execute(
        "INSERT INTO members (chapter, actor_id, role, state, is_local, inbox, shared_inbox, requested_at, changed_at)"
        " VALUES (?, ?, 'member', 'requested', ?, ?, ?, ?, ?)"
        " ON CONFLICT (chapter, actor_id) DO UPDATE SET"
        " inbox = COALESCE(excluded.inbox, members.inbox),"
        " shared_inbox = COALESCE(excluded.shared_inbox, members.shared_inbox),"
        " requested_at = CASE WHEN members.state IN ('active', 'requested') THEN members.requested_at"
        "                     ELSE excluded.requested_at END,"
        " changed_at = CASE WHEN members.state IN ('active', 'requested') THEN members.changed_at"
        "                   ELSE excluded.changed_at END,"
        " state = CASE WHEN members.state = 'active' THEN 'active' ELSE 'requested' END",
        (chapter, actor_id, int(is_local), inbox, shared_inbox, now, now),
    )
    return (
        await fetch_value(conn, "SELECT state FROM members WHERE chapter = ? AND actor_id = ?", (chapter, actor_id))
        == "requested"
    )


async def leave(conn: Connection, chapter: str, actor_id: str, now: float) -> int:
    """A member (or someone waiting) leaves; 0 if they were neither."""
    cursor = await conn.execute(
        "UPDATE members SET state = 'left', changed_at = ?"
        " WHERE chapter = ? AND actor_id = ? AND state IN ('active', 'requested')",
        (now, chapter, actor_id),
    )
    return cursor.rowcount


async def leave_everywhere(conn: Connection, actor_id: str, now: float) -> int:
    """A remote account was deleted: it belongs to no chapter here any more."""
    cursor = await conn.execute(
        "UPDATE members SET state = 'left', changed_at = ? WHERE actor_id = ? AND state IN ('active', 'requested')",
        (now, actor_id),
    )
    return cursor.rowcount


async def page_ids_in_state(
    conn: Connection, chapter: str, *, state: str = "active", offset: int = 0, limit: int = 20
) -> list[str]:
    """Actor ids, newest first: the items of the members collection."""
    rows = await page_in_state(conn, chapter, state=state, offset=offset, limit=limit)
    return [row["actor_id"] for row in rows]


async def active_roll(conn: Connection, chapter: str) -> list[tuple[str, float]]:
    """Every active member with the time the membership began (a decision's frozen roll)."""
    rows = await fetch_all(
        conn,
        "SELECT actor_id, COALESCE(joined_at, changed_at) AS since FROM members"
        " WHERE chapter = ? AND state = 'active' ORDER BY actor_id",
        (chapter,),
    )
    return [(row["actor_id"], row["since"]) for row in rows]
