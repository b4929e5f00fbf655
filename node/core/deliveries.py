"""SQL for ``deliveries`` and ``host_backoff``.

A delivery row is one (activity, destination inbox) pair, unique, written in the same
transaction as the activity. States: ``queued`` -> ``done`` | ``dead``; a failed attempt
stays ``queued`` with a later ``next_attempt_at``. Claiming pushes ``next_attempt_at``
forward by the lease (a crashed worker's rows come due again by themselves, and at once when
the node starts again with no other process running: :func:`release_leases`; several PostgreSQL
processes claim with ``SKIP LOCKED``: :mod:`node.core.processes`) and skips hosts
in backoff. The partial index on due time keeps the claim flat as the table grows.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from federation import jsonio
from node.core.db import Connection, Row, dialects, fetch_all, fetch_value

ENQUEUE_SQL = (
    "INSERT INTO deliveries (activity_id, inbox, host, signer, state, next_attempt_at, created_at)"
    " VALUES (?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT (inbox, activity_id) DO NOTHING"
)


async def enqueue(conn: Connection, *, activity_id: str, inboxes: list[str], signer: str, now: float) -> None:
    await enqueue_many(conn, [(activity_id, inbox) for inbox in inboxes], signer=signer, now=now)


async def enqueue_many(conn: Connection, pairs: list[tuple[str, str]], *, signer: str, now: float) -> None:
    """One row per ``(activity id, inbox)``, all signed by ``signer``, in one statement."""
    await conn.executemany(
        ENQUEUE_SQL,
        [(activity_id, inbox, urlsplit(inbox).netloc.lower(), signer, now, now) for activity_id, inbox in pairs],
    )


# Pruning (node.core.retention): rows delivered or given up (done or dead) before the cutoff, by
# window of seq; a row still queued (a host in backoff) is never deleted.
PRUNE_TABLE = "deliveries"
PRUNE_ARRIVAL = "created_at"
PRUNE_ENDED = "state IN ('done', 'dead') AND finished_at < ?"

# An older Update of the same object still queued for an inbox (a host in backoff, say) is
# dropped when a newer one is queued for it: the newer carries the whole object, so the older
# would only be sent to be overwritten (Synapse drops superseded events in catch-up the same
# way). Marked dead with the reason, so the admin's view still shows what became of it; a row
# already in flight is delivered anyway (its result is not recorded: it is no longer queued).
# Only queued rows are read (the partial index by host, then each row's activity by its id),
# never a host's delivered history nor the author's every activity (hence INDEXED BY and the
# unary + that keeps the planner off objects_by_author).
SUPERSEDE_UPDATES_SQL = dialects(
    sqlite="UPDATE deliveries SET state = 'dead', last_error = ?, finished_at = ?"
    " WHERE seq IN (SELECT d.seq FROM deliveries d INDEXED BY deliveries_queued_by_host"
    "               JOIN objects o ON o.id = d.activity_id"
    "               WHERE d.state = 'queued' AND d.host IN (SELECT value FROM json_each(?))"
    "                 AND d.inbox IN (SELECT value FROM json_each(?)) AND d.activity_id != ?"
    "                 AND +o.kind = 'activity' AND +o.type = 'Update' AND +o.object_id = ? AND +o.author = ?)",
    # PostgreSQL's planner needs no steering (no INDEXED BY, no unary +)
    postgres="UPDATE deliveries SET state = 'dead', last_error = ?, finished_at = ?"
    " WHERE seq IN (SELECT d.seq FROM deliveries d JOIN objects o ON o.id = d.activity_id"
    "               WHERE d.state = 'queued' AND d.host IN (SELECT jsonb_array_elements_text(?::jsonb))"
    "                 AND d.inbox IN (SELECT jsonb_array_elements_text(?::jsonb)) AND d.activity_id != ?"
    "                 AND o.kind = 'activity' AND o.type = 'Update' AND o.object_id = ? AND o.author = ?)",
)


async def drop_superseded_updates(
    conn: Connection, *, activity_id: str, object_id: str, author: str, inboxes: list[str], now: float
) -> int:
    """Drop the older ``Update``s of ``object_id`` by ``author`` still queued for ``inboxes`` (where the
    newer ``activity_id`` has just been queued); returns how many."""
    hosts = sorted({urlsplit(inbox).netloc.lower() for inbox in inboxes})
    cursor = await conn.execute(
        SUPERSEDE_UPDATES_SQL,
        (
            f"superseded by a newer Update of the same object ({activity_id})",
            now,
            jsonio.dumps_str(hosts),
            jsonio.dumps_str(inboxes),
            activity_id,
            object_id,
            author,
        ),
    )
    return int(cursor.rowcount)


# Named, so that the benchmarks EXPLAIN exactly what runs (benchmarks/bench_growth.py).
# On PostgreSQL the rows chosen are locked as they are read and rows another claim holds are skipped
# (several delivery workers claim at once: see node.core.inbox_items.CLAIM_DUE_SQL); the paused
# hosts are skipped as on SQLite.
CLAIM_DUE_SQL = dialects(
    sqlite="UPDATE deliveries SET next_attempt_at = ?, attempts = attempts + 1"
    " WHERE seq IN (SELECT d.seq FROM deliveries d"
    "               WHERE d.state = 'queued' AND d.next_attempt_at <= ?"
    "                 AND NOT EXISTS (SELECT 1 FROM host_backoff b WHERE b.host = d.host AND b.retry_at > ?)"
    "               ORDER BY d.next_attempt_at, d.seq LIMIT ?)"
    " RETURNING seq, activity_id, inbox, host, signer, attempts, created_at",
    postgres="UPDATE deliveries SET next_attempt_at = ?, attempts = attempts + 1"
    " WHERE seq IN (SELECT d.seq FROM deliveries d"
    "               WHERE d.state = 'queued' AND d.next_attempt_at <= ?"
    "                 AND NOT EXISTS (SELECT 1 FROM host_backoff b WHERE b.host = d.host AND b.retry_at > ?)"
    "               ORDER BY d.next_attempt_at, d.seq LIMIT ? FOR UPDATE OF d SKIP LOCKED)"
    " RETURNING seq, activity_id, inbox, host, signer, attempts, created_at",
)


async def claim_due(conn: Connection, *, now: float, lease_seconds: float, limit: int) -> list[Row]:
    return await fetch_all(conn, CLAIM_DUE_SQL, (now + lease_seconds, now, now, limit))


async def release_leases(conn: Connection, *, now: float, lease_seconds: float) -> int:
    """At start, make due now every queued row due within one lease: the rows a killed process had
    claimed (their lease would otherwise hold them back for ``lease_seconds``), and retries due soon anyway.
    Hosts in backoff stay paused: the claim still skips them."""
    cursor = await conn.execute(
        "UPDATE deliveries SET next_attempt_at = ? WHERE state = 'queued' AND next_attempt_at > ? AND next_attempt_at <= ?",
        (now, now, now + lease_seconds),
    )
    return int(cursor.rowcount)


MARK_DONE_SQL = (
    "UPDATE deliveries SET state = 'done', last_status = ?, last_error = NULL, finished_at = ?"
    " WHERE seq = ? AND state = 'queued'"
)


async def mark_done(conn: Connection, seq: int, *, status: int, now: float) -> None:
    await conn.execute(MARK_DONE_SQL, (status, now, seq))


async def mark_done_many(conn: Connection, done: list[tuple[int, int | None]], *, now: float) -> None:
    """Each ``(seq, status)`` delivered, in one statement."""
    await conn.executemany(MARK_DONE_SQL, [(status, now, seq) for seq, status in done])


async def mark_retry(conn: Connection, seq: int, *, at: float, status: int | None, error: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET next_attempt_at = ?, last_status = ?, last_error = ? WHERE seq = ? AND state = 'queued'",
        (at, status, error[:2000], seq),
    )


async def mark_dead(conn: Connection, seq: int, *, status: int | None, error: str, now: float) -> None:
    await conn.execute(
        "UPDATE deliveries SET state = 'dead', last_status = ?, last_error = ?, finished_at = ?"
        " WHERE seq = ? AND state = 'queued'",
        (status, error[:2000], now, seq),
    )


async def release(conn: Connection, seq: int, *, now: float) -> None:
    """Give back a claimed row that was not attempted: due now, and the claim not counted."""
    await conn.execute(
        "UPDATE deliveries SET next_attempt_at = ?, attempts = attempts - 1 WHERE seq = ? AND state = 'queued'",
        (now, seq),
    )


async def count_by_state(conn: Connection) -> dict[str, int]:
    rows = await fetch_all(conn, "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
    return {row["state"]: row["n"] for row in rows}


async def deliveries_of(conn: Connection, activity_id: str) -> list[Row]:
    return await fetch_all(conn, "SELECT * FROM deliveries WHERE activity_id = ? ORDER BY seq", (activity_id,))


# --- host backoff -----------------------------------------------------------------------------


async def host_failures(conn: Connection, host: str) -> int:
    return await fetch_value(conn, "SELECT failures FROM host_backoff WHERE host = ?", (host,)) or 0


async def back_off_host(conn: Connection, host: str, *, retry_at: float, error: str) -> None:
    await conn.execute(
        "INSERT INTO host_backoff (host, failures, retry_at, last_error) VALUES (?, 1, ?, ?)"
        " ON CONFLICT (host) DO UPDATE SET failures = host_backoff.failures + 1, retry_at = excluded.retry_at,"
        " last_error = excluded.last_error",
        (host, retry_at, error[:500]),
    )


async def clear_host_backoff(conn: Connection, host: str, *, now: float) -> bool:
    """Forget a host's failures and make its queued deliveries due now; True if it was backed off."""
    cursor = await conn.execute("DELETE FROM host_backoff WHERE host = ?", (host,))
    if cursor.rowcount == 0:
        return False
    await conn.execute(
        "UPDATE deliveries SET next_attempt_at = ? WHERE host = ? AND state = 'queued' AND next_attempt_at > ?",
        (now, host, now),
    )
    return True


async def hosts_in_backoff(conn: Connection, *, now: float) -> list[Row]:
    return await fetch_all(
        conn, "SELECT host, failures, retry_at, last_error FROM host_backoff WHERE retry_at > ?", (now,)
    )
