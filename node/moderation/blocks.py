"""Domain and actor blocks, set by the admin.

A blocked domain covers its subdomains; a blocked actor is one id. The inbox refuses what
blocked hosts and actors send (403, before any signature work for domains), nothing is
delivered to them, and blocking drops them from followers and members. The rows are the
truth; :class:`BlockList` keeps them in memory for the checks on every request, in each process
of the node: a change is read again where it was made and, through a ``blocks`` notification,
in the others (``node.moderation.admin_api.blocks_changed``, :mod:`node.core.processes`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from node.core.db import Connection, Row, Store, fetch_all


def normalise_domain(value: str) -> str | None:
    """A bare host name (lower case, no port, no scheme), or None if it is not one."""
    value = value.strip().lower()
    if "://" in value:
        value = urlsplit(value).hostname or ""
    value = value.split(":")[0].strip(".")
    if not value or len(value) > 253 or any(not part or len(part) > 63 for part in value.split(".")):
        return None
    if not all(ch.isalnum() or ch in "-." for ch in value):
        return None
    return value


async def insert_block(conn: Connection, *, kind: str, value: str, reason: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO blocks (kind, value, reason, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (kind, value) DO UPDATE SET reason = excluded.reason",
        (kind, value, reason, now),
    )


async def delete_block(conn: Connection, *, kind: str, value: str) -> int:
    cursor = await conn.execute("DELETE FROM blocks WHERE kind = ? AND value = ?", (kind, value))
    return int(cursor.rowcount)


async def all_blocks(conn: Connection) -> list[Row]:
    return await fetch_all(conn, "SELECT kind, value, reason, created_at FROM blocks ORDER BY created_at DESC")


def host_within(host: str | None, domain: str) -> bool:
    """Is ``host`` (maybe with a port) the blocked domain or one of its subdomains?"""
    if not host:
        return False
    name = host.lower().rsplit(":", 1)[0] if host.count(":") == 1 else host.lower()
    return name == domain or name.endswith("." + domain)


async def drop_relations(conn: Connection, *, kind: str, value: str) -> None:
    """A blocked actor or domain follows no one here and is no member; no delivery stays queued."""

    def concerned(actor_id: str) -> bool:
        return actor_id == value if kind == "actor" else host_within(urlsplit(actor_id).netloc, value)

    followers = [r["follower_id"] for r in await fetch_all(conn, "SELECT DISTINCT follower_id FROM followers")]
    following = [r["target_id"] for r in await fetch_all(conn, "SELECT DISTINCT target_id FROM following")]
    members = [r["actor_id"] for r in await fetch_all(conn, "SELECT actor_id FROM members WHERE state != 'removed'")]
    for actor_id in filter(concerned, followers):
        await conn.execute("DELETE FROM followers WHERE follower_id = ?", (actor_id,))
    for actor_id in filter(concerned, following):
        await conn.execute("DELETE FROM following WHERE target_id = ?", (actor_id,))
    for actor_id in filter(concerned, members):
        await conn.execute("UPDATE members SET state = 'removed' WHERE actor_id = ?", (actor_id,))
    if kind == "domain":
        hosts = [
            r["host"] for r in await fetch_all(conn, "SELECT DISTINCT host FROM deliveries WHERE state = 'queued'")
        ]
        for host in (h for h in hosts if host_within(h, value)):
            await conn.execute(
                "UPDATE deliveries SET state = 'dead', last_error = 'the host is blocked'"
                " WHERE state = 'queued' AND host = ?",
                (host,),
            )


class BlockList:
    def __init__(self) -> None:
        self.domains: set[str] = set()
        self.actors: set[str] = set()

    async def load(self, db: Store) -> None:
        rows = await all_blocks(db.reader)
        self.domains = {r["value"] for r in rows if r["kind"] == "domain"}
        self.actors = {r["value"] for r in rows if r["kind"] == "actor"}

    def host_blocked(self, host: str | None) -> bool:
        if not host or not self.domains:
            return False
        name = host.lower().rsplit(":", 1)[0] if host.count(":") == 1 else host.lower()
        parts = name.split(".")
        return any(".".join(parts[i:]) in self.domains for i in range(len(parts)))

    def url_blocked(self, url: str | None) -> bool:
        if not url or not (self.actors or self.domains):
            return False
        return url in self.actors or self.host_blocked(urlsplit(url).hostname)

    def blocked(self, url: str, hostname: str | None) -> bool:
        """``url_blocked`` for a caller that has already split the URL."""
        return bool(self.actors or self.domains) and (url in self.actors or self.host_blocked(hostname))
