"""The inbox worker: claims stored activities under a lease and processes each one.

For each claimed item: parse it, look up its handler, fetch what the handler needs from the
network (outside any transaction: its sender, and what the registry's ``preparers`` fetch).
A stranger chooses what that network work touches, so it is bounded three ways: the items of
a batch are prepared concurrently, each under ONE deadline for all of its network work
(``[federation] inbox_prepare_timeout_seconds``; past it the item is retried later and the
rest of the batch goes on without it); actor documents are fetched through the same gate as
signing keys (``RemoteActors.gated``: bounded per host and in total, a budget per host,
failures remembered a while); and a preparer checks who the sender is (``PrepareContext.actor_id``
against what ``PrepareContext.reader`` shows: a linked child, a pending request) before it
fetches anything for it.
Then the claimed batch's handlers run in ONE transaction, each with a timeout, then what they
asked to do once for the whole batch (``ctx.once_per_batch``: a poll's served counts), and
the items that succeeded are marked done in that same transaction:
an item is either fully processed or not at all (a handler that fails is rolled back alone,
see :meth:`InboxWorker._apply`, and the others still commit), and a busy inbox pays one
commit per batch instead of one per item. Failures are retried with backoff
(:data:`node.core.retry.INBOX`); a :class:`PermanentError`, or running out of time, makes the
item dead with the reason kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from federation import jsonio
from federation.actors import RemoteActor, RemoteActors
from federation.client import FetchError
from inbox.handlers import (
    Handler,
    InboxContext,
    OncePerBatch,
    PermanentError,
    PrepareContext,
    TryLater,
    handler_for,
    run_handler,
)
from node.core import inbox_items as store
from node.core.background import WorkerLoop
from node.core.clock import to_epoch
from node.core.config import Config
from node.core.db import POSTGRES, Row, Store
from node.core.registry import Registry
from node.core.retry import INBOX, RetryPolicy
from node.core.urls import Urls

log = logging.getLogger("chapterhouse.inbox")


class ParsedActivities:
    """Activities the inbox has just parsed, by id, for the worker to take instead of parsing the
    stored body a second time. Bounded (the oldest are dropped); a miss costs only that parse,
    so nothing depends on an entry being here. An entry is given only for the very body that
    was stored: a repeat of an id with another body (never stored) cannot stand in for it."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._items: dict[str, tuple[str, dict]] = {}

    def keep(self, activity_id: str, body: str, activity: dict) -> None:
        self._items[activity_id] = (body, activity)
        if len(self._items) > self.limit:
            del self._items[next(iter(self._items))]

    def take(self, activity_id: str, stored_body: str) -> dict | None:
        kept = self._items.pop(activity_id, None)
        return kept[1] if kept is not None and kept[0] == stored_body else None


class _HandlerFailed(Exception):
    """A handler failed in an optimistic batch: roll it all back and run it again item by item."""


@dataclass(frozen=True)
class _Ready:
    """A claimed item, parsed, with everything its handler needs from the network."""

    row: Row
    activity: dict
    handler: Handler
    sender: RemoteActor | None
    prepared: dict


class InboxWorker:
    def __init__(
        self,
        *,
        db: Store,
        config: Config,
        urls: Urls,
        remote_actors: RemoteActors,
        clock,
        registry: Registry,
        on_deliveries_queued,
        batch: int = 64,
        lease_seconds: float = 120,
        handler_timeout: float = 30,
        prepare_timeout: float | None = None,
        policy: RetryPolicy = INBOX,
        announce: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.announce = announce  # PostgreSQL: wakes the inbox workers of the other processes too
        self.config = config
        self.urls = urls
        self.remote_actors = remote_actors
        # what preparers fetch is chosen by the sender: through the key-fetch gate
        self.gated_actors = remote_actors.gated()
        self.clock = clock
        self.registry = registry
        self.on_deliveries_queued = on_deliveries_queued
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.handler_timeout = handler_timeout
        self.prepare_timeout = (
            config.federation.inbox_prepare_timeout_seconds if prepare_timeout is None else prepare_timeout
        )
        self.policy = policy
        self.parsed = ParsedActivities()
        # Stored items are safe on disk: processing them 20 ms later, in full batches, costs
        # nothing, and leaves the event loop to the requests still arriving.
        self.loop = WorkerLoop("inbox", self.run_single_cycle, full_batch=batch, gather_seconds=0.02)

    def wake(self) -> None:
        """Items were stored: this process's loop, and (``announce``) the other processes' inbox workers."""
        self.loop.wake()
        if self.announce is not None:
            self.announce()

    async def run_single_cycle(self) -> int:
        now = to_epoch(self.clock.now())
        async with self.db.transaction() as conn:
            rows = await store.claim_due(conn, now=now, lease_seconds=self.lease_seconds, limit=self.batch)
        rows.sort(key=lambda row: row["seq"])  # arrival order (PostgreSQL's RETURNING keeps no order)
        # concurrently: one item's slow fetches (a tarpit it names) never hold the others back
        prepared = await asyncio.gather(*(self._prepare(row) for row in rows))
        ready = [item for item in prepared if item is not None]
        if ready:
            await self._apply(ready)
        return len(rows)

    async def _prepare(self, row) -> _Ready | None:
        """Parse the item and fetch its sender if the handler needs it, and what its preparers
        fetch, all within ``prepare_timeout``; None if it failed (recorded: retried, or dead)."""
        try:
            activity = self.parsed.take(row["activity_id"], row["body"]) or jsonio.loads(row["body"])
            handler = handler_for(self.registry, row["type"])
            try:
                async with asyncio.timeout(self.prepare_timeout):
                    sender = await self.gated_actors.get_actor(row["actor_id"]) if handler.needs_sender else None
                    prepared = await self._run_preparers(row, activity, sender)
            except TimeoutError:
                raise FetchError(
                    f"what this activity needs from the network was not had within {self.prepare_timeout:g} s"
                    " ([federation] inbox_prepare_timeout_seconds); it is tried again later"
                ) from None
        except Exception as error:
            await self._failed(row, error)
            return None
        return _Ready(row, activity, handler, sender, prepared)

    async def _run_preparers(self, row, activity: dict, sender: RemoteActor | None) -> dict:
        """The registry's preparers for this type: network work done before the transaction."""
        kind = row["type"]
        hooks = (*self.registry.preparers.get(kind, ()), *self.registry.preparers.get("*", ()))
        if not hooks:
            return {}
        pctx = PrepareContext(
            config=self.config,
            urls=self.urls,
            remote_actors=self.gated_actors,
            reader=self.db.reader,
            now=self.clock.now(),
            sender=sender,
            actor_id=row["actor_id"],
            received_at=row["received_at"],
        )
        prepared: dict = {}
        for hook in hooks:
            prepared.update(await hook(pctx, activity) or {})
        return prepared

    async def _apply(self, items: list[_Ready]) -> None:
        """Every handler in one transaction; done items are marked in the same commit.

        First optimistically, without savepoints (one round trip to SQLite per handler call
        saved twice over). If any handler fails, that whole transaction is rolled back and the
        batch runs again with each item in its own savepoint, so only the failing items are
        undone; the same when the optimistic batch runs over ``handler_timeout`` (then each item
        has that deadline of its own). Handlers touch nothing but the database, so running one again is harmless.
        """
        once_per_batch = OncePerBatch()
        try:
            async with asyncio.timeout(self.handler_timeout):
                failed, queued = await self._apply_batch(items, once_per_batch, isolate=False)
        except (_HandlerFailed, TimeoutError):
            once_per_batch = OncePerBatch()
            failed, queued = await self._apply_batch(items, once_per_batch, isolate=True)
        if queued:
            self.on_deliveries_queued()
        for row, error in failed:
            woken = isinstance(error, TryLater) and (row["actor_id"], row["type"]) in once_per_batch.woken
            await self._failed(row, error, at_once=woken)

    async def _apply_batch(
        self, items: list[_Ready], once_per_batch: OncePerBatch, *, isolate: bool
    ) -> tuple[list[tuple[Row, Exception]], bool]:
        failed: list[tuple[Row, Exception]] = []
        done: list[int] = []
        queued = False
        async with self.db.transaction() as conn:
            # PostgreSQL: only the rows still ours (SQLite: one process, no statement spent on it)
            for item in items if self.db.dialect != POSTGRES else await self._still_ours(conn, items):
                ctx = InboxContext(
                    conn=conn,
                    config=self.config,
                    urls=self.urls,
                    remote_actors=self.remote_actors,
                    now=self.clock.now(),
                    recipient=item.row["recipient"],
                    received_at=item.row["received_at"],
                    registry=self.registry,
                    sender=item.sender,
                    prepared=item.prepared,
                    once_per_batch=once_per_batch,
                )
                if isolate:
                    await conn.execute("SAVEPOINT inbox_item")
                checkpoint = once_per_batch.checkpoint()
                try:
                    if isolate:  # each item has its own deadline (the optimistic batch has one in all)
                        async with asyncio.timeout(self.handler_timeout):
                            await run_handler(ctx, item.handler, item.activity)
                    else:
                        await run_handler(ctx, item.handler, item.activity)
                except Exception as error:
                    if not isolate:
                        raise _HandlerFailed from error
                    once_per_batch.rollback(checkpoint)
                    await conn.execute("ROLLBACK TO inbox_item")
                    await conn.execute("RELEASE inbox_item")
                    failed.append((item.row, error))
                    continue
                if isolate:
                    await conn.execute("RELEASE inbox_item")
                done.append(item.row["seq"])
                queued = queued or ctx.queued_deliveries
            await self._finish_batch(conn, once_per_batch, isolate=isolate)
            await store.mark_done_many(conn, done, to_epoch(self.clock.now()))
        return failed, queued

    async def _still_ours(self, conn, items: list[_Ready]) -> list[_Ready]:
        """PostgreSQL: the items this claim still holds, locked until the batch commits (an item whose
        lease ran out and that another process claimed since is that one's to finish)."""
        held = await store.still_claimed(conn, [(item.row["seq"], item.row["attempts"]) for item in items])
        for item in items:
            if item.row["seq"] not in held:
                log.info(
                    "inbox item %s was claimed again meanwhile (its lease ran out); left to that claim",
                    item.row["activity_id"],
                )
        return [item for item in items if item.row["seq"] in held]

    @staticmethod
    async def _finish_batch(conn, once_per_batch: OncePerBatch, *, isolate: bool) -> None:
        """What the handlers asked to do once for the whole batch. When it fails, the optimistic
        batch runs again isolated; isolated, the failing work alone is undone and logged (the
        items it follows stay done: it only refreshes what they already wrote)."""
        if not isolate:
            try:
                await once_per_batch.run(conn)
            except Exception as error:
                raise _HandlerFailed from error
            return
        await conn.execute("SAVEPOINT once_per_batch")
        try:
            await once_per_batch.run(conn)
        except Exception:
            log.exception("work once per inbox batch failed; undone, the items stay processed")
            await conn.execute("ROLLBACK TO once_per_batch")
        await conn.execute("RELEASE once_per_batch")

    async def _failed(self, row, error: Exception, *, at_once: bool = False) -> None:
        """``at_once``: what the item waited for came in the same batch, after it: retried now."""
        if isinstance(error, PermanentError):
            await self._dead(row, str(error), answer=error.answer)
        elif isinstance(error, (jsonio.JsonError, KeyError, TypeError, ValueError)):
            await self._dead(row, f"malformed activity: {type(error).__name__}: {error}")
        elif isinstance(error, (FetchError, asyncio.TimeoutError, OSError, TryLater)):
            await self._retry(row, str(error) or type(error).__name__, at_once=at_once)
        else:  # a bug in a handler must not stop the worker
            log.error("inbox item %s failed", row["activity_id"], exc_info=error)
            await self._retry(row, f"{type(error).__name__}: {error}")

    async def _retry(self, row, error: str, *, at_once: bool = False) -> None:
        now = to_epoch(self.clock.now())
        if self.policy.gives_up(first_attempt_at=row["received_at"], now=now):
            await self._dead(row, f"gave up after {row['attempts']} attempts: {error}")
            return
        at = now if at_once else now + self.policy.next_delay(row["attempts"])
        async with self.db.transaction() as conn:
            await store.mark_retry(conn, row["seq"], at=at, error=error)

    async def _dead(self, row, error: str, *, answer=None) -> None:
        log.info("inbox item %s is dead: %s", row["activity_id"], error)
        async with self.db.transaction() as conn:
            await store.mark_dead(conn, row["seq"], error=error, now=to_epoch(self.clock.now()))
            if answer is not None:  # the sender is told why, in the same commit
                await answer(conn)
