"""This node's links in the tree: the ``branch_links`` table and its queries.

One row per (peer, role): ``role`` says what the PEER is to us (``parent``: we asked it to
be our parent; ``child``: it asked us). States: ``pending`` -> ``linked`` | ``refused``;
``linked`` -> ``unlinked``; a new Join makes any row ``pending`` again. At most one row with
role ``parent`` is pending or linked (a unique index holds it). ``collection`` is the peer's
``children`` collection (the ``target`` of the reports we send a parent). A refused row keeps
its ``reason`` in English (what the ``Reject`` said, what ``/admin/children`` shows) and, when
this node made it, the reason as a message beside it (``reason_message``,
``node.core.i18n.message_json``): :attr:`Link.reason` reads back that message, which a page
shows translated; a reason another node sent stays its text.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.core.db import Connection, fetch_all, fetch_one, fetch_value
from node.core.i18n import message_from_json, message_json

STATES = ("pending", "linked", "refused", "unlinked")


@dataclass(frozen=True)
class Link:
    peer_id: str
    role: str
    state: str
    join_id: str
    level: str | None
    reason: str | None
    inbox: str | None
    shared_inbox: str | None
    collection: str | None
    requested_at: float
    linked_at: float | None

    @property
    def delivery_inbox(self) -> str | None:
        return self.shared_inbox or self.inbox

    def as_json(self) -> dict:
        return {
            "id": self.peer_id,
            "join": self.join_id,
            "level": self.level,
            "state": self.state,
            "reason": None if self.reason is None else str(self.reason),  # the English text
            "requested": self.requested_at,
            "linked": self.linked_at,
        }


def _link(row) -> Link | None:
    if row is None:
        return None
    return Link(
        row["peer_id"],
        row["role"],
        row["state"],
        row["join_id"],
        row["level"],
        message_from_json(row["reason_message"], row["reason"]) if row["reason"] is not None else None,
        row["inbox"],
        row["shared_inbox"],
        row["collection"],
        row["requested_at"],
        row["linked_at"],
    )


async def request(
    conn: Connection,
    *,
    peer_id: str,
    role: str,
    join_id: str,
    level: str | None,
    inbox: str | None,
    shared_inbox: str | None,
    collection: str | None,
    now: float,
) -> None:
    """A link asked for (by us of a parent, or by a child of us): the row is pending with this Join."""
    await conn.execute(
        "INSERT INTO branch_links (peer_id, role, state, join_id, level, inbox, shared_inbox, collection,"
        " requested_at, changed_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (peer_id, role) DO UPDATE SET state = 'pending', join_id = excluded.join_id,"
        " level = excluded.level, reason = NULL, reason_message = NULL, inbox = COALESCE(excluded.inbox, branch_links.inbox),"
        " shared_inbox = COALESCE(excluded.shared_inbox, branch_links.shared_inbox),"
        " collection = COALESCE(excluded.collection, branch_links.collection),"
        " requested_at = excluded.requested_at, linked_at = NULL, changed_at = excluded.changed_at",
        (peer_id, role, join_id, level, inbox, shared_inbox, collection, now, now),
    )


async def set_state(
    conn: Connection, peer_id: str, role: str, state: str, now: float, *, reason: str | None = None
) -> None:
    """A link's new state; ``reason`` (a refusal's) kept in English, and as a message when it is one."""
    await conn.execute(
        "UPDATE branch_links SET state = ?, reason = ?, reason_message = ?, changed_at = ?,"
        " linked_at = CASE WHEN ? = 'linked' THEN ? ELSE linked_at END WHERE peer_id = ? AND role = ?",
        (state, None if reason is None else str(reason), message_json(reason), now, state, now, peer_id, role),
    )


async def get(conn: Connection, peer_id: str, role: str) -> Link | None:
    return _link(await fetch_one(conn, "SELECT * FROM branch_links WHERE peer_id = ? AND role = ?", (peer_id, role)))


async def require(conn: Connection, peer_id: str, role: str) -> Link:
    """The link just written (``request``, ``set_state``) in this transaction: always there."""
    link = await get(conn, peer_id, role)
    if link is None:
        raise LookupError(f"no {role} link with {peer_id}, though this transaction wrote one")
    return link


async def by_join(conn: Connection, join_id: str, role: str) -> Link | None:
    return _link(await fetch_one(conn, "SELECT * FROM branch_links WHERE join_id = ? AND role = ?", (join_id, role)))


async def linked_child(conn: Connection, peer_id: str) -> Link | None:
    link = await get(conn, peer_id, "child")
    return link if link is not None and link.state == "linked" else None


async def linked_child_ids(conn: Connection) -> frozenset[str]:
    rows = await fetch_all(conn, "SELECT peer_id FROM branch_links WHERE role = 'child' AND state = 'linked'")
    return frozenset(row["peer_id"] for row in rows)


async def current_parent(conn: Connection) -> Link | None:
    """Our parent, linked or asked for (there is at most one)."""
    return _link(
        await fetch_one(conn, "SELECT * FROM branch_links WHERE role = 'parent' AND state IN ('pending', 'linked')")
    )


async def latest_parent(conn: Connection) -> Link | None:
    """Our parent, or the last one we asked or had (refused, unlinked): for the admin's list."""
    current = await current_parent(conn)
    return current or _link(
        await fetch_one(conn, "SELECT * FROM branch_links WHERE role = 'parent' ORDER BY changed_at DESC LIMIT 1")
    )


async def linked_parent(conn: Connection) -> Link | None:
    link = await current_parent(conn)
    return link if link is not None and link.state == "linked" else None


async def children_in_state(conn: Connection, state: str) -> list[Link]:
    """Children in one state, newest first (by when linked, else asked)."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM branch_links WHERE role = 'child' AND state = ?"
        " ORDER BY COALESCE(linked_at, requested_at) DESC, peer_id",
        (state,),
    )
    return [link for link in map(_link, rows) if link is not None]


async def count_linked_children(conn: Connection) -> int:
    return await fetch_value(conn, "SELECT COUNT(*) FROM branch_links WHERE role = 'child' AND state = 'linked'")


async def page_linked_children(conn: Connection, *, offset: int, limit: int) -> list[str]:
    rows = await fetch_all(
        conn,
        "SELECT peer_id FROM branch_links WHERE role = 'child' AND state = 'linked'"
        " ORDER BY linked_at DESC, peer_id LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [row["peer_id"] for row in rows]
