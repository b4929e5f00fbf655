"""SQL for ``inbox_items``: everything the node acknowledged, and how far its processing got.

States: ``queued`` (due at ``next_attempt_at``) -> ``done`` | ``dead``; a failed attempt
stays ``queued`` with a later ``next_attempt_at``. Claiming a row pushes its
``next_attempt_at`` forward by the lease, so a worker that dies mid-item leaves a row that
becomes due again when the lease runs out (at once when the node starts again with no other
process running: :func:`release_leases`; a process starting beside live ones cannot tell theirs
from a dead one's and waits for the lease: :mod:`node.core.processes`): nothing acknowledged is lost. One partial index
(``state = 'queued'``, by due time) serves the claim, however large the table grows.
"""

from __future__ import annotations

from federation import jsonio
from node.core.db import Connection, Row, dialects, fetch_all, fetch_value

# Pruning (node.core.retention): items processed (done or dead) before the cutoff, by window of
# seq; an item still queued (acknowledged, not yet processed) is never deleted, however old.
PRUNE_TABLE = "inbox_items"
PRUNE_ARRIVAL = "received_at"
PRUNE_ENDED = "state IN ('done', 'dead') AND finished_at < ?"

# Named, so that the benchmarks EXPLAIN exactly what runs (benchmarks/bench_growth.py). On PostgreSQL
# several processes claim at once: the rows chosen are locked as they are read, and rows another
# claim holds are skipped, not waited for (nor claimed twice: without the lock, a second UPDATE would
# wait for the first and then take the same rows, its IN list read before the first committed).
CLAIM_DUE_SQL = dialects(
    sqlite="UPDATE inbox_items SET next_attempt_at = ?, attempts = attempts + 1"
    " WHERE seq IN (SELECT seq FROM inbox_items WHERE state = 'queued' AND next_attempt_at <= ?"
    "               ORDER BY next_attempt_at, seq LIMIT ?)"
    " RETURNING seq, activity_id, recipient, actor_id, type, body, attempts, received_at",
    postgres="UPDATE inbox_items SET next_attempt_at = ?, attempts = attempts + 1"
    " WHERE seq IN (SELECT seq FROM inbox_items WHERE state = 'queued' AND next_attempt_at <= ?"
    "               ORDER BY next_attempt_at, seq LIMIT ? FOR UPDATE SKIP LOCKED)"
    " RETURNING seq, activity_id, recipient, actor_id, type, body, attempts, received_at",
)

#: PostgreSQL: the claimed rows this process still holds (not claimed again since, not finished),
#: locked until the caller's transaction ends, so no other claim can take them meanwhile.
STILL_CLAIMED_SQL = (
    "SELECT i.seq FROM inbox_items i"
    " JOIN jsonb_to_recordset(?::jsonb) AS c(seq bigint, attempts bigint) ON c.seq = i.seq AND c.attempts = i.attempts"
    " WHERE i.state = 'queued' FOR UPDATE OF i"
)


#: A whole batch in ONE statement: the rows travel as one JSON array, so SQLite inserts them all
#: in one step. ``executemany`` steps once per row, and each step gives up and takes back
#: Python's GIL: on a busy event loop every take-back waits for the loop's thread to let go,
#: so a batch of 50 rows paid 50 waits. (``WHERE true`` keeps ``ON CONFLICT`` from reading as
#: a join's ``ON``.) Rows keep the array's order, so ``seq`` is still arrival order.
INSERT_BATCH_SQL = dialects(
    sqlite="INSERT INTO inbox_items (activity_id, recipient, actor_id, type, body, received_at, state, next_attempt_at)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, 'queued', value ->> 5"
    " FROM json_each(?) WHERE true ORDER BY key ON CONFLICT (activity_id) DO NOTHING",
    postgres="INSERT INTO inbox_items (activity_id, recipient, actor_id, type, body, received_at, state, next_attempt_at)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, (value ->> 5)::float8, 'queued',"
    " (value ->> 5)::float8 FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS t(value, key) ORDER BY key"
    " ON CONFLICT (activity_id) DO NOTHING",
)


def insert_batch_statement(rows: list[tuple[str, str, str, str, str, float]]) -> tuple[str, tuple[str]]:
    """The statement and parameters that store many received activities at once (one atomic step):
    rows are (activity_id, recipient, actor_id, type, body, received_at)."""
    return INSERT_BATCH_SQL, (jsonio.dumps_str(rows),)


async def claim_due(conn: Connection, *, now: float, lease_seconds: float, limit: int) -> list[Row]:
    return await fetch_all(conn, CLAIM_DUE_SQL, (now + lease_seconds, now, limit))


async def still_claimed(conn: Connection, claims: list[tuple[int, int]]) -> set[int]:
    """Of ``claims`` (seq, attempts as claimed), the rows still this claim's, locked in the caller's
    transaction (PostgreSQL only: a lease that ran out under a slow worker may have let another
    process claim a row meanwhile; that one's effects then count, and this one's are dropped)."""
    if not claims:
        return set()
    held = jsonio.dumps_str([{"seq": seq, "attempts": attempts} for seq, attempts in claims])
    return {row["seq"] for row in await fetch_all(conn, STILL_CLAIMED_SQL, (held,))}


RELEASE_LEASES_SQL = dialects(
    sqlite="UPDATE inbox_items SET next_attempt_at = MIN(received_at, ?)"
    " WHERE state = 'queued' AND next_attempt_at > ? AND next_attempt_at <= ?",
    postgres="UPDATE inbox_items SET next_attempt_at = LEAST(received_at, ?)"
    " WHERE state = 'queued' AND next_attempt_at > ? AND next_attempt_at <= ?",
)


async def release_leases(conn: Connection, *, now: float, lease_seconds: float) -> int:
    """At start, make due now every queued row due within one lease: the rows a killed process had
    claimed (their lease would otherwise hold them back for ``lease_seconds``), and retries due soon anyway.
    They are due from when they were received, so they keep their place before what came after them
    (a member's first ballot, interrupted by the crash, is still counted before a second one)."""
    cursor = await conn.execute(RELEASE_LEASES_SQL, (now, now, now + lease_seconds))
    return cursor.rowcount


async def mark_done(conn: Connection, seq: int, now: float) -> None:
    await conn.execute(
        "UPDATE inbox_items SET state = 'done', finished_at = ?, last_error = NULL WHERE seq = ? AND state = 'queued'",
        (now, seq),
    )


async def mark_done_many(conn: Connection, seqs: list[int], now: float) -> None:
    """One statement for the whole batch (see :data:`INSERT_BATCH_SQL` for why not ``executemany``)."""
    await conn.execute(MARK_DONE_MANY_SQL, (now, jsonio.dumps_str(seqs)))


MARK_DONE_MANY_SQL = dialects(
    sqlite="UPDATE inbox_items SET state = 'done', finished_at = ?, last_error = NULL"
    " WHERE seq IN (SELECT value FROM json_each(?)) AND state = 'queued'",
    postgres="UPDATE inbox_items SET state = 'done', finished_at = ?, last_error = NULL"
    " WHERE seq IN (SELECT jsonb_array_elements_text(?::jsonb)::bigint) AND state = 'queued'",
)


async def mark_retry(conn: Connection, seq: int, *, at: float, error: str) -> None:
    await conn.execute(
        "UPDATE inbox_items SET next_attempt_at = ?, last_error = ? WHERE seq = ? AND state = 'queued'",
        (at, error[:2000], seq),
    )


#: waiting items made due now; on PostgreSQL a row another process's batch holds is skipped, never waited
#: for (that batch is handling it: a wait here could close a cycle of locks with it)
RETRY_WAITING_NOW_SQL = dialects(
    sqlite="UPDATE inbox_items SET next_attempt_at = ?"
    " WHERE state = 'queued' AND last_error IS NOT NULL AND actor_id = ? AND type = ? AND next_attempt_at > ?",
    postgres="UPDATE inbox_items SET next_attempt_at = ? WHERE seq IN (SELECT seq FROM inbox_items"
    " WHERE state = 'queued' AND last_error IS NOT NULL AND actor_id = ? AND type = ? AND next_attempt_at > ?"
    " FOR UPDATE SKIP LOCKED)",
)


async def retry_waiting_now(conn: Connection, *, actor_id: str, kind: str, now: float) -> int:
    """Items of ``kind`` from ``actor_id`` waiting for a retry (one that arrived before what it depends
    on, which has now come) become due at once instead of after their backoff; how many. Only items
    that failed once (``last_error``): one claimed for its first attempt is left to its worker."""
    cursor = await conn.execute(RETRY_WAITING_NOW_SQL, (now, actor_id, kind, now))
    return cursor.rowcount


async def mark_dead(conn: Connection, seq: int, *, error: str, now: float) -> None:
    await conn.execute(
        "UPDATE inbox_items SET state = 'dead', last_error = ?, finished_at = ? WHERE seq = ? AND state = 'queued'",
        (error[:2000], now, seq),
    )


async def count_by_state(conn: Connection) -> dict[str, int]:
    rows = await fetch_all(conn, "SELECT state, COUNT(*) AS n FROM inbox_items GROUP BY state")
    return {row["state"]: row["n"] for row in rows}


async def count_for_recipients(conn: Connection, recipients: tuple[str, ...]) -> int:
    marks = ",".join("?" * len(recipients))
    return await fetch_value(conn, f"SELECT COUNT(*) FROM inbox_items WHERE recipient IN ({marks})", recipients)


async def page_for_recipients(conn: Connection, recipients: tuple[str, ...], *, offset: int, limit: int) -> list[Row]:
    marks = ",".join("?" * len(recipients))
    return await fetch_all(
        conn,
        f"SELECT body, state, last_error FROM inbox_items WHERE recipient IN ({marks})"
        " ORDER BY seq DESC LIMIT ? OFFSET ?",
        (*recipients, limit, offset),
    )


async def get_by_activity_id(conn: Connection, activity_id: str):
    rows = await fetch_all(conn, "SELECT * FROM inbox_items WHERE activity_id = ?", (activity_id,))
    return rows[0] if rows else None
