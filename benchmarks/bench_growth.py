"""Growth: the inbox and the delivery queue must not slow down as their tables fill up.

Tables are pre-filled straight into the SQLite file with one recursive-CTE ``INSERT`` per
table (10 thousand and 1 million rows in each of ``inbox_items`` and ``deliveries``; 99 %
``done``, 1 % ``queued`` as retries due tomorrow), keys in insertion order so that a million
rows take seconds rather than minutes to write. Then, through the node's own store
functions on the node's own ``Database`` (aiosqlite, WAL, one write transaction each):

* insert a new inbox item (``inbox.store.insert_batch_statement`` with a batch of one, as the
  inbox intake runs it);
* claim the next due delivery (``outbox.store.claim_due``, limit 1);
* claim the next due inbox item (``inbox.store.claim_due``, limit 1).

Each is timed K times (median); before the claims, K due rows are queued so that each claim
really claims one. The baseline is the same operation on an empty table (holding only the K
rows being claimed); the ratio should stay near 1. ``EXPLAIN QUERY PLAN`` of each statement
is printed (and kept in the JSON): every one must go through an index, with no full scan.

Then the pruning (:mod:`node.core.retention`): twice the largest size written in arrival
order, the older half processed 60 days ago (past the default 30 days), one pass of the node's
pruner (how long, how many DELETEs, the longest one: the write lock is held that long at
most), and the three operations timed again on what is left.

End to end, the inbox load (:mod:`benchmarks.bench_inbox`) and the fan-out
(:mod:`benchmarks.bench_fanout`) run again on a node whose tables already hold a million
rows each, beside the same run on empty tables.

Run: ``python -m benchmarks.bench_growth [--quick]``.
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import time
import uuid
from pathlib import Path

from benchmarks import bench_fanout, bench_inbox
from benchmarks._support import LOOPBACK, free_port, make_actor_set, migrate_database, workdir
from benchmarks.report import Figure, run_standalone
from node.core import deliveries as outbox_store
from node.core import inbox_items as inbox_store

DETAILS: dict = {}
ROUNDS = 4

_FILL_INBOX = """
INSERT INTO inbox_items (activity_id, recipient, actor_id, type, body, received_at, state, attempts,
                         next_attempt_at, finished_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :rows)
SELECT 'https://remote.example/activities/' || printf('%09d', n), 'shared',
       'https://remote.example/users/u' || (n % 1000), 'Create', '{"type":"Create"}', :now - n * 0.01,
       CASE WHEN n % 100 = 0 THEN 'queued' ELSE 'done' END, 1,
       CASE WHEN n % 100 = 0 THEN :now + 86400 + n ELSE :now - n * 0.01 END,
       CASE WHEN n % 100 = 0 THEN NULL ELSE :now - n * 0.01 END
FROM seq
"""

_FILL_DELIVERIES = """
INSERT INTO deliveries (activity_id, inbox, host, signer, state, attempts, next_attempt_at, last_status,
                        created_at, finished_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :rows)
SELECT 'http://127.0.0.1:1/activities/' || printf('%06d', n % 1000),
       'https://h' || printf('%06d', n / 1000) || '.example/inbox', 'h' || printf('%06d', n / 1000) || '.example',
       'bench', CASE WHEN n % 100 = 0 THEN 'queued' ELSE 'done' END, 1,
       CASE WHEN n % 100 = 0 THEN :now + 86400 + n ELSE :now - n * 0.01 END, 202, :now - n * 0.01,
       CASE WHEN n % 100 = 0 THEN NULL ELSE :now - n * 0.01 END
FROM seq
"""

# For the prune: rows in arrival order (as a node writes them: seq grows with time), the first
# half processed long ago (60 days: past the default 30 days of retention), the second half
# within the last day; 1 % of each still queued (never pruned, however old).
_FILL_INBOX_AGED = """
INSERT INTO inbox_items (activity_id, recipient, actor_id, type, body, received_at, state, attempts,
                         next_attempt_at, finished_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :rows),
     aged(n, at) AS (SELECT n, CASE WHEN n <= :old THEN :now - 60 * 86400 + n * 0.01
                                    ELSE :now - 86400 + (n - :old) * 0.01 END FROM seq)
SELECT 'https://remote.example/activities/' || printf('%09d', n), 'shared',
       'https://remote.example/users/u' || (n % 1000), 'Create', '{"type":"Create"}', at,
       CASE WHEN n % 100 = 0 THEN 'queued' ELSE 'done' END, 1,
       CASE WHEN n % 100 = 0 THEN :now + 86400 + n ELSE at END,
       CASE WHEN n % 100 = 0 THEN NULL ELSE at + 1 END
FROM aged
"""

_FILL_DELIVERIES_AGED = """
INSERT INTO deliveries (activity_id, inbox, host, signer, state, attempts, next_attempt_at, last_status,
                        created_at, finished_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :rows),
     aged(n, at) AS (SELECT n, CASE WHEN n <= :old THEN :now - 60 * 86400 + n * 0.01
                                    ELSE :now - 86400 + (n - :old) * 0.01 END FROM seq)
SELECT 'http://127.0.0.1:1/activities/' || printf('%07d', n / 1000),
       'https://h' || printf('%06d', n % 1000) || '.example/inbox', 'h' || printf('%06d', n % 1000) || '.example',
       'bench', CASE WHEN n % 100 = 0 THEN 'queued' ELSE 'done' END, 1,
       CASE WHEN n % 100 = 0 THEN :now + 86400 + n ELSE at END, 202, at,
       CASE WHEN n % 100 = 0 THEN NULL ELSE at + 1 END
FROM aged
"""

# The statements the three operations run (the stores' own SQL), for EXPLAIN QUERY PLAN,
# with parameters bound to sample values.
_PLANS = {
    "insert inbox item": inbox_store.insert_batch_statement([("x", "shared", "a", "Create", "{}", 0.0)]),
    "claim next due delivery": (outbox_store.CLAIM_DUE_SQL, (0.0, 0.0, 0.0, 1)),
    "claim next due inbox item": (inbox_store.CLAIM_DUE_SQL, (0.0, 0.0, 1)),
}


def fill(database: Path, rows: int) -> float:
    """Write ``rows`` rows into each of inbox_items and deliveries; seconds taken."""
    began = time.perf_counter()
    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA cache_size=-262144")
        params = {"rows": rows, "now": time.time()}
        with conn:
            conn.execute(_FILL_INBOX, params)
            conn.execute(_FILL_DELIVERIES, params)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return time.perf_counter() - began


def fill_aged(database: Path, rows: int) -> float:
    """``rows`` rows into each table in arrival order, the older half past retention; seconds taken."""
    began = time.perf_counter()
    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA cache_size=-262144")
        params = {"rows": rows, "old": rows // 2, "now": time.time()}
        with conn:
            conn.execute(_FILL_INBOX_AGED, params)
            conn.execute(_FILL_DELIVERIES_AGED, params)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return time.perf_counter() - began


async def prune(database: Path) -> dict:
    """One pass of the node's pruner (node.core.retention, default retention) over ``database``:
    rows deleted, seconds, and the longest single DELETE (how long the write lock was held at once)."""
    from node.core.config import StorageConfig
    from node.core.db import Database
    from node.core.retention import Pruner
    from node.web.app import all_migrations

    db = Database(database, migrations=all_migrations())
    await db.open()
    held: list[float] = []
    write_statement = db.write_statement

    async def timed(sql, params=()):
        began = time.perf_counter()
        try:
            return await write_statement(sql, params)
        finally:
            held.append(time.perf_counter() - began)

    db.write_statement = timed  # type: ignore[method-assign]
    try:
        began = time.perf_counter()
        deleted = await Pruner(StorageConfig(database)).prune(db, time.time())
        seconds = time.perf_counter() - began
    finally:
        await db.close()
    return {
        "deleted": deleted,
        "seconds": seconds,
        "statements": len(held),
        "longest_statement_ms": max(held, default=0.0) * 1000,
        "median_statement_ms": statistics.median(held) * 1000 if held else 0.0,
    }


def query_plans(database: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(database)
    try:
        return {
            name: [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            for name, (sql, params) in _PLANS.items()
        }
    finally:
        conn.close()


def full_scans(plans: dict[str, list[str]]) -> list[str]:
    """Plan lines that read a whole table (SCAN without an index). Scanning ``json_each`` reads
    the statement's own parameter (the batch of rows being inserted), not a table."""
    return [
        f"{name}: {line}"
        for name, lines in plans.items()
        for line in lines
        if line.startswith("SCAN ") and " USING " not in line and not line.startswith("SCAN json_each VIRTUAL TABLE")
    ]


async def time_operations(database: Path, k: int) -> dict[str, list[float]]:
    """Seconds of each of ``k`` runs of each operation, through the node's store functions and Database."""
    from node.core.db import Database
    from node.web.app import all_migrations

    db = Database(database, migrations=all_migrations())
    await db.open()
    timings: dict[str, list[float]] = {
        "insert inbox item": [],
        "claim next due delivery": [],
        "claim next due inbox item": [],
    }
    run = uuid.uuid4().hex[:8]
    try:
        for i in range(k):
            now = time.time() - 1
            began = time.perf_counter()
            await db.write_statement(
                *inbox_store.insert_batch_statement(  # as the inbox intake stores a batch of one
                    [
                        (
                            f"https://remote.example/new/{run}/{i}",
                            "shared",
                            "https://remote.example/users/u1",
                            "Create",
                            '{"type":"Create"}',
                            now,
                        )
                    ]
                )
            )
            timings["insert inbox item"].append(time.perf_counter() - began)
        async with db.transaction() as conn:
            await outbox_store.enqueue(
                conn,
                activity_id=f"http://127.0.0.1:1/new/{run}",
                inboxes=[f"https://n{i}.example/inbox" for i in range(k)],
                signer="bench",
                now=time.time() - 1,
            )
        for name, claim in (
            ("claim next due delivery", outbox_store.claim_due),
            ("claim next due inbox item", inbox_store.claim_due),
        ):
            for _ in range(k):
                began = time.perf_counter()
                async with db.transaction() as conn:
                    rows = await claim(conn, now=time.time(), lease_seconds=600, limit=1)
                timings[name].append(time.perf_counter() - began)
                if len(rows) != 1:
                    raise RuntimeError(f"{name} claimed {len(rows)} rows, not 1")
    finally:
        await db.close()
    return timings


async def measure(quick: bool) -> list[Figure]:
    sizes = [10_000, 100_000] if quick else [10_000, 1_000_000]
    k = 100 if quick else 800
    directory = workdir("growth")
    databases: dict[int, Path] = {}
    timings: dict[int, dict[str, float]] = {}
    plans: dict[int, dict[str, list[str]]] = {}
    paths: dict[int, Path] = {}
    for size in [0, *sizes]:
        paths[size] = directory / f"rows-{size}.sqlite3"
        await migrate_database(paths[size])
        if size:
            seconds = fill(paths[size], size)
            print(f"  growth: wrote {size:,} rows into each table in {seconds:.1f} s", flush=True)
            databases[size] = directory / f"template-{size}.sqlite3"
            shutil.copyfile(paths[size], databases[size])  # untouched copy for the end-to-end runs
        plans[size] = query_plans(paths[size])
    # Pruned: twice the largest size written, the older half past retention, then one pass of
    # the node's pruner; the operations are then timed on what is left (as many rows again).
    largest = sizes[-1]
    pruned = -largest  # its key in the tables below (a negative size: "after a prune")
    paths[pruned] = directory / "pruned.sqlite3"
    await migrate_database(paths[pruned])
    seconds = fill_aged(paths[pruned], 2 * largest)
    print(f"  growth: wrote {2 * largest:,} rows into each table (half past retention) in {seconds:.1f} s", flush=True)
    pruning = await prune(paths[pruned])
    print(
        f"  growth: pruned {pruning['deleted']} in {pruning['seconds']:.1f} s, {pruning['statements']} DELETEs,"
        f" the longest {pruning['longest_statement_ms']:.1f} ms (median {pruning['median_statement_ms']:.1f} ms)",
        flush=True,
    )
    DETAILS["prune"] = pruning
    pruned_rows = pruning["deleted"]["inbox items"]
    plans[pruned] = query_plans(paths[pruned])
    # Rounds in turn over the sizes, so a busy moment on the machine falls on every size alike.
    samples: dict[int, dict[str, list[float]]] = {size: {} for size in paths}
    for _ in range(ROUNDS):
        for size, path in paths.items():
            for name, values in (await time_operations(path, k // ROUNDS)).items():
                samples[size].setdefault(name, []).extend(values)
    timings = {
        size: {name: statistics.median(values) * 1e6 for name, values in by_name.items()}
        for size, by_name in samples.items()
    }

    print(f"  growth: EXPLAIN QUERY PLAN with {largest:,} rows:", flush=True)
    for name, lines in plans[largest].items():
        print(f"    {name}:", flush=True)
        if not lines:
            print(
                "      (no plan rows: INSERT ... VALUES scans nothing; the UNIQUE (activity_id) index finds a"
                " conflict)",
                flush=True,
            )
        for line in lines:
            print(f"      {line}", flush=True)
    scans = full_scans(plans[largest])
    if scans:
        print(f"  growth: FULL SCANS: {scans}", flush=True)

    figures = []
    for size in [*sizes, pruned]:
        label = (
            f"{size:,} rows stored"
            if size > 0
            else f"{2 * -size - pruned_rows:,} rows left after pruning {pruned_rows:,}"
        )
        for name in timings[size]:
            figures.append(
                Figure(
                    "growth",
                    f"{name}, {label}",
                    timings[size][name],
                    "µs",
                    "same on an empty table",
                    timings[0][name],
                    higher_is_better=False,
                    target=0.8,
                )
            )

    e2e = await end_to_end(databases[largest], largest, quick)
    figures += e2e
    DETAILS.update(sizes=sizes, operations_per_size=k, median_us=timings, query_plans=plans[largest], full_scans=scans)
    shutil.rmtree(directory, ignore_errors=True)
    return figures


def _copy_into(template: Path):
    def prefill(database: Path) -> None:
        shutil.copyfile(template, database)

    return prefill


async def end_to_end(template: Path, size: int, quick: bool) -> list[Figure]:
    """The inbox load and the fan-out on a node holding ``size`` rows per table, beside empty tables."""
    n = 500 if quick else 3_000
    count = 100 if quick else 1_000
    run = uuid.uuid4().hex[:8]
    actors = make_actor_set(count, f"http://{LOOPBACK}:{free_port()}")
    # Alternating rounds, best of each, as in bench_inbox: one short run is at the mercy of a
    # neighbour's busy second on a shared machine.
    empties, fulls = [], []
    for round_ in range(1 if quick else 2):
        empties.append((await bench_inbox.run_node(actors, count, n, f"{run}e{round_}"))[0])
        fulls.append((await bench_inbox.run_node(actors, count, n, f"{run}f{round_}", prefill=_copy_into(template)))[0])
    empty, full = (max(results, key=lambda r: r["accepted"]) for results in (empties, fulls))

    hosts = 100 if quick else 1_000
    directory = workdir("growth-fanout")
    sinks, control, ports = await bench_fanout.start_sinks(hosts, directory)
    try:
        fan_empty = await bench_fanout.run_node(control, ports, 10)
        fan_full = await bench_fanout.run_node(control, ports, 10, prefill=_copy_into(template))
    finally:
        sinks.stop()
    DETAILS["end_to_end"] = {
        "inbox_empty": empty,
        "inbox_full": full,
        "fanout_empty": fan_empty,
        "fanout_full": fan_full,
    }
    label = f"{size:,} rows stored"
    return [
        Figure(
            "growth",
            f"inbox accepted, {label} (N={n:,})",
            full["accepted"],
            "req/s",
            "same, empty tables",
            empty["accepted"],
            target=0.8,
        ),
        Figure(
            "growth",
            f"inbox processed, {label}",
            full["processed"],
            "req/s",
            "same, empty tables",
            empty["processed"],
            target=0.8,
        ),
        Figure(
            "growth",
            f"fan-out deliveries/s, {label}",
            hosts / fan_full["seconds"],
            "deliveries/s",
            "same, empty tables",
            hosts / fan_empty["seconds"],
            target=0.8,
        ),
    ]


if __name__ == "__main__":
    run_standalone(measure)
