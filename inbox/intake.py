"""Group commit for the inbox: many requests' rows, one transaction, and still no 202 before its commit.

A verified activity is handed to :meth:`InboxIntake.submit`, which waits until its row is
committed. One task (the committer) takes every row waiting at that moment (up to
``max_batch``), inserts them with one statement (one atomic transaction), and
then wakes each waiting request. So durability is unchanged (each 202 still follows the
COMMIT that holds its row; a crash before it loses only rows whose senders got no 202 and
will retry), while a busy inbox pays one transaction per batch instead of one per request.

Batches form by themselves: while one commit runs, new rows queue up, and the next batch
takes them all. There is no timer, so a lone request is committed at once and a quiet node
adds no latency. If the batch's transaction fails, every request in it gets the error (and
answers 500); nothing is half-stored, because the batch is one transaction.

Started and stopped by ``node.web.app`` (``cleanup_ctx``), reachable as ``app[INBOX_INTAKE]``.
Stopping commits what is already queued before the task ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from node.core import inbox_items as store
from node.core.db import Store

if TYPE_CHECKING:  # pragma: no cover
    from inbox.worker import ParsedActivities

log = logging.getLogger("chapterhouse.inbox")
_STOP = object()  # queued by stop(): everything before it is committed, then the committer ends


@dataclass(frozen=True)
class IntakeRow:
    """One received activity to store: a row of ``store.insert_batch_statement``."""

    activity_id: str
    recipient: str
    actor_id: str
    type: str
    body: str
    received_at: float
    activity: dict  # the body, parsed (handed to the worker: see inbox.worker.ParsedActivities)

    def as_tuple(self) -> tuple[str, str, str, str, str, float]:
        return (self.activity_id, self.recipient, self.actor_id, self.type, self.body, self.received_at)


class InboxIntake:
    def __init__(
        self,
        db: Store,
        *,
        on_committed: Callable[[], None] = lambda: None,
        parsed: ParsedActivities | None = None,
        max_batch: int = 256,
    ) -> None:
        self.db = db
        self.parsed = parsed
        self.on_committed = on_committed
        self.max_batch = max_batch
        self._queue: asyncio.Queue = asyncio.Queue()  # (IntakeRow, Future) pairs, then _STOP
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.batches = 0  # committed transactions, for tests and curiosity
        self.rows = 0

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="inbox-intake")

    async def stop(self) -> None:
        """Commit every row submitted so far, then end the committer."""
        if self._task is None:
            return
        self._stopping = True
        self._queue.put_nowait(_STOP)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(self, row: IntakeRow) -> None:
        """Return once ``row`` is committed (a repeat of a stored activity id is a harmless no-op)."""
        if self._task is None or self._task.done() or self._stopping:
            raise RuntimeError("the inbox intake is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((row, future))
        await future

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            batch: list[tuple[IntakeRow, asyncio.Future[None]]] = []
            while item is not _STOP:
                batch.append(item)
                if len(batch) >= self.max_batch or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if batch:
                await self._commit(batch)
            if item is _STOP:
                return

    async def _commit(self, batch: list[tuple[IntakeRow, asyncio.Future[None]]]) -> None:
        try:
            await self.db.write_statement(*store.insert_batch_statement([row.as_tuple() for row, _ in batch]))
        except Exception as error:  # every waiting request learns of it; the committer carries on
            log.exception("inbox intake: a batch of %d rows failed to commit", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self.batches += 1
        self.rows += len(batch)
        if self.parsed is not None:
            for row, _ in batch:
                self.parsed.keep(row.activity_id, row.body, row.activity)
        for _, future in batch:
            if not future.done():  # a request whose client went away was cancelled: nothing to tell
                future.set_result(None)
        self.on_committed()
