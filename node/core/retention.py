"""Retention: what the node has finished with is deleted after a while, a little at a time.

Without it three tables only grow: processed inbox items (each with the body of what was
received), finished delivery rows, and expired sign-in sessions. ``[storage]`` says how long
to keep the first two (``keep_processed_days``, ``keep_delivered_days``; 0 keeps them
forever); an expired session is of no use to anyone and goes at once. A background task
(:func:`pruning_ctx`, a ``cleanup_ctx`` of the app) prunes every ``prune_interval_seconds``.

What is never deleted: an inbox item still ``queued`` (acknowledged with a 202 but not yet
processed, or waiting for a retry), however old; a delivery still ``queued`` (a host in
backoff). Only rows that ended (``done`` or ``dead``) before the cutoff go.

Bounded: rows are deleted in windows of ``prune_batch_rows`` consecutive ``seq`` (the primary
key: each window is one short range scan), one ``DELETE`` statement per window (its own
atomic transaction, :meth:`Store.write_statement`: 16-23 ms median for 1,000 rows on a busy
2-core machine, hence 500 by default), with a pause between windows at least as long as the last one held the lock, so the
write lock is never held for long nor more than half the time, and the inbox's commits go on
in between. The walk starts at
the oldest row and stops at the first window that begins with a row received (created) after
the cutoff: rows are in arrival order, and a row that ended before the cutoff arrived before it.
Nothing reads a table in full, whatever its size.

A room adds its own steps (:func:`add_step`): the membership room's expired sessions.

Several processes (PostgreSQL, :mod:`node.core.processes`): the pruning runs in the processes
that run the ``inbox`` worker, each pass while holding the store's ``retention`` lock
(:meth:`node.core.db.Store.exclusive`), so two passes never walk the tables at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from node.core import deliveries, inbox_items
from node.core.appkeys import CLOCK, CONFIG, DATABASE, WORKERS
from node.core.clock import to_epoch
from node.core.config import StorageConfig
from node.core.db import Store, fetch_one, fetch_value

log = logging.getLogger("chapterhouse.retention")
DAY = 86_400.0
PAUSE_SECONDS = 0.01  # between two windows: the write lock is free for others meanwhile
FIRST_PRUNE_SECONDS = 60.0  # after the node starts, not during its first busy seconds

#: One step of a pruning pass: ``step(db, now, batch_rows, pause)`` returns the rows it deleted.
Step = Callable[[Store, float, int, float], Awaitable[int]]


@dataclass
class Pruner:
    storage: StorageConfig
    steps: dict[str, Step] = field(default_factory=dict)

    async def prune(self, db: Store, now: float, *, pause: float = PAUSE_SECONDS) -> dict[str, int]:
        """One pass over every table: the rows deleted, by what they were."""
        batch = self.storage.prune_batch_rows
        deleted = {}
        if self.storage.keep_processed_days > 0:
            deleted["inbox items"] = await prune_windows(
                db,
                inbox_items.PRUNE_TABLE,
                inbox_items.PRUNE_ARRIVAL,
                inbox_items.PRUNE_ENDED,
                before=now - self.storage.keep_processed_days * DAY,
                batch=batch,
                pause=pause,
            )
        if self.storage.keep_delivered_days > 0:
            deleted["deliveries"] = await prune_windows(
                db,
                deliveries.PRUNE_TABLE,
                deliveries.PRUNE_ARRIVAL,
                deliveries.PRUNE_ENDED,
                before=now - self.storage.keep_delivered_days * DAY,
                batch=batch,
                pause=pause,
            )
        for name, step in self.steps.items():
            deleted[name] = await step(db, now, batch, pause)
        return deleted


PRUNER: web.AppKey[Pruner] = web.AppKey("pruner")


def setup(app: web.Application) -> None:
    """Called by the app factory: the pruner (rooms add steps to it) and its background task."""
    app[PRUNER] = Pruner(app[CONFIG].storage)
    app.cleanup_ctx.append(pruning_ctx)


def add_step(app: web.Application, name: str, step: Step) -> None:
    app[PRUNER].steps[name] = step


async def prune_windows(
    db: Store, table: str, arrival: str, ended: str, *, before: float, batch: int, pause: float
) -> int:
    """Delete the rows of ``table`` matching ``ended`` (a condition on ``?`` = ``before``), one window of
    ``batch`` rows by ``seq`` at a time, from the oldest, until a window begins after ``before`` by ``arrival``."""
    deleted = 0
    low = await fetch_value(db.reader, f"SELECT MIN(seq) FROM {table}")
    while low is not None:
        first = await fetch_one(
            db.reader, f"SELECT {arrival} AS at FROM {table} WHERE seq >= ? ORDER BY seq LIMIT 1", (low,)
        )
        if first is None or first["at"] >= before:
            break
        high = await fetch_value(
            db.reader, f"SELECT seq FROM {table} WHERE seq >= ? ORDER BY seq LIMIT 1 OFFSET ?", (low, batch)
        )
        began = time.perf_counter()
        deleted += await db.write_statement(
            f"DELETE FROM {table} WHERE seq >= ? AND seq < ? AND {ended}",
            (low, high if high is not None else 2**63 - 1, before),
        )
        low = high
        # at least as long as the lock was just held: the pruning never takes more than half of it
        await asyncio.sleep(max(pause, time.perf_counter() - began) if pause else 0)
    return deleted


async def pruning_ctx(app: web.Application) -> AsyncIterator[None]:
    """The background task: a pass shortly after start, then every ``prune_interval_seconds``.
    Run by the processes that run the ``inbox`` worker, not by others (tests call
    :meth:`Pruner.prune` themselves)."""
    task = asyncio.ensure_future(_prune_forever(app)) if "inbox" in app[WORKERS] else None
    yield
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _prune_forever(app: web.Application) -> None:
    pruner, storage = app[PRUNER], app[CONFIG].storage
    await asyncio.sleep(min(FIRST_PRUNE_SECONDS, storage.prune_interval_seconds))
    while True:
        try:
            async with app[DATABASE].exclusive("retention") as granted:  # one process at a time prunes
                deleted = await pruner.prune(app[DATABASE], to_epoch(app[CLOCK].now())) if granted else {}
            if any(deleted.values()):
                log.info("pruned %s", ", ".join(f"{n} {what}" for what, n in deleted.items() if n))
        except Exception:
            log.exception("pruning failed; trying again in %g s", storage.prune_interval_seconds)
        await asyncio.sleep(storage.prune_interval_seconds)
