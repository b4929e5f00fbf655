"""SQL for ``inbox_items``: everything the node acknowledged, and how far its processing got.

States: ``queued`` (due at ``next_attempt_at``) -> ``done`` | ``dead``; a failed attempt
stays ``queued`` with a later ``next_attempt_at``. Claiming a row pushes its
``next_attempt_at`` forward by the lease, so a worker that dies mid-item leaves a row that
becomes due again when the lease runs out (at once when the node starts again:
:func:`release_leases`): nothing acknowledged is lost. One partial index
(``state = 'queued'``, by due time) serves the claim, however large the table grows.
"""

from __future__ import annotations

import aiosqlite

from node.db import fetch_all, fetch_value



# Named, so that the benchmarks EXPLAIN exactly what runs (benchmarks/bench_growth.py).
INSERT_SQL = ("INSERT INTO inbox_items (activity_id, recipient, actor_id, type, body, received_at, state, next_attempt_at)"
              " VALUES (?, ?, ?, ?, ?, ?, 'queued', ?) ON CONFLICT (activity_id) DO NOTHING")
CLAIM_DUE_SQL = ("UPDATE inbox_items SET next_attempt_at = ?, attempts = attempts + 1"
                 " WHERE seq IN (SELECT seq FROM inbox_items WHERE state = 'queued' AND next_attempt_at <= ?"
                 "               ORDER BY next_attempt_at LIMIT ?)"
                 " RETURNING seq, activity_id, recipient, actor_id, type, body, attempts, received_at")


async def insert_item(conn: aiosqlite.Connection, *, activity_id: str, recipient: str, actor_id: str, type_: str,
                      body: str, now: float) -> bool:
    """Store a received activity; False when its id was already stored (a harmless repeat)."""
    cursor = await conn.execute(INSERT_SQL, (activity_id, recipient, actor_id, type_, body, now, now))
    return cursor.rowcount == 1


async def insert_items(conn: aiosqlite.Connection, rows: list[tuple[str, str, str, str, str, float]]) -> None:
    """Store many received activities at once: (activity_id, recipient, actor_id, type, body, now)."""
    await conn.executemany(INSERT_SQL, [(*row, row[5]) for row in rows])


async def claim_due(conn: aiosqlite.Connection, *, now: float, lease_seconds: float, limit: int) -> list[aiosqlite.Row]:
    return await fetch_all(conn, CLAIM_DUE_SQL, (now + lease_seconds, now, limit))


async def release_leases(conn: aiosqlite.Connection, *, now: float, lease_seconds: float) -> int:
    """At start, make due now every queued row due within one lease: the rows a killed process had
    claimed (their lease would otherwise hold them back for ``lease_seconds``), and retries due soon anyway.
    They are due from when they were received, so they keep their place before what came after them
    (a member's first ballot, interrupted by the crash, is still counted before a second one)."""
    cursor = await conn.execute(
        "UPDATE inbox_items SET next_attempt_at = MIN(received_at, ?)"
        " WHERE state = 'queued' AND next_attempt_at > ? AND next_attempt_at <= ?",
        (now, now, now + lease_seconds),
    )
    return cursor.rowcount


async def mark_done(conn: aiosqlite.Connection, seq: int, now: float) -> None:
    await conn.execute(
        "UPDATE inbox_items SET state = 'done', finished_at = ?, last_error = NULL WHERE seq = ? AND state = 'queued'",
        (now, seq),
    )


async def mark_done_many(conn: aiosqlite.Connection, seqs: list[int], now: float) -> None:
    await conn.executemany(
        "UPDATE inbox_items SET state = 'done', finished_at = ?, last_error = NULL WHERE seq = ? AND state = 'queued'",
        [(now, seq) for seq in seqs],
    )


async def mark_retry(conn: aiosqlite.Connection, seq: int, *, at: float, error: str) -> None:
    await conn.execute(
        "UPDATE inbox_items SET next_attempt_at = ?, last_error = ? WHERE seq = ? AND state = 'queued'",
        (at, error[:2000], seq),
    )


async def mark_dead(conn: aiosqlite.Connection, seq: int, *, error: str, now: float) -> None:
    await conn.execute(
        "UPDATE inbox_items SET state = 'dead', last_error = ?, finished_at = ? WHERE seq = ? AND state = 'queued'",
        (error[:2000], now, seq),
    )


async def count_by_state(conn: aiosqlite.Connection) -> dict[str, int]:
    rows = await fetch_all(conn, "SELECT state, COUNT(*) AS n FROM inbox_items GROUP BY state")
    return {row["state"]: row["n"] for row in rows}


async def count_for_recipients(conn: aiosqlite.Connection, recipients: tuple[str, ...]) -> int:
    marks = ",".join("?" * len(recipients))
    return await fetch_value(conn, f"SELECT COUNT(*) FROM inbox_items WHERE recipient IN ({marks})", recipients)


async def page_for_recipients(conn: aiosqlite.Connection, recipients: tuple[str, ...], *, offset: int,
                              limit: int) -> list[aiosqlite.Row]:
    marks = ",".join("?" * len(recipients))
    return await fetch_all(
        conn,
        f"SELECT body, state, last_error FROM inbox_items WHERE recipient IN ({marks})"
        " ORDER BY seq DESC LIMIT ? OFFSET ?",
        (*recipients, limit, offset),
    )


async def get_by_activity_id(conn: aiosqlite.Connection, activity_id: str):
    rows = await fetch_all(conn, "SELECT * FROM inbox_items WHERE activity_id = ?", (activity_id,))
    return rows[0] if rows else None
