"""The poll worker: coalesced ``Update(Question)`` with the counts, and closing polls on time.

Two schedules, one loop (:class:`PollLoop`; tests step ``run_single_cycle()``, which does
both now, with an injectable clock):

1. at each question's ``endTime`` (``close_due``): ``closed`` is set (to the ``endTime``),
   hidden results become visible, and the closing ``Update(Question)`` goes out at once, as
   Mastodon closes a poll at its end time. The loop sleeps until the next open question's
   ``endTime`` (read from the database, so after a restart too), and is woken when something
   is published (a new question may close sooner); it waits through the clock
   (``Clock.wait``), so a test's frozen clock wakes it when moved;
2. every ``[polls] update_interval_seconds`` (``send_counts``): ONE ``Update(Question)`` per
   dirty question, carrying the current served document, to the question's audience (its
   followers, and whoever else it is addressed to) and to the inbox of every remote voter
   with a counted ballot. Voters' inboxes are resolved
   through the remote-actor cache before the transaction; the Update is then recorded with
   its delivery rows (:func:`node.core.publish.record`) and the dirty flag cleared in one
   transaction, with the counts read in that same transaction. A voter whose ballot arrived
   while the inboxes were being resolved keeps the question dirty for the next cycle.

While results are hidden and the poll is open there is nothing to show: the dirty flag is
cleared without sending. Counts go out a whole interval apart, so however many votes
arrive, a question sends at most one counts Update per interval (and one at its close).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from federation.actors import RemoteActors
from federation.client import FetchError
from node.core import objects, publish, vocabulary
from node.core.appkeys import (
    CLOCK,
    CONFIG,
    DATABASE,
    DELIVERY_WORKER,
    POLL_WORKER,
    REGISTRY,
    REMOTE_ACTORS,
    RUN_WORKERS,
    URLS,
)
from node.core.background import BackgroundTask
from node.core.clock import to_epoch
from node.core.db import Database
from node.core.urls import Urls
from node.polls import model as polls
from outbox import addressing

log = logging.getLogger("chapterhouse.polls")


class PollWorker:
    def __init__(
        self,
        *,
        db: Database,
        urls: Urls,
        remote_actors: RemoteActors,
        clock,
        on_deliveries_queued,
        interval_seconds: float = 60.0,
        audiences=None,
    ) -> None:
        self.db = db
        self.audiences = audiences  # the registry's: who a members-only poll's updates go to
        self.urls = urls
        self.remote_actors = remote_actors
        self.clock = clock
        self.on_deliveries_queued = on_deliveries_queued
        self.loop = PollLoop(self, interval_seconds)

    def wake(self) -> None:
        """Something was published: a new question may close before the loop's next wake-up."""
        self.loop.wake()

    async def run_single_cycle(self) -> int:
        """Close what is due, then send one Update per dirty question; the number of Updates sent."""
        return await self.close_due() + await self.send_counts()

    async def close_due(self) -> int:
        """Close every open question whose ``endTime`` has passed, each with its closing Update."""
        now = to_epoch(self.clock.now())
        sent = 0
        for question in await polls.questions_due_to_close(self.db.reader, now):
            await self._close(question, now)
            closed = await polls.get_question(self.db.reader, question.id)
            sent += await self._send_update(closed) if closed is not None else 0
        if sent:
            self.on_deliveries_queued()
        return sent

    async def send_counts(self) -> int:
        """One Update per dirty question (the coalesced counts); the number sent."""
        sent = 0
        for question in await polls.dirty_questions(self.db.reader):
            sent += await self._send_update(question)
        if sent:
            self.on_deliveries_queued()
        return sent

    async def _close(self, question: polls.Question, now: float) -> None:
        async with self.db.transaction() as conn:
            await polls.mark_closed(conn, question.id, question.end_time)
            await polls.mark_dirty(conn, question.id)
            await polls.refresh_served(conn, question.id, now)
        log.info("poll %s closed", question.id)

    async def _voter_inboxes(self, voters: list[str]) -> list[str]:
        inboxes: dict[str, None] = {}
        for voter in voters:
            try:
                actor = await self.remote_actors.get_actor(voter)
            except FetchError as error:
                log.info("voter %s of a poll is unreachable, no Update for them: %s", voter, error.reason)
                continue
            if actor.delivery_inbox:
                inboxes.setdefault(actor.delivery_inbox, None)
        return list(inboxes)

    async def _send_update(self, question: polls.Question) -> int:
        now = to_epoch(self.clock.now())
        stored = await objects.get(self.db.reader, question.id)
        if stored is None or stored.deleted is not None or not question.results_visible_at(now):
            async with self.db.transaction() as conn:
                await polls.mark_update_sent(conn, question.id, now)
            return 0
        voters = await polls.remote_voters(self.db.reader, question.id)
        voter_inboxes = await self._voter_inboxes(voters)
        audience = {k: v for k, v in stored.data.items() if k in ("to", "cc")}
        recipients = await addressing.resolve(
            audience,
            db=self.db,
            urls=self.urls,
            username=question.chapter,
            remote_actors=self.remote_actors,
            audiences=self.audiences,
        )
        async with self.db.transaction() as conn:
            document = await polls.refresh_served(conn, question.id, now)
            if document is None:
                return 0
            update = vocabulary.activity(
                "Update",
                self.urls,
                actor=self.urls.actor(question.chapter),
                now=self.clock.now(),
                object=document,
                context_value=document.get("@context"),
                **audience,
            )
            await publish.record(
                conn,
                urls=self.urls,
                username=question.chapter,
                activity=update,
                inboxes=recipients.inboxes + voter_inboxes,
                now=now,
            )
            newcomers = set(await polls.remote_voters(conn, question.id)) - set(voters)
            if newcomers:
                await polls.mark_update_sent(conn, question.id, now, still_dirty=True)
            else:
                await polls.mark_update_sent(conn, question.id, now)
        log.info(
            "poll %s: Update sent to %d inboxes (%d voters)",
            question.id,
            len(set(recipients.inboxes + voter_inboxes)),
            len(voters),
        )
        return 1


class PollLoop(BackgroundTask):
    """Runs a :class:`PollWorker`: closes at each ``endTime``, sends counts every interval.

    A failed pass is logged and tried again a second later; it never ends the loop.
    """

    def __init__(self, worker: PollWorker, interval_seconds: float) -> None:
        super().__init__("polls")
        self.worker = worker
        self.interval = interval_seconds

    async def _run(self) -> None:
        next_counts = to_epoch(self.worker.clock.now())  # counts at start, then every interval
        while True:
            self._wakeup.clear()
            try:
                next_counts = await self._pass(next_counts)
                wake_at = await self._wake_at(next_counts)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("polls: a pass failed; trying again shortly")
                wake_at = to_epoch(self.worker.clock.now()) + 1.0
            if wake_at <= to_epoch(self.worker.clock.now()):
                await asyncio.sleep(0.01)  # due already (the clock moved while planning): again at once, never hot
            else:
                await self.worker.clock.wait_until(self._wakeup, wake_at)

    async def _pass(self, next_counts: float) -> float:
        """Close what is due; send the counts if their time has come. When counts go next."""
        await self.worker.close_due()
        if to_epoch(self.worker.clock.now()) >= next_counts:
            await self.worker.send_counts()
            return to_epoch(self.worker.clock.now()) + self.interval
        return next_counts

    async def _wake_at(self, next_counts: float) -> float:
        """When the next close or counts are due, whichever is first: an instant on the clock, so a clock
        moved while this was planned cannot be missed."""
        end_time = await polls.next_end_time(self.worker.db.reader)
        return next_counts if end_time is None else min(next_counts, end_time)


async def poll_worker_context(app: web.Application) -> AsyncIterator[None]:
    """The application's poll worker (``cleanup_ctx``), after the delivery worker it wakes."""
    poll_worker = PollWorker(
        db=app[DATABASE],
        urls=app[URLS],
        remote_actors=app[REMOTE_ACTORS],
        clock=app[CLOCK],
        on_deliveries_queued=app[DELIVERY_WORKER].wake,
        interval_seconds=app[CONFIG].polls.update_interval_seconds,
        audiences=app[REGISTRY].audiences,
    )
    app[POLL_WORKER] = poll_worker
    if app[RUN_WORKERS]:
        poll_worker.loop.start()
    yield
    await poll_worker.loop.stop()


def wake_for_new_questions(app: web.Application, activity: dict) -> None:
    """A question just published may close before the poll worker's next wake-up."""
    if POLL_WORKER in app:
        app[POLL_WORKER].wake()
