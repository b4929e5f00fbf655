"""The inbox worker: claims stored activities under a lease and processes each one.

For each claimed item: parse it, look up its handler, fetch what the handler needs from the
network (outside any transaction), then run the handler and mark the item done in ONE
transaction with a timeout, so an item is either fully processed or not at all. Failures
are retried with backoff (:data:`node.retry.INBOX`); a :class:`PermanentError`, or running
out of time, makes the item dead with the reason kept.
"""

from __future__ import annotations

import asyncio
import logging

from federation import jsonio
from federation.actors import RemoteActors
from federation.client import FetchError
from inbox import store
from inbox.handlers import InboxContext, PermanentError, handler_for
from node.background import WorkerLoop
from node.clock import to_epoch
from node.config import Config
from node.db import Database
from node.retry import INBOX, RetryPolicy
from node.urls import Urls

log = logging.getLogger("chapterhouse.inbox")


class InboxWorker:
    def __init__(self, *, db: Database, config: Config, urls: Urls, remote_actors: RemoteActors, clock,
                 on_deliveries_queued, batch: int = 64, lease_seconds: float = 120, handler_timeout: float = 30,
                 policy: RetryPolicy = INBOX) -> None:
        self.db = db
        self.config = config
        self.urls = urls
        self.remote_actors = remote_actors
        self.clock = clock
        self.on_deliveries_queued = on_deliveries_queued
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.handler_timeout = handler_timeout
        self.policy = policy
        self.loop = WorkerLoop("inbox", self.run_single_cycle)

    def wake(self) -> None:
        self.loop.wake()

    async def run_single_cycle(self) -> int:
        now = to_epoch(self.clock.now())
        async with self.db.transaction() as conn:
            rows = await store.claim_due(conn, now=now, lease_seconds=self.lease_seconds, limit=self.batch)
        for row in rows:
            await self._process(row)
        return len(rows)

    async def _process(self, row) -> None:
        try:
            activity = jsonio.loads(row["body"])
            handler = handler_for(row["type"])
            sender = await self.remote_actors.get_actor(row["actor_id"]) if handler.needs_sender else None
            queued = False
            async with self.db.transaction() as conn:
                ctx = InboxContext(conn=conn, config=self.config, urls=self.urls, remote_actors=self.remote_actors,
                                   now=self.clock.now(), recipient=row["recipient"], sender=sender)
                async with asyncio.timeout(self.handler_timeout):
                    await handler.apply(ctx, activity)
                await store.mark_done(conn, row["seq"], to_epoch(self.clock.now()))
                queued = ctx.queued_deliveries
            if queued:
                self.on_deliveries_queued()
        except PermanentError as error:
            await self._dead(row, str(error))
        except (jsonio.JsonError, KeyError, TypeError, ValueError) as error:
            await self._dead(row, f"malformed activity: {type(error).__name__}: {error}")
        except (FetchError, asyncio.TimeoutError, OSError) as error:
            await self._retry(row, str(error) or type(error).__name__)
        except Exception as error:  # a bug in a handler must not stop the worker
            log.exception("inbox item %s failed", row["activity_id"])
            await self._retry(row, f"{type(error).__name__}: {error}")

    async def _retry(self, row, error: str) -> None:
        now = to_epoch(self.clock.now())
        if self.policy.gives_up(first_attempt_at=row["received_at"], now=now):
            await self._dead(row, f"gave up after {row['attempts']} attempts: {error}")
            return
        async with self.db.transaction() as conn:
            await store.mark_retry(conn, row["seq"], at=now + self.policy.next_delay(row["attempts"]), error=error)

    async def _dead(self, row, error: str) -> None:
        log.info("inbox item %s is dead: %s", row["activity_id"], error)
        async with self.db.transaction() as conn:
            await store.mark_dead(conn, row["seq"], error=error, now=to_epoch(self.clock.now()))
