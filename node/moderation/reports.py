"""Reports (``Flag``): received from other servers about their users' view of ours, and sent.

A received report is kept for the admin (``GET /admin/reports``) with who sent it, whom and
what it concerns and the reason given; a report the admin sends goes to the reported
actor's server as a ``Flag`` from the chapter, naming the actor and the objects.
"""

from __future__ import annotations

from federation import jsonio
from node.core.clock import from_epoch, iso
from node.core.db import Connection, Row, fetch_all


async def insert_report(
    conn: Connection,
    *,
    activity_id: str,
    direction: str,
    reporter: str,
    targets: list[str],
    content: str,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO reports (activity_id, direction, reporter, targets, content, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (activity_id) DO NOTHING",
        (activity_id, direction, reporter, jsonio.dumps_str(targets), content[:5000], now),
    )


async def all_reports(conn: Connection, limit: int = 200) -> list[Row]:
    return await fetch_all(conn, "SELECT * FROM reports ORDER BY created_at DESC, activity_id LIMIT ?", (limit,))


def as_json(row) -> dict:
    return {
        "id": row["activity_id"],
        "direction": row["direction"],
        "reporter": row["reporter"],
        "targets": jsonio.loads(row["targets"]),
        "content": row["content"],
        "created": iso(from_epoch(row["created_at"])),
    }
