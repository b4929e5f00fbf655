"""What the fediverse does with a local object: replies (kept as its thread), likes and boosts.

One ``interactions`` row per reply (keyed by the reply's own object id) or per reaction (keyed
by the ``Like`` / ``Announce`` activity id, and unique per actor, object and kind, so a repeated
like or boost never counts twice). A reply keeps its Note as received, with its HTML sanitised
on the way in (and again when a page shows it). Only public and unlisted replies are part of
the served thread; the others are kept for the chapter's admin.

The served object carries ``replies`` (an ``OrderedCollection`` of the thread), ``likes`` and
``shares`` (``Collection`` with ``totalItems``; like Mastodon, who liked is not published).
"""

from __future__ import annotations

from dataclasses import dataclass

from federation import jsonio
from node.core.db import Connection, fetch_all, fetch_value


@dataclass(frozen=True)
class Counts:
    replies: int
    likes: int
    shares: int


async def insert_reply(
    conn: Connection,
    *,
    reply: dict,
    object_id: str,
    actor_id: str,
    visibility: str,
    published: float,
    now: float,
) -> bool:
    """Keep a reply (once: a repeated Create of the same Note changes nothing); True if new."""
    cursor = await conn.execute(
        "INSERT INTO interactions (id, kind, object_id, actor_id, visibility, data, published, received_at)"
        " VALUES (?, 'reply', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (reply["id"], object_id, actor_id, visibility, jsonio.dumps_str(reply), published, now),
    )
    return cursor.rowcount == 1


async def update_reply(conn: Connection, *, reply_id: str, actor_id: str, reply: dict, now: float) -> bool:
    """Replace a kept reply's Note, only when ``actor_id`` wrote it; True if it was ours to change."""
    cursor = await conn.execute(
        "UPDATE interactions SET data = ?, updated = ? WHERE id = ? AND kind = 'reply' AND actor_id = ?",
        (jsonio.dumps_str(reply), now, reply_id, actor_id),
    )
    return cursor.rowcount == 1


async def get_reply(conn: Connection, reply_id: str) -> dict | None:
    data = await fetch_value(conn, "SELECT data FROM interactions WHERE id = ? AND kind = 'reply'", (reply_id,))
    return jsonio.loads(data) if data else None


async def delete_by_author(conn: Connection, interaction_id: str, actor_id: str) -> int:
    """Forget a reply (by its Note id) or reaction (by its activity id), only at its author's word."""
    cursor = await conn.execute("DELETE FROM interactions WHERE id = ? AND actor_id = ?", (interaction_id, actor_id))
    return cursor.rowcount


async def delete_everything_of(conn: Connection, actor_id: str) -> int:
    """The account is gone: its replies, likes and boosts go with it."""
    cursor = await conn.execute("DELETE FROM interactions WHERE actor_id = ?", (actor_id,))
    return cursor.rowcount


async def add_reaction(
    conn: Connection, *, kind: str, activity_id: str, object_id: str, actor_id: str, now: float
) -> bool:
    """A like or boost; a second one by the same actor of the same object changes nothing."""
    cursor = await conn.execute(
        "INSERT INTO interactions (id, kind, object_id, actor_id, visibility, published, received_at)"
        " VALUES (?, ?, ?, ?, 'public', ?, ?) ON CONFLICT DO NOTHING",
        (activity_id, kind, object_id, actor_id, now, now),
    )
    return cursor.rowcount == 1


async def remove_reaction(
    conn: Connection, *, kind: str, actor_id: str, activity_id: str | None, object_id: str | None
) -> int:
    """Undo of a like or boost: by its activity id, or by what it reacted to (ids differ between servers)."""
    cursor = await conn.execute(
        "DELETE FROM interactions WHERE kind = ? AND actor_id = ? AND (id = ? OR object_id = ?)",
        (kind, actor_id, activity_id, object_id),
    )
    return cursor.rowcount


async def counts(conn: Connection, object_id: str) -> Counts:
    rows = await fetch_all(
        conn,
        "SELECT kind, COUNT(*) AS n FROM interactions WHERE object_id = ?"
        " AND (kind != 'reply' OR visibility IN ('public', 'unlisted')) GROUP BY kind",
        (object_id,),
    )
    by_kind = {row["kind"]: row["n"] for row in rows}
    return Counts(replies=by_kind.get("reply", 0), likes=by_kind.get("like", 0), shares=by_kind.get("announce", 0))


async def page_thread(conn: Connection, object_id: str, *, offset: int = 0, limit: int = 20) -> list[dict]:
    """The public and unlisted replies to ``object_id``, oldest first, as received (sanitised) Notes."""
    rows = await fetch_all(
        conn,
        "SELECT data FROM interactions WHERE object_id = ? AND kind = 'reply' AND visibility IN ('public', 'unlisted')"
        " ORDER BY published, seq LIMIT ? OFFSET ?",
        (object_id, limit, offset),
    )
    return [jsonio.loads(row["data"]) for row in rows]


def collections_of(object_id: str, totals: Counts) -> dict:
    """The ``replies``, ``likes`` and ``shares`` properties of a served object, with live totals."""
    return {
        "replies": {
            "id": f"{object_id}/replies",
            "type": "OrderedCollection",
            "totalItems": totals.replies,
            "first": f"{object_id}/replies?page=1",
        },
        "likes": {"id": f"{object_id}/likes", "type": "Collection", "totalItems": totals.likes},
        "shares": {"id": f"{object_id}/shares", "type": "Collection", "totalItems": totals.shares},
    }
